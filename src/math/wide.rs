//! Dot products in one 64-bit integer, for CPUs without an FPU.
//!
//! [`WideDot`] computes `x . kernel[:, j] + bias[j]` for the columns `j` of
//! a Keras kernel with integer arithmetic only, and rounds each sum once to
//! float32 (nearest, ties to even). No soft-float routine runs per element.
//!
//! # Representation
//! A finite float is `m * 2^(e - 150)` with `m` its 24-bit integer mantissa
//! (implicit bit included) and `e` its biased exponent (1 for subnormals,
//! whose `m` lacks the implicit bit). An input's mantissa is shifted left by
//! 7 (below `2^31`) and signed with the product's sign, so a product is an
//! exact integer below `2^55`, worth `2^(s - 307)` with `s = e_x + e_w`. The
//! bias is one more term, its product with 1.0.
//!
//! A column's sum is an `i64` in units of `2^(top - 307)`, `top` being the
//! largest `s` seen so far: a product is shifted right by `top - s` before
//! it is added, the sum by the difference when a larger `s` comes. Within 7
//! binades of `top` the shift is applied to the input's mantissa, whose low
//! 7 bits are zero: exact, and the product is one multiply-accumulate
//! (`SMLAL` on Armv7-M). Further down the 64-bit product is shifted
//! (truncated toward zero, so that a term and its negation cancel).
//! At most [`BLOCK`] terms below `2^55` each are added between two checks
//! that keep the sum below `2^61` (halving it, floor, if need be), so it
//! never overflows.
//!
//! # Accuracy
//! Terms within 7 binades of the largest add exactly; each other shift (of a
//! term, or of the sum when `top` rises) loses less than one unit of
//! `2^(top - 307)`, that is less than
//! `2^-53` of the largest term (normal inputs and weights: their mantissas
//! are at least `2^23`). So before the final rounding the sum is within
//! `(n + 1) * 2^-52 * max|term|` of the exact `x . kernel[:, j] + bias[j]`,
//! `n` being the nonzero inputs (plus one unit per halving, for more than
//! [`BLOCK`] of them). Float32 arithmetic, as in the reference kernel, can
//! be off by about `n * 2^-24` of the terms' magnitudes, and rounds the dot
//! product before adding the bias; here there is one rounding.
//!
//! # What it does not handle
//! [`WideDot::new`] refuses (the caller computes in float32, so that IEEE
//! semantics hold) an `x` holding NaN, ±inf or a subnormal number, and a
//! zero input whose kernel row holds NaN or ±inf (zero inputs are skipped,
//! but `0 * inf` is NaN). A NaN or ±inf weight in any other row, or in the
//! bias, makes its column fall back to the caller's float32 computation.

/// Terms added between two overflow checks, and the most nonzero inputs
/// decoded once per call (otherwise they are decoded again per column).
pub const BLOCK: usize = 128;

/// A weight's 24-bit mantissa and biased exponent (without the implicit bit
/// for zeros and subnormals, whose exponent is then 1). `None` for NaN and
/// ±inf.
#[inline(always)]
fn weight(wb: u32) -> Option<(u32, i32)> {
    let e = (wb >> 23) & 0xff;
    if e.wrapping_sub(1) < 0xfe {
        Some(((wb & 0x7f_ffff) | 0x80_0000, e as i32))
    } else if e == 0 {
        Some((wb & 0x7f_ffff, 1))
    } else {
        None
    }
}

/// A normal input's mantissa shifted left by 7, signed as the float.
#[inline(always)]
fn input(xb: u32) -> i32 {
    let m = (((xb << 8) | 0x8000_0000) >> 1) as i32;
    let sign = (xb as i32) >> 31;
    (m ^ sign) - sign
}

/// True for NaN and ±inf (exponent all ones).
#[inline(always)]
fn non_finite(bits: u32) -> bool {
    bits << 1 >= 0xff00_0000
}

/// True for subnormal numbers, zeros, NaN and ±inf (exponent 0 or all ones).
#[inline(always)]
fn unusual(v: &f32) -> bool {
    ((v.to_bits() >> 23) & 0xff).wrapping_sub(1) >= 0xfe
}

