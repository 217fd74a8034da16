//! 1-D pooling, float32, Keras semantics (`channels_last`): max and
//! average, windowed or global, forward and backward. Padded positions
//! are left out (a max over the positions in range; an average over those
//! positions only, as TensorFlow's `avg_pool` with `SAME` does); see
//! src/layers/window.rs.

use super::window::{out_steps, Padding};
use crate::Status;
use super::kind::{LayerKind, Weights};
use crate::activation::Activation;
use super::kind::param;
use crate::ops_table::{layer, slot};

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    Max,
    Average,
}

/// A pooling layer's shape: `MaxPooling1D`/`AveragePooling1D` over windows
/// of `pool_size` steps moved by `strides`, or, with `global`, over all
/// steps at once (`GlobalMaxPooling1D`/`GlobalAveragePooling1D`; the other
/// fields are then ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool1d {
    pub pool: Pool,
    pub global: bool,
    pub channels: usize,
    pub pool_size: usize,
    pub strides: usize,
    pub padding: Padding,
}

impl Pool1d {
    /// The layer's shape for `n_in` inputs: `(steps_in, steps_out,
    /// pad_before, window)`.
    pub fn shape(&self, n_in: usize) -> Result<(usize, usize, usize, usize), Status> {
        if self.channels == 0 || (!self.global && self.padding == Padding::Causal) {
            return Err(Status::LayerParam);
        }
        if n_in == 0 || !n_in.is_multiple_of(self.channels) {
            return Err(Status::XSize);
        }
        let steps = n_in / self.channels;
        Ok(if self.global {
            (steps, 1, 0, steps)
        } else {
            let (n, pad) = out_steps(steps, self.pool_size, self.strides, self.padding)?;
            (steps, n, pad, self.pool_size)
        })
    }

    /// Checks the sizes; returns [`Pool1d::shape`].
    pub fn check(
        &self,
        n_in: usize,
        out_len: usize,
    ) -> Result<(usize, usize, usize, usize), Status> {
        let shape = self.shape(n_in)?;
        if shape.1.checked_mul(self.channels) != Some(out_len) {
            return Err(Status::OutSize);
        }
        Ok(shape)
    }
}

/// The input steps `s0..s1` in range of the pooling window that starts at
/// padded step `at` (`pad` before the first of `steps`).
fn pool_window(at: usize, pad: usize, window: usize, steps: usize) -> (usize, usize) {
    let start = at as isize - pad as isize;
    let s0 = start.max(0) as usize;
    let s1 = ((start + window as isize).max(0) as usize).min(steps);
    (s0, s1)
}

/// 1-D pooling (see [`Pool1d`]): each output is the max, or the mean, of
/// the window's values in range, per channel. A NaN in a max pool's window
/// gives NaN, as TensorFlow's does. Nothing is written unless the checks
/// pass.
pub fn pool1d_f32(spec: &Pool1d, x: &[f32], out: &mut [f32]) -> Result<(), Status> {
    let shape = spec.check(x.len(), out.len())?;
    run_pool1d(spec, shape, x, out);
    Ok(())
}

/// [`pool1d_f32`] on arguments [`Pool1d::check`] passed.
pub(crate) fn run_pool1d(
    spec: &Pool1d,
    (steps, _, pad, window): (usize, usize, usize, usize),
    x: &[f32],
    out: &mut [f32],
) {
    let c = spec.channels;
    if c == 0 {
        return; // (refused by Pool1d::check; tested here for the compiler)
    }
    let strides = if spec.global { 1 } else { spec.strides };
    for (t, row) in out.chunks_exact_mut(c).enumerate() {
        let (s0, s1) = pool_window(t * strides, pad, window, steps);
        let rows = x.get(s0 * c..s1 * c).unwrap_or(&[]);
        let n = s1.saturating_sub(s0);
        for (j, o) in row.iter_mut().enumerate() {
            let mut values = rows.iter().skip(j).step_by(c);
            *o = match spec.pool {
                Pool::Max => {
                    let first = values.next().copied().unwrap_or(f32::NEG_INFINITY);
                    values.fold(first, |m, &v| if v > m || v.is_nan() { v } else { m })
                }
                Pool::Average => values.fold(0.0f32, |s, &v| s + v) / n as f32,
            };
        }
    }
}

