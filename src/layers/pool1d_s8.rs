//! 1-D pooling, int8: TFLite's MAX_POOL_2D and AVERAGE_POOL_2D with
//! height 1 (what Keras's `MaxPooling1D` and `AveragePooling1D` become), as
//! LiteRT's reference `reference_integer_ops::MaxPool` and `AveragePool`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h`)
//! compute them for one input (batch 1, height 1).
//!
//! The shape is the float kernel's, [`Pool1d`] (src/layers/pool1d.rs), with
//! TFLite's padding arithmetic (src/layers/window.rs; `global` pools over
//! all steps at once). Padded positions are left out: a max over the
//! window's steps in range, an average over those steps only.
//!
//! TFLite's int8 pooling keeps the input's scale and zero point (its
//! Prepare checks that the output's are the same): no requantization, the
//! values are pooled as they are, then clamped to the fused activation's
//! range.

use super::pool1d::{Pool, Pool1d};
use crate::Status;

/// The fused activation's clamp, in output steps (`-128..=127` for none;
/// LiteRT's `CalculateActivationRangeQuantized` for RELU and the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolS8Params {
    /// `-128 <= act_min <= act_max <= 127`.
    pub act_min: i32,
    /// See `act_min`.
    pub act_max: i32,
}

impl PoolS8Params {
    /// No fused activation.
    pub const NONE: PoolS8Params = PoolS8Params {
        act_min: -128,
        act_max: 127,
    };
}

/// int8 1-D pooling over `steps x channels` inputs (`x[t * channels + c]`),
/// writing `out_steps x channels`: for each output step and channel, over
/// the window's steps in range,
/// - max: the largest value (from -128, as the C++ starts);
/// - average: `sum` (int32) rounded to the nearest over `count`, halves away
///   from zero, as the C++ writes it: `sum > 0 ? (sum + count / 2) / count :
///   (sum - count / 2) / count` with C's truncating division;
///
/// then clamped to `act_min..=act_max`.
///
/// Statuses: [`Pool1d::check`]'s (`LayerParam`, `XSize`, `OutSize`),
/// `Param` for a clamp out of range. Nothing is written unless every check
/// passes.
pub fn pool1d_s8(spec: &Pool1d, x: &[i8], out: &mut [i8], p: &PoolS8Params) -> Result<(), Status> {
    let (steps, _, pad, window) = spec.check(x.len(), out.len())?;
    if !(-128 <= p.act_min && p.act_min <= p.act_max && p.act_max <= 127) {
        return Err(Status::Param);
    }
    let c = spec.channels;
    if c == 0 {
        return Err(Status::LayerParam); // (refused by check; for the compiler)
    }
    let strides = if spec.global { 1 } else { spec.strides };
    for (t, row) in out.chunks_exact_mut(c).enumerate() {
        // window of padded positions at..at + window; input steps s0..s1
        let at = t.saturating_mul(strides);
        let s0 = at.saturating_sub(pad).min(steps);
        let s1 = at.saturating_add(window).saturating_sub(pad).min(steps);
        let rows = x.get(s0 * c..s1 * c).unwrap_or(&[]);
        for (j, o) in row.iter_mut().enumerate() {
            let values = rows.iter().skip(j).step_by(c).map(|&v| v as i32);
            *o = pooled_s8(spec.pool, values, p);
        }
    }
    Ok(())
}

