//! Keras 3 activations on float32, in place over `&mut [f32]`.
//!
//! Each scalar function gives the Keras 3 formula in its doc comment; the
//! definitions and defaults were checked against Keras 3.15 (`keras.src.
//! activations.activations` and the TensorFlow backend's `nn.py`).
//!
//! Conventions, for every activation:
//! - NaN in gives NaN out, except where Keras's own formula is a comparison
//!   that NaN fails (`hard_shrink`, `soft_shrink`, `threshold`, and `relu`
//!   with a nonzero `threshold`): those give what Keras gives (0, 0,
//!   `default_value`, ...). Nothing panics.
//! - At ±inf the result is the mathematical limit where it exists, also where
//!   Keras's float32 arithmetic gives NaN (`x * g(x)` forms at -inf:
//!   `silu`, `gelu`, `hard_silu`, `mish`; `softsign(±inf)`), and
//!   `squareplus` is evaluated without cancellation for negative x.
//! - Vector activations (`softmax`, `log_softmax`, `sparsemax`, `glu`) work
//!   over the whole slice (Keras `axis=-1`). An empty slice is fine and left
//!   as is.

use crate::Status;
use libm::{fabsf, hypotf, logf, sqrtf};
use outlined::{erfcf, expm1f, log1pf, tanhf};

/// libm's larger functions, kept out of line: inlined into [`apply`] they
/// would be copied for each activation that uses them.
mod outlined {
    macro_rules! outlined {
        ($($name:ident),*) => {$(
            #[inline(never)]
            pub fn $name(x: f32) -> f32 {
                libm::$name(x)
            }
        )*};
    }
    outlined!(erfcf, expm1f, log1pf, tanhf);
}

use crate::fastexp;

/// `exp` for the activations: on soft-float bare-metal targets (thumbv6m,
/// thumbv7m: no FPU) the integer [`fastexp::exp`], elsewhere `libm::expf`.
#[cfg(all(target_os = "none", not(target_abi = "eabihf")))]
use fastexp::exp as expf;
#[cfg(not(all(target_os = "none", not(target_abi = "eabihf"))))]
use libm::expf;

/// `exp(x) - 1` for elu, selu and celu. On soft-float bare-metal targets,
/// for x < -0.7 (exp(x) < 1/2: no cancellation, within 1 ulp) it is
/// `exp(x) - 1` with the integer exp; elsewhere `libm::expm1f`.
fn expm1(x: f32) -> f32 {
    if cfg!(all(target_os = "none", not(target_abi = "eabihf"))) && x < -0.7 {
        fastexp::exp(x) - 1.0
    } else {
        expm1f(x)
    }
}

/// An activation with its parameters, named and defaulted as in Keras 3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `linear(x) = x`
    Linear,
    /// `relu(x, negative_slope=0.0, max_value=None, threshold=0.0)`
    Relu {
        negative_slope: f32,
        max_value: Option<f32>,
        threshold: f32,
    },
    /// `sigmoid(x)`
    Sigmoid,
    /// `tanh(x)`
    Tanh,
    /// `softmax(x, axis=-1)`
    Softmax,
    /// `leaky_relu(x, negative_slope=0.2)`
    LeakyRelu { negative_slope: f32 },
    /// `elu(x, alpha=1.0)`
    Elu { alpha: f32 },
    /// `selu(x)`
    Selu,
    /// `celu(x, alpha=1.0)`, alpha != 0
    Celu { alpha: f32 },
    /// `exponential(x)`
    Exponential,
    /// `gelu(x, approximate=False)`
    Gelu { approximate: bool },
    /// `glu(x, axis=-1)`: n inputs give n / 2 outputs
    Glu,
    /// `hard_shrink(x, threshold=0.5)`
    HardShrink { threshold: f32 },
    /// `hard_sigmoid(x)`
    HardSigmoid,
    /// `hard_silu(x)` (alias `hard_swish`)
    HardSilu,
    /// `hard_tanh(x)`
    HardTanh,
    /// `log_sigmoid(x)`
    LogSigmoid,
    /// `log_softmax(x, axis=-1)`
    LogSoftmax,
    /// `mish(x)`
    Mish,
    /// `relu6(x)`
    Relu6,
    /// `silu(x)` (alias `swish`)
    Silu,
    /// `soft_shrink(x, threshold=0.5)`
    SoftShrink { threshold: f32 },
    /// `softplus(x)`
    Softplus,
    /// `softsign(x)`
    Softsign,
    /// `sparse_plus(x)`
    SparsePlus,
    /// `sparse_sigmoid(x)`
    SparseSigmoid,
    /// `sparsemax(x, axis=-1)`
    Sparsemax,
    /// `squareplus(x, b=4)`, b >= 0
    Squareplus { b: f32 },
    /// `tanh_shrink(x)`
    TanhShrink,
    /// `threshold(x, threshold, default_value)` (both required in Keras)
    Threshold { threshold: f32, default_value: f32 },
}

