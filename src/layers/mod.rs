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

use conv1d::Conv1d;
use conv2d::Conv2d;
use depthwise2d::Depthwise2d;
use pad2d::Pad2d;
use pool1d::Pool1d;
use pool2d::Pool2d;
use upsample1d::Upsample1d;

/// What a layer computes: its kind, with the parameters the ABI's
/// `params` give (one type for the C ABI's layers and the training loop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Op {
    #[default]
    Dense,
    /// Kernel and bias in Keras's layouts; trainable.
    Conv(Conv1d),
    /// No kernel (empty) or bias; never trainable.
    Pool(Pool1d),
    /// Per-channel scale (the kernel, `channels` values) and offset (the
    /// bias, as many; required); never trainable.
    Affine(usize),
    /// Conv2D: kernel and bias in Keras's layouts; trainable.
    Conv2d(Conv2d),
    /// DepthwiseConv2D: Keras's `depthwise_kernel` and bias; trainable.
    Depthwise2d(Depthwise2d),
    /// Max/AveragePooling2D: no kernel or bias; never trainable (the
    /// global 2-D poolings are [`Op::Pool`]'s, over `h * w` steps).
    Pool2d(Pool2d),
    /// ZeroPadding2D: no kernel or bias; never trainable.
    Pad2d(Pad2d),
    /// UpSampling1D: no kernel or bias; never trainable.
    Upsample1d(Upsample1d),
}

#[cfg(test)]
mod tests_1d;
#[cfg(test)]
pub(crate) mod tests_2d;
