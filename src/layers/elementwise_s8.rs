//! Element-wise ADD and MUL, int8: LiteRT's reference `AddFunc` and
//! `MulElementwise` (`tensorflow/lite/kernels/internal/reference/integer_ops/
//! add.h`, `mul.h`; `BroadcastAdd6DSlow` and `BroadcastMul6DSlow` compute
//! the same function per element), with the broadcasting a Keras model
//! gives them: the residual `Add` of two branches (same shapes), and an
//! unfolded BatchNormalization (MUL by a constant per-channel vector, then
//! ADD of one).
//!
//! Broadcasting: an input of `n` values is read cyclically (`a[i % n]`),
//! which is numpy's broadcasting when the smaller shape is a suffix of the
//! output's (a `[channels]` vector against `steps x channels`, a scalar);
//! at least one input has the output's length.
//!
//! The multipliers are their Prepare's (`kernels/add.cc`, `mul.cc`):
//! - ADD (int8): `left_shift = 20`, `twice_max = 2 * max(s1, s2)` (in
//!   float), input `k`'s multiplier `s_k / twice_max`, the output's
//!   `twice_max / (2^20 * s_out)`, each by `QuantizeMultiplierSmallerThanOneExp`
//!   (so every shift is `<= 0`);
//! - MUL: one multiplier, `QuantizeMultiplier(s1 * s2 / s_out)` with the
//!   product and quotient in *float* (`input1->params.scale *
//!   input2->params.scale / output->params.scale`, then widened).
//!
//! Parity with LiteRT's Python wheel needs [`Rounding::Double`] (its MUL
//! differs from single rounding on the fixtures: tests/rust/int8_fixtures.rs).

use super::dense_s8::shift_ok;
use crate::math::requant::{requantize, Rounding};
use crate::Status;

/// ADD's `left_shift` for int8 (LiteRT's `data->left_shift = 20`).
pub const ADD_LEFT_SHIFT: u32 = 20;

/// The quantization of an int8 ADD, in TFLite's terms
/// (`ArithmeticParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddS8Params {
    /// `-input1_zero_point` (-127..=128).
    pub input1_offset: i32,
    /// `-input2_zero_point` (-127..=128).
    pub input2_offset: i32,
    /// `output_zero_point` (-128..=127).
    pub output_offset: i32,
    /// Input 1's multiplier and shift (`shift` in -31..=0).
    pub input1_multiplier: i32,
    /// See `input1_multiplier`.
    pub input1_shift: i32,
    /// Input 2's, as input 1's.
    pub input2_multiplier: i32,
    /// See `input2_multiplier`.
    pub input2_shift: i32,
    /// The output's, as input 1's.
    pub output_multiplier: i32,
    /// See `output_multiplier`.
    pub output_shift: i32,
    /// The fused activation's clamp, `-128 <= act_min <= act_max <= 127`.
    pub act_min: i32,
    /// See `act_min`.
    pub act_max: i32,
    /// Which `MultiplyByQuantizedMultiplier` (for shifts `<= 0` the
    /// double-rounding build's `MultiplyByQuantizedMultiplierSmallerThanOneExp`
    /// is its `MultiplyByQuantizedMultiplier`).
    pub rounding: Rounding,
}

/// The quantization of an int8 MUL (`ArithmeticParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulS8Params {
    /// `-input1_zero_point` (-127..=128).
    pub input1_offset: i32,
    /// `-input2_zero_point` (-127..=128).
    pub input2_offset: i32,
    /// `output_zero_point` (-128..=127).
    pub output_offset: i32,
    /// `s1 * s2 / s_out` (float) as `QuantizeMultiplier` gives it.
    pub multiplier: i32,
    /// See `multiplier`; a shift `rounding` takes.
    pub shift: i32,
    /// The fused activation's clamp, `-128 <= act_min <= act_max <= 127`.
    pub act_min: i32,
    /// See `act_min`.
    pub act_max: i32,
    /// Which `MultiplyByQuantizedMultiplier`.
    pub rounding: Rounding,
}

/// The broadcasting checks: `OutSize` for no outputs or neither input of
/// the output's length, `XSize` for an empty input or one whose length
/// does not divide the output's.
fn check_shapes(a: usize, b: usize, n: usize) -> Result<(), Status> {
    if n == 0 {
        return Err(Status::OutSize);
    }
    if a == 0 || b == 0 || !n.is_multiple_of(a) || !n.is_multiple_of(b) {
        return Err(Status::XSize);
    }
    if a != n && b != n {
        return Err(Status::OutSize);
    }
    Ok(())
}