/// True when every input is normal or zero, and the kernel rows of the zero
/// ones hold no NaN or ±inf.
#[inline(never)]
fn zero_rows_finite(x: &[f32], kernel: &[f32], units: usize) -> bool {
    x.iter().zip(kernel.chunks_exact(units)).all(|(v, row)| {
        let bits = v.to_bits();
        !non_finite(bits)
            && (bits << 1 >= 0x0100_0000
                || (bits << 1 == 0 && !row.iter().any(|w| non_finite(w.to_bits()))))
    })
}

/// One column's running sum, `acc * 2^(top - 307)`.
struct Sum {
    acc: i64,
    top: i32,
}

impl Sum {
    /// The sum holding the bias with bits `bias` (its product with 1.0:
    /// 1.0 is `2^30` at exponent 127 as an input). `None` for NaN and ±inf.
    #[inline(always)]
    fn new(bias: u32) -> Option<Sum> {
        let (mb, eb) = weight(bias)?;
        let acc = (mb as i64) << 30;
        Some(Sum {
            acc: if bias >> 31 != 0 { -acc } else { acc },
            top: 127 + eb,
        })
    }

    /// Adds the product of an input (`mx` from [`input`], exponent `ex`)
    /// and the weight with bits `wb`. `None` if the weight is NaN or ±inf.
    #[inline(always)]
    fn add(&mut self, mx: i32, ex: i32, wb: u32) -> Option<()> {
        let (mw, ew) = weight(wb)?;
        let s = ex + ew;
        if s > self.top {
            self.acc = shr(self.acc, s - self.top);
            self.top = s;
        }
        let sign = (wb as i32) >> 31;
        let m = (mx ^ sign) - sign;
        let d = self.top - s;
        if d <= 7 {
            self.acc += (m >> d) as i64 * mw as i64;
        } else {
            // Truncated toward zero (a term and its negation cancel).
            let q = (m.unsigned_abs() as u64 * mw as u64) >> d.min(63);
            self.acc += if m < 0 { -(q as i64) } else { q as i64 };
        }
        Some(())
    }

    /// Keeps `|acc| < 2^61` so that [`BLOCK`] more terms cannot overflow.
    #[inline(always)]
    fn normalize(&mut self) {
        while self.acc.unsigned_abs() >= 1 << 61 {
            self.acc >>= 1;
            self.top += 1;
        }
    }

    /// The sum rounded to float32 (`+0.0` for zero).
    #[inline(always)]
    fn round(&self) -> f32 {
        let mag = self.acc.unsigned_abs();
        let (hi, lo) = ((mag >> 32) as u32, mag as u32);
        // The common case in 32-bit steps: a normal result from a sum whose
        // high word is nonzero. The top 24 bits of the normalized magnitude
        // are the mantissa, the next one decides, the rest is the sticky part.
        let lz = hi.leading_zeros();
        let biased = self.top - 307 + 64 - lz as i32 + 126;
        if hi != 0 && (1..255).contains(&biased) {
            let top = if lz == 0 {
                hi
            } else {
                (hi << lz) | (lo >> (32 - lz))
            };
            let rest = lo << lz;
            let mant = top >> 8;
            let half = top & 0x80 != 0;
            let up = half && ((top & 0x7f) | rest != 0 || mant & 1 == 1);
            let bits = ((biased - 1) as u32) * (1 << 23) + mant + up as u32;
            return f32::from_bits(((self.acc < 0) as u32 * (1 << 31)) | bits);
        }
        if mag == 0 {
            return 0.0;
        }
        round_to_f32(self.acc < 0, mag, self.top - 307, false)
    }
}

/// `v >> n` (floor) for any `n >= 0`.
#[inline(always)]
fn shr(v: i64, n: i32) -> i64 {
    v >> n.min(63)
}

/// A decoded nonzero input: [`input`]'s mantissa, and its exponent in the
/// low 9 bits of `er` with its kernel row's offset (`i * units`) above.
#[derive(Clone, Copy, Default)]
struct Term {
    m: i32,
    er: u32,
}

/// The dot products of one input vector with the columns of a kernel.
pub struct WideDot<'a> {
    x: &'a [f32],
    kernel: &'a [f32],
    units: usize,
}

