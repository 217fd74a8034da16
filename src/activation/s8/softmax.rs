//! SOFTMAX, int8 in and out: LiteRT's reference `reference_ops::Softmax`
//! (gemmlowp fixed point; no table).

use super::lut::check_quant;
use crate::math::requant::{
    quantize_multiplier_for, requantize, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul, Rounding,
};
use crate::Status;

/// SOFTMAX's prepared parameters (`SoftmaxPrepare`, reference kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxS8Params {
    /// `beta * input_scale * 2^26` as a Q31 multiplier ...
    pub input_multiplier: i32,
    /// ... and its left shift (0..=30 single rounding, 0..=31 double).
    pub input_left_shift: i32,
    /// `-CalculateInputRadius(5, input_left_shift)`: input differences
    /// below it give output -128.
    pub diff_min: i32,
    /// Which `MultiplyByQuantizedMultiplier` (LiteRT's activations: double;
    /// tests/rust/int8_activations.rs).
    pub rounding: Rounding,
}

/// The largest shift of a build's `MultiplyByQuantizedMultiplier`.
fn max_left_shift(rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Single => 30,
        Rounding::Double => 31,
    }
}

/// SOFTMAX's `Prepare` for int8 in and out (`PreprocessSoftmaxScaling`
/// with 5 integer bits, `CalculateInputRadius`): the real multiplier
/// `min((double)beta * (double)input_scale * 2^26, max)` (max `2^30 - 1`
/// single rounding, `2^31 - 1` double), quantized with `QuantizeMultiplier`;
/// `diff_min = -floor(31 * 2^26 / 2^shift)`.
///
/// `Status::Param` where LiteRT refuses or aborts: an output zero point
/// other than -128, an output scale not within 0.1 % of 1/256, a real
/// multiplier not above 1 (`QuantizeMultiplierGreaterThanOne`'s check), a
/// beta or input scale not finite and positive.
pub fn softmax_s8_prepare(
    beta: f32,
    input_scale: f32,
    output_scale: f32,
    output_zero_point: i32,
    rounding: Rounding,
) -> Result<SoftmaxS8Params, Status> {
    let near = {
        let target = 1.0f32 / 256.0;
        let delta = if output_scale > target {
            output_scale - target
        } else {
            target - output_scale
        };
        delta <= 0.001f32 * 1.0f32 / 256.0
    };
    if output_zero_point != -128 || !near || !(beta.is_finite() && beta > 0.0) {
        return Err(Status::Param);
    }
    check_quant(input_scale, 0)?;
    let max_real = match rounding {
        Rounding::Single => ((1i64 << 30) - 1) as f64,
        Rounding::Double => ((1i64 << 31) - 1) as f64,
    };
    let real = beta as f64 * input_scale as f64 * (1i64 << 26) as f64;
    let real = if real < max_real { real } else { max_real };
    if real <= 1.0 {
        return Err(Status::Param);
    }
    let (input_multiplier, input_left_shift) = quantize_multiplier_for(real, rounding)?;
    if !(0..=max_left_shift(rounding)).contains(&input_left_shift) {
        return Err(Status::Param);
    }
    // CalculateInputRadius(5, shift, 31): floor(31 * 2^26 / 2^shift), in
    // double as the C++ (exact: a power-of-two division)
    let radius = libm::floor(31.0 * (1i64 << 26) as f64 / (1i64 << input_left_shift) as f64);
    Ok(SoftmaxS8Params {
        input_multiplier,
        input_left_shift,
        diff_min: -(radius as i32),
        rounding,
    })
}

/// gemmlowp's `SaturatingRoundingMultiplyByPOT<exponent>` for a positive
/// exponent on int32: a left shift saturating at the int32 range.
#[inline]
fn saturating_shl_i32(x: i32, exponent: u32) -> i32 {
    let threshold = (1i32 << (31 - exponent)) - 1;
    if x > threshold {
        i32::MAX
    } else if x < -threshold {
        i32::MIN
    } else {
        x << exponent
    }
}

