//! The int8 convolution (Conv2D, Conv1D; any kernel) as a matrix product
//! over pairs of output positions, where the core has
//! [`caps::pair4`] (Thumb-2's assembly; the portable loop off Arm), for
//! LiteRT's Q31 multipliers with double rounding and right shifts of 1 to
//! 23 (CONV_2D's as converters make them): the path
//! [`crate::layers::conv2d_s8::conv_s8_core`] takes first (after the 1x1
//! one, src/layers/pointwise_s8.rs).
//!
//! Two neighbouring output positions of a row are copied into one stack
//! buffer as two rows of the filter's length (im2col, as CMSIS-NN does:
//! each window's taps in the filter's OHWI order, a tap outside the input
//! filled with the input's zero point, `-input_offset`, whose term `w *
//! (zp + off)` is 0 as the reference's left-out tap), so that the pair's
//! inputs are a filter's length apart, as [`caps::pair4`] takes them:
//! four filters by two positions per call, each weight loaded once for
//! both. The input offset is folded into each filter's bias once per
//! call (`off * sum w`, wrapping: the same sums modulo 2^32), with the
//! requantization's constants ([`pointwise_s8::folded`]). A row's odd last
//! position is paired with the one before it (computed twice, the same
//! values written twice), filters past a multiple of four are the last
//! four filters' group.

use super::dense_s8::{DenseS8Params, Multipliers};
use super::pointwise_s8::{folded, ChanQ};
use super::window::{Plane, Window2d};
use crate::math::caps;
use crate::math::requant::Rounding;

/// The longest filter row (`kernel_h * kernel_w * in_channels`) the path
/// copies (two rows on the stack: 1,152 bytes); longer ones take the
/// other loop.
const MAX_ROW: usize = 576;

/// The filters whose constants one pass keeps (16 bytes each on the
/// stack); more filters take more passes over the positions.
const BLOCK: usize = 16;

/// One filter's folded requantization: bias (with `off * sum w`), Q31
/// multiplier, [`ChanQ::h_zo`] and the right shift less one.
#[derive(Clone, Copy, Default)]
struct Fq {
    bias: i32,
    m: i32,
    h_zo: i32,
    rm1: u32,
}