impl Activation {
    /// Checks the parameters: all finite, `relu` max_value >= 0, `celu`
    /// alpha != 0, `squareplus` b >= 0. Otherwise [`Status::Param`].
    pub fn validate(&self) -> Result<(), Status> {
        // On the bits: without an FPU each float comparison would be a
        // soft-float call, and this runs on every kernel call.
        let ok = match *self {
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                finite(negative_slope)
                    && finite(threshold)
                    && max_value.is_none_or(|m| finite(m) && not_negative(m))
            }
            Activation::LeakyRelu { negative_slope } => finite(negative_slope),
            Activation::Elu { alpha } => finite(alpha),
            Activation::Celu { alpha } => finite(alpha) && alpha.to_bits() << 1 != 0,
            Activation::HardShrink { threshold } | Activation::SoftShrink { threshold } => {
                finite(threshold)
            }
            Activation::Squareplus { b } => finite(b) && not_negative(b),
            Activation::Threshold {
                threshold,
                default_value,
            } => finite(threshold) && finite(default_value),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(Status::Param)
        }
    }

    /// Number of outputs from `n` inputs: `n`, or `n / 2` for glu (which
    /// needs an even `n`, else [`Status::Size`]).
    pub fn outputs(&self, n: usize) -> Result<usize, Status> {
        match self {
            Activation::Glu if !n.is_multiple_of(2) => Err(Status::Size),
            Activation::Glu => Ok(n / 2),
            _ => Ok(n),
        }
    }

    /// True for activations that act on each value alone.
    pub fn is_elementwise(&self) -> bool {
        !matches!(
            self,
            Activation::Softmax | Activation::LogSoftmax | Activation::Sparsemax | Activation::Glu
        )
    }

    /// The activation of one value; `None` for the vector activations.
    pub fn scalar(&self, x: f32) -> Option<f32> {
        Some(match *self {
            Activation::Linear => x,
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => relu(x, negative_slope, max_value, threshold),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::LeakyRelu { negative_slope } => leaky_relu(x, negative_slope),
            Activation::Elu { alpha } => elu(x, alpha),
            Activation::Selu => selu(x),
            Activation::Celu { alpha } => celu(x, alpha),
            Activation::Exponential => exponential(x),
            Activation::Gelu { approximate } => gelu(x, approximate),
            Activation::HardShrink { threshold } => hard_shrink(x, threshold),
            Activation::HardSigmoid => hard_sigmoid(x),
            Activation::HardSilu => hard_silu(x),
            Activation::HardTanh => hard_tanh(x),
            Activation::LogSigmoid => log_sigmoid(x),
            Activation::Mish => mish(x),
            Activation::Relu6 => relu6(x),
            Activation::Silu => silu(x),
            Activation::SoftShrink { threshold } => soft_shrink(x, threshold),
            Activation::Softplus => softplus(x),
            Activation::Softsign => softsign(x),
            Activation::SparsePlus => sparse_plus(x),
            Activation::SparseSigmoid => sparse_sigmoid(x),
            Activation::Squareplus { b } => squareplus(x, b),
            Activation::TanhShrink => tanh_shrink(x),
            Activation::Threshold {
                threshold: t,
                default_value,
            } => threshold(x, t, default_value),
            Activation::Softmax
            | Activation::LogSoftmax
            | Activation::Sparsemax
            | Activation::Glu => return None,
        })
    }
}

/// Applies `act` in place to `buf` and returns the number of outputs, which
/// are `buf[..outputs]` (all of `buf`, or its first half for glu; glu leaves
/// the second half as it was). Checks the parameters first
/// ([`Activation::validate`]); glu needs an even length ([`Status::Size`]).
pub fn activate_f32(buf: &mut [f32], act: &Activation) -> Result<usize, Status> {
    act.validate()?;
    apply(buf, act)
}