/// gemmlowp's `exp_on_interval_between_negative_one_quarter_and_0_excl`
/// (Q0.31 in and out).
fn exp_on_interval_q0(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    const CONSTANT_TERM: i32 = 1895147668; // exp(-1/8)
    const ONE_THIRD: i32 = 715827883;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let poly = rounding_divide_by_pot(
        mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        1,
    );
    CONSTANT_TERM.wrapping_add(mul(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// gemmlowp's `exp_on_negative_values` for `FixedPoint<int32_t, 5>` (Q5.26
/// in, Q0.31 out).
fn exp_on_negative_values_q5(a: i32) -> i32 {
    const FRACTIONAL_BITS: u32 = 26;
    const ONE_QUARTER: i32 = 1 << (FRACTIONAL_BITS - 2);
    let mask = ONE_QUARTER - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(ONE_QUARTER);
    let mut result = exp_on_interval_q0(saturating_shl_i32(a_mod_quarter_minus_one_quarter, 5));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(-2^k) for k = -2..=4 in Q0.31
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        let bit = (FRACTIONAL_BITS as i32 + exponent) as u32;
        if remainder & (1 << bit) != 0 {
            result = saturating_rounding_doubling_high_mul(result, multiplier);
        }
    }
    // 5 integer bits: gemmlowp's clamp below -32 does not apply
    if a == 0 {
        i32::MAX
    } else {
        result
    }
}

/// gemmlowp's `one_over_one_plus_x_for_x_in_0_1` (Q0.31 in and out).
fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    // RoundingHalfSum(a, One)
    let sum = a as i64 + i32::MAX as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    let half_denominator = ((sum + sign) / 2) as i32;
    const C48_OVER_17: i32 = 1515870810; // Q2.29
    const CNEG32_OVER_17: i32 = -1010580540; // Q2.29
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(saturating_shl_i32(mul(x, one_minus), 2));
    }
    saturating_shl_i32(x, 1)
}

/// LiteRT's `MultiplyByQuantizedMultiplierGreaterThanOne` in either build.
#[inline]
fn mul_greater_than_one(x: i32, multiplier: i32, left_shift: i32, rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Single => requantize(x, multiplier, left_shift, Rounding::Single),
        Rounding::Double => {
            saturating_rounding_doubling_high_mul(x.wrapping_shl(left_shift as u32), multiplier)
        }
    }
}

/// The sum of a row's exponentials in Q12.19 (`sum_of_exps`), wrapping as
/// the C++'s int32 addition does on two's-complement targets.
fn softmax_row_sum(row: &[i8], max_in_row: i32, p: &SoftmaxS8Params) -> i32 {
    let mut sum: i32 = 0;
    for &v in row {
        let diff = v as i32 - max_in_row;
        if diff >= p.diff_min {
            let rescaled =
                mul_greater_than_one(diff, p.input_multiplier, p.input_left_shift, p.rounding);
            // Rescale<12> from Q0: a rounding right shift by 12
            sum = sum.wrapping_add(rounding_divide_by_pot(
                exp_on_negative_values_q5(rescaled),
                12,
            ));
        }
    }
    sum
}

/// `GetReciprocal(sum, 12, &num_bits_over_unit)`: (Q0.31 scale, number of
/// bits over unit).
fn reciprocal(sum: i32) -> (i32, i32) {
    let headroom_plus_one = (sum as u32).leading_zeros();
    let num_bits_over_unit = 12 - headroom_plus_one as i32;
    let shifted = (sum as u32)
        .checked_shl(headroom_plus_one)
        .unwrap_or(0)
        .wrapping_sub(1 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted),
        num_bits_over_unit,
    )
}

