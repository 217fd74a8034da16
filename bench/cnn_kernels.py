#!/usr/bin/env python3
"""int8 CNN kernels on the emulated boards (issue 30's benchmark table):
instructions per multiply-add of one int8 Conv2D 3x3 `same` 16x16x8 -> 16,
Conv2D 1x1 16x16x16 -> 16 and DepthwiseConv2D 3x3 `same` 16x16x16 (and
issue 29's int8 Conv1D, kernel 3 `same` 64x16 -> 16), each as
one call of an `anne.Plan` of one int8 layer tuple (docs/anne-module.md),
call included, beside CMSIS-NN's int8 kernels measured on the same emulators
(../shared/reference/int8.md, copied below).

    bench/cnn_kernels.py [--out build/bench] [--targets cortex-m0,...]
                         [--firmware-dir DIR]   (DIR/<target>.elf: another build)

Method: tools/run-on --count (qemu -icount shift=0) on the test firmwares
(build/<target>/firmware.elf); a script that binds the plan and calls it
`1 + REPS` times minus the same script calling it once, divided by REPS:
the instructions of one call from Python (the same call overhead CMSIS-NN's
figures include: theirs a C call). The weights and inputs are seeded
pseudo-random int8 (the instructions do not depend on them), per-channel
requantization (DS-CNN's). Writes OUT/cnn_kernels.md and OUT/cnn_kernels.json.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ("cortex-m0", "cortex-m3", "cortex-m4f")
REPS = 4

# (name, size, kind, (h, w, cin), (kh, kw), filters or depth multiplier,
#  CMSIS-NN's instructions per MAC on M0, M3, M4F)
KERNELS = (
    ("conv 3x3, same", "16x16x8 -> 16", "conv", (16, 16, 8), (3, 3), 16, (8.68, 3.83, 2.87)),
    ("conv 1x1", "16x16x16 -> 16", "conv", (16, 16, 16), (1, 1), 16, (12.14, 4.81, 3.98)),
    ("depthwise 3x3, same", "16x16x16", "depthwise", (16, 16, 16), (3, 3), 1, (38.05, 10.09, 9.12)),
    # issue 29's Conv1D target: within 1.2x of the int8 Dense kernel's figure (64 -> 64, call included,
    # docs/performance.md's int8 table); CMSIS-NN has no figure here
    ("conv1d k3, same", "64x16 -> 16", "conv1d", (1, 64, 16), (1, 3), 16, (None, None, None)),
)

# Runs on the board: one layer tuple (kind 10 Conv2D, 15 DepthwiseConv2D;
# quant words: the multipliers then the shifts, one per output channel).
BOARD = """
import anne
from array import array
KIND, H, W, CIN, KH, KW, CH, CALLS = %r
seed = [12345]
def rnd(n):
    a = array("b", bytes(n))
    s = seed[0]
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        a[i] = ((s >> 16) & 0xFF) - 128
    seed[0] = s
    return a
x = rnd(H * W * CIN)
if KIND == "conv":
    cout = CH
    k = rnd(cout * KH * KW * CIN)
    spec = (10, H, W, CIN, KH, KW, 1, 1, 1, 1, 1)
elif KIND == "conv1d":
    cout = CH
    k = rnd(cout * KW * CIN)
    spec = (2, CIN, KW, 1, 1, 1)
else:
    cout = CIN * CH
    k = rnd(KH * KW * cout)
    spec = (15, H, W, CIN, KH, KW, 1, 1, 1, CH, 1, 1)
bias = array("i", [(i * 7919) %% 4001 - 2000 for i in range(cout)])
words = array("i", [(1 << 30) + i * 1234567 for i in range(cout)] + [-7 - i %% 3 for i in range(cout)])
out = array("b", bytes(H * W * cout))
plan = anne.Plan(((k, bias, None, out, spec, (5, -3, -128, 127, words)),))
for _ in range(CALLS):
    plan(x, out)
"""


def macs(hwc, k, ch):
    """Multiply-adds of the layer as CMSIS-NN's figures count them (every
    tap, padding included: `same` keeps the plane): a Conv2D's `ch`
    filters or a depthwise layer's multiplier `ch`, the same product."""
    h, w, cin = hwc
    return h * w * k[0] * k[1] * cin * ch


def count(target, script, firmware):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        cmd = [os.path.join(ROOT, "tools", "run-on"), "--count", "--timeout", "900"]
        if firmware:
            cmd += ["--firmware", firmware]
        r = subprocess.run(cmd + [target, path], capture_output=True, text=True, timeout=1200)
    finally:
        os.unlink(path)
    m = re.search(r"(\d[\d,]*) instructions", r.stderr + r.stdout)
    if r.returncode != 0 or not m:
        raise SystemExit("%s: run-on failed:\n%s%s" % (target, r.stdout, r.stderr))
    return int(m.group(1).replace(",", ""))


def measure(target, firmware=None):
    rows = []
    for name, size, kind, hwc, k, ch, cmsis in KERNELS:
        args = (kind, hwc[0], hwc[1], hwc[2], k[0], k[1], ch)
        one = count(target, BOARD % ((args + (1,)),), firmware)
        more = count(target, BOARD % ((args + (1 + REPS,)),), firmware)
        per_call = (more - one) / REPS
        n = macs(hwc, k, ch)
        rows.append({"kernel": name, "size": size, "target": target, "instructions": per_call, "macs": n,
                     "per_mac": per_call / n, "cmsis_nn": cmsis[TARGETS.index(target)]})
        print("%s %s %s: %.0f instructions, %.2f per MAC (CMSIS-NN %s)" % (
            target, name, size, per_call, per_call / n, cmsis[TARGETS.index(target)]), flush=True)
    return rows


def table(rows, targets):
    head = "| kernel | size | " + " | ".join("anne %s | CMSIS-NN %s" % (t, t) for t in targets) + " |"
    lines = [head, "|---|---|" + "---:|---:|" * len(targets)]
    for name, size, *_ in KERNELS:
        cells = []
        for t in targets:
            r = [r for r in rows if r["kernel"] == name and r["target"] == t]
            cells += ["%.2f" % r[0]["per_mac"] if r else "-",
                      "%.2f" % r[0]["cmsis_nn"] if r and r[0]["cmsis_nn"] is not None else "-"]
        lines.append("| %s | %s | %s |" % (name, size, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--firmware-dir", help="DIR/<target>.elf instead of build/<target>/firmware.elf")
    a = ap.parse_args()
    targets = [t for t in a.targets.split(",") if t]
    rows = []
    for t in targets:
        fw = os.path.join(a.firmware_dir, t + ".elf") if a.firmware_dir else None
        rows += measure(t, fw)
    os.makedirs(a.out, exist_ok=True)
    md = ("int8 CNN kernels, instructions per multiply-add (one `anne.Plan` call from Python "
          "included; qemu -icount shift=0), beside CMSIS-NN's int8 kernels on the same emulators:\n\n"
          + table(rows, targets))
    with open(os.path.join(a.out, "cnn_kernels.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, "cnn_kernels.json"), "w") as f:
        json.dump(rows, f, indent=1)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
