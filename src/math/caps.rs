//! What the target can do: the one file that reads the capability cfgs
//! build.rs derives from the target (`anne_fpu`, `anne_soft_float`,
//! `anne_hw_div`, `anne_mul64`, `anne_dsp`), as constants. src/math/mod.rs
//! picks exp, ln, division and the dense path from them, src/math/dot_s8.rs
//! the int8 dot product; nothing else names a capability or an
//! architecture (the panic trap in lib.rs aside). The int8 kernels'
//! instructions that need one are here too ([`dsp`], and the Arm
//! assembly of src/math/dot_s8_arm.rs, declared here).

/// Bare metal without hardware float (`anne_soft_float`): the integer
/// paths (exp, sigmoid, ln, the wide dense kernel) replace the soft-float
/// library's.
pub const SOFT_FLOAT: bool = cfg!(anne_soft_float);

/// Bare metal with a single-precision FPU (`anne_fpu`).
pub const FPU: bool = cfg!(anne_fpu);

/// A 32-bit integer divide instruction (`anne_hw_div`).
pub const HW_DIV: bool = cfg!(anne_hw_div);

/// A 32 x 32 -> 64-bit multiply instruction (`anne_mul64`).
pub const MUL64: bool = cfg!(anne_mul64);

/// Arm's DSP extension, SMLAD (`anne_dsp`): for int8 kernels.
pub const DSP: bool = cfg!(anne_dsp);

/// The four-row int8 dot product in assembly where there is one
/// ([`dot_s8_arm`]: with the DSP extension, SXTAB16/SMLAD; Thumb-2 without
/// it, i.e. Armv7-M and Armv8-M Main; Thumb-1, Armv6-M), else `None` (the
/// portable path): four rows of `x.len()` values one after the other in
/// `block`.
#[inline(always)]
pub fn dot4_s8_asm(x: &[i8], block: &[i8], off: i32) -> Option<[i32; 4]> {
    dot4_s8_asm_strided(x, block, x.len(), off)
}

/// [`dot4_s8_asm`] of four rows `stride` apart in `block` (row `r` is
/// `block[r * stride..r * stride + x.len()]`: the same run of four
/// convolution filters).
#[inline(always)]
pub fn dot4_s8_asm_strided(x: &[i8], block: &[i8], stride: usize, off: i32) -> Option<[i32; 4]> {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        dot_s8_arm::dot4_dsp(x, block, stride, off)
    }
    #[cfg(all(target_arch = "arm", target_feature = "thumb2", not(target_feature = "dsp")))]
    {
        dot_s8_arm::dot4_thumb2(x, block, stride, off)
    }
    #[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
    {
        dot_s8_arm::dot4_thumb1(x, block, stride, off)
    }
    #[cfg(not(target_arch = "arm"))]
    {
        let _ = (x, block, stride, off);
        None
    }
}

/// Whether [`TapAddrs::sum4`] has an assembly (Thumb-2, with or without
/// the DSP extension) and so returns the sums.
pub const TAP_SUM4: bool = cfg!(all(target_arch = "arm", target_feature = "thumb2"));

/// A depthwise output position's tap rows for four channels' sums in
/// registers: the Thumb-2 assembly's ([`dot_s8_arm::TapAddrs`]) where
/// there is one, else [`NoTapAddrs`] (its `sum4` always `None`: the
/// caller's portable loop).
#[cfg(all(target_arch = "arm", target_feature = "thumb2"))]
pub use dot_s8_arm::TapAddrs;
#[cfg(not(all(target_arch = "arm", target_feature = "thumb2")))]
pub use NoTapAddrs as TapAddrs;

/// [`TapAddrs`] where there is no assembly: holds nothing.
pub struct NoTapAddrs<'a>(core::marker::PhantomData<&'a [i8]>);

impl<'a> NoTapAddrs<'a> {
    /// Nothing.
    #[inline(always)]
    pub fn new() -> Self {
        NoTapAddrs(core::marker::PhantomData)
    }
    /// Nothing.
    #[inline(always)]
    pub fn clear(&mut self, _len: usize) {}
    /// Takes nothing (`true`: not full).
    #[inline(always)]
    pub fn push_at(&mut self, _x: &'a [i8], _xi: usize, _w: &'a [i8], _wi: usize) -> bool {
        true
    }
    /// Nothing.
    #[inline(always)]
    pub fn shift_x(&mut self, _d: usize) {}
    /// Always `None`.
    #[inline(always)]
    pub fn sum4(&self, _c: usize, _off: i32) -> Option<[i32; 4]> {
        None
    }
}

