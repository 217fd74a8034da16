//! TFLite's integer scheme (issue 29): `real = (q - zero_point) * scale`;
//! weights symmetric int8 (zero point 0), per tensor or per output channel;
//! activations asymmetric int8, one scale and zero point per tensor; bias
//! int32 with scale `input_scale * weight_scale`. The int8 kernels
//! (`src/layers/*_s8.rs`) compute what LiteRT's *reference* kernels compute,
//! bit for bit (tests/rust/int8_fixtures.rs), `no_std`, no heap, no panic
//! path: every length is checked first and a [`crate::Status`] returned.
//!
//! Requantization as TFLite computes it (LiteRT's
//! `tensorflow/lite/kernels/internal/common.cc` and `quantization_util.cc`),
//! in both of its builds:
//!
//! - [`Rounding::Double`], `TFLITE_SINGLE_ROUNDING=0`: gemmlowp's
//!   `SaturatingRoundingDoublingHighMul` then `RoundingDivideByPOT`;
//! - [`Rounding::Single`], `TFLITE_SINGLE_ROUNDING=1`: one 64-bit product,
//!   one rounding shift;
//!
//! and the float requantization of LiteRT's reference FULLY_CONNECTED,
//! [`requantize_float`]: `(int32_t)round((double)acc * scale)` with
//! `scale = (double)input_scale * (double)filter_scale[j] /
//! (double)output_scale`, computed exactly in integer arithmetic (no
//! floating point at run time: the scale, a [`FloatScale`], is prepared
//! once from the f64's bits).
//!
//! Which one is LiteRT's? It depends on the operator (TensorFlow 2.21,
//! ai-edge-litert 2.3.0, the reference kernels, `OpResolverType.BUILTIN_REF`):
//!
//! - the kernels that call `MultiplyByQuantizedMultiplier` (CONV_2D, MEAN,
//!   ADD, MUL) are the build's default, **double rounding**: with
//!   [`Rounding::Double`] the int8 kernels reproduce every recorded value,
//!   single rounding misses some of CONV_2D's, MEAN's and MUL's;
//! - the reference FULLY_CONNECTED has not called
//!   `MultiplyByQuantizedMultiplier` since LiteRT commit 921360770 ("Make
//!   the fully_connected ref kernel do requant in float", April 2025): it
//!   computes [`requantize_float`]'s formula in its Eval
//!   (`reference_integer_ops::FullyConnected` and
//!   `FullyConnectedPerChannel`), from the tensors' float32 scales. Single
//!   rounding happens to reproduce all recorded FULLY_CONNECTED values and
//!   double rounding misses one, but only the float requantization is
//!   LiteRT's by construction (tests/rust/int8_fixtures.rs).
//!
//! LiteRT's optimized FULLY_CONNECTED keeps `MultiplyByQuantizedMultiplier`
//! (its Prepare's Q31 multipliers), as does TFLite Micro's reference kernel
//! (tflite-micro at commit cb60aa9c).

use super::exp::mul_wide;
use crate::Status;

/// Which of TFLite's two `MultiplyByQuantizedMultiplier` builds to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// `TFLITE_SINGLE_ROUNDING=1` (a build option; not what LiteRT's
    /// Python wheel computes for any recorded operator by construction).
    Single,
    /// gemmlowp's double rounding (`TFLITE_SINGLE_ROUNDING=0`, the default
    /// build: LiteRT's CONV_2D, MEAN, ADD, MUL).
    Double,
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of
/// `2 * a * b`, rounded to nearest with ties up (toward +inf: a nudge of
/// 2^30 or 1 - 2^30, then a truncating division), saturating the
/// one overflowing case `INT32_MIN * INT32_MIN` to `INT32_MAX`.
#[inline(always)]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = (a as i64) * (b as i64);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++'s division truncates toward zero, as Rust's does; the quotient
    // fits in i32 because the product is not INT32_MIN squared.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest,
/// ties away from zero. gemmlowp asserts `0 <= exponent <= 31`; here an
/// exponent above 31 is taken as 31 (no caller passes one: the kernels
/// refuse such shifts before they run).
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = if exponent > 31 { 31 } else { exponent };
    let mask: i32 = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + if x < 0 { 1 } else { 0 };
    (x >> exponent) + if remainder > threshold { 1 } else { 0 }
}

/// The smallest and largest shift [`multiply_by_quantized_multiplier`]
/// takes: [`quantize_multiplier`] gives shifts in -31..=31 (a shift below
/// -31 it turns into a zero multiplier).
pub const MIN_SHIFT: i32 = -31;
/// See [`MIN_SHIFT`].
pub const MAX_SHIFT: i32 = 31;

