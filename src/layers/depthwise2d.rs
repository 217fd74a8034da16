//! DepthwiseConv2D, float32, Keras semantics (`channels_last`): the
//! reference forward pass and the backward pass.
//!
//! Each input channel is convolved with its own `depth_multiplier`
//! filters: output channel `c * depth_multiplier + m` reads input channel
//! `c` only. Layouts: `x` is `height x width x in_channels` row-major (as
//! src/layers/conv2d.rs), `out` `out_h x out_w x (in_channels *
//! depth_multiplier)`, the kernel Keras's `depthwise_kernel`, `kernel_h x
//! kernel_w x in_channels x depth_multiplier` (so `kernel[(ky * kernel_w +
//! kx) * out_channels + c * depth_multiplier + m]`), the bias one value per
//! output channel. Padding as src/layers/window.rs's [`Window2d`] gives it;
//! padded positions are zeros.

use super::conv1d::activate_rows;
use super::conv2d::{add_bias_grad, check_conv_out, check_grads};
use super::window::{Plane, Window2d};
use crate::activation::Activation;
use crate::Status;
use super::kind::{plane_units, LayerKind, Weights};
use super::kind::param;
use super::window::Padding;
use crate::ops_table::{layer, slot};

/// A DepthwiseConv2D layer's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depthwise2d {
    pub window: Window2d,
    pub in_channels: usize,
    pub depth_multiplier: usize,
}

impl Depthwise2d {
    /// The layer's shape for `n_in` inputs and a kernel of `kernel_len`
    /// values: `(plane, out_channels)`, `out_channels = in_channels *
    /// depth_multiplier`. Statuses: [`Window2d::plane`]'s (`LayerParam`,
    /// `XSize`), `LayerParam` for no channels or a zero multiplier, `XSize`
    /// unless `n_in == height * width * in_channels`, `KernelSize` unless
    /// `kernel_len == kernel_h * kernel_w * out_channels`.
    pub fn shape(&self, n_in: usize, kernel_len: usize) -> Result<(Plane, usize), Status> {
        let cout = self
            .in_channels
            .checked_mul(self.depth_multiplier)
            .filter(|&c| c != 0)
            .ok_or(Status::LayerParam)?;
        let plane = self.window.plane()?;
        let n = self.window.positions()?.checked_mul(self.in_channels);
        if n != Some(n_in) {
            return Err(Status::XSize);
        }
        let (kh, kw) = self.window.kernel_size;
        if kh.checked_mul(kw).and_then(|k| k.checked_mul(cout)) != Some(kernel_len) {
            return Err(Status::KernelSize);
        }
        Ok((plane, cout))
    }

