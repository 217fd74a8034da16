//! 2-D pooling, int8: TFLite's MAX_POOL_2D and AVERAGE_POOL_2D as
//! LiteRT's reference `reference_integer_ops::MaxPool` and `AveragePool`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h`)
//! compute them for one input (batch 1).
//!
//! The shape is the float kernel's, [`Pool2d`] (src/layers/pool2d.rs),
//! with TFLite's padding arithmetic (src/layers/window.rs). Padded
//! positions are left out. As for 1-D pooling (src/layers/pool1d_s8.rs),
//! TFLite keeps the input's scale and zero point: no requantization, the
//! values are pooled as they are, then clamped to the fused activation's
//! range ([`PoolS8Params`]).

use super::pool1d_s8::{pooled_s8, PoolS8Params};
use super::pool2d::Pool2d;
use crate::Status;

/// int8 2-D pooling over `height x width x channels` inputs (row-major),
/// writing `out_h x out_w x channels`: for each output position and
/// channel, over the window's positions in range,
/// - max: the largest value (from -128, as the C++ starts);
/// - average: the int32 `sum` over the `count` positions, rounded as the
///   C++ writes it, `sum > 0 ? (sum + count / 2) / count : (sum - count /
///   2) / count` with C's truncating division (halves away from zero);
///
/// then clamped to `act_min..=act_max`.
///
/// Statuses: [`Pool2d::check`]'s (`LayerParam`, `XSize`, `OutSize`),
/// `Param` for a clamp out of range. Nothing is written unless every check
/// passes.
pub fn pool2d_s8(spec: &Pool2d, x: &[i8], out: &mut [i8], p: &PoolS8Params) -> Result<(), Status> {
    let plane = spec.check(x.len(), out.len())?;
    if !(-128 <= p.act_min && p.act_min <= p.act_max && p.act_max <= 127) {
        return Err(Status::Param);
    }
    let c = spec.channels.max(1); // (checked nonzero; for the compiler)
    for (pos, row) in out.chunks_exact_mut(c).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let values = spec.values_at(&plane, x, pos, j).map(i32::from);
            *o = pooled_s8(spec.pool, values, p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::pool1d::{Pool, Pool1d};
    use crate::layers::pool1d_s8::pool1d_s8;
    use crate::layers::pool2d::tests::spec;
    use crate::layers::window::Padding;

    #[test]
    fn hand_checked() {
        // 3x3, one channel, 2x2 windows moved by 2, same
        let x = [1i8, -2, 3, -4, 5, -6, 7, -8, 9];
        let mut out = [0i8; 4];
        let n = PoolS8Params::NONE;
        pool2d_s8(
            &spec(Pool::Max, 3, 3, 1, (2, 2), (2, 2), Padding::Same),
            &x,
            &mut out,
            &n,
        )
        .unwrap();
        assert_eq!(out, [5, 3, 7, 9]);
        // (1-2-4+5)/4 = 0; (3-6)/2 = -1.5 -> -2; (7-8)/2 = -0.5 -> -1; 9
        pool2d_s8(
            &spec(Pool::Average, 3, 3, 1, (2, 2), (2, 2), Padding::Same),
            &x,
            &mut out,
            &n,
        )
        .unwrap();
        assert_eq!(out, [0, -2, -1, 9]);
        // 3x3 valid: 5 / 9 = 0.56 -> 1
        let mut one = [0i8; 1];
        pool2d_s8(
            &spec(Pool::Average, 3, 3, 1, (3, 3), (1, 1), Padding::Valid),
            &x,
            &mut one,
            &n,
        )
        .unwrap();
        assert_eq!(one, [1]);
        let relu = PoolS8Params {
            act_min: 2,
            act_max: 8,
        };
        pool2d_s8(
            &spec(Pool::Average, 3, 3, 1, (2, 2), (2, 2), Padding::Same),
            &x,
            &mut out,
            &relu,
        )
        .unwrap();
        assert_eq!(out, [2, 2, 2, 8]);
    }

    /// Height 1 and pool height 1: the 1-D int8 pooling over the width.
    #[test]
    fn height_one_is_pool1d() {
        let x: Vec<i8> = (0..11 * 3).map(|i| (i * 97 % 256) as u8 as i8).collect();
        for pool in [Pool::Max, Pool::Average] {
            for padding in [Padding::Valid, Padding::Same] {
                for (size, strides) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 1)] {
                    let s2 = spec(pool, 1, 11, 3, (1, size), (1, strides), padding);
                    let s1 = Pool1d {
                        pool,
                        global: false,
                        channels: 3,
                        pool_size: size,
                        strides,
                        padding,
                    };
                    let n = s2.shape(x.len()).unwrap().out.1 * 3;
                    let (mut a, mut b) = (vec![0i8; n], vec![0i8; n]);
                    pool2d_s8(&s2, &x, &mut a, &PoolS8Params::NONE).unwrap();
                    pool1d_s8(&s1, &x, &mut b, &PoolS8Params::NONE).unwrap();
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let s = spec(Pool::Average, 3, 3, 2, (2, 2), (1, 1), Padding::Valid);
        let mut out = [9i8; 8];
        let n = PoolS8Params::NONE;
        assert_eq!(pool2d_s8(&s, &[1; 17], &mut out, &n), Err(Status::XSize));
        assert_eq!(
            pool2d_s8(&s, &[1; 18], &mut out[..7], &n),
            Err(Status::OutSize)
        );
        let mut b = s;
        b.window.padding = Padding::Causal;
        assert_eq!(
            pool2d_s8(&b, &[1; 18], &mut out, &n),
            Err(Status::LayerParam)
        );
        for (lo, hi) in [(-129, 0), (0, 128), (1, 0)] {
            let p = PoolS8Params {
                act_min: lo,
                act_max: hi,
            };
            assert_eq!(pool2d_s8(&s, &[1; 18], &mut out, &p), Err(Status::Param));
        }
        assert_eq!(out, [9; 8]);
    }
}
