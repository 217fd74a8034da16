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

impl Conv1d {
    /// The window's extent in input steps.
    fn window(&self) -> Result<usize, Status> {
        self.kernel_size
            .checked_sub(1)
            .and_then(|k| k.checked_mul(self.dilation))
            .and_then(|k| k.checked_add(1))
            .filter(|_| self.dilation != 0)
            .ok_or(Status::LayerParam)
    }

    /// Checks the sizes (in the header's order: x, kernel, out, bias) and
    /// the activation (glu, which halves the filters, is refused);
    /// returns `(steps_in, steps_out, pad_before, filters)`.
    pub fn check(
        &self,
        n_in: usize,
        kernel_len: usize,
        bias_len: Option<usize>,
        out_len: usize,
        act: &Activation,
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
        Ok((steps, steps_out, pad, filters))
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
    let d = spec.dilation as isize;
    // (Checked by Conv1d::check; tested here too, where the compiler sees
    // it, so that no division or chunking by zero has a panic path.)
    if filters == 0 || d <= 0 {
        return Err(Status::LayerParam);
    }
    let row_len = cin * filters; // one tap of the kernel
    for (t, row) in out.chunks_exact_mut(filters).enumerate() {
        // Input step of tap k: start + k * dilation (may be out of range).
        let start = (t * spec.strides) as isize - pad as isize;
        // The taps in range: k0..k1.
        let k0 = if start < 0 { ((-start) + d - 1) / d } else { 0 } as usize;
        let past = steps as isize - start; // taps need start + k * d < steps
        let k1 = if past <= 0 {
            0
        } else {
            ((past + d - 1) / d) as usize
        }
        .min(spec.kernel_size);
        if k0 >= k1 {
            for (j, o) in row.iter_mut().enumerate() {
                *o = bias.and_then(|b| b.get(j)).map_or(0.0, |b| *b);
            }
            continue;
        }
        let first = (start + k0 as isize * d) as usize; // input step of tap k0
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

/// Applies `act` to `out`, row by row (of `width` values) for the vector
/// activations.
fn activate_rows(out: &mut [f32], width: usize, act: &Activation) -> Result<(), Status> {
    if matches!(act, Activation::Linear) {
        return Ok(());
    }
    if !act.is_elementwise() {
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
    /// Checks the sizes; returns `(steps_in, steps_out, pad_before, window)`.
    pub fn check(
        &self,
        n_in: usize,
        out_len: usize,
    ) -> Result<(usize, usize, usize, usize), Status> {
        if self.channels == 0 || (!self.global && self.padding == Padding::Causal) {
            return Err(Status::LayerParam);
        }
        if n_in == 0 || !n_in.is_multiple_of(self.channels) {
            return Err(Status::XSize);
        }
        let steps = n_in / self.channels;
        let (steps_out, pad, window) = if self.global {
            (1, 0, steps)
        } else {
            let (n, pad) = out_steps(steps, self.pool_size, self.strides, self.padding)?;
            (n, pad, self.pool_size)
        };
        if steps_out.checked_mul(self.channels) != Some(out_len) {
            return Err(Status::OutSize);
        }
        Ok((steps, steps_out, pad, window))
    }
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
        let start = (t * strides) as isize - pad as isize;
        let s0 = start.max(0) as usize;
        let s1 = ((start + window as isize).max(0) as usize).min(steps);
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

    #[test]
    fn conv_matches_the_definition_for_every_option() {
        let mut cases = 0;
        for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
            for (k, s, d) in [
                (1, 1, 1),
                (3, 1, 1),
                (3, 2, 1),
                (2, 1, 2),
                (3, 3, 2),
                (5, 1, 1),
            ] {
                for (steps, cin, filters) in [(9, 2, 3), (4, 1, 1), (12, 3, 5)] {
                    let spec = Conv1d {
                        in_channels: cin,
                        kernel_size: k,
                        strides: s,
                        dilation: d,
                        padding,
                    };
                    let window = (k - 1) * d + 1;
                    if padding == Padding::Valid && steps < window {
                        continue;
                    }
                    let x = values(steps * cin, 7 + cases);
                    let kernel = values(k * cin * filters, 99 + cases);
                    let bias = values(filters, 5);
                    for bias in [None, Some(&bias[..])] {
                        let want = conv_reference(&spec, &x, &kernel, bias);
                        let mut out = vec![0.0; want.len()];
                        conv1d_f32(&spec, &x, &kernel, bias, &mut out, &Activation::Linear)
                            .unwrap();
                        for (a, b) in out.iter().zip(&want) {
                            assert!((a - b).abs() <= 1e-5, "{spec:?} {a} {b}");
                        }
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases > 40);
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