    /// Checks the sizes (x, kernel, bias, out) and the activation (glu is
    /// refused); returns [`Depthwise2d::shape`].
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

/// Keras `DepthwiseConv2D`: `out[oy, ox, c * dm + m] = act(sum over taps
/// (ky, kx) of x[oy * sh + ky * dh - top, ox * sw + kx * dw - left, c] *
/// kernel[ky, kx, c, m] + bias[c * dm + m])`, the taps outside the input
/// counting as zero; vector activations over each position's outputs.
/// Nothing is written unless every check passes.
pub fn depthwise2d_f32(
    spec: &Depthwise2d,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let (plane, cout) = spec.check(
        x.len(),
        kernel.len(),
        bias.map(<[f32]>::len),
        out.len(),
        act,
    )?;
    // (Nonzero after the checks; `max(1)` for the compiler.)
    let cin = spec.in_channels.max(1);
    let dm = spec.depth_multiplier.max(1);
    let cout = cout.max(1);
    for (pos, row) in out.chunks_exact_mut(cout).enumerate() {
        row.fill(0.0);
        for (t, i) in spec.window.taps_at(&plane, pos) {
            let xs = x.get(i * cin..(i + 1) * cin).unwrap_or(&[]);
            let taps = kernel.get(t * cout..(t + 1) * cout).unwrap_or(&[]);
            // output channel oc reads channel oc / dm (indices, not chunks
            // zipped with chunks: no length division outside this function)
            for (oc, (o, &wv)) in row.iter_mut().zip(taps).enumerate() {
                *o += xs.get(oc / dm).copied().unwrap_or(0.0) * wv;
            }
        }
        if let Some(b) = bias {
            for (o, &bv) in row.iter_mut().zip(b) {
                *o += bv;
            }
        }
    }
    activate_rows(out, cout, act)
}

/// DepthwiseConv2D's backward pass for one sample, in
/// [`conv2d_backward_f32`]'s contract: from `dz` (`out_h x out_w x
/// out_channels`, at the pre-activations), `gk += scale * dL/dkernel` and
/// `gb += scale * dL/dbias` (Keras's layouts), each if given, and `dx =
/// dL/dx` (if given; not scaled): each input channel's gradient sums its
/// `depth_multiplier` output channels'. Statuses: [`Depthwise2d::check`]'s
/// (`dz` as the outputs, `gb` as the bias), then `KernelSize` for a `gk`
/// that is not the kernel's length, `XSize` for a `dx` that is not `x`'s.
/// Nothing is written unless every size fits.
///
/// [`conv2d_backward_f32`]: super::conv2d::conv2d_backward_f32
#[allow(clippy::too_many_arguments)]
pub fn depthwise2d_backward_f32(
    spec: &Depthwise2d,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    scale: f32,
    gk: Option<&mut [f32]>,
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    let bias_len = gb.as_ref().map(|b| b.len());
    let (plane, cout) = spec.check(
        x.len(),
        kernel.len(),
        bias_len,
        dz.len(),
        &Activation::Linear,
    )?;
    check_grads(kernel.len(), x.len(), &gk, &dx)?;
    // (Nonzero after the checks; `max(1)` for the compiler.)
    let cin = spec.in_channels.max(1);
    let dm = spec.depth_multiplier.max(1);
    let cout = cout.max(1);
    let (mut gk, mut dx) = (gk, dx);
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    // one walk over the taps for both (the windows' iterator once in flash)
    for (pos, dzt) in dz.chunks_exact(cout).enumerate() {
        for (t, i) in spec.window.taps_at(&plane, pos) {
            if let Some(gk) = gk.as_deref_mut() {
                let xs = x.get(i * cin..(i + 1) * cin).unwrap_or(&[]);
                let taps = gk.get_mut(t * cout..(t + 1) * cout).unwrap_or(&mut []);
                for (oc, (g, &d)) in taps.iter_mut().zip(dzt).enumerate() {
                    *g += xs.get(oc / dm).copied().unwrap_or(0.0) * scale * d;
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                let taps = kernel.get(t * cout..(t + 1) * cout).unwrap_or(&[]);
                let row = dx.get_mut(i * cin..(i + 1) * cin).unwrap_or(&mut []);
                for (oc, (&w, &d)) in taps.iter().zip(dzt).enumerate() {
                    if let Some(o) = row.get_mut(oc / dm) {
                        *o += w * d;
                    }
                }
            }
        }
    }
    if let Some(gb) = gb {
        add_bias_grad(gb, dz, cout, scale);
    }
    Ok(())
}

impl LayerKind for Depthwise2d {
    /// `params`: height, width, channels, then the registry's slots.
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        use slot::depthwise_conv2d::*;
        if kind != layer::DEPTHWISE_CONV2D {
            return None;
        }
        let p = |i| param(params, i);
        let slot = |k| p(AT + k);
        Some(Padding::from_code(slot(PADDING) as u32).map(|padding| Depthwise2d {
            window: Window2d {
                height: p(0),
                width: p(1),
                kernel_size: (slot(KERNEL_SIZE_H), slot(KERNEL_SIZE_W)),
                strides: (slot(STRIDES_H), slot(STRIDES_W)),
                dilation: (slot(DILATION_RATE_H), slot(DILATION_RATE_W)),
                padding,
            },
            in_channels: p(2),
            depth_multiplier: slot(DEPTH_MULTIPLIER),
        }))
    }

    fn weights(&self) -> Weights {
        Weights::Trained
    }

    fn check(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, out_len: usize, act: &Activation) -> Result<(), Status> {
        Depthwise2d::check(self, n_in, kernel_len, bias_len, out_len, act).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, act: &Activation) -> Result<(usize, usize), Status> {
        let (plane, cout) = self.shape(n_in, kernel_len)?;
        let units = plane_units(plane.out, cout)?;
        Depthwise2d::check(self, n_in, kernel_len, bias_len, units, act)?;
        Ok((units, cout))
    }

    fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status> {
        Ok((kernel_len, self.in_channels.saturating_mul(self.depth_multiplier)))
    }

    fn forward_f32(&self, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32], act: &Activation) -> Result<(), Status> {
        depthwise2d_f32(self, x, kernel, bias, out, act)
    }

