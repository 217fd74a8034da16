//! The numeric building blocks the kernels share, and the choice among
//! them by what the target can do ([`caps`], the one reader of build.rs's
//! capability cfgs). This file picks:
//! - [`expf`]: the integer [`exp::exp`] without an FPU, else `libm::expf`;
//! - [`ln_f32`]: the integer [`ln::ln`] without an FPU, else `libm::logf`;
//! - [`fdiv`]: the integer [`softf32::div`] where there is an integer
//!   divide and no FPU, else the operator;
//! - [`DENSE_PATH`]: the dense kernel (wide without an FPU, blocked with
//!   one, reference on hosted targets).
//!
//! (Inside the integer exp and ln, [`exp::mul_wide`] and the first
//! reciprocal estimate follow [`caps::MUL64`] and [`caps::HW_DIV`].) No other
//! file names a capability or an architecture (the panic trap in lib.rs
//! aside).

pub mod caps;
pub mod dot_s8;
pub mod exp;
pub mod ln;
pub mod matvec;
pub mod requant;
pub mod softf32;
pub mod wide;

/// Bare metal without hardware float: the integer paths replace the
/// soft-float library's (see [`caps::SOFT_FLOAT`]).
pub const SOFT_FLOAT: bool = caps::SOFT_FLOAT;

/// `exp` for the activations and losses: on bare-metal targets without an
/// FPU the integer [`exp::exp`], elsewhere `libm::expf`.
#[inline(always)]
pub fn expf(x: f32) -> f32 {
    if caps::SOFT_FLOAT {
        exp::exp(x)
    } else {
        libm::expf(x)
    }
}

/// `ln` for the losses: on bare-metal targets without an FPU the integer
/// [`ln::ln`], elsewhere `libm::logf`.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    if caps::SOFT_FLOAT {
        ln::ln(x)
    } else {
        libm::logf(x)
    }
}

/// `a / b` in float32: [`softf32::div`] on cores with an integer divide and
/// no FPU (Armv7-M, RISC-V imc: `anne_hw_div`, `anne_soft_float`),
/// elsewhere the operator (the same bits).
#[inline(always)]
pub fn fdiv(a: f32, b: f32) -> f32 {
    if caps::SOFT_FLOAT && caps::HW_DIV {
        softf32::div(a, b)
    } else {
        a / b
    }
}

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
pub const DENSE_PATH: DensePath = if caps::SOFT_FLOAT {
    DensePath::Wide
} else if caps::FPU {
    DensePath::Blocked
} else {
    DensePath::Reference
};
