#!/usr/bin/env bash
# Builds anne's Rust kernels as a static library for a MicroPython port: the
# one build script of both c_glue/micropython.mk (make ports) and
# c_glue/micropython.cmake (rp2, esp32).
#
#   c_glue/build-rust.sh OUT.a TARGET_DIR CPU FLOAT_ABI CC [CC flags...]
#
#   OUT.a       the archive to write; replaced only when its content changed
#               (so an unchanged library does not relink the firmware)
#   TARGET_DIR  cargo's target directory (ANNE_CARGO_TARGET_DIR overrides it)
#   CPU         the port's CPU: a -mcpu value (cortex-m0plus, cortex-m4, ...),
#               rp2040, rp2350-arm-s, rp2350-riscv, esp32, esp32s3, esp32c3, ...,
#               a RISC-V -march value (rv32imac_zicsr, rv32imc, ...: RISC-V
#               ports give no -mcpu), or "host" (the unix port: no cross
#               compilation)
#   FLOAT_ABI   hard, soft or softfp (Arm: hard picks the eabihf targets)
#   CC ...      the port's C compiler and flags (its libgcc and libc are read)
#
# Environment: ANNE_CARGO_TARGET_DIR (one cargo target directory for every
# build: the build scripts' host dependencies, bindgen above all, and each
# target's core are then compiled once, not once per firmware; the archive
# is copied out at once, so builds must not run side by side; the repo's
# Makefile sets it), ANNE_RUST_TARGET (a Rust target triple: overrides the choice
# from CPU), ANNE_CARGO (default cargo; may hold arguments, e.g. "env
# RUSTC=... cargo"), ANNE_CARGO_FLAGS (e.g. -Zbuild-std=core),
# ANNE_SANITIZE (e.g. address: the kernels are built -Zsanitizer=address, for
# a firmware linked with the same sanitizer, whose runtime serves them: the
# repo's unix-asan build; a nightly feature, so a stable rustc needs
# RUSTC_BOOTSTRAP=1. Only anne's own crate is instrumented, not the build
# script, which would need Rust's own sanitizer runtime.)
#
# Cross targets: the archive's .ARM.exidx/.ARM.extab sections are removed
# (MicroPython's linker scripts do not place them), and every symbol the
# toolchain's libgcc or libc defines is made local to the archive: its
# compiler_builtins member also defines memmove, __aeabi_fadd, __clzsi2, ...,
# which would otherwise serve the whole firmware (on rp2 from flash, where the
# port keeps those routines in RAM).
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,27p' "$0" >&2; exit 2; }
out=$1 target_dir=${ANNE_CARGO_TARGET_DIR:-$2} cpu=$3 float_abi=$4
shift 4
cc=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)

# RISC-V: the -march and -mabi among the CC flags, if any.
march= mabi=
for f in "${cc[@]:1}"; do
    case $f in -march=*) march=${f#-march=} ;; -mabi=*) mabi=${f#-mabi=} ;; esac
done

# The Rust target for a RISC-V -march (rv32imac_zicsr_zifencei, rv32imc,
# rv32gc, ...) and -mabi: its base ISA's letters (before the first "_"),
# matched to the bare-metal triples upstream Rust has. A single-precision
# FPU (F) is used only with a float ABI that passes floats in its registers
# (ilp32f/ilp32d: riscv32imafc); with ilp32 the soft-float triple is taken.
rv_triple() {
    local base=${1%%_*} letters
    letters=${base#rv32}
    [ "$letters" != "$base" ] || return 1
    letters=${letters/g/imafd}
    has() { [[ $letters == *$1* ]]; }
    if has m && has a && has c && has f && [[ ${2:-ilp32} == ilp32[fd] ]]; then echo riscv32imafc-unknown-none-elf
    elif has m && has a && has c; then echo riscv32imac-unknown-none-elf
    elif has m && has c; then echo riscv32imc-unknown-none-elf
    elif has m; then echo riscv32im-unknown-none-elf
    else echo riscv32i-unknown-none-elf
    fi
}

triple=${ANNE_RUST_TARGET:-}
if [ -z "$triple" ]; then
    hard=$([ "$float_abi" = hard ] && echo hf || true)
    case $cpu in
        host) triple=host ;;
        cortex-m0|cortex-m0plus|cortex-m0.small-multiply|cortex-m0plus.small-multiply|cortex-m1|rp2040)
            triple=thumbv6m-none-eabi ;;
        cortex-m3) triple=thumbv7m-none-eabi ;;
        cortex-m4|cortex-m7) triple=thumbv7em-none-eabi$hard ;;
        cortex-m33|cortex-m55) triple=thumbv8m.main-none-eabi$hard ;;
        # (the pico-sdk builds the RP2350's Arm code -mfloat-abi=softfp: floats
        # pass in core registers, so the Rust code must not take them in FPU ones)
        rp2350-arm-s|rp2350) triple=thumbv8m.main-none-eabi$hard ;;
        rp2350-riscv) triple=riscv32imac-unknown-none-elf ;;
        esp32c3|esp32c2) triple=riscv32imc-unknown-none-elf ;;
        esp32c6|esp32h2|esp32p4) triple=riscv32imac-unknown-none-elf ;;
        rv32*)
            triple=$(rv_triple "$cpu" "$mabi") || { echo "anne: cannot read the RISC-V -march '$cpu'" >&2; exit 1; } ;;
        esp32|esp32s2|esp32s3)
            echo "anne: $cpu is an Xtensa CPU: upstream Rust has no Xtensa target. Install Espressif's" \
                 "Rust fork (espup) and set ANNE_RUST_TARGET=xtensa-$cpu-none-elf" >&2
            exit 1 ;;
        *)
            echo "anne: cannot tell the Rust target for CPU '$cpu'. Known CPUs: cortex-m0, cortex-m0plus," \
                 "cortex-m1, rp2040, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55, rp2350-arm-s," \
                 "rp2350-riscv, esp32c2, esp32c3, esp32c6, esp32h2, esp32p4, a RISC-V -march (rv32imac, ...)" \
                 "(esp32, esp32s2, esp32s3 need Espressif's Rust). Or set ANNE_RUST_TARGET to a Rust target triple." >&2
            exit 1 ;;
    esac
