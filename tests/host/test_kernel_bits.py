"""The Rust kernels' fast paths on RISC-V, bit for bit: tests/board/kernel_bits.py
(every activation forward and backward, dense layers of several sizes and
scales with special values, the dense backward pass, SGD and Adam steps,
fit() runs with four losses, every Keras fixture model's predictions) gives
the same bits on the emulated rv32imac board as on the emulated Cortex-M3.
Both take the same paths (build.rs: soft float, a hardware divide,
32x32->64 products): the exact-integer dense sums, the integer exp, ln,
sigmoid and division; those are checked against Keras on both boards by
the board tests (within their tolerances), and against the exact result on
the host by the Rust tests. Here any difference the RISC-V build makes (its
mul/mulhu products, its libgcc, its compiler) would show.

NaNs compare as NaNs, whatever their sign and payload: RISC-V's soft-float
routines return the canonical 0x7fc00000 where Arm's libgcc gives
0xffc00000 (IEEE 754 leaves a NaN's sign unspecified).

Needs build/riscv32 and build/cortex-m3 (`make firmware`); with --stock
firmware and build/natmod/rv32imc (make qemu-rv32-stock natmod-rv32imc),
the rv32imc anne.mpy is compared too."""

import glob
import os
import struct
import subprocess

import pytest

from conftest import ROOT, need_build

RUN_ON = os.path.join(ROOT, "tools", "run-on")
SCRIPT = os.path.join(ROOT, "tests", "board", "kernel_bits.py")
BUILD = os.path.join(ROOT, "build")
M3 = os.path.join(BUILD, "cortex-m3", "firmware.elf")
RV32 = os.path.join(BUILD, "riscv32", "firmware.elf")
RV32_STOCK = os.path.join(BUILD, "riscv32-stock", "firmware.elf")
RV32IMC = os.path.join(BUILD, "natmod", "rv32imc", "anne.mpy")

need_build(os.path.exists(M3) and os.path.exists(RV32), "build/cortex-m3 and build/riscv32 are needed (make firmware)",
           module_level=True)


def fixture_models():
    files = []
    for model in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "models", "*.anne"))):
        ref = model[:-len(".anne")] + ".json"
        if os.path.exists(ref):
            files += [model, ref]
    return files


def bits(*target):
    r = subprocess.run([RUN_ON, "--timeout", "300"] + list(target) + [SCRIPT] + fixture_models(),
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, (target, r.stderr[-3000:])
    lines = r.stdout.splitlines()
    assert lines and lines[-1] == "kernel_bits: done", r.stdout[-2000:]
    out = {}
    for line in lines[:-1]:
        key, _, value = line.rpartition(" ")
        out[key] = value
    return out


def same_bits(a, b):
    """The two hex strings hold the same float32 values, bit for bit, any
    NaN matching any NaN."""
    if a == b:
        return True
    try:
        x, y = bytes.fromhex(a), bytes.fromhex(b)
    except ValueError:
        return False
    if len(x) != len(y) or len(x) % 4:
        return False
    for i in range(0, len(x), 4):
        u, v = struct.unpack_from("<II", x[i:i + 4] + y[i:i + 4])
        nan_u = (u & 0x7F800000) == 0x7F800000 and u & 0x7FFFFF
        nan_v = (v & 0x7F800000) == 0x7F800000 and v & 0x7FFFFF
        if u != v and not (nan_u and nan_v):
            return False
    return True


@pytest.fixture(scope="module")
def cortex_m3():
    return bits("cortex-m3")


def compare(got, want):
    assert list(got) == list(want)
    assert len(want) > 140 and sum(k.startswith("model ") for k in want) >= 20, sorted(want)
    differ = [k for k in want if not same_bits(got[k], want[k])]
    assert not differ, "not the same bits as on the Cortex-M3: %s" % ", ".join(differ)


def test_riscv32_gives_the_cortex_m3s_bits(cortex_m3):
    compare(bits("riscv32"), cortex_m3)


def test_rv32imc_anne_mpy_gives_the_cortex_m3s_bits(cortex_m3):
    need_build(os.path.exists(RV32_STOCK) and os.path.exists(RV32IMC), "make qemu-rv32-stock natmod-rv32imc")
    compare(bits("--stock", "riscv32"), cortex_m3)
