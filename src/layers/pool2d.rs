//! 2-D pooling, float32, Keras semantics (`channels_last`):
//! `MaxPooling2D` and `AveragePooling2D`, the reference forward pass and
//! the backward pass.
//!
//! Layouts as src/layers/conv2d.rs (`height x width x channels`
//! row-major in, `out_h x out_w x channels` out). Padding (`valid`,
//! `same`) per axis as src/layers/window.rs's [`Window2d`] gives it, with
//! `kernel_size` the pool size and dilation `(1, 1)`; padded positions are
//! left out: a max over the window's positions in range, an average over
//! those positions only (TensorFlow's `avg_pool` with `SAME`).

use super::pool1d::Pool;
use super::window::{Plane, Window2d};
use crate::Status;
use super::kind::{plane_units, unweighted, LayerKind, Weights};
use crate::activation::Activation;
use super::kind::param;
use super::window::Padding;
use crate::ops_table::{layer, slot};

/// A 2-D pooling layer's shape: which pooling, its window (`kernel_size`
/// is Keras's `pool_size`; `dilation` must be `(1, 1)`), the channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d {
    pub pool: Pool,
    pub window: Window2d,
    pub channels: usize,
}

impl Pool2d {
    /// The output plane for `n_in` inputs. Statuses: [`Window2d::plane`]'s
    /// (`LayerParam`, `XSize`), `LayerParam` for no channels or a dilation
    /// other than `(1, 1)`, `XSize` unless `n_in == height * width *
    /// channels`.
    pub fn shape(&self, n_in: usize) -> Result<Plane, Status> {
        if self.channels == 0 || self.window.dilation != (1, 1) {
            return Err(Status::LayerParam);
        }
        let plane = self.window.plane()?;
        if self.window.positions()?.checked_mul(self.channels) != Some(n_in) {
            return Err(Status::XSize);
        }
        Ok(plane)
    }

    /// Checks the sizes; returns [`Pool2d::shape`].
    pub fn check(&self, n_in: usize, out_len: usize) -> Result<Plane, Status> {
        let plane = self.shape(n_in)?;
        plane.check_out(self.channels, out_len, None)?;
        Ok(plane)
    }

    /// Channel `j`'s values in the window of output position `pos`, those
    /// in range, row by row.
    pub(crate) fn values_at<'a, T: Copy>(
        &self,
        plane: &Plane,
        x: &'a [T],
        pos: usize,
        j: usize,
    ) -> impl Iterator<Item = T> + 'a {
        let c = self.channels;
        self.window
            .taps_at(plane, pos)
            .filter_map(move |(_, i)| x.get(i * c + j).copied())
    }
}

/// 2-D pooling (see [`Pool2d`]): each output is the max, or the mean, of
/// the window's values in range, per channel. A NaN in a max pool's window
/// gives NaN, as TensorFlow's does. Nothing is written unless the checks
/// pass.
pub fn pool2d_f32(spec: &Pool2d, x: &[f32], out: &mut [f32]) -> Result<(), Status> {
    let plane = spec.check(x.len(), out.len())?;
    let c = spec.channels.max(1); // (checked nonzero; for the compiler)
    for (pos, row) in out.chunks_exact_mut(c).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let mut values = spec.values_at(&plane, x, pos, j);
            *o = match spec.pool {
                Pool::Max => {
                    let first = values.next().unwrap_or(f32::NEG_INFINITY);
                    values.fold(first, |m, v| if v > m || v.is_nan() { v } else { m })
                }
                Pool::Average => {
                    let (sum, n) = values.fold((0.0f32, 0usize), |(s, n), v| (s + v, n + 1));
                    sum / n as f32
                }
            };
        }
    }
    Ok(())
}