/// One int8 pooled output from the window's values in range (as
/// [`pool1d_s8`] describes: the max from -128, or the average rounded as
/// the C++ writes it), clamped to `p`'s range.
pub(crate) fn pooled_s8(pool: Pool, values: impl Iterator<Item = i32>, p: &PoolS8Params) -> i8 {
    let v = match pool {
        Pool::Max => values.fold(-128, i32::max),
        Pool::Average => {
            let (sum, count) = values.fold((0i32, 0i32), |(s, n), v| {
                (s.wrapping_add(v), n.wrapping_add(1))
            });
            // at least 1 for every window the padding rules give (a
            // `same` window always overlaps the input); 1 keeps the
            // division defined
            let count = count.max(1);
            if sum > 0 {
                (sum + count / 2) / count
            } else {
                (sum - count / 2) / count
            }
        }
    };
    v.max(p.act_min).min(p.act_max) as i8 // (not clamp: no assertion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::window::Padding;

    fn spec(pool: Pool, channels: usize, size: usize, strides: usize, padding: Padding) -> Pool1d {
        Pool1d {
            pool,
            global: false,
            channels,
            pool_size: size,
            strides,
            padding,
        }
    }

    #[test]
    fn hand_checked() {
        let x = [1i8, -3, 4, -7, 2]; // 5 steps, 1 channel
        let mut out = [0i8; 2];
        pool1d_s8(
            &spec(Pool::Max, 1, 2, 2, Padding::Valid),
            &x,
            &mut out,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(out, [1, 4]);
        // average, valid: (1 - 3) / 2 = -1 exactly; (4 - 7) / 2 = -1.5 -> -2
        pool1d_s8(
            &spec(Pool::Average, 1, 2, 2, Padding::Valid),
            &x,
            &mut out,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(out, [-1, -2]);
        // same, size 2, strides 2: 3 windows, the last one holds step 4
        // only (count 1): 2
        let mut out = [0i8; 3];
        pool1d_s8(
            &spec(Pool::Average, 1, 2, 2, Padding::Same),
            &x,
            &mut out,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(out, [-1, -2, 2]);
        // same, size 3, strides 1: pad 1 before; the first window holds
        // steps 0, 1: (1 - 3) / 2 = -1; then (1-3+4)/3 = 0.67 -> 1,
        // (-3+4-7)/3 = -2, (4-7+2)/3 = -0.33 -> 0, (-7+2)/2 = -2.5 -> -3
        let mut out = [0i8; 5];
        pool1d_s8(
            &spec(Pool::Average, 1, 3, 1, Padding::Same),
            &x,
            &mut out,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(out, [-1, 1, -2, 0, -3]);
        pool1d_s8(
            &spec(Pool::Max, 1, 3, 1, Padding::Same),
            &x,
            &mut out,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(out, [1, 4, 4, 4, 2]);
        // the clamp (a RELU at zero point -2)
        let relu = PoolS8Params {
            act_min: -2,
            act_max: 127,
        };
        pool1d_s8(
            &spec(Pool::Average, 1, 3, 1, Padding::Same),
            &x,
            &mut out,
            &relu,
        )
        .unwrap();
        assert_eq!(out, [-1, 1, -2, 0, -2]);
        // one step, one channel
        let mut one = [0i8; 1];
        pool1d_s8(
            &spec(Pool::Average, 1, 4, 3, Padding::Same),
            &[-128],
            &mut one,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(one, [-128]);
        // global, two channels
        let g = Pool1d {
            global: true,
            ..spec(Pool::Average, 2, 0, 0, Padding::Valid)
        };
        let mut two = [0i8; 2];
        pool1d_s8(
            &g,
            &[127, -128, 126, -127, 127, -128],
            &mut two,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(two, [127, -128]); // 126.67 -> 127, -127.67 -> -128
        let g = Pool1d {
            pool: Pool::Max,
            ..g
        };
        pool1d_s8(
            &g,
            &[1, -128, 126, -127, 127, -128],
            &mut two,
            &PoolS8Params::NONE,
        )
        .unwrap();
        assert_eq!(two, [127, -127]);
    }

    /// The kernel against the float pooling (src/layers/pool1d.rs) on
    /// the same values: the max is the same; the average is the float
    /// mean rounded half away from zero.
    #[test]
    fn matches_the_float_pooling() {
        let mut seed = 11u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as i32
        };
        let mut runs = 0;
        for pool in [Pool::Max, Pool::Average] {
            for padding in [Padding::Valid, Padding::Same] {
                for global in [false, true] {
                    for c in 1..=3 {
                        for size in 1..=4 {
                            for strides in 1..=3 {
                                for steps in 1..=8 {
                                    let sp = Pool1d {
                                        global,
                                        ..spec(pool, c, size, strides, padding)
                                    };
                                    let x: Vec<i8> = (0..steps * c).map(|_| next() as i8).collect();
                                    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                                    let Ok((_, n, _, _)) = sp.shape(x.len()) else {
                                        continue;
                                    };
                                    let mut want = vec![0f32; n * c];
                                    crate::layers::pool1d::pool1d_f32(&sp, &xf, &mut want).unwrap();
                                    let mut got = vec![0i8; n * c];
                                    pool1d_s8(&sp, &x, &mut got, &PoolS8Params::NONE).unwrap();
                                    for (g, w) in got.iter().zip(&want) {
                                        // f32 sums of 8 int8s are exact; the mean's
                                        // halves are exact too
                                        assert_eq!(*g as f32, libm::roundf(*w), "{sp:?} {x:?}");
                                    }
                                    runs += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(runs > 500);
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let sp = spec(Pool::Max, 2, 2, 1, Padding::Valid);
        let mut out = [9i8; 4];
        let n = PoolS8Params::NONE;
        assert_eq!(pool1d_s8(&sp, &[], &mut out, &n), Err(Status::XSize));
        assert_eq!(pool1d_s8(&sp, &[1; 5], &mut out, &n), Err(Status::XSize));
        assert_eq!(pool1d_s8(&sp, &[1; 2], &mut out, &n), Err(Status::XSize));
        assert_eq!(
            pool1d_s8(&sp, &[1; 6], &mut out[..3], &n),
            Err(Status::OutSize)
        );
        for bad in [
            spec(Pool::Max, 0, 2, 1, Padding::Valid),
            spec(Pool::Max, 2, 0, 1, Padding::Valid),
            spec(Pool::Max, 2, 2, 0, Padding::Valid),
            spec(Pool::Max, 2, 2, 1, Padding::Causal),
        ] {
            assert_eq!(
                pool1d_s8(&bad, &[1; 6], &mut out, &n),
                Err(Status::LayerParam)
            );
        }
        for (lo, hi) in [(-129, 0), (0, 128), (1, 0)] {
            let p = PoolS8Params {
                act_min: lo,
                act_max: hi,
            };
            assert_eq!(pool1d_s8(&sp, &[1; 6], &mut out, &p), Err(Status::Param));
        }
        assert_eq!(out, [9; 4]);
    }
}
