//! Conv1D and 1-D pooling, float32, Keras semantics (`channels_last`).
//!
//! Every layer here reads `steps x channels` values in row-major order
//! (`x[t * channels + c]`, as numpy's `reshape(-1)` lays out a
//! `(steps, channels)` window) and writes `out_steps x channels_out` the
//! same way.
//!
//! Padding follows Keras (TensorFlow's rules):
//! - `valid`: no padding, `out = (steps - window) / strides + 1`, the window
//!   must fit (`steps >= window`);
//! - `same`: `out = ceil(steps / strides)`, padded by
//!   `max((out - 1) * strides + window - steps, 0)` in all, half of it
//!   (rounded down) before the first step;
//! - `causal` (Conv1D only): `window - 1` before the first step,
//!   `out = (steps - 1) / strides + 1`;
//!
//! where `window = (kernel_size - 1) * dilation + 1`. Padded positions are
//! zeros for a convolution, and left out for pooling (a max over the
//! positions in range; an average over those positions only, as
//! TensorFlow's `avg_pool` with `SAME` does).
//!
//! With `dilation == 1` each output step of a convolution is a dense layer
//! over the window's contiguous rows of `x` and of the kernel (Keras's
//! kernel, `kernel_size x in_channels x filters`, is `kernel_size *
//! in_channels` rows of `filters`): it runs on [`crate::dense`]'s kernels,
//! the exact integer dot product on FPU-less cores included.

use crate::activation::{apply, Activation};
use crate::dense;
use crate::Status;

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    Causal,
}

impl Padding {
    /// From the ABI's code: 0 valid, 1 same, 2 causal.
    pub fn from_code(code: u32) -> Result<Padding, Status> {
        match code {
            0 => Ok(Padding::Valid),
            1 => Ok(Padding::Same),
            2 => Ok(Padding::Causal),
            _ => Err(Status::LayerParam),
        }
    }
}

