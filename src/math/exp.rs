//! `exp` on f32 in integer arithmetic, for targets without an FPU.
//!
//! On cores without an FPU (Cortex-M0, M3) `libm::expf` costs several
//! hundred instructions of software floating point. [`exp`] does the same
//! job with a few 32x32->64 multiplies and shifts:
//!
//! 1. x = ±m · 2^(e-23) (24-bit m, |x| in [2^-25, 104)) is scaled by log2(e)
//!    (a 62-bit constant, two 32x32->64 multiplies) into t = x·log2(e) as a
//!    signed fixed-point number with 32 fractional bits; the scale comes
//!    from x's exponent, so the only error is the truncation (< 2^-32).
//! 2. t = n + f with integer n and f in [0, 1) (Q0.32).
//! 3. 2^f = 2^(j/64) · 2^r (j the top 6 bits of f, a 64-entry table) with
//!    2^r - 1 = c1·r + c2·r^2 + c3·r^3 for r in [0, 1/64) (least-squares fit,
//!    Q0.32 coefficients); about 2^-31 error including the truncations.
//! 4. The f32 is assembled from 1 + (2^f - 1) and n, rounded to nearest
//!    (a carry out of the mantissa increments the exponent); results below
//!    2^-126 are rounded to subnormals (gradual underflow).
//!
//! Specials are exact: exp(NaN) = NaN, exp(+inf) = inf, exp(-inf) = 0,
//! x > 88.72283 (the last x with a finite exp) gives inf, x <= -104 gives 0,
//! |x| <= 2^-25 gives 1. The result is within 0.533 ulp of exp(x) (0.507
//! over all 2^32 inputs; sigmoid 0.533), the bound tests/rust/fastexp.rs
//! holds it to.
//!
//! Plain safe integer code, usable on every target; [`super`] (src/math/mod.rs)
//! picks it for the activations and losses on cores without an FPU.

use super::caps;

/// The 64-bit product of two u32: one UMULL where there is a 64-bit
/// multiply (Cortex-M3); Armv6-M (Cortex-M0) has only a 32-bit MULS, and
/// four 16x16 products inline beat a call to `__aeabi_lmul`.
#[inline(always)]
pub fn mul_wide(a: u32, b: u32) -> u64 {
    if caps::MUL64 {
        a as u64 * b as u64
    } else {
        mul_wide_split(a, b)
    }
}

/// The first estimate of a reciprocal: by the hardware divide where there
/// is one, else by Newton's method.
#[inline(always)]
fn recip_estimate(d: u32) -> (u32, u32) {
    if caps::HW_DIV {
        recip_estimate_div(d)
    } else {
        recip_estimate_newton(d)
    }
}

/// log2(e) · 2^62, rounded, split into its high and low 32-bit halves.
const LOG2E_HI: u32 = 0x5c55_1d94;
const LOG2E_LO: u32 = 0xae0b_f85e;

/// 2^(j/64) - 1 in Q0.32 (rounded), j = 0..63.
#[rustfmt::skip]
const EXP2_TABLE: [u32; 64] = [
    0x0000_0000, 0x02c9_a3e7, 0x059b_0d31, 0x0874_5187,
    0x0b55_86d0, 0x0e3e_c32d, 0x1130_1d01, 0x1429_aaeb,
    0x172b_83c8, 0x1a35_beb7, 0x1d48_7317, 0x2063_b886,
    0x2387_a6e7, 0x26b4_565e, 0x29e9_df52, 0x2d28_5a6e,
    0x306f_e0a3, 0x33c0_8b26, 0x371a_7374, 0x3a7d_b34e,
    0x3dea_64c1, 0x4160_a21f, 0x44e0_8606, 0x486a_2b5c,
    0x4bfd_ad53, 0x4f9b_276a, 0x5342_b56a, 0x56f4_736b,
    0x5ab0_7dd5, 0x5e76_f15b, 0x6247_eb04, 0x6623_8825,
    0x6a09_e668, 0x6dfb_23c6, 0x71f7_5e8f, 0x75fe_b564,
    0x7a11_473f, 0x7e2f_336d, 0x8258_9995, 0x868d_99b4,
    0x8ace_5423, 0x8f1a_e991, 0x9373_7b0d, 0x97d8_29fe,
    0x9c49_182a, 0xa0c6_67b6, 0xa550_3b24, 0xa9e6_b558,
    0xae89_f996, 0xb33a_2b85, 0xb7f7_6f30, 0xbcc1_e905,
    0xc199_bdd8, 0xc67f_12e5, 0xcb72_0dcf, 0xd072_d4a0,
    0xd581_8dd0, 0xda9e_603e, 0xdfc9_7338, 0xe502_ee79,
    0xea4a_fa2a, 0xefa1_bee6, 0xf507_65b7, 0xfa7c_181a,
];

