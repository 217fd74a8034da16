//! Conv2D, float32, Keras semantics (`channels_last`, NHWC for one
//! input): the reference forward pass and the backward pass.
//!
//! It reads `height x width x in_channels` values in row-major order
//! (`x[(y * width + x) * in_channels + c]`, as numpy's `reshape(-1)` lays
//! out an `(height, width, channels)` image) and writes `out_h x out_w x
//! filters` the same way. The kernel is Keras's, `kernel_h x kernel_w x
//! in_channels x filters`
//! (`kernel[((ky * kernel_w + kx) * in_channels + c) * filters + f]`).
//! Padding (`valid`, `same`) per axis as src/layers/window.rs's
//! [`Window2d`] gives it; padded positions are zeros.

use super::conv1d::activate_rows;
use super::window::{Plane, Window2d};
use crate::activation::{Activation, Common};
use crate::math::matvec;
use crate::Status;
use super::kind::{plane_units, LayerKind, Weights};
use super::kind::param;
use super::window::Padding;
use crate::ops_table::{layer, slot};

/// A Conv2D layer's shape: the window over the input and its channels
/// (the filters follow from the kernel's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub window: Window2d,
    pub in_channels: usize,
}

impl Conv2d {
    /// The layer's shape for `n_in` inputs and a kernel of `kernel_len`
    /// values: `(plane, filters)`. Statuses: [`Window2d::plane`]'s
    /// (`LayerParam`, `XSize`), `LayerParam` for no channels, `XSize`
    /// unless `n_in == height * width * in_channels`, `KernelSize` unless
    /// the kernel is a whole number (at least 1) of filters.
    pub fn shape(&self, n_in: usize, kernel_len: usize) -> Result<(Plane, usize), Status> {
        if self.in_channels == 0 {
            return Err(Status::LayerParam);
        }
        let plane = self.window.plane()?;
        let n = self.window.positions()?.checked_mul(self.in_channels);
        if n != Some(n_in) {
            return Err(Status::XSize);
        }
        let (kh, kw) = self.window.kernel_size;
        let rows = kh.saturating_mul(kw).saturating_mul(self.in_channels);
        let filters = kernel_len.checked_div(rows).unwrap_or(0);
        if filters == 0 || !kernel_len.is_multiple_of(rows) {
            return Err(Status::KernelSize);
        }
        Ok((plane, filters))
    }

    /// Checks the sizes (x, kernel, bias, out) and the activation (glu is
    /// refused); returns [`Conv2d::shape`].
    pub fn check(
        &self,
        n_in: usize,
        kernel_len: usize,
        bias_len: Option<usize>,
        out_len: usize,
        act: &Activation,
    ) -> Result<(Plane, usize), Status> {
        check_conv_out(self.shape(n_in, kernel_len)?, out_len, bias_len, act)
    }
}

/// The checks a float 2-D convolution's outputs share (Conv2D,
/// DepthwiseConv2D), after its shape `(plane, channels)`: `Activation`
/// for glu (which would halve the channels), [`Plane::check_out`]'s
/// (`OutSize`, `BiasSize`) for `channels` output channels, then the
/// activation's parameters; returns the shape.
pub(crate) fn check_conv_out(
    (plane, channels): (Plane, usize),
    out_len: usize,
    bias_len: Option<usize>,
    act: &Activation,
) -> Result<(Plane, usize), Status> {
    if matches!(act, Activation::Glu) {
        return Err(Status::Activation);
    }
    plane.check_out(channels, out_len, bias_len)?;
    act.validate()?;
    Ok((plane, channels))
}

/// Keras `Conv2D`: `out[oy, ox, f] = act(sum over taps (ky, kx) and
/// channels c of x[oy * sh + ky * dh - top, ox * sw + kx * dw - left, c] *
/// kernel[ky, kx, c, f] + bias[f])`, the taps outside the input counting
/// as zero. Vector activations (softmax, ...) work over each position's
/// `filters` outputs (Keras's `axis=-1`). Nothing is written unless every
/// check passes.
pub fn conv2d_f32(
    spec: &Conv2d,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let (plane, filters) = spec.check(
        x.len(),
        kernel.len(),
        bias.map(<[f32]>::len),
        out.len(),
        act,
    )?;
    run_conv2d(spec, &plane, filters, x, kernel, bias, out);
    activate_rows(out, filters, act)
}

