//! The 1x1 (pointwise) int8 convolution as a matrix product: the fast
//! path [`crate::layers::conv2d_s8::conv2d_s8`] (and Conv1D, on the same
//! loop) takes for a 1x1 kernel with a horizontal stride of 1, where the
//! core has [`caps::pair4`] (Thumb-2's assembly; the portable loop off
//! Arm), for LiteRT's per-channel or per-tensor Q31 multipliers with
//! double rounding (CONV_2D's).
//!
//! Four filters at a time, over every pair of neighbouring output
//! positions of a row (their inputs `in_channels` apart): [`caps::pair4`]
//! gives the pair's eight sums, each weight loaded once for both
//! positions. The input offset is not added per multiply-add: `sum_i w_i
//! * (x_i + off) = sum_i w_i * x_i + off * sum_i w_i` (wrapping, the same
//! value modulo 2^32), and `off * sum_i w_i` is added to the filter's
//! bias once per call, with the filter's requantization constants
//! ([`ChanQ`]: the shifts split, the rounding's mask and half). A row's
//! odd last position is paired with the one before it (computed twice,
//! the same values written twice); filters past a multiple of four are
//! the last four filters' group (the same).

use super::dense_s8::{DenseS8Params, Multipliers};
use crate::math::caps;
use crate::math::requant::{Rounding, MAX_SHIFT, MIN_SHIFT};

/// One output channel's requantization, prepared once per call: its
/// bias (with anything else folded in), Q31 multiplier and TFLite's
/// double rounding as [`crate::layers::conv2d_s8::requantize_double`]
/// computes it, the shift split into its left and right parts and the
/// rounding shift's mask and half.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChanQ {
    /// Added to the sum first (wrapping).
    pub bias: i32,
    /// The Q31 multiplier (not `i32::MIN`: its square saturates, which
    /// [`ChanQ::requantize`] does not handle).
    pub m: i32,
    /// `max(shift, 0)`.
    pub left: u32,
    /// `max(-shift, 0)`.
    pub right: u32,
    /// `2^right - 1`.
    pub mask: i32,
    /// `mask >> 1`.
    pub half: i32,
    /// For [`ChanQ::requantize_offset`] (right shifts 1 to 23, no left
    /// shift, [`ChanQ::with_offset`]): `2^(right - 1) + zo * 2^right`,
    /// else 0.
    pub h_zo: i32,
    /// `right - 1` (0 unless `h_zo` is set).
    pub rm1: u32,
}

impl ChanQ {
    /// From a multiplier, a shift (clamped into `MIN_SHIFT..=MAX_SHIFT`)
    /// and a bias; `None` for the multiplier `i32::MIN`.
    #[inline(always)]
    pub fn new(m: i32, shift: i32, bias: i32) -> Option<ChanQ> {
        if m == i32::MIN {
            return None;
        }
        let shift = shift.clamp(MIN_SHIFT, MAX_SHIFT);
        let left = shift.max(0) as u32;
        let right = shift.min(0).unsigned_abs();
        let mask = 1u32.wrapping_shl(right).wrapping_sub(1) as i32;
        Some(ChanQ {
            bias,
            m,
            left,
            right,
            mask,
            half: mask >> 1,
            h_zo: 0,
            rm1: 0,
        })
    }

    /// The constants of [`ChanQ::requantize_offset`] for the output
    /// offset `zo` (-128..=127); `None` unless the shift is -23..=-1 (a
    /// right shift of 1 to 23, so that `zo * 2^right` fits).
    #[inline(always)]
    pub fn with_offset(self, zo: i32) -> Option<ChanQ> {
        if self.left != 0 || !(1..=23).contains(&self.right) || !(-128..=127).contains(&zo) {
            return None;
        }
        Some(ChanQ {
            h_zo: ChanQ::h_zo(self.right, zo),
            rm1: self.right - 1,
            ..self
        })
    }

