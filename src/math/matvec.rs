//! Matrix-vector products `out[j] = x . kernel[:, j] + bias[j]` over a
//! Keras kernel (`n_in` rows of `units`), the sums every layer with weights
//! is made of: the reference float32 loop ([`sequential_dot`]), the same
//! sums eight columns at a time ([`blocked_sums`]) and the exact 64-bit
//! integer sums ([`wide_fill`], [`super::wide`]). [`linear`] runs the
//! target's choice ([`super::DENSE_PATH`]); the dense layer
//! (src/layers/dense.rs) applies its activation on top of the same kernels.

use super::wide::WideDot;
use super::{DensePath, DENSE_PATH};

/// What a kernel applies to each sum as it computes it (the dense layer's
/// common activations: `Option<Common>`, src/activation/mod.rs). One type
/// for every caller, so that the wide kernel's loops are in the firmware
/// once.
pub trait Post: Copy {
    fn apply(self, value: f32) -> f32;
}

/// `out = post(x . kernel + bias)` (`units = out.len()` columns) by the
/// target's kernel: the same bits as the dense layer with the activation
/// `post` stands for (Conv1D passes linear).
#[inline(never)]
pub fn linear<P: Post>(x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32], post: P) {
    let units = out.len();
    match DENSE_PATH {
        DensePath::Wide => {
            if let Some(dot) = WideDot::new(x, kernel, units) {
                wide_fill(&dot, x, kernel, bias, out, post);
                return;
            }
        }
        DensePath::Blocked => {
            blocked_fill(x, kernel, bias, out, |v| post.apply(v));
            return;
        }
        DensePath::Reference => {}
    }
    for (j, o) in out.iter_mut().enumerate() {
        let acc = sequential_dot(x, kernel, units, j);
        *o = post.apply(match bias.and_then(|b| b.get(j)) {
            Some(b) => acc + b,
            None => acc,
        });
    }
}

/// `out[j] += x . kernel[:, j]` for every column (`units = out.len()`),
/// by the target's kernel: continuing each sum from `out[j]` in input order
/// (the reference and blocked kernels: the same bits as one sum over the
/// taps of several calls), or the exact sum and `out[j]` rounded once (the
/// wide kernel). A convolution's kernel rows, one call each.
#[inline(never)]
pub fn accumulate(x: &[f32], kernel: &[f32], out: &mut [f32]) {
    let units = out.len();
    if units == 0 {
        return;
    }
    match DENSE_PATH {
        DensePath::Wide => {
            if wide_accumulate(x, kernel, out) {
                return;
            }
        }
        DensePath::Blocked => {
            blocked_accumulate(x, kernel, out);
            return;
        }
        DensePath::Reference => {}
    }
    for j in 0..units {
        let mut acc = out.get(j).copied().unwrap_or(0.0);
        for (row, &xi) in kernel.chunks_exact(units).zip(x) {
            if let Some(&w) = row.get(j) {
                acc += xi * w;
            }
        }
        if let Some(o) = out.get_mut(j) {
            *o = acc;
        }
    }
}

/// [`accumulate`] on the wide kernel (false, nothing written, if it does
/// not take these inputs).
pub(crate) fn wide_accumulate(x: &[f32], kernel: &[f32], out: &mut [f32]) -> bool {
    let units = out.len();
    let Some(dot) = WideDot::new(x, kernel, units) else {
        return false;
    };
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot.dot(j, *o).unwrap_or_else(|| *o + sequential_dot(x, kernel, units, j));
    }
    true
}

/// [`accumulate`] on the blocked kernel: [`BLOCK_COLUMNS`] columns at a
/// time, the rest one at a time.
pub(crate) fn blocked_accumulate(x: &[f32], kernel: &[f32], out: &mut [f32]) {
    let units = out.len();
    let mut j = 0;
    while j + BLOCK_COLUMNS <= units {
        block_acc::<BLOCK_COLUMNS>(x, kernel, out, j, true);
        j += BLOCK_COLUMNS;
    }
    while j < units {
        block_acc::<1>(x, kernel, out, j, true);
        j += 1;
    }
}

/// From this many multiply-adds (`kernel.len()`) on, [`wide_fill`]
/// decodes the nonzero inputs once per call (clearing 8 bytes of stack per
/// input for them) rather than once per column, unless more than
/// [`super::wide::BLOCK`] of them are nonzero.
pub const DECODE_MIN_MACS: usize = 64;

/// Column `j`'s float32 dot product in input order, as the reference kernel
/// computes it. (One copy: the reference kernel and the wide kernel's
/// fallbacks call it.)
#[inline(never)]
pub(crate) fn sequential_dot(x: &[f32], kernel: &[f32], units: usize, j: usize) -> f32 {
    // Walks kernel[:, j] row by row with checked access (no panic path; the
    // check on j is the same for every row, and leaves the loop); a kernel
    // too short just ends the sum (check() has made sure it is not).
    let mut acc = 0.0f32;
    if units == 0 {
        return acc;
    }
    for (row, &xi) in kernel.chunks_exact(units).zip(x) {
        if let Some(&w) = row.get(j) {
            acc += xi * w;
        }
    }
    acc
}

/// Columns [`blocked_sums`] sums at once: eight sums, eight weights
/// and the input fit the FPU's 32 single-precision registers.
pub const BLOCK_COLUMNS: usize = 8;