impl<'a> WideDot<'a> {
    /// Checks `x` for [`WideDot::dense`]; `kernel` must hold `x.len()` rows
    /// of `units` columns. `None` if it does not, or if `x` holds a NaN, ±inf
    /// or a subnormal number, or a row of `kernel` whose input is zero holds
    /// a NaN or ±inf.
    pub fn new(x: &'a [f32], kernel: &'a [f32], units: usize) -> Option<Self> {
        if units == 0 || x.len().checked_mul(units) != Some(kernel.len()) || kernel.len() >= 1 << 23
        {
            return None;
        }
        // Normal inputs pass with one test each; zeros need a look at their
        // row, and the others (subnormals, ±inf, NaN) are refused.
        if x.iter().any(unusual) && !zero_rows_finite(x, kernel, units) {
            return None;
        }
        Some(WideDot { x, kernel, units })
    }

    /// [`WideDot::new`] for a kernel known to hold no NaN or ±inf (the
    /// caller has checked it): a zero input needs no look at its row.
    pub fn with_finite_kernel(x: &'a [f32], kernel: &'a [f32], units: usize) -> Option<Self> {
        if units == 0 || x.len().checked_mul(units) != Some(kernel.len()) || kernel.len() >= 1 << 23
        {
            return None;
        }
        let zero_or_normal = |v: &f32| !unusual(v) || v.to_bits() << 1 == 0;
        if !x.iter().all(zero_or_normal) {
            return None;
        }
        Some(WideDot { x, kernel, units })
    }

    /// Column `j`'s `x . kernel[:, j] + bias` rounded once to float32, with
    /// `x` decoded as it goes; `None` if a weight of the column (in a row
    /// with a nonzero input) or the bias is NaN or ±inf, or `j >= units`.
    #[inline(always)]
    fn column(&self, j: usize, bias: u32) -> Option<f32> {
        let mut sum = Sum::new(bias)?;
        if self.x.len() <= BLOCK {
            self.add_inputs(&mut sum, self.x, j)?;
        } else {
            for (b, block) in self.x.chunks(BLOCK).enumerate() {
                self.add_inputs(&mut sum, block, b * BLOCK * self.units + j)?;
                sum.normalize();
            }
        }
        Some(sum.round())
    }

    /// Adds the products of `x` (a part of the inputs) with the weights at
    /// `kernel[k]`, `kernel[k + units]`, ...
    #[inline(always)]
    fn add_inputs(&self, sum: &mut Sum, x: &[f32], mut k: usize) -> Option<()> {
        for v in x {
            let xb = v.to_bits();
            if xb << 1 != 0 {
                sum.add(
                    input(xb),
                    ((xb >> 23) & 0xff) as i32,
                    self.kernel.get(k)?.to_bits(),
                )?;
            }
            k += self.units;
        }
        Some(())
    }

    /// [`WideDot::column`] over `terms`, the decoded nonzero inputs.
    #[inline(always)]
    fn column_terms(&self, terms: &[Term], j: usize, bias: u32) -> Option<f32> {
        let mut sum = Sum::new(bias)?;
        for t in terms {
            let wb = self.kernel.get((t.er >> 9) as usize + j)?.to_bits();
            sum.add(t.m, (t.er & 0x1ff) as i32, wb)?;
        }
        Some(sum.round())
    }

    /// `x . kernel[:, j] + bias` rounded once to float32; `None` if a weight
    /// of the column (in a row with a nonzero input) or the bias is NaN or
    /// ±inf, or if `j >= units`.
    #[inline(never)]
    pub fn dot(&self, j: usize, bias: f32) -> Option<f32> {
        if j >= self.units {
            return None;
        }
        self.column(j, bias.to_bits())
    }