/// [`dot4_s8_asm_strided`] over every group of four rows of `block` at
/// once, `acc.len() / 4` groups (`acc[4 * g + r]` gains row `4 * g + r`'s
/// sum), where the assembly has such a loop (Thumb-2 without the DSP
/// extension); `false`, nothing added, elsewhere or unless `block` holds
/// every row (then the caller's loop, group by group).
#[inline(always)]
pub fn dot4_s8_asm_groups(x: &[i8], block: &[i8], stride: usize, off: i32, acc: &mut [i32]) -> bool {
    #[cfg(all(target_arch = "arm", target_feature = "thumb2", not(target_feature = "dsp")))]
    {
        dot_s8_arm::dot4_groups_thumb2(x, block, stride, off, acc)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "thumb2", not(target_feature = "dsp"))))]
    {
        let _ = (x, block, stride, off, acc);
        false
    }
}

/// The most channels one call of [`pair4`] takes (so that a packed sum's
/// low field, at most `255 * 128 * 128 < 2^22` in magnitude, fits its 23
/// bits): longer rows take more calls.
pub const PAIR_MAX_N: usize = 255;

/// Whether [`pair4`] is the fast way here: Thumb-2's assembly, or the
/// portable loop off Arm (the host, RISC-V); not on Armv6-M, whose few
/// registers keep the four-filter dot kernel the faster (`pair4` is
/// `None` there).
pub const PAIR4: bool = cfg!(any(target_feature = "thumb2", not(target_arch = "arm")));

/// A 1x1 convolution's tile of two positions by four filters, without the
/// input offset: `[[sum_{i < n} ws[f * s + i] * xs[p * s + i] for f in
/// 0..4] for p in 0..2]` (wrapping), the two positions' inputs `s` apart
/// (the filters' length: a stride-1 row). Thumb-2: the assembly's packed
/// sums ([`dot_s8_arm::pair4_packed`], taken apart by [`unpack_pair`]);
/// off Arm the same packed arithmetic in Rust in the host's tests (the
/// `std` feature), the plain sums elsewhere; `None` on Armv6-M, for `n`
/// outside `1..=PAIR_MAX_N`, or unless `xs` holds `s + n` values and `ws`
/// `3 * s + n`.
#[inline(always)]
pub fn pair4(xs: &[i8], ws: &[i8], s: usize, n: usize) -> Option<[[i32; 4]; 2]> {
    #[cfg(all(target_arch = "arm", target_feature = "thumb2"))]
    {
        dot_s8_arm::pair4_packed(xs, ws, s, n).map(unpack4)
    }
    #[cfg(all(not(target_arch = "arm"), feature = "std"))]
    {
        pair4_packed_portable(xs, ws, s, n).map(unpack4)
    }
    #[cfg(all(not(target_arch = "arm"), not(feature = "std")))]
    {
        pair4_plain(xs, ws, s, n)
    }
    #[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
    {
        let _ = (xs, ws, s, n);
        None
    }
}

/// [`pair4`] over rows of any length `n` (the two positions' inputs and
/// the four filters `n` apart): [`PAIR_MAX_N`] values per call, the
/// calls' sums added (wrapping); `None` where [`pair4`] gives none.
#[inline(always)]
pub fn pair4_rows(xs: &[i8], ws: &[i8], n: usize) -> Option<[[i32; 4]; 2]> {
    let first = n.min(PAIR_MAX_N);
    let mut acc = pair4(xs, ws, n, first)?;
    let mut c0 = first; // (more calls only past 255 values)
    while c0 < n {
        let k = (n - c0).min(PAIR_MAX_N);
        let s = pair4(xs.get(c0..)?, ws.get(c0..)?, n, k)?;
        for (a4, s4) in acc.iter_mut().zip(s) {
            for (a, s) in a4.iter_mut().zip(s4) {
                *a = a.wrapping_add(s);
            }
        }
        c0 += k;
    }
    Some(acc)
}

