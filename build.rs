//! Build script for anne.
//!
//! 1. Runs bindgen on `c_glue/anne.h` (the C ABI contract) and writes
//!    `$OUT_DIR/anne_h.rs`, which `src/abi.rs` includes: the Rust side uses the
//!    header's status codes, activation ids and `anne_activation_t` layout.
//!    For bare-metal targets (`*-none-*`) clang parses the header freestanding
//!    for the target triple.
//! 2. For the host test build only (the `std` feature, which `cargo test`
//!    turns on through the crate's dev-dependency on itself), compiles
//!    `tests/rust/abi_test.c` (a C program that calls every kernel through
//!    the header) into `libanne_abi_test.a`. Nothing links it except the
//!    `c_abi` integration test, which names it with
//!    `#[link(name = "anne_abi_test")]`; the firmware and unix-port builds
//!    (no `std`) do not compile it at all.
//! 3. Turns the target into capabilities, the cfgs the kernels pick their
//!    paths by (only `src/math/caps.rs` reads them, and nothing in `src/`
//!    names an architecture but lib.rs's panic trap; see [`capabilities`]).

use std::env;
use std::path::PathBuf;

fn main() {
    let header = "c_glue/anne.h";
    let abi_test = "tests/rust/abi_test.c";
    println!("cargo:rerun-if-changed={header}");
    println!("cargo:rerun-if-changed=c_glue/anne_ops.h");
    println!("cargo:rerun-if-changed={abi_test}");
    println!("cargo:rerun-if-changed=build.rs");

    for cfg in CAPABILITIES {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for cfg in capabilities() {
        println!("cargo:rustc-cfg={cfg}");
    }

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

    // The c_abi test's C program: built for `cargo test` (feature std) only.
    let test_build = env::var_os("CARGO_FEATURE_STD").is_some();
    if test_build && !bare_metal {
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

/// Every capability cfg [`capabilities`] may set.
const CAPABILITIES: [&str; 5] = ["anne_fpu", "anne_soft_float", "anne_hw_div", "anne_mul64", "anne_dsp"];

/// The target's capabilities, from cargo's `CARGO_CFG_TARGET_*`:
/// - `anne_fpu`: bare metal with a single-precision FPU in its float ABI
///   (Arm's `eabihf`; RISC-V's F extension): the blocked dense sums;
/// - `anne_soft_float`: bare metal without one: the exact-integer dense
///   sums, the integer exp, ln and sigmoid;
/// - `anne_hw_div`: a 32-bit integer divide (Armv7-M and Armv8-M Main,
///   i.e. Thumb-2; RISC-V's M; every hosted target);
/// - `anne_mul64`: a 32 x 32 -> 64-bit multiply (UMULL/SMULL; RISC-V M's
///   mulh/mulhu; hosted);
/// - `anne_dsp`: Arm's DSP extension (SMLAD), for int8 kernels.
///
/// Hosted targets (the unix port, the Rust tests) are neither `anne_fpu`
/// nor `anne_soft_float`: they run the reference kernels.
fn capabilities() -> Vec<&'static str> {
    let var = |name: &str| env::var(name).unwrap_or_default();
    let (arch, os, abi) = (
        var("CARGO_CFG_TARGET_ARCH"),
        var("CARGO_CFG_TARGET_OS"),
        var("CARGO_CFG_TARGET_ABI"),
    );
    let features = var("CARGO_CFG_TARGET_FEATURE");
    let has = |f: &str| features.split(',').any(|x| x == f);
    let bare_metal = os == "none";
    let (fpu, div, mul64) = match arch.as_str() {
        "arm" => (abi == "eabihf", has("thumb2"), has("thumb2")),
        "riscv32" | "riscv64" => (has("f"), has("m"), has("m")),
        _ => (!bare_metal, true, true),
    };
    let mut caps = Vec::new();
    if bare_metal {
        caps.push(if fpu { "anne_fpu" } else { "anne_soft_float" });
    }
    if div {
        caps.push("anne_hw_div");
    }
    if mul64 {
        caps.push("anne_mul64");
    }
    if arch == "arm" && has("dsp") {
        caps.push("anne_dsp");
    }
    caps
}
