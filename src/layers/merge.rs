//! Keras's merge layers in float32 (issue 30, graphs): `Add`, `Subtract`,
//! `Multiply`, `Average`, `Maximum`, `Minimum` element-wise over inputs of
//! one length, in Keras's order (the first input, then each next one in
//! turn; `Average` divides the sum by the inputs' count), and
//! `Concatenate` on the last axis (`rows` positions, each input's
//! `len / rows` channels side by side, in the inputs' order).
//! `micropython/anne_fallback2d.py`'s `merge` computes the same in Python.
//! [`merge_backward_f32`] is their backward pass (each input's gradient).

use crate::Status;

/// Which merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
}

/// Runs `op` on `xs` into `out`. Errors: fewer than two inputs, or not
/// two for `Subtract` ([`Status::Size`]); an element-wise input whose
/// length is not `out`'s, a `rows` of 0, an input that is not a whole
/// number of rows, or channels that do not add up to `out`
/// ([`Status::OutSize`]). Nothing is written on an error.
pub fn merge_f32(op: Merge, xs: &[&[f32]], out: &mut [f32], rows: usize) -> Result<(), Status> {
    let width = check(op, xs, out.len(), rows)?;
    if op == Merge::Concatenate {
        concatenate(xs, out, rows, width);
        return Ok(());
    }
    // one loop for every op, through a function pointer: a merge moves few
    // values next to the layers around it, and six inlined loops would
    // cost the small cores' flash
    let f: fn(f32, f32) -> f32 = match op {
        Merge::Add | Merge::Average => add,
        Merge::Subtract => sub,
        Merge::Multiply => mul,
        Merge::Maximum => max,
        _ => min,
    };
    let Some((first, rest)) = xs.split_first() else {
        return Err(Status::Size);
    };
    for (o, &v) in out.iter_mut().zip(first.iter()) {
        *o = v;
    }
    for x in rest {
        fold(out, x, f);
    }
    if op == Merge::Average {
        let n = xs.len() as f32;
        for o in out.iter_mut() {
            *o /= n;
        }
    }
    Ok(())
}

#[inline(never)]
fn fold(out: &mut [f32], x: &[f32], f: fn(f32, f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x.iter()) {
        *o = f(*o, v);
    }
}

fn add(a: f32, b: f32) -> f32 {
    a + b
}

fn sub(a: f32, b: f32) -> f32 {
    a - b
}

fn mul(a: f32, b: f32) -> f32 {
    a * b
}