/// [`pair4`]'s checks: `n` in `1..=PAIR_MAX_N`, `xs` holds `s + n`
/// values and `ws` `3 * s + n`.
#[inline(always)]
fn pair4_fits(xs: &[i8], ws: &[i8], s: usize, n: usize) -> bool {
    let fits_x = s.checked_add(n).is_some_and(|e| e <= xs.len());
    let fits_w = s.checked_mul(3).and_then(|t| t.checked_add(n)).is_some_and(|e| e <= ws.len());
    n != 0 && n <= PAIR_MAX_N && fits_x && fits_w
}

/// The assembly's arithmetic in Rust: per channel `X = x0 + x1 * 2^23`,
/// each filter's sum `+= w * X` in 64 bits (exact).
#[allow(dead_code)]
pub fn pair4_packed_portable(xs: &[i8], ws: &[i8], s: usize, n: usize) -> Option<[i64; 4]> {
    if !pair4_fits(xs, ws, s, n) {
        return None;
    }
    let mut acc = [0i64; 4];
    for i in 0..n {
        let x0 = xs.get(i).map_or(0, |&v| v as i32);
        let x1 = xs.get(s + i).map_or(0, |&v| v as i32);
        let packed = x0 + (x1 << 23);
        for (f, a) in acc.iter_mut().enumerate() {
            let w = ws.get(f * s + i).map_or(0, |&v| v as i64);
            *a += w * packed as i64;
        }
    }
    Some(acc)
}

/// [`pair4`]'s plain sums (no packing).
#[allow(dead_code)]
fn pair4_plain(xs: &[i8], ws: &[i8], s: usize, n: usize) -> Option<[[i32; 4]; 2]> {
    if !pair4_fits(xs, ws, s, n) {
        return None;
    }
    let (x0, x1) = (xs.get(..n)?, xs.get(s..s + n)?);
    let mut acc = [[0i32; 4]; 2];
    for f in 0..4 {
        let w = ws.get(f * s..f * s + n)?;
        for ((&w, &a), &b) in w.iter().zip(x0).zip(x1) {
            acc[0][f] = acc[0][f].wrapping_add(w as i32 * a as i32);
            acc[1][f] = acc[1][f].wrapping_add(w as i32 * b as i32);
        }
    }
    Some(acc)
}

/// A packed sum `S0 + S1 * 2^23` (`|S0| < 2^22`) taken apart: `(S0, S1)`
/// (`S0` the low 23 bits sign-extended, `S1 = (S - S0) / 2^23` exactly).
#[inline(always)]
pub fn unpack_pair(v: i64) -> (i32, i32) {
    let s0 = ((v as i32) << 9) >> 9;
    let s1 = (v.wrapping_sub(s0 as i64) >> 23) as i32;
    (s0, s1)
}

/// Whether [`sat8`] is one instruction here (Thumb-2's SSAT): the
/// kernels take it for the whole int8 range only then.
pub const SAT8: bool = cfg!(all(target_arch = "arm", target_feature = "thumb2"));

/// `v` clamped to -128..=127 (SSAT on Thumb-2: one instruction).
#[inline(always)]
#[allow(unsafe_code)]
pub fn sat8(v: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "thumb2"))]
    {
        let d: i32;
        // SAFETY: a register-only instruction (it may set the Q flag,
        // which nothing reads).
        unsafe {
            core::arch::asm!("ssat {d}, #8, {v}", d = lateout(reg) d, v = in(reg) v,
                             options(pure, nomem, nostack))
        };
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "thumb2")))]
    {
        v.clamp(-128, 127)
    }
}

/// Four packed sums taken apart: position 0's four, then position 1's.
#[allow(dead_code)]
#[inline(always)]
fn unpack4(v: [i64; 4]) -> [[i32; 4]; 2] {
    let [a, b, c, d] = v.map(unpack_pair);
    [[a.0, b.0, c.0, d.0], [a.1, b.1, c.1, d.1]]
}

#[cfg(target_arch = "arm")]
#[path = "dot_s8_arm.rs"]
#[allow(unsafe_code)]
pub mod dot_s8_arm;

