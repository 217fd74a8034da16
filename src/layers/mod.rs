//! The layers, one file per kind, each kind's functions named op x dtype
//! (`dense_f32`, `conv1d_f32`, ...; int8 kernels go beside them as
//! `*_s8`). A layer reads its input and weights as slices and writes its
//! output; the sums are src/math/'s, the activations src/activation/'s.

pub mod affine;
pub mod conv1d;
pub mod conv1d_s8;
pub mod conv2d;
pub mod conv2d_s8;
pub mod dense;
pub mod dense_s8;
pub mod depthwise2d;
pub mod depthwise2d_s8;
pub mod elementwise_s8;
pub mod im2col_s8;
pub mod kind;
pub mod mean_s8;
pub mod merge;
pub mod pad2d;
pub mod pointwise_s8;
pub mod pool1d;
pub mod pool1d_s8;
pub mod pool2d;
pub mod pool2d_s8;
pub mod upsample1d;
pub mod window;

pub use kind::{LayerKind, Weights};

use crate::activation::Activation;
use crate::Status;

/// The layer kinds the float32 C ABI and the training loop run: each
/// variant holds its kind's [`LayerKind`] (the parameters the ABI's
/// `params` give, read by the kind's `from_params`), and [`Op`]'s methods, made
/// here, are the one dispatch to them: src/ffi/ and src/train/ call these,
/// not the kinds. (A match, not `dyn LayerKind`: a build that never trains,
/// the inference-only module, then links no backward pass.) A new kind is
/// one line in the list below.
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// What a layer computes: Dense, or one of the kinds with the
        /// parameters the ABI's `params` give (one type for the C ABI's
        /// layers and the training loop).
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub enum Op {
            /// Dense: its batched paths are the ABI's and the training
            /// loop's own; [`Op`]'s [`LayerKind`] methods refuse it
            /// (`Err(Kind)`) but for [`Op::weights`].
            #[default]
            Dense,
            $($(#[$doc])* $variant($ty),)*
        }

        impl Op {
            /// The layer of registry id `kind` with the C ABI's `params`
            /// (Dense's are not read): [`LayerKind::from_params`] of the
            /// kind that answers to it; `Err(Kind)` if none does.
            pub fn from_params(kind: u32, params: &[u32]) -> Result<Op, Status> {
                if kind == crate::ops_table::layer::DENSE {
                    return Ok(Op::Dense);
                }
                $(if let Some(k) = <$ty as LayerKind>::from_params(kind, params) {
                    return k.map(Op::$variant);
                })*
                Err(Status::Kind)
            }

            /// Whether it is Dense.
            #[inline]
            pub fn is_dense(&self) -> bool {
                matches!(self, Op::Dense)
            }

            /// The kind's weights (Dense's are trained).
            pub fn weights(&self) -> Weights {
                match self {
                    Op::Dense => Weights::Trained,
                    $(Op::$variant(k) => LayerKind::weights(k),)*
                }
            }

            /// [`LayerKind::check`].
            pub fn check(
                &self,
                n_in: usize,
                kernel_len: usize,
                bias_len: Option<usize>,
                out_len: usize,
                act: &Activation,
            ) -> Result<(), Status> {
                match self {
                    Op::Dense => Err(Status::Kind),
                    $(Op::$variant(k) => LayerKind::check(k, n_in, kernel_len, bias_len, out_len, act),)*
                }
            }

            /// [`LayerKind::train_shape`].
            pub fn train_shape(
                &self,
                n_in: usize,
                kernel_len: usize,
                bias_len: Option<usize>,
                act: &Activation,
            ) -> Result<(usize, usize), Status> {
                match self {
                    Op::Dense => Err(Status::Kind),
                    $(Op::$variant(k) => LayerKind::train_shape(k, n_in, kernel_len, bias_len, act),)*
                }
            }

            /// [`LayerKind::grad_lens`].
            pub fn grad_lens(&self, kernel_len: usize) -> Result<(usize, usize), Status> {
                match self {
                    Op::Dense => Err(Status::Kind),
                    $(Op::$variant(k) => LayerKind::grad_lens(k, kernel_len),)*
                }
            }

            /// [`LayerKind::forward_f32`].
            #[inline(never)]
            pub fn forward_f32(
                &self,
                x: &[f32],
                kernel: &[f32],
                bias: Option<&[f32]>,
                out: &mut [f32],
                act: &Activation,
            ) -> Result<(), Status> {
                match self {
                    Op::Dense => Err(Status::Kind),
                    $(Op::$variant(k) => LayerKind::forward_f32(k, x, kernel, bias, out, act),)*
                }
            }

            /// [`LayerKind::backward_f32`].
            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            pub fn backward_f32(
                &self,
                x: &[f32],
                kernel: &[f32],
                dy: &[f32],
                scale: f32,
                gk: Option<&mut [f32]>,
                gb: Option<&mut [f32]>,
                dx: Option<&mut [f32]>,
            ) -> Result<(), Status> {
                match self {
                    Op::Dense => Err(Status::Kind),
                    $(Op::$variant(k) => LayerKind::backward_f32(k, x, kernel, dy, scale, gk, gb, dx),)*
                }
            }
        }
    };
}

kinds! {
    /// Conv1D: kernel and bias in Keras's layouts; trainable.
    Conv(conv1d::Conv1d),
    /// Max/AveragePooling1D and the global poolings (1-D, and 2-D over
    /// `h * w` steps): no kernel or bias; never trainable.
    Pool(pool1d::Pool1d),
    /// Per-channel scale (the kernel) and offset (the bias, required);
    /// never trainable.
    Affine(affine::Affine),
    /// Conv2D: kernel and bias in Keras's layouts; trainable.
    Conv2d(conv2d::Conv2d),
    /// DepthwiseConv2D: Keras's `depthwise_kernel` and bias; trainable.
    Depthwise2d(depthwise2d::Depthwise2d),
    /// Max/AveragePooling2D: no kernel or bias; never trainable.
    Pool2d(pool2d::Pool2d),
    /// ZeroPadding2D: no kernel or bias; never trainable.
    Pad2d(pad2d::Pad2d),
    /// UpSampling1D: no kernel or bias; never trainable.
    Upsample1d(upsample1d::Upsample1d),
}

#[cfg(test)]
mod tests_1d;
#[cfg(test)]
pub(crate) mod tests_2d;
