//! Conv1D, float32, Keras semantics (`channels_last`): forward and
//! backward.
//!
//! It reads `steps x channels` values in row-major order (`x[t * channels +
//! c]`, as numpy's `reshape(-1)` lays out a `(steps, channels)` window) and
//! writes `out_steps x filters` the same way. Padding: src/layers/window.rs
//! (padded positions are zeros).
//!
//! With `dilation == 1` each output step of a convolution is a dense layer
//! over the window's contiguous rows of `x` and of the kernel (Keras's
//! kernel, `kernel_size x in_channels x filters`, is `kernel_size *
//! in_channels` rows of `filters`): it runs on [`crate::math::matvec`]'s kernels,
//! the exact integer dot product on FPU-less cores included.

use super::window::{out_steps, Padding};
use crate::activation::{apply, Activation, Common};
use crate::math::matvec;
use crate::Status;
use super::kind::{LayerKind, Weights};
use super::kind::param;
use crate::ops_table::{layer, slot};

/// A Conv1D layer's shape: what the ABI's `params` give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1d {
    pub in_channels: usize,
    pub kernel_size: usize,
    pub strides: usize,
    pub dilation: usize,
    pub padding: Padding,
}

/// The furthest a Conv1D's window may reach back, `(kernel_size - 1) *
/// dilation`: under 2**31 on every target (a causal layer pads that many
/// steps; the readers, `anne_net.Conv1D` and the Python backend refuse the
/// same).
pub const MAX_REACH: usize = 0x7FFF_FFFF;

impl Conv1d {
    /// The window's extent in input steps; [`Status::LayerParam`] for a
    /// zero dilation or kernel size, or a reach over [`MAX_REACH`].
    fn window(&self) -> Result<usize, Status> {
        self.kernel_size
            .checked_sub(1)
            .and_then(|k| k.checked_mul(self.dilation))
            .filter(|&k| k <= MAX_REACH && self.dilation != 0)
            .and_then(|k| k.checked_add(1))
            .ok_or(Status::LayerParam)
    }

    /// The layer's shape for `n_in` inputs and a kernel of `kernel_len`
    /// values: `(steps_in, steps_out, pad_before, filters)`.
    pub fn shape(
        &self,
        n_in: usize,
        kernel_len: usize,
    ) -> Result<(usize, usize, usize, usize), Status> {
        if self.in_channels == 0 {
            return Err(Status::LayerParam);
        }
        let window = self.window()?;
        if n_in == 0 || !n_in.is_multiple_of(self.in_channels) {
            return Err(Status::XSize);
        }
        let steps = n_in / self.in_channels;
        let (steps_out, pad) = out_steps(steps, window, self.strides, self.padding)?;
        let rows = self.kernel_size.saturating_mul(self.in_channels);
        let filters = kernel_len.checked_div(rows).unwrap_or(0);
        if filters == 0 || !kernel_len.is_multiple_of(rows) {
            return Err(Status::KernelSize);
        }
        Ok((steps, steps_out, pad, filters))
    }

    /// Checks the sizes (in the header's order: x, kernel, out, bias) and
    /// the activation (glu, which halves the filters, is refused);
    /// returns [`Conv1d::shape`].
    pub fn check(
        &self,
        n_in: usize,
        kernel_len: usize,
        bias_len: Option<usize>,
        out_len: usize,
        act: &Activation,
    ) -> Result<(usize, usize, usize, usize), Status> {
        let shape = self.shape(n_in, kernel_len)?;
        let (_, steps_out, _, filters) = shape;
        if matches!(act, Activation::Glu) {
            return Err(Status::Activation);
        }
        if steps_out.checked_mul(filters) != Some(out_len) {
            return Err(Status::OutSize);
        }
        if bias_len.is_some_and(|b| b != filters) {
            return Err(Status::BiasSize);
        }
        act.validate()?;
        Ok(shape)
    }
}

/// Keras `Conv1D`: `out[t, f] = act(sum over taps k and channels c of
/// x[t * strides + k * dilation - pad, c] * kernel[k, c, f] + bias[f])`,
/// the taps outside the input counting as zero. Vector activations
/// (softmax, log_softmax, sparsemax) work over each step's `filters`
/// outputs (Keras's `axis=-1`). Nothing is written unless every check
/// passes.
pub fn conv1d_f32(
    spec: &Conv1d,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let shape = spec.check(
        x.len(),
        kernel.len(),
        bias.map(<[f32]>::len),
        out.len(),
        act,
    )?;
    run_conv1d(spec, shape, x, kernel, bias, out, act)
}

