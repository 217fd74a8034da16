//! PRELU, int8: LiteRT's reference `reference_ops::Prelu` /
//! `BroadcastPrelu4DSlow` (two requantizations, the second of the product
//! of the input and the int8 alpha).

use super::lut::check_quant;
use crate::math::requant::{quantize_multiplier_for, requantize, Rounding, MIN_SHIFT};
use crate::Status;

/// PRELU's prepared parameters (`PreluOpData`, `PreluParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreluS8Params {
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `-alpha_zero_point`.
    pub alpha_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// `input_scale / output_scale` ...
    pub multiplier_1: i32,
    /// ... and its shift.
    pub shift_1: i32,
    /// `input_scale * alpha_scale / output_scale` ...
    pub multiplier_2: i32,
    /// ... and its shift.
    pub shift_2: i32,
    /// Which `MultiplyByQuantizedMultiplier` (LiteRT's PRELU: double,
    /// tests/rust/int8_activations.rs).
    pub rounding: Rounding,
}

/// PRELU's `Prepare` (`PreluPrepare`): `input_scale / output_scale` and
/// `input_scale * alpha_scale / output_scale`, computed in `f32` as the
/// C++ does (float operands, then widened to double) and quantized by
/// `QuantizeMultiplier` (`rounding`'s build). `Status::Param` for a scale
/// that is not finite and positive, a zero point outside -128..=127 or a
/// shift outside the build's range.
pub fn prelu_s8_prepare(
    input_scale: f32,
    input_zero_point: i32,
    alpha_scale: f32,
    alpha_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    rounding: Rounding,
) -> Result<PreluS8Params, Status> {
    check_quant(input_scale, input_zero_point)?;
    check_quant(alpha_scale, alpha_zero_point)?;
    check_quant(output_scale, output_zero_point)?;
    let (m1, s1) = quantize_multiplier_for((input_scale / output_scale) as f64, rounding)?;
    let (m2, s2) =
        quantize_multiplier_for((input_scale * alpha_scale / output_scale) as f64, rounding)?;
    let p = PreluS8Params {
        input_offset: -input_zero_point,
        alpha_offset: -alpha_zero_point,
        output_offset: output_zero_point,
        multiplier_1: m1,
        shift_1: s1,
        multiplier_2: m2,
        shift_2: s2,
        rounding,
    };
    check_prelu(&p)?;
    Ok(p)
}

fn check_prelu(p: &PreluS8Params) -> Result<(), Status> {
    let max_shift = if p.rounding == Rounding::Single {
        30
    } else {
        31
    };
    let ok_shift = |s: i32| (MIN_SHIFT..=max_shift).contains(&s);
    if (-127..=128).contains(&p.input_offset)
        && (-127..=128).contains(&p.alpha_offset)
        && (-128..=127).contains(&p.output_offset)
        && ok_shift(p.shift_1)
        && ok_shift(p.shift_2)
        && p.multiplier_1 >= 0
        && p.multiplier_2 >= 0
    {
        Ok(())
    } else {
        Err(Status::Param)
    }
}

/// int8 PRELU (LiteRT's `reference_ops::Prelu<int8_t, int8_t>`, and
/// `BroadcastPrelu4DSlow` for an alpha repeated along the leading axes):
/// `d = x + input_offset`; `M(d, multiplier_1)` for `d >= 0`, else
/// `M(d * (alpha + alpha_offset), multiplier_2)`; plus the output zero
/// point, clamped to int8. `alpha` holds one value per element of the
/// last axes and repeats over `x` (`x.len()` a multiple of `alpha.len()`:
/// Keras's per-unit or per-channel alpha; other broadcasts are not
/// supported). `M` is `MultiplyByQuantizedMultiplier` of `p.rounding`'s
/// build. `Status::Size` unless `alpha` is not empty, divides `x`'s length
/// and `out` has `x`'s length; `Status::Param` for parameters
/// [`prelu_s8_prepare`] cannot give.
pub fn prelu_s8(x: &[i8], alpha: &[i8], out: &mut [i8], p: &PreluS8Params) -> Result<(), Status> {
    if alpha.is_empty() || !x.len().is_multiple_of(alpha.len()) || out.len() != x.len() {
        return Err(Status::Size);
    }
    check_prelu(p)?;
    for (xs, os) in x
        .chunks_exact(alpha.len())
        .zip(out.chunks_exact_mut(alpha.len()))
    {
        for ((o, &v), &a) in os.iter_mut().zip(xs).zip(alpha) {
            let d = p.input_offset + v as i32;
            let r = if d >= 0 {
                requantize(d, p.multiplier_1, p.shift_1, p.rounding)
            } else {
                let alpha_value = p.alpha_offset + a as i32;
                requantize(d * alpha_value, p.multiplier_2, p.shift_2, p.rounding)
            };
            *o = r.wrapping_add(p.output_offset).clamp(-128, 127) as i8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prelu_by_hand() {
        // scales 0.1 in and out, alpha scale 1/64 with zero point 0:
        // alpha 16 = 0.25, -32 = -0.5
        let p = prelu_s8_prepare(0.1, 0, 1.0 / 64.0, 0, 0.1, 0, Rounding::Double).unwrap();
        let alpha = [16i8, -32];
        let x = [10i8, -10, -8, -8, 127, -128];
        let mut out = [0i8; 6];
        prelu_s8(&x, &alpha, &mut out, &p).unwrap();
        // 10 -> 10; -8 * 0.25 = -2 (x[2], alpha 16); -8 * -0.5 = 4 (x[3]);
        // -10 * -0.5 = 5; 127 -> 127; -128 * -0.5 = 64
        assert_eq!(out, [10, 5, -2, 4, 127, 64]);
        assert_eq!(prelu_s8(&x, &[1, 2, 3, 4], &mut out, &p), Err(Status::Size));
        assert_eq!(prelu_s8(&x, &[], &mut out, &p), Err(Status::Size));
        assert_eq!(prelu_s8(&x, &alpha, &mut out[..5], &p), Err(Status::Size));
        let bad = PreluS8Params { shift_2: 32, ..p };
        let mut o = [7i8; 6];
        assert_eq!(prelu_s8(&x, &alpha, &mut o, &bad), Err(Status::Param));
        assert_eq!(o, [7; 6]);
        assert_eq!(
            prelu_s8_prepare(0.1, 0, 0.0, 0, 0.1, 0, Rounding::Double),
            Err(Status::Param)
        );
    }
}