    fn backward_f32(&self, x: &[f32], kernel: &[f32], dy: &[f32], scale: f32, gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        depthwise2d_backward_f32(self, x, kernel, dy, scale, gk, gb, dx)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::conv2d::{conv2d_f32, Conv2d};
    use crate::layers::window::Padding;

    /// A `k` window, strides and dilation 1, over `h x w` (also
    /// depthwise2d_s8's tests').
    pub(crate) fn window(h: usize, w: usize, k: (usize, usize), padding: Padding) -> Window2d {
        Window2d::undilated((h, w), k, (1, 1), padding)
    }

    /// A depthwise convolution is a Conv2D whose kernel is zero between
    /// different channels.
    #[test]
    fn is_a_conv2d_with_a_block_kernel() {
        let (h, w, cin, dm) = (5, 4, 3, 2);
        let (kh, kw) = (3, 2);
        let cout = cin * dm;
        let x: Vec<f32> = (0..h * w * cin)
            .map(|i| ((i * 37 % 29) as f32 - 14.0) / 8.0)
            .collect();
        let k: Vec<f32> = (0..kh * kw * cout)
            .map(|i| ((i * 11 % 13) as f32 - 6.0) / 4.0)
            .collect();
        let bias: Vec<f32> = (0..cout).map(|i| i as f32 * 0.5 - 1.0).collect();
        // Conv2D's kernel: kh x kw x cin x cout, nonzero where oc / dm == c
        let mut full = vec![0.0f32; kh * kw * cin * cout];
        for t in 0..kh * kw {
            for oc in 0..cout {
                full[(t * cin + oc / dm) * cout + oc] = k[t * cout + oc];
            }
        }
        for padding in [Padding::Valid, Padding::Same] {
            let win = Window2d {
                strides: (2, 1),
                ..window(h, w, (kh, kw), padding)
            };
            let d = Depthwise2d {
                window: win,
                in_channels: cin,
                depth_multiplier: dm,
            };
            let c = Conv2d {
                window: win,
                in_channels: cin,
            };
            let (plane, _) = d.shape(x.len(), k.len()).unwrap();
            let n = plane.out.0 * plane.out.1 * cout;
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            let relu = Activation::Relu {
                negative_slope: 0.0,
                max_value: None,
                threshold: 0.0,
            };
            depthwise2d_f32(&d, &x, &k, Some(&bias), &mut a, &relu).unwrap();
            conv2d_f32(&c, &x, &full, Some(&bias), &mut b, &relu).unwrap();
            // the zero products add nothing: the same sums, the same order
            assert_eq!(a, b);
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let d = Depthwise2d {
            window: window(3, 3, (2, 2), Padding::Valid), // 2x2 out
            in_channels: 2,
            depth_multiplier: 2,
        };
        let x = [1.0f32; 18];
        let k = [1.0f32; 16];
        let mut out = [9.0f32; 16];
        let lin = Activation::Linear;
        let bad = |r: Result<(), Status>| r.unwrap_err();
        assert_eq!(
            bad(depthwise2d_f32(&d, &x[..17], &k, None, &mut out, &lin)),
            Status::XSize
        );
        assert_eq!(
            bad(depthwise2d_f32(&d, &x, &k[..15], None, &mut out, &lin)),
            Status::KernelSize
        );
        assert_eq!(
            bad(depthwise2d_f32(&d, &x, &k, None, &mut out[..15], &lin)),
            Status::OutSize
        );
        assert_eq!(
            bad(depthwise2d_f32(&d, &x, &k, Some(&[1.0; 2]), &mut out, &lin)),
            Status::BiasSize
        );
        assert_eq!(
            bad(depthwise2d_f32(
                &d,
                &x,
                &k,
                None,
                &mut out,
                &Activation::Glu
            )),
            Status::Activation
        );
        for (cin, dm) in [(0, 2), (2, 0), (usize::MAX, 2)] {
            let b = Depthwise2d {
                in_channels: cin,
                depth_multiplier: dm,
                ..d
            };
            assert_eq!(
                bad(depthwise2d_f32(&b, &x, &k, None, &mut out, &lin)),
                Status::LayerParam
            );
        }
        assert_eq!(out, [9.0; 16]);
    }
}
