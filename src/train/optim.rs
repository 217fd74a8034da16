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

/// Biased-exponent limits under which one Adam step is finite for sure:
/// a check on the bits that spares [`step_is_finite`]'s second run of every
/// step (a square root and a division per weight, library calls on cores
/// without an FPU) in all but extreme cases.
///
/// With `B = 2^b`, `|w|, |m|, |g| < B`, `|g| < 2^63` and `0 <= v < 2^126`,
/// `c1 = 1 - beta_1` and `c2 = 1 - beta_2` in `[0, 1]` and `epsilon > 0`:
/// `|m'| <= 4B` and `0 <= v' < 2^128 - 2^104` (finite), the denominator
/// `sqrt(v') + epsilon >= epsilon`, so `|w'| <= B (1 + 5 |alpha| / epsilon)`
/// and `|m' alpha| <= 4 B |alpha|`, float32 rounding included. `new` picks
/// `b` so that both stay below `2^126`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamBound {
    /// The largest biased exponent of `w` and `m`.
    wm: u32,
    /// The largest biased exponent of `g`.
    g: u32,
}

impl AdamBound {
    /// The limits for this step (`alpha` as [`adam`] takes it), or `None`
    /// (SGD, or hyperparameters outside the ranges above).
    pub(crate) fn new(opt: &Optimizer, alpha: f32) -> Option<Self> {
        let Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } = *opt
        else {
            return None;
        };
        let (c1, c2) = (1.0 - beta_1, 1.0 - beta_2);
        let unit = 0.0..=1.0;
        if !unit.contains(&c1) || !unit.contains(&c2) || !(epsilon > 0.0) || !alpha.is_finite() {
            return None;
        }
        let a = f32::from_bits(alpha.to_bits() & 0x7fff_ffff);
        let k = fdiv(a, epsilon);
        let t = 8.0 * (1.0 + 8.0 * k) * if a > 1.0 { a } else { 1.0 };
        if !t.is_finite() {
            return None;
        }
        // t < 2^(e - 126) for its biased exponent e; B t < 2^127 needs
        // b <= 126 - (e - 126) - 1, and |m'| <= 4B needs b <= 125.
        let e = (t.to_bits() >> 23) as i32;
        let b = (251 - e).min(125);
        if b < -100 {
            return None;
        }
        Some(AdamBound {
            wm: (126 + b) as u32,
            g: (126 + b.min(62)) as u32,
        })
    }

    /// Whether every weight of `w` (gradient `g`, slots `m` and `v`) is
    /// within the limits: then the step is finite (false says nothing).
    pub(crate) fn holds(&self, w: &[f32], g: &[f32], m: Option<&[f32]>, v: Option<&[f32]>) -> bool {
        let (Some(m), Some(v)) = (m, v) else {
            return false;
        };
        let n = w.len();
        if g.len() != n || m.len() != n || v.len() != n {
            return false;
        }
        let exp = |x: f32| (x.to_bits() >> 23) & 0xff;
        w.iter().zip(g).zip(m.iter().zip(v)).all(|((&w, &g), (&m, &v))| {
            exp(w) <= self.wm && exp(m) <= self.wm && exp(g) <= self.g && v.to_bits() >> 23 <= 252
        })
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

    /// The largest float32 of biased exponent `e` with the given sign.
    fn top(e: u32, negative: bool) -> f32 {
        f32::from_bits(((negative as u32) << 31) | (e << 23) | 0x7f_ffff)
    }

    #[test]
    fn adam_bound_implies_a_finite_step() {
        // At and just inside the limits, every sign, over hyperparameters
        // from Keras's defaults to extremes: wherever the bound holds, the
        // step (Keras's formula, float32) is finite. Past the limits it
        // does not hold.
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut checked = 0;
        for &eps in &[1e-30f32, 1e-7, 1e-3, 1.0, 1e10] {
            for &alpha in &[0.0f32, 1e-6, 1e-3, -0.5, 3.0, 1e12, 1e30] {
                for &(b1, b2) in &[(0.9f32, 0.999f32), (0.0, 0.0), (1.0, 1.0), (0.5, 0.999_999)] {
                    let opt = Optimizer::Adam {
                        learning_rate: 1.0,
                        beta_1: b1,
                        beta_2: b2,
                        epsilon: eps,
                    };
                    let Some(b) = AdamBound::new(&opt, alpha) else {
                        continue;
                    };
                    for _ in 0..200 {
                        let r = next();
                        let pick = |lim: u32, k: u32| if k % 4 == 0 { lim } else { lim.saturating_sub(k % 40) };
                        let w = top(pick(b.wm, r), r & 1 != 0);
                        let m = top(pick(b.wm, r >> 5), r & 2 != 0);
                        let g = top(pick(b.g, r >> 10), r & 4 != 0);
                        let v = top(pick(252, r >> 15), false);
                        assert!(b.holds(&[w], &[g], Some(&[m]), Some(&[v])));
                        let (mut m2, mut v2) = (m, v);
                        let w2 = adam_step(w, g, &mut m2, &mut v2, alpha, b1, b2, eps);
                        assert!(
                            w2.is_finite() && m2.is_finite() && v2.is_finite(),
                            "{w} {g} {m} {v} alpha {alpha} eps {eps} betas {b1} {b2}"
                        );
                        checked += 1;
                        // One exponent step past a limit: not claimed.
                        assert!(!b.holds(&[top(b.wm + 1, false)], &[g], Some(&[m]), Some(&[v])));
                        assert!(!b.holds(&[w], &[top(b.g + 1, true)], Some(&[m]), Some(&[v])));
                        assert!(!b.holds(&[w], &[g], Some(&[m]), Some(&[-v])) || v == 0.0);
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        // Keras's defaults leave room for any weight a network trains to.
        let keras = Optimizer::Adam {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        };
        let b = AdamBound::new(&keras, 0.001).unwrap();
        assert!(b.holds(&[1e30], &[1e18], Some(&[-1e30]), Some(&[1e37])));
        assert!(!b.holds(&[f32::NAN], &[0.0], Some(&[0.0]), Some(&[0.0])));
        assert!(!b.holds(&[0.0], &[f32::INFINITY], Some(&[0.0]), Some(&[0.0])));
        assert!(!b.holds(&[0.0], &[0.0], Some(&[0.0]), None));
        assert!(!b.holds(&[0.0], &[0.0, 1.0], Some(&[0.0]), Some(&[0.0])));
        // Nothing is claimed for SGD, a zero epsilon, or betas outside [0, 1].
        let sgd = Optimizer::Sgd {
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: false,
        };
        assert!(AdamBound::new(&sgd, 0.1).is_none());
        for (b1, b2, eps) in [(0.9, 0.999, 0.0), (1.5, 0.999, 1e-7), (0.9, -0.1, 1e-7), (0.9, 0.999, f32::NAN)] {
            let opt = Optimizer::Adam {
                learning_rate: 0.001,
                beta_1: b1,
                beta_2: b2,
                epsilon: eps,
            };
            assert!(AdamBound::new(&opt, 0.001).is_none());
        }
        assert!(AdamBound::new(&keras, f32::INFINITY).is_none());
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
