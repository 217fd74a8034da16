//! Keras's losses: one sample's value and its gradient at the output
//! layer's pre-activations (the cross-entropies from the logits after a
//! sigmoid or softmax output, as TensorFlow computes them).

use super::metric::{class_index, first_max};
use crate::activation::backward::activation_backward;
use crate::activation::Activation;
use crate::math::{self, fdiv};
use crate::Status;
use libm::fabsf;

/// keras.backend.epsilon(), the cross-entropies' clip.
pub(crate) const EPS: f32 = 1e-7;

/// Keras's losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    MeanSquaredError,
    MeanAbsoluteError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    /// Targets are class indices (one value per sample).
    SparseCategoricalCrossentropy,
}

// libm's functions, each called from one place (LTO would otherwise
// inline a copy at every call); exp is the activations' and ln the integer
// one on cores without an FPU (src/math/ln.rs), like exp: both picked by
// src/math/mod.rs.
#[inline(never)]
pub(crate) fn exp(x: f32) -> f32 {
    math::expf(x)
}

#[inline(never)]
pub(crate) fn ln(x: f32) -> f32 {
    math::ln_f32(x)
}

#[inline(never)]
pub(crate) fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// `b^t` for Adam's bias correction, as `exp(t ln b)` (within a few ulp of
/// float32's `pow` for the betas Keras uses; libm's powf is 1.8 KB).
pub(crate) fn pow(b: f32, t: f32) -> f32 {
    exp(t * ln(b))
}

/// `v` clipped to [EPS, 1 - EPS] (NaN stays NaN), on the bits: each float
/// compare is a library call on cores without an FPU.
pub(crate) fn clip(v: f32) -> f32 {
    let bits = v.to_bits();
    if bits << 1 > 0xff00_0000 {
        v
    } else if bits < EPS.to_bits() || bits >> 31 != 0 {
        EPS
    } else if bits > (1.0 - EPS).to_bits() {
        1.0 - EPS
    } else {
        v
    }
}

/// `v` in [EPS, 1 - EPS] (on the bits: negative values, -0.0 and NaN are
/// above 1 - EPS's as unsigned integers).
pub(crate) fn inside(v: f32) -> bool {
    (EPS.to_bits()..=(1.0 - EPS).to_bits()).contains(&v.to_bits())
}

