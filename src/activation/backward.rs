//! The backward pass of every activation: `dz = dy · J(z)`, from the
//! pre-activation `z` and the output `y` the forward pass kept.
//!
//! At the kinks the values are what `tf.GradientTape` gives through Keras
//! 3's TensorFlow implementation (checked on every target against
//! `tests/fixtures/gradients.json`): relu'(0) = 0, leaky_relu'(0) =
//! negative_slope, elu'(0) = alpha, selu'(0) = scale, celu'(0) = 2 (both
//! branches of `max(x, 0) + alpha * expm1(min(x, 0) / alpha)` pass the
//! gradient), hard_tanh and clipped relu pass it at the bounds, relu6 and
//! hard_sigmoid do not. sparsemax is the true sparsemax's Jacobian (Keras
//! 3.15's own sparsemax is not the projection onto the simplex).

use super::scalar::outlined::{erfcf, tanhf};
use super::scalar::{expf, positive, sigmoid, softplus, sparse_sigmoid, SELU_ALPHA, SELU_SCALE};
use super::Activation;
use crate::Status;
use core::f32::consts::FRAC_1_SQRT_2;
use libm::{fabsf, sqrtf};

/// 1 / sqrt(2 pi), for the exact gelu's derivative.
const INV_SQRT_2PI: f32 = 0.398_942_3;
/// sqrt(2 / pi), for the tanh form of gelu.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

fn step(c: bool) -> f32 {
    if c {
        1.0
    } else {
        0.0
    }
}

/// relu(x, negative_slope, max_value, threshold)' as TensorFlow's autodiff
/// of Keras 3's composition gives it.
fn relu_derivative(x: f32, negative_slope: f32, max_value: Option<f32>, threshold: f32) -> f32 {
    if negative_slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return if x > 0.0 { 1.0 } else { negative_slope }; // tf.nn.leaky_relu
    }
    let (mut d, y, clip) = if threshold != 0.0 {
        if x > threshold {
            (1.0, x, max_value)
        } else {
            (0.0, 0.0, max_value)
        }
    } else if max_value == Some(6.0) {
        (step(0.0 < x && x < 6.0), 0.0, None) // tf.nn.relu6
    } else if x > 0.0 {
        (1.0, x, max_value)
    } else {
        (0.0, 0.0, max_value)
    };
    if let Some(m) = clip {
        // clip_by_value passes the gradient inside [0, max_value]
        if !(0.0..=m).contains(&y) {
            d = 0.0;
        }
    }
    if negative_slope != 0.0 && threshold - x > 0.0 {
        d += negative_slope; // - negative_slope * relu(threshold - x)
    }
    d
}

impl Activation {
    /// d activation / dx at `x` with output `y`; `None` for the vector
    /// activations.
    pub fn derivative(&self, x: f32, y: f32) -> Option<f32> {
        Some(match *self {
            Activation::Linear => 1.0,
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => relu_derivative(x, negative_slope, max_value, threshold),
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * expf(x)
                }
            }
            Activation::Selu => {
                if y < 0.0 {
                    SELU_SCALE * SELU_ALPHA * expf(x)
                } else {
                    SELU_SCALE
                }
            }
            Activation::Celu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    expf(x / alpha) + step(x == 0.0)
                }
            }
            Activation::Exponential => y,
            Activation::Gelu { approximate: true } => {
                let t = tanhf(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x));
                0.5 * (1.0 + t)
                    + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x)
            }
            Activation::Gelu { approximate: false } => {
                0.5 * erfcf(-x * FRAC_1_SQRT_2) + x * INV_SQRT_2PI * expf(-0.5 * x * x)
            }
            Activation::HardShrink { threshold } | Activation::SoftShrink { threshold } => {
                step(fabsf(x) > threshold)
            }
            Activation::HardSigmoid => step(-3.0 < x && x < 3.0) / 6.0,
            Activation::HardSilu => {
                let hs = (x + 3.0).clamp(0.0, 6.0) / 6.0;
                hs + if -3.0 < x && x < 3.0 { x / 6.0 } else { 0.0 }
            }
            Activation::HardTanh => step((-1.0..=1.0).contains(&x)),
            Activation::LogSigmoid => sigmoid(-x),
            Activation::Mish => {
                let t = tanhf(softplus(x));
                t + x * (1.0 - t * t) * sigmoid(x)
            }
            Activation::Relu6 => step(0.0 < x && x < 6.0),
            Activation::Silu => {
                let s = sigmoid(x);
                s + x * s * (1.0 - s)
            }
            Activation::Softplus => sigmoid(x),
            Activation::Softsign => {
                let d = 1.0 + fabsf(x);
                1.0 / (d * d)
            }
            Activation::SparsePlus => sparse_sigmoid(x),
            Activation::SparseSigmoid => 0.5 * step(-1.0 < x && x < 1.0),
            Activation::Squareplus { b } => 0.5 * (1.0 + x / sqrtf(x * x + b)),
            Activation::TanhShrink => {
                let t = tanhf(x);
                t * t
            }
            Activation::Threshold { threshold, .. } => step(x > threshold),
            Activation::Softmax
            | Activation::LogSoftmax
            | Activation::Sparsemax
            | Activation::Glu => return None,
        })
    }
}

