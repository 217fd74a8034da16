//! Keras's merge layers in float32 (issue 30, graphs): `Add`, `Subtract`,
//! `Multiply`, `Average`, `Maximum`, `Minimum` element-wise over inputs of
//! one length, in Keras's order (the first input, then each next one in
//! turn; `Average` divides the sum by the inputs' count), and
//! `Concatenate` on the last axis (`rows` positions, each input's
//! `len / rows` channels side by side, in the inputs' order).
//! `micropython/anne_fallback2d.py`'s `merge` computes the same in Python.

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
    if xs.len() < 2 || (op == Merge::Subtract && xs.len() != 2) {
        return Err(Status::Size);
    }
    if op == Merge::Concatenate {
        return concatenate_f32(xs, out, rows);
    }
    if xs.iter().any(|x| x.len() != out.len()) {
        return Err(Status::OutSize);
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
    if xs.len() < 2 {
        return Err(Status::Size);
    }
    concatenate_f32(xs, out, rows)
}

fn concatenate_f32<T: Copy>(xs: &[&[T]], out: &mut [T], rows: usize) -> Result<(), Status> {
    if rows == 0 || xs.iter().any(|x| x.is_empty() || x.len() % rows != 0) {
        return Err(Status::OutSize);
    }
    let width: usize = xs.iter().map(|x| x.len() / rows).sum();
    if width == 0 || width.checked_mul(rows) != Some(out.len()) {
        return Err(Status::OutSize);
    }
    let mut col = 0;
    for x in xs {
        let c = x.len() / rows;
        if c == 0 {
            return Err(Status::OutSize);
        }
        for (row, src) in out.chunks_exact_mut(width).zip(x.chunks_exact(c)) {
            for (o, &v) in row.iter_mut().skip(col).zip(src.iter()) {
                *o = v;
            }
        }
        col += c;
    }
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