    /// [`ChanQ::requantize`] plus the output offset `zo` given to
    /// [`ChanQ::with_offset`] (no left shift, right shift `r` in 1..=23),
    /// both roundings in one 64-bit sum: with `Q = a * m + 2^30` (`q = Q
    /// >> 31`), gemmlowp's rounding shift `(q >> r) + (q mod 2^r > 2^(r-1)
    /// - 1 + [q < 0])` is `(q + 2^(r-1) - [q < 0]) >> r`, which is `(Q +
    /// (2^(r-1) - [Q < 0]) * 2^31) >> (31 + r)` (floors of floors), and
    /// `zo * 2^(31 + r)` added there adds `zo` (exact: the result is at
    /// most `2^30` in magnitude). So: one multiply-add, the sign of `Q`,
    /// a 64-bit add of `t * 2^31` and the high word shifted by `r - 1`.
    #[inline(always)]
    pub fn requantize_offset(&self, acc: i32) -> i32 {
        folded(acc.wrapping_add(self.bias), self.m, self.h_zo, self.rm1)
    }
}

/// [`ChanQ::requantize_offset`]'s arithmetic: `MultiplyByQuantizedMultiplier
/// (a, m, -r) + zo` for a right shift `r = rm1 + 1` in 1..=23, `h_zo =
/// 2^(r-1) + zo * 2^r`. (Also right for `m = i32::MIN`: gemmlowp's
/// saturated `2^31 - 1` and the unsaturated `2^31` round alike by a right
/// shift of 1 or more.)
#[inline(always)]
pub fn folded(a: i32, m: i32, h_zo: i32, rm1: u32) -> i32 {
    let q = a as i64 * m as i64 + (1 << 30);
    let t = h_zo + (q >> 63) as i32;
    let r = q + ((t as i64) << 31);
    ((r >> 32) as i32).wrapping_shr(rm1)
}

impl ChanQ {
    /// [`folded`]'s `h_zo` for a right shift `r` in 1..=23 and `zo` in
    /// -128..=127.
    #[inline(always)]
    pub fn h_zo(r: u32, zo: i32) -> i32 {
        (1i32 << (r.wrapping_sub(1) & 31)).wrapping_add(zo.wrapping_shl(r))
    }

    /// `MultiplyByQuantizedMultiplier(acc + bias, m, shift)` (double
    /// rounding; the 64-bit product, for cores that have it):
    /// `(a * m + 2^30) >> 31` with `a = (acc + bias) << left` (equal to
    /// gemmlowp's nudged, truncating division for every product but
    /// `INT32_MIN` squared, excluded by [`ChanQ::new`]), then the rounding
    /// right shift in 32 bits.
    #[inline(always)]
    pub fn requantize(&self, acc: i32) -> i32 {
        let a = acc.wrapping_add(self.bias).wrapping_shl(self.left);
        let q = ((a as i64 * self.m as i64 + (1 << 30)) >> 31) as i32;
        let threshold = self.half + (q < 0) as i32;
        q.wrapping_shr(self.right) + ((q & self.mask) > threshold) as i32
    }
}

/// The geometry of a 1x1 convolution's output for [`pointwise_s8`]:
/// `rows` rows of `row_len` positions, row `r`'s first input position
/// `r * row_step` (the output's `r * row_len`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows {
    pub rows: usize,
    pub row_len: usize,
    pub row_step: usize,
}

impl Rows {
    /// A 1x1 kernel's rows, unpadded, output `out_h x out_w` over an input
    /// `width` wide with strides `(sh, sw)`: one row of every position
    /// for strides `(1, 1)` (the input's positions are the output's),
    /// rows `sh * width` apart for a horizontal stride of 1; `None` for
    /// another horizontal stride or rows of one position (no pairs).
    pub(crate) fn of(out: (usize, usize), width: usize, (sh, sw): (usize, usize)) -> Option<Rows> {
        let r = match (sh, sw) {
            (1, 1) => Rows {
                rows: 1,
                row_len: out.0.checked_mul(out.1)?,
                row_step: 0,
            },
            (_, 1) => Rows {
                rows: out.0,
                row_len: out.1,
                row_step: sh.checked_mul(width)?,
            },
            _ => return None,
        };
        (r.row_len >= 2).then_some(r)
    }
}

