"""The rp2 firmware (`make rp2`: build/rp2/firmware.elf and its link map):
the toolchain's own libgcc and libc routines serve the firmware, never the
copies in the Rust archive's compiler_builtins.

That is what c_glue/build-rust.sh's symbol localisation is for. Without it
the archive's weak memmove, __aeabi_llsr and soft-float routines took over
the whole rp2 firmware, from flash, where the port's linker script keeps the
toolchain's in RAM. Skipped when the rp2 firmware is not built (make test
builds it).
"""

import os
import re
import subprocess

import pytest

from conftest import ROOT, load_run_on, need_build

RP2 = os.path.join(ROOT, "build", "rp2")
FIRMWARE = os.path.join(RP2, "firmware.elf")
MAP = os.path.join(RP2, "firmware.elf.map")
ARCHIVE = os.path.join(RP2, "build", "anne-rust", "libanne.a")

need_build(all(os.path.exists(p) for p in (FIRMWARE, MAP, ARCHIVE)),
           "the rp2 firmware is not built (run `make rp2`)", module_level=True)

# The link checks hold for every rp2 build there is: RPI_PICO (RP2040,
# Cortex-M0+) and RPI_PICO2 (RP2350, Cortex-M33, softfp: `make rp2-pico2`).
BUILDS = [(d, cpu) for d, cpu in (("rp2", "cortex-m0plus"), ("rp2-RPI_PICO2", "cortex-m33"))
          if os.path.exists(os.path.join(ROOT, "build", d, "firmware.elf.map"))]


@pytest.fixture(params=BUILDS, ids=[d for d, _ in BUILDS])
def build(request):
    """(archive, link map, C compiler) of one rp2 build."""
    d, cpu = request.param
    top = os.path.join(ROOT, "build", d)
    return (os.path.join(top, "build", "anne-rust", "libanne.a"), os.path.join(top, "firmware.elf.map"),
            ["arm-none-eabi-gcc", "-mcpu=" + cpu, "-mthumb"])


def defined(path):
    """Global and weak symbols an object file or archive defines (readelf:
    binutils' nm sees "no symbols" in the archive's compiler_builtins member,
    which also holds LLVM bitcode)."""
    out = subprocess.run(["arm-none-eabi-readelf", "-sW", path], capture_output=True, text=True).stdout
    return {f[7] for f in (line.split() for line in out.splitlines())
            if len(f) == 8 and f[4] in ("GLOBAL", "WEAK") and f[6] != "UND"}


def toolchain_names(cc):
    libgcc = subprocess.run(cc + ["-print-libgcc-file-name"], capture_output=True, text=True).stdout.strip()
    libc = subprocess.run(cc + ["-print-file-name=libc.a"], capture_output=True, text=True).stdout.strip()
    return defined(libgcc) | {n for n in defined(libc) if not n.startswith("__aeabi_")}


def test_archive_defines_no_toolchain_routine(build):
    archive, _, cc = build
    names = toolchain_names(cc)
    assert len(names) > 500  # libgcc's and newlib's routines were read
    clash = sorted(defined(archive) & names)
    assert not clash, "the archive defines the toolchain's %s" % clash[:20]


def test_archive_members_come_in_only_for_anne(build):
    """In the map's "Archive member included to satisfy reference" list,
    the archive's members are pulled in by anne's own symbols (from the
    glue) or by each other, never for a routine the firmware needs."""
    with open(build[1]) as f:
        head = f.read().split("\n\n", 2)[1]
    pulls = re.findall(r"^(\S+)\n\s+(\S+) \((\S+)\)$", head, re.M)
    assert pulls
    anne = [(member, by, sym) for member, by, sym in pulls if "libanne.a" in member]
    assert anne, "no member of the archive in the link map"
    bad = [(by, sym) for _, by, sym in anne if not (sym.startswith("anne_") or "libanne.a" in by)]
    assert not bad, bad


def test_memmove_stays_in_ram():
    """The rp2 linker script puts the toolchain's memmove in RAM; the
    archive's copy, had it won, would sit in flash (0x10000000...)."""
    out = subprocess.run(["arm-none-eabi-nm", FIRMWARE], capture_output=True, text=True).stdout
    addr = {l.split()[2]: int(l.split()[0], 16) for l in out.splitlines()
            if len(l.split()) == 3 and l.split()[1] in "TW"}
    assert 0x20000000 <= addr["memmove"] < 0x20042000


def test_readme_commands_on_the_emulated_pico(tmp_path):
    """The README's "On a real Pico" commands, as written, against the .uf2
    booted in rp2040py (connected to its console's pty)."""
    import time
    run_on = load_run_on()
    model = tmp_path / "model.anne"
    model.write_bytes(open(os.path.join(ROOT, "tests", "fixtures", "models", "iris3.anne"), "rb").read())
    proc, pty = run_on.start_rp2040(os.path.join(RP2, "firmware.uf2"), str(tmp_path), time.monotonic() + 120)
    try:
        mp = ["mpremote", "connect", pty]
        r = subprocess.run(mp + ["cp", "model.anne", ":model.anne"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(mp + ["exec", "import anne_net; net = anne_net.load('model.anne'); net.summary()"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Dense" in r.stdout and "Total params" in r.stdout, r.stdout


def test_frozen_model_is_used_in_place(tmp_path):
    """make rp2 RP2_MODEL=... (make rp2-model: wide.anne frozen in):
    examples/pico/memory.py on the emulated Pico, as the README quotes it.
    The frozen model's float data is aligned in flash and used there: its
    load takes the heap of the layer objects only, like a buffer in RAM,
    where loading from littlefs copies the weights; and it predicts what
    the file read from littlefs does."""
    firmware = os.path.join(ROOT, "build", "rp2-model", "firmware.uf2")
    need_build(os.path.exists(firmware), "needs `make rp2-model`")
    r = subprocess.run([os.path.join(ROOT, "tools", "run-on"), "--firmware", firmware, "rp2040",
                        os.path.join(ROOT, "examples", "pico", "memory.py"),
                        os.path.join(ROOT, "tests", "fixtures", "models", "wide.anne")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    path = int(re.search(r"littlefs path: (\d+) bytes", r.stdout).group(1))
    buffer = int(re.search(r"in place: (\d+) bytes", r.stdout).group(1))
    frozen = re.search(r"frozen anne_model.DATA \(18380 bytes at 0x([0-9a-f]+), (\w+)\): (\d+) bytes", r.stdout)
    assert frozen, r.stdout
    assert int(frozen.group(1), 16) % 4 == 0 and frozen.group(2) == "flash", r.stdout
    assert "not 4-byte aligned" not in r.stdout, r.stdout
    assert int(frozen.group(3)) == buffer and path > 18380 > 10 * buffer, r.stdout
    assert "same outputs as from the path: True" in r.stdout, r.stdout