/// `out[j] = post(x . kernel[:, j] + bias[j])` for every column, summed in
/// input order as [`sequential_dot`] does (see [`blocked_sums`]).
#[inline(always)]
pub(crate) fn blocked_fill(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    post: impl Fn(f32) -> f32,
) {
    blocked_sums(x, kernel, bias, out);
    for o in out.iter_mut() {
        *o = post(*o);
    }
}

/// `out[j] = x . kernel[:, j] + bias[j]`, [`BLOCK_COLUMNS`] columns at a
/// time, then the rest 4, 2 and 1 at a time: each row of the kernel is read
/// once per block, and the block's sums stay in registers. (One copy,
/// whatever the activation: [`blocked_fill`] applies it after.)
#[inline(never)]
pub(crate) fn blocked_sums(x: &[f32], kernel: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let units = out.len();
    if units == 0 {
        return; // (and chunks_exact(0) would panic)
    }
    let mut j = 0;
    while j + BLOCK_COLUMNS <= units {
        block_into::<BLOCK_COLUMNS>(x, kernel, bias, out, j);
        j += BLOCK_COLUMNS;
    }
    if j + 4 <= units {
        block_into::<4>(x, kernel, bias, out, j);
        j += 4;
    }
    if j + 2 <= units {
        block_into::<2>(x, kernel, bias, out, j);
        j += 2;
    }
    if j < units {
        block_into::<1>(x, kernel, bias, out, j);
    }
}

/// Columns `j..j + N` of [`blocked_sums`].
#[inline(always)]
fn block_into<const N: usize>(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    j: usize,
) {
    block_acc::<N>(x, kernel, out, j, false);
    if let (Some(b), Some(block)) = (bias.and_then(|b| b.get(j..j + N)), out.get_mut(j..j + N)) {
        for (o, &bv) in block.iter_mut().zip(b) {
            *o += bv;
        }
    }
}

/// Columns `j..j + N`'s sums in registers, each from 0 or (`from_out`)
/// from its value in `out`, written to `out`.
#[inline(always)]
fn block_acc<const N: usize>(x: &[f32], kernel: &[f32], out: &mut [f32], j: usize, from_out: bool) {
    let units = out.len();
    let mut acc = [0.0f32; N];
    if from_out {
        for (a, &o) in acc.iter_mut().zip(out.get(j..j + N).unwrap_or(&[])) {
            *a = o;
        }
    }
    for (row, &xi) in kernel.chunks_exact(units).zip(x) {
        if let Some(w) = row.get(j..j + N) {
            for (a, &wk) in acc.iter_mut().zip(w) {
                *a += xi * wk;
            }
        }
    }
    for (o, a) in out.get_mut(j..j + N).unwrap_or(&mut []).iter_mut().zip(acc) {
        *o = a;
    }
}

/// Fills `out` with `dot`'s sums, each through `post`.
#[inline(always)]
pub(crate) fn wide_fill(
    dot: &WideDot,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    post: impl Post,
) {
    let units = out.len();
    let fallback = |j: usize| {
        sequential_dot(x, kernel, units, j) + bias.and_then(|b| b.get(j)).map_or(0.0, |b| *b)
    };
    let post = move |value: f32| post.apply(value);
    if kernel.len() < DECODE_MIN_MACS || !dot.dense_decoded(bias, out, fallback, post) {
        dot.dense(bias, out, fallback, post);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u32) -> f32 {
        *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((*seed >> 8) % 2001) as f32 / 1000.0 - 1.0
    }

    /// accumulate's kernels against the plain loop: the reference and
    /// blocked ones bit for bit on any values, the wide one exact on
    /// values whose sums are exact (multiples of 1/8 below 2^10).
    #[test]
    fn accumulate_continues_the_sums() {
        let mut seed = 7u32;
        for (n_in, units) in [(1, 1), (3, 5), (9, 8), (17, 19), (4, 33)] {
            let x: Vec<f32> = (0..n_in).map(|_| lcg(&mut seed)).collect();
            let k: Vec<f32> = (0..n_in * units).map(|_| lcg(&mut seed)).collect();
            let init: Vec<f32> = (0..units).map(|_| lcg(&mut seed)).collect();
            let want: Vec<f32> = (0..units)
                .map(|j| (0..n_in).fold(init[j], |a, i| a + x[i] * k[i * units + j]))
                .collect();
            let mut got = init.clone();
            accumulate(&x, &k, &mut got);
            assert_eq!(got, want, "{n_in} x {units}");
            let mut got = init.clone();
            blocked_accumulate(&x, &k, &mut got);
            assert_eq!(got, want, "blocked {n_in} x {units}");
            let eighths = |v: &[f32]| v.iter().map(|a| (a * 8.0).round() / 8.0).collect::<Vec<f32>>();
            let (x, k, init) = (eighths(&x), eighths(&k), eighths(&init));
            let want: Vec<f32> = (0..units)
                .map(|j| (0..n_in).fold(init[j] as f64, |a, i| a + (x[i] * k[i * units + j]) as f64) as f32)
                .collect();
            let mut got = init.clone();
            assert!(wide_accumulate(&x, &k, &mut got));
            assert_eq!(got, want, "wide {n_in} x {units}");
        }
    }
}