fn offsets_ok(in1: i32, in2: i32, out: i32, act_min: i32, act_max: i32) -> bool {
    (-127..=128).contains(&in1)
        && (-127..=128).contains(&in2)
        && (-128..=127).contains(&out)
        && -128 <= act_min
        && act_min <= act_max
        && act_max <= 127
}

/// int8 ADD: `out[i] = AddFunc(a[i % a.len()], b[i % b.len()])`, where
/// `AddFunc(x, y)` is, in int32,
/// `x' = MBQM((x + input1_offset) << 20, m1, s1)`,
/// `y' = MBQM((y + input2_offset) << 20, m2, s2)`,
/// `clamp(MBQM(x' + y', m_out, s_out) + output_offset, act_min, act_max)`
/// (`MBQM`: `p.rounding`'s `MultiplyByQuantizedMultiplier`).
///
/// Statuses: [`check_shapes`]'s, `Param` (offsets, clamp, a shift outside
/// -31..=0). Nothing is written unless every check passes.
pub fn add_s8(a: &[i8], b: &[i8], out: &mut [i8], p: &AddS8Params) -> Result<(), Status> {
    check_shapes(a.len(), b.len(), out.len())?;
    let shift_le0 = |s: i32| s <= 0 && shift_ok(s, p.rounding);
    if !(offsets_ok(
        p.input1_offset,
        p.input2_offset,
        p.output_offset,
        p.act_min,
        p.act_max,
    ) && shift_le0(p.input1_shift)
        && shift_le0(p.input2_shift)
        && shift_le0(p.output_shift))
    {
        return Err(Status::Param);
    }
    let scale = 1i32 << ADD_LEFT_SHIFT;
    for (o, (&x, &y)) in out.iter_mut().zip(a.iter().cycle().zip(b.iter().cycle())) {
        let x1 = (x as i32 + p.input1_offset).wrapping_mul(scale);
        let y1 = (y as i32 + p.input2_offset).wrapping_mul(scale);
        let x2 = requantize(x1, p.input1_multiplier, p.input1_shift, p.rounding);
        let y2 = requantize(y1, p.input2_multiplier, p.input2_shift, p.rounding);
        let v = requantize(
            x2.wrapping_add(y2),
            p.output_multiplier,
            p.output_shift,
            p.rounding,
        )
        .wrapping_add(p.output_offset);
        *o = v.max(p.act_min).min(p.act_max) as i8; // (not clamp: no assertion)
    }
    Ok(())
}