/// [`activate_f32`] with `act` validated already.
pub(crate) fn apply(buf: &mut [f32], act: &Activation) -> Result<usize, Status> {
    // The common ones in a small function of their own (called for every
    // layer, it sets up little); the others behind a call.
    match Common::of(act) {
        Some(Common::Linear) => {}
        Some(common) => {
            for value in buf.iter_mut() {
                *value = common.apply(*value);
            }
        }
        None => return apply_other(buf, act),
    }
    Ok(buf.len())
}

/// The activations most networks use, cheap enough to apply to each output
/// as a kernel computes it: linear, sigmoid and Keras's default relu.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Common {
    Linear,
    Relu,
    Sigmoid,
}

impl Common {
    /// `act` if it is one of these (its parameters are looked at once here,
    /// not per value).
    #[inline(always)]
    pub(crate) fn of(act: &Activation) -> Option<Common> {
        match act {
            Activation::Relu {
                negative_slope,
                max_value: None,
                threshold,
            } if negative_slope.to_bits() << 1 == 0 && threshold.to_bits() << 1 == 0 => {
                Some(Common::Relu)
            }
            Activation::Linear => Some(Common::Linear),
            Activation::Sigmoid => Some(Common::Sigmoid),
            _ => None,
        }
    }

    /// The same activation as an [`Activation`].
    pub(crate) fn activation(self) -> Activation {
        match self {
            Common::Linear => Activation::Linear,
            Common::Relu => Activation::Relu {
                negative_slope: 0.0,
                max_value: None,
                threshold: 0.0,
            },
            Common::Sigmoid => Activation::Sigmoid,
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, x: f32) -> f32 {
        match self {
            Common::Linear => x,
            Common::Relu => relu0(x),
            Common::Sigmoid => sigmoid(x),
        }
    }
}

/// [`apply`] for the activations it does not handle itself.
#[inline(never)]
pub(crate) fn apply_other(buf: &mut [f32], act: &Activation) -> Result<usize, Status> {
    let outputs = act.outputs(buf.len())?;
    match act {
        Activation::Tanh => {
            for value in buf.iter_mut() {
                *value = tanh(*value);
            }
        }
        Activation::Softmax => softmax(buf),
        Activation::LogSoftmax => log_softmax(buf),
        Activation::Sparsemax => sparsemax(buf),
        Activation::Glu => {
            glu(buf)?;
        }
        _ => {
            // The generic loop sets up every activation's parameters first.
            for value in buf.iter_mut() {
                // is_elementwise() holds here, so scalar() is Some.
                *value = act.scalar(*value).unwrap_or(f32::NAN);
            }
        }
    }
    Ok(outputs)
}

/// `x.is_finite()` on the bits (exponent not all ones).
fn finite(x: f32) -> bool {
    x.to_bits() << 1 < 0xff00_0000
}

/// `x >= 0.0` for a finite `x` (so -0.0 too), on the bits.
fn not_negative(x: f32) -> bool {
    (x.to_bits() as i32) >= 0 || x.to_bits() << 1 == 0
}

/// `max(x, 0)` that keeps NaN (TensorFlow's `relu`): +0 for x <= 0.
/// On the bits: a set sign bit on anything but a NaN gives +0. (Cores
/// without an FPU would otherwise call two soft-float comparisons.)
fn relu0(x: f32) -> f32 {
    let bits = x.to_bits();
    if (bits as i32) < 0 && bits << 1 <= 0xff00_0000 {
        0.0
    } else {
        x
    }
}

/// `clip(x, low, high)` that keeps NaN (TensorFlow's `clip_by_value`).
fn clip(x: f32, low: f32, high: f32) -> f32 {
    if x < low {
        low
    } else if x > high {
        high
    } else {
        x
    }
}

/// Keras 3 `relu(x, negative_slope, max_value, threshold)`, exactly as
/// `ReLU.static_call` computes it:
/// - `negative_slope != 0`, no `max_value`, `threshold == 0`: `leaky_relu`;
/// - otherwise `y = x if x > threshold else 0` (`relu(x)` when threshold is
///   0), clipped to `[0, max_value]` when `max_value` is set, then
///   `y - negative_slope * relu(threshold - x)` when `negative_slope != 0`.
pub fn relu(x: f32, negative_slope: f32, max_value: Option<f32>, threshold: f32) -> f32 {
    if negative_slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return leaky_relu(x, negative_slope);
    }
    let mut y = if threshold != 0.0 {
        if x > threshold {
            x
        } else {
            0.0
        }
    } else {
        relu0(x)
    };
    if let Some(max_value) = max_value {
        y = clip(y, 0.0, max_value);
    }
    if negative_slope != 0.0 {
        y -= negative_slope * relu0(threshold - x);
    }
    y
}