/// The convolution by pairs of positions (the module's text) on checked
/// arguments ([`crate::layers::conv2d_s8::conv_s8_core`]'s); `false`
/// where the path does not apply (then the caller computes every output
/// its own way, whatever this wrote).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn conv_pairs_s8(
    window: &Window2d,
    plane: &Plane,
    cin: usize,
    filters: usize,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> bool {
    let (kh, kw) = window.kernel_size;
    let row_len = kh.saturating_mul(kw).saturating_mul(cin);
    let (out_h, out_w) = plane.out;
    if !caps::PAIR4
        || filters < 4
        || row_len == 0
        || row_len > MAX_ROW
        || out_w < 2
        || p.rounding != Rounding::Double
        || !matches!(p.multipliers, Multipliers::PerTensor { .. } | Multipliers::PerChannel { .. })
    {
        return false;
    }
    let (lo, hi, zo, off) = (p.act_min, p.act_max, p.output_offset, p.input_offset);
    // (the whole int8 range: one saturating instruction on Thumb-2)
    let full = caps::SAT8 && (lo, hi) == (-128, 127);
    // the input's zero point, for the taps outside the input
    let zp = off.wrapping_neg() as i8;
    let mut buf = [0i8; 2 * MAX_ROW];
    let Some(buf) = buf.get_mut(..2 * row_len) else {
        return false;
    };
    let mut q = [Fq::default(); BLOCK];
    let mut b0 = 0;
    while b0 < filters {
        // filters b0..b0 + nb, at least four (the last block may overlap
        // the one before)
        let nb = (filters - b0).min(BLOCK);
        let b0_now = if nb < 4 { filters - 4 } else { b0 };
        let nb = nb.max(4);
        let Some(ws) = filter.get(b0_now * row_len..) else {
            return false;
        };
        for (k, fq) in q.iter_mut().take(nb).enumerate() {
            let j = b0_now + k;
            let row = ws.get(k * row_len..(k + 1) * row_len).unwrap_or(&[]);
            let sum = row.iter().fold(0i32, |a, &w| a.wrapping_add(w as i32));
            let b = bias.and_then(|b| b.get(j)).copied().unwrap_or(0);
            let (m, s) = p.multipliers.get(j);
            let r = s.wrapping_neg() as u32;
            if r.wrapping_sub(1) >= 23 {
                return false;
            }
            *fq = Fq {
                bias: b.wrapping_add(off.wrapping_mul(sum)),
                m,
                h_zo: ChanQ::h_zo(r, zo),
                rm1: r - 1,
            };
        }
        let qs = q.get(..nb).unwrap_or(&[]);
        for oy in 0..out_h {
            let row_inside = inside(oy, window.strides.0, window.dilation.0, plane.pad.0, kh, window.height);
            // (kernel row ky reads input row (iy0 + ky) * dh - dy: iy0 * dh
            // - dy = oy * sh - top)
            let (iy0, dy) = (0usize, plane.pad.0.wrapping_sub(oy * window.strides.0));
            let mut ox = 0;
            while ox < out_w {
                let ox_now = ox.min(out_w - 2);
                let pos = oy * out_w + ox_now;
                // the two windows, taps outside the input at the zero point
                // (both inside, without dilation across: each kernel row's
                // `kw * cin` values copied straight, no runs to find)
                let inside = row_inside
                    && window.dilation.1 == 1
                    && inside(ox_now, window.strides.1, 1, plane.pad.1, kw, window.width)
                    && inside(ox_now + 1, window.strides.1, 1, plane.pad.1, kw, window.width);
                if inside {
                    let ix = (ox_now * window.strides.1 - plane.pad.1) * cin;
                    let step = window.strides.1 * cin;
                    let run = kw * cin;
                    let (b0, b1) = buf.split_at_mut(row_len);
                    for iy in iy0..iy0 + kh {
                        let at = (iy * window.dilation.0).wrapping_sub(dy) * window.width * cin + ix;
                        let o = (iy - iy0) * run;
                        copy(b0.get_mut(o..o + run).unwrap_or(&mut []), x.get(at..).unwrap_or(&[]));
                        copy(b1.get_mut(o..o + run).unwrap_or(&mut []), x.get(at.wrapping_add(step)..).unwrap_or(&[]));
                    }
                } else {
                    buf.fill(zp);
                    for (half, pos) in [pos, pos + 1].into_iter().enumerate() {
                        let dst = buf.get_mut(half * row_len..).unwrap_or(&mut []);
                        for (t, i, n) in window.runs_at(plane, pos) {
                            let src = x.get(i * cin..).unwrap_or(&[]);
                            let d = dst.get_mut(t * cin..).unwrap_or(&mut []);
                            copy(d.get_mut(..n * cin).unwrap_or(&mut []), src);
                        }
                    }
                }
                let at = pos.wrapping_mul(filters).wrapping_add(b0_now);
                let (mut f, mut qg) = (0, qs);
                while f < nb {
                    let f_now = f.min(nb - 4);
                    let Some(sums) = caps::pair4_rows(buf, ws.get(f_now * row_len..).unwrap_or(&[]), row_len) else {
                        return false;
                    };
                    qg = qs.get(f_now..).unwrap_or(qg);
                    for (pi, s4) in sums.iter().enumerate() {
                        let o = at.wrapping_add(pi * filters).wrapping_add(f_now);
                        let Some(o4) = out.get_mut(o..).and_then(|o| o.get_mut(..4)) else {
                            return false;
                        };
                        for ((o, &a), c) in o4.iter_mut().zip(s4).zip(qg) {
                            let v = folded(a.wrapping_add(c.bias), c.m, c.h_zo, c.rm1);
                            *o = if full { caps::sat8(v) } else { v.max(lo).min(hi) } as i8;
                        }
                    }
                    f += 4;
                }
                ox += 2;
            }
        }
        b0 += nb;
    }
    true
}

/// `d` from the start of `s` (as many values as both hold).
#[inline(always)]
fn copy(d: &mut [i8], s: &[i8]) {
    let n = d.len().min(s.len());
    if let (Some(d), Some(s)) = (d.get_mut(..n), s.get(..n)) {
        d.copy_from_slice(s);
    }
}

/// Whether output `o`'s window along one axis (stride `s`, dilation `d`,
/// `pad` before the first of `size` inputs, kernel `k`) is inside the input.
#[inline(always)]
fn inside(o: usize, s: usize, d: usize, pad: usize, k: usize, size: usize) -> bool {
    let a = o.saturating_mul(s);
    a >= pad && (a - pad).saturating_add(k.saturating_sub(1).saturating_mul(d)) < size
}
