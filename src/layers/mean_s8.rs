//! Global pooling over the steps, int8: TFLite's MEAN over the steps axis
//! (what Keras's `GlobalAveragePooling1D` becomes), as LiteRT's reference
//! `reference_ops::QuantizedMeanOrSum` computes it
//! (`tensorflow/lite/kernels/internal/reference/reduce.h`, called by
//! `kernels/reduce.cc`'s `EvalMean` for int8 with the reference kernels,
//! whether the input's and output's scales differ or not), and REDUCE_MAX
//! over the steps (`GlobalMaxPooling1D`; `EvalType`'s `kMax`).
//!
//! MEAN's multiplier is its Prepare's (`PrepareMeanOrSum`): the *scale
//! ratio* `QuantizeMultiplier((double)input_scale / (double)output_scale)`,
//! without the `1 / steps`, which the kernel folds in itself (as
//! `QuantizedMeanOrSum` does). REDUCE_MAX requires equal scales and zero
//! points (LiteRT refuses others): no requantization.
//!
//! Parity with LiteRT's Python wheel needs [`Rounding::Double`]. E.g. the
//! fixtures' MEAN of 4 steps with equal scales and zero point -118, sum
//! -407: `sum + 118 * 4 = 65`, multiplier `(2^30, -1)`; double rounding's
//! high multiply gives 32.5 -> 33, its shift 16.5 -> 17, so -101 (LiteRT's
//! value); single rounding gives 16.25 -> 16, so -102
//! (tests/rust/int8_fixtures.rs).

use super::dense_s8::shift_ok;
use crate::math::requant::{requantize, Rounding};
use crate::Status;

/// The quantization of an int8 MEAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeanS8Params {
    /// The input's zero point (-128..=127).
    pub input_zero_point: i32,
    /// The output's zero point (-128..=127).
    pub output_zero_point: i32,
    /// `input_scale / output_scale` as
    /// [`crate::math::requant::quantize_multiplier_for`] gives it (not
    /// negative).
    pub multiplier: i32,
    /// See `multiplier`.
    pub shift: i32,
    /// Which `MultiplyByQuantizedMultiplier`.
    pub rounding: Rounding,
}

/// The multiplier and shift `QuantizedMeanOrSum` uses for a mean of
/// `n >= 1` values, from the scale ratio's `(multiplier, shift)`: with
/// `k = min(floor(log2(n)), 32, 31 + shift)` (at least 0),
/// `((multiplier << k) / n, shift - k)` (the division truncating). The
/// division is done 32 bits at a time: a 64-bit one would link the C
/// library's `__udivmoddi4` into the Arm firmwares, whose unwinding table
/// their linker scripts do not place. (`n` below 2^32 keeps `k` under 32.)
pub fn mean_multiplier(multiplier: i32, shift: i32, n: u32) -> (i32, i32) {
    let n = n.max(1);
    let k = (31 - n.leading_zeros() as i32).min(31 + shift).max(0);
    let num = (multiplier.max(0) as u64) << k; // below 2^62
    // long division: the high word by n (32-bit), then one bit at a time
    let (hi, lo) = ((num >> 32) as u32, num as u32);
    let mut q = ((hi / n) as u64) << 32;
    let mut r = (hi % n) as u64;
    for b in (0..32).rev() {
        r = (r << 1) | ((lo >> b) & 1) as u64;
        if r >= n as u64 {
            r -= n as u64;
            q |= 1 << b;
        }
    }
    (q as i32, shift - k)
}