/// `sigmoid(x) = 1 / (1 + exp(-x))`, evaluated as `exp(x) / (1 + exp(x))`
/// for x < 0 so that `exp` never overflows; sigmoid(±inf) = 1, 0. On
/// soft-float bare-metal targets [`fastexp::sigmoid`] (integer arithmetic).
pub fn sigmoid(x: f32) -> f32 {
    if cfg!(all(target_os = "none", not(target_abi = "eabihf"))) {
        // No FPU: the integer sigmoid (within 1 ulp, same specials).
        return fastexp::sigmoid(x);
    }
    if x >= 0.0 {
        1.0 / (1.0 + expf(-x))
    } else {
        let e = expf(x);
        e / (1.0 + e)
    }
}

/// `tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))`.
pub fn tanh(x: f32) -> f32 {
    tanhf(x)
}

/// `leaky_relu(x, negative_slope=0.2) = x if x > 0 else negative_slope * x`.
pub fn leaky_relu(x: f32, negative_slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        negative_slope * x
    }
}

/// `elu(x, alpha=1.0) = x if x > 0 else alpha * (exp(x) - 1)`.
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        alpha * expm1(x)
    }
}

/// SELU's `alpha` (Keras: 1.67326324).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's `scale` (Keras: 1.05070098).
pub const SELU_SCALE: f32 = 1.050_701;
/// `SELU_SCALE * SELU_ALPHA`, rounded once (as TensorFlow does).
const SELU_SCALE_ALPHA: f32 = 1.758_099_3;

/// `selu(x) = scale * x if x > 0 else scale * alpha * (exp(x) - 1)`, with
/// `alpha = 1.67326324`, `scale = 1.05070098`.
pub fn selu(x: f32) -> f32 {
    if x > 0.0 {
        SELU_SCALE * x
    } else {
        SELU_SCALE_ALPHA * expm1(x)
    }
}

/// `celu(x, alpha=1.0) = max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`.
pub fn celu(x: f32, alpha: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    x.max(0.0) + alpha * expm1(x.min(0.0) / alpha)
}

/// `exponential(x) = exp(x)`.
pub fn exponential(x: f32) -> f32 {
    expf(x)
}

/// sqrt(2 / pi), for the tanh form of gelu.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// `gelu(x, approximate=False)`:
/// exact `0.5 * x * (1 + erf(x / sqrt(2)))` (computed as
/// `0.5 * x * erfc(-x / sqrt(2))`), or with `approximate=True`
/// `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.
/// gelu(-inf) = -0.
pub fn gelu(x: f32, approximate: bool) -> f32 {
    if x == f32::NEG_INFINITY {
        return -0.0;
    }
    if approximate {
        0.5 * x * (1.0 + tanhf(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)))
    } else {
        0.5 * x * erfcf(-x * core::f32::consts::FRAC_1_SQRT_2)
    }
}

/// `hard_shrink(x, threshold=0.5) = x if |x| > threshold else 0`.
pub fn hard_shrink(x: f32, threshold: f32) -> f32 {
    if fabsf(x) > threshold {
        x
    } else {
        0.0
    }
}

/// `hard_sigmoid(x) = relu6(x + 3) / 6`.
pub fn hard_sigmoid(x: f32) -> f32 {
    relu6(x + 3.0) / 6.0
}

/// `hard_silu(x) = x * hard_sigmoid(x) = x * relu6(x + 3) / 6`;
/// hard_silu(-inf) = -0.
pub fn hard_silu(x: f32) -> f32 {
    if x == f32::NEG_INFINITY {
        return -0.0;
    }
    x * hard_sigmoid(x)
}

/// `hard_tanh(x) = clip(x, -1, 1)`.
pub fn hard_tanh(x: f32) -> f32 {
    clip(x, -1.0, 1.0)
}

/// `log_sigmoid(x) = log(sigmoid(x)) = -softplus(-x)`.
pub fn log_sigmoid(x: f32) -> f32 {
    -softplus(-x)
}

