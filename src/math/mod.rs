//! The numeric building blocks the kernels share, and the one place that
//! reads what the target can do.
//!
//! build.rs derives the capability cfgs from the target once (`anne_fpu`,
//! `anne_soft_float`, `anne_hw_div`, `anne_mul64`, `anne_dsp`); this module
//! alone reads them, and picks from them:
//! - [`expf`]: the integer [`exp::exp`] without an FPU, else `libm::expf`;
//! - [`ln`]: the integer [`ln::ln`] without an FPU, else `libm::logf`;
//! - [`fdiv`]: the integer [`softf32::div`] where there is an integer
//!   divide and no FPU, else the operator;
//! - [`DENSE_PATH`]: the dense kernel (wide without an FPU, blocked with
//!   one, reference on hosted targets);
//! - [`mul_wide`] and [`recip_estimate`], the 64-bit multiply and the first
//!   reciprocal estimate inside the integer exp and ln.
//!
//! No other file names a capability or an architecture (the panic trap in
//! lib.rs aside).

pub mod exp;
pub mod ln;
pub mod matvec;
pub mod softf32;
pub mod wide;

/// Bare metal without hardware float (`anne_soft_float`): the integer
/// paths (exp, sigmoid, ln, the wide dense kernel) replace the soft-float
/// library's.
pub const SOFT_FLOAT: bool = cfg!(anne_soft_float);

/// A 32 x 32 -> 64-bit multiply instruction (`anne_mul64`).
pub const MUL64: bool = cfg!(anne_mul64);

/// `exp` for the activations and losses: on bare-metal targets without an
/// FPU the integer [`exp::exp`], elsewhere `libm::expf`.
#[cfg(anne_soft_float)]
pub use exp::exp as expf;
#[cfg(not(anne_soft_float))]
pub use libm::expf;

/// `ln` for the losses: on bare-metal targets without an FPU the integer
/// [`ln::ln`], elsewhere `libm::logf`.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    #[cfg(anne_soft_float)]
    return ln::ln(x);
    #[allow(unreachable_code)]
    libm::logf(x)
}

/// `a / b` in float32: [`softf32::div`] on cores with an integer divide and
/// no FPU (Armv7-M, RISC-V imc: `anne_hw_div`, `anne_soft_float`),
/// elsewhere the operator (the same bits).
#[inline(always)]
pub fn fdiv(a: f32, b: f32) -> f32 {
    #[cfg(all(anne_soft_float, anne_hw_div))]
    return softf32::div(a, b);
    #[allow(unreachable_code)]
    {
        a / b
    }
}

/// The 64-bit product of two u32 (one UMULL on Cortex-M3).
#[cfg(anne_mul64)]
#[inline(always)]
pub(crate) fn mul_wide(a: u32, b: u32) -> u64 {
    a as u64 * b as u64
}

/// The 64-bit product of two u32. Armv6-M (Cortex-M0) has only a 32-bit
/// MULS; four 16x16 products inline beat a call to `__aeabi_lmul`.
#[cfg(not(anne_mul64))]
pub(crate) use exp::mul_wide_split as mul_wide;

/// The first estimate of a reciprocal in the integer exp: by the hardware
/// divide where there is one, else by Newton's method.
#[cfg(anne_hw_div)]
pub(crate) use exp::recip_estimate_div as recip_estimate;
#[cfg(not(anne_hw_div))]
pub(crate) use exp::recip_estimate_newton as recip_estimate;

/// Which kernel computes a dense layer's sums (see src/layers/dense.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DensePath {
    /// Exact 64-bit integer sums ([`wide::WideDot`]), rounded once: cores
    /// without an FPU.
    Wide,
    /// The reference sums, eight columns at a time: cores with an FPU.
    Blocked,
    /// The plain float32 loop: hosted targets.
    Reference,
}

/// The dense kernel of this target.
pub const DENSE_PATH: DensePath = if cfg!(anne_soft_float) {
    DensePath::Wide
} else if cfg!(anne_fpu) {
    DensePath::Blocked
} else {
    DensePath::Reference
};
