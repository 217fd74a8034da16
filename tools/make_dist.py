#!/usr/bin/env python3
"""Writes the release folder, BUILD/dist/, from what `make natmod`, `make rp2`
and `make rp2-pico2` built: what a release would publish, ready to upload
as it is (run by `make dist`).

    tools/make_dist.py BUILD

    dist/ARCH/        anne.mpy, the board library (.mpy) and package.json,
                      for mpremote mip (every ARCH, and ARCH-lite: the
                      inference-only module)
    dist/lib/         the board library alone, compiled with mpy-cross
    dist/firmware/    the Pico's and the Pico 2's firmware.uf2 with anne and
                      the board library built in
    dist/SHA256SUMS   every file's SHA-256 (sha256sum -c SHA256SUMS)
    dist/README.md    which file a board needs, and the line that installs it
"""

import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every native module's architecture, and the boards it is for (the table in
# docs/stock-firmware.md).
ARCHS = [
    ("armv6m", "Raspberry Pi Pico / Pico W (RP2040), Cortex-M0/M0+ boards (STM32F0/G0/L0, nRF51)"),
    ("armv7m", "Cortex-M3 boards (STM32F1/F2/L1); the Raspberry Pi Pico 2 (RP2350: its firmware passes "
               "floats in core registers, which the armv7emsp module does not)"),
    ("armv7emsp", "Cortex-M4F/M7 boards with hard-float firmware (pyboard, STM32F4/F7/H7, nRF52)"),
    ("rv32imc", "ESP32-C3 / C6 (RISC-V)"),
    ("x64", "the unix port on x86-64"),
]
FIRMWARE = [("rp2", "RPI_PICO.uf2", "Raspberry Pi Pico (RP2040)"),
            ("rp2-RPI_PICO2", "RPI_PICO2.uf2", "Raspberry Pi Pico 2 (RP2350)")]


def copy_package(src, dst):
    """The package.json in src and the files it names, into dst; returns
    the package's version."""
    path = os.path.join(src, "package.json")
    if not os.path.isfile(path):
        sys.exit("make_dist: %s is missing (make natmod rp2 rp2-pico2 first, or make dist)" % path)
    with open(path) as f:
        package = json.load(f)
    os.makedirs(dst)
    for _, url in package["urls"] + [["", "package.json"]]:
        shutil.copyfile(os.path.join(src, url), os.path.join(dst, url))
    return package["version"]


def index(version):
    lines = ["# anne %s: the release files" % version, "",
             "Pick your board's folder; install with mpremote from this folder (or from the URL",
             "where it is published: `mpremote mip install URL/ARCH/package.json`). Each puts",
             "`anne.mpy` and the board library into the board's `/lib`. The `-lite` folders hold",
             "the inference-only module (a third of the RAM; `fit()` then trains on the pure-Python",
             "backend). Check the files with `sha256sum -c SHA256SUMS`.", "",
             "| board | install | inference only |", "|---|---|---|"]
    for arch, boards in ARCHS:
        lines.append("| %s | `mpremote mip install %s/package.json` | `mpremote mip install %s-lite/package.json` |"
                     % (boards, arch, arch))
    lines += ["", "Firmware with anne and the board library built in (no mip needed): hold BOOTSEL, plug",
              "the board in and copy the file onto the drive that appears.", "",
              "| board | firmware |", "|---|---|"]
    for _, name, board in FIRMWARE:
        lines.append("| %s | `firmware/%s` |" % (board, name))
    lines += ["", "`lib/` holds the board library alone (for firmware that has anne built in but not",
              "the library).", ""]
    return "\n".join(lines)


def main():
    build = sys.argv[1]
    natmod = os.path.join(build, "natmod")
    dist = os.path.join(build, "dist")
    shutil.rmtree(dist, ignore_errors=True)
    os.makedirs(dist)
    versions = set()
    for arch, _ in ARCHS:
        for folder in (arch, arch + "-lite"):
            versions.add(copy_package(os.path.join(natmod, folder), os.path.join(dist, folder)))
    os.makedirs(os.path.join(dist, "lib"))
    for name in sorted(os.listdir(os.path.join(natmod, "lib"))):
        shutil.copyfile(os.path.join(natmod, "lib", name), os.path.join(dist, "lib", name))
    os.makedirs(os.path.join(dist, "firmware"))
    for folder, name, _ in FIRMWARE:
        src = os.path.join(build, folder, "firmware.uf2")
        if not os.path.isfile(src):
            sys.exit("make_dist: %s is missing (make rp2 rp2-pico2)" % src)
        shutil.copyfile(src, os.path.join(dist, "firmware", name))
    if len(versions) != 1:
        sys.exit("make_dist: the packages disagree on the version: %s" % sorted(versions))
    with open(os.path.join(dist, "README.md"), "w") as f:
        f.write(index(versions.pop()))
    sums = []
    for top, _, files in sorted(os.walk(dist)):
        for name in sorted(files):
            path = os.path.join(top, name)
            with open(path, "rb") as f:
                sums.append("%s  %s" % (hashlib.sha256(f.read()).hexdigest(), os.path.relpath(path, dist)))
    with open(os.path.join(dist, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sorted(sums, key=lambda s: s[66:])) + "\n")
    print("make_dist: %s: %d files" % (dist, len(sums) + 1))


if __name__ == "__main__":
    main()