/// int8 SOFTMAX over rows of `depth` values (LiteRT's reference
/// `reference_ops::Softmax<int8_t, int8_t>`; output scale 1/256, zero point
/// -128): per row, the differences to the row's maximum are scaled by
/// `p.input_multiplier`, exponentiated in gemmlowp's Q5.26 -> Q0.31
/// fixed point and summed in Q12.19; the reciprocal of the sum times each
/// exponential, rounded right by `num_bits_over_unit + 23`, minus 128,
/// clamped to int8. A difference below `p.diff_min` gives -128.
///
/// `Status::Size` unless `depth >= 1` divides `x.len()` and `out` has
/// `x`'s length; `Status::Param` for parameters [`softmax_s8_prepare`]
/// cannot give, and for a row whose sum of exponentials reaches 512 (only
/// possible with `depth >= 512`, where LiteRT's `TFLITE_CHECK(exponent <=
/// 31)` aborts): such rows are looked for before anything is written.
pub fn softmax_s8(
    x: &[i8],
    depth: usize,
    out: &mut [i8],
    p: &SoftmaxS8Params,
) -> Result<(), Status> {
    if depth == 0 || !x.len().is_multiple_of(depth) || out.len() != x.len() {
        return Err(Status::Size);
    }
    if !(0..=max_left_shift(p.rounding)).contains(&p.input_left_shift)
        || p.diff_min > 0
        || p.input_multiplier < 0
    {
        return Err(Status::Param);
    }
    let row_max = |row: &[i8]| row.iter().fold(i8::MIN, |m, &v| m.max(v)) as i32;
    if depth >= 512 {
        for row in x.chunks_exact(depth) {
            let (_, bits) = reciprocal(softmax_row_sum(row, row_max(row), p));
            if !(0..=8).contains(&bits) {
                return Err(Status::Param);
            }
        }
    }
    for (row, orow) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
        let r = RowScale::of(row, p);
        for (o, &v) in orow.iter_mut().zip(row) {
            *o = r.output(v, p);
        }
    }
    Ok(())
}

/// [`softmax_s8`] of one row (`depth = buf.len()`), in place: each output
/// depends on its own input and the row's maximum and sum, which are
/// found first. Checks and errors as [`softmax_s8`]'s; nothing is written
/// on an error.
pub fn softmax_s8_in_place(buf: &mut [i8], p: &SoftmaxS8Params) -> Result<(), Status> {
    if buf.is_empty() {
        return Err(Status::Size);
    }
    if !(0..=max_left_shift(p.rounding)).contains(&p.input_left_shift)
        || p.diff_min > 0
        || p.input_multiplier < 0
    {
        return Err(Status::Param);
    }
    let r = RowScale::of(buf, p);
    if buf.len() >= 512 && !(0..=8).contains(&r.num_bits_over_unit) {
        return Err(Status::Param);
    }
    for v in buf.iter_mut() {
        *v = r.output(*v, p);
    }
    Ok(())
}

/// A row's maximum and the reciprocal of its sum of exponentials.
struct RowScale {
    max_in_row: i32,
    shifted_scale: i32,
    num_bits_over_unit: i32,
}

impl RowScale {
    fn of(row: &[i8], p: &SoftmaxS8Params) -> Self {
        let max_in_row = row.iter().fold(i8::MIN, |m, &v| m.max(v)) as i32;
        let (shifted_scale, num_bits_over_unit) = reciprocal(softmax_row_sum(row, max_in_row, p));
        RowScale {
            max_in_row,
            shifted_scale,
            num_bits_over_unit,
        }
    }