/// int8 MEAN over the steps of `steps x channels` inputs
/// (`x[t * channels + c]`, `channels = out.len()`): for each channel, `sum`
/// (int32, wrapping) of the raw int8 values, then
/// `clamp(MultiplyByQuantizedMultiplier(sum - input_zero_point * steps,
/// m, s) + output_zero_point, -128, 127)` with
/// `(m, s) = mean_multiplier(p.multiplier, p.shift, steps)`
/// ([`mean_multiplier`]).
///
/// Statuses: `OutSize` (no channels), `XSize` (no steps, or not a whole
/// number of steps), `Param` (a zero point out of range, a negative
/// multiplier, a shift `p.rounding` does not take). Nothing is written
/// unless every check passes.
pub fn mean_s8(x: &[i8], out: &mut [i8], p: &MeanS8Params) -> Result<(), Status> {
    let c = out.len();
    if c == 0 {
        return Err(Status::OutSize);
    }
    if x.is_empty() || !x.len().is_multiple_of(c) {
        return Err(Status::XSize);
    }
    if !((-128..=127).contains(&p.input_zero_point)
        && (-128..=127).contains(&p.output_zero_point)
        && p.multiplier >= 0
        && shift_ok(p.shift, p.rounding))
    {
        return Err(Status::Param);
    }
    let steps = u32::try_from(x.len() / c).map_err(|_| Status::XSize)?;
    let (m, s) = mean_multiplier(p.multiplier, p.shift, steps);
    // (C++: int32 - int32 * int64, then cast to int32: wrapping)
    let offset = p.input_zero_point.wrapping_mul(steps as i32);
    for (j, o) in out.iter_mut().enumerate() {
        let sum = x
            .iter()
            .skip(j)
            .step_by(c)
            .fold(0i32, |a, &v| a.wrapping_add(v as i32));
        let v = requantize(sum.wrapping_sub(offset), m, s, p.rounding)
            .wrapping_add(p.output_zero_point);
        *o = v.clamp(-128, 127) as i8;
    }
    Ok(())
}