/// [`conv2d_f32`]'s sums (no activation) on arguments [`Conv2d::check`]
/// passed.
fn run_conv2d(
    spec: &Conv2d,
    plane: &Plane,
    filters: usize,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let cin = spec.in_channels.max(1);
    let filters = filters.max(1);
    let tap_len = cin * filters; // one (ky, kx) of the kernel
    for (pos, row) in out.chunks_exact_mut(filters).enumerate() {
        let run = |(t, i, n): (usize, usize, usize)| {
            (x.get(i * cin..(i + n) * cin).unwrap_or(&[]), kernel.get(t * tap_len..(t + n) * tap_len).unwrap_or(&[]))
        };
        let mut runs = spec.window.runs_at(plane, pos);
        if let (Some(one), None) = (runs.next(), runs.next()) {
            // one kernel row in range (a 1x1 convolution, a height-1 one):
            // the dense layer's kernel, as Conv1D
            let (xs, ks) = run(one);
            matvec::linear(xs, ks, bias, row, Some(Common::Linear));
            continue;
        }
        // each kernel row in range (none: the bias alone) continues the
        // sums on the dense layer's kernel (its taps are contiguous in the
        // input and the kernel), then the bias: the plain loop's order
        row.fill(0.0);
        for (xs, ks) in spec.window.runs_at(plane, pos).map(run) {
            matvec::accumulate(xs, ks, row);
        }
        if let Some(b) = bias {
            for (o, &bv) in row.iter_mut().zip(b) {
                *o += bv;
            }
        }
    }
}

/// The checks a 2-D convolution's backward pass shares (Conv2D,
/// DepthwiseConv2D), after [`Conv2d::check`]'s or [`Depthwise2d`]'s on
/// `x`, the kernel, `dz` (as the outputs) and `gb` (as the bias):
/// [`Status::KernelSize`] unless `gk` holds the kernel's `kernel_len`
/// values, [`Status::XSize`] unless `dx` holds `x_len`.
///
/// [`Depthwise2d`]: super::depthwise2d::Depthwise2d
pub(crate) fn check_grads(
    kernel_len: usize,
    x_len: usize,
    gk: &Option<&mut [f32]>,
    dx: &Option<&mut [f32]>,
) -> Result<(), Status> {
    if gk.as_ref().is_some_and(|g| g.len() != kernel_len) {
        return Err(Status::KernelSize);
    }
    if dx.as_ref().is_some_and(|d| d.len() != x_len) {
        return Err(Status::XSize);
    }
    Ok(())
}

/// `gb += scale * (the sum of dz's rows of `width` values)` (a
/// convolution's bias gradient).
pub(crate) fn add_bias_grad(gb: &mut [f32], dz: &[f32], width: usize, scale: f32) {
    for dzt in dz.chunks_exact(width.max(1)) {
        for (g, &d) in gb.iter_mut().zip(dzt) {
            *g += scale * d;
        }
    }
}