/// The first unless the second is greater (the first NaN is kept).
fn max(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

fn min(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

/// `Concatenate` of int8 inputs (the int8 graphs': inputs of the output's
/// quantization, values copied), as [`merge_f32`]'s.
pub fn concatenate_s8(xs: &[&[i8]], out: &mut [i8], rows: usize) -> Result<(), Status> {
    let width = check(Merge::Concatenate, xs, out.len(), rows)?;
    concatenate(xs, out, rows, width);
    Ok(())
}

/// [`merge_f32`]'s, [`merge_backward_f32`]'s and [`concatenate_s8`]'s
/// checks (see [`merge_f32`]) for inputs `xs` and an output of `out_len`
/// values; returns the output's channels (`Concatenate`; the others:
/// `out_len`).
fn check<T>(op: Merge, xs: &[&[T]], out_len: usize, rows: usize) -> Result<usize, Status> {
    if xs.len() < 2 || (op == Merge::Subtract && xs.len() != 2) {
        return Err(Status::Size);
    }
    if op != Merge::Concatenate {
        if xs.iter().any(|x| x.len() != out_len) {
            return Err(Status::OutSize);
        }
        return Ok(out_len);
    }
    if rows == 0 || xs.iter().any(|x| x.is_empty() || x.len() % rows != 0) {
        return Err(Status::OutSize);
    }
    let width = xs
        .iter()
        .try_fold(0usize, |w, x| w.checked_add(x.len().checked_div(rows)?))
        .unwrap_or(0);
    if width == 0 || width.checked_mul(rows) != Some(out_len) {
        return Err(Status::OutSize);
    }
    Ok(width)
}

/// Concatenate on arguments [`check`] passed (`width`: the output's
/// channels), float32 or int8.
fn concatenate<T: Copy>(xs: &[&[T]], out: &mut [T], rows: usize, width: usize) {
    let mut col = 0;
    for x in xs {
        let c = x.len().checked_div(rows).unwrap_or(0);
        if c == 0 || width == 0 {
            return; // (refused by check; for the compiler)
        }
        for (row, src) in out.chunks_exact_mut(width).zip(x.chunks_exact(c)) {
            for (o, &v) in row.iter_mut().skip(col).zip(src.iter()) {
                *o = v;
            }
        }
        col += c;
    }
}

/// The backward pass of [`merge_f32`] for one sample: each input's
/// gradient `dxs[i] = dL/dxs[i]` from `dz`, the gradient at the merge's
/// output (its pre-activations), as TensorFlow's gradients take Keras's
/// merges (each a chain of two-input ops, in Keras's order):
/// - `Add`: `dz` to every input; `Subtract`: `dz` and `-dz`; `Average`:
///   `dz / n` to each of the `n` inputs;
/// - `Multiply` (`((x0 * x1) * x2) ...`): input `i` gets `dz` times the
///   later inputs, from the last back, times the product of the earlier
///   ones (each product rounded as TensorFlow's `Mul` gradients round it;
///   no division, so a zero input is exact);
/// - `Maximum` (`Minimum`): the whole of `dz` to one input: walking the
///   inputs in order, the running maximum keeps it while it is `>=` (`<=`)
///   the next input (TensorFlow's gradient of `maximum`, `greater_equal`,
///   and of `minimum`, `less_equal`): ties go to the first input;
/// - `Concatenate`: `dz`'s rows split back into each input's channels.
///
/// Statuses: [`merge_f32`]'s (`dz` as the output), then [`Status::Size`]
/// unless there is one `dxs` per input and [`Status::XSize`] unless each
/// is its input's length. Nothing is written unless every check passes.
pub fn merge_backward_f32(
    op: Merge,
    xs: &[&[f32]],
    dz: &[f32],
    dxs: &mut [&mut [f32]],
    rows: usize,
) -> Result<(), Status> {
    let width = check(op, xs, dz.len(), rows)?;
    if dxs.len() != xs.len() {
        return Err(Status::Size);
    }
    if dxs.iter().zip(xs).any(|(d, x)| d.len() != x.len()) {
        return Err(Status::XSize);
    }
    for (k, dx) in dxs.iter_mut().enumerate() {
        input_grad(op, xs, dz, k, dx, rows, width);
    }
    Ok(())
}

/// Input `k`'s gradient of [`merge_backward_f32`] into `dx` (its
/// length), on arguments [`check`] passed (`width`: the output's channels).
fn input_grad(op: Merge, xs: &[&[f32]], dz: &[f32], k: usize, dx: &mut [f32], rows: usize, width: usize) {
    let n = xs.len();
    if op == Merge::Concatenate {
        // input k's channels of each row of dz
        let col = xs.iter().take(k).map(|x| x.len().checked_div(rows).unwrap_or(0)).sum::<usize>();
        let c = dx.len().checked_div(rows).unwrap_or(0);
        if c == 0 || width == 0 {
            return; // (refused by check; for the compiler)
        }
        for (row, dst) in dz.chunks_exact(width).zip(dx.chunks_exact_mut(c)) {
            for (d, &v) in dst.iter_mut().zip(row.iter().skip(col)) {
                *d = v;
            }
        }
        return;
    }
    for (e, (d, &g)) in dx.iter_mut().zip(dz).enumerate() {
        let at = |i: usize| xs.get(i).and_then(|x| x.get(e)).copied().unwrap_or(0.0);
        *d = match op {
            Merge::Subtract if k == 1 => -g,
            Merge::Average => g / n as f32,
            Merge::Multiply => {
                // the gradient at the running product of inputs 0..=k (from
                // the last input back), times the product of the earlier ones
                let mut g = g;
                for i in (k + 1..n).rev() {
                    g *= at(i);
                }
                if k == 0 {
                    g
                } else {
                    g * (1..k).fold(at(0), |p, j| p * at(j))
                }
            }
            Merge::Maximum | Merge::Minimum => {
                let (mut m, mut winner) = (at(0), 0);
                for i in 1..n {
                    let v = at(i);
                    let keeps = if op == Merge::Maximum { m >= v } else { m <= v };
                    if !keeps {
                        (m, winner) = (v, i);
                    }
                }
                if winner == k {
                    g
                } else {
                    0.0
                }
            }
            _ => g,
        };
    }
}

/// Input `k`'s part of [`merge_backward_f32`] alone, into `dx` (input
/// `k`'s length): the training loop's, one input at a time. Statuses as
/// [`merge_backward_f32`]'s (`k` not an input: [`Status::Size`]).
pub fn merge_input_backward_f32(
    op: Merge,
    xs: &[&[f32]],
    dz: &[f32],
    k: usize,
    dx: &mut [f32],
    rows: usize,
) -> Result<(), Status> {
    let width = check(op, xs, dz.len(), rows)?;
    if xs.get(k).ok_or(Status::Size)?.len() != dx.len() {
        return Err(Status::XSize);
    }
    input_grad(op, xs, dz, k, dx, rows, width);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_wise_in_keras_order() {
        let (a, b, c) = ([1.0f32, -2.0, 3.0], [0.5f32, 4.0, -1.0], [2.0f32, 2.0, 2.0]);
        let mut out = [0.0f32; 3];
        merge_f32(Merge::Add, &[&a, &b, &c], &mut out, 1).unwrap();
        assert_eq!(out, [3.5, 4.0, 4.0]);
        merge_f32(Merge::Subtract, &[&a, &b], &mut out, 1).unwrap();
        assert_eq!(out, [0.5, -6.0, 4.0]);
        merge_f32(Merge::Multiply, &[&a, &b, &c], &mut out, 1).unwrap();
        assert_eq!(out, [1.0, -16.0, -6.0]);
        merge_f32(Merge::Average, &[&a, &b, &c], &mut out, 1).unwrap();
        assert_eq!(out, [3.5 / 3.0, 4.0 / 3.0, 4.0 / 3.0]);
        merge_f32(Merge::Maximum, &[&a, &b, &c], &mut out, 1).unwrap();
        assert_eq!(out, [2.0, 4.0, 3.0]);
        merge_f32(Merge::Minimum, &[&a, &b, &c], &mut out, 1).unwrap();
        assert_eq!(out, [0.5, -2.0, -1.0]);
    }

    #[test]
    fn concatenate_joins_the_last_axis() {
        // two positions: a has 1 channel, b 2
        let (a, b) = ([1.0f32, 2.0], [10.0f32, 11.0, 20.0, 21.0]);
        let mut out = [0.0f32; 6];
        merge_f32(Merge::Concatenate, &[&a, &b], &mut out, 2).unwrap();
        assert_eq!(out, [1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
        assert_eq!(
            merge_f32(Merge::Concatenate, &[&a, &b], &mut out[..5], 2),
            Err(Status::OutSize)
        );
        assert_eq!(
            merge_f32(Merge::Concatenate, &[&a, &b], &mut out, 4),
            Err(Status::OutSize)
        );
    }

    #[test]
    fn refusals() {
        let a = [1.0f32; 3];
        let mut out = [0.0f32; 3];
        assert_eq!(merge_f32(Merge::Add, &[&a], &mut out, 1), Err(Status::Size));
        assert_eq!(
            merge_f32(Merge::Subtract, &[&a, &a, &a], &mut out, 1),
            Err(Status::Size)
        );
        assert_eq!(
            merge_f32(Merge::Add, &[&a, &a[..2]], &mut out, 1),
            Err(Status::OutSize)
        );
        assert_eq!(out, [0.0; 3]);
    }
}
