//! The layers, one file per kind, each kind's functions named op x dtype
//! (`dense_f32`, `conv1d_f32`, ...; int8 kernels go beside them as
//! `*_s8`). A layer reads its input and weights as slices and writes its
//! output; the sums are src/math/'s, the activations src/activation/'s.

pub mod affine;
pub mod conv1d;
pub mod dense;
pub mod pool1d;
pub mod window;

#[cfg(test)]
mod tests_1d;
