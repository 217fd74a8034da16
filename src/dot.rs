//! Exact float32 dot products in integer arithmetic, for CPUs without an FPU.
//!
//! [`ExactDot`] computes `sum_i x[i] * kernel[i * units + j]` for one column
//! `j` of a Keras kernel EXACTLY (no rounding at all) and rounds the exact sum
//! once to the nearest float32 (ties to even). No soft-float routine runs per
//! element: each product is two 24-bit mantissas multiplied as integers.
//!
//! # Representation
//! A finite float is `m * 2^(e - 150)` with `m` its 24-bit integer mantissa
//! (implicit bit included) and `e` its biased exponent (1 for subnormals, whose
//! `m` lacks the implicit bit). Writing `e = 4 * k + f` (`f = e & 3`), the
//! product `(mx << (fx + fw)) * mw` is an exact integer below
//! `2^30 * 2^24 = 2^54` that weighs `2^(4 * (kx + kw) - 300)`; the four
//! shifted copies of each input's `mx` are made once per call, so a weight
//! costs no shift. It is added to bin `kx + kw` (0..=126) of an array of 128
//! `i64` bins (the last one only takes carries): bin `k` is worth
//! `2^(4k - 300)`, and the exact sum is `sum_k bins[k] * 16^k * 2^-300`. A
//! bin holds up to [`EPOCH`] products without overflow (`15 + 448 * 2^54`
//! plus a carry below `2^59` stays below `2^63`); longer inputs carry the
//! bins into radix-16 digits every `EPOCH` inputs.
//!
//! Per multiply-add this is one integer multiply (`SMULL` on Armv7-M), one
//! 64-bit add into a bin and a few bit operations; zeros in `x` are skipped
//! altogether (they are removed when `x` is decoded, once per call).
//!
//! # Finishing a column
//! Bins touched are tracked coarsely (a bit per 8 weight exponents, and the
//! range of input exponents); when they span at most 16 bins they are folded
//! into an `i128` by Horner's rule (`acc = acc * 16 + bin`, exact: at most
//! `2^63 * 16^15 * 16/15 < 2^127`), otherwise all bins are carried into
//! radix-16 digits. Either way the exact value is rounded once
//! ([`round_to_f32`]), with overflow to ±inf and gradual underflow, and the
//! bins are cleared for the next column.
//!
//! # What it does not handle
//! NaN and ±inf: [`ExactDot::new`] refuses a non-finite `x`, and a
//! non-finite weight in a row whose input is zero (`0 * inf` is NaN, but zero
//! inputs are skipped); any other non-finite weight makes [`ExactDot::dot`]
//! return `None` for its column. The caller computes those in plain float32 so
//! that IEEE semantics (NaN propagation, `inf - inf`, `0 * inf`) hold.

/// Nonzero inputs decoded at a time (24 bytes each, on the stack).
pub const BLOCK: usize = 64;
/// Products a bin can take between two normalizations.
pub const EPOCH: usize = 448;
/// Bins: 0..=126 take products; bin 127 takes the carries out of them.
const BINS: usize = 128;
const TOP: usize = BINS - 1;
/// Bin `k` weighs `2^(4k - BIAS2)`.
const BIAS2: i32 = 300;

/// One nonzero input: its signed mantissa shifted left by `(e & 3) + f` for
/// each weight fine shift `f` in 0..4 (so that a weight's mantissa needs no
/// shift of its own), `e >> 2`, and the index of its kernel row's first
/// element (`i * units`).
#[derive(Clone, Copy, Default)]
struct Entry {
    m: [i32; 4],
    k: u32,
    row: usize,
}

/// Decodes a finite float's bits into `(24-bit mantissa, exponent)`, the
/// exponent of subnormals being 1. `None` for zeros.
#[inline(always)]
fn decode(bits: u32) -> Option<(u32, u32)> {
    let e = (bits >> 23) & 0xff;
    let f = bits & 0x7f_ffff;
    if e != 0 {
        Some((f | 0x80_0000, e))
    } else if f != 0 {
        Some((f, 1))
    } else {
        None
    }
}