/// 2^r - 1 ≈ c1 r + c2 r^2 + c3 r^3 for r in [0, 1/64] (least-squares fit,
/// error < 2^-37), coefficients in Q0.32.
const C1: u32 = 0xb172_1815;
const C2: u32 = 0x3d7f_4f80;
const C3: u32 = 0x0e48_9182;

/// Bits of 88.72283 (0x42b17217): the largest f32 whose exp is finite.
const OVERFLOW_BITS: u32 = 0x42b1_7217;
/// Bits of 104.0: exp(-104) < 2^-150, so x <= -104 gives 0.
const UNDERFLOW_ABS_BITS: u32 = 0x42d0_0000;
/// Bits of 18.0: sigmoid(x) rounds to 1 for x >= 18 (exp(-18) < 2^-25).
const SIGMOID_ONE_BITS: u32 = 0x4190_0000;
/// 48/17 and 32/17 in Q.31: the first Newton estimate of 1/d on [1/2, 1]
/// (Armv6-M, which has no divide instruction).
const NEWTON_A: u64 = 0x1_6969_6969;
const NEWTON_B: u32 = 0xf0f0_f0f1;
/// Bits of 2^-25: exp(x) rounds to 1 for |x| <= 2^-25.
const TINY_ABS_BITS: u32 = 0x3300_0000;

/// `a as u64 * b as u64` from 16x16-bit products (exact).
#[inline(always)]
pub fn mul_wide_split(a: u32, b: u32) -> u64 {
    let (ah, al) = (a >> 16, a & 0xffff);
    let (bh, bl) = (b >> 16, b & 0xffff);
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16) + (lh & 0xffff) + (hl & 0xffff);
    let hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
    let lo = (mid << 16) | (ll & 0xffff);
    ((hi as u64) << 32) | lo as u64
}

/// A first estimate of 1 / d in Q.31 for d in Q.32 (top bit set), and the
/// Newton steps it needs, with a hardware divide: 2^32 / (d >> 16) (about
/// 15 correct bits) and one step. ([`recip_estimate`] picks it.)
#[doc(hidden)]
#[inline(always)]
pub fn recip_estimate_div(d: u32) -> (u32, u32) {
    ((u32::MAX / (d >> 16)) << 15, 1)
}

/// [`recip_estimate_div`] without a divide instruction (Armv6-M): 48/17 -
/// 32/17 · d (about 4 correct bits) and three steps.
#[doc(hidden)]
#[inline(always)]
pub fn recip_estimate_newton(d: u32) -> (u32, u32) {
    ((NEWTON_A - mulhi(NEWTON_B, d) as u64) as u32, 3)
}

/// High 32 bits of a 32x32-bit product.
#[inline(always)]
fn mulhi(a: u32, b: u32) -> u32 {
    (mul_wide(a, b) >> 32) as u32
}

/// For |x| = f32::from_bits(abs) in (2^-25, 128): exp(±|x|) ≈
/// 2^n · mant / 2^32 with mant in [2^32, 2^33] (within about 2^-31.5
/// relative), `negative` choosing the sign of x.
#[inline(always)]
fn exp_parts(abs: u32, negative: bool) -> (i32, u64) {
    // x = ±m · 2^(e - 23), m in [2^23, 2^24), e in [-25, 6].
    let m = (abs & 0x007f_ffff) | 0x0080_0000;
    let e = (abs >> 23) as i32 - 127;
    // p = m · log2(e) · 2^30 (the low product's bits below 2^-32 dropped),
    // so |t| = p · 2^(e - 53); p < 2^55.
    let p = mul_wide(m, LOG2E_HI) + mulhi(m, LOG2E_LO) as u64;
    // |t| in Q.32: shift by 21 - e in [15, 46].
    let t_abs = (p >> (21 - e) as u32) as i64;
    let t = if negative { -t_abs } else { t_abs };
    let n = (t >> 32) as i32; // floor(t)
    let f = t as u32; // t - n, Q0.32

    // 2^f = 2^(j/64) · 2^r with j the top 6 bits of f, r < 1/64 (Q0.32).
    let tj = EXP2_TABLE[(f >> 26) as usize];
    let r = f & 0x03ff_ffff;
    let mut q = C3;
    q = C2 + mulhi(q, r);
    q = C1 + mulhi(q, r);
    let pr = mulhi(q, r); // 2^r - 1, < 2^-6
                          // g = 2^f - 1 = tj + pr + tj · pr in Q0.32 (as u64: may reach 2^32).
    let g = tj as u64 + pr as u64 + mulhi(tj, pr) as u64;
    (n, (1u64 << 32) + g)
}

