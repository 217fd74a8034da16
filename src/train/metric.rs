//! Keras's metrics: one sample's value.

use crate::argmax::argmax_f32;
use libm::fabsf;

/// Keras's metrics (accuracy resolved to its kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
}

/// `v` as a class index below `n`: a whole number in [0, n) (-0.0 is 0),
/// from its bits (a float compare or conversion is a library call on cores
/// without an FPU).
pub(crate) fn class_index(v: f32, n: usize) -> Option<usize> {
    let bits = v.to_bits();
    if bits << 1 == 0 {
        return (n > 0).then_some(0);
    }
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    if bits >> 31 != 0 || !(0..24).contains(&e) {
        return None; // negative, NaN, ±inf, below 1, or above 2^24
    }
    let m = (bits & 0x007f_ffff) | 0x0080_0000;
    let shift = (23 - e) as u32;
    let k = (m >> shift) as usize;
    (m & ((1 << shift) - 1) == 0 && k < n).then_some(k)
}

/// One sample's value of a metric.
#[inline(never)]
pub(crate) fn metric(m: Metric, y: &[f32], t: &[f32]) -> f32 {
    let n = y.len() as f32;
    let pairs = || y.iter().zip(t);
    let hit = |ok: bool| if ok { 1.0 } else { 0.0 };
    match m {
        Metric::BinaryAccuracy => {
            pairs()
                .map(|(&y, &t)| hit((y > 0.5) == (t > 0.5)))
                .sum::<f32>()
                / n
        }
        Metric::CategoricalAccuracy => hit(first_max(y) == first_max(t)),
        Metric::SparseCategoricalAccuracy => {
            hit(t.first().and_then(|&l| class_index(l, y.len())) == Some(first_max(y)))
        }
        Metric::MeanSquaredError => pairs().map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / n,
        Metric::MeanAbsoluteError => pairs().map(|(y, t)| fabsf(y - t)).sum::<f32>() / n,
    }
}

/// Index of the largest value, the first on ties (Keras's argmax).
pub(crate) fn first_max(v: &[f32]) -> usize {
    argmax_f32(v).unwrap_or(0)
}

