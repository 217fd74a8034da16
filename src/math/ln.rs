//! `ln` on f32 in integer arithmetic, for targets without an FPU.
//!
//! On soft-float Cortex-M `libm::logf` is about a thousand instructions of
//! software floating point (a dozen library calls); the training losses take
//! one per sample. [`ln`] does it with 32x32->64 multiplies and shifts:
//!
//! 1. x = z · 2^k with z in [0.699, 1.398) (the split of musl's logf: the
//!    bits of x less those of 0.699, so that z = 1 is inside an interval,
//!    not at its edge).
//! 2. z's top mantissa bits pick one of 32 intervals, each with `c` near its
//!    centre: 1/c as a 32-bit number (Q2.30) and ln(c) (Q.56) are in a table.
//!    The interval holding 1 has c = 1 exactly.
//! 3. r = z/c - 1 = z·(1/c) - 1 is exact (a 24-bit by 32-bit product) and
//!    |r| < 0.0235, so ln(1 + r) = r · P(r) with P(r) = 1 - r/2 + r^2/3 ...
//!    to r^6 (truncation under 2^-35 relative) in Q.30 by Horner.
//! 4. ln(x) = k·ln 2 + ln(c) + r·P(r) in Q.56 (within 2^-34 absolute; the
//!    result is at least 2^-8 away from z = 1's interval), or for k = 0 in
//!    z = 1's interval, r·P(r) alone, whose relative error is P's; then
//!    rounded once to nearest-even.
//!
//! Specials are those of `logf`: ln(±0) = -inf, ln(+inf) = inf, NaN for
//! NaN and any x < 0, ln(1) = +0. Subnormal inputs are normalized first.
//! The result is within 0.51 ulp of ln(x), the bound tests/rust/fastlog.rs
//! holds it to (over a dense sweep of every binade; all 2^31 positive
//! inputs in its ignored exhaustive test).
//!
//! Plain safe integer code, usable on every target; [`super`] (src/math/mod.rs)
//! picks it for the training losses on cores without an FPU.

/// The bits of 0.69921875, where z's range starts (musl's `OFF`).
const OFF: u32 = 0x3f33_0000;
/// The interval of z that holds 1.0 (its 1/c is 1, its ln(c) 0).
const ONE: usize = 19;
/// ln 2 in Q.56 (rounded).
const LN2: i64 = 0x00b1_7217_f7d1_cf7a;

/// 1/c for each interval of z, in Q2.30 (c near the interval's centre;
/// exactly 1 for the interval holding 1.0).
#[rustfmt::skip]
const INV_C: [u32; 32] = [
    0x5a84_f385, 0x588f_ea19, 0x56b0_15e7, 0x54e4_255c,
    0x532a_e253, 0x5183_2f54, 0x4fec_0531, 0x4e64_70e0,
    0x4ceb_919c, 0x4b80_972e, 0x4a22_c075, 0x48d1_5a0c,
    0x478b_bd15, 0x4651_4e29, 0x4521_7c5e, 0x43fb_c068,
    0x42df_9bd4, 0x41cc_984b, 0x40c2_46f5, 0x4000_0000,
    0x3d98_0fa1, 0x3bcb_ae00, 0x3a19_6b54, 0x387f_1e35,
    0x36fa_d8ab, 0x358a_e062, 0x342d_a81d, 0x32e1_ca19,
    0x31a6_0341, 0x3079_2f1a, 0x2f5a_4435, 0x2e48_5120,
];

/// ln(c) = -ln(INV_C / 2^30) in Q.56, rounded (computed to 50 digits).
#[rustfmt::skip]
const LN_C: [i64; 32] = [
    -24980959498514662, -23405867342803123, -21864469624013856,
    -20355354825777945, -18877198467435349, -17428755786629015,
    -16008855726333615, -14616395028442265, -13250333370783927,
    -11909688245054189, -10593531149222473, -9300983564497891,
    -8031213317016315, -6783431560455113, -5556889688075838,
    -4350876624051226, -3164716603694472, -1997766436924058,
    -849413886252085, 0, 2761161054838565,
    4896357183880017, 6970100226825100, 8985828868221725,
    10946700789489479, 12855622989227153, 14715277119679257,
    16528142404908917, 18296515779576145, 20022528795109429,
    21708163461543322, 23355265988289222,
];

/// (-1)^n / (n + 2) in Q.31, n = 5 down to 0: the coefficients of
/// S(r) = (ln(1 + r) - r) / r^2 = -1/2 + r/3 - r^2/4 + ... to r^5.
const S: [i32; 6] = [
    306_783_378,    // 1/7
    -357_913_941,   // -1/6
    429_496_730,    // 1/5
    -536_870_912,   // -1/4
    715_827_883,    // 1/3
    -1_073_741_824, // -1/2
];

