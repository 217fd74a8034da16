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