/// TFLite's `MultiplyByQuantizedMultiplier(int32 x, int32 multiplier, int
/// shift)`, double rounding: `x * 2^max(shift, 0)` (wrapping, as the C++
/// does on two's-complement targets), its rounded doubling high product
/// with `multiplier`, then a rounding right shift by `max(-shift, 0)`.
/// A shift outside [`MIN_SHIFT`]..=[`MAX_SHIFT`] is clamped into it.
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = if shift < MIN_SHIFT {
        MIN_SHIFT
    } else if shift > MAX_SHIFT {
        MAX_SHIFT
    } else {
        shift
    };
    let left_shift = if shift > 0 { shift as u32 } else { 0 };
    let right_shift = if shift > 0 { 0 } else { shift.unsigned_abs() };
    let scaled = x.wrapping_mul(1i32.wrapping_shl(left_shift));
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(scaled, multiplier),
        right_shift,
    )
}

/// TFLite's single-rounding `MultiplyByQuantizedMultiplier(int32 x,
/// int32 multiplier, int shift)`: `(x * multiplier + 2^(30 - shift)) >>
/// (31 - shift)` in 64 bits, then truncated to int32 (TFLite only checks
/// it fits, in debug builds). TFLite requires `multiplier >= 0` and
/// `-31 <= shift <= 30`; here a shift outside is clamped into that range
/// (the kernels refuse such shifts before they run).
#[inline(always)]
pub fn multiply_by_quantized_multiplier_single(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = if shift < -31 {
        -31
    } else if shift > 30 {
        30
    } else {
        shift
    };
    let total_shift = (31 - shift) as u32; // 1..=62
    let round = 1i64 << (total_shift - 1);
    ((x as i64 * multiplier as i64).wrapping_add(round) >> total_shift) as i32
}

/// [`multiply_by_quantized_multiplier`] (double) or
/// [`multiply_by_quantized_multiplier_single`], as `rounding` says.
#[inline(always)]
pub fn requantize(x: i32, multiplier: i32, shift: i32, rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Single => multiply_by_quantized_multiplier_single(x, multiplier, shift),
        Rounding::Double => multiply_by_quantized_multiplier(x, multiplier, shift),
    }
}

/// [`quantize_multiplier`] for a [`Rounding`]: the single-rounding build
/// also saturates a shift above 30 to `(2^31 - 1, 30)`.
pub fn quantize_multiplier_for(real: f64, rounding: Rounding) -> Result<(i32, i32), Status> {
    let (q, shift) = quantize_multiplier(real)?;
    if rounding == Rounding::Single && shift > 30 {
        return Ok((i32::MAX, 30));
    }
    Ok((q, shift))
}

/// TFLite's `QuantizeMultiplier(double, int32*, int*)` (double-rounding build): `m = q * 2^shift`
/// with `q` in Q31 (`frexp`, then `q * 2^31` rounded half away from zero;
/// a `q` that rounds up to `2^31` is halved and the shift raised; a shift
/// below -31 gives multiplier 0 and shift 0). `0.0` gives `(0, 0)`.
/// Refuses NaN and ±inf (`Status::Param`), where TFLite's checks fail.
pub fn quantize_multiplier(real: f64) -> Result<(i32, i32), Status> {
    if !real.is_finite() {
        return Err(Status::Param);
    }
    if real == 0.0 {
        return Ok((0, 0));
    }
    let (q, mut shift) = libm::frexp(real);
    let mut q_fixed = libm::round(q * (1u64 << 31) as f64) as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    Ok((q_fixed as i32, shift))
}

/// A double-precision scale prepared for [`requantize_float`]: the sign,
/// the 53-bit significand `m` (implicit bit included) and `t`, with
/// `|scale| = m * 2^-t`. Made from the f64's bits with integer operations
/// only ([`FloatScale::from_bits`]), so a converter can store the f64 and
/// a board without a double-precision FPU prepare it once per layer.
/// A zero or subnormal scale is held as zero (`m = 0`): its product with
/// any int32 rounds to 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloatScale {
    /// Bits 32..53 of the significand (below 2^21).
    m_hi: u32,
    /// Bits 0..32 of the significand.
    m_lo: u32,
    /// `|scale| = m * 2^-t` (-971..=1074 for a normal f64, 1075 for zero).
    t: i32,
    /// The scale is negative.
    neg: bool,
}

