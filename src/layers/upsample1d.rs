//! UpSampling1D, float32, Keras semantics: `x` is `steps x channels`
//! row-major (as src/layers/conv1d.rs), `out` `(steps * size) x channels`,
//! each step repeated `size` times, `out[t * size + r, c] = x[t, c]`; and
//! its backward pass, the sum of each step's `size` copies' gradients.

use crate::Status;
use super::kind::{unweighted, LayerKind, Weights};
use crate::activation::Activation;
use super::kind::param;
use crate::ops_table::{layer, slot};

/// An UpSampling1D layer's shape: the channels per step and how many
/// times each step is repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsample1d {
    pub channels: usize,
    pub size: usize,
}

impl Upsample1d {
    /// The output's length for `n_in` inputs. Statuses: `LayerParam` for
    /// no channels or a size of 0, `XSize` unless `n_in` is a whole
    /// number (>= 1) of steps, `Size` if the output's length overflows.
    pub fn shape(&self, n_in: usize) -> Result<usize, Status> {
        if self.channels == 0 || self.size == 0 {
            return Err(Status::LayerParam);
        }
        if n_in == 0 || !n_in.is_multiple_of(self.channels) {
            return Err(Status::XSize);
        }
        n_in.checked_mul(self.size).ok_or(Status::Size)
    }

    /// [`Upsample1d::shape`]'s checks, and `OutSize` unless `out_len` is
    /// the output's length.
    pub fn check(&self, n_in: usize, out_len: usize) -> Result<(), Status> {
        if self.shape(n_in)? != out_len {
            return Err(Status::OutSize);
        }
        Ok(())
    }
}

/// Keras `UpSampling1D`: `out[t * size + r, c] = x[t, c]` for every `r <
/// size`. Nothing is written unless every check passes.
pub fn upsample1d_f32(spec: &Upsample1d, x: &[f32], out: &mut [f32]) -> Result<(), Status> {
    spec.check(x.len(), out.len())?;
    let c = spec.channels.max(1);
    for (src, dst) in x.chunks_exact(c).zip(out.chunks_exact_mut(c.saturating_mul(spec.size).max(1))) {
        for copy in dst.chunks_exact_mut(c) {
            // (a zip, not copy_from_slice: no length-mismatch panic path)
            for (d, &v) in copy.iter_mut().zip(src) {
                *d = v;
            }
        }
    }
    Ok(())
}

/// UpSampling1D's backward pass for one sample: `dx[t, c]` is the sum of
/// `dy[t * size + r, c]` over `r` in order. Statuses: [`Upsample1d::check`]'s
/// (`dx` as the input, `dy` as the output). Nothing is written unless
/// they pass.
pub fn upsample1d_backward_f32(spec: &Upsample1d, dy: &[f32], dx: &mut [f32]) -> Result<(), Status> {
    spec.check(dx.len(), dy.len())?;
    let c = spec.channels.max(1);
    for (dst, src) in dx.chunks_exact_mut(c).zip(dy.chunks_exact(c.saturating_mul(spec.size).max(1))) {
        dst.fill(0.0);
        for copy in src.chunks_exact(c) {
            for (d, &v) in dst.iter_mut().zip(copy) {
                *d += v;
            }
        }
    }
    Ok(())
}

impl LayerKind for Upsample1d {
    /// `params`: channels, then the registry's slots (size); the rest of
    /// the first six 0.
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        if kind != layer::UP_SAMPLING1D {
            return None;
        }
        if (2..6).any(|i| param(params, i) != 0) {
            return Some(Err(Status::LayerParam));
        }
        Some(Ok(Upsample1d {
            channels: param(params, 0),
            size: param(params, slot::up_sampling1d::AT + slot::up_sampling1d::SIZE),
        }))
    }

    fn weights(&self) -> Weights {
        Weights::None
    }

    fn check(&self, n_in: usize, _: usize, _: Option<usize>, out_len: usize, _: &Activation) -> Result<(), Status> {
        Upsample1d::check(self, n_in, out_len)
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, _: &Activation) -> Result<(usize, usize), Status> {
        unweighted(kernel_len, bias_len, || self.shape(n_in))
    }

    fn grad_lens(&self, _: usize) -> Result<(usize, usize), Status> {
        Ok((0, 0))
    }

    fn forward_f32(&self, x: &[f32], _: &[f32], _: Option<&[f32]>, out: &mut [f32], _: &Activation) -> Result<(), Status> {
        upsample1d_f32(self, x, out)
    }

    fn backward_f32(&self, _: &[f32], _: &[f32], dy: &[f32], _: f32, _: Option<&mut [f32]>, _: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        upsample1d_backward_f32(self, dy, dx.ok_or(Status::Null)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_each_step() {
        let spec = Upsample1d { channels: 2, size: 3 };
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 12];
        upsample1d_f32(&spec, &x, &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0]);
        let one = Upsample1d { channels: 2, size: 1 };
        let mut same = [0.0; 4];
        upsample1d_f32(&one, &x, &mut same).unwrap();
        assert_eq!(same, x);
    }

    #[test]
    fn backward_sums_the_copies() {
        let spec = Upsample1d { channels: 1, size: 2 };
        let dy = [1.0, 2.0, 3.0, 5.0, -1.0, 0.5];
        let mut dx = [9.0; 3];
        upsample1d_backward_f32(&spec, &dy, &mut dx).unwrap();
        assert_eq!(dx, [3.0, 8.0, -0.5]);
        // the adjoint of the forward pass: <up(x), dy> == <x, up^T(dy)>
        let x = [0.5, -2.0, 4.0];
        let mut up = [0.0; 6];
        upsample1d_f32(&spec, &x, &mut up).unwrap();
        let lhs: f32 = up.iter().zip(&dy).map(|(a, b)| a * b).sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
    }

    #[test]
    fn refuses_bad_shapes() {
        let x = [1.0; 4];
        let mut out = [0.0; 8];
        let spec = Upsample1d { channels: 2, size: 2 };
        assert_eq!(upsample1d_f32(&spec, &x[..3], &mut out), Err(Status::XSize));
        assert_eq!(upsample1d_f32(&spec, &[], &mut out), Err(Status::XSize));
        assert_eq!(upsample1d_f32(&spec, &x, &mut out[..7]), Err(Status::OutSize));
        assert_eq!(upsample1d_f32(&Upsample1d { channels: 0, size: 2 }, &x, &mut out), Err(Status::LayerParam));
        assert_eq!(upsample1d_f32(&Upsample1d { channels: 2, size: 0 }, &x, &mut out), Err(Status::LayerParam));
        assert_eq!(Upsample1d { channels: 1, size: usize::MAX }.shape(2), Err(Status::Size));
        let mut dx = [0.0; 4];
        assert_eq!(upsample1d_backward_f32(&spec, &out[..6], &mut dx), Err(Status::OutSize));
        assert!(out.iter().all(|&v| v == 0.0) && dx.iter().all(|&v| v == 0.0));
    }
}
