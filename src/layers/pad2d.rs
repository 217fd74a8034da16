//! ZeroPadding2D, float32, Keras semantics (`channels_last`): `x` is
//! `height x width x channels` row-major (as src/layers/conv2d.rs), `out`
//! `(top + height + bottom) x (left + width + right) x channels`, the
//! added rows and columns zeros; and its backward pass, a crop.

use crate::Status;
use super::kind::{unweighted, LayerKind, Weights};
use crate::activation::Activation;
use super::kind::param;
use crate::ops_table::{layer, slot};

/// A ZeroPadding2D layer's shape: the input plane and the rows and
/// columns it adds on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pad2d {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// (top, bottom) rows
    pub rows: (usize, usize),
    /// (left, right) columns
    pub columns: (usize, usize),
}

impl Pad2d {
    /// `(out_h, out_w)`. Statuses: `LayerParam` for an empty plane or no
    /// channels (or sizes that overflow), `XSize` unless `n_in == height *
    /// width * channels`, `OutSize` unless `out_len == out_h * out_w *
    /// channels`.
    pub fn check(&self, n_in: usize, out_len: usize) -> Result<(usize, usize), Status> {
        let (oh, ow, n_out) = self.shape(n_in)?;
        if out_len != n_out {
            return Err(Status::OutSize);
        }
        Ok((oh, ow))
    }

    /// `(out_h, out_w, out_h * out_w * channels)` for `n_in` inputs:
    /// [`Pad2d::check`] but for the output's length.
    pub fn shape(&self, n_in: usize) -> Result<(usize, usize, usize), Status> {
        if self.height == 0 || self.width == 0 || self.channels == 0 {
            return Err(Status::LayerParam);
        }
        let oh = self
            .height
            .checked_add(self.rows.0)
            .and_then(|v| v.checked_add(self.rows.1));
        let ow = self
            .width
            .checked_add(self.columns.0)
            .and_then(|v| v.checked_add(self.columns.1));
        let (oh, ow) = oh.zip(ow).ok_or(Status::LayerParam)?;
        let n_out = oh
            .checked_mul(ow)
            .and_then(|v| v.checked_mul(self.channels));
        let n_out = n_out.ok_or(Status::LayerParam)?;
        if self
            .height
            .checked_mul(self.width)
            .and_then(|v| v.checked_mul(self.channels))
            != Some(n_in)
        {
            return Err(Status::XSize);
        }
        Ok((oh, ow, n_out))
    }
}

/// Keras `ZeroPadding2D`: `out[top + y, left + x, c] = x[y, x, c]`, every
/// other output zero. Nothing is written unless every check passes.
pub fn pad2d_f32(spec: &Pad2d, x: &[f32], out: &mut [f32]) -> Result<(), Status> {
    pad2d(spec, x, out, 0.0)
}

/// ZeroPadding2D on int8 values: TFLite's PAD, which pads with the zero
/// point `zero_point` (the value that stands for 0.0); otherwise as
/// [`pad2d_f32`].
pub fn pad2d_s8(spec: &Pad2d, x: &[i8], out: &mut [i8], zero_point: i8) -> Result<(), Status> {
    pad2d(spec, x, out, zero_point)
}

/// [`pad2d_f32`] and [`pad2d_s8`]: the added rows and columns `fill`.
fn pad2d<T: Copy>(spec: &Pad2d, x: &[T], out: &mut [T], fill: T) -> Result<(), Status> {
    let (_, ow) = spec.check(x.len(), out.len())?;
    out.fill(fill);
    let c = spec.channels;
    let row_in = spec.width * c;
    let row_out = ow * c;
    let first = spec.rows.0 * row_out + spec.columns.0 * c;
    for (y, src) in x.chunks_exact(row_in.max(1)).enumerate() {
        let at = first + y * row_out;
        // (a zip, not copy_from_slice: no length-mismatch panic path)
        for (d, &v) in out.get_mut(at..).unwrap_or(&mut []).iter_mut().zip(src) {
            *d = v;
        }
    }
    Ok(())
}

