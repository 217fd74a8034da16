//! HARD_SWISH, int8: LiteRT's reference `reference_ops::HardSwish` (int16
//! fixed point).

use super::lut::check_quant;
use crate::math::requant::{quantize_multiplier_for, Rounding, MIN_SHIFT};
use crate::Status;

/// HARD_SWISH's prepared parameters (`HardSwishParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardSwishS8Params {
    /// The input zero point.
    pub input_zero_point: i32,
    /// The output zero point.
    pub output_zero_point: i32,
    /// `(input_scale / 128) / (3 / 32768)` as a Q15 multiplier ...
    pub reluish_multiplier_fixedpoint_int16: i16,
    /// ... and its exponent (-31..=30).
    pub reluish_multiplier_exponent: i32,
    /// `(input_scale / 128) / output_scale` as a Q15 multiplier ...
    pub output_multiplier_fixedpoint_int16: i16,
    /// ... and its exponent (-31..=0).
    pub output_multiplier_exponent: i32,
}

/// TFLite's `DownScaleInt32ToInt16Multiplier`.
fn down_scale_to_i16(m: i32) -> i16 {
    if m >= i32::MAX - (1 << 15) {
        i16::MAX
    } else {
        ((m + (1 << 15)) >> 16) as i16
    }
}

/// HARD_SWISH's `Prepare` (`HardSwishPrepare`), in `f32` as the C++:
/// `hires_input_scale = (1.0f / 128.0f) * input_scale`, the output
/// multiplier `hires_input_scale / output_scale` and the reluish
/// multiplier `hires_input_scale / (3.0f / 32768.0f)`, each through
/// `QuantizeMultiplier` (`rounding`'s build) and
/// `DownScaleInt32ToInt16Multiplier`. `Status::Param` for a bad scale or
/// zero point, or an output multiplier exponent above 0 (LiteRT's check).
pub fn hard_swish_s8_prepare(
    input_scale: f32,
    input_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    rounding: Rounding,
) -> Result<HardSwishS8Params, Status> {
    check_quant(input_scale, input_zero_point)?;
    check_quant(output_scale, output_zero_point)?;
    let hires_input_scale = (1.0f32 / 128.0f32) * input_scale;
    let reluish_scale = 3.0f32 / 32768.0f32;
    let output_multiplier = hires_input_scale / output_scale;
    let (om, oe) = quantize_multiplier_for(output_multiplier as f64, rounding)?;
    if oe > 0 {
        return Err(Status::Param);
    }
    let reluish_multiplier = hires_input_scale / reluish_scale;
    let (rm, re) = quantize_multiplier_for(reluish_multiplier as f64, rounding)?;
    if !(MIN_SHIFT..=30).contains(&re) || oe < MIN_SHIFT {
        return Err(Status::Param);
    }
    Ok(HardSwishS8Params {
        input_zero_point,
        output_zero_point,
        reluish_multiplier_fixedpoint_int16: down_scale_to_i16(rm),
        reluish_multiplier_exponent: re,
        output_multiplier_fixedpoint_int16: down_scale_to_i16(om),
        output_multiplier_exponent: oe,
    })
}

