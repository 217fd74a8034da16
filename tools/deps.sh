#!/usr/bin/env bash
# Installs what `make` needs on a Debian machine, idempotently:
#   - Debian packages: Rust for bare-metal targets (rustc-web, cargo-web,
#     rust-web-src), the Arm cross compiler and newlib, qemu-system-arm, libclang
#     (for bindgen), python3 tooling;
#   - the MicroPython 1.25.0 source (from Debian's source package) unless
#     MICROPY_DIR names an existing checkout.
#   - with `riscv` (not part of all): the RISC-V toolchain for the rv32imc
#     native module.
# Usage: tools/deps.sh [packages|micropython|python|riscv|all]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
MICROPY_VERSION=1.25.0
MICROPY_DEB_VERSION=1.25.0+ds-1
build=${BUILD_DIR:-$here/build}

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the Debian packages given that are not installed yet.
install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deps: installing Debian packages: ${missing[*]}"
        sudo_ apt-get update -qq
        DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

packages() {
    install_missing rustc-web cargo-web rust-web-src gcc-arm-none-eabi libnewlib-arm-none-eabi \
        qemu-system-arm libclang-dev clang binutils-arm-none-eabi xz-utils cmake
}

micropython() {
    if [ -n "${MICROPY_DIR:-}" ] && [ "$MICROPY_DIR" != "$build/micropython" ]; then
        [ -f "$MICROPY_DIR/py/mpconfig.h" ] || { echo "deps: MICROPY_DIR=$MICROPY_DIR is not a MicroPython checkout" >&2; exit 1; }
        return
    fi
    local dest=$build/micropython
    [ -f "$dest/py/mpconfig.h" ] && return
    echo "deps: fetching MicroPython $MICROPY_VERSION source (Debian source package)"
    local work=$build/micropython-src
    rm -rf "$work"; mkdir -p "$work/sources" "$work/lists/partial" "$work/dl"
    # Use the machine's own Debian mirror, as configured, for the trixie sources.
    local uri
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
        uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    fi
    [ -n "$uri" ] || { echo "deps: cannot find a Debian mirror in the apt configuration" >&2; exit 1; }
    cat > "$work/sources/micropython.sources" <<SRC
Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources"
                -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1)
    apt-get "${opts[@]}" update -qq
    (cd "$work/dl" && apt-get "${opts[@]}" source --download-only "micropython=$MICROPY_DEB_VERSION" >/dev/null)
    mkdir -p "$dest.tmp"
    tar -xJf "$work/dl/micropython_${MICROPY_VERSION}+ds.orig.tar.xz" -C "$dest.tmp" --strip-components=1
    rm -rf "$dest"; mv "$dest.tmp" "$dest"; rm -rf "$work"
}

python() {
    # Host-side tools: converter and tests need numpy + h5py; the fixture
    # generator (tools/make_fixtures.py) additionally needs tensorflow, which
    # is *not* installed here.
    # pyserial: MicroPython's run-tests.py talks to the emulated boards with it.
    # pyelftools: MicroPython's mpy_ld.py links the native module with it.
    python3 -c 'import numpy, h5py, pytest, serial, elftools' 2>/dev/null || python3 -m pip install -q numpy h5py pytest pyserial pyelftools
}

riscv() {
    # The RISC-V toolchain for the rv32imc native module (make natmod).
    install_missing gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
}

case $what in
    packages) packages ;;
    riscv) riscv ;;
    micropython) micropython ;;
    python) python ;;
    all) packages; python; micropython ;;
    *) echo "usage: $0 [packages|micropython|python|riscv|all]" >&2; exit 2 ;;
esac
