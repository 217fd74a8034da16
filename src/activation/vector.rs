//! The Keras 3 activations over a whole vector (Keras `axis=-1`), in place.

use super::scalar::{expf, relu0, sigmoid};
use crate::math::fdiv;
use crate::Status;
use libm::logf;

/// The largest value, ignoring NaN (`-inf` for an empty slice), compared
/// on the bits as integers ordered like the floats (each float compare is
/// a library call on cores without an FPU); +0.0 is above -0.0.
pub(super) fn max_of(values: &[f32]) -> f32 {
    let order = |bits: u32| {
        if bits >> 31 != 0 {
            !bits
        } else {
            bits | 1 << 31
        }
    };
    let mut best = f32::NEG_INFINITY;
    let mut key = order(best.to_bits());
    for &v in values {
        let bits = v.to_bits();
        if bits << 1 <= 0xff00_0000 && order(bits) > key {
            (best, key) = (v, order(bits));
        }
    }
    best
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
        *value = fdiv(*value, sum);
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
    use super::max_of;

    #[test]
    fn max_of_orders_like_the_floats_and_skips_nan() {
        let values = [
            -f32::INFINITY,
            -1e30,
            -2.5,
            -f32::from_bits(1),
            -0.0,
            0.0,
            f32::from_bits(1),
            1.0,
            3e38,
            f32::INFINITY,
        ];
        for (i, &a) in values.iter().enumerate() {
            for &b in &values[..=i] {
                for pair in [[a, b], [b, a], [f32::NAN, a], [a, -f32::NAN]] {
                    let want = pair.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert_eq!(max_of(&pair), want, "{pair:?}");
                }
            }
        }
        assert_eq!(max_of(&[]), f32::NEG_INFINITY);
        assert_eq!(max_of(&[f32::NAN]), f32::NEG_INFINITY);
        assert_eq!(max_of(&[-0.0, 0.0]).to_bits(), 0);
    }
}