/// 2-D pooling's backward pass for one sample: `dx = dL/dx` from `dy`,
/// the gradient at the outputs, as TensorFlow's gradients take it:
/// - `AveragePooling2D` spreads each output's gradient evenly over the
///   positions it averaged, those in range (`same` padding's padded
///   positions are not counted, as in the forward pass): each gets the
///   gradient times `1 / n` rounded to float32, as TensorFlow's
///   `AvgPoolGrad` computes it;
/// - `MaxPooling2D` gives it to the window's first largest value, row by
///   row (TensorFlow's `MaxPoolGrad`, whose CPU kernel takes the argmax
///   over the window's positions in that order, a later value replacing
///   it only if strictly greater: ties go to the first; a NaN is never
///   taken unless it comes first).
///
/// Overlapping windows add up. The global 2-D poolings are the 1-D ones
/// over `height * width` steps: their backward pass is
/// [`pool1d_backward_f32`]'s with `global` (an average spread over every
/// position; a max shared evenly between the positions equal to it, as
/// the gradient of `tf.reduce_max`, which Keras's `GlobalMaxPooling2D`
/// calls, does). Statuses: [`Pool2d::check`]'s (`dy` as the outputs),
/// `XSize` for a `dx` that is not `x`'s length. Nothing is written unless
/// the sizes fit.
///
/// [`pool1d_backward_f32`]: super::pool1d::pool1d_backward_f32
pub fn pool2d_backward_f32(
    spec: &Pool2d,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Status> {
    let plane = spec.check(x.len(), dy.len())?;
    if dx.len() != x.len() {
        return Err(Status::XSize);
    }
    let c = spec.channels.max(1); // (checked nonzero; for the compiler)
    dx.fill(0.0);
    for (pos, dyt) in dy.chunks_exact(c).enumerate() {
        // an average's share: the positions in range
        let share = 1.0 / spec.window.taps_in_range(&plane, pos).max(1) as f32;
        for (j, &g) in dyt.iter().enumerate() {
            // the window's input positions in range, row by row, walked
            // once (the windows' iterator once in flash): an average adds
            // its share to each, a max finds the first largest
            let mut best: Option<(usize, f32)> = None;
            for (_, i) in spec.window.taps_at(&plane, pos) {
                let k = i * c + j;
                if spec.pool == Pool::Average {
                    if let Some(d) = dx.get_mut(k) {
                        *d += g * share;
                    }
                    continue;
                }
                let v = x.get(k).copied().unwrap_or(f32::NEG_INFINITY);
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((k, v));
                }
            }
            if let Some(d) = best.and_then(|(k, _)| dx.get_mut(k)) {
                *d += g;
            }
        }
    }
    Ok(())
}

// Max and average pooling share one parameter layout (ops/ops.json).
const _: () = assert!(
    slot::max_pooling2d::POOL_SIZE_W == slot::average_pooling2d::POOL_SIZE_W
        && slot::max_pooling2d::STRIDES_W == slot::average_pooling2d::STRIDES_W
        && slot::max_pooling2d::PADDING == slot::average_pooling2d::PADDING
        && slot::max_pooling2d::AT == slot::average_pooling2d::AT
);

