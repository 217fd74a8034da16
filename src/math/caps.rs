//! What the target can do: the one file that reads the capability cfgs
//! build.rs derives from the target (`anne_fpu`, `anne_soft_float`,
//! `anne_hw_div`, `anne_mul64`, `anne_dsp`), as constants. src/math/mod.rs
//! picks exp, ln, division and the dense path from them; nothing else names
//! a capability or an architecture (the panic trap in lib.rs aside).

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
