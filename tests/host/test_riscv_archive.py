"""c_glue/build-rust.sh on RISC-V: the Rust target comes from the port's
-march/-mabi (RISC-V ports give no -mcpu), and the archive the VIRT_RV32
firmware links defines none of the rv32 libgcc's routines globally (asked
for with -march=rv32imac_zicsr, GCC 12 answers with its rv64 libgcc, which
lacks every __*sf3/__*df3/__*di3: the archive's compiler_builtins would then
serve the firmware's float arithmetic), and the firmware takes them from
libgcc."""
import os
import re
import subprocess

import pytest

from conftest import ROOT, need_build

SCRIPT = os.path.join(ROOT, "c_glue", "build-rust.sh")
BUILD = os.path.join(ROOT, "build")
GCC = "riscv64-unknown-elf-gcc"


@pytest.mark.parametrize("march,mabi,triple", [
    ("rv32imac_zicsr", "ilp32", "riscv32imac-unknown-none-elf"),
    ("rv32imac", "ilp32", "riscv32imac-unknown-none-elf"),
    ("rv32imc_zicsr_zifencei", "ilp32", "riscv32imc-unknown-none-elf"),
    ("rv32imafc_zicsr", "ilp32f", "riscv32imafc-unknown-none-elf"),
    ("rv32imafc", "ilp32", "riscv32imac-unknown-none-elf"),  # soft-float ABI: no FPU code
    ("rv32gc", "ilp32d", "riscv32imafc-unknown-none-elf"),
    ("rv32im", "ilp32", "riscv32im-unknown-none-elf"),
])
def test_the_rust_target_follows_march_and_mabi(tmp_path, march, mabi, triple):
    env = {k: v for k, v in os.environ.items() if k != "ANNE_RUST_TARGET"}
    env["ANNE_CARGO"] = "true"  # (no build: the choice is printed first)
    r = subprocess.run([SCRIPT, str(tmp_path / "x.a"), str(tmp_path), march, "soft", GCC,
                        "-march=" + march, "-mabi=" + mabi], capture_output=True, text=True, env=env)
    assert "CARGO anne (%s)" % triple in r.stdout, r.stdout + r.stderr


def global_defined(path):
    out = subprocess.run(["riscv64-unknown-elf-readelf", "-sW", path], capture_output=True, text=True).stdout
    return {f[7] for f in (line.split() for line in out.splitlines())
            if len(f) >= 8 and f[4] in ("GLOBAL", "WEAK") and f[6] != "UND"}


def test_archive_keeps_the_rv32_libgcc_routines():
    archive = os.path.join(BUILD, "riscv32", "anne-rust", "libanne.a")
    need_build(os.path.exists(archive), "no riscv32 firmware built (make qemu-rv32)")
    libgcc = subprocess.run([GCC, "-march=rv32imac", "-mabi=ilp32", "-print-libgcc-file-name"],
                            capture_output=True, text=True).stdout.strip()
    runtime = global_defined(libgcc)
    assert {"__addsf3", "__mulsf3", "__divsf3", "__muldi3"} <= runtime, libgcc
    syms = global_defined(archive)
    assert "anne_forward" in syms and "anne_dense_f32" in syms
    leaked = syms & runtime
    assert not leaked, "the archive defines libgcc's routines globally: %s" % sorted(leaked)[:20]
    # ... and the firmware links libgcc's own
    with open(os.path.join(BUILD, "riscv32", "firmware.map")) as f:
        linked = f.read()
    for routine in ("addsf3", "mulsf3", "divsf3"):
        assert re.search(r"rv32imac/ilp32/libgcc\.a\(%s\.o\)" % routine, linked), routine