    /// Decodes the nonzero inputs into `terms`; `None` if there are more.
    fn decode<'t>(&self, terms: &'t mut [Term]) -> Option<&'t [Term]> {
        let mut n = 0;
        for (i, v) in self.x.iter().enumerate() {
            let xb = v.to_bits();
            if xb << 1 != 0 {
                *terms.get_mut(n)? = Term {
                    m: input(xb),
                    er: ((i * self.units) as u32) << 9 | (xb >> 23) & 0xff,
                };
                n += 1;
            }
        }
        terms.get(..n)
    }

    /// Every column's `x . kernel[:, j] + bias[j]`, rounded once, into `out`
    /// (`units` values; `bias` holds `units` values, or is `None`: zeros), the
    /// inputs decoded again for every column. A column that holds a NaN or
    /// ±inf gets `fallback(j)` instead. Each value goes through `post` (an
    /// activation, say) as it is stored. Nothing is written if the sizes
    /// are wrong (`false`).
    #[inline(never)]
    pub fn dense(
        &self,
        bias: Option<&[f32]>,
        out: &mut [f32],
        fallback: impl Fn(usize) -> f32,
        post: impl Fn(f32) -> f32,
    ) -> bool {
        self.sizes_fit(bias, out) && fill(bias, out, fallback, post, |j, b| self.column(j, b))
    }

    /// [`WideDot::dense`] with the nonzero inputs decoded once, onto the
    /// stack (cleared on every call: 8 bytes per input, from 128 bytes up
    /// to 1 KB): faster from a few dozen multiply-adds on. `false` (nothing
    /// written) also when more than [`BLOCK`] inputs are nonzero.
    pub fn dense_decoded(
        &self,
        bias: Option<&[f32]>,
        out: &mut [f32],
        fallback: impl Fn(usize) -> f32,
        post: impl Fn(f32) -> f32,
    ) -> bool {
        if !self.sizes_fit(bias, out) {
            return false;
        }
        let t = Term::default();
        match self.x.len() {
            0..=16 => self.decoded_columns(&mut [t; 16], bias, out, &fallback, &post),
            17..=32 => self.decoded_columns(&mut [t; 32], bias, out, &fallback, &post),
            33..=64 => self.decoded_columns(&mut [t; 64], bias, out, &fallback, &post),
            _ => self.decoded_columns(&mut [t; BLOCK], bias, out, &fallback, &post),
        }
    }

    #[inline(never)]
    fn decoded_columns(
        &self,
        slots: &mut [Term],
        bias: Option<&[f32]>,
        out: &mut [f32],
        fallback: &impl Fn(usize) -> f32,
        post: &impl Fn(f32) -> f32,
    ) -> bool {
        let Some(terms) = self.decode(slots) else {
            return false;
        };
        // (The loop as in fill(), written out: through a closure the
        // compiler keeps less of the inner loop in registers.)
        for (j, o) in out.iter_mut().enumerate() {
            let b = bias_bits(bias, j);
            *o = post(match self.column_terms(terms, j, b) {
                Some(value) => value,
                None => cold(fallback, j),
            });
        }
        true
    }

    fn sizes_fit(&self, bias: Option<&[f32]>, out: &[f32]) -> bool {
        out.len() == self.units && bias.is_none_or(|b| b.len() == self.units)
    }
}

/// `out[j] = x · dz[j] + w[j]` (`w` `None`: zeros) for every `j`, each
/// rounded once: [`WideDot`] with one input, giving the same bits, without
/// its per-column set-up. It is the weight gradient of a batch of one (and
/// plain SGD's step fused with it), where each column has one term.
/// `false`, nothing written, if the sizes differ or `x` is NaN, ±inf or
/// subnormal (as [`WideDot::new`] refuses it); a column with a NaN or ±inf
/// gets `0.0 + x * dz[j] + w[j]` in float32, as the reference kernel has it.
pub fn outer_fma(x: f32, dz: &[f32], w: Option<&[f32]>, out: &mut [f32]) -> bool {
    // (Seen through, these bit tests become soft-float compares.)
    let xb = core::hint::black_box(x.to_bits());
    let ex = (xb >> 23) & 0xff;
    if dz.len() != out.len()
        || w.is_some_and(|w| w.len() != out.len())
        || ex == 0xff
        || (ex == 0 && xb << 1 != 0)
    {
        return false;
    }
    let mx = input(xb);
    let zero = xb << 1 == 0;
    for (j, (o, d)) in out.iter_mut().zip(dz).enumerate() {
        let wb = bias_bits(w, j);
        let db = d.to_bits();
        if zero && !non_finite(db) && !non_finite(wb) {
            // 0 · dz[j] + w[j] is w[j] (+0.0 for -0.0, as the sum rounds it)
            *o = f32::from_bits(if wb << 1 == 0 { 0 } else { wb });
            continue;
        }
        let sum = Sum::new(wb).and_then(|mut sum| {
            if zero {
                // 0 · dz[j] is 0, but 0 · ±inf is NaN
                (!non_finite(db)).then_some(sum)
            } else {
                sum.add(mx, ex as i32, db).map(|()| sum)
            }
        });
        *o = match sum {
            Some(sum) => sum.round(),
            None => cold(&|j| 0.0 + x * *d + f32::from_bits(bias_bits(w, j)), j),
        };
    }
    true
}