/// int8 REDUCE_MAX over the steps of `steps x channels` inputs
/// (`channels = out.len()`): each channel's largest value (the scale and
/// zero point are the input's). Statuses as [`mean_s8`]'s sizes. Nothing
/// is written unless the sizes fit.
pub fn reduce_max_s8(x: &[i8], out: &mut [i8]) -> Result<(), Status> {
    let c = out.len();
    if c == 0 {
        return Err(Status::OutSize);
    }
    if x.is_empty() || !x.len().is_multiple_of(c) {
        return Err(Status::XSize);
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = x.iter().skip(j).step_by(c).fold(i8::MIN, |a, &v| a.max(v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::requant::quantize_multiplier_for;

    fn params(ratio: f64, zin: i32, zout: i32, rounding: Rounding) -> MeanS8Params {
        let (multiplier, shift) = quantize_multiplier_for(ratio, rounding).unwrap();
        MeanS8Params {
            input_zero_point: zin,
            output_zero_point: zout,
            multiplier,
            shift,
            rounding,
        }
    }

    #[test]
    fn multiplier_folding() {
        // n = 1: unchanged
        assert_eq!(mean_multiplier(1 << 30, 1, 1), (1 << 30, 1));
        // n = 4: k = 2, (2^30 << 2) / 4 = 2^30, shift - 2
        assert_eq!(mean_multiplier(1 << 30, 1, 4), (1 << 30, -1));
        // n = 3: k = 1, 2^31 / 3 = 715827882
        assert_eq!(mean_multiplier(1 << 30, 0, 3), (715_827_882, -1));
        // k limited by 31 + shift
        assert_eq!(mean_multiplier(1 << 30, -30, 8), (1 << 28, -31));
        // the largest n
        assert_eq!(mean_multiplier(1 << 30, 0, 1 << 31), (1 << 30, -31));
        assert_eq!(mean_multiplier(1 << 30, 1, u32::MAX), (1 << 29, -30));
        let _ = mean_multiplier(i32::MAX, 30, u32::MAX);
        let _ = mean_multiplier(0, -31, 0);
    }

    /// The 32-bit long division against TFLite's formula in 64 bits, on
    /// pseudo-random multipliers and shifts over their ranges.
    #[test]
    fn multiplier_is_the_64_bit_formula() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in (1u32..=300).chain([65_535, 1 << 20, u32::MAX]) {
            for _ in 0..8 {
                let m = (next() as u32 >> 1) as i32;
                let shift = (next() % 63) as i32 - 31;
                let k = (63 - (n as u64).leading_zeros() as i32).min(32).min(31 + shift).max(0);
                let want = ((((m as i64) << k) / n as i64) as i32, shift - k);
                assert_eq!(mean_multiplier(m, shift, n), want, "{m} {shift} {n}");
            }
        }
    }

    #[test]
    fn hand_checked() {
        // equal scales and zero points: the mean rounded (single: ties up)
        let p = params(1.0, 0, 0, Rounding::Single);
        let mut out = [0i8; 2];
        // channel 0: 1 + 2 = 3 -> 1.5 -> 2; channel 1: -1 - 2 = -3 -> -1.5 -> -1
        mean_s8(&[1, -1, 2, -2], &mut out, &p).unwrap();
        assert_eq!(out, [2, -1]);
        // 4 steps, sum -6: -1.5; single rounding: ties up, -1; double
        // rounding's final shift: ties away from zero, -2
        let mut one = [0i8; 1];
        mean_s8(&[-1, -1, -2, -2], &mut one, &p).unwrap();
        assert_eq!(one, [-1]);
        let p = params(1.0, 0, 0, Rounding::Double);
        mean_s8(&[-1, -1, -2, -2], &mut one, &p).unwrap();
        assert_eq!(one, [-2]);
        // zero points: input -10, output 5, ratio 0.5:
        // ((0 + 10) + (20 + 10)) / 2 = 20, * 0.5 = 10, + 5 = 15
        let p = params(0.5, -10, 5, Rounding::Single);
        mean_s8(&[0, 20], &mut one, &p).unwrap();
        assert_eq!(one, [15]);
        // saturation
        let p = params(4.0, 0, 0, Rounding::Single);
        mean_s8(&[100, 100, 100], &mut one, &p).unwrap();
        assert_eq!(one, [127]);
        mean_s8(&[-100], &mut one, &p).unwrap();
        assert_eq!(one, [-128]);
        let mut out = [0i8; 3];
        reduce_max_s8(&[1, -128, 5, 3, -127, -9], &mut out).unwrap();
        assert_eq!(out, [3, -127, 5]);
    }

    /// Against the real-valued mean: within one output step for every
    /// size, zero point and ratio tried (the kernel's multiplier loses
    /// under 2^-30 of the ratio; its rounding is one step).
    #[test]
    fn close_to_the_real_mean() {
        let mut seed = 5u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as i32
        };
        for rounding in [Rounding::Single, Rounding::Double] {
            for steps in 1..=40usize {
                for c in [1usize, 2, 5] {
                    let ratio = 0.05 + (next() % 3000) as f64 / 1000.0;
                    let zin = next() % 256 - 128;
                    let zout = next() % 256 - 128;
                    let p = params(ratio, zin, zout, rounding);
                    let x: Vec<i8> = (0..steps * c).map(|_| next() as i8).collect();
                    let mut out = vec![0i8; c];
                    mean_s8(&x, &mut out, &p).unwrap();
                    for (j, &got) in out.iter().enumerate() {
                        let sum: i64 = x
                            .iter()
                            .skip(j)
                            .step_by(c)
                            .map(|&v| v as i64 - zin as i64)
                            .sum();
                        let want =
                            (sum as f64 / steps as f64 * ratio + zout as f64).clamp(-128.0, 127.0);
                        assert!(
                            (got as f64 - want).abs() <= 1.0,
                            "{steps} {c} {ratio} {got}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let p = params(1.0, 0, 0, Rounding::Single);
        let mut out = [9i8; 2];
        assert_eq!(mean_s8(&[], &mut out, &p), Err(Status::XSize));
        assert_eq!(mean_s8(&[1, 2, 3], &mut out, &p), Err(Status::XSize));
        assert_eq!(mean_s8(&[1, 2], &mut [], &p), Err(Status::OutSize));
        for bad in [
            MeanS8Params {
                input_zero_point: 128,
                ..p
            },
            MeanS8Params {
                output_zero_point: -129,
                ..p
            },
            MeanS8Params {
                multiplier: -1,
                ..p
            },
            MeanS8Params { shift: 31, ..p },
            MeanS8Params { shift: -32, ..p },
        ] {
            assert_eq!(mean_s8(&[1, 2], &mut out, &bad), Err(Status::Param));
        }
        assert_eq!(reduce_max_s8(&[], &mut out), Err(Status::XSize));
        assert_eq!(reduce_max_s8(&[1, 2, 3], &mut out), Err(Status::XSize));
        assert_eq!(reduce_max_s8(&[1], &mut []), Err(Status::OutSize));
        assert_eq!(out, [9; 2]);
    }
}