/// Output steps and the padding before the first step for a window of
/// `window` steps moved by `strides` over `steps` steps;
/// [`Status::XSize`] when a `valid` window does not fit.
pub fn out_steps(
    steps: usize,
    window: usize,
    strides: usize,
    padding: Padding,
) -> Result<(usize, usize), Status> {
    if steps == 0 || window == 0 || strides == 0 {
        return Err(if steps == 0 {
            Status::XSize
        } else {
            Status::LayerParam
        });
    }
    Ok(match padding {
        Padding::Valid => {
            if steps < window {
                return Err(Status::XSize);
            }
            ((steps - window) / strides + 1, 0)
        }
        Padding::Same => {
            let out = steps.div_ceil(strides);
            let total = ((out - 1) * strides + window).saturating_sub(steps);
            (out, total / 2)
        }
        Padding::Causal => ((steps - 1) / strides + 1, window - 1),
    })
}

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
            dense::run(xs, ks, bias, row, &Activation::Linear, filters)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, straight: every tap, zeros outside the input.
    fn conv_reference(spec: &Conv1d, x: &[f32], kernel: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let cin = spec.in_channels;
        let steps = x.len() / cin;
        let window = (spec.kernel_size - 1) * spec.dilation + 1;
        let (n_out, pad) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
        let filters = kernel.len() / (spec.kernel_size * cin);
        let mut out = vec![0.0f64; n_out * filters];
        for t in 0..n_out {
            for f in 0..filters {
                let mut acc = 0.0f64;
                for k in 0..spec.kernel_size {
                    let s = (t * spec.strides + k * spec.dilation) as isize - pad as isize;
                    if s < 0 || s >= steps as isize {
                        continue;
                    }
                    for c in 0..cin {
                        acc += x[s as usize * cin + c] as f64
                            * kernel[(k * cin + c) * filters + f] as f64;
                    }
                }
                out[t * filters + f] = acc + bias.map_or(0.0, |b| b[f] as f64);
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((s >> 8) as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn out_steps_follow_keras() {
        // (steps, window, strides, padding) -> Keras's output length.
        assert_eq!(out_steps(10, 3, 1, Padding::Valid), Ok((8, 0)));
        assert_eq!(out_steps(10, 3, 2, Padding::Valid), Ok((4, 0)));
        assert_eq!(out_steps(10, 3, 1, Padding::Same), Ok((10, 1)));
        assert_eq!(out_steps(10, 4, 1, Padding::Same), Ok((10, 1)));
        assert_eq!(out_steps(10, 3, 3, Padding::Same), Ok((4, 1)));
        assert_eq!(out_steps(10, 3, 2, Padding::Causal), Ok((5, 2)));
        assert_eq!(out_steps(2, 3, 1, Padding::Valid), Err(Status::XSize));
        assert_eq!(out_steps(2, 3, 0, Padding::Valid), Err(Status::LayerParam));
    }

    /// Every padding with each (kernel_size, strides, dilation) and each
    /// (steps, in_channels, filters) whose window fits the input: (spec,
    /// steps, filters).
    fn conv_cases(shapes: [(usize, usize, usize); 3]) -> Vec<(Conv1d, usize, usize)> {
        let taps = [
            (1, 1, 1),
            (3, 1, 1),
            (3, 2, 1),
            (2, 1, 2),
            (3, 3, 2),
            (5, 1, 1),
            (4, 2, 1),
        ];
        let mut cases = Vec::new();
        for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
            for (k, s, d) in taps {
                for (steps, cin, filters) in shapes {
                    let spec = Conv1d {
                        in_channels: cin,
                        kernel_size: k,
                        strides: s,
                        dilation: d,
                        padding,
                    };
                    if out_steps(steps, (k - 1) * d + 1, s, padding).is_ok() {
                        cases.push((spec, steps, filters));
                    }
                }
            }
        }
        cases
    }

    #[test]
    fn conv_matches_the_definition_for_every_option() {
        let cases = conv_cases([(9, 2, 3), (4, 1, 1), (12, 3, 5)]);
        assert!(cases.len() > 40);
        for (i, &(spec, steps, filters)) in cases.iter().enumerate() {
            let (cin, i) = (spec.in_channels, i as u32);
            let x = values(steps * cin, 7 + i);
            let kernel = values(spec.kernel_size * cin * filters, 99 + i);
            let bias = values(filters, 5);
            for bias in [None, Some(&bias[..])] {
                let want = conv_reference(&spec, &x, &kernel, bias);
                let mut out = vec![0.0; want.len()];
                conv1d_f32(&spec, &x, &kernel, bias, &mut out, &Activation::Linear).unwrap();
                for (a, b) in out.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-5, "{spec:?} {a} {b}");
                }
            }
        }
    }

    /// `sum(w * conv(x, kernel) + bias)` in f64, the definition (every tap).
    fn weighted_conv(spec: &Conv1d, x: &[f64], kernel: &[f64], bias: &[f64], w: &[f64]) -> f64 {
        let cin = spec.in_channels;
        let steps = x.len() / cin;
        let window = (spec.kernel_size - 1) * spec.dilation + 1;
        let (n_out, pad) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
        let filters = bias.len();
        let mut total = 0.0;
        for t in 0..n_out {
            for f in 0..filters {
                let mut acc = bias[f];
                for k in 0..spec.kernel_size {
                    let s = (t * spec.strides + k * spec.dilation) as isize - pad as isize;
                    if s < 0 || s >= steps as isize {
                        continue;
                    }
                    for c in 0..cin {
                        acc += x[s as usize * cin + c] * kernel[(k * cin + c) * filters + f];
                    }
                }
                total += w[t * filters + f] * acc;
            }
        }
        total
    }

    /// d/dv of a function linear in v, one unit step per value (exact).
    fn unit_steps(v: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        let base = f(v);
        (0..v.len())
            .map(|i| {
                let mut e = v.to_vec();
                e[i] += 1.0;
                f(&e) - base
            })
            .collect()
    }

    #[test]
    fn conv_backward_matches_the_definition_for_every_option() {
        let cases = conv_cases([(9, 2, 3), (4, 1, 1), (7, 3, 2)]);
        assert!(cases.len() > 40);
        for (i, &(spec, steps, filters)) in cases.iter().enumerate() {
            let (cin, seed) = (spec.in_channels, 3 * i as u32);
            let window = (spec.kernel_size - 1) * spec.dilation + 1;
            let (n_out, _) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
            let x = values(steps * cin, seed + 1);
            let kernel = values(spec.kernel_size * cin * filters, seed + 2);
            let (bias, dz) = (values(filters, seed + 3), values(n_out * filters, seed + 4));
            let wide = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<_>>();
            let (x64, k64, b64, w64) = (wide(&x), wide(&kernel), wide(&bias), wide(&dz));
            let want_dx = unit_steps(&x64, |x| weighted_conv(&spec, x, &k64, &b64, &w64));
            let want_gk = unit_steps(&k64, |k| weighted_conv(&spec, &x64, k, &b64, &w64));
            let want_gb = unit_steps(&b64, |b| weighted_conv(&spec, &x64, &k64, b, &w64));
            // gk and gb accumulate scale times the gradient
            let (mut gk, mut gb, mut dx) = (
                vec![1.0; kernel.len()],
                vec![-1.0; filters],
                vec![9.0; x.len()],
            );
            let (gk_, gb_, dx_) = (Some(&mut gk[..]), Some(&mut gb[..]), Some(&mut dx[..]));
            conv1d_backward_f32(&spec, &x, &kernel, &dz, 0.5, gk_, gb_, dx_).unwrap();
            let close = |got: &[f32], want: &[f64], base: f64, scale: f64| {
                got.len() == want.len()
                    && got
                        .iter()
                        .zip(want)
                        .all(|(&g, &w)| (g as f64 - (base + scale * w)).abs() <= 1e-5)
            };
            assert!(
                close(&dx, &want_dx, 0.0, 1.0),
                "dx {spec:?} {dx:?} {want_dx:?}"
            );
            assert!(close(&gk, &want_gk, 1.0, 0.5), "gk {spec:?}");
            assert!(close(&gb, &want_gb, -1.0, 0.5), "gb {spec:?}");
        }
    }

    #[test]
    fn conv_backward_refusals_write_nothing() {
        let spec = Conv1d {
            in_channels: 2,
            kernel_size: 3,
            strides: 1,
            dilation: 1,
            padding: Padding::Valid,
        };
        let (x, k, dz) = ([1.0; 8], [0.5; 12], [1.0; 4]); // 4 steps, 2 filters
        let (mut gk, mut gb, mut dx) = ([7.0; 12], [7.0; 2], [7.0; 8]);
        let run =
            |dz: &[f32], gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>| {
                conv1d_backward_f32(&spec, &x, &k, dz, 1.0, gk, gb, dx)
            };
        assert_eq!(
            run(&dz[..3], Some(&mut gk), None, None),
            Err(Status::OutSize)
        );
        assert_eq!(
            run(&dz, Some(&mut gk[..11]), None, None),
            Err(Status::KernelSize)
        );
        assert_eq!(
            run(&dz, Some(&mut gk), Some(&mut gb[..1]), None),
            Err(Status::BiasSize)
        );
        assert_eq!(
            run(&dz, Some(&mut gk), Some(&mut gb), Some(&mut dx[..7])),
            Err(Status::XSize)
        );
        assert_eq!((gk, gb, dx), ([7.0; 12], [7.0; 2], [7.0; 8]));
        assert_eq!(run(&dz, None, None, Some(&mut dx)), Ok(()));
        assert_eq!(&dx[..2], &[1.0, 1.0]); // step 0: tap 0 of output 0 only
    }

    #[test]
    fn pooling_backward_follows_tensorflow() {
        // 5 steps, 2 channels; dy of 1, 2, 3 per output step.
        let x = [1.0, -1.0, 3.0, -2.0, 2.0, -3.0, 5.0, -4.0, 4.0, -5.0];
        let back = |pool, global, size, strides, padding, dy: &[f32]| {
            let spec = Pool1d {
                pool,
                global,
                channels: 2,
                pool_size: size,
                strides,
                padding,
            };
            let mut dx = vec![9.0; x.len()];
            pool1d_backward_f32(&spec, &x, dy, &mut dx).unwrap();
            dx
        };
        let dy = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        assert_eq!(
            back(Pool::Max, false, 2, 2, Padding::Valid, &dy[..4]),
            [0.0, 10.0, 1.0, 0.0, 0.0, 20.0, 2.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            back(Pool::Max, false, 2, 2, Padding::Same, &dy),
            [0.0, 10.0, 1.0, 0.0, 0.0, 20.0, 2.0, 0.0, 3.0, 30.0]
        );
        assert_eq!(
            back(Pool::Average, false, 2, 2, Padding::Same, &dy),
            [0.5, 5.0, 0.5, 5.0, 1.0, 10.0, 1.0, 10.0, 3.0, 30.0]
        );
        // overlapping windows add up
        assert_eq!(
            back(Pool::Max, false, 3, 1, Padding::Valid, &dy),
            [0.0, 10.0, 1.0, 20.0, 0.0, 30.0, 5.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            back(Pool::Average, true, 0, 0, Padding::Valid, &dy[..2]),
            [0.2, 2.0, 0.2, 2.0, 0.2, 2.0, 0.2, 2.0, 0.2, 2.0]
        );
        assert_eq!(
            back(Pool::Max, true, 0, 0, Padding::Valid, &dy[..2]),
            [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
        );
        // ties: the first in a window; shared by a global max
        let spec = |global| Pool1d {
            pool: Pool::Max,
            global,
            channels: 1,
            pool_size: 3,
            strides: 3,
            padding: Padding::Valid,
        };
        let mut dx = [0.0; 3];
        pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0], &mut dx).unwrap();
        assert_eq!(dx, [3.0, 0.0, 0.0]);
        pool1d_backward_f32(&spec(true), &[2.0, 2.0, 1.0], &[3.0], &mut dx).unwrap();
        assert_eq!(dx, [1.5, 1.5, 0.0]);
        assert_eq!(
            pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0], &mut dx[..2]),
            Err(Status::XSize)
        );
        assert_eq!(
            pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0, 1.0], &mut dx),
            Err(Status::OutSize)
        );
    }

    #[test]
    fn conv_softmax_works_per_step() {
        let spec = Conv1d {
            in_channels: 1,
            kernel_size: 1,
            strides: 1,
            dilation: 1,
            padding: Padding::Valid,
        };
        let mut out = [0.0; 4];
        conv1d_f32(
            &spec,
            &[1.0, 2.0],
            &[1.0, 0.0],
            None,
            &mut out,
            &Activation::Softmax,
        )
        .unwrap();
        let e = 1.0f32.exp();
        let e2 = 2.0f32.exp();
        for (a, b) in out.iter().zip([
            e / (e + 1.0),
            1.0 / (e + 1.0),
            e2 / (e2 + 1.0),
            1.0 / (e2 + 1.0),
        ]) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn conv_refusals_write_nothing() {
        let spec = Conv1d {
            in_channels: 2,
            kernel_size: 3,
            strides: 1,
            dilation: 1,
            padding: Padding::Valid,
        };
        let x = [1.0; 8]; // 4 steps
        let k = [0.5; 12]; // 3 x 2 x 2
        let mut out = [7.0; 4];
        let linear = Activation::Linear;
        let check = |x: &[f32], k: &[f32], b: Option<&[f32]>, out: &mut [f32], act: &Activation| {
            conv1d_f32(&spec, x, k, b, out, act)
        };
        assert_eq!(
            check(&x[..7], &k, None, &mut out, &linear),
            Err(Status::XSize)
        );
        assert_eq!(
            check(&x[..4], &k, None, &mut out, &linear),
            Err(Status::XSize)
        );
        assert_eq!(
            check(&x, &k[..10], None, &mut out, &linear),
            Err(Status::KernelSize)
        );
        assert_eq!(
            check(&x, &k, None, &mut out[..3], &linear),
            Err(Status::OutSize)
        );
        assert_eq!(
            check(&x, &k, Some(&[0.0]), &mut out, &linear),
            Err(Status::BiasSize)
        );
        assert_eq!(
            check(&x, &k, None, &mut out, &Activation::Glu),
            Err(Status::Activation)
        );
        assert_eq!(out, [7.0; 4]);
        let bad = Conv1d {
            dilation: 0,
            ..spec
        };
        assert_eq!(
            conv1d_f32(&bad, &x, &k, None, &mut out, &linear),
            Err(Status::LayerParam)
        );
        assert_eq!(check(&x, &k, None, &mut out, &linear), Ok(()));
        assert_eq!(out, [3.0; 4]);
    }

    /// A causal window reaching 2**31 steps back or more is refused (it
    /// wrapped to zeros on 32-bit boards, issue 26); one step less is
    /// computed: only the last tap reads inside the input.
    #[test]
    fn conv_reach_is_limited_to_31_bits() {
        let linear = Activation::Linear;
        let x = [1.0, 2.0, 3.0, 4.0];
        let k = [0.5, 2.0]; // 2 taps x 1 channel x 1 filter
        let mut out = [7.0; 4];
        for (kernel_size, dilation) in [(2, 1 << 31), (65535, 65535), (32770, 65535)] {
            let spec = Conv1d {
                in_channels: 1,
                kernel_size,
                strides: 1,
                dilation,
                padding: Padding::Causal,
            };
            let k = vec![1.0; kernel_size];
            assert_eq!(
                conv1d_f32(&spec, &x, &k, None, &mut out, &linear),
                Err(Status::LayerParam),
                "kernel_size {kernel_size}, dilation {dilation}"
            );
            assert_eq!(out, [7.0; 4]);
        }
        let spec = Conv1d {
            in_channels: 1,
            kernel_size: 2,
            strides: 1,
            dilation: MAX_REACH,
            padding: Padding::Causal,
        };
        assert_eq!(conv1d_f32(&spec, &x, &k, None, &mut out, &linear), Ok(()));
        assert_eq!(out, [2.0, 4.0, 6.0, 8.0]);
        let spec = Conv1d {
            kernel_size: 32769,
            dilation: 65535,
            ..spec
        };
        let k = vec![2.0; 32769];
        assert_eq!(conv1d_f32(&spec, &x, &k, None, &mut out, &linear), Ok(()));
        assert_eq!(out, [2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn pooling_follows_tensorflow() {
        // 5 steps, 2 channels.
        let x = [1.0, -1.0, 3.0, -2.0, 2.0, -3.0, 5.0, -4.0, 4.0, -5.0];
        let pool = |pool, global, size, strides, padding, n_out| {
            let spec = Pool1d {
                pool,
                global,
                channels: 2,
                pool_size: size,
                strides,
                padding,
            };
            let mut out = vec![0.0; n_out];
            pool1d_f32(&spec, &x, &mut out).unwrap();
            out
        };
        assert_eq!(
            pool(Pool::Max, false, 2, 2, Padding::Valid, 4),
            [3.0, -1.0, 5.0, -3.0]
        );
        assert_eq!(
            pool(Pool::Max, false, 2, 2, Padding::Same, 6),
            [3.0, -1.0, 5.0, -3.0, 4.0, -5.0]
        );
        assert_eq!(
            pool(Pool::Average, false, 2, 2, Padding::Same, 6),
            [2.0, -1.5, 3.5, -3.5, 4.0, -5.0]
        );
        assert_eq!(
            pool(Pool::Average, false, 3, 1, Padding::Valid, 6),
            [2.0, -2.0, 10.0 / 3.0, -3.0, 11.0 / 3.0, -4.0]
        );
        assert_eq!(
            pool(Pool::Average, true, 0, 0, Padding::Valid, 2),
            [3.0, -3.0]
        );
        assert_eq!(pool(Pool::Max, true, 0, 0, Padding::Valid, 2), [5.0, -1.0]);
        let spec = Pool1d {
            pool: Pool::Max,
            global: false,
            channels: 2,
            pool_size: 6,
            strides: 1,
            padding: Padding::Valid,
        };
        assert_eq!(pool1d_f32(&spec, &x, &mut [0.0; 2]), Err(Status::XSize));
        let nan = [1.0, f32::NAN, 2.0, 0.0];
        let spec = Pool1d {
            pool: Pool::Max,
            global: true,
            channels: 2,
            pool_size: 0,
            strides: 0,
            padding: Padding::Valid,
        };
        let mut out = [0.0; 2];
        pool1d_f32(&spec, &nan, &mut out).unwrap();
        assert_eq!(out[0], 2.0);
        assert!(out[1].is_nan());
    }
}
