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

//!
//! The parts: this file has [`Activation`] (the kinds and their parameters,
//! their checks and output sizes) and the dispatch that applies one to a
//! buffer; [`scalar`] the element-wise formulas; [`vector`] the activations
//! over the whole vector (softmax, log_softmax, sparsemax, glu).

use crate::Status;

pub mod backward;
pub mod s8;
pub mod scalar;
pub mod vector;

pub use scalar::*;
use scalar::{finite, not_negative, relu0};
pub use vector::*;

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

/// The wide and blocked kernels apply a common activation to each sum as
/// they compute it (src/math/matvec.rs); `None`: none.
impl crate::math::matvec::Post for Option<Common> {
    #[inline(always)]
    fn apply(self, value: f32) -> f32 {
        self.map_or(value, |c| c.apply(value))
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

#[cfg(test)]
mod tests {
    use super::scalar::{expf, SELU_SCALE_ALPHA};
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
        // Where x^2 overflows float32, the root is x's magnitude: squareplus(x) = x
        // for large x and b / (4 |x|) for large negative x.
        assert_eq!(squareplus(1e30, 4.0), 1e30);
        assert_eq!(squareplus(3e38, 4.0), 3e38);
        let tiny = squareplus(-1e30, 4.0);
        assert!((tiny - 1e-30).abs() <= 1e-30 * 1e-6, "{tiny}");
        // Either side of the 1e18 switch, against the definition in f64.
        for x in [-1.001e18f32, -9.99e17, 9.99e17, 1.001e18] {
            let (xd, bd) = (x as f64, 1e36f64);
            let want = 0.5 * (xd + (xd * xd + bd).sqrt());
            let got = squareplus(x, 1e36) as f64;
            assert!((got - want).abs() <= want * 1e-6, "{x}: {got} {want}");
        }
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
