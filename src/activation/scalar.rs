//! The element-wise Keras 3 activations on one f32 each, and the bit-level
//! helpers they share. Each function gives the Keras 3 formula in its doc
//! comment.

use libm::{fabsf, sqrtf};
use outlined::{erfcf, expm1f, log1pf, tanhf};

/// libm's larger functions, kept out of line: inlined into [`apply`] they
/// would be copied for each activation that uses them.
pub(super) mod outlined {
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

use crate::math::{self, exp as fastexp};

/// `exp` for the activations: picked by [`math::expf`] (the integer
/// [`fastexp::exp`] on cores without an FPU, elsewhere `libm::expf`).
pub(crate) use crate::math::expf;

/// `exp(x) - 1` for elu, selu and celu. On soft-float bare-metal targets,
/// for x < -0.7 (exp(x) < 1/2: no cancellation, within 1 ulp) it is
/// `exp(x) - 1` with the integer exp; elsewhere `libm::expm1f`.
pub(super) fn expm1(x: f32) -> f32 {
    if math::SOFT_FLOAT && x < -0.7 {
        fastexp::exp(x) - 1.0
    } else {
        expm1f(x)
    }
}

/// `x.is_finite()` on the bits (exponent not all ones).
pub(super) fn finite(x: f32) -> bool {
    x.to_bits() << 1 < 0xff00_0000
}

/// `x >= 0.0` for a finite `x` (so -0.0 too), on the bits.
pub(super) fn not_negative(x: f32) -> bool {
    (x.to_bits() as i32) >= 0 || x.to_bits() << 1 == 0
}

/// `x > 0.0` on the bits: false for ±0 and NaN, true for +inf.
pub(super) fn positive(x: f32) -> bool {
    let bits = x.to_bits() as i32;
    bits > 0 && bits <= 0x7f80_0000
}

/// `max(x, 0)` that keeps NaN (TensorFlow's `relu`): +0 for x <= 0.
/// On the bits: a set sign bit on anything but a NaN gives +0. (Cores
/// without an FPU would otherwise call two soft-float comparisons.)
pub(super) fn relu0(x: f32) -> f32 {
    let bits = x.to_bits();
    if (bits as i32) < 0 && bits << 1 <= 0xff00_0000 {
        0.0
    } else {
        x
    }
}

/// `clip(x, low, high)` that keeps NaN (TensorFlow's `clip_by_value`).
pub(super) fn clip(x: f32, low: f32, high: f32) -> f32 {
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
    if math::SOFT_FLOAT {
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
pub(super) const SELU_SCALE_ALPHA: f32 = 1.758_099_3;

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
/// `b / (2 * (sqrt(x^2 + b) - x))` for x < 0 (no cancellation; -inf gives 0).
/// The root is float32's `sqrt(x * x + b)`, as Keras computes it, scaled by
/// 2^-64 where x^2 would overflow. (libm's `hypotf` works in f64: on cores
/// without an FPU that brought in 2 KB of double-precision routines.)
pub fn squareplus(x: f32, b: f32) -> f32 {
    let root = if fabsf(x) < 1e18 {
        sqrtf(x * x + b)
    } else {
        const DOWN: f32 = 1.0 / 18446744073709551616.0; // 2^-64
        let s = x * DOWN;
        sqrtf(s * s + b * DOWN * DOWN) * 18446744073709551616.0
    };
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
