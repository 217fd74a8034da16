//! Float32 division in integer arithmetic for Armv7-M cores without an
//! FPU (the M3), on the hardware divide: the same bits as IEEE division
//! (round to nearest, ties to even) in about 60 instructions, where the
//! soft-float library's bit-by-bit loop takes about 160. Adam divides once
//! per weight and step, softmax once per output. (An integer addition,
//! tried the same way, was no faster than the library's: about 60
//! instructions against 52.)
//!
//! Normal operands with a normal quotient take the integer path; zeros,
//! subnormals, infinities, NaN and quotients out of the normal range fall
//! back to `a / b`.

/// `a / b`, correctly rounded.
#[inline]
pub fn div(a: f32, b: f32) -> f32 {
    // (Seen through, bit tests on float arguments become soft-float
    // compares.)
    let (ab, bb) = (core::hint::black_box(a.to_bits()), b.to_bits());
    let (ea, eb) = ((ab >> 23) & 0xff, (bb >> 23) & 0xff);
    if ea.wrapping_sub(1) >= 0xfe || eb.wrapping_sub(1) >= 0xfe {
        return a / b;
    }
    let ma = (ab & 0x7f_ffff) | 0x80_0000;
    let mb = (bb & 0x7f_ffff) | 0x80_0000;
    // num / mb in [1, 2), with the quotient's biased exponent e
    let (num, e) = if ma < mb {
        (ma << 1, ea as i32 - eb as i32 + 126)
    } else {
        (ma, ea as i32 - eb as i32 + 127)
    };
    if !(1..=254).contains(&e) {
        return a / b;
    }
    // q = floor(num * 2^24 / mb), 25 bits, 8 at a time: each remainder is
    // below mb < 2^24, so shifted by 8 it fits 32 bits.
    let mut q = 1u32; // num / mb is 1.something
    let mut r = num - mb;
    for _ in 0..3 {
        let n = r << 8;
        let d = n / mb;
        r = n - d * mb;
        q = q << 8 | d;
    }
    // 24 bits of mantissa, a guard bit, and the remainder as sticky bit:
    // up if above half, or at half with an odd mantissa (ties to even).
    let m = q >> 1;
    let up = q & 1 != 0 && (r != 0 || m & 1 != 0);
    // (A carry out of the mantissa moves the exponent up: 2^24 is the
    // next binade's 1.0, and past 254 is +-inf, as IEEE rounds.)
    let bits = ((e as u32) << 23) + (m - 0x80_0000) + up as u32;
    f32::from_bits((ab ^ bb) & 0x8000_0000 | bits)
}

#[cfg(test)]
mod tests {
    use super::div;

    fn same(a: f32, b: f32) {
        let (got, want) = (div(a, b), a / b);
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{a:e} / {b:e}: {got:e} ({:#x}), not {want:e} ({:#x})",
            got.to_bits(),
            want.to_bits()
        );
    }

    #[test]
    fn random_operands_give_the_ieee_result() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u32
        };
        for _ in 0..2_000_000 {
            // any bits, then exponents near each other (the quotient's
            // rounding, not only its range)
            let (x, y) = (next(), next());
            same(f32::from_bits(x), f32::from_bits(y));
            let y = (y & 0x807f_ffff) | (x & 0x7f80_0000);
            same(f32::from_bits(x), f32::from_bits(y ^ 0x0080_0000));
            same(f32::from_bits(x), f32::from_bits(y));
        }
    }

    #[test]
    fn edges() {
        let m = f32::MAX;
        let tiny = f32::MIN_POSITIVE;
        let vals = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            3.0,
            0.1,
            m,
            -m,
            tiny,
            -tiny,
            tiny / 4.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1.0 - f32::EPSILON / 2.0,
            1.0 + f32::EPSILON,
            2.0f32.powi(127),
            2.0f32.powi(-126) * 1.5,
            1e-7,
            0.999,
        ];
        for &a in &vals {
            for &b in &vals {
                same(a, b);
            }
        }
        // quotients at the ends of the normal range, and ties
        for k in 0..4096u32 {
            let a = f32::from_bits(0x3f80_0000 + k * 2047);
            for b in [m, tiny, 3.0, 1.0 / 3.0, 7.0, 0.5 + f32::EPSILON] {
                same(a, b);
                same(b, a);
                same(a * 2.0f32.powi(100), b * 2.0f32.powi(-20));
                same(a * 2.0f32.powi(-100), b * 2.0f32.powi(20));
            }
        }
    }
}