/// gemmlowp's int16 `SaturatingRoundingDoublingHighMul`.
#[inline]
fn srdhm_i16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// TFLite's `SaturatingDoublingHighMul` (hard_swish.h): as
/// [`srdhm_i16`] but truncating toward zero.
#[inline]
fn sdhm_i16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// gemmlowp's `RoundingDivideByPOT<int16_t>` (0 <= exponent <= 31), with
/// the C++'s int16 mask and int promotions.
#[inline]
fn rounding_divide_by_pot_i16(x: i16, exponent: u32) -> i16 {
    let exponent = exponent.min(31);
    let mask = ((1i64 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1).wrapping_add(if x < 0 { 1 } else { 0 });
    ((x as i32 >> exponent) + if remainder > threshold { 1 } else { 0 }) as i16
}

/// TFLite's `SaturatingLeftShift` (hard_swish.h), for 0 <= amount <= 30.
#[inline]
fn saturating_left_shift_i16(value: i16, amount: i32) -> i16 {
    let r = value as i64 * (1i64 << amount.clamp(0, 30));
    r.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// int8 HARD_SWISH, `x * relu6(x + 3) / 6`, as LiteRT's
/// `reference_ops::HardSwish<int8_t>` computes it in int16 fixed point:
/// the input on a 2^7 finer scale, its value on the output scale
/// (rounded doubling high multiply), the "reluish" factor in [0, 1] (the
/// input rescaled so that 3.0 is 32768, saturating), their truncating
/// doubling high product, a rounding right shift, the output zero point,
/// a clamp to int8. `Status::Size` unless `out` has `x`'s length;
/// `Status::Param` for parameters [`hard_swish_s8_prepare`] cannot give.
pub fn hard_swish_s8(x: &[i8], out: &mut [i8], p: &HardSwishS8Params) -> Result<(), Status> {
    if x.len() != out.len() {
        return Err(Status::Size);
    }
    if !(-128..=127).contains(&p.input_zero_point)
        || !(-128..=127).contains(&p.output_zero_point)
        || !(MIN_SHIFT..=30).contains(&p.reluish_multiplier_exponent)
        || !(MIN_SHIFT..=0).contains(&p.output_multiplier_exponent)
    {
        return Err(Status::Param);
    }
    let rexp = p.reluish_multiplier_exponent;
    for (o, &v) in out.iter_mut().zip(x) {
        let input_value = (v as i32 - p.input_zero_point) as i16;
        let hires = input_value.wrapping_mul(1 << 7);
        let preshift_output = srdhm_i16(hires, p.output_multiplier_fixedpoint_int16);
        let mut reluish = hires;
        if rexp > 0 {
            reluish = saturating_left_shift_i16(reluish, rexp - 1);
        }
        reluish = srdhm_i16(reluish, p.reluish_multiplier_fixedpoint_int16);
        if rexp > 0 {
            reluish = saturating_left_shift_i16(reluish, 1);
        }
        if rexp < 0 {
            reluish = rounding_divide_by_pot_i16(reluish, rexp.unsigned_abs());
        }
        let reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
        let preshift = sdhm_i16(reluish, preshift_output);
        let mut output =
            rounding_divide_by_pot_i16(preshift, p.output_multiplier_exponent.unsigned_abs());
        output = output.wrapping_add(p.output_zero_point as i16);
        *o = output.clamp(-128, 127) as i8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hard_swish_by_hand() {
        // input scale 3/64 (3.0 = 64 steps), output scale 3/128, zero points 0
        let p = hard_swish_s8_prepare(3.0 / 64.0, 0, 3.0 / 128.0, 0, Rounding::Single).unwrap();
        let x = [-128i8, -64, -32, 0, 32, 64, 127];
        let mut out = [0i8; 7];
        hard_swish_s8(&x, &mut out, &p).unwrap();
        // x = -6, -3, -1.5, 0, 1.5, 3, 5.95 -> hswish = 0, 0, -0.375, 0,
        // 1.125, 3, 5.95 -> /(3/128) = 0, 0, -16, 0, 48, 128, 254 (clamped)
        assert_eq!(out[0], 0);
        assert_eq!(out[1], 0);
        assert!((out[2] as i32 + 16).abs() <= 1, "{out:?}");
        assert_eq!(out[3], 0);
        assert!((out[4] as i32 - 48).abs() <= 1, "{out:?}");
        assert_eq!(out[5], 127);
        assert_eq!(out[6], 127);
        assert_eq!(hard_swish_s8(&x, &mut out[..3], &p), Err(Status::Size));
        // an output multiplier above 1 is refused (LiteRT's check)
        assert_eq!(
            hard_swish_s8_prepare(1.0, 0, 1.0 / 1024.0, 0, Rounding::Single),
            Err(Status::Param)
        );
        let bad = HardSwishS8Params {
            output_multiplier_exponent: 1,
            ..p
        };
        let mut o = [5i8; 7];
        assert_eq!(hard_swish_s8(&x, &mut o, &bad), Err(Status::Param));
        assert_eq!(o, [5; 7]);
    }

    #[test]
    fn int16_helpers() {
        assert_eq!(srdhm_i16(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(srdhm_i16(1 << 14, 1 << 14), 1 << 13);
        assert_eq!(srdhm_i16(-1, 1 << 14), 0); // -0.5 -> 0 (ties up)
        assert_eq!(sdhm_i16(-3, 1 << 14), -1); // -1.5 -> -1 (toward zero)
        assert_eq!(rounding_divide_by_pot_i16(5, 1), 3);
        assert_eq!(rounding_divide_by_pot_i16(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot_i16(-32768, 15), -1);
        assert_eq!(rounding_divide_by_pot_i16(123, 0), 123);
        // an exponent of 16 or more: the C++'s int16 mask is -1, so any
        // non-negative x gains 1 (reproduced, not corrected)
        assert_eq!(rounding_divide_by_pot_i16(100, 20), 1);
        assert_eq!(rounding_divide_by_pot_i16(-100, 20), -1);
        assert_eq!(saturating_left_shift_i16(20000, 1), i16::MAX);
        assert_eq!(saturating_left_shift_i16(-20000, 3), i16::MIN);
        assert_eq!(down_scale_to_i16(i32::MAX), i16::MAX);
        assert_eq!(down_scale_to_i16(1 << 30), 1 << 14);
    }
}
