//! int8 activations, computed as LiteRT's *reference* kernels compute them
//! (`OpResolverType.BUILTIN_REF`; TensorFlow 2.21 / ai-edge-litert 2.3,
//! `tflite/kernels/activations.cc`, `exp.cc`, `elementwise.cc` and the
//! `kernels/internal/reference` headers), bit for bit
//! (tests/rust/int8_activations.rs). `no_std`, no heap, no panic path:
//! every length and parameter is checked first and nothing is written
//! unless every check passes.
//!
//! What LiteRT's reference resolver really runs for int8:
//!
//! | op | int8 path | here |
//! |---|---|---|
//! | LOGISTIC | 256-entry table, `LUTPopulate` with `1.0f / (1.0f + expf(-x))` | [`activation_table`]`(TableFn::Logistic, ..)` + [`lut_s8`] |
//! | TANH | table, `tanhf` | `Tanh` table + [`lut_s8`] |
//! | ELU | table, `x < 0 ? expm1f(x) : x` (the only ELU kernel; the reference resolver has none) | `Elu` table + [`lut_s8`] |
//! | GELU | table, `0.5f * x * erfcf(x * -M_SQRT1_2)` (or the tanh form) | `Gelu { .. }` table + [`lut_s8`] |
//! | EXP | table, `expf` | `Exp` table + [`lut_s8`] |
//! | LOG | table, `logf`, non-positive inputs to the output's minimum | `Log` table + [`lut_s8`] |
//! | SOFTMAX | gemmlowp fixed point (`exp_on_negative_values`, `GetReciprocal`), no table | [`softmax_s8_prepare`] + [`softmax_s8`] |
//! | HARD_SWISH | int16 fixed point (`reference_ops::HardSwish`) | [`hard_swish_s8_prepare`] + [`hard_swish_s8`] |
//! | LEAKY_RELU | two requantizations (`QuantizeLeakyRelu`) | [`leaky_relu_s8_prepare`] + [`leaky_relu_s8`] |
//! | PRELU | two requantizations, the second of input x int8 alpha (`reference_ops::Prelu`) | [`prelu_s8_prepare`] + [`prelu_s8`] |
//!
//! Tables are built once, when a model is loaded (LiteRT builds them in its
//! `Prepare`); the per-element work is then one lookup. [`lut_populate_s8`]
//! is TFLite's `LUTPopulate<int8_t>` for any `f32 -> f32` function, so any
//! element-wise activation TFLite has no integer kernel for gets a table
//! the same way.
//!
//! The float functions. `LUTPopulate` runs in `float` (the dequantized
//! input `input_scale * (q - zero_point)`, the function, the product with
//! `1 / output_scale`, `roundf`), and so does this code, operation for
//! operation, in `f32` (Rust does not fuse multiply-adds). The elementary
//! functions are the C library's (`expf`, `tanhf`, `expm1f`, `erfcf`,
//! `logf`), so LiteRT's tables depend, in their last float bit, on the
//! platform's libm; these are chosen to agree with glibc's, the C library
//! of LiteRT's Linux wheels: `expf` and `logf` as `f64` `exp`/`log` rounded
//! to `f32` (glibc's are correctly rounded except near a few midpoints),
//! `expm1f` and `erfcf` as `libm`'s (Sun's algorithms, like glibc's),
//! and `tanhf` as Sun's `tanhf` (glibc's) on `libm::expm1f`; compared
//! with glibc 2.36 on every float in the functions' working ranges they
//! differ from it in 0.008 % (`expf`), 0.02 % (`logf`), 0.00006 %
//! (`expm1f`), 0.00003 % (`tanhf`) and 0.2 % (`erfcf`) of the inputs. A
//! last-bit difference changes a table entry only where `f(x) /
//! output_scale` lies within a float rounding error of a half step: over
//! 200,000 seeded random quantizations per table kind, no entry of these
//! tables differs from one built with glibc's own functions (libm's
//! `expf`, `tanhf` or `logf` instead would differ in 1 to 13 of the
//! 51.2 M entries). tests/rust/int8_activations.rs repeats that check on
//! 1,000 quantizations per kind against the host's C library.
//!
//! Requantization. The kernels that requantize take the
//! `MultiplyByQuantizedMultiplier` build as a [`Rounding`]: LiteRT's
//! LEAKY_RELU and PRELU are the double-rounding build (`Rounding::Double`,
//! the default of LiteRT's sources), as their fixtures show; SOFTMAX's left-shift
//! rescaling gives the same in both builds.
//!
//! [`Rounding`]: crate::math::requant::Rounding

pub mod hard_swish;
pub mod leaky_relu;
pub mod lut;
pub mod prelu;
pub mod softmax;

pub use hard_swish::*;
pub use leaky_relu::*;
pub use lut::*;
pub use prelu::*;
pub use softmax::*;