/// Working memory of [`ExactDot`] (2.5 KB; the caller's stack frame holds
/// it so that it is never moved). 8-aligned, so that clearing it runs the
/// word-wise path of memclr wherever the stack pointer happens to be.
#[repr(C, align(8))]
pub struct Scratch {
    entries: [Entry; BLOCK],
    bins: [i64; BINS],
}

impl Scratch {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Scratch {
            entries: [Entry::default(); BLOCK],
            bins: [0; BINS],
        }
    }
}

/// The exact dot products of one input vector with the columns of a kernel.
pub struct ExactDot<'a> {
    x: &'a [f32],
    kernel: &'a [f32],
    units: usize,
    /// The decoded nonzero inputs of the current block.
    entries: &'a mut [Entry; BLOCK],
    len: usize,
    /// Input exponent range (`e >> 2`) of the decoded entries.
    kx_min: u32,
    kx_max: u32,
    /// True when one block holds every nonzero input: it is decoded once.
    single: bool,
    /// All zero between calls of [`ExactDot::dot`].
    bins: &'a mut [i64; BINS],
}

impl<'a> ExactDot<'a> {
    /// Decodes `x` for [`ExactDot::dot`]; `kernel` must hold `x.len()` rows
    /// of `units` columns. `None` if it does not, or if the exact kernel must
    /// not be used: `x` holds a NaN or ±inf, or a row of `kernel` whose input
    /// is zero does (zero inputs are skipped, but `0 * inf` is NaN).
    pub fn new(
        x: &'a [f32],
        kernel: &'a [f32],
        units: usize,
        scratch: &'a mut Scratch,
    ) -> Option<Self> {
        if units == 0 || x.len().checked_mul(units) != Some(kernel.len()) {
            return None;
        }
        for (v, row) in x.iter().zip(kernel.chunks_exact(units)) {
            let bits = v.to_bits();
            // (bits << 1) >= 0xff00_0000: exponent all ones (NaN or ±inf).
            if bits << 1 >= 0xff00_0000
                || (bits << 1 == 0 && row.iter().any(|w| w.to_bits() << 1 >= 0xff00_0000))
            {
                return None;
            }
        }
        // (Scratch::new zeroes the bins and dot leaves them zero.)
        let mut dot = ExactDot {
            x,
            kernel,
            units,
            entries: &mut scratch.entries,
            len: 0,
            kx_min: u32::MAX,
            kx_max: 0,
            single: false,
            bins: &mut scratch.bins,
        };
        let next = dot.decode_block(0);
        dot.single = next == x.len();
        Some(dot)
    }

    /// Decodes up to `BLOCK` nonzero inputs from `x[start..]` into
    /// `entries`; returns the index after the last input read.
    fn decode_block(&mut self, start: usize) -> usize {
        let (mut len, mut kmin, mut kmax) = (0, u32::MAX, 0);
        let mut i = start;
        while i < self.x.len() && len < BLOCK {
            let bits = self.x[i].to_bits();
            if let Some((m, e)) = decode(bits) {
                let m = (m << (e & 3)) as i32;
                let m = if bits >> 31 != 0 { -m } else { m };
                let k = e >> 2;
                kmin = kmin.min(k);
                kmax = kmax.max(k);
                self.entries[len] = Entry {
                    m: [m, m << 1, m << 2, m << 3],
                    k,
                    row: i * self.units,
                };
                len += 1;
            }
            i += 1;
        }
        self.len = len;
        self.kx_min = kmin;
        self.kx_max = kmax;
        i
    }