/// `out[j] = post(column(j, bias[j] bits))`, or `post(fallback(j))` where
/// that is `None`.
#[inline(always)]
fn fill(
    bias: Option<&[f32]>,
    out: &mut [f32],
    fallback: impl Fn(usize) -> f32,
    post: impl Fn(f32) -> f32,
    column: impl Fn(usize, u32) -> Option<f32>,
) -> bool {
    for (j, o) in out.iter_mut().enumerate() {
        let b = bias_bits(bias, j);
        *o = post(match column(j, b) {
            Some(value) => value,
            None => cold(&fallback, j),
        });
    }
    true
}

/// The bits of `bias[j]` (0 without a bias). `j` is always in range (the
/// sizes were checked); the out-of-range branch is cold, as a bounds check's
/// panic would be, but returns 0 instead of panicking.
#[inline(always)]
fn bias_bits(bias: Option<&[f32]>, j: usize) -> u32 {
    match bias {
        None => 0,
        Some(b) => match b.get(j) {
            Some(v) => v.to_bits(),
            None => out_of_range(),
        },
    }
}

#[cold]
#[inline(never)]
fn out_of_range() -> u32 {
    0
}

#[cold]
#[inline(never)]
fn cold(f: &impl Fn(usize) -> f32, j: usize) -> f32 {
    f(j)
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
        0..=63 => (
            mag >> shift,
            mag & ((1u64 << shift) - 1),
            1u64 << (shift - 1),
        ),
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

    /// Column `j` both ways (decoded per column, and decoded once).
    fn wide(x: &[f32], kernel: &[f32], units: usize, j: usize, bias: f32) -> Option<f32> {
        let dot = WideDot::new(x, kernel, units)?;
        let a = dot.dot(j, bias);
        let mut slots = [Term::default(); 4];
        let b = match dot.decode(&mut slots) {
            Some(terms) if j < units => dot.column_terms(terms, j, bias.to_bits()),
            _ => a,
        };
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
        a
    }

    #[test]
    fn small_cases() {
        assert_eq!(wide(&[1.0, 2.0], &[3.0, 4.0], 1, 0, 0.0), Some(11.0));
        assert_eq!(wide(&[0.0, -0.0], &[3.0, 4.0], 1, 0, 0.0), Some(0.0));
        assert_eq!(wide(&[1.0, 1.0], &[1e30, -1e30], 1, 0, 0.0), Some(0.0));
        // 1 + 2^-30 - 1 is exactly 2^-30 (float32 sequential gives 0).
        let t = 2f32.powi(-30);
        assert_eq!(wide(&[1.0, 1.0, 1.0], &[1.0, t, -1.0], 1, 0, 0.0), Some(t));
        // Negative products, both signs of mantissa.
        assert_eq!(wide(&[-3.0, 2.0], &[0.5, -0.25], 1, 0, 0.0), Some(-2.0));
        assert_eq!(wide(&[-3.0, -2.0], &[-0.5, -0.25], 1, 0, 0.0), Some(2.0));
        assert_eq!(wide(&[1.0], &[f32::NAN], 1, 0, 0.0), None);
        assert_eq!(wide(&[1.0], &[-f32::INFINITY], 1, 0, 0.0), None);
        assert!(WideDot::new(&[0.0], &[f32::INFINITY], 1).is_none());
        assert!(WideDot::new(&[f32::INFINITY], &[1.0], 1).is_none());
        assert!(WideDot::new(&[f32::NAN], &[1.0], 1).is_none());
        assert_eq!(
            wide(&[f32::MAX, f32::MAX], &[2.0, 2.0], 1, 0, 0.0),
            Some(f32::INFINITY)
        );
        // Subnormal weights; subnormal inputs are left to the caller.
        let d = f32::from_bits(1);
        assert_eq!(
            wide(&[2.0, 1.0], &[d, d], 1, 0, 0.0),
            Some(f32::from_bits(3))
        );
        assert!(WideDot::new(&[d, 1.0], &[2.0, d], 1).is_none());
        assert_eq!(wide(&[1e-30], &[1e-30], 1, 0, 0.0), Some(0.0));
        // Columns, and j out of range.
        let k = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(wide(&[1.0, 2.0], &k, 3, 2, 0.0), Some(15.0));
        assert_eq!(wide(&[1.0, 2.0], &k, 3, 3, 0.0), None);
        // A kernel of the wrong size.
        assert!(WideDot::new(&[1.0; 2], &[1.0; 5], 2).is_none());
        // A kernel the caller has checked: zeros pass without a look at
        // their rows, the inputs are still checked.
        let finite = |x: &[f32], k: &[f32]| WideDot::with_finite_kernel(x, k, 1).is_some();
        assert!(WideDot::new(&[0.0, 1.0], &[f32::NAN, 2.0], 1).is_none());
        assert!(finite(&[0.0, 1.0], &[f32::NAN, 2.0]));
        assert!(finite(&[-0.0, 1.0], &[3.0, 2.0]));
        assert!(!finite(&[d, 1.0], &[3.0, 2.0]));
        assert!(!finite(&[0.0, f32::INFINITY], &[3.0, 2.0]));
        assert!(!finite(&[f32::NAN, 0.0], &[3.0, 2.0]));
        assert!(!finite(&[1.0; 2], &[1.0; 3]));
    }

    #[test]
    fn bias_is_a_term() {
        assert_eq!(wide(&[1.0, 2.0], &[3.0, 4.0], 1, 0, 0.5), Some(11.5));
        assert_eq!(wide(&[1.0, 2.0], &[3.0, 4.0], 1, 0, -11.0), Some(0.0));
        // Rounded once: 2^-30 survives next to 1 - 1.
        let t = 2f32.powi(-30);
        assert_eq!(wide(&[1.0, 1.0], &[1.0, -1.0], 1, 0, t), Some(t));
        assert_eq!(wide(&[1.0], &[1.0], 1, 0, -1e-30), Some(1.0));
        assert_eq!(wide(&[1.0], &[1.0], 1, 0, f32::NAN), None);
        assert_eq!(wide(&[1.0], &[1.0], 1, 0, f32::NEG_INFINITY), None);
        assert_eq!(wide(&[0.0], &[1.0], 1, 0, -0.0), Some(0.0));
    }

    #[test]
    fn exponent_spread() {
        let x = [1.0f32, 1.0];
        // A term 2^-60 of the largest is lost, within the bound.
        assert_eq!(wide(&x, &[1.0, 2f32.powi(-60)], 1, 0, 0.0), Some(1.0));
        // The sum is rescaled when a larger product comes later.
        assert_eq!(
            wide(&x, &[2f32.powi(-20), 1.0], 1, 0, 0.0),
            Some(1.0 + 2f32.powi(-20))
        );
        assert_eq!(
            wide(&x, &[2f32.powi(-9), 1.0], 1, 0, 0.0),
            Some(1.0 + 2f32.powi(-9))
        );
    }

    #[test]
    fn long_inputs_do_not_overflow() {
        // 1000 products of the largest mantissa, all at the top: the sum
        // would pass 2^63 without the checks.
        let v = 1.999_999_9f32;
        let x = vec![v; 1000];
        let kernel = vec![-v; 1000];
        let got = wide(&x, &kernel, 1, 0, 0.0).unwrap();
        let want = -(v as f64 * v as f64 * 1000.0);
        assert!((got as f64 - want).abs() <= want.abs() * 2f64.powi(-23));
    }
}