/// [`conv1d_f32`] on arguments [`Conv1d::check`] passed (`shape` is its
/// result).
pub(crate) fn run_conv1d(
    spec: &Conv1d,
    (steps, _, pad, filters): (usize, usize, usize, usize),
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let cin = spec.in_channels;
    // (Checked by Conv1d::check; tested here too, where the compiler sees
    // it, so that no division or chunking by zero has a panic path.)
    if filters == 0 || spec.dilation == 0 {
        return Err(Status::LayerParam);
    }
    let row_len = cin * filters; // one tap of the kernel
    for (t, row) in out.chunks_exact_mut(filters).enumerate() {
        let (k0, k1, first) = taps_in_range(spec, steps, pad, t);
        if k0 >= k1 {
            for (j, o) in row.iter_mut().enumerate() {
                *o = bias.and_then(|b| b.get(j)).map_or(0.0, |b| *b);
            }
            continue;
        }
        if spec.dilation == 1 {
            let xs = x.get(first * cin..(first + k1 - k0) * cin).unwrap_or(&[]);
            let ks = kernel.get(k0 * row_len..k1 * row_len).unwrap_or(&[]);
            matvec::linear(xs, ks, bias, row, Some(Common::Linear));
            continue;
        }
        for (j, o) in row.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for k in k0..k1 {
                let s = first + (k - k0) * spec.dilation;
                let xs = x.get(s * cin..(s + 1) * cin).unwrap_or(&[]);
                let taps = kernel.get(k * row_len..(k + 1) * row_len).unwrap_or(&[]);
                for (&xv, w) in xs.iter().zip(taps.chunks_exact(filters)) {
                    acc += xv * w.get(j).copied().unwrap_or(0.0);
                }
            }
            *o = acc + bias.and_then(|b| b.get(j)).map_or(0.0, |b| *b);
        }
    }
    activate_rows(out, filters, act)
}

/// The taps of output step `t` that read inside the input (`steps` steps,
/// `pad` before the first): `(k0, k1, first)`, taps `k0..k1`, tap `k`
/// reading input step `first + (k - k0) * dilation` (`k0 == k1`: none).
fn taps_in_range(spec: &Conv1d, steps: usize, pad: usize, t: usize) -> (usize, usize, usize) {
    // (unsigned, at least 1: no division can panic)
    let d = spec.dilation.max(1);
    // Input step of tap k: at + k * dilation - pad (may be out of range).
    // Unsigned throughout: a causal pad of up to MAX_REACH steps does not
    // fit a 32-bit isize next to the input's steps.
    let at = t.saturating_mul(spec.strides);
    let k0 = pad.saturating_sub(at).div_ceil(d);
    // taps need at + k * d < pad + steps
    let k1 = pad
        .saturating_add(steps)
        .saturating_sub(at)
        .div_ceil(d)
        .min(spec.kernel_size);
    if k0 >= k1 {
        return (0, 0, 0);
    }
    (k0, k1, at.saturating_add(k0.saturating_mul(d)).saturating_sub(pad))
}