    /// The exactly rounded `sum_i x[i] * kernel[i * units + j]` (`+0.0` when
    /// the exact sum is zero), or `None` if column `j` holds a NaN or ±inf
    /// (in a row with a nonzero input; [`ExactDot::new`] checks the others),
    /// or if `j >= units`.
    pub fn dot(&mut self, j: usize) -> Option<f32> {
        if j >= self.units {
            return None;
        }
        if self.single {
            // Every nonzero input is decoded already (the common case).
            let entries = &self.entries[..self.len];
            let (mask, special) = accumulate(self.bins, entries, self.kernel, j);
            let value = self.finish_mask(mask, self.kx_min, self.kx_max, false);
            return (!special).then_some(value);
        }
        self.dot_blocks(j)
    }

    /// [`ExactDot::dot`] for inputs with more than `BLOCK` nonzero values:
    /// each block is decoded again for every column.
    #[inline(never)]
    fn dot_blocks(&mut self, j: usize) -> Option<f32> {
        let mut mask = 0u32;
        let mut special = false;
        let (mut kx_min, mut kx_max) = (u32::MAX, 0u32);
        let mut normalized = false;
        let mut in_epoch = 0usize;
        let mut pos = 0usize;
        loop {
            let next = self.decode_block(pos);
            let (m, s) = accumulate(self.bins, &self.entries[..self.len], self.kernel, j);
            mask |= m;
            special |= s;
            kx_min = kx_min.min(self.kx_min);
            kx_max = kx_max.max(self.kx_max);
            in_epoch += self.len;
            pos = next;
            if pos >= self.x.len() {
                break;
            }
            if in_epoch + BLOCK > EPOCH && mask != 0 {
                let lo = (kx_min + 2 * mask.leading_zeros()) as usize;
                self.normalize(lo.min(TOP));
                normalized = true;
                in_epoch = 0;
            }
        }
        let value = self.finish_mask(mask, kx_min, kx_max, normalized);
        (!special).then_some(value)
    }

    /// Rounds the exact sum to float32 and clears the bins, given the
    /// weight-exponent mask of [`accumulate`] and the range of input
    /// exponents (`e >> 2`) met, and whether the bins were normalized.
    #[inline(always)]
    fn finish_mask(&mut self, mask: u32, kx_min: u32, kx_max: u32, normalized: bool) -> f32 {
        if mask == 0 {
            return 0.0;
        }
        // Bit 31 - b of mask: a weight exponent in 8b..8b+7, so kw in
        // 2b..2b+1.
        let lo = (kx_min + 2 * mask.leading_zeros()) as usize;
        let hi = (kx_max + 2 * (31 - mask.trailing_zeros()) + 1) as usize;
        self.finish(lo.min(TOP), if normalized { TOP } else { hi.min(TOP) })
    }

    /// Carries `bins[lo..]` into radix-16 digits: afterwards `bins[k]` is in
    /// `0..16` for `lo <= k < TOP` and the (signed) rest is in `bins[TOP]`.
    fn normalize(&mut self, lo: usize) {
        let mut carry = 0i64;
        for b in &mut self.bins[lo..TOP] {
            let v = *b + carry;
            *b = v & 15;
            carry = v >> 4;
        }
        self.bins[TOP] += carry;
    }

    /// Rounds the exact sum held in `bins[lo..=hi]` (all others are zero) to
    /// float32 and clears the bins.
    fn finish(&mut self, lo: usize, hi: usize) -> f32 {
        let exp = 4 * lo as i32 - BIAS2;
        if hi - lo < 16 {
            let mut acc = 0i128;
            for b in self.bins[lo..=hi].iter_mut().rev() {
                acc = (acc << 4) + *b as i128;
                *b = 0;
            }
            return round_i128(acc, exp);
        }
        self.normalize(lo);
        let neg = self.bins[TOP] < 0;
        if neg {
            for b in &mut self.bins[lo..] {
                *b = -*b;
            }
            self.normalize(lo);
        }
        let digits = &mut self.bins[lo..];
        let value = if digits[digits.len() - 1] != 0 {
            // At least 16^TOP * 2^-300: far beyond float32.
            f32::INFINITY
        } else {
            match digits.iter().rposition(|&d| d != 0) {
                None => 0.0,
                Some(h) => {
                    // The 16 digits from h down (those below lo are zero),
                    // and whether any digit below them is nonzero.
                    let mut mag = 0u64;
                    for t in 0..16 {
                        let d = if h >= t { digits[h - t] } else { 0 };
                        mag = (mag << 4) | d as u64;
                    }
                    let sticky = h >= 16 && digits[..h - 15].iter().any(|&d| d != 0);
                    round_to_f32(false, mag, exp + 4 * (h as i32 - 15), sticky)
                }
            }
        };
        digits.fill(0);
        if neg {
            -value
        } else {
            value
        }
    }
}