/// One sample's loss (Keras's, for output `y` with pre-activation `z` and
/// target `t`) and, given `grad = (dy, dz, scale)`, its gradient `dz`
/// times `scale` (through the activation's backward pass where the loss is
/// not computed from the logits; `dy` is scratch for it).
#[inline(never)]
pub(crate) fn loss_and_grad(
    loss: Loss,
    act: &Activation,
    z: &[f32],
    y: &[f32],
    t: &[f32],
    grad: Option<(&mut [f32], &mut [f32], f32)>,
) -> Result<f32, Status> {
    let n = y.len() as f32;
    let (dy, mut dz, scale) = match grad {
        Some((dy, dz, scale)) => (Some(dy), Some(dz), scale),
        None => (None, None, 1.0),
    };
    let mut scratch = [0.0f32; 0];
    let dy = dy.unwrap_or(&mut scratch);
    let pairs = || y.iter().zip(t);
    let (value, from_logits) = match loss {
        Loss::MeanSquaredError => {
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                *d = 2.0 * (y - t) / n;
            }
            (
                pairs().map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / n,
                false,
            )
        }
        Loss::MeanAbsoluteError => {
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                let e = y - t;
                *d = if e > 0.0 {
                    1.0 / n
                } else if e < 0.0 {
                    -1.0 / n
                } else {
                    0.0
                };
            }
            (pairs().map(|(y, t)| fabsf(y - t)).sum::<f32>() / n, false)
        }
        Loss::BinaryCrossentropy if *act == Activation::Sigmoid => {
            // (y is sigmoid(z), from the forward pass)
            if let Some(dz) = dz.as_deref_mut() {
                for (d, (&y, &t)) in dz.iter_mut().zip(pairs()) {
                    *d = (y - t) / n;
                }
            }
            let s: f32 = z
                .iter()
                .zip(t)
                .map(|(&x, &t)| x.max(0.0) - x * t + ln_1p(exp(-fabsf(x))))
                .sum();
            (s / n, true)
        }
        Loss::BinaryCrossentropy => {
            let mut s = 0.0f32;
            for (&y, &t) in pairs() {
                let p = clip(y);
                s -= t * ln(p) + (1.0 - t) * ln(1.0 - p);
            }
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                let p = clip(y);
                *d = if inside(y) {
                    (-t / p + (1.0 - t) / (1.0 - p)) / n
                } else {
                    0.0
                };
            }
            (s / n, false)
        }
        Loss::CategoricalCrossentropy if *act == Activation::Softmax => {
            // y is softmax(z) = exp(z - lse) from the forward pass; at the
            // largest z (y >= 1/len), lse = z - log(y) to an ulp.
            let k = first_max(z);
            let lse = z
                .get(k)
                .zip(y.get(k))
                .map_or(f32::NAN, |(&z, &y)| z - ln(y));
            let st: f32 = t.iter().sum();
            if let Some(dz) = dz.as_deref_mut() {
                for (d, (&y, &t)) in dz.iter_mut().zip(pairs()) {
                    *d = y * st - t;
                }
            }
            (
                -z.iter().zip(t).map(|(&z, &t)| t * (z - lse)).sum::<f32>(),
                true,
            )
        }
        Loss::CategoricalCrossentropy => {
            let total: f32 = y.iter().sum();
            let st: f32 = t.iter().sum();
            let s: f32 = -pairs().map(|(&y, &t)| t * ln(clip(y / total))).sum::<f32>();
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                *d = if inside(y / total) && y != 0.0 {
                    st / total - t / y
                } else {
                    0.0
                };
            }
            (s, false)
        }
        Loss::SparseCategoricalCrossentropy
            if *act == Activation::Softmax && dz.is_some() && y.iter().all(|&v| inside(v)) =>
        {
            // The general path below, with softmax's backward pass folded
            // in where no clip acts: with g = 1/s - [j == label] / y[label],
            // dz = y * (g - y . g) and y . g = sum(y) / s - 1 = 0, so
            // dz[j] = y[j] / s - [j == label] (to rounding), times scale.
            let label = t
                .first()
                .and_then(|&v| class_index(v, y.len()))
                .unwrap_or(0);
            let s: f32 = y.iter().sum();
            let c = fdiv(scale, s);
            if let Some(dz) = dz {
                for (j, (d, &y)) in dz.iter_mut().zip(y).enumerate() {
                    let p = y * c;
                    *d = if j == label { p - scale } else { p };
                }
            }
            return Ok(ln(fdiv(s, y.get(label).copied().unwrap_or(1.0))));
        }
        Loss::SparseCategoricalCrossentropy => {
            // Keras: the logits log(clip(y)), then the softmax
            // cross-entropy with the label. softmax(log c) = c / s with
            // s = sum(c), so the loss is log(s / c[label]) (one log) and its
            // gradient (c / s - [j == label]) / c = 1/s - [j == label] / c
            // where the clip passes it.
            let label = t
                .first()
                .and_then(|&v| class_index(v, y.len()))
                .unwrap_or(0);
            let s: f32 = y.iter().map(|&v| clip(v)).sum();
            let value = ln(fdiv(s, y.get(label).map_or(1.0, |&v| clip(v))));
            let inv = fdiv(1.0, s);
            for (j, (d, &y)) in dy.iter_mut().zip(y).enumerate() {
                *d = if !inside(y) {
                    0.0
                } else if j == label {
                    inv - 1.0 / y
                } else {
                    inv
                };
            }
            (value, false)
        }
    };
    if let Some(dz) = dz {
        if !from_logits {
            activation_backward(act, z, y, dy, dz)?;
        }
        for v in dz.iter_mut() {
            *v *= scale;
        }
    }
    Ok(value)
}