/// `dz = dy · J(z)` for `act` (parameters checked first): `z` and `dz` have
/// the layer's units, `y` and `dy` its outputs (units, or units / 2 for
/// glu). Any other length is [`Status::Size`].
pub fn activation_backward(
    act: &Activation,
    z: &[f32],
    y: &[f32],
    dy: &[f32],
    dz: &mut [f32],
) -> Result<(), Status> {
    act.validate()?;
    let n = act.outputs(z.len())?;
    if y.len() != n || dy.len() != n || dz.len() != z.len() {
        return Err(Status::Size);
    }
    match act {
        Activation::Linear => {
            for (out, &d) in dz.iter_mut().zip(dy) {
                *out = d;
            }
        }
        Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        } => {
            // relu'(z) = [z > 0], the compare on the bits (without an FPU
            // a float compare is a library call)
            for ((out, &z), &d) in dz.iter_mut().zip(z).zip(dy) {
                *out = if positive(z) { d } else { 0.0 };
            }
        }
        Activation::Softmax => {
            let s: f32 = dy.iter().zip(y).map(|(d, y)| d * y).sum();
            for ((out, &y), &d) in dz.iter_mut().zip(y).zip(dy) {
                *out = y * (d - s);
            }
        }
        Activation::LogSoftmax => {
            let s: f32 = dy.iter().sum();
            for ((out, &y), &d) in dz.iter_mut().zip(y).zip(dy) {
                *out = d - expf(y) * s;
            }
        }
        Activation::Sparsemax => {
            let (mut k, mut s) = (0u32, 0.0f32);
            for (&y, &d) in y.iter().zip(dy) {
                if y > 0.0 {
                    k += 1;
                    s += d;
                }
            }
            let mean = if k > 0 { s / k as f32 } else { 0.0 };
            for ((out, &y), &d) in dz.iter_mut().zip(y).zip(dy) {
                *out = if y > 0.0 { d - mean } else { 0.0 };
            }
        }
        Activation::Glu => {
            let (za, zb) = z.split_at_checked(n).ok_or(Status::Size)?;
            let (da, db) = dz.split_at_mut_checked(n).ok_or(Status::Size)?;
            for ((((da, db), &a), &b), &d) in da.iter_mut().zip(db).zip(za).zip(zb).zip(dy) {
                let s = sigmoid(b);
                *da = d * s;
                *db = d * a * s * (1.0 - s);
            }
        }
        _ => {
            for (((out, &z), &y), &d) in dz.iter_mut().zip(z).zip(y).zip(dy) {
                *out = d * act.derivative(z, y).unwrap_or(f32::NAN);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acts() -> [Activation; 12] {
        [
            Activation::Linear,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Elu { alpha: 0.5 },
            Activation::Selu,
            Activation::Gelu { approximate: false },
            Activation::Gelu { approximate: true },
            Activation::Mish,
            Activation::Silu,
            Activation::Softplus,
            Activation::Softsign,
            Activation::Squareplus { b: 4.0 },
        ]
    }

    /// Away from kinks, each derivative is a central difference of the
    /// forward function (in f64 where possible, so f32 rounding is small).
    #[test]
    fn derivatives_match_central_differences() {
        for act in acts() {
            for i in -40..=40 {
                let x = i as f32 * 0.1 + 0.0125;
                let h = 1e-2f32;
                let fd = (act.scalar(x + h).unwrap() as f64 - act.scalar(x - h).unwrap() as f64)
                    / (2.0 * h as f64);
                let d = act.derivative(x, act.scalar(x).unwrap()).unwrap() as f64;
                assert!(
                    (d - fd).abs() <= 2e-3 + 2e-3 * fd.abs(),
                    "{act:?} at {x}: {d} vs {fd}"
                );
            }
        }
    }

    #[test]
    fn kinks_follow_tensorflow() {
        let relu = Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        };
        assert_eq!(relu.derivative(0.0, 0.0), Some(0.0));
        assert_eq!(
            Activation::Celu { alpha: 1.0 }.derivative(0.0, 0.0),
            Some(2.0)
        );
        assert_eq!(
            Activation::Elu { alpha: 0.5 }.derivative(0.0, 0.0),
            Some(0.5)
        );
        assert_eq!(Activation::HardTanh.derivative(1.0, 1.0), Some(1.0));
        assert_eq!(Activation::Relu6.derivative(6.0, 6.0), Some(0.0));
        let clipped = Activation::Relu {
            negative_slope: 0.0,
            max_value: Some(2.5),
            threshold: 0.0,
        };
        assert_eq!(clipped.derivative(2.5, 2.5), Some(1.0));
        assert_eq!(clipped.derivative(3.0, 2.5), Some(0.0));
    }

    /// relu's and linear's own loops in activation_backward give what
    /// derivative() does, at the kink, the signed zeros, infinities, NaN
    /// and subnormals too.
    #[test]
    fn relu_and_linear_fast_paths_match_the_derivative() {
        let z = [
            0.0f32,
            -0.0,
            1e-45,
            -1e-45,
            2.5,
            -2.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::MAX,
        ];
        let dy = [3.0f32; 11];
        for act in [
            Activation::Linear,
            Activation::Relu {
                negative_slope: 0.0,
                max_value: None,
                threshold: 0.0,
            },
        ] {
            let y = z.map(|v| act.scalar(v).unwrap());
            let mut dz = [7.0f32; 11];
            activation_backward(&act, &z, &y, &dy, &mut dz).unwrap();
            for i in 0..z.len() {
                let want = 3.0 * act.derivative(z[i], y[i]).unwrap();
                assert_eq!(dz[i].to_bits(), want.to_bits(), "{act:?} at {}", z[i]);
            }
        }
    }

    #[test]
    fn vector_backward_is_a_vector_jacobian_product() {
        // softmax: sum of dz is 0 for any dy; glu halves.
        let z = [0.5f32, -1.0, 2.0, 0.25];
        let mut y = z;
        crate::activation::softmax(&mut y);
        let dy = [0.3f32, -0.7, 1.1, 0.2];
        let mut dz = [0.0f32; 4];
        activation_backward(&Activation::Softmax, &z, &y, &dy, &mut dz).unwrap();
        assert!(dz.iter().sum::<f32>().abs() < 1e-6);
        let mut g = [0.0f32; 4];
        let mut yg = z;
        crate::activation::glu(&mut yg).unwrap();
        activation_backward(&Activation::Glu, &z, &yg[..2], &dy[..2], &mut g).unwrap();
        assert!((g[0] - dy[0] * sigmoid(z[2])).abs() < 1e-7);
        assert_eq!(
            activation_backward(&Activation::Glu, &z, &yg[..1], &dy[..2], &mut g),
            Err(Status::Size)
        );
    }
}