/// `mish(x) = x * tanh(softplus(x))`; mish(-inf) = -0.
pub fn mish(x: f32) -> f32 {
    if x == f32::NEG_INFINITY {
        return -0.0;
    }
    x * tanhf(softplus(x))
}

/// `relu6(x) = min(max(x, 0), 6)`.
pub fn relu6(x: f32) -> f32 {
    let y = relu0(x);
    if y > 6.0 {
        6.0
    } else {
        y
    }
}

/// `silu(x) = x * sigmoid(x)`; silu(-inf) = -0.
pub fn silu(x: f32) -> f32 {
    if x == f32::NEG_INFINITY {
        return -0.0;
    }
    x * sigmoid(x)
}

/// `soft_shrink(x, threshold=0.5) = x - threshold if x > threshold,
/// x + threshold if x < -threshold, else 0`.
pub fn soft_shrink(x: f32, threshold: f32) -> f32 {
    if x > threshold {
        x - threshold
    } else if x < -threshold {
        x + threshold
    } else {
        0.0
    }
}

/// `softplus(x) = log(exp(x) + 1)`, evaluated as
/// `log1p(exp(-|x|)) + max(x, 0)` (no overflow; softplus(-inf) = 0).
pub fn softplus(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    log1pf(expf(-fabsf(x))) + x.max(0.0)
}

/// `softsign(x) = x / (|x| + 1)`; softsign(±inf) = ±1.
pub fn softsign(x: f32) -> f32 {
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { -1.0 };
    }
    x / (fabsf(x) + 1.0)
}

/// `sparse_plus(x) = 0 if x <= -1, (x + 1)^2 / 4 if -1 < x < 1, x if x >= 1`.
pub fn sparse_plus(x: f32) -> f32 {
    if x <= -1.0 {
        0.0
    } else if x < 1.0 {
        let y = x + 1.0;
        0.25 * (y * y)
    } else {
        x
    }
}

/// `sparse_sigmoid(x) = 0 if x <= -1, (x + 1) / 2 if -1 < x < 1, 1 if x >= 1`.
pub fn sparse_sigmoid(x: f32) -> f32 {
    if x <= -1.0 {
        0.0
    } else if x >= 1.0 {
        1.0
    } else {
        0.5 * (x + 1.0)
    }
}

/// `squareplus(x, b=4) = (x + sqrt(x^2 + b)) / 2`, evaluated as
/// `b / (2 * (sqrt(x^2 + b) - x))` for x < 0 (no cancellation; -inf gives 0)
/// and with `hypot` so that x^2 cannot overflow.
pub fn squareplus(x: f32, b: f32) -> f32 {
    let root = hypotf(x, sqrtf(b));
    if x < 0.0 {
        b / (2.0 * (root - x))
    } else {
        0.5 * x + 0.5 * root
    }
}

/// `tanh_shrink(x) = x - tanh(x)`.
pub fn tanh_shrink(x: f32) -> f32 {
    x - tanhf(x)
}

/// `threshold(x, threshold, default_value) = x if x > threshold else
/// default_value`.
pub fn threshold(x: f32, threshold: f32, default_value: f32) -> f32 {
    if x > threshold {
        x
    } else {
        default_value
    }
}

/// The largest value, ignoring NaN (`-inf` for an empty slice).
fn max_of(values: &[f32]) -> f32 {
    values.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
}

/// `softmax(x)_i = exp(x_i - max(x)) / sum_j exp(x_j - max(x))`.
/// Stable for any finite logits. As in Keras: a NaN or +inf anywhere, or all
/// values -inf, gives NaN everywhere.
pub fn softmax(buf: &mut [f32]) {
    let max = max_of(buf);
    let mut sum = 0.0f32;
    for value in buf.iter_mut() {
        *value = expf(*value - max);
        sum += *value;
    }
    for value in buf.iter_mut() {
        *value /= sum;
    }
}

/// `log_softmax(x)_i = x_i - max(x) - log(sum_j exp(x_j - max(x)))`.
/// Same non-finite behaviour as [`softmax`]; -inf entries give -inf.
pub fn log_softmax(buf: &mut [f32]) {
    let max = max_of(buf);
    let sum: f32 = buf.iter().map(|&v| expf(v - max)).sum();
    let log_sum = logf(sum);
    for value in buf.iter_mut() {
        *value = (*value - max) - log_sum;
    }
}