/// The 1x1 convolution by [`caps::pair4`] (the module's text) on checked
/// arguments: `x` the input (`cin` values per position), `filter`
/// `filters` rows of `cin`, `out` `row_len * rows * filters`. `false`
/// (the caller then computes every output its own way, whatever this
/// wrote) where the path does not apply: no `pair4` on this core, fewer
/// than four filters, multipliers other than Q31 with double rounding,
/// a multiplier `i32::MIN`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn pointwise_s8(
    g: Rows,
    cin: usize,
    filters: usize,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> bool {
    if !caps::PAIR4 || filters < 4 || cin == 0 || p.rounding != Rounding::Double {
        return false;
    }
    let ok = match p.multipliers {
        Multipliers::PerTensor { multiplier, .. } => multiplier != i32::MIN,
        Multipliers::PerChannel { multipliers, .. } => !multipliers.contains(&i32::MIN),
        _ => false,
    };
    if !ok {
        return false;
    }
    let (lo, hi, zo, off) = (p.act_min, p.act_max, p.output_offset, p.input_offset);
    // (the whole int8 range: one saturating instruction on Thumb-2)
    let full = caps::SAT8 && (lo, hi) == (-128, 127);
    let mut f0 = 0;
    while f0 < filters {
        // the last group ends at the last filter
        let f0_now = f0.min(filters - 4);
        let Some(ws) = filter.get(f0_now * cin..) else {
            return false;
        };
        let mut q = [ChanQ::default(); 4];
        for (k, qk) in q.iter_mut().enumerate() {
            let j = f0_now + k;
            let row = ws.get(k * cin..(k + 1) * cin).unwrap_or(&[]);
            let sum = row.iter().fold(0i32, |a, &w| a.wrapping_add(w as i32));
            let b = bias.and_then(|b| b.get(j)).copied().unwrap_or(0);
            let (m, s) = p.multipliers.get(j);
            let Some(c) = ChanQ::new(m, s, b.wrapping_add(off.wrapping_mul(sum))) else {
                return false;
            };
            *qk = c;
        }
        // (the output offset folded into the rounding where every filter
        // of the group allows it)
        let folded = q.map(|c| c.with_offset(zo));
        let fold = folded.iter().all(Option::is_some);
        if fold {
            q = folded.map(|c| c.unwrap_or_default());
        }
        for r in 0..g.rows {
            let (in0, out0) = (r.wrapping_mul(g.row_step), r.wrapping_mul(g.row_len));
            let mut i = 0;
            while i < g.row_len {
                // (the odd last position with the one before it)
                let i_now = i.min(g.row_len - 2);
                let xs = (in0 + i_now).checked_mul(cin).and_then(|at| x.get(at..));
                let Some(sums) = xs.and_then(|xs| caps::pair4_rows(xs, ws, cin)) else {
                    return false;
                };
                let at = (out0 + i_now).wrapping_mul(filters).wrapping_add(f0_now);
                for (pos, s4) in sums.iter().enumerate() {
                    let Some(o4) = out.get_mut(at + pos * filters..).and_then(|o| o.get_mut(..4)) else {
                        return false;
                    };
                    if fold {
                        for ((o, &a), c) in o4.iter_mut().zip(s4).zip(&q) {
                            let v = c.requantize_offset(a);
                            *o = if full { caps::sat8(v) } else { v.max(lo).min(hi) } as i8;
                        }
                    } else {
                        for ((o, &a), c) in o4.iter_mut().zip(s4).zip(&q) {
                            *o = c.requantize(a).wrapping_add(zo).max(lo).min(hi) as i8;
                        }
                    }
                }
                i += 2;
            }
        }
        f0 += 4;
    }
    true
}