    /// The output of an input `v` of the row.
    #[inline]
    fn output(&self, v: i8, p: &SoftmaxS8Params) -> i8 {
        // 0..=31 for depth < 512 (the sum is at least 1.0 and below 512)
        let exponent = (self.num_bits_over_unit + 31 - 8).clamp(0, 31) as u32;
        let diff = v as i32 - self.max_in_row;
        if diff >= p.diff_min {
            let rescaled =
                mul_greater_than_one(diff, p.input_multiplier, p.input_left_shift, p.rounding);
            let e = exp_on_negative_values_q5(rescaled);
            let unsat = rounding_divide_by_pot(
                saturating_rounding_doubling_high_mul(self.shifted_scale, e),
                exponent,
            );
            unsat.wrapping_add(-128).clamp(-128, 127) as i8
        } else {
            -128
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn exp_on_negative_values_matches_exp() {
        // Q5.26 in, Q0.31 out: exp(x) to within a few 2^-31 ... 1e-6
        for k in 0..200 {
            let x = -(k as f64) * 0.1;
            let raw = (x * (1u64 << 26) as f64) as i32;
            let got = exp_on_negative_values_q5(raw) as f64 / (1u64 << 31) as f64;
            let want = libm::exp(raw as f64 / (1u64 << 26) as f64);
            assert!(
                (got - want).abs() < 2e-8 + want * 2e-6,
                "{x}: {got} vs {want}"
            );
        }
        assert_eq!(exp_on_negative_values_q5(0), i32::MAX);
        // 1 / (1 + x) for x in [0, 1)
        for k in 0..100 {
            let x = k as f64 / 100.0;
            let raw = (x * 2147483648.0) as i32;
            let got = one_over_one_plus_x_for_x_in_0_1(raw) as f64 / 2147483648.0;
            assert!((got - 1.0 / (1.0 + x)).abs() < 1e-8, "{x}");
        }
    }

    #[test]
    fn softmax_by_hand() {
        // input scale 1/16: beta * scale * 2^26 = 2^22 -> (2^30, 23)
        let p = softmax_s8_prepare(1.0, 1.0 / 16.0, 1.0 / 256.0, -128, Rounding::Single).unwrap();
        assert_eq!((p.input_multiplier, p.input_left_shift), (1 << 30, 23));
        // floor(31 * 2^26 / 2^23) = 248
        assert_eq!(p.diff_min, -248);
        // equal values: each 1/4 -> 64 - 128 = -64
        let mut out = [0i8; 8];
        softmax_s8(&[3, 3, 3, 3, -7, -7, -7, -7], 4, &mut out, &p).unwrap();
        assert_eq!(out, [-64; 8]);
        // a difference of 16 steps = 1.0: e / (1 + e) = 0.731 -> 187 - 128
        softmax_s8(&[16, 0], 2, &mut out[..2], &p).unwrap();
        assert_eq!(out[..2], [59, -59]);
        // a single value: 1.0 -> 256 - 128 = 128, clamped to 127
        softmax_s8(&[-100], 1, &mut out[..1], &p).unwrap();
        assert_eq!(out[0], 127);
        // far below the maximum (diff_min): -128
        softmax_s8(&[127, -128], 2, &mut out[..2], &p).unwrap();
        assert_eq!(out[..2], [127, -128]);
    }

    // MultiplyByQuantizedMultiplierGreaterThanOne is a left shift: both
    // builds round once, half up, so they agree wherever the kernel uses it
    // (differences from diff_min to 0)
    #[test]
    fn both_roundings_agree_on_softmax_rescaling() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let shift = (seed % 31) as i32;
            let m = (1 << 30) + ((seed >> 8) % (1 << 30)) as i32;
            let radius = (31i64 * (1 << 26)) >> shift;
            let diff = -((seed >> 40) as i64 % (radius + 1)) as i32;
            assert_eq!(
                mul_greater_than_one(diff, m, shift, Rounding::Single),
                mul_greater_than_one(diff, m, shift, Rounding::Double),
                "{diff} {m} {shift}"
            );
        }
    }

