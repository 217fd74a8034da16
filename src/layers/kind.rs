//! What every layer kind other than Dense provides, in one trait, so that
//! the C ABI's forward and backward entry points and the training loop
//! (src/ffi/, src/train/) run any kind through [`super::Op`]'s one
//! dispatch instead of a match of their own. Dense is the exception: its
//! batched and blocked paths are the training loop's and the ABI's own.

use crate::activation::Activation;
use crate::Status;

/// A layer kind's weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// None: a pooling, ZeroPadding2D, UpSampling1D (kernel and bias
    /// empty, never trained; a linear activation).
    None,
    /// Fixed: the affine layer's scale (the kernel) and offset (the bias),
    /// both required, never trained.
    Fixed,
    /// Trained: Dense and the convolutions, a kernel and an optional bias
    /// of `width` values.
    Trained,
}

/// One layer kind, float32 (its kernels are `<kind>_f32` and
/// `<kind>_backward_f32` in its file; an int8 kind is `<kind>_s8.rs`).
pub trait LayerKind {
    /// The kind of registry id `kind` with the C ABI's `params` (as
    /// `anne.h` gives them for it), checked as far as the parameters go
    /// (a padding code, the slots that must be 0); `None` for another
    /// kind's id.
    fn from_params(kind: u32, params: &[u32]) -> Option<Result<Self, Status>>
    where
        Self: Sized;

    /// Its weights.
    fn weights(&self) -> Weights;

    /// Checks a forward call's sizes, in the ABI's order (x, kernel, out,
    /// bias) and its activation (a kind without weights is not given one).
    fn check(
        &self,
        n_in: usize,
        kernel_len: usize,
        bias_len: Option<usize>,
        out_len: usize,
        act: &Activation,
    ) -> Result<(), Status>;

    /// The training loop's shape for `n_in` inputs: `(units, width)`, the
    /// outputs and the values per position (a convolution's filters, the
    /// bias's length; the others' `units`). Checked as the training loop
    /// checked it: a kind that is not [`Weights::Trained`] is refused
    /// before this if trainable or with an activation.
    fn train_shape(
        &self,
        n_in: usize,
        kernel_len: usize,
        bias_len: Option<usize>,
        act: &Activation,
    ) -> Result<(usize, usize), Status>;

    /// The backward entry point's lengths for a kernel of `kernel_len`
    /// values: `(kernel values read, bias gradient values)`.
    fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status>;

    /// The forward pass for one sample, checked (nothing is written unless
    /// the sizes fit).
    fn forward_f32(
        &self,
        x: &[f32],
        kernel: &[f32],
        bias: Option<&[f32]>,
        out: &mut [f32],
        act: &Activation,
    ) -> Result<(), Status>;

    /// The backward pass for one sample from `dy`: `dx` (required unless
    /// the kind is [`Weights::Trained`]), and a trained kind's gradients
    /// times `scale` added to `gk` and `gb` (if given).
    #[allow(clippy::too_many_arguments)]
    fn backward_f32(
        &self,
        x: &[f32],
        kernel: &[f32],
        dy: &[f32],
        scale: f32,
        gk: Option<&mut [f32]>,
        gb: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) -> Result<(), Status>;
}

/// The ABI's `params[i]`, 0 past its end.
pub(crate) fn param(params: &[u32], i: usize) -> usize {
    params.get(i).map_or(0, |&v| v as usize)
}

/// `rows * cols * channels` outputs, or [`Status::Size`] past `usize`.
pub(crate) fn plane_units(out: (usize, usize), channels: usize) -> Result<usize, Status> {
    out.0
        .checked_mul(out.1)
        .and_then(|n| n.checked_mul(channels))
        .ok_or(Status::Size)
}

/// [`LayerKind::train_shape`] for a kind without weights: `Err(KernelSize)`
/// for a kernel or bias, else `units` (from `shape`) as both values.
pub(crate) fn unweighted(
    kernel_len: usize,
    bias_len: Option<usize>,
    shape: impl FnOnce() -> Result<usize, Status>,
) -> Result<(usize, usize), Status> {
    if kernel_len != 0 || bias_len.is_some() {
        return Err(Status::KernelSize);
    }
    shape().map(|units| (units, units))
}