fi

read -r -a cargo <<< "${ANNE_CARGO:-cargo}"
read -r -a cargo_flags <<< "${ANNE_CARGO_FLAGS:-}"
rustc_flags=()
if [ -n "${ANNE_SANITIZE:-}" ]; then
    # (frame pointers and line tables: the sanitizer's reports show the kernel's lines)
    rustc_flags=(-- "-Zsanitizer=$ANNE_SANITIZE" -Cforce-frame-pointers=yes -Cdebuginfo=line-tables-only)
fi
target_args=()
built=$target_dir/release/libanne.a
if [ "$triple" != host ]; then
    target_args=(--target "$triple")
    built=$target_dir/$triple/release/libanne.a
fi
echo "CARGO anne ($triple${ANNE_SANITIZE:+, -Zsanitizer=$ANNE_SANITIZE})"
# `cargo rustc --crate-type staticlib`: with LTO, building the staticlib and
# the rlib together leaves the archive without the anne_* symbols.
(cd "$root" && CARGO_TARGET_DIR=$target_dir "${cargo[@]}" rustc --quiet --release --lib \
    --crate-type staticlib "${target_args[@]}" "${cargo_flags[@]}" "${rustc_flags[@]}")

mkdir -p "$(dirname "$out")"
tmp=$out.tmp
cp "$built" "$tmp"
if [ "$triple" != host ]; then
    # The toolchain's objcopy/readelf: the C compiler's name with its suffix swapped.
    prefix=${cc[0]%gcc}
    prefix=${prefix%cc}
    syms=$out.runtime-symbols.txt
    defined() {
        "${prefix}readelf" -sW "$@" 2>/dev/null \
            | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 != "" {print $8}'
    }
    # The libgcc and libc the firmware links. RISC-V: asked with the base
    # -march and the -mabi only, the multilib's own names (rv32imac/ilp32):
    # GCC matches no multilib to rv32imac_zicsr and answers with its default
    # (rv64imafdc/lp64d) libgcc, which lacks 44 of the routines
    # compiler_builtins shares with the rv32 one (every __*sf3, __*df3,
    # __*di3), and those would then serve the whole firmware from the archive.
    ask=("${cc[@]}")
    if [[ $triple == riscv32* ]]; then
        rv_march=${march%%_*}
        rv_march=${rv_march:-${triple%%-*}}
        rv_march=${rv_march/riscv32/rv32}
        rv_mabi=${mabi:-$([[ $triple == riscv32imafc* ]] && echo ilp32f || echo ilp32)}
        ask=("${cc[0]}" "-march=$rv_march" "-mabi=$rv_mabi")
    fi
    libc=$("${ask[@]}" -print-file-name=libc.a)
    {
        defined "$("${ask[@]}" -print-libgcc-file-name)"
        # libc's C names (memmove, memcpy, ...: every port has those), not its
        # __aeabi_mem* helpers, which ports without newlib take from the archive.
        # (a toolchain without a libc, as Debian's RISC-V GCC without picolibc, has none to read)
        if [ -f "$libc" ]; then defined "$libc" | grep -v '^__aeabi_'; fi
    } | grep -v '^anne_' | sort -u > "$syms"
    "${prefix}objcopy" --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*' \
        --localize-symbols="$syms" "$tmp"
fi
if cmp -s "$tmp" "$out"; then rm "$tmp"; else mv "$tmp" "$out"; fi
