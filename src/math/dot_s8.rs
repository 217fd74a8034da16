//! The int8 dot products of the int8 Dense kernel
//! ([`crate::layers::dense_s8::dense_s8`]): for a group of filter rows
//! `w_r` (one per output unit) and one input row `x`,
//! `acc_r = sum_i w_r[i] * (x[i] + off)` in int32, wrapping as LiteRT's
//! reference loop does. Every path adds the same terms, so each row's sum
//! is the reference's bit for bit (modulo 2^32, where the order of the
//! additions does not matter); tests/rust/int8_fast.rs checks each path
//! against the reference loop on random shapes.
//!
//! The input offset is folded into the input, once per input value for
//! the whole group of rows (`x[i] + off` shared by the rows; with the DSP
//! extension SXTAB16 adds it to two inputs in the instruction that widens
//! them), rather than once per multiply-add as the reference does.
//!
//! Every target takes [`S8Dot::Rows4`] ([`S8_DOT`]): four rows at a time,
//! each input loaded once for the four, by the assembly of
//! src/math/dot_s8_arm.rs on Arm (chosen by [`super::caps::dot4_s8_asm`]:
//! SXTAB16/SMLAD on four-byte words with the DSP extension, `LDRSB`/`MLA`
//! on Armv7-M, `LDRSB`/`MULS` on Armv6-M), by [`dot4`] elsewhere (RISC-V,
//! hosted); the rows left over (`units % 4`) by [`dot1`]. [`S8Dot::Rows1`],
//! [`S8Dot::Rows2`] and [`S8Dot::Dsp2`] (the DSP loop's arithmetic on two
//! rows, with [`super::caps::dsp`]'s instructions, emulated off Arm's DSP
//! cores) are the other forms the tests check against the reference.
//!
//! A group's rows and the input have one length (the callers' chunks);
//! the zipped iterators stop at the shortest, so nothing can panic.

use super::caps::dsp;

/// The dot-product path of [`crate::layers::dense_s8::dense_s8`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S8Dot {
    /// One row at a time, one multiply-add per input (the reference loop's
    /// order, with the offset folded into the input).
    Rows1,
    /// Two rows at a time.
    Rows2,
    /// Four rows at a time.
    Rows4,
    /// Two rows at a time, four inputs per step with SXTAB16 and SMLAD
    /// (emulated bit for bit off Arm's DSP cores): the DSP assembly's
    /// arithmetic, for the tests.
    Dsp2,
}

/// This target's path (see the module's text).
pub const S8_DOT: S8Dot = S8Dot::Rows4;

impl S8Dot {
    /// How many rows one step of the path takes (the rows left over at
    /// the end are done one at a time by [`dot1`]).
    pub const fn rows(self) -> usize {
        match self {
            S8Dot::Rows1 => 1,
            S8Dot::Rows2 | S8Dot::Dsp2 => 2,
            S8Dot::Rows4 => 4,
        }
    }
}

/// `sum_i w[i] * (x[i] + off)`, wrapping.
#[inline(always)]
pub fn dot1(x: &[i8], w: &[i8], off: i32) -> i32 {
    let mut a = 0i32;
    for (&v, &w) in x.iter().zip(w) {
        a = a.wrapping_add(w as i32 * (v as i32 + off));
    }
    a
}

/// [`dot1`] of two rows, each input loaded once for both.
#[inline(always)]
pub fn dot2(x: &[i8], w0: &[i8], w1: &[i8], off: i32) -> [i32; 2] {
    let (mut a0, mut a1) = (0i32, 0i32);
    for ((&v, &w0), &w1) in x.iter().zip(w0).zip(w1) {
        let v = v as i32 + off;
        a0 = a0.wrapping_add(w0 as i32 * v);
        a1 = a1.wrapping_add(w1 as i32 * v);
    }
    [a0, a1]
}

/// [`dot1`] of four rows, each input loaded once for the four.
#[inline(always)]
pub fn dot4(x: &[i8], w: [&[i8]; 4], off: i32) -> [i32; 4] {
    let [w0, w1, w2, w3] = w;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    for ((((&v, &w0), &w1), &w2), &w3) in x.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
        let v = v as i32 + off;
        a0 = a0.wrapping_add(w0 as i32 * v);
        a1 = a1.wrapping_add(w1 as i32 * v);
        a2 = a2.wrapping_add(w2 as i32 * v);
        a3 = a3.wrapping_add(w3 as i32 * v);
    }
    [a0, a1, a2, a3]
}

/// Four int8 values as one little-endian word (one unaligned load where
/// the core has them).
#[inline(always)]
fn word(b: &[i8]) -> u32 {
    match *b {
        [a, b, c, d, ..] => u32::from_le_bytes([a as u8, b as u8, c as u8, d as u8]),
        _ => 0, // (never: the callers' chunks are 4 long)
    }
}

/// [`dot2`] four inputs at a time: the input's four bytes widened with the
/// offset into two 16-bit pairs (`x0 + off, x2 + off` and `x1 + off,
/// x3 + off`: -255..=255, exact), each row's into two pairs, two SMLADs per
/// row; the last `n_in % 4` inputs by [`dot2`].
#[inline(always)]
pub fn dot2_dsp(x: &[i8], w0: &[i8], w1: &[i8], off: i32) -> [i32; 2] {
    let off2 = (off as u32 & 0xffff).wrapping_mul(0x0001_0001);
    let (mut a0, mut a1) = (0i32, 0i32);
    let (xs, w0s, w1s) = (x.chunks_exact(4), w0.chunks_exact(4), w1.chunks_exact(4));
    let (xt, w0t, w1t) = (xs.remainder(), w0s.remainder(), w1s.remainder());
    for ((xq, q0), q1) in xs.zip(w0s).zip(w1s) {
        let xv = word(xq);
        let (xe, xo) = (dsp::sxtab16(off2, xv), dsp::sxtab16_ror8(off2, xv));
        let (v0, v1) = (word(q0), word(q1));
        a0 = dsp::smlad(dsp::sxtb16(v0), xe, a0);
        a0 = dsp::smlad(dsp::sxtb16_ror8(v0), xo, a0);
        a1 = dsp::smlad(dsp::sxtb16(v1), xe, a1);
        a1 = dsp::smlad(dsp::sxtb16_ror8(v1), xo, a1);
    }
    let [t0, t1] = dot2(xt, w0t, w1t, off);
    [a0.wrapping_add(t0), a1.wrapping_add(t1)]
}