impl FloatScale {
    /// The scale 0.
    pub const ZERO: FloatScale = FloatScale {
        m_hi: 0,
        m_lo: 0,
        t: 1075,
        neg: false,
    };

    /// From an f64's IEEE 754 bits (`f64::to_bits`); `Status::Param` for
    /// NaN and ±inf.
    pub const fn from_bits(bits: u64) -> Result<FloatScale, Status> {
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let neg = bits >> 63 != 0;
        if exp == 0x7ff {
            return Err(Status::Param);
        }
        if exp == 0 {
            // zero or subnormal: |acc * scale| < 2^31 * 2^-1022
            return Ok(FloatScale {
                neg,
                ..FloatScale::ZERO
            });
        }
        let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
        Ok(FloatScale {
            m_hi: (m >> 32) as u32,
            m_lo: m as u32,
            t: 1075 - exp,
            neg,
        })
    }

    /// [`FloatScale::from_bits`] of `scale.to_bits()` (no float arithmetic).
    pub fn from_f64(scale: f64) -> Result<FloatScale, Status> {
        FloatScale::from_bits(scale.to_bits())
    }
}

/// LiteRT's float requantization, without floating point:
/// `(int32_t)round((double)acc * scale)` as LiteRT's reference
/// FULLY_CONNECTED computes it (`reference_integer_ops::FullyConnected` /
/// `FullyConnectedPerChannel` since LiteRT commit 921360770, the scale
/// being `(double)input_scale * (double)filter_scale / (double)output_scale`),
/// bit for bit: the double product rounded to 53 bits (ties to even), then
/// to an integer (`round`, half away from zero).
///
/// A result outside int32 (`|round(acc * scale)| >= 2^31`, except
/// `-2^31`; the product may even overflow to inf) is `i32::MIN`, what
/// the C++'s conversion gives on x86-64 (`cvttsd2si`: the "integer
/// indefinite"; the conversion is undefined in C++, and AArch64's saturates
/// instead), where the Python wheel runs.
///
/// How: with `a = |acc|` normalized to `A = a * 2^z` in `[2^31, 2^32)`,
/// the exact product `P = A * m` (84 or 85 bits, from two 32x32->64
/// products: [`mul_wide`], 16x16 products on Armv6-M) is cut to its top
/// 54 bits `W` (the 53 bits the double keeps and one more, a floor:
/// `W = floor(a * m / 2^(d-1))`). With `n` the bit length of `a * m` and
/// `d = n - 53` the bits the double drops, the double rounds `a * m` to a
/// multiple of `2^d`, the integer rounding then cuts at `2^t`; when the
/// result fits in int32, `t - 1 > d`, so the double's rounding changes the
/// result only when `a * m` lies within `2^(d-1)` below a half
/// (`K * 2^t + 2^(t-1)`, a multiple of `2^d` with an even quotient: the
/// tie rounds up to it), and the result is
/// `floor((2 a m + 2^t + 2^d) / 2^(t+1)) = (W + 1 + 2^(s-1)) >> s`,
/// `s = t - d + 1`.
///
/// Most calls take a shorter way first: for `t` in 54..=84 (the scales
/// 2^-32..2^-1 that int8 layers have), `P' = a * (m >> 21)` (one 32x32->64
/// product) gives `(P' + 2^(u-1)) >> u`, `u = t - 21`, which is the result
/// unless the parts left out carry it past the next half: the 21 low bits
/// of `m` add less than `a <= 2^31` to `P'`, the double's rounding moves
/// `a * m` by at most `2^(d-1) <= 2^30` (`2^9` in units of `P'`) and never
/// across a half, which is a double (a multiple of `2^d`). So it is taken
/// when `(P' + 2^(u-1)) mod 2^u` is below `2^u - 2^32`, and the exact way
/// above ([`requantize_float_exact`]) runs otherwise (about one call in
/// `2^(u-32)`, and for the scales outside that range).
#[inline]
pub fn requantize_float(acc: i32, scale: &FloatScale) -> i32 {
    let a = acc.unsigned_abs();
    // k = u - 32 in 1..=31 (t in 54..=84)
    let k = scale.t.wrapping_sub(53) as u32;
    if k.wrapping_sub(1) < 31 {
        let m_top = (scale.m_hi << 11) | (scale.m_lo >> 21);
        let p = mul_wide(a, m_top); // below 2^63
        let hi = (p >> 32) as u32;
        // + 2^(u-1), in the high word (hi < 2^31: no carry out)
        let hi = hi + (1 << (k - 1));
        let mask = (1u32 << k) - 1;
        // (P' + 2^(u-1)) mod 2^u < 2^u - 2^32: its high word is not all ones
        if hi & mask != mask {
            let r = (hi >> k) as i32; // below 2^31
            return if (acc < 0) != scale.neg { -r } else { r };
        }
    }
    // (its fields, not a reference: the scale is not stored to memory for
    // a call that the short way does not make)
    let FloatScale { m_hi, m_lo, t, neg } = *scale;
    requantize_float_exact(acc, m_hi, m_lo, t, neg)
}

