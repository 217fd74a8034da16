//! Keras 3's optimizers (SGD with or without momentum, Adam): the steps on
//! one weight array and its slots, and the checks that a step keeps every
//! weight finite. Nothing allocates; every length is checked first
//! ([`Status::Size`]) and nothing is written on a refusal.

use crate::math::fdiv;
use crate::Status;
use libm::sqrtf;

/// Keras 3's optimizers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd {
        learning_rate: f32,
        momentum: f32,
        nesterov: bool,
    },
    Adam {
        learning_rate: f32,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
    },
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

/// SGD without momentum: its learning rate (fit steps it in the backward
/// pass, fused with the gradient's dot products).
pub(crate) fn plain_sgd(opt: &Optimizer) -> Option<f32> {
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            ..
        } => (momentum == 0.0).then_some(learning_rate),
        Optimizer::Adam { .. } => None,
    }
}

/// No NaN or ±inf in `values`, on the bits (exponent not all ones): a
/// float compare is a library call on cores without an FPU.
pub(crate) fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.to_bits() << 1 < 0xff00_0000)
}

/// The slots one step (momentum SGD or Adam) reads, checked against `w`.
pub(crate) fn step_slots<'s>(
    opt: &Optimizer,
    n: usize,
    g: usize,
    m: Option<&'s [f32]>,
    v: Option<&'s [f32]>,
) -> Result<(&'s [f32], &'s [f32]), Status> {
    let m = m.filter(|m| m.len() == n).ok_or(Status::Null)?;
    if g != n {
        return Err(Status::Size);
    }
    let v = match opt {
        Optimizer::Adam { .. } => v.filter(|v| v.len() == n).ok_or(Status::Null)?,
        Optimizer::Sgd { .. } => &[],
    };
    Ok((m, v))
}

/// Whether one optimizer step (momentum SGD or Adam) on `w` with gradient
/// `g` gives finite weights and finite slots. Writes nothing.
pub(crate) fn step_is_finite(
    opt: &Optimizer,
    alpha: f32,
    w: &[f32],
    g: &[f32],
    m: &Option<&mut [f32]>,
    v: &Option<&mut [f32]>,
) -> Result<bool, Status> {
    let (m, v) = step_slots(opt, w.len(), g.len(), m.as_deref(), v.as_deref())?;
    let ok = |x: f32| x.to_bits() << 1 < 0xff00_0000;
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            nesterov,
        } => Ok(w.iter().zip(g).zip(m).all(|((&w, &g), &m)| {
            let mut m = m;
            let w = momentum_step(w, g, &mut m, learning_rate, momentum, nesterov);
            ok(w) && ok(m)
        })),
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } => Ok(w
            .iter()
            .zip(g)
            .zip(m.iter().zip(v))
            .all(|((&w, &g), (&m, &v))| {
                let (mut m, mut v) = (m, v);
                let w = adam_step(w, g, &mut m, &mut v, alpha, beta_1, beta_2, epsilon);
                ok(w) && ok(m) && ok(v)
            })),
    }
}

/// One optimizer step (momentum SGD or Adam) on `w` with gradient `g`, in
/// place: the weights and their slots ([`step_is_finite`] checked it).
pub(crate) fn step_in_place(
    opt: &Optimizer,
    alpha: f32,
    w: &mut [f32],
    g: &[f32],
    m: Option<&mut [f32]>,
    v: Option<&mut [f32]>,
) -> Result<(), Status> {
    let m = m.filter(|m| m.len() == w.len()).ok_or(Status::Null)?;
    if g.len() != w.len() {
        return Err(Status::Size);
    }
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            nesterov,
        } => {
            for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                *w = momentum_step(*w, g, m, learning_rate, momentum, nesterov);
            }
        }
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } => {
            let v = v.filter(|v| v.len() == w.len()).ok_or(Status::Null)?;
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *w = adam_step(*w, g, m, v, alpha, beta_1, beta_2, epsilon);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::dense::dense_backward_f32 as dense_backward;

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