/// The f32 nearest 2^n · mant / 2^32 for mant in [2^32, 2^33] and
/// n <= 127 (rounding half up; subnormal results for n < -126, 0 below).
#[inline(always)]
fn pack(n: i32, mant: u64) -> f32 {
    let out = if n >= -126 {
        // mant >> 9 carries the implicit bit (and any rounding carry) into
        // the exponent field.
        (((n + 126) as u32) << 23) + ((mant + 256) >> 9) as u32
    } else {
        // Subnormal: value / 2^-149 = mant · 2^(n + 117).
        let s = (-(n + 117)) as u32; // >= 10
        if s >= 40 {
            0
        } else {
            ((mant + (1u64 << (s - 1))) >> s) as u32
        }
    };
    f32::from_bits(out)
}

/// exp(x) for f32, in integer arithmetic (see the module documentation).
pub fn exp(x: f32) -> f32 {
    let bits = x.to_bits();
    let abs = bits & 0x7fff_ffff;
    let negative = bits >> 31 != 0;
    if abs > 0x7f80_0000 {
        return x; // NaN
    }
    if negative {
        if abs >= UNDERFLOW_ABS_BITS {
            return 0.0; // includes -inf
        }
    } else if abs > OVERFLOW_BITS {
        return f32::INFINITY; // includes +inf
    }
    if abs <= TINY_ABS_BITS {
        return 1.0; // includes ±0 and subnormals
    }
    let (n, mant) = exp_parts(abs, negative);
    pack(n, mant)
}

/// sigmoid(x) = 1 / (1 + exp(-x)) for f32, in integer arithmetic: with
/// E = exp(-|x|) from the fixed-point exp, r = 1 / (1 + E) by Newton steps
/// in Q.31 (from a hardware-divide estimate where there is one), and the result r (x >= 0) or E · r (x < 0), rounded once.
/// Gradual underflow for x < -87.3; sigmoid(NaN) = NaN, sigmoid(+inf) = 1,
/// sigmoid(-inf) = 0.
pub fn sigmoid(x: f32) -> f32 {
    let bits = x.to_bits();
    let abs = bits & 0x7fff_ffff;
    let negative = bits >> 31 != 0;
    if abs > 0x7f80_0000 {
        return x; // NaN
    }
    if abs <= TINY_ABS_BITS {
        return 0.5; // includes ±0 and subnormals
    }
    if negative {
        if abs >= UNDERFLOW_ABS_BITS {
            return 0.0; // includes -inf
        }
    } else if abs >= SIGMOID_ONE_BITS {
        return 1.0; // includes +inf
    }
    // E = exp(-|x|) = 2^n · mant / 2^32, n <= -1.
    let (n, mant) = exp_parts(abs, true);
    let shift = (-n) as u32;
    let tail = if shift < 64 { mant >> shift } else { 0 };
    // d = (1 + E) / 2 in Q.32, kept inside (1/2, 1).
    let d = (((1u64 << 32) + tail) >> 1).clamp(0x8000_0001, 0xffff_ffff) as u32;
    // y = 1 / d in Q.31 (y in (1, 2)): a first estimate, then Newton steps
    // (each doubles the correct bits).
    let (mut y, steps) = recip_estimate(d);
    for _ in 0..steps {
        // err = 1 - d · y in Q.31 (small: |err| < 1/17).
        let err = ((1u64 << 63).wrapping_sub(mul_wide(d, y)) as i64 >> 32) as i32;
        // y += y · err (Q.31 · Q.31 >> 31), on magnitudes.
        let step = (mul_wide(y, err.unsigned_abs()) >> 31) as u32;
        y = if err >= 0 { y + step } else { y - step };
    }
    // r = 1 / (1 + E) = y / 2: Q.32 value y, in (1/2, 1).
    if !negative {
        return pack(-1, (y as u64) << 1);
    }
    // sigmoid(x) = E · r = 2^n · (mant / 4) · y / 2^62.
    // mant / 4 <= 2^31 fits a u32.
    let mut p = mul_wide((mant >> 2) as u32, y) >> 30; // mant · r in Q.32
    let mut n = n;
    if p < (1u64 << 32) {
        p <<= 1;
        n -= 1;
    }
    pack(n, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_product_is_exact() {
        let edge = [
            0u32,
            1,
            2,
            0xffff,
            0x1_0000,
            0x8000_0000,
            0xffff_fffe,
            u32::MAX,
        ];
        for &a in &edge {
            for &b in &edge {
                assert_eq!(mul_wide_split(a, b), a as u64 * b as u64);
            }
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let (a, b) = (s as u32, (s >> 32) as u32);
            assert_eq!(mul_wide_split(a, b), a as u64 * b as u64);
        }
    }
}