/// `sparsemax(x)_i = max(x_i - tau, 0)`, the Euclidean projection of x onto
/// the probability simplex (Martins & Astudillo 2016): tau is such that the
/// outputs sum to 1. Found without sorting or scratch memory by Michelot's
/// algorithm (tau = (sum of the support - 1) / |support|, support = {x_i >
/// tau}, repeated until the support stops shrinking), on `x - max(x)` for
/// accuracy with large logits. A NaN or +inf anywhere, or all values -inf,
/// gives NaN everywhere (like softmax); -inf entries give 0.
///
/// Keras 3.15's own sparsemax is wrong whenever the support has more than
/// one element (keras-team/keras#23425, fixed upstream by #23469); this is
/// the corrected definition.
pub fn sparsemax(buf: &mut [f32]) {
    if buf.is_empty() {
        return;
    }
    let max = max_of(buf);
    if !max.is_finite() || buf.iter().any(|v| v.is_nan()) {
        buf.fill(f32::NAN);
        return;
    }
    // Shift so that the largest value is 0: every support sum is <= 0.
    for value in buf.iter_mut() {
        *value -= max;
    }
    // Each pass can only shrink the support, so at most len + 1 passes are
    // needed. Start from the entries above -1: the result's tau is >= max - 1 = -1
    // (no output exceeds 1), so none at or below it can be in the support,
    // and a superset of the support converges to the same tau. It also keeps
    // the sum bounded: entries near -f32::MAX would overflow it to -inf
    // ([0.5, 0.2, 3e38] gave inf).
    let mut count = usize::MAX;
    let mut tau = -1.0f32;
    for _ in 0..=buf.len() {
        let mut new_count = 0usize;
        let mut sum = 0.0f32;
        for &value in buf.iter() {
            if value > tau {
                new_count += 1;
                sum += value;
            }
        }
        // The maximum (0) is always above tau (< 0), so new_count >= 1.
        if new_count == 0 || new_count >= count {
            break;
        }
        count = new_count;
        tau = (sum - 1.0) / count as f32;
    }
    for value in buf.iter_mut() {
        *value = relu0(*value - tau);
    }
}