    #[test]
    fn softmax_checks() {
        let r = Rounding::Single;
        assert_eq!(
            softmax_s8_prepare(1.0, 0.1, 1.0 / 256.0, 0, r),
            Err(Status::Param)
        );
        assert_eq!(
            softmax_s8_prepare(1.0, 0.1, 1.0 / 128.0, -128, r),
            Err(Status::Param)
        );
        assert_eq!(
            softmax_s8_prepare(0.0, 0.1, 1.0 / 256.0, -128, r),
            Err(Status::Param)
        );
        assert_eq!(
            softmax_s8_prepare(1.0, f32::NAN, 1.0 / 256.0, -128, r),
            Err(Status::Param)
        );
        // a real multiplier not above 1: LiteRT's CHECK fails
        assert_eq!(
            softmax_s8_prepare(1.0, 1e-9, 1.0 / 256.0, -128, r),
            Err(Status::Param)
        );
        // within 0.1 % of 1/256 is accepted
        assert!(softmax_s8_prepare(1.0, 0.1, 1.0005 / 256.0, -128, r).is_ok());
        // a huge multiplier saturates at 2^30 - 1 (single) / 2^31 - 1 (double)
        let s = softmax_s8_prepare(1.0, 1e6, 1.0 / 256.0, -128, r).unwrap();
        assert_eq!((s.input_multiplier, s.input_left_shift), (i32::MAX - 1, 30));
        let d = softmax_s8_prepare(1.0, 1e6, 1.0 / 256.0, -128, Rounding::Double).unwrap();
        assert_eq!((d.input_multiplier, d.input_left_shift), (i32::MAX, 31));
        let p = softmax_s8_prepare(1.0, 0.1, 1.0 / 256.0, -128, r).unwrap();
        let mut out = [9i8; 4];
        assert_eq!(
            softmax_s8(&[1, 2, 3, 4], 0, &mut out, &p),
            Err(Status::Size)
        );
        assert_eq!(
            softmax_s8(&[1, 2, 3, 4], 3, &mut out, &p),
            Err(Status::Size)
        );
        assert_eq!(softmax_s8(&[1, 2, 3], 3, &mut out, &p), Err(Status::Size));
        let bad = SoftmaxS8Params {
            input_left_shift: 31,
            ..p
        };
        assert_eq!(
            softmax_s8(&[1, 2, 3, 4], 2, &mut out, &bad),
            Err(Status::Param)
        );
        assert_eq!(out, [9; 4]);
        // depth >= 512, all equal: the sum reaches 512, where LiteRT
        // aborts; refused before anything is written
        let x = [0i8; 1024];
        let mut o = [9i8; 1024];
        assert_eq!(softmax_s8(&x, 512, &mut o, &p), Err(Status::Param));
        assert!(o.iter().all(|&v| v == 9));
        // depth 512 with one clear maximum is fine
        let mut y = [-128i8; 512];
        y[7] = 127;
        softmax_s8(&y, 512, &mut o[..512], &p).unwrap();
        assert_eq!(o[7], 127);
    }

    #[test]
    fn in_place_equals_softmax_s8() {
        let p = softmax_s8_prepare(1.0, 0.05, 1.0 / 256.0, -128, Rounding::Double).unwrap();
        let mut seed = 12345u32;
        for depth in [1usize, 2, 3, 7, 10, 64, 511, 512, 700] {
            for _ in 0..20 {
                let x: Vec<i8> = (0..depth)
                    .map(|_| {
                        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
                        (seed >> 16) as i8
                    })
                    .collect();
                let mut want = vec![0i8; depth];
                let r = softmax_s8(&x, depth, &mut want, &p);
                let mut buf = x.clone();
                assert_eq!(softmax_s8_in_place(&mut buf, &p), r);
                assert_eq!(buf, if r.is_ok() { want } else { x });
            }
        }
        let mut zero: [i8; 0] = [];
        assert_eq!(softmax_s8_in_place(&mut zero, &p), Err(Status::Size));
        let mut all_equal = [0i8; 1024];
        assert_eq!(softmax_s8_in_place(&mut all_equal, &p), Err(Status::Param));
        assert!(all_equal.iter().all(|&v| v == 0));
    }
}
