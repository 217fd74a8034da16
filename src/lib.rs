//! anne: Keras-compatible float32 neural-network kernels for MicroPython.
//!
//! `#![no_std]`, no heap, no panics on any input. The safe Rust API
//! ([`dense_f32`], [`activate_f32`], [`argmax_f32`], [`Activation`]) does the
//! work; [`ffi`] exports it through the C ABI declared in `c_glue/anne.h`, whose
//! constants and types [`abi`] takes from the header with bindgen.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
// `unsafe` lives at the FFI edge (src/ffi/) and in the few instructions
// Rust has no safe form for (src/math/caps.rs: the DSP intrinsics and the
// int8 dot products' assembly), each module allowing it by name.
#![deny(unsafe_code)]

// bindgen output: the header's declarations (unsafe extern blocks), no code.
#[allow(unsafe_code)]
pub mod abi;
pub mod activation;
pub mod argmax;
pub mod layers;
pub mod math;
#[rustfmt::skip]
pub mod ops_table;
#[allow(unsafe_code)]
pub mod ffi;
pub mod status;
pub mod train;

pub use activation::{activate_f32, Activation};
pub use argmax::argmax_f32;
pub use layers::conv1d::conv1d_f32;
pub use layers::dense::dense_f32;
pub use layers::pool1d::pool1d_f32;
pub use status::Status;

/// Bare-metal and the hosted static library (not the `std` test build).
/// The kernels have no panic path: `make test` checks that no firmware
/// holds a `core::panicking` symbol. Should one ever be reached, it traps
/// at once (a HardFault on Cortex-M, SIGILL on the host) rather than hang.
#[cfg(not(any(test, feature = "std")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    trap()
}

#[cfg(not(any(test, feature = "std")))]
#[allow(unsafe_code)] // one trapping instruction; it touches no memory
fn trap() -> ! {
    #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
    unsafe {
        core::arch::asm!("udf #0", options(noreturn, nomem, nostack))
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    unsafe {
        core::arch::asm!("ud2", options(noreturn, nomem, nostack))
    }
    #[cfg(target_arch = "riscv32")]
    unsafe {
        core::arch::asm!("unimp", options(noreturn, nomem, nostack))
    }
    #[allow(unreachable_code)]
    loop {}
}

/// The prebuilt `core` of hosted targets references this symbol even with
/// `panic = "abort"`; MicroPython's unix port fails to link without it.
#[cfg(all(not(any(test, feature = "std")), not(target_os = "none")))]
#[allow(unsafe_code)] // #[no_mangle]: an exported symbol, part of the FFI edge
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