/// `glu(x) = a * sigmoid(b)` where `a`, `b` are the first and second halves
/// of x. Writes the `n / 2` results to `buf[..n / 2]` and returns `n / 2`;
/// an odd length is [`Status::Size`].
pub fn glu(buf: &mut [f32]) -> Result<usize, Status> {
    if !buf.len().is_multiple_of(2) {
        return Err(Status::Size);
    }
    let half = buf.len() / 2;
    if let Some((a, b)) = buf.split_at_mut_checked(half) {
        for (a, &b) in a.iter_mut().zip(b.iter()) {
            *a *= sigmoid(b);
        }
    }
    Ok(half)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;

    fn close(a: f32, b: f32) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-6 + 1e-6 * b.abs()
    }

    #[test]
    fn limits_at_infinity() {
        assert_eq!(sigmoid(INF), 1.0);
        assert_eq!(sigmoid(-INF), 0.0);
        assert_eq!(sigmoid(100.0), 1.0);
        assert_eq!(sigmoid(-100.0), expf(-100.0) / (1.0 + expf(-100.0)));
        assert_eq!(softplus(-INF), 0.0);
        assert_eq!(softplus(INF), INF);
        assert_eq!(log_sigmoid(-INF), -INF);
        assert_eq!(log_sigmoid(INF), 0.0);
        assert_eq!(tanh(INF), 1.0);
        assert_eq!(tanh(-INF), -1.0);
        assert_eq!(exponential(INF), INF);
        assert_eq!(exponential(-INF), 0.0);
        for f in [
            silu as fn(f32) -> f32,
            mish,
            hard_silu,
            |x| gelu(x, false),
            |x| gelu(x, true),
        ] {
            assert_eq!(f(-INF), 0.0);
            assert_eq!(f(INF), INF);
        }
        assert_eq!(softsign(INF), 1.0);
        assert_eq!(softsign(-INF), -1.0);
        assert_eq!(squareplus(-INF, 4.0), 0.0);
        assert_eq!(squareplus(INF, 4.0), INF);
        assert_eq!(elu(-INF, 1.0), -1.0);
        assert_eq!(celu(-INF, 0.5), -0.5);
        assert!(close(selu(-INF), -SELU_SCALE_ALPHA));
        assert_eq!(tanh_shrink(INF), INF);
    }

    #[test]
    fn nan_propagates_where_keras_does() {
        let acts = [
            Activation::Linear,
            Activation::Relu {
                negative_slope: 0.0,
                max_value: None,
                threshold: 0.0,
            },
            Activation::Relu {
                negative_slope: 0.0,
                max_value: Some(6.0),
                threshold: 0.0,
            },
            Activation::Relu {
                negative_slope: 0.1,
                max_value: Some(6.0),
                threshold: 1.0,
            },
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            Activation::Elu { alpha: 1.0 },
            Activation::Selu,
            Activation::Celu { alpha: 1.0 },
            Activation::Exponential,
            Activation::Gelu { approximate: false },
            Activation::Gelu { approximate: true },
            Activation::HardSigmoid,
            Activation::HardSilu,
            Activation::HardTanh,
            Activation::LogSigmoid,
            Activation::Mish,
            Activation::Relu6,
            Activation::Silu,
            Activation::Softplus,
            Activation::Softsign,
            Activation::SparsePlus,
            Activation::SparseSigmoid,
            Activation::Squareplus { b: 4.0 },
            Activation::TanhShrink,
        ];
        for act in acts {
            assert!(act.scalar(NAN).unwrap().is_nan(), "{act:?}");
        }
        // Keras's comparisons send NaN to the "else" branch.
        assert_eq!(hard_shrink(NAN, 0.5), 0.0);
        assert_eq!(soft_shrink(NAN, 0.5), 0.0);
        assert_eq!(threshold(NAN, 0.5, -1.0), -1.0);
        assert_eq!(relu(NAN, 0.0, None, 1.0), 0.0);
    }

    #[test]
    fn relu_variants_match_keras_static_call() {
        // Plain relu, relu6 via max_value, leaky via negative_slope.
        assert_eq!(relu(-2.0, 0.0, None, 0.0), 0.0);
        assert_eq!(relu(7.0, 0.0, Some(6.0), 0.0), 6.0);
        assert_eq!(relu(-2.0, 0.1, None, 0.0), -0.2);
        // Threshold keeps x only above it (Keras: where(x > t, x, 0)).
        assert_eq!(relu(1.0, 0.0, None, 1.0), 0.0);
        assert_eq!(relu(1.5, 0.0, None, 1.0), 1.5);
        assert_eq!(relu(-0.5, 0.0, None, -1.0), -0.5);
        // All three: clip then subtract slope * relu(t - x).
        assert!(close(relu(0.0, 0.1, Some(6.0), 1.0), -0.1));
        assert!(close(relu(-3.0, 0.1, Some(6.0), 1.0), -0.4));
        assert_eq!(relu(10.0, 0.1, Some(6.0), 1.0), 6.0);
        // negative_slope with max_value and threshold 0: relu(-x) part.
        assert!(close(relu(-3.0, 0.1, Some(6.0), 0.0), -0.3));
    }

    #[test]
    fn parameter_checks() {
        assert_eq!(
            Activation::Squareplus { b: -1.0 }.validate(),
            Err(Status::Param)
        );
        assert_eq!(Activation::Squareplus { b: 0.0 }.validate(), Ok(()));
        assert_eq!(
            Activation::Celu { alpha: 0.0 }.validate(),
            Err(Status::Param)
        );
        assert_eq!(
            Activation::Elu { alpha: NAN }.validate(),
            Err(Status::Param)
        );
        assert_eq!(
            Activation::Relu {
                negative_slope: 0.0,
                max_value: Some(-1.0),
                threshold: 0.0
            }
            .validate(),
            Err(Status::Param)
        );
        assert_eq!(
            Activation::Threshold {
                threshold: 0.0,
                default_value: INF
            }
            .validate(),
            Err(Status::Param)
        );
        let mut buf = [1.0f32; 4];
        assert_eq!(
            activate_f32(&mut buf, &Activation::Celu { alpha: 0.0 }),
            Err(Status::Param)
        );
        assert_eq!(buf, [1.0; 4], "buffer untouched on error");
    }

    #[test]
    fn softmax_is_stable_and_keras_like() {
        let mut buf = [1e4f32, -1e4, 0.0];
        softmax(&mut buf);
        assert_eq!(buf, [1.0, 0.0, 0.0]);
        let mut buf = [-INF, 0.0, 0.0];
        softmax(&mut buf);
        assert_eq!(buf, [0.0, 0.5, 0.5]);
        for bad in [[-INF, -INF, -INF], [INF, 0.0, 0.0], [NAN, 0.0, 1.0]] {
            let mut buf = bad;
            softmax(&mut buf);
            assert!(buf.iter().all(|v| v.is_nan()), "{bad:?}");
            let mut buf = bad;
            log_softmax(&mut buf);
            assert!(buf.iter().all(|v| v.is_nan()), "{bad:?}");
        }
        let mut buf = [-INF, 0.0, 0.0];
        log_softmax(&mut buf);
        assert_eq!(buf[0], -INF);
        assert!(close(buf[1], -core::f32::consts::LN_2));
        let mut empty: [f32; 0] = [];
        softmax(&mut empty);
        log_softmax(&mut empty);
        sparsemax(&mut empty);
    }

    #[test]
    fn sparsemax_projects_onto_simplex() {
        let mut buf = [0.0f32, 0.5, 1.0];
        sparsemax(&mut buf);
        assert_eq!(buf, [0.0, 0.25, 0.75]);
        let mut buf = [1.0f32, 1.2];
        sparsemax(&mut buf);
        assert!(close(buf[0], 0.4) && close(buf[1], 0.6), "{buf:?}");
        let mut buf = [1e4f32, -1e4, 0.0];
        sparsemax(&mut buf);
        assert_eq!(buf, [1.0, 0.0, 0.0]);
        let mut buf = [3.0f32, 3.0, 3.0, 3.0];
        sparsemax(&mut buf);
        assert_eq!(buf, [0.25; 4]);
        let mut buf = [-INF, 2.0, 2.0];
        sparsemax(&mut buf);
        assert_eq!(buf, [0.0, 0.5, 0.5]);
        let mut buf = [5.0f32];
        sparsemax(&mut buf);
        assert_eq!(buf, [1.0]);
        // Shifted values near -f32::MAX: the support sum must not overflow.
        let mut buf = [0.5f32, 0.2, 3e38];
        sparsemax(&mut buf);
        assert_eq!(buf, [0.0, 0.0, 1.0]);
        let mut buf = [-3e38f32, -3e38, 3e38, 3e38 - 1e32];
        sparsemax(&mut buf);
        assert_eq!(buf, [0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn glu_uses_halves_in_place() {
        let mut buf = [1.0f32, 2.0, 0.0, 100.0];
        assert_eq!(glu(&mut buf), Ok(2));
        assert_eq!(buf[0], 0.5);
        assert_eq!(buf[1], 2.0);
        let mut odd = [1.0f32; 3];
        assert_eq!(glu(&mut odd), Err(Status::Size));
        assert_eq!(activate_f32(&mut odd, &Activation::Glu), Err(Status::Size));
        let mut empty: [f32; 0] = [];
        assert_eq!(activate_f32(&mut empty, &Activation::Glu), Ok(0));
    }

    #[test]
    fn small_formulas() {
        assert_eq!(hard_sigmoid(0.0), 0.5);
        assert_eq!(hard_sigmoid(-3.0), 0.0);
        assert_eq!(hard_sigmoid(3.0), 1.0);
        assert_eq!(hard_silu(1.0), 1.0 * 4.0 / 6.0);
        assert_eq!(sparse_plus(0.0), 0.25);
        assert_eq!(sparse_plus(-1.0), 0.0);
        assert_eq!(sparse_plus(1.0), 1.0);
        assert_eq!(sparse_sigmoid(0.0), 0.5);
        assert_eq!(squareplus(0.0, 4.0), 1.0);
        assert_eq!(squareplus(-3.0, 0.0), 0.0);
        assert_eq!(squareplus(3.0, 0.0), 3.0);
        assert_eq!(soft_shrink(2.0, 0.5), 1.5);
        assert_eq!(soft_shrink(-2.0, 0.5), -1.5);
        assert_eq!(soft_shrink(0.4, 0.5), 0.0);
        assert_eq!(hard_shrink(0.5, 0.5), 0.0);
        assert_eq!(hard_shrink(-0.6, 0.5), -0.6);
        assert_eq!(threshold(0.5, 0.5, -1.0), -1.0);
        assert_eq!(leaky_relu(-1.0, 0.2), -0.2);
        assert!(close(selu(1.0), 1.050_701));
        assert!(close(gelu(1.0, false), 0.841_344_7));
        assert!(close(gelu(1.0, true), 0.841_191_97));
        assert!(close(mish(1.0), 0.865_098_4));
    }
}
