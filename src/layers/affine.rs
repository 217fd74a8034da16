//! Per-channel scale and offset, `out = x * scale[c] + offset[c]` over the
//! last axis: the inference form of Keras's `Normalization`, `Rescaling`
//! and `BatchNormalization` where the converter cannot fold it into the
//! layer next to it (after a non-linear activation with no Dense after it,
//! before a same-padded Conv1D, ...).

use crate::Status;
use super::kind::{LayerKind, Weights};
use crate::activation::Activation;
use super::kind::param;
use crate::ops_table::layer;

/// `out[i] = x[i] * scale[i % c] + offset[i % c]` with `c = scale.len()`
/// channels: `x` is `steps x c` values (or `c` features), `offset` and
/// `scale` have `c` values, `out` as many as `x`. Nothing is written unless
/// the sizes fit.
pub fn affine_f32(x: &[f32], scale: &[f32], offset: &[f32], out: &mut [f32]) -> Result<(), Status> {
    let c = scale.len();
    if c == 0 {
        return Err(Status::KernelSize);
    }
    if x.is_empty() || !x.len().is_multiple_of(c) {
        return Err(Status::XSize);
    }
    if out.len() != x.len() {
        return Err(Status::OutSize);
    }
    if offset.len() != c {
        return Err(Status::BiasSize);
    }
    for (xs, os) in x.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        for (((o, &v), &s), &b) in os.iter_mut().zip(xs).zip(scale).zip(offset) {
            *o = v * s + b;
        }
    }
    Ok(())
}

/// The backward pass of [`affine_f32`]: `dx[i] = dy[i] * scale[i % c]`.
pub fn affine_backward_f32(dy: &[f32], scale: &[f32], dx: &mut [f32]) -> Result<(), Status> {
    let c = scale.len();
    if c == 0 {
        return Err(Status::KernelSize);
    }
    if dy.is_empty() || !dy.len().is_multiple_of(c) {
        return Err(Status::OutSize);
    }
    if dx.len() != dy.len() {
        return Err(Status::XSize);
    }
    for (gs, ds) in dy.chunks_exact(c).zip(dx.chunks_exact_mut(c)) {
        for ((d, &g), &s) in ds.iter_mut().zip(gs).zip(scale) {
            *d = g * s;
        }
    }
    Ok(())
}

/// An affine layer: `channels` scales (the kernel) and offsets (the bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Affine {
    pub channels: usize,
}

impl LayerKind for Affine {
    /// `params`: channels (>= 1; the other five 0).
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        if kind != layer::AFFINE {
            return None;
        }
        let channels = param(params, 0);
        if channels == 0 || (1..6).any(|i| param(params, i) != 0) {
            return Some(Err(Status::LayerParam));
        }
        Some(Ok(Affine { channels }))
    }

    fn weights(&self) -> Weights {
        Weights::Fixed
    }

    /// Statuses, in this order: `KernelSize` unless the kernel has
    /// `channels` values, `XSize` unless `n_in` is a whole number (>= 1)
    /// of them, `OutSize` unless `out_len == n_in`, `BiasSize` unless the
    /// bias has `channels` values.
    fn check(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, out_len: usize, _: &Activation) -> Result<(), Status> {
        let c = self.channels;
        if kernel_len != c {
            return Err(Status::KernelSize);
        }
        if n_in == 0 || !n_in.is_multiple_of(c) {
            return Err(Status::XSize);
        }
        if out_len != n_in {
            return Err(Status::OutSize);
        }
        if bias_len != Some(c) {
            return Err(Status::BiasSize);
        }
        Ok(())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, _: &Activation) -> Result<(usize, usize), Status> {
        let c = self.channels;
        if kernel_len != c || c == 0 {
            return Err(Status::KernelSize);
        }
        if bias_len != Some(c) {
            return Err(Status::BiasSize);
        }
        if !n_in.is_multiple_of(c) {
            return Err(Status::XSize);
        }
        Ok((n_in, n_in))
    }

    fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status> {
        if kernel_len != self.channels {
            return Err(Status::KernelSize);
        }
        Ok((kernel_len, 0))
    }

    fn forward_f32(&self, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32], _: &Activation) -> Result<(), Status> {
        affine_f32(x, kernel, bias.unwrap_or(&[]), out)
    }

    fn backward_f32(&self, _: &[f32], kernel: &[f32], dy: &[f32], _: f32, _: Option<&mut [f32]>, _: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        affine_backward_f32(dy, kernel, dx.ok_or(Status::Null)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_over_the_last_axis() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 steps x 2 channels
        let mut out = [0.0; 6];
        affine_f32(&x, &[2.0, -1.0], &[0.5, 10.0], &mut out).unwrap();
        assert_eq!(out, [2.5, 8.0, 6.5, 6.0, 10.5, 4.0]);
    }

    #[test]
    fn backward_scales_per_channel() {
        let mut dx = [0.0; 4];
        affine_backward_f32(&[1.0, 1.0, 2.0, -3.0], &[2.0, -1.0], &mut dx).unwrap();
        assert_eq!(dx, [2.0, -1.0, 4.0, 3.0]);
        assert_eq!(
            affine_backward_f32(&[1.0; 3], &[2.0, -1.0], &mut dx[..3]),
            Err(Status::OutSize)
        );
        assert_eq!(
            affine_backward_f32(&[1.0; 4], &[2.0, -1.0], &mut dx[..2]),
            Err(Status::XSize)
        );
    }

    #[test]
    fn refusals_write_nothing() {
        let mut out = [7.0; 4];
        assert_eq!(
            affine_f32(&[1.0; 3], &[1.0, 1.0], &[0.0, 0.0], &mut out[..3]),
            Err(Status::XSize)
        );
        assert_eq!(
            affine_f32(&[1.0; 4], &[1.0, 1.0], &[0.0, 0.0], &mut out[..2]),
            Err(Status::OutSize)
        );
        assert_eq!(
            affine_f32(&[1.0; 4], &[1.0, 1.0], &[0.0], &mut out),
            Err(Status::BiasSize)
        );
        assert_eq!(
            affine_f32(&[1.0; 4], &[], &[], &mut out),
            Err(Status::KernelSize)
        );
        assert_eq!(out, [7.0; 4]);
    }
}
