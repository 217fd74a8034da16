//! LEAKY_RELU, int8: LiteRT's reference `reference_ops::QuantizeLeakyRelu`
//! (two requantizations).

use super::lut::check_quant;
use crate::math::requant::{quantize_multiplier_for, requantize, Rounding, MIN_SHIFT};
use crate::Status;

/// LEAKY_RELU's prepared parameters (`LeakyReluOpData`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakyReluS8Params {
    /// The input zero point.
    pub input_zero_point: i32,
    /// The output zero point.
    pub output_zero_point: i32,
    /// `input_scale * alpha / output_scale` (negative for a negative
    /// alpha) ...
    pub multiplier_alpha: i32,
    /// ... and its shift.
    pub shift_alpha: i32,
    /// `input_scale / output_scale` ...
    pub multiplier_identity: i32,
    /// ... and its shift.
    pub shift_identity: i32,
    /// Which `MultiplyByQuantizedMultiplier` (LiteRT's LEAKY_RELU: double,
    /// tests/rust/int8_activations.rs).
    pub rounding: Rounding,
}

/// LEAKY_RELU's `Prepare` (`LeakyReluPrepare`): the multipliers
/// `input_scale * alpha / output_scale` and `input_scale / output_scale`,
/// computed in `f32` as the C++ does (float operands, then widened to
/// double) and quantized by `QuantizeMultiplier` (`rounding`'s build).
/// `Status::Param` for a bad scale or zero point, a non-finite alpha or a
/// shift outside the build's range.
pub fn leaky_relu_s8_prepare(
    alpha: f32,
    input_scale: f32,
    input_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    rounding: Rounding,
) -> Result<LeakyReluS8Params, Status> {
    check_quant(input_scale, input_zero_point)?;
    check_quant(output_scale, output_zero_point)?;
    if !alpha.is_finite() {
        return Err(Status::Param);
    }
    let alpha_multiplier = input_scale * alpha / output_scale;
    let identity_multiplier = input_scale / output_scale;
    let (ma, sa) = quantize_multiplier_for(alpha_multiplier as f64, rounding)?;
    let (mi, si) = quantize_multiplier_for(identity_multiplier as f64, rounding)?;
    let p = LeakyReluS8Params {
        input_zero_point,
        output_zero_point,
        multiplier_alpha: ma,
        shift_alpha: sa,
        multiplier_identity: mi,
        shift_identity: si,
        rounding,
    };
    check_leaky(&p)?;
    Ok(p)
}

fn check_leaky(p: &LeakyReluS8Params) -> Result<(), Status> {
    let max_shift = if p.rounding == Rounding::Single {
        30
    } else {
        31
    };
    let ok_shift = |s: i32| (MIN_SHIFT..=max_shift).contains(&s);
    if (-128..=127).contains(&p.input_zero_point)
        && (-128..=127).contains(&p.output_zero_point)
        && ok_shift(p.shift_alpha)
        && ok_shift(p.shift_identity)
        && p.multiplier_identity >= 0
    {
        Ok(())
    } else {
        Err(Status::Param)
    }
}

/// int8 LEAKY_RELU (LiteRT's `reference_ops::QuantizeLeakyRelu<int8_t>`):
/// `d = x - input_zero_point`; `output_zero_point + M(d, identity)` for
/// `d >= 0`, else `output_zero_point ± M(d, |alpha|)` (the sign of alpha's
/// multiplier applied after the requantization, as LiteRT 2.3 does),
/// clamped to int8; `M` is `MultiplyByQuantizedMultiplier` of
/// `p.rounding`'s build. `Status::Size` unless `out` has `x`'s length;
/// `Status::Param` for parameters [`leaky_relu_s8_prepare`] cannot give.
pub fn leaky_relu_s8(x: &[i8], out: &mut [i8], p: &LeakyReluS8Params) -> Result<(), Status> {
    if x.len() != out.len() {
        return Err(Status::Size);
    }
    check_leaky(p)?;
    let negative = p.multiplier_alpha < 0;
    let safe_alpha = p.multiplier_alpha.wrapping_abs();
    for (o, &v) in out.iter_mut().zip(x) {
        let d = v as i32 - p.input_zero_point;
        let mut r = p.output_zero_point;
        if d >= 0 {
            r = r.wrapping_add(requantize(
                d,
                p.multiplier_identity,
                p.shift_identity,
                p.rounding,
            ));
        } else {
            let s = requantize(d, safe_alpha, p.shift_alpha, p.rounding);
            r = r.wrapping_add(if negative { s.wrapping_neg() } else { s });
        }
        *o = r.clamp(-128, 127) as i8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn leaky_relu_by_hand() {
        // same scales, alpha 0.25: identity above the zero point, /4 below
        let p = leaky_relu_s8_prepare(0.25, 0.1, 2, 0.1, -1, Rounding::Single).unwrap();
        let x = [2i8, 12, -6, -128, 127];
        let mut out = [0i8; 5];
        leaky_relu_s8(&x, &mut out, &p).unwrap();
        // d = 0, 10, -8, -130, 125 -> -1 + (0, 10, -2, -32.5 -> -32, 125)
        assert_eq!(out, [-1, 9, -3, -33, 124]);
        // a negative alpha flips the sign after the requantization
        let n = leaky_relu_s8_prepare(-0.25, 0.1, 0, 0.1, 0, Rounding::Single).unwrap();
        assert!(n.multiplier_alpha < 0);
        leaky_relu_s8(&[-8, -10, 4], &mut out[..3], &n).unwrap();
        // -8 * 0.25 = -2 -> 2; -10 * 0.25 = -2.5 -> -2 (single rounding: ties
        // up) -> 2; 4 -> 4
        assert_eq!(out[..3], [2, 2, 4]);
        assert_eq!(leaky_relu_s8(&x, &mut out[..2], &p), Err(Status::Size));
        assert_eq!(
            leaky_relu_s8_prepare(f32::NAN, 0.1, 0, 0.1, 0, Rounding::Single),
            Err(Status::Param)
        );
        let bad = LeakyReluS8Params {
            shift_alpha: 31,
            ..p
        };
        let mut o = [5i8; 5];
        assert_eq!(leaky_relu_s8(&x, &mut o, &bad), Err(Status::Param));
        assert_eq!(o, [5; 5]);
    }
}
