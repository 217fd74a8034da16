//! Training kernels: the backward pass of a dense layer and the optimizer
//! updates, Keras 3's formulas. (The activations' backward pass is
//! [`crate::activation::backward`].) Nothing allocates; every length is
//! checked first ([`Status::Size`]) and nothing is written on a refusal.

use crate::math::fdiv;
use crate::Status;
use libm::sqrtf;

/// Dense backward for one sample, Keras layout (`kernel[i * units + j]`):
/// `gk += scale * outer(x, dz)`, `gb += scale * dz` (if given), and
/// `dx = kernel · dz` (if given; not scaled). `scale` is 1 / batch size, so
/// that a batch's gradients accumulate to Keras's mean.
pub fn dense_backward(
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    scale: f32,
    gk: &mut [f32],
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    let units = dz.len();
    let n = x.len().checked_mul(units).ok_or(Status::Size)?;
    if units == 0 || x.is_empty() || kernel.len() != n || gk.len() != n {
        return Err(Status::Size);
    }
    if gb.as_ref().is_some_and(|b| b.len() != units)
        || dx.as_ref().is_some_and(|d| d.len() != x.len())
    {
        return Err(Status::Size);
    }
    for (row, &xi) in gk.chunks_exact_mut(units).zip(x) {
        let s = xi * scale;
        if s != 0.0 {
            for (g, &d) in row.iter_mut().zip(dz) {
                *g += s * d;
            }
        }
    }
    if let Some(gb) = gb {
        for (g, &d) in gb.iter_mut().zip(dz) {
            *g += scale * d;
        }
    }
    if let Some(dx) = dx {
        for (out, row) in dx.iter_mut().zip(kernel.chunks_exact(units)) {
            *out = row.iter().zip(dz).map(|(k, d)| k * d).sum();
        }
    }
    Ok(())
}

/// Keras 3's SGD step on `w` with gradient `g`: `w -= lr * g`, or with
/// momentum `m = momentum * m - lr * g`, then `w += m` (or, Nesterov,
/// `w += momentum * m - lr * g`). `m` is needed when momentum != 0.
pub fn sgd(
    w: &mut [f32],
    g: &[f32],
    m: Option<&mut [f32]>,
    lr: f32,
    momentum: f32,
    nesterov: bool,
) -> Result<bool, Status> {
    if g.len() != w.len() || m.as_ref().is_some_and(|m| m.len() != w.len()) {
        return Err(Status::Size);
    }
    let mut finite = true;
    match m {
        Some(m) if momentum != 0.0 => {
            for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                *w = momentum_step(*w, g, m, lr, momentum, nesterov);
                finite &= w.is_finite();
            }
        }
        None if momentum != 0.0 => return Err(Status::Null),
        _ => {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= lr * g;
                finite &= w.is_finite();
            }
        }
    }
    Ok(finite)
}

/// Keras 3's Adam step: `m += (g - m) * (1 - beta_1)`,
/// `v += (g^2 - v) * (1 - beta_2)`, `w -= m * alpha / (sqrt(v) + epsilon)`,
/// with `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)` for step t
/// (computed by the caller, once per step). Returns whether every weight is
/// finite after the step.
#[allow(clippy::too_many_arguments)]
pub fn adam(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    alpha: f32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
) -> Result<bool, Status> {
    if g.len() != w.len() || m.len() != w.len() || v.len() != w.len() {
        return Err(Status::Size);
    }
    let mut finite = true;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *w = adam_step(*w, g, m, v, alpha, beta_1, beta_2, epsilon);
        finite &= w.is_finite();
    }
    Ok(finite)
}

/// One weight's SGD step with momentum (Keras 3): updates `m`, returns the
/// new weight.
#[inline(always)]
pub(crate) fn momentum_step(
    w: f32,
    g: f32,
    m: &mut f32,
    lr: f32,
    momentum: f32,
    nesterov: bool,
) -> f32 {
    *m = momentum * *m - lr * g;
    w + if nesterov { momentum * *m - lr * g } else { *m }
}

/// One weight's Adam step (Keras 3): updates `m` and `v`, returns the new
/// weight.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn adam_step(
    w: f32,
    g: f32,
    m: &mut f32,
    v: &mut f32,
    alpha: f32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
) -> f32 {
    *m += (g - *m) * (1.0 - beta_1);
    *v += (g * g - *v) * (1.0 - beta_2);
    w - fdiv(*m * alpha, sqrtf(*v) + epsilon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_backward_accumulates_and_propagates() {
        let x = [1.0f32, -2.0];
        let k = [0.5f32, 1.0, -1.0, 2.0, 0.0, 0.25]; // 2 x 3
        let dz = [1.0f32, 0.5, -1.0];
        let mut gk = [1.0f32; 6];
        let mut gb = [0.0f32; 3];
        let mut dx = [9.0f32; 2];
        dense_backward(&x, &k, &dz, 0.5, &mut gk, Some(&mut gb), Some(&mut dx)).unwrap();
        assert_eq!(gk, [1.5, 1.25, 0.5, 0.0, 0.5, 2.0]);
        assert_eq!(gb, [0.5, 0.25, -0.5]);
        assert_eq!(dx, [0.5 + 0.5 + 1.0, 2.0 + 0.0 - 0.25]);
        assert_eq!(
            dense_backward(&x, &k[..5], &dz, 1.0, &mut gk, None, None),
            Err(Status::Size)
        );
        assert_eq!(gk[0], 1.5, "nothing written on a refusal");
    }

    #[test]
    fn optimizers_follow_keras() {
        let mut w = [1.0f32, -1.0];
        sgd(&mut w, &[0.5, -0.5], None, 0.1, 0.0, false).unwrap();
        assert_eq!(w, [0.95, -0.95]);
        assert_eq!(
            sgd(&mut w, &[f32::NAN, 0.0], None, 0.1, 0.0, false),
            Ok(false)
        );
        let mut m = [0.0f32; 2];
        let mut w = [1.0f32, 1.0];
        sgd(&mut w, &[1.0, 1.0], Some(&mut m), 0.1, 0.9, false).unwrap();
        assert_eq!((w[0], m[0]), (0.9, -0.1));
        sgd(&mut w, &[1.0, 1.0], Some(&mut m), 0.1, 0.9, true).unwrap();
        // m = 0.9 * -0.1 - 0.1 = -0.19; w += 0.9 * -0.19 - 0.1
        assert!((m[0] + 0.19).abs() < 1e-7 && (w[0] - (0.9 - 0.271)).abs() < 1e-6);
        // Adam's first step moves each weight by about alpha, whatever g's size
        let (mut w, mut m, mut v) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 2]);
        let alpha = 0.001 * sqrtf(1.0 - 0.999) / (1.0 - 0.9);
        adam(
            &mut w,
            &[3.0, -1e-3],
            &mut m,
            &mut v,
            alpha,
            0.9,
            0.999,
            1e-7,
        )
        .unwrap();
        assert!(
            (w[0] + 0.001).abs() < 1e-6 && (w[1] - 0.001).abs() < 1e-5,
            "{w:?}"
        );
    }
}