/// Adds the products of `entries` with column `j` into the bins. Returns the
/// weight-exponent mask (bit `31 - (e >> 3)` for each weight exponent `e`
/// met) and whether the column holds a NaN or ±inf (those weights are left
/// out).
#[inline(always)]
fn accumulate(
    bins: &mut [i64; BINS],
    entries: &[Entry],
    kernel: &[f32],
    j: usize,
) -> (u32, bool) {
    let mut mask = 0u32;
    let mut special = false;
    let col = kernel.get(j..).unwrap_or(&[]);
    // 8, opaque to the optimizer: with a constant shift LLVM rewrites the
    // mantissa below as `(w & 0x7f_ffff) + 0x80_0000`, two instructions more.
    let eight = core::hint::black_box(8u32);
    for entry in entries {
        // entry.row = i * units with i < x.len() (decode_block), and j <
        // units (checked in dot), so j + entry.row < x.len() * units, which
        // is kernel.len() (checked in new): the `else` never runs. A checked
        // read costs a compare and a branch, and keeps the kernel safe Rust.
        let Some(w) = col.get(entry.row) else { continue };
        let w = w.to_bits();
        let ew = (w >> 23) & 0xff;
        let (mw, ew) = if ew.wrapping_sub(1) < 254 {
            // The mantissa with its implicit bit (built at the top of the
            // word: cheaper on Arm than masking with 0x7f_ffff).
            (((w << 8) | 0x8000_0000) >> eight, ew)
        } else {
            // Rare: zero, subnormal (exponent 1 without the implicit bit),
            // NaN or ±inf.
            core::hint::cold_path();
            if ew == 255 {
                special = true;
                continue;
            }
            let m = w & 0x7f_ffff;
            if m == 0 {
                continue;
            }
            (m, 1)
        };
        let mw = mw as i32;
        let mw = if (w as i32) < 0 { -mw } else { mw };
        // entry.k <= 63 and ew >> 2 <= 63: the mask changes nothing.
        let mx = entry.m[(ew & 3) as usize];
        bins[((entry.k + (ew >> 2)) & 127) as usize] += mul_wide(mx, mw);
        // (The same constant as above: one register fewer than 1 << ...)
        mask |= 0x8000_0000 >> (ew >> 3);
    }
    (mask, special)
}

/// `a * b` for `|a| < 2^30`, `|b| < 2^24`, exactly.
#[inline(always)]
fn mul_wide(a: i32, b: i32) -> i64 {
    a as i64 * b as i64
}

/// Rounds `acc * 2^exp` to float32 (nearest, ties to even); `+0.0` for 0.
pub fn round_i128(acc: i128, exp: i32) -> f32 {
    let neg = acc < 0;
    let mag = acc.unsigned_abs();
    let (hi, lo) = ((mag >> 64) as u64, mag as u64);
    if hi == 0 {
        if lo == 0 {
            return 0.0;
        }
        return round_to_f32(neg, lo, exp, false);
    }
    // The top 64 bits of mag, and whether any bit below them is set.
    let lz = hi.leading_zeros();
    let top = if lz == 0 { hi } else { (hi << lz) | (lo >> (64 - lz)) };
    round_to_f32(neg, top, exp + 64 - lz as i32, lo << lz != 0)
}