/// 1-D pooling's backward pass for one sample: `dx = dL/dx` from `dy`,
/// the gradient at the outputs, as TensorFlow's gradients take it:
/// - an average spreads each output's gradient evenly over the steps it
///   averaged (those in range);
/// - `MaxPooling1D` gives it to the window's first largest value
///   (TensorFlow's `MaxPoolGrad`);
/// - `GlobalMaxPooling1D` (Keras's `ops.max`, `tf.reduce_max`) shares it
///   evenly between the steps equal to the largest.
///
/// Nothing is written unless the sizes fit.
pub fn pool1d_backward_f32(
    spec: &Pool1d,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Status> {
    let (steps, _, pad, window) = spec.check(x.len(), dy.len())?;
    let c = spec.channels;
    if dx.len() != x.len() {
        return Err(Status::XSize);
    }
    if c == 0 {
        return Err(Status::LayerParam); // (refused by check; for the compiler)
    }
    dx.fill(0.0);
    let strides = if spec.global { 1 } else { spec.strides };
    for (t, dyt) in dy.chunks_exact(c).enumerate() {
        let (s0, s1) = pool_window(t * strides, pad, window, steps);
        let xs = x.get(s0 * c..s1 * c).unwrap_or(&[]);
        let ds = dx.get_mut(s0 * c..s1 * c).unwrap_or(&mut []);
        for (j, &g) in dyt.iter().enumerate() {
            // channel j's values in the window, and their gradients
            let values = xs.iter().skip(j).step_by(c);
            let grads = ds.iter_mut().skip(j).step_by(c);
            match spec.pool {
                Pool::Average => {
                    let share = g / (s1 - s0) as f32;
                    grads.for_each(|d| *d += share);
                }
                Pool::Max if spec.global => {
                    let m = values.clone().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let ties = values.clone().filter(|&&v| v == m).count();
                    let share = g / ties.max(1) as f32;
                    for (d, &v) in grads.zip(values) {
                        if v == m {
                            *d += share;
                        }
                    }
                }
                Pool::Max => {
                    // the first largest (a NaN never replaces it)
                    let mut best: Option<(&mut f32, f32)> = None;
                    for (d, &v) in grads.zip(values) {
                        if best.as_ref().is_none_or(|&(_, b)| v > b) {
                            best = Some((d, v));
                        }
                    }
                    if let Some((d, _)) = best {
                        *d += g;
                    }
                }
            }
        }
    }
    Ok(())
}

// Max and average pooling share one parameter layout (ops/ops.json).
const _: () = assert!(
    slot::max_pooling1d::POOL_SIZE == slot::average_pooling1d::POOL_SIZE
        && slot::max_pooling1d::STRIDES == slot::average_pooling1d::STRIDES
        && slot::max_pooling1d::PADDING == slot::average_pooling1d::PADDING
        && slot::max_pooling1d::AT == slot::average_pooling1d::AT
);

impl LayerKind for Pool1d {
    /// The 1-D poolings and the global ones (1-D, and 2-D over `h * w`
    /// steps): `params` channels, pool_size, strides, padding (a global
    /// one's: channels).
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        let (pool, global) = match kind {
            layer::MAX_POOLING1D => (Pool::Max, false),
            layer::AVERAGE_POOLING1D => (Pool::Average, false),
            layer::GLOBAL_MAX_POOLING1D | layer::GLOBAL_MAX_POOLING2D => (Pool::Max, true),
            layer::GLOBAL_AVERAGE_POOLING1D | layer::GLOBAL_AVERAGE_POOLING2D => (Pool::Average, true),
            _ => return None,
        };
        // (the average pooling's slots are the max's, checked above; a
        // global pooling's params are its channels, the rest read 0)
        use slot::max_pooling1d::*;
        let slot = |k| param(params, AT + k);
        Some(Padding::from_code(slot(PADDING) as u32).map(|padding| Pool1d {
            pool,
            global,
            channels: param(params, 0),
            pool_size: slot(POOL_SIZE),
            strides: slot(STRIDES),
            padding,
        }))
    }

    fn weights(&self) -> Weights {
        Weights::None
    }

    fn check(&self, n_in: usize, _: usize, _: Option<usize>, out_len: usize, _: &Activation) -> Result<(), Status> {
        Pool1d::check(self, n_in, out_len).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, _: &Activation) -> Result<(usize, usize), Status> {
        // (the shape's statuses before the kernel's, as they always were)
        let units = self.shape(n_in)?.1.checked_mul(self.channels).ok_or(Status::Size)?;
        if kernel_len != 0 || bias_len.is_some() {
            return Err(Status::KernelSize);
        }
        Ok((units, units))
    }

    fn grad_lens(&self, _: usize) -> Result<(usize, usize), Status> {
        Ok((0, 0))
    }

    fn forward_f32(&self, x: &[f32], _: &[f32], _: Option<&[f32]>, out: &mut [f32], _: &Activation) -> Result<(), Status> {
        pool1d_f32(self, x, out)
    }

    fn backward_f32(&self, x: &[f32], _: &[f32], dy: &[f32], _: f32, _: Option<&mut [f32]>, _: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        pool1d_backward_f32(self, x, dy, dx.ok_or(Status::Null)?)
    }
}