impl LayerKind for Pool2d {
    /// `params`: height, width, channels, pool_h, pool_w, strides_h,
    /// strides_w, padding.
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        let pool = match kind {
            layer::MAX_POOLING2D => Pool::Max,
            layer::AVERAGE_POOLING2D => Pool::Average,
            _ => return None,
        };
        use slot::max_pooling2d::*;
        let p = |i| param(params, i);
        let slot = |k| p(AT + k);
        Some(Padding::from_code(slot(PADDING) as u32).map(|padding| Pool2d {
            pool,
            window: Window2d::undilated(
                (p(0), p(1)),
                (slot(POOL_SIZE_H), slot(POOL_SIZE_W)),
                (slot(STRIDES_H), slot(STRIDES_W)),
                padding,
            ),
            channels: p(2),
        }))
    }

    fn weights(&self) -> Weights {
        Weights::None
    }

    fn check(&self, n_in: usize, _: usize, _: Option<usize>, out_len: usize, _: &Activation) -> Result<(), Status> {
        Pool2d::check(self, n_in, out_len).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, _: &Activation) -> Result<(usize, usize), Status> {
        unweighted(kernel_len, bias_len, || plane_units(self.shape(n_in)?.out, self.channels))
    }

    fn grad_lens(&self, _: usize) -> Result<(usize, usize), Status> {
        Ok((0, 0))
    }

    fn forward_f32(&self, x: &[f32], _: &[f32], _: Option<&[f32]>, out: &mut [f32], _: &Activation) -> Result<(), Status> {
        pool2d_f32(self, x, out)
    }

    fn backward_f32(&self, x: &[f32], _: &[f32], dy: &[f32], _: f32, _: Option<&mut [f32]>, _: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        pool2d_backward_f32(self, x, dy, dx.ok_or(Status::Null)?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::pool1d::{pool1d_f32, Pool1d};
    use crate::layers::window::Padding;

    /// A 2-D pooling of `size` windows moved by `strides` over `h x w x c`
    /// (also pool2d_s8's tests').
    pub(crate) fn spec(
        pool: Pool,
        h: usize,
        w: usize,
        c: usize,
        size: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Pool2d {
        let window = Window2d::undilated((h, w), size, strides, padding);
        Pool2d {
            pool,
            window,
            channels: c,
        }
    }

    #[test]
    fn hand_checked() {
        // 3x3, one channel, 2x2 windows moved by 2, same: 2x2 outputs, the
        // last row and column padded after
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut out = [0.0f32; 4];
        pool2d_f32(
            &spec(Pool::Max, 3, 3, 1, (2, 2), (2, 2), Padding::Same),
            &x,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [5.0, 6.0, 8.0, 9.0]);
        pool2d_f32(
            &spec(Pool::Average, 3, 3, 1, (2, 2), (2, 2), Padding::Same),
            &x,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [3.0, 4.5, 7.5, 9.0]);
        let mut one = [0.0f32; 1];
        pool2d_f32(
            &spec(Pool::Average, 3, 3, 1, (3, 3), (1, 1), Padding::Valid),
            &x,
            &mut one,
        )
        .unwrap();
        assert_eq!(one, [5.0]);
        // NaN wins a max
        let mut y = x;
        y[4] = f32::NAN;
        pool2d_f32(
            &spec(Pool::Max, 3, 3, 1, (3, 3), (1, 1), Padding::Valid),
            &y,
            &mut one,
        )
        .unwrap();
        assert!(one[0].is_nan());
    }

    /// Height 1 and pool height 1: the 1-D pooling over the width.
    #[test]
    fn height_one_is_pool1d() {
        let x: Vec<f32> = (0..9 * 2)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        for pool in [Pool::Max, Pool::Average] {
            for padding in [Padding::Valid, Padding::Same] {
                for (size, strides) in [(1, 1), (2, 2), (3, 2), (4, 3)] {
                    let s2 = spec(pool, 1, 9, 2, (1, size), (1, strides), padding);
                    let s1 = Pool1d {
                        pool,
                        global: false,
                        channels: 2,
                        pool_size: size,
                        strides,
                        padding,
                    };
                    let n = s2.shape(x.len()).unwrap().out.1 * 2;
                    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                    pool2d_f32(&s2, &x, &mut a).unwrap();
                    pool1d_f32(&s1, &x, &mut b).unwrap();
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let s = spec(Pool::Max, 3, 3, 2, (2, 2), (1, 1), Padding::Valid); // 2x2 out
        let mut out = [9.0f32; 8];
        assert_eq!(pool2d_f32(&s, &[1.0; 17], &mut out), Err(Status::XSize));
        assert_eq!(pool2d_f32(&s, &[], &mut out), Err(Status::XSize));
        assert_eq!(
            pool2d_f32(&s, &[1.0; 18], &mut out[..7]),
            Err(Status::OutSize)
        );
        let mut params = [s; 6];
        params[0].channels = 0;
        params[1].window.kernel_size.1 = 0;
        params[2].window.strides.0 = 0;
        params[3].window.padding = Padding::Causal;
        params[4].window.dilation = (2, 1);
        params[5].window.kernel_size.0 = usize::MAX;
        for (i, b) in params.iter().enumerate() {
            assert_eq!(
                pool2d_f32(b, &[1.0; 18], &mut out),
                Err(Status::LayerParam),
                "{i}"
            );
        }
        let big = spec(Pool::Max, 2, 2, 2, (3, 1), (1, 1), Padding::Valid);
        assert_eq!(pool2d_f32(&big, &[1.0; 8], &mut out), Err(Status::XSize));
        assert_eq!(out, [9.0; 8]);
    }
}