/// [`requantize_float`] the long way, for every `acc` and scale (the
/// method above [`requantize_float`]).
#[inline(never)]
fn requantize_float_exact(acc: i32, m_hi: u32, m_lo: u32, t: i32, neg: bool) -> i32 {
    let scale = FloatScale { m_hi, m_lo, t, neg };
    let a = acc.unsigned_abs();
    if a == 0 {
        return 0;
    }
    let z = a.leading_zeros(); // 0..=31
    let an = a << z;
    let lo = mul_wide(an, scale.m_lo);
    let hi = mul_wide(an, scale.m_hi) + (lo >> 32); // P >> 32, below 2^53
    let lo = lo as u32;
    // W = P >> (30 + c), P having 84 + c bits (m = 0: W = 0, s large);
    // shifts by constants (a variable 64-bit shift is a call on Armv6-M)
    let (w, c) = if hi >> 52 != 0 {
        ((hi << 1) | (lo >> 31) as u64, 1)
    } else {
        ((hi << 2) | (lo >> 30) as u64, 0)
    };
    let s = scale.t + z as i32 - 30 - c;
    if s <= 0 {
        return i32::MIN; // |acc * scale| >= 2^53
    }
    if s >= 56 {
        return 0; // |acc * scale| < 1/4
    }
    // (W + 1 + 2^(s-1)) >> s = (y + 1) >> 1 with y = (W + 1) >> (s - 1),
    // y taken in 32-bit halves (it is below 2^32 unless out of range)
    let x = w + 1; // below 2^54 + 1
    let (xh, xl) = ((x >> 32) as u32, x as u32);
    let k = (s - 1) as u32; // 0..=54
    let y = if k >= 32 {
        xh >> (k - 32)
    } else if xh >> k != 0 {
        return i32::MIN; // y >= 2^32
    } else {
        (xl >> k) | ((xh << 1) << (31 - k))
    };
    if y == u32::MAX {
        return i32::MIN; // 2^31
    }
    let r = ((y + 1) >> 1) as i32;
    if (acc < 0) != scale.neg {
        -r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quant_and_multiply(x: i32, m: f64) -> i32 {
        let (q, s) = quantize_multiplier(m).unwrap();
        multiply_by_quantized_multiplier(x, q, s)
    }

    // LiteRT's tensorflow/lite/kernels/internal/quantization_util_test.cc,
    // TEST(QuantizationUtilTest, QuantizeMultiplierArray).
    #[test]
    fn quantize_multiplier_powers_of_two() {
        let cases: [(f64, i32, i32); 13] = [
            (-4.0, -1073741824, 3),
            (-2.0, -1073741824, 2),
            (-1.0, -1073741824, 1),
            (-0.5, -1073741824, 0),
            (-0.25, -1073741824, -1),
            (-0.125, -1073741824, -2),
            (0.0, 0, 0),
            (0.125, 1073741824, -2),
            (0.25, 1073741824, -1),
            (0.5, 1073741824, 0),
            (1.0, 1073741824, 1),
            (2.0, 1073741824, 2),
            (4.0, 1073741824, 3),
        ];
        for (m, q, s) in cases {
            assert_eq!(quantize_multiplier(m), Ok((q, s)), "{m}");
        }
    }

    // quantization_util_test.cc, QuantizeMultiplierUnderflow,
    // QuantizeMultiplierSmallerThanOneExp and ...GreaterThanOne (the
    // values QuantizeMultiplier shares with them).
    #[test]
    fn quantize_multiplier_edges() {
        assert_eq!(
            quantize_multiplier(libm::ldexp(1.0, -31)),
            Ok((1073741824, -30))
        );
        assert_eq!(
            quantize_multiplier(libm::ldexp(1.0, -32)),
            Ok((1073741824, -31))
        );
        assert_eq!(
            quantize_multiplier(libm::ldexp(0.99f32 as f64, -32)),
            Ok((0, 0))
        );
        assert_eq!(quantize_multiplier(libm::ldexp(1.0, -33)), Ok((0, 0)));
        assert_eq!(quantize_multiplier(0.25), Ok((1073741824, -1)));
        assert_eq!(quantize_multiplier(0.50 - 5e-9), Ok((2147483627, -1)));
        assert_eq!(quantize_multiplier(0.50 - 1e-10), Ok((1073741824, 0)));
        assert_eq!(quantize_multiplier(0.75), Ok((1610612736, 0)));
        assert_eq!(quantize_multiplier(1.0 - 1e-9), Ok((2147483646, 0)));
        assert_eq!(quantize_multiplier(1.0 + 1e-11), Ok((1073741824, 1)));
        assert_eq!(quantize_multiplier(1.25), Ok((1342177280, 1)));
        assert_eq!(quantize_multiplier(1.75), Ok((1879048192, 1)));
        assert_eq!(quantize_multiplier(2.0 - 1e-9), Ok((2147483647, 1)));
        assert_eq!(quantize_multiplier(2.0 - 1e-11), Ok((1073741824, 2)));
        assert_eq!(quantize_multiplier(f64::NAN), Err(Status::Param));
        assert_eq!(quantize_multiplier(f64::INFINITY), Err(Status::Param));
    }

    // quantization_util_test.cc, MultiplyByQuantizedMultiplierInt32
    // (double rounding: the negative multipliers are tested too).
    #[test]
    fn multiply_by_quantized_multiplier_litert_cases() {
        assert_eq!(quant_and_multiply(0, 0.1), 0);
        assert_eq!(quant_and_multiply(1, 0.0), 0);
        assert_eq!(quant_and_multiply(10000, 0.00097656), 10);
        assert_eq!(quant_and_multiply(-10000, 0.00097656), -10);
        assert_eq!(quant_and_multiply(i32::MIN, 0.00001), -21475);
        assert_eq!(quant_and_multiply(i32::MAX, 0.00001), 21475);
        assert_eq!(quant_and_multiply(10000, -0.00097656), -10);
        assert_eq!(quant_and_multiply(-10000, -0.00097656), 10);
        assert_eq!(quant_and_multiply(i32::MIN, -0.00001), 21475);
        assert_eq!(quant_and_multiply(i32::MAX, -0.00001), -21475);
        // "Test with maximum possible x and quantized_multiplier":
        // expected = round(x * m / 2^(31 - shift)), shift = -3.
        let x = i32::MAX;
        let expected =
            libm::round((x as i64 * i32::MAX as i64) as f64 / (1u64 << 34) as f64) as i32;
        assert_eq!(multiply_by_quantized_multiplier(x, i32::MAX, -3), expected);
        assert_eq!(
            multiply_by_quantized_multiplier(-x, i32::MAX, -3),
            -expected
        );
    }

    // The single-rounding build: common.cc's formula, and the
    // MultiplyByQuantizedMultiplierInt32 cases of quantization_util_test.cc
    // that hold in both builds (non-negative multipliers).
    #[test]
    fn single_rounding() {
        let qm = |x: i32, m: f64| {
            let (q, s) = quantize_multiplier_for(m, Rounding::Single).unwrap();
            multiply_by_quantized_multiplier_single(x, q, s)
        };
        assert_eq!(qm(0, 0.1), 0);
        assert_eq!(qm(1, 0.0), 0);
        assert_eq!(qm(10000, 0.00097656), 10);
        assert_eq!(qm(-10000, 0.00097656), -10);
        assert_eq!(qm(i32::MIN, 0.00001), -21475);
        assert_eq!(qm(i32::MAX, 0.00001), 21475);
        let x = i32::MAX;
        let expected =
            libm::round((x as i64 * i32::MAX as i64) as f64 / (1u64 << 34) as f64) as i32;
        assert_eq!(
            multiply_by_quantized_multiplier_single(x, i32::MAX, -3),
            expected
        );
        assert_eq!(
            multiply_by_quantized_multiplier_single(-x, i32::MAX, -3),
            -expected
        );
        // One rounding: ties go up. -62.5 -> -62 where double rounding,
        // rounding -7999.55 to -8000 first, then -62.5 away from zero,
        // gives -63 (the fixture value that tells the two builds apart).
        assert_eq!(
            multiply_by_quantized_multiplier_single(-14673, 1170783819, -7),
            -62
        );
        assert_eq!(
            multiply_by_quantized_multiplier(-14673, 1170783819, -7),
            -63
        );
        assert_eq!(multiply_by_quantized_multiplier_single(-1, 1 << 30, 0), 0); // -0.5
        assert_eq!(multiply_by_quantized_multiplier_single(1, 1 << 30, 0), 1); // 0.5
        assert_eq!(multiply_by_quantized_multiplier_single(-3, 1 << 30, 0), -1); // -1.5
                                                                                 // saturation of large multipliers (quantization_util.cc, single build)
        assert_eq!(
            quantize_multiplier_for(libm::ldexp(1.0, 31), Rounding::Single),
            Ok((i32::MAX, 30))
        );
        assert_eq!(
            quantize_multiplier_for(libm::ldexp(1.0, 31), Rounding::Double),
            Ok((1 << 30, 32))
        );
        // out-of-range shifts clamp, never panic
        let _ = multiply_by_quantized_multiplier_single(i32::MAX, i32::MAX, 100);
        let _ = multiply_by_quantized_multiplier_single(i32::MIN, i32::MIN, -100);
        assert_eq!(requantize(6, 1 << 30, 0, Rounding::Single), 3);
        assert_eq!(requantize(-5, 1 << 30, 0, Rounding::Double), -2);
    }

    // ---- requantize_float against the host's f64 (the oracle) ----

    /// What LiteRT computes on x86-64: `(int32_t)round((double)acc * scale)`,
    /// out of range (and inf) giving `INT32_MIN` (`cvttsd2si`).
    fn oracle(acc: i32, scale: f64) -> i32 {
        let r = (acc as f64 * scale).round();
        if (-2147483648.0..2147483648.0).contains(&r) {
            r as i32
        } else {
            i32::MIN
        }
    }

    fn check(acc: i32, scale: f64) {
        let f = FloatScale::from_f64(scale).unwrap();
        assert_eq!(
            requantize_float(acc, &f),
            oracle(acc, scale),
            "acc {acc}, scale {scale:e} ({:#x})",
            scale.to_bits()
        );
    }

    /// splitmix64
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// An int32 of a uniformly chosen bit length, either sign.
        fn acc(&mut self) -> i32 {
            let bits = self.below(33) as u32; // 0..=32
            let v = if bits == 0 {
                0
            } else {
                (self.next() as u32 >> (32 - bits)) | (1u32 << (bits - 1))
            };
            if self.next() & 1 == 0 {
                v as i32
            } else {
                (v as i32).wrapping_neg()
            }
        }
    }

    const SPECIAL_ACCS: [i32; 14] = [
        i32::MIN,
        i32::MIN + 1,
        i32::MAX,
        i32::MAX - 1,
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        1 << 30,
        -(1 << 30),
        (1 << 30) - 1,
    ];

    #[test]
    fn float_scale_from_bits() {
        assert_eq!(FloatScale::from_f64(f64::NAN), Err(Status::Param));
        assert_eq!(FloatScale::from_f64(f64::INFINITY), Err(Status::Param));
        assert_eq!(FloatScale::from_f64(f64::NEG_INFINITY), Err(Status::Param));
        assert_eq!(FloatScale::from_f64(0.0), Ok(FloatScale::ZERO));
        let sub = FloatScale::from_f64(f64::from_bits(1)).unwrap();
        assert_eq!(requantize_float(i32::MIN, &sub), 0);
        for acc in SPECIAL_ACCS {
            for scale in [
                0.0,
                -0.0,
                5e-324,
                -5e-324,
                f64::MIN_POSITIVE,
                f64::MAX,
                -f64::MAX,
            ] {
                check(acc, scale);
            }
        }
    }

    #[test]
    fn float_requant_hand_checked() {
        let q = |acc: i32, scale: f64| requantize_float(acc, &FloatScale::from_f64(scale).unwrap());
        assert_eq!(q(5, 0.5), 3); // 2.5 -> 3, half away from zero
        assert_eq!(q(-5, 0.5), -3);
        assert_eq!(q(3, 0.5), 2);
        assert_eq!(q(-1, 0.5), -1);
        assert_eq!(q(1, 0.25), 0);
        assert_eq!(q(7, -0.5), -4);
        assert_eq!(q(i32::MIN, 1.0), i32::MIN);
        assert_eq!(q(i32::MAX, 1.0), i32::MAX);
        assert_eq!(q(i32::MIN, -1.0), i32::MIN); // 2^31: out of range
        assert_eq!(q(i32::MAX, 2.0), i32::MIN);
        assert_eq!(q(-1 << 30, 2.0), i32::MIN); // -2^31 exactly
        assert_eq!(q(1 << 30, 2.0), i32::MIN);
        // the fixture value that tells single and double rounding apart:
        // -14673 * 0.0042587..., just above -62.5
        let scale = 1170783819.0 / (1u64 << 38) as f64;
        assert_eq!(q(-14673, scale), oracle(-14673, scale));
    }

    #[test]
    fn float_requant_random_scales_and_accs() {
        let mut rng = Rng(0x5eed_0001);
        for _ in 0..2_000_000 {
            // any significand, binary exponents 2^-40..2^12
            let exp = 1023 - 40 + rng.below(53);
            let bits = (exp << 52) | (rng.next() >> 12) | (rng.next() & (1 << 63));
            check(rng.acc(), f64::from_bits(bits));
        }
        // decimal magnitudes 1e-10..1e3, as quotients of float32 scales
        for _ in 0..1_000_000 {
            let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            let scale = libm::pow(10.0, -10.0 + 13.0 * u);
            let (si, sw, so) = (
                (scale * 0.01) as f32 as f64,
                (rng.below(1000) as f64 * 1e-4 + 1e-4) as f32 as f64,
                (0.01 * (rng.below(1000) as f64 * 1e-4 + 1e-4)) as f32 as f64,
            );
            check(rng.acc(), si * sw / so);
            check(rng.acc(), scale);
        }
        // every binary exponent the product can meet, the special accs
        for e in 1..2047u64 {
            for _ in 0..8 {
                let bits = (e << 52) | (rng.next() >> 12);
                for acc in SPECIAL_ACCS {
                    check(acc, f64::from_bits(bits));
                }
                check(rng.acc(), f64::from_bits(bits));
            }
        }
    }

    #[test]
    fn float_requant_near_powers_of_two() {
        let mut rng = Rng(0x5eed_0002);
        for e in -45i32..=32 {
            let p = libm::ldexp(1.0, e);
            for k in -4i64..=4 {
                let scale = f64::from_bits((p.to_bits() as i64 + k) as u64);
                for acc in SPECIAL_ACCS {
                    check(acc, scale);
                    check(acc, -scale);
                }
                for _ in 0..2000 {
                    check(rng.acc(), scale);
                }
                // accs near powers of two and their neighbours
                for b in 0..31 {
                    for da in -2i32..=2 {
                        check((1i32 << b).wrapping_add(da), scale);
                        check((-1i32 << b).wrapping_add(da), scale);
                    }
                }
            }
        }
    }

    /// The modular inverse of an odd `a` modulo 2^64 (Newton).
    fn inverse(a: u64) -> u64 {
        let mut x = a;
        for _ in 0..6 {
            x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        }
        x
    }

    /// Ties: scales `m * 2^-t` chosen so that `a * m` lies at, or within a
    /// few units around, `K * 2^t + 2^(t-1)` (an exact half), and around
    /// it at the distances where the double's rounding to 53 bits moves it
    /// onto the half (or not): `2^(d-1)` and its neighbours.
    #[test]
    fn float_requant_ties() {
        let mut rng = Rng(0x5eed_0003);
        let (mut exact_ties, mut made_ties, mut made_up, mut cases) = (0usize, 0, 0, 0);
        for _ in 0..400_000 {
            let la = 1 + rng.below(30) as u32; // bit length of a: 1..=30
            let a = ((rng.next() as u32 >> (32 - la)) | (1 << (la - 1)) | 1) as u64; // odd
            let t = la + 22 + rng.below(53 - (la + 22) as u64 + 1) as u32; // <= 52 (a low bits free)
            if t > 52 {
                continue;
            }
            let d = la as i64 - 1 + rng.below(2) as i64; // the likely bits dropped
            let half_ulp = if d >= 1 { 1i64 << (d - 1) } else { 0 };
            let deltas = [
                0,
                half_ulp,
                half_ulp - 1,
                half_ulp + 1,
                -half_ulp,
                -half_ulp + 1,
                -half_ulp - 1,
                1,
                -1,
                rng.below(2 * half_ulp as u64 + 1) as i64 - half_ulp,
            ];
            for delta in deltas {
                // a * m = 2^(t-1) - delta (mod 2^t)
                let modulus = 1u64 << t;
                let target = ((1u64 << (t - 1)) as i64 - delta) as u64 & (modulus - 1);
                let low = target.wrapping_mul(inverse(a)) & (modulus - 1);
                let high = (rng.next() >> (64 - (53 - t))) | (1 << (52 - t));
                let m = (high << t) | low;
                assert!(((1u64 << 52)..(1u64 << 53)).contains(&m));
                let scale = f64::from_bits(((1075 - t) as u64) << 52 | (m & ((1 << 52) - 1)));
                for sign in [1i64, -1] {
                    let acc = (a as i64 * sign) as i32;
                    check(acc, scale);
                    // the exact value, for counting what was exercised
                    let p = a as u128 * m as u128;
                    let exact = (p + (1u128 << (t - 1))) >> t;
                    let double = (acc as f64 * scale).abs();
                    let (frac, half) = (p & (modulus as u128 - 1), 1u128 << (t - 1));
                    if frac == half {
                        exact_ties += 1;
                    } else if double.fract() == 0.5 {
                        made_ties += 1;
                        if frac < half {
                            // below the half, rounded onto it: one more
                            // than the exact product rounds to
                            made_up += 1;
                            assert_eq!(double.round() as u128, exact + 1);
                        }
                    }
                    cases += 1;
                }
            }
        }
        // both kinds of tie were met many times
        assert!(exact_ties > 100_000, "{exact_ties} exact ties of {cases}");
        assert!(
            made_ties > 100_000,
            "{made_ties} ties made by the rounding of {cases}"
        );
        assert!(made_up > 50_000, "{made_up} of them from below the half");
        println!("float requant ties: {exact_ties} exact, {made_ties} made by the double's rounding ({made_up} from below), of {cases}");
    }

    /// The short way of [`requantize_float`] (`t` in 54..=84) at its
    /// edges: scales whose `|acc| * m` lies at chosen distances from a half
    /// (`K * 2^t + 2^(t-1)`), at the half itself and just above it (where
    /// the double's rounding may move the product onto the half), and
    /// around the bound below the next half where the short way hands
    /// over to the exact one (`2^53` and `2^53 - a * 2^21` below it),
    /// against the host's f64.
    #[test]
    fn float_requant_short_way_edges() {
        let mut rng = Rng(0x5eed_0004);
        let mut cases = 0usize;
        for t in 50..=88u32 {
            for _ in 0..3000 {
                let acc = rng.acc();
                let a = acc.unsigned_abs() as u128;
                if a == 0 {
                    continue;
                }
                // m in [2^52, 2^53): a * m in [a * 2^52, a * 2^53)
                let lo_p = a << 52;
                let k = (lo_p + rng.below(1 << 62) as u128 * a / (1 << 10)) >> t; // a K in range
                let half = (k << t) + (1u128 << (t - 1));
                let edges: [i128; 14] = [
                    0,
                    1,
                    -1,
                    1 << 31,
                    (1 << 31) + a as i128,
                    (1 << 31) - a as i128,
                    1 << 30,
                    -(1 << 53),
                    -(1 << 53) + (a as i128) * (1 << 21),
                    -(1 << 53) - (a as i128) * (1 << 21),
                    -(1 << 52),
                    -(a as i128) * (1 << 21),
                    rng.below(1 << 40) as i128 - (1 << 39),
                    -(rng.below(1 << 54) as i128),
                ];
                for e in edges {
                    for j in -2i128..=2 {
                        let target = half as i128 + e + j * a as i128;
                        if target <= 0 {
                            continue;
                        }
                        let m = target as u128 / a;
                        if !((1u128 << 52)..(1u128 << 53)).contains(&m) {
                            continue;
                        }
                        let bits = ((1075 - t) as u64) << 52 | (m as u64 & ((1 << 52) - 1));
                        let scale = f64::from_bits(bits);
                        check(acc, scale);
                        check(acc, -scale);
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 1_000_000, "{cases} cases");
    }

    // gemmlowp's fixedpoint edge cases, computed by hand.
    #[test]
    fn high_mul_and_divide_edges() {
        // INT32_MIN * INT32_MIN saturates.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // 2 * (-2^31) * (2^31 - 1) / 2^32 = -(2^31 - 1), exact.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        // 2 * 2^30 * 2^30 / 2^32 = 2^29.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // Ties go up (toward +inf): the nudge is 2^30 for a positive
        // product and 1 - 2^30 for a negative one, then the division
        // truncates. 0.5 -> 1, -0.5 -> 0, -1.5 -> -1, -2.5 -> -2.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);
        // -0.75 -> -1, -0.25 -> 0
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 29), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 29), 0);
        // ties away from zero
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2); // -1.75 -> -2
        assert_eq!(rounding_divide_by_pot(-5, 2), -1); // -1.25 -> -1
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        // a positive shift multiplies first (wrapping like the C++)
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, 1), 3);
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, 2), 6);
        // shifts beyond the range are clamped, never a panic
        assert_eq!(multiply_by_quantized_multiplier(1 << 30, 1 << 30, -100), 0);
        let _ = multiply_by_quantized_multiplier(i32::MAX, i32::MAX, 100);
    }
}
