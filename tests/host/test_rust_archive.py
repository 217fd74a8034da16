"""The Rust archive as the firmware builds link it (c_glue/build-rust.sh,
through micropython.mk and micropython.cmake): no routine of the
toolchain's libgcc, and no C function of its libc, may be defined globally
by the archive, else it would serve the whole firmware in place of the
toolchain's (on rp2 from flash, where the port keeps them in RAM)."""
import os
import subprocess

import pytest

from conftest import ROOT, need_build

BUILD = os.path.join(ROOT, "build")
CPU_FLAGS = {"cortex-m3": ["-mcpu=cortex-m3", "-mthumb"], "cortex-m0": ["-mcpu=cortex-m0", "-mthumb"]}


def defined_globals(path):
    out = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", path],
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if len(line.split()) == 3}


def runtime_symbols(flags):
    """libgcc's globals and libc's C functions (not its __aeabi_* helpers)."""
    gcc = ["arm-none-eabi-gcc"] + flags
    libgcc = subprocess.run(gcc + ["-print-libgcc-file-name"], capture_output=True, text=True).stdout.strip()
    libc = subprocess.run(gcc + ["-print-file-name=libc.a"], capture_output=True, text=True).stdout.strip()
    return defined_globals(libgcc) | {s for s in defined_globals(libc) if not s.startswith("__aeabi_")}


def check_archive(archive, flags):
    syms = defined_globals(archive)
    assert "anne_forward" in syms and "anne_dense_f32" in syms
    leaked = syms & runtime_symbols(flags)
    assert not leaked, "the archive defines runtime routines globally: %s" % sorted(leaked)[:20]
    sections = subprocess.run(["arm-none-eabi-objdump", "-h", archive], capture_output=True, text=True).stdout
    assert ".ARM.exidx" not in sections


@pytest.mark.parametrize("target", sorted(CPU_FLAGS))
def test_make_archive_keeps_the_toolchains_routines(target):
    archive = os.path.join(BUILD, target, "anne-rust", "libanne.a")
    need_build(os.path.exists(archive), "no %s firmware built" % target)
    check_archive(archive, CPU_FLAGS[target])


def test_cmake_builds_the_same_archive_for_rp2040(tmp_path):
    """micropython.cmake, as rp2 includes it (PICO_PLATFORM=rp2040): the
    archive is built for thumbv6m, stripped and localised like the make one."""
    b = tmp_path / "b"
    env = dict(os.environ, ANNE_CARGO="env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo",
               ANNE_CARGO_FLAGS="-Zbuild-std=core")
    r = subprocess.run(["cmake", "-S", os.path.join(ROOT, "tests", "cmake"), "-B", str(b),
                        "-DPICO_PLATFORM=rp2040"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(b), "--target", "anne_rust"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CARGO anne (thumbv6m-none-eabi)" in r.stdout
    archive = b / "anne-rust" / "libanne.a"
    check_archive(str(archive), ["-mcpu=cortex-m0plus", "-mthumb"])


def test_unknown_and_xtensa_cpus_are_named(tmp_path):
    script = os.path.join(ROOT, "c_glue", "build-rust.sh")
    env = {k: v for k, v in os.environ.items() if k != "ANNE_RUST_TARGET"}
    r = subprocess.run([script, str(tmp_path / "x.a"), str(tmp_path), "cortex-a53", "soft", "gcc"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Known CPUs: cortex-m0" in r.stderr and "ANNE_RUST_TARGET" in r.stderr
    r = subprocess.run([script, str(tmp_path / "x.a"), str(tmp_path), "esp32s3", "soft", "gcc"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Xtensa" in r.stderr and "espup" in r.stderr