/// ZeroPadding2D's backward pass for one sample: `dx` is `dy` cropped,
/// `dx[y, x, c] = dy[top + y, left + x, c]` (the added positions'
/// gradients are dropped). Statuses: [`Pad2d::check`]'s (`dx` as the
/// input, `dy` as the output). Nothing is written unless they pass.
pub fn pad2d_backward_f32(spec: &Pad2d, dy: &[f32], dx: &mut [f32]) -> Result<(), Status> {
    let (_, ow) = spec.check(dx.len(), dy.len())?;
    let c = spec.channels;
    let row_in = spec.width * c;
    let row_out = ow * c;
    let first = spec.rows.0 * row_out + spec.columns.0 * c;
    for (y, dst) in dx.chunks_exact_mut(row_in.max(1)).enumerate() {
        let at = first + y * row_out;
        for (d, &v) in dst.iter_mut().zip(dy.get(at..).unwrap_or(&[])) {
            *d = v;
        }
    }
    Ok(())
}

impl LayerKind for Pad2d {
    /// `params`: height, width, channels, then the registry's slots (top,
    /// bottom, left, right).
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>> {
        use slot::zero_padding2d::*;
        if kind != layer::ZERO_PADDING2D {
            return None;
        }
        let p = |i| param(params, i);
        let slot = |k| p(AT + k);
        Some(Ok(Pad2d {
            height: p(0),
            width: p(1),
            channels: p(2),
            rows: (slot(PADDING_TOP), slot(PADDING_BOTTOM)),
            columns: (slot(PADDING_LEFT), slot(PADDING_RIGHT)),
        }))
    }

    fn weights(&self) -> Weights {
        Weights::None
    }

    fn check(&self, n_in: usize, _: usize, _: Option<usize>, out_len: usize, _: &Activation) -> Result<(), Status> {
        Pad2d::check(self, n_in, out_len).map(|_| ())
    }

    fn train_shape(&self, n_in: usize, kernel_len: usize, bias_len: Option<usize>, _: &Activation) -> Result<(usize, usize), Status> {
        unweighted(kernel_len, bias_len, || Ok(self.shape(n_in)?.2))
    }

    fn grad_lens(&self, _: usize) -> Result<(usize, usize), Status> {
        Ok((0, 0))
    }

    fn forward_f32(&self, x: &[f32], _: &[f32], _: Option<&[f32]>, out: &mut [f32], _: &Activation) -> Result<(), Status> {
        pad2d_f32(self, x, out)
    }

    fn backward_f32(&self, _: &[f32], _: &[f32], dy: &[f32], _: f32, _: Option<&mut [f32]>, _: Option<&mut [f32]>, dx: Option<&mut [f32]>) -> Result<(), Status> {
        pad2d_backward_f32(self, dy, dx.ok_or(Status::Null)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(h: usize, w: usize, c: usize, rows: (usize, usize), columns: (usize, usize)) -> Pad2d {
        Pad2d {
            height: h,
            width: w,
            channels: c,
            rows,
            columns,
        }
    }

    #[test]
    fn pads_with_zeros_around_the_plane() {
        // 2 x 2 x 1 -> top 1, bottom 0, left 0, right 2: 3 x 4
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut out = [9.0; 12];
        pad2d_f32(&spec(2, 2, 1, (1, 0), (0, 2)), &x, &mut out).unwrap();
        assert_eq!(
            out,
            [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0]
        );
    }

    #[test]
    fn channels_move_together_and_no_padding_copies() {
        let x = [1.0, -1.0, 2.0, -2.0]; // 1 x 2 x 2
        let mut out = [9.0; 8];
        pad2d_f32(&spec(1, 2, 2, (0, 1), (0, 0)), &x, &mut out).unwrap();
        assert_eq!(out, [1.0, -1.0, 2.0, -2.0, 0.0, 0.0, 0.0, 0.0]);
        let mut same = [0.0; 4];
        pad2d_f32(&spec(1, 2, 2, (0, 0), (0, 0)), &x, &mut same).unwrap();
        assert_eq!(same, x);
    }

    #[test]
    fn refuses_bad_sizes_and_writes_nothing() {
        let x = [1.0; 4];
        let mut out = [7.0; 9];
        assert_eq!(
            pad2d_f32(&spec(2, 2, 1, (1, 0), (1, 0)), &x[..3], &mut out),
            Err(Status::XSize)
        );
        assert_eq!(
            pad2d_f32(&spec(2, 2, 1, (1, 1), (1, 0)), &x, &mut out),
            Err(Status::OutSize)
        );
        assert_eq!(
            pad2d_f32(&spec(0, 2, 1, (1, 0), (1, 0)), &x, &mut out),
            Err(Status::LayerParam)
        );
        assert_eq!(
            pad2d_f32(&spec(2, 2, 1, (usize::MAX, 0), (1, 0)), &x, &mut out),
            Err(Status::LayerParam)
        );
        assert!(out.iter().all(|&v| v == 7.0));
    }
}