/// Rounds `±(mag + r) * 2^exp` to float32, nearest with ties to even, where
/// `0 <= r < 1` and `r != 0` exactly when `sticky`. `mag != 0`. Overflows to
/// ±inf, underflows gradually (subnormals) to ±0.
pub fn round_to_f32(neg: bool, mag: u64, exp: i32, sticky: bool) -> f32 {
    let lz = mag.leading_zeros();
    let mag = mag << lz;
    // The value is in [2^(63 + e), 2^(64 + e)).
    let e = exp - lz as i32;
    let biased = 63 + e + 127;
    let sign = (neg as u32) << 31;
    if biased >= 255 {
        return f32::from_bits(sign | 0x7f80_0000);
    }
    if biased >= 1 {
        // Normal: the top 24 bits are the mantissa (constant shifts).
        let mant = (mag >> 40) as u32;
        let rem = mag & ((1 << 40) - 1);
        let up = rem > 1 << 39 || (rem == 1 << 39 && (sticky || mant & 1 == 1));
        // A carry out of the mantissa steps the exponent (to inf at the top).
        let bits = ((biased - 1) as u32) * (1 << 23) + mant + up as u32;
        return f32::from_bits(sign | bits);
    }
    // Subnormal (or zero): the field is 0 and a carry makes the smallest
    // normal number.
    let shift = (41 - biased) as u32;
    let (mant, rem, half) = match shift {
        0..=63 => (mag >> shift, mag & ((1u64 << shift) - 1), 1u64 << (shift - 1)),
        64 => (0, mag, 1u64 << 63),
        // Below half the smallest subnormal.
        _ => return f32::from_bits(sign),
    };
    let up = rem > half || (rem == half && (sticky || mant & 1 == 1));
    f32::from_bits(sign | (mant as u32 + up as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(x: &[f32], kernel: &[f32], units: usize, j: usize) -> Option<f32> {
        ExactDot::new(x, kernel, units, &mut Scratch::new())?.dot(j)
    }

    #[test]
    fn small_cases() {
        assert_eq!(exact(&[1.0, 2.0], &[3.0, 4.0], 1, 0), Some(11.0));
        assert_eq!(exact(&[0.0, -0.0], &[3.0, 4.0], 1, 0), Some(0.0));
        assert_eq!(exact(&[1.0, 1.0], &[1e30, -1e30], 1, 0), Some(0.0));
        // 1 + 2^-30 - 1 is exactly 2^-30 (float32 sequential gives 0).
        let t = 2f32.powi(-30);
        assert_eq!(exact(&[1.0, 1.0, 1.0], &[1.0, t, -1.0], 1, 0), Some(t));
        assert_eq!(exact(&[1.0], &[f32::NAN], 1, 0), None);
        assert_eq!(exact(&[0.0], &[f32::INFINITY], 1, 0), None);
        assert_eq!(exact(&[f32::MAX, f32::MAX], &[2.0, 2.0], 1, 0), Some(f32::INFINITY));
        assert_eq!(exact(&[-f32::MAX], &[2.0], 1, 0), Some(f32::NEG_INFINITY));
        let tiny = f32::from_bits(1);
        assert_eq!(exact(&[tiny], &[0.5], 1, 0), Some(0.0)); // tie to even
        assert_eq!(exact(&[tiny, tiny], &[0.75, 0.0], 1, 0), Some(tiny));
        assert_eq!(exact(&[tiny], &[-1.0], 1, 0), Some(-tiny));
    }

    #[test]
    fn rounding() {
        assert_eq!(round_to_f32(false, 1, 0, false), 1.0);
        assert_eq!(round_to_f32(false, (1 << 24) + 1, 0, false), 16777216.0);
        assert_eq!(round_to_f32(false, (1 << 24) + 1, 0, true), 16777218.0);
        assert_eq!(round_to_f32(false, (1 << 24) + 3, 0, false), 16777220.0);
        assert_eq!(round_to_f32(true, u64::MAX, 0, false), -(2f32.powi(64)));
        assert_eq!(round_i128(-(1i128 << 100), -100), -1.0);
        assert_eq!(round_i128((1i128 << 126) + 1, -126), 1.0);
    }
}