/// The DSP extension's instructions of [`crate::math::dot_s8`]'s two-row
/// model of the DSP loop (`S8Dot::Dsp2`; the targets run the four-row
/// assembly of src/math/dot_s8_arm.rs): Arm's SXTB16, SXTAB16 and SMLAD as
/// inline assembly where the core has them ([`DSP`]), elsewhere the same
/// operations in plain Rust, bit for bit (so that the host tests run the
/// DSP loop's arithmetic too). (With the FFI edge and lib.rs's panic trap,
/// and src/math/dot_s8_arm.rs, the places of `unsafe`: instructions on
/// registers, or loads the safe wrappers bound.)
#[allow(unsafe_code)]
pub mod dsp {
    /// `lo(x) | hi(x) << 16` of a word's two halves as i16s, back to a word.
    #[inline(always)]
    #[cfg(not(anne_dsp))]
    fn pack(lo: i32, hi: i32) -> u32 {
        (lo as u32 & 0xffff) | (hi as u32) << 16
    }

    /// SXTB16: bytes 0 and 2 of `x`, sign-extended into two halfwords.
    #[inline(always)]
    pub fn sxtb16(x: u32) -> u32 {
        #[cfg(anne_dsp)]
        {
            let d: u32;
            // SAFETY: a register-only instruction of the DSP extension.
            unsafe {
                core::arch::asm!("sxtb16 {d}, {x}", d = lateout(reg) d, x = in(reg) x,
                                 options(pure, nomem, nostack, preserves_flags))
            };
            d
        }
        #[cfg(not(anne_dsp))]
        {
            pack(x as i8 as i32, (x >> 16) as i8 as i32)
        }
    }

    /// SXTB16 with ROR #8: bytes 1 and 3 of `x`, sign-extended.
    #[inline(always)]
    pub fn sxtb16_ror8(x: u32) -> u32 {
        #[cfg(anne_dsp)]
        {
            let d: u32;
            // SAFETY: as sxtb16.
            unsafe {
                core::arch::asm!("sxtb16 {d}, {x}, ror #8", d = lateout(reg) d, x = in(reg) x,
                                 options(pure, nomem, nostack, preserves_flags))
            };
            d
        }
        #[cfg(not(anne_dsp))]
        {
            sxtb16(x >> 8)
        }
    }

    /// SXTAB16: `a`'s two halfwords plus bytes 0 and 2 of `x` sign-extended
    /// (each halfword wrapping).
    #[inline(always)]
    pub fn sxtab16(a: u32, x: u32) -> u32 {
        #[cfg(anne_dsp)]
        {
            let d: u32;
            // SAFETY: as sxtb16.
            unsafe {
                core::arch::asm!("sxtab16 {d}, {a}, {x}", d = lateout(reg) d, a = in(reg) a, x = in(reg) x,
                                 options(pure, nomem, nostack, preserves_flags))
            };
            d
        }
        #[cfg(not(anne_dsp))]
        {
            let e = sxtb16(x);
            pack(
                (a as i16 as i32).wrapping_add(e as i16 as i32),
                ((a >> 16) as i16 as i32).wrapping_add((e >> 16) as i16 as i32),
            )
        }
    }

    /// SXTAB16 with ROR #8: `a`'s halfwords plus bytes 1 and 3 of `x`.
    #[inline(always)]
    pub fn sxtab16_ror8(a: u32, x: u32) -> u32 {
        #[cfg(anne_dsp)]
        {
            let d: u32;
            // SAFETY: as sxtb16.
            unsafe {
                core::arch::asm!("sxtab16 {d}, {a}, {x}, ror #8", d = lateout(reg) d, a = in(reg) a,
                                 x = in(reg) x, options(pure, nomem, nostack, preserves_flags))
            };
            d
        }
        #[cfg(not(anne_dsp))]
        {
            sxtab16(a, x >> 8)
        }
    }

    /// SMLAD: `acc` plus the products of `a`'s and `b`'s low halfwords and
    /// of their high ones (signed), wrapping (SMLAD only sets the sticky Q
    /// flag on overflow, which nothing reads).
    #[inline(always)]
    pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        #[cfg(anne_dsp)]
        {
            let d: i32;
            // SAFETY: as sxtb16 (the Q flag it may set is read by nothing).
            unsafe {
                core::arch::asm!("smlad {d}, {a}, {b}, {c}", d = lateout(reg) d, a = in(reg) a,
                                 b = in(reg) b, c = in(reg) acc, options(pure, nomem, nostack))
            };
            d
        }
        #[cfg(not(anne_dsp))]
        {
            let lo = (a as i16 as i32) * (b as i16 as i32);
            let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
            acc.wrapping_add(lo).wrapping_add(hi)
        }
    }
}
