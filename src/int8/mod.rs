//! int8 kernels in TFLite's integer scheme (issue 29), reference first.
//!
//! `real = (q - zero_point) * scale`; weights symmetric int8 (zero point
//! 0), per tensor or per output channel; activations asymmetric int8, one
//! scale and zero point per tensor; bias int32 with scale
//! `input_scale * weight_scale`. Each layer's real multiplier
//! `input_scale * weight_scale / output_scale` is stored as a Q31
//! multiplier and a shift ([`requant::quantize_multiplier_for`]) and applied
//! with TFLite's `MultiplyByQuantizedMultiplier` ([`requant::requantize`]),
//! in either of its builds ([`Rounding`]): LiteRT's Python wheel computes
//! the single-rounding one (see [`requant`]).
//!
//! The kernels compute what LiteRT's *reference* kernels compute, bit for
//! bit (tests/rust/int8_fixtures.rs checks them against outputs recorded
//! from LiteRT's reference interpreter). `no_std`, no heap, no panic path:
//! every length is checked first and a [`crate::Status`] returned.
//!
//! Not wired into the C ABI, the glue or the file format yet.

pub mod dense;
pub mod requant;

pub use dense::{dense_s8, DenseS8Params, Multipliers};
pub use requant::{
    multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_single, quantize_multiplier,
    quantize_multiplier_for, requantize, Rounding,
};
