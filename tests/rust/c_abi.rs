//! Calls the C program `tests/rust/abi_test.c`, which exercises every kernel
//! through `c_glue/anne.h` (compiled by build.rs for the host test build only).

#[link(name = "anne_abi_test", kind = "static")]
extern "C" {
    fn anne_c_abi_selftest() -> i32;
}

#[test]
fn c_program_calls_every_kernel_through_the_header() {
    // Keep the Rust library (which defines the anne_* symbols) linked in.
    let _ = anne::ffi::anne_argmax_f32 as unsafe extern "C" fn(_, _, _) -> _;
    // SAFETY: a self-contained C function with no arguments.
    let failed = unsafe { anne_c_abi_selftest() };
    assert_eq!(failed, 0, "check {failed} in tests/rust/abi_test.c failed");
}