/// `a · b >> 31` for a signed Q.31 `a` and `b` (floor).
#[inline(always)]
fn mul_q31(a: i32, b: i32) -> i32 {
    (wide(a, b) >> 31) as i32
}

/// The exact 64-bit product of two i32. Armv6-M has only a 32-bit MULS:
/// the unsigned 16x16 products of [`super::exp::mul_wide_split`] and
/// the sign, rather than a call to `__aeabi_lmul`.
#[inline(always)]
fn wide(a: i32, b: i32) -> i64 {
    if !super::caps::MUL64 {
        let p = super::exp::mul_wide_split(a.unsigned_abs(), b.unsigned_abs()) as i64;
        if (a ^ b) < 0 {
            -p
        } else {
            p
        }
    } else {
        a as i64 * b as i64
    }
}

/// The exact product of an i32 and a u32.
#[inline(always)]
fn wide_u(a: i32, b: u32) -> i64 {
    let p = if !super::caps::MUL64 {
        super::exp::mul_wide_split(a.unsigned_abs(), b)
    } else {
        a.unsigned_abs() as u64 * b as u64
    } as i64;
    if a < 0 {
        -p
    } else {
        p
    }
}

/// The f32 nearest `v · 2^-scale` (to nearest, ties to even), for
/// `|v| >= 2^24`, with a normal result.
#[inline(always)]
fn round(v: i64, scale: i32) -> f32 {
    let mag = v.unsigned_abs();
    let top = 63 - mag.leading_zeros() as i32; // mag in [2^top, 2^(top+1))
    let s = (top - 23) as u32; // >= 1
    let mant = (mag >> s) as u32; // 24 bits, the implicit one on top
    let rest = mag & ((1u64 << s) - 1);
    let half = 1u64 << (s - 1);
    let up = rest > half || (rest == half && mant & 1 == 1);
    // (mant + up) may carry into the exponent field, as it should.
    let bits = (((top - scale + 126) as u32) << 23) + mant + up as u32;
    f32::from_bits(bits | (v < 0) as u32 * (1 << 31))
}

/// ln(x) for f32, in integer arithmetic (see the module documentation).
pub fn ln(x: f32) -> f32 {
    let mut ix = x.to_bits();
    let mut k0 = 0i32;
    if ix.wrapping_sub(0x0080_0000) >= 0x7f00_0000 {
        // Not a positive normal number.
        if ix << 1 == 0 {
            return f32::NEG_INFINITY;
        }
        if ix == 0x7f80_0000 {
            return x;
        }
        if ix >> 31 != 0 || ix > 0x7f80_0000 {
            return f32::NAN;
        }
        // Subnormal: x · 2^23 is normal.
        let m = ix;
        let shift = m.leading_zeros() - 8; // brings the top bit to bit 23
        ix = ((m << shift) & 0x007f_ffff) | ((24 - shift) << 23);
        k0 = -23;
    }
    let tmp = ix.wrapping_sub(OFF);
    let i = ((tmp >> 18) & 31) as usize;
    let k = (tmp as i32 >> 23) + k0;
    let iz = ix.wrapping_sub(tmp & 0xff80_0000);
    // z · 2^30 (iz's exponent is 126 or 127)
    let z = (((iz & 0x007f_ffff) | 0x0080_0000) as u64) << ((iz >> 23) - 120);
    // r · 2^60, exact; |r| < 0.0235 < 2^-5
    let r60 = (z * INV_C[i] as u64) as i64 - (1i64 << 60);
    let r31 = (r60 >> 29) as i32;
    let mut sr = S[0];
    for &c in &S[1..] {
        sr = c + mul_q31(r31, sr);
    }
    if k == 0 && i == ONE {
        // ln(1 + r) = r · (1 + r·S), with r = u · 2^-36 exact (z has no
        // bits below 2^-24) and 1 + r·S in Q.31 (unsigned: up to 1.012).
        let u = (r60 >> 24) as i32;
        if u == 0 {
            return 0.0;
        }
        let w = (1i64 << 31) + (wide(u, sr) >> 36);
        return round(wide_u(u, w as u32), 67);
    }
    // ln(1 + r) = r + r · (r·S) in Q.56, with u = r · 2^36 and
    // r·S · 2^37 (|r·S| < 2^-6: an i32).
    let u = (r60 >> 24) as i32;
    let rs = (wide(u, sr) >> 30) as i32;
    let r2s = wide(u, rs) >> 17;
    round(k as i64 * LN2 + LN_C[i] + (r60 >> 4) + r2s, 56)
}