/// Conv1D's backward pass for one sample, from `dz`, the gradient of the
/// loss at the layer's pre-activations (`out_steps x filters`; the
/// activation's backward pass is taken before): `gk += scale * dL/dkernel`
/// and `gb += scale * dL/dbias` (Keras's layouts), each if given, and
/// `dx = dL/dx` (if given; not scaled). `scale` is 1 / batch size, so that
/// a batch's samples accumulate Keras's mean. Nothing is written unless
/// every size fits.
#[allow(clippy::too_many_arguments)]
pub fn conv1d_backward_f32(
    spec: &Conv1d,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    scale: f32,
    gk: Option<&mut [f32]>,
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    let bias_len = gb.as_ref().map(|b| b.len());
    let (steps, _, pad, filters) = spec.check(
        x.len(),
        kernel.len(),
        bias_len,
        dz.len(),
        &Activation::Linear,
    )?;
    if gk.as_ref().is_some_and(|g| g.len() != kernel.len()) {
        return Err(Status::KernelSize);
    }
    if dx.as_ref().is_some_and(|d| d.len() != x.len()) {
        return Err(Status::XSize);
    }
    if filters == 0 {
        return Err(Status::LayerParam); // (refused by check; for the compiler)
    }
    let cin = spec.in_channels;
    let row_len = cin * filters; // one tap of the kernel

    // Each output step's taps in range, with the input rows they read.
    let windows = || {
        dz.chunks_exact(filters)
            .enumerate()
            .flat_map(move |(t, dzt)| {
                let (k0, k1, first) = taps_in_range(spec, steps, pad, t);
                (k0..k1).map(move |k| {
                    let s = first + (k - k0) * spec.dilation;
                    (k, x.get(s * cin..(s + 1) * cin).unwrap_or(&[]), s, dzt)
                })
            })
    };
    if let Some(gk) = gk {
        for (k, xs, _, dzt) in windows() {
            let taps = gk
                .get_mut(k * row_len..(k + 1) * row_len)
                .unwrap_or(&mut []);
            for (&xv, g) in xs.iter().zip(taps.chunks_exact_mut(filters)) {
                let sx = xv * scale;
                for (g, &d) in g.iter_mut().zip(dzt) {
                    *g += sx * d;
                }
            }
        }
    }
    if let Some(gb) = gb {
        for dzt in dz.chunks_exact(filters) {
            for (g, &d) in gb.iter_mut().zip(dzt) {
                *g += scale * d;
            }
        }
    }
    if let Some(dx) = dx {
        dx.fill(0.0);
        for (k, _, s, dzt) in windows() {
            let taps = kernel.get(k * row_len..(k + 1) * row_len).unwrap_or(&[]);
            let row = dx.get_mut(s * cin..(s + 1) * cin).unwrap_or(&mut []);
            for (o, w) in row.iter_mut().zip(taps.chunks_exact(filters)) {
                *o += w.iter().zip(dzt).map(|(w, d)| w * d).sum::<f32>();
            }
        }
    }
    Ok(())
}

/// Applies `act` to `out`, row by row (of `width` values) for the vector
/// activations.
pub(crate) fn activate_rows(out: &mut [f32], width: usize, act: &Activation) -> Result<(), Status> {
    if matches!(act, Activation::Linear) {
        return Ok(());
    }
    if !act.is_elementwise() {
        if width == 0 {
            return Err(Status::Size); // (no caller gives it; chunks of 0 would panic)
        }
        for row in out.chunks_exact_mut(width) {
            apply(row, act)?;
        }
        return Ok(());
    }
    apply(out, act).map(|_| ())
}

impl LayerKind for Conv1d {
    /// `params` (the ABI's): in_channels, then the registry's slots
    /// (kernel_size, strides, padding, dilation).
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        if kind != layer::CONV1D {
            return None;
        }
        use slot::conv1d::*;
        let slot = |k| param(params, AT + k);
        Some(Padding::from_code(slot(PADDING) as u32).map(|padding| Conv1d {
            in_channels: param(params, 0),
            kernel_size: slot(KERNEL_SIZE),
            strides: slot(STRIDES),
            dilation: slot(DILATION_RATE),
            padding,
        }))
    }

    fn weights(&self) -> Weights {
        Weights::Trained
    }

    fn check(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, out_len: usize, act: &Activation) -> Result<(), Status> {
        Conv1d::check(self, n_in, kernel_len, bias_len, out_len, act).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, act: &Activation) -> Result<(usize, usize), Status> {
        let (_, steps, _, filters) = self.shape(n_in, kernel_len)?;
        let units = steps.checked_mul(filters).ok_or(Status::Size)?;
        Conv1d::check(self, n_in, kernel_len, bias_len, units, act)?;
        Ok((units, filters))
    }

    fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status> {
        let rows = self.kernel_size.saturating_mul(self.in_channels);
        Ok((kernel_len, kernel_len.checked_div(rows).unwrap_or(0)))
    }

    fn forward_f32(&self, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32], act: &Activation) -> Result<(), Status> {
        conv1d_f32(self, x, kernel, bias, out, act)
    }

    fn backward_f32(&self, x: &[f32], kernel: &[f32], dy: &[f32], scale: f32, gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        conv1d_backward_f32(self, x, kernel, dy, scale, gk, gb, dx)
    }
}
