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
//!   one rounding shift.
//!
//! Which one is LiteRT's? The fixtures say single: with TensorFlow 2.21 and
//! ai-edge-litert 2.3.0, the reference kernels' FULLY_CONNECTED outputs
//! match the single-rounding kernel on all 880 recorded values, and the
//! double-rounding one differs by one step on one of them (a tie after the
//! high multiply: tests/rust/int8_fixtures.rs). So [`Rounding::Single`] is
//! what parity with LiteRT's Python interpreter needs.

use crate::Status;

/// Which of TFLite's two `MultiplyByQuantizedMultiplier` builds to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// `TFLITE_SINGLE_ROUNDING=1` (what LiteRT's Python wheel computes).
    Single,
    /// gemmlowp's double rounding (`TFLITE_SINGLE_ROUNDING=0`).
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
