//! Build script for anne.
//!
//! 1. Runs bindgen on `c_glue/anne.h` (the C ABI contract) and writes
//!    `$OUT_DIR/anne_h.rs`, which `src/abi.rs` includes: the Rust side uses the
//!    header's status codes, activation ids and `anne_activation_t` layout.
//!    For bare-metal targets (`*-none-*`) clang parses the header freestanding
//!    for the target triple.
//! 2. On hosted targets only, compiles `tests/rust/abi_test.c` (a C program
//!    that calls every kernel through the header) into `libanne_abi_test.a`.
//!    Nothing links it except the `c_abi` integration test, which names it
//!    with `#[link(name = "anne_abi_test")]`; the library itself never
//!    contains it.

use std::env;
use std::path::PathBuf;

fn main() {
    let header = "c_glue/anne.h";
    let abi_test = "tests/rust/abi_test.c";
    println!("cargo:rerun-if-changed={header}");
    println!("cargo:rerun-if-changed=c_glue/anne_ops.h");
    println!("cargo:rerun-if-changed={abi_test}");
    println!("cargo:rerun-if-changed=build.rs");

    let target = env::var("TARGET").expect("cargo sets TARGET");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bare_metal = env::var("CARGO_CFG_TARGET_OS")
        .map(|os| os == "none")
        .unwrap_or(false);

    let mut builder = bindgen::Builder::default()
        .header(header)
        .use_core()
        .ctypes_prefix("cty")
        .allowlist_item("anne_.*|ANNE_.*")
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .prepend_enum_name(false)
        .layout_tests(true)
        .generate_comments(true)
        .clang_arg(format!("--target={}", clang_target(&target)));
    if bare_metal {
        builder = builder.clang_arg("-ffreestanding");
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on {header}: {e}"));
    bindings
        .write_to_file(out_dir.join("anne_h.rs"))
        .expect("write bindgen output");

    if !bare_metal {
        cc::Build::new()
            .file(abi_test)
            .include("c_glue")
            .std("c99")
            .warnings(true)
            .extra_warnings(true)
            .warnings_into_errors(true)
            .cargo_metadata(false)
            .compile("anne_abi_test");
        // Only a search path: the archive is linked by the c_abi test alone.
        println!("cargo:rustc-link-search=native={}", out_dir.display());
    }
}

/// The target triple for clang: Rust's own, except where clang does not
/// know it (`riscv32imc-unknown-none-elf` and the other RISC-V triples that
/// name the extensions: clang takes those from `-march`; the C ABI header's
/// layout is the same).
fn clang_target(target: &str) -> String {
    match target.split_once('-') {
        Some((arch, rest)) if arch.starts_with("riscv32") => format!("riscv32-{rest}"),
        Some((arch, rest)) if arch.starts_with("riscv64") => format!("riscv64-{rest}"),
        _ => target.to_string(),
    }
}