/// Conv2D's backward pass for one sample, in [`conv1d_backward_f32`]'s
/// contract: from `dz`, the gradient of the loss at the layer's
/// pre-activations (`out_h x out_w x filters`; the activation's backward
/// pass is taken before), `gk += scale * dL/dkernel` and `gb += scale *
/// dL/dbias` (Keras's layouts), each if given, and `dx = dL/dx` (if given;
/// not scaled; the padded positions' gradients are dropped). Statuses:
/// [`Conv2d::check`]'s (`dz` as the outputs, `gb` as the bias), then
/// `KernelSize` for a `gk` that is not the kernel's length, `XSize` for a
/// `dx` that is not `x`'s. Nothing is written unless every size fits.
///
/// [`conv1d_backward_f32`]: super::conv1d::conv1d_backward_f32
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_f32(
    spec: &Conv2d,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    scale: f32,
    gk: Option<&mut [f32]>,
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    let bias_len = gb.as_ref().map(|b| b.len());
    let (plane, filters) = spec.check(
        x.len(),
        kernel.len(),
        bias_len,
        dz.len(),
        &Activation::Linear,
    )?;
    check_grads(kernel.len(), x.len(), &gk, &dx)?;
    // (Nonzero after the checks; `max(1)` for the compiler.)
    let cin = spec.in_channels.max(1);
    let filters = filters.max(1);
    let tap_len = cin * filters; // one (ky, kx) of the kernel
    let (mut gk, mut dx) = (gk, dx);
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    // one walk over the taps for both (the windows' iterator once in flash)
    for (pos, dzt) in dz.chunks_exact(filters).enumerate() {
        for (t, i) in spec.window.taps_at(&plane, pos) {
            if let Some(gk) = gk.as_deref_mut() {
                let xs = x.get(i * cin..(i + 1) * cin).unwrap_or(&[]);
                let taps = gk.get_mut(t * tap_len..(t + 1) * tap_len).unwrap_or(&mut []);
                for (&xv, g) in xs.iter().zip(taps.chunks_exact_mut(filters)) {
                    let sx = xv * scale;
                    for (g, &d) in g.iter_mut().zip(dzt) {
                        *g += sx * d;
                    }
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                let taps = kernel.get(t * tap_len..(t + 1) * tap_len).unwrap_or(&[]);
                let row = dx.get_mut(i * cin..(i + 1) * cin).unwrap_or(&mut []);
                for (o, w) in row.iter_mut().zip(taps.chunks_exact(filters)) {
                    *o += w.iter().zip(dzt).map(|(w, d)| w * d).sum::<f32>();
                }
            }
        }
    }
    if let Some(gb) = gb {
        add_bias_grad(gb, dz, filters, scale);
    }
    Ok(())
}

impl LayerKind for Conv2d {
    /// `params`: height, width, in_channels, then the registry's slots
    /// (kernel_h, kernel_w, strides_h, strides_w, padding, dilation_h,
    /// dilation_w).
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        if kind != layer::CONV2D {
            return None;
        }
        use slot::conv2d::*;
        let p = |i| param(params, i);
        let slot = |k| p(AT + k);
        Some(Padding::from_code(slot(PADDING) as u32).map(|padding| Conv2d {
            window: Window2d {
                height: p(0),
                width: p(1),
                kernel_size: (slot(KERNEL_SIZE_H), slot(KERNEL_SIZE_W)),
                strides: (slot(STRIDES_H), slot(STRIDES_W)),
                dilation: (slot(DILATION_RATE_H), slot(DILATION_RATE_W)),
                padding,
            },
            in_channels: p(2),
        }))
    }

    fn weights(&self) -> Weights {
        Weights::Trained
    }

    fn check(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, out_len: usize, act: &Activation) -> Result<(), Status> {
        Conv2d::check(self, n_in, kernel_len, bias_len, out_len, act).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, act: &Activation) -> Result<(usize, usize), Status> {
        let (plane, filters) = self.shape(n_in, kernel_len)?;
        let units = plane_units(plane.out, filters)?;
        Conv2d::check(self, n_in, kernel_len, bias_len, units, act)?;
        Ok((units, filters))
    }

    fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status> {
        let (kh, kw) = self.window.kernel_size;
        let rows = kh.saturating_mul(kw).saturating_mul(self.in_channels);
        Ok((kernel_len, kernel_len.checked_div(rows).unwrap_or(0)))
    }

    fn forward_f32(&self, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32], act: &Activation) -> Result<(), Status> {
        conv2d_f32(self, x, kernel, bias, out, act)
    }

    fn backward_f32(&self, x: &[f32], kernel: &[f32], dy: &[f32], scale: f32, gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        conv2d_backward_f32(self, x, kernel, dy, scale, gk, gb, dx)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::conv1d::{conv1d_f32, Conv1d};
    use crate::layers::window::Padding;

    /// A Conv2D of `k` kernels, strides and dilation 1, over `h x w x cin`
    /// (also conv2d_s8's tests').
    pub(crate) fn spec(h: usize, w: usize, cin: usize, k: (usize, usize), padding: Padding) -> Conv2d {
        Conv2d {
            window: Window2d::undilated((h, w), k, (1, 1), padding),
            in_channels: cin,
        }
    }

    #[test]
    fn hand_checked() {
        // 3x3 input, one channel, 2x2 kernel of ones, valid: window sums
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut out = [0.0f32; 4];
        let s = spec(3, 3, 1, (2, 2), Padding::Valid);
        conv2d_f32(
            &s,
            &x,
            &[1.0; 4],
            Some(&[0.5]),
            &mut out,
            &Activation::Linear,
        )
        .unwrap();
        assert_eq!(out, [12.5, 16.5, 24.5, 28.5]);
        // same, 3x3 kernel with only the centre: the identity
        let mut k = [0.0f32; 9];
        k[4] = 1.0;
        let mut out = [0.0f32; 9];
        let s = spec(3, 3, 1, (3, 3), Padding::Same);
        conv2d_f32(&s, &x, &k, None, &mut out, &Activation::Linear).unwrap();
        assert_eq!(out, x);
        // the top-left tap only: each output reads the input up and left
        let mut k = [0.0f32; 9];
        k[0] = 1.0;
        conv2d_f32(&s, &x, &k, None, &mut out, &Activation::Linear).unwrap();
        assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 4.0, 5.0]);
    }

    /// With height 1 and a kernel of height 1, Conv2D is Conv1D over the
    /// width (the same sums in the same order when dilation > 1; here
    /// compared within float rounding).
    #[test]
    fn height_one_is_conv1d() {
        let x: Vec<f32> = (0..7 * 3)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let k: Vec<f32> = (0..3 * 3 * 2)
            .map(|i| ((i * 53 % 17) as f32 - 8.0) / 5.0)
            .collect();
        for (padding, strides, dilation) in [
            (Padding::Valid, 1, 1),
            (Padding::Same, 2, 1),
            (Padding::Same, 1, 2),
            (Padding::Valid, 2, 3),
        ] {
            let s2 = Conv2d {
                window: Window2d {
                    height: 1,
                    width: 7,
                    kernel_size: (1, 3),
                    strides: (1, strides),
                    dilation: (1, dilation),
                    padding,
                },
                in_channels: 3,
            };
            let s1 = Conv1d {
                in_channels: 3,
                kernel_size: 3,
                strides,
                dilation,
                padding,
            };
            let (plane, _) = s2.shape(x.len(), k.len()).unwrap();
            let n = plane.out.1 * 2;
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            conv2d_f32(
                &s2,
                &x,
                &k,
                Some(&[0.25, -1.0]),
                &mut a,
                &Activation::Linear,
            )
            .unwrap();
            conv1d_f32(
                &s1,
                &x,
                &k,
                Some(&[0.25, -1.0]),
                &mut b,
                &Activation::Linear,
            )
            .unwrap();
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() <= 1e-5, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let s = spec(3, 2, 2, (2, 2), Padding::Valid); // 2x1 out
        let x = [1.0f32; 12];
        let k = [1.0f32; 24]; // 3 filters
        let mut out = [9.0f32; 6];
        let lin = Activation::Linear;
        let bad = |r: Result<(), Status>| r.unwrap_err();
        assert_eq!(
            bad(conv2d_f32(&s, &x[..11], &k, None, &mut out, &lin)),
            Status::XSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &[], &k, None, &mut out, &lin)),
            Status::XSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &x, &k[..23], None, &mut out, &lin)),
            Status::KernelSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &x, &[], None, &mut out, &lin)),
            Status::KernelSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &x, &k, None, &mut out[..5], &lin)),
            Status::OutSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &x, &k, Some(&[1.0]), &mut out, &lin)),
            Status::BiasSize
        );
        assert_eq!(
            bad(conv2d_f32(&s, &x, &k, None, &mut out, &Activation::Glu)),
            Status::Activation
        );
        let small = spec(1, 2, 2, (2, 2), Padding::Valid); // the window does not fit
        assert_eq!(
            bad(conv2d_f32(&small, &x[..4], &k, None, &mut out, &lin)),
            Status::XSize
        );
        let zero_h = spec(0, 2, 2, (1, 1), Padding::Same);
        assert_eq!(
            bad(conv2d_f32(&zero_h, &[], &k[..6], None, &mut out, &lin)),
            Status::XSize
        );
        for mut b in [s; 6] {
            b.in_channels = 0;
            assert_eq!(
                bad(conv2d_f32(&b, &x, &k, None, &mut out, &lin)),
                Status::LayerParam
            );
        }
        let mut params = [s; 5];
        params[0].window.kernel_size.0 = 0;
        params[1].window.strides.1 = 0;
        params[2].window.dilation.0 = 0;
        params[3].window.padding = Padding::Causal;
        params[4].window.dilation.1 = usize::MAX;
        for b in params {
            assert_eq!(
                bad(conv2d_f32(&b, &x, &k, None, &mut out, &lin)),
                Status::LayerParam
            );
        }
        assert_eq!(out, [9.0; 6]);
    }
}