/// int8 MUL: `out[i] = clamp(MBQM((a[i % a.len()] + input1_offset) *
/// (b[i % b.len()] + input2_offset), m, shift) + output_offset, act_min,
/// act_max)` (int32).
///
/// Statuses: [`check_shapes`]'s, `Param` (offsets, clamp, a shift
/// `p.rounding` does not take). Nothing is written unless every check
/// passes.
pub fn mul_s8(a: &[i8], b: &[i8], out: &mut [i8], p: &MulS8Params) -> Result<(), Status> {
    check_shapes(a.len(), b.len(), out.len())?;
    if !(offsets_ok(
        p.input1_offset,
        p.input2_offset,
        p.output_offset,
        p.act_min,
        p.act_max,
    ) && shift_ok(p.shift, p.rounding))
    {
        return Err(Status::Param);
    }
    for (o, (&x, &y)) in out.iter_mut().zip(a.iter().cycle().zip(b.iter().cycle())) {
        let prod = (x as i32 + p.input1_offset) * (y as i32 + p.input2_offset);
        let v = requantize(prod, p.multiplier, p.shift, p.rounding).wrapping_add(p.output_offset);
        *o = v.max(p.act_min).min(p.act_max) as i8; // (not clamp: no assertion)
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::requant::quantize_multiplier_for;

    /// ADD's parameters as LiteRT's Prepare computes them.
    fn add_params(
        s1: f32,
        z1: i32,
        s2: f32,
        z2: i32,
        so: f32,
        zo: i32,
        r: Rounding,
    ) -> AddS8Params {
        let twice = (2.0 * s1.max(s2)) as f64;
        let q = |v: f64| quantize_multiplier_for(v, r).unwrap();
        let (m1, sh1) = q(s1 as f64 / twice);
        let (m2, sh2) = q(s2 as f64 / twice);
        let (mo, sho) = q(twice / (((1 << ADD_LEFT_SHIFT) as f32 * so) as f64));
        AddS8Params {
            input1_offset: -z1,
            input2_offset: -z2,
            output_offset: zo,
            input1_multiplier: m1,
            input1_shift: sh1,
            input2_multiplier: m2,
            input2_shift: sh2,
            output_multiplier: mo,
            output_shift: sho,
            act_min: -128,
            act_max: 127,
            rounding: r,
        }
    }

    fn mul_params(
        s1: f32,
        z1: i32,
        s2: f32,
        z2: i32,
        so: f32,
        zo: i32,
        r: Rounding,
    ) -> MulS8Params {
        let (m, s) = quantize_multiplier_for((s1 * s2 / so) as f64, r).unwrap();
        MulS8Params {
            input1_offset: -z1,
            input2_offset: -z2,
            output_offset: zo,
            multiplier: m,
            shift: s,
            act_min: -128,
            act_max: 127,
            rounding: r,
        }
    }

    #[test]
    fn hand_checked() {
        // equal scales, zero points 0: the plain sum, saturating
        let p = add_params(0.5, 0, 0.5, 0, 0.5, 0, Rounding::Single);
        let mut out = [0i8; 4];
        add_s8(&[1, -2, 100, -100], &[3, 4, 100, -100], &mut out, &p).unwrap();
        assert_eq!(out, [4, 2, 127, -128]);
        // output scale doubled: (1 + 3) / 2 = 2, (-2 + 4) / 2 = 1, 3 / 2 -> 2
        let p = add_params(0.5, 0, 0.5, 0, 1.0, 0, Rounding::Single);
        add_s8(&[1, -2, 1, -1], &[3, 4, 2, -2], &mut out, &p).unwrap();
        assert_eq!(out, [2, 1, 2, -1]); // -1.5 -> -1 (single: ties up)
        let p = add_params(0.5, 0, 0.5, 0, 1.0, 0, Rounding::Double);
        add_s8(&[1, -2, 1, -1], &[3, 4, 2, -2], &mut out, &p).unwrap();
        assert_eq!(out, [2, 1, 2, -2]); // -1.5 -> -2 (away from zero)
                                        // broadcasting a per-channel vector over 2 steps x 2 channels,
                                        // zero points: real a = (q - 1) * 0.5, real b = (q + 2) * 0.25
        let p = add_params(0.5, 1, 0.25, -2, 0.5, -3, Rounding::Single);
        add_s8(&[1, 3, 5, 7], &[2, -2], &mut out, &p).unwrap();
        // reals: a = [0, 1, 2, 3], b = [1, 0] -> [1, 1, 3, 3] / 0.5 - 3
        assert_eq!(out, [-1, -1, 3, 3]);
        // the same with the vector first
        add_s8(
            &[2, -2],
            &[1, 3, 5, 7],
            &mut out,
            &add_params(0.25, -2, 0.5, 1, 0.5, -3, Rounding::Single),
        )
        .unwrap();
        assert_eq!(out, [-1, -1, 3, 3]);
        // a RELU clamp at the output zero point
        let relu = AddS8Params { act_min: -3, ..p };
        add_s8(&[-7, 1], &[-2], &mut out[..2], &relu).unwrap();
        assert_eq!(out[..2], [-3, -3]); // reals -4, 0: -8 - 3, 0 - 3, clamped at -3

        // one element
        let mut one = [0i8; 1];
        add_s8(
            &[-128],
            &[127],
            &mut one,
            &add_params(0.5, 0, 0.5, 0, 0.5, 0, Rounding::Double),
        )
        .unwrap();
        assert_eq!(one, [-1]);
        mul_s8(
            &[-128],
            &[-128],
            &mut one,
            &mul_params(1.0, 0, 1.0, 0, 1.0, 0, Rounding::Double),
        )
        .unwrap();
        assert_eq!(one, [127]);

        // MUL: reals a = q * 0.5, b = q * 0.25, out scale 0.125: q_a * q_b
        let p = mul_params(0.5, 0, 0.25, 0, 0.125, 0, Rounding::Single);
        mul_s8(&[1, -2, 3, 20], &[3, 4, -5, 20], &mut out, &p).unwrap();
        assert_eq!(out, [3, -8, -15, 127]);
        // per-channel vector, zero points
        let p = mul_params(0.5, 1, 0.25, -2, 0.125, 4, Rounding::Single);
        mul_s8(&[1, 3, 5, 7], &[2, -2], &mut out, &p).unwrap();
        // (q1 - 1) * (q2 + 2): [0 * 4, 2 * 0, 4 * 4, 6 * 0] + 4
        assert_eq!(out, [4, 4, 20, 4]);
    }

    /// Against the real-valued result, over random scales, zero points,
    /// values and broadcasts: within one output step.
    #[test]
    fn close_to_the_real_values() {
        let mut seed = 3u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as i32
        };
        for k in 0..400 {
            let r = if k % 2 == 0 {
                Rounding::Single
            } else {
                Rounding::Double
            };
            let sc = |v: i32| 0.001 + (v % 1000) as f32 / 5000.0;
            let (s1, s2) = (sc(next()), sc(next()));
            let (z1, z2, zo) = (next() % 256 - 128, next() % 256 - 128, next() % 256 - 128);
            let n = 6;
            let m = [6usize, 3, 2, 1][k % 4];
            let a: Vec<i8> = (0..n).map(|_| next() as i8).collect();
            let b: Vec<i8> = (0..m).map(|_| next() as i8).collect();
            let real = |i: usize, f: &dyn Fn(f64, f64) -> f64| {
                f(
                    (a[i] as i32 - z1) as f64 * s1 as f64,
                    (b[i % m] as i32 - z2) as f64 * s2 as f64,
                )
            };
            let mut out = vec![0i8; n];
            // ADD
            let so = sc(next()) * 2.0;
            add_s8(&a, &b, &mut out, &add_params(s1, z1, s2, z2, so, zo, r)).unwrap();
            for (i, &got) in out.iter().enumerate() {
                let want = (real(i, &|x, y| x + y) / so as f64 + zo as f64).clamp(-128.0, 127.0);
                assert!((got as f64 - want).abs() <= 1.0, "add {k} {i}");
            }
            // MUL
            let so = s1 * s2 * (1 + next() % 200) as f32;
            mul_s8(&a, &b, &mut out, &mul_params(s1, z1, s2, z2, so, zo, r)).unwrap();
            for (i, &got) in out.iter().enumerate() {
                let want = (real(i, &|x, y| x * y) / so as f64 + zo as f64).clamp(-128.0, 127.0);
                assert!((got as f64 - want).abs() <= 1.0, "mul {k} {i}");
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let p = add_params(0.5, 0, 0.5, 0, 0.5, 0, Rounding::Single);
        let q = mul_params(0.5, 0, 0.5, 0, 0.5, 0, Rounding::Single);
        let mut out = [9i8; 4];
        for (a, b, n, want) in [
            (4usize, 4usize, 0usize, Status::OutSize),
            (0, 4, 4, Status::XSize),
            (4, 0, 4, Status::XSize),
            (3, 4, 4, Status::XSize),
            (4, 3, 4, Status::XSize),
            (2, 2, 4, Status::OutSize),
            (4, 4, 2, Status::XSize),
        ] {
            let (x, y) = ([1i8; 4], [1i8; 4]);
            assert_eq!(add_s8(&x[..a], &y[..b], &mut out[..n], &p), Err(want));
            assert_eq!(mul_s8(&x[..a], &y[..b], &mut out[..n], &q), Err(want));
        }
        for bad in [
            AddS8Params {
                input1_offset: 129,
                ..p
            },
            AddS8Params {
                input2_offset: -128,
                ..p
            },
            AddS8Params {
                output_offset: 128,
                ..p
            },
            AddS8Params {
                input1_shift: 1,
                ..p
            },
            AddS8Params {
                input2_shift: -32,
                ..p
            },
            AddS8Params {
                output_shift: 1,
                ..p
            },
            AddS8Params {
                act_min: 5,
                act_max: 4,
                ..p
            },
        ] {
            assert_eq!(add_s8(&[1; 4], &[1; 4], &mut out, &bad), Err(Status::Param));
        }
        for bad in [
            MulS8Params {
                input1_offset: 129,
                ..q
            },
            MulS8Params { shift: 31, ..q },
            MulS8Params { act_max: 128, ..q },
        ] {
            assert_eq!(mul_s8(&[1; 4], &[1; 4], &mut out, &bad), Err(Status::Param));
        }
        assert_eq!(out, [9; 4]);
    }
}
