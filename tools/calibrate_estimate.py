#!/usr/bin/env python3
"""Calibrates tools/anne_estimate.py's cost model against the emulated
boards, and prints its constants (COSTS and RAM) to paste there. Run by
hand after a change to the kernels or the board library, not by make test:

    python3 tools/calibrate_estimate.py [--targets cortex-m0,...] [--firmware-dir DIR]

Needs the firmware of `make qemu-m0 qemu-m3 qemu-m4f qemu-rv32` (build/
TARGET/firmware.elf, or DIR/TARGET/firmware.elf). The method is make
bench's: qemu runs with -icount shift=0 and `tools/run-on --count` prints
the instructions a script took (deterministic: the same on every run). A
script loads a calibration network (CALIBRATION: not the networks
tests/host/test_estimate.py checks the model on) and calls
net.predict_into(x, out) 1 + K times with its buffers made in advance; the
same script with one call is the base, and (count - base) / K is one
prediction. It also prints gc.mem_alloc()'s growth across anne_net.load()
from the file's path (and then net.training_memory(16) after
compile("adam", "mse")) and from its bytes (used in place). The instruction
costs are fitted per target by least squares on the relative error, the
heap's by least squares in bytes (the same on the 32-bit boards).

measure() is also what the test runs on its own networks.
"""

import argparse
import concurrent.futures
import json
import os
import pprint
import re
import subprocess
import sys
import tempfile

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import anne_estimate  # noqa: E402
import anne_format  # noqa: E402
from anne_core import PADDINGS  # noqa: E402

BATCH = 16  # training_memory's batch


def build(in_shape, layers, seed=1):
    """The bytes of a .anne file of these layers with seeded random weights
    (Glorot-uniform-like). A layer: ("dense", units, act), ("conv", filters,
    kernel_size, strides, padding, dilation, act), ("maxpool" | "avgpool",
    size, strides, padding), ("gap",), ("gmp",), ("flatten",), ("affine",)."""
    rng = np.random.RandomState(seed)
    shape = tuple(in_shape)
    specs = []

    def uniform(shape_, lim):
        return rng.uniform(-lim, lim, shape_).astype(np.float32)

    for L in layers:
        kind = L[0]
        if kind == "dense":
            n = int(np.prod(shape))
            lim = (6.0 / (n + L[1])) ** 0.5
            s = anne_format.LayerSpec(L[2], uniform((n, L[1]), lim), uniform((L[1],), 0.1))
        elif kind == "conv":
            filters, k, strides, pad, dil, act = L[1:]
            lim = (6.0 / (k * shape[-1] + filters)) ** 0.5
            s = anne_format.LayerSpec(act, uniform((k, shape[-1], filters), lim), uniform((filters,), 0.1),
                                      kind="conv1d", kparams=(k, strides, PADDINGS.index(pad), dil))
        elif kind in ("maxpool", "avgpool"):
            s = anne_format.LayerSpec("linear", kind="max_pooling1d" if kind == "maxpool" else "average_pooling1d",
                                      kparams=(L[1], L[2], PADDINGS.index(L[3])))
        elif kind in ("gap", "gmp"):
            s = anne_format.LayerSpec("linear", kind="global_average_pooling1d" if kind == "gap"
                                      else "global_max_pooling1d")
        elif kind == "flatten":
            s = anne_format.LayerSpec("linear", kind="flatten")
        elif kind == "affine":
            c = shape[-1]
            s = anne_format.LayerSpec("linear", rng.uniform(0.5, 2.0, (c,)).astype(np.float32),
                                      uniform((c,), 0.5), kind="affine", kparams=(1,))
        else:
            raise ValueError("unknown layer %r" % (L,))
        specs.append(s)
        shape = s.entry(shape).out_shape
    return anne_format.encode(in_shape, specs)


# The calibration networks: every feature of anne_estimate.FEATURES in
# several sizes; none of them is a network the test checks.
CALIBRATION = {
    "d1": ((8,), [("dense", 16, "relu"), ("dense", 4, "linear")]),
    "d2": ((32,), [("dense", 48, "relu"), ("dense", 24, "relu"), ("dense", 5, "softmax")]),
    "d3": ((20,), [("dense", 40, "sigmoid"), ("dense", 6, "tanh")]),
    "d4": ((100,), [("dense", 12, "linear")]),
    "d5": ((3,), [("dense", 5, "relu"), ("dense", 5, "relu"), ("dense", 5, "relu"), ("dense", 5, "relu"),
                  ("dense", 2, "sigmoid")]),
    "d6": ((48,), [("dense", 96, "tanh"), ("dense", 2, "softmax")]),
    "d7": ((10,), [("dense", 30, "elu"), ("dense", 20, "gelu"), ("dense", 8, "silu")]),
    "d8": ((128,), [("dense", 32, "relu"), ("dense", 16, "softmax")]),
    "d9": ((12,), [("affine",), ("dense", 24, "relu"), ("dense", 3, "softmax")]),
    "d10": ((6,), [("dense", 200, "sigmoid"), ("dense", 1, "linear")]),
    "d11": ((40,), [("dense", 80, "relu"), ("dense", 40, "relu"), ("dense", 20, "relu"), ("dense", 2, "linear")]),
    "d13": ((4,), [("dense", 6, "relu"), ("dense", 3, "softmax")]),
    "d14": ((5,), [("dense", 10, "relu"), ("dense", 2, "softmax")]),
    "d15": ((2,), [("dense", 4, "tanh"), ("dense", 3, "linear")]),
    "d16": ((6,), [("dense", 12, "relu"), ("dense", 6, "relu"), ("dense", 4, "sigmoid")]),
    "k1": ((32, 2), [("conv", 6, 3, 1, "valid", 1, "relu"), ("maxpool", 2, 2, "valid"), ("flatten",),
                     ("dense", 4, "softmax")]),
    "k2": ((24, 4), [("conv", 10, 5, 1, "same", 1, "relu"), ("avgpool", 3, 3, "valid"),
                     ("conv", 6, 3, 1, "valid", 1, "linear"), ("gmp",), ("dense", 2, "sigmoid")]),
    "k3": ((40, 1), [("conv", 4, 7, 2, "valid", 1, "relu"), ("gap",), ("dense", 3, "linear")]),
    "k4": ((20, 6), [("conv", 12, 3, 1, "causal", 2, "tanh"), ("maxpool", 2, 2, "same"),
                     ("conv", 8, 2, 1, "valid", 1, "relu"), ("gap",), ("dense", 5, "softmax")]),
    "k5": ((64, 3), [("conv", 16, 3, 1, "valid", 1, "relu"), ("maxpool", 4, 4, "valid"),
                     ("conv", 16, 3, 1, "valid", 1, "relu"), ("gap",), ("dense", 4, "softmax")]),
    "k6": ((16, 8), [("affine",), ("conv", 8, 3, 1, "same", 1, "elu"), ("flatten",), ("dense", 3, "sigmoid")]),
    "d12": ((16,), [("dense", 32, "tanh"), ("dense", 4, "linear")]),
    "k8": ((28, 3), [("conv", 6, 3, 1, "same", 3, "relu"), ("gap",), ("dense", 3, "softmax")]),
    "k9": ((24, 2), [("conv", 8, 4, 1, "causal", 1, "tanh"), ("maxpool", 2, 2, "valid"), ("flatten",),
                     ("dense", 2, "linear")]),
    "k10": ((36, 4), [("conv", 10, 4, 2, "valid", 2, "linear"), ("avgpool", 2, 2, "same"),
                      ("conv", 6, 3, 1, "valid", 1, "sigmoid"), ("gmp",), ("dense", 3, "relu")]),
    "k7": ((30, 2), [("conv", 5, 4, 1, "same", 1, "sigmoid"), ("avgpool", 2, 1, "valid"), ("gap",),
                     ("dense", 2, "tanh")]),
}

BOARD_SCRIPT = """\
import gc
import anne_net
import anne_conv, anne_affine  # (before: the layer modules a network imports are not the network's)
from array import array


def one(name, k):
    f = open(name, "rb")
    data = f.read()
    f.close()
    # The file copied to a filesystem that is read (as littlefs on a board;
    # run-on's ROMFS files are used in place, as load(data) is).
    path = "fs_" + name
    with open(path, "wb") as f:
        f.write(data)
    gc.collect()
    a = gc.mem_alloc()
    net = anne_net.load(path)
    gc.collect()
    rf = gc.mem_alloc() - a
    tm = -1
    try:
        net.compile("adam", "mse")
        tm = net.training_memory(BATCH)
    except ValueError:
        pass
    net = None
    gc.collect()
    a = gc.mem_alloc()
    net = anne_net.load(data)
    gc.collect()
    rp = gc.mem_alloc() - a
    x = array("f", [((i * 37) % 17) / 8.5 - 1.0 for i in range(net.n_inputs)])  # sample_input
    out = array("f", [0.0] * net.n_outputs)
    p = net.predict_into
    for _ in range(k):
        p(x, out)
    print("E", name, rf, rp, tm)


for name, k in JOBS:
    one(name, k)
""".replace("BATCH", str(BATCH))

COUNT = re.compile(r"run-on: the script took (\d+) instructions")


def _run(target, firmware, script, files, timeout=300):
    cmd = [sys.executable, os.path.join(TOOLS, "run-on"), "--count"]
    if firmware:
        cmd += ["--firmware", firmware]
    cmd += [target, script] + files
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    m = COUNT.search(p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError("%s: run-on failed (%d): %s%s" % (target, p.returncode, p.stdout, p.stderr))
    rows = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "E":
            rows[parts[1]] = tuple(int(v) for v in parts[2:])
    return int(m.group(1)), rows


def predictions(model):
    """How many predictions to count: about 20 million instructions on a
    Cortex-M0, from 10 to 100."""
    f = anne_estimate.features(model, "cortex-m0")
    rough = 20000 + 100 * (f["dense_mac"] + f["conv_mac"]) + 2000 * (f["sigmoid"] + f["tanh"] + f["exp"])
    return max(10, min(100, 20000000 // rough))


def measure(targets, nets, firmware_dir=None, jobs=2, check=True):
    """nets: {name: .anne bytes}. Returns {target: {name: {"instructions"
    (one prediction), "ram_file", "ram_in_place", "training_ram" (None if
    the board cannot train it)}}}. Each network runs alone, in two scripts
    (one prediction, and 1 + K): with several networks in one script the
    difference moved by tens of thousands of instructions with the number
    of calls made before (the conservative GC scans stale pointers on the
    stack). A RuntimeError if a run fails, if two runs of the same script
    disagree (check: the first network's base run twice) or if the heap
    figures differ between the runs."""
    names = sorted(nets)
    ks = {n: predictions(anne_format.parse(nets[n])) for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        files, scripts = {}, {}
        for n in names:
            files[n] = os.path.join(tmp, n + ".anne")
            with open(files[n], "wb") as f:
                f.write(nets[n])
            for which, k in (("base", 1), ("full", 1 + ks[n])):
                scripts[(n, which)] = os.path.join(tmp, "est_%s_%s.py" % (n, which))
                with open(scripts[(n, which)], "w") as f:
                    f.write("JOBS = %r\n" % [(n + ".anne", k)] + BOARD_SCRIPT)
        runs = [(t, n, w) for t in targets for n in names for w in ("base", "full")]
        if check:
            runs += [(t, names[0], "again") for t in targets]
        with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
            futs = {r: ex.submit(_run, r[0], os.path.join(firmware_dir, r[0], "firmware.elf") if firmware_dir
                                 else None, scripts[(r[1], "base" if r[2] == "again" else r[2])], [files[r[1]]])
                    for r in runs}
            got = {r: f.result() for r, f in futs.items()}
    out = {}
    for t in targets:
        (n1, h1), (n2, h2) = got[(t, names[0], "base")], got[(t, names[0], "again")] if check else (None, None)
        # (riscv32's minstret: whole-script counts can differ by a few tens of
        # instructions in millions between runs, docs/performance.md's RISC-V
        # section; the heap figures must agree exactly)
        if check and (h1 != h2 or abs(n1 - n2) > n1 * 1e-5):
            raise RuntimeError("%s: two runs of the same script differ: %s vs %s"
                               % (t, got[(t, names[0], "base")], got[(t, names[0], "again")]))
        out[t] = {}
        for n in names:
            (base, rows), (full, rows_full) = got[(t, n, "base")], got[(t, n, "full")]
            if rows != rows_full:
                raise RuntimeError("%s: the heap figures differ between runs: %s vs %s" % (t, rows, rows_full))
            rf, rp, tm = rows[n + ".anne"]
            out[t][n] = {"instructions": (full - base) / ks[n], "ram_file": rf, "ram_in_place": rp,
                         "training_ram": tm if tm >= 0 else None}
    return out


def fit(measured, models):
    """(COSTS, RAM) fitted to measure()'s results; models: {name: Model}."""
    names = sorted(models)
    costs = {}
    for t, res in measured.items():
        A = np.array([[anne_estimate.features(models[n], t)[f] for f in anne_estimate.FEATURES] for n in names],
                     float)
        used = A.any(axis=0)
        y = np.array([res[n]["instructions"] for n in names])
        w = 1.0 / y
        c = np.zeros(len(anne_estimate.FEATURES))
        c[used] = np.linalg.lstsq(A[:, used] * w[:, None], y * w, rcond=None)[0]
        costs[t] = {f: round(float(v), 2) for f, v in zip(anne_estimate.FEATURES, c)}
    R = np.array([[anne_estimate.ram_features(models[n])[f] for f in anne_estimate.RAM_FEATURES]
                  for n in names], float)
    first = next(iter(measured.values()))
    ram = {}
    for key in ("in_place", "file"):
        y = np.array([first[n]["ram_" + key] - anne_estimate.weights_heap(models[n], key == "in_place")
                      for n in names], float)
        c = np.linalg.lstsq(R, y, rcond=None)[0]
        ram[key] = {f: round(float(v), 1) for f, v in zip(anne_estimate.RAM_FEATURES, c)}
    return costs, ram


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default=",".join(anne_estimate.TARGETS))
    p.add_argument("--firmware-dir", help="DIR/TARGET/firmware.elf instead of build/TARGET/firmware.elf")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--measured", metavar="JSON", help="keep the measurements in this file (and, if it "
                   "exists, fit to it rather than run the boards)")
    a = p.parse_args(argv)
    targets = a.targets.split(",")
    nets = {n: build(*spec) for n, spec in CALIBRATION.items()}
    models = {n: anne_format.parse(d) for n, d in nets.items()}
    if a.measured and os.path.exists(a.measured):
        with open(a.measured) as f:
            measured = json.load(f)
        targets = [t for t in targets if t in measured]
    else:
        measured = measure(targets, nets, a.firmware_dir, a.jobs)
        if a.measured:
            with open(a.measured, "w") as f:
                json.dump(measured, f, indent=1, sort_keys=True)
    costs, ram = fit(measured, models)
    anne_estimate.COSTS.update(costs)
    anne_estimate.RAM.update(ram)
    print("%-6s %-10s %12s %12s %7s" % ("net", "target", "measured", "fitted", "error"))
    for t in targets:
        for n in sorted(nets):
            m = measured[t][n]["instructions"]
            e = anne_estimate.instructions(models[n], t)
            print("%-6s %-10s %12.0f %12d %+6.1f%%" % (n, t, m, e, 100.0 * (e - m) / m))
    print("%-6s %10s %10s %10s %10s %10s %10s" % ("net", "file", "fitted", "in place", "fitted", "training",
                                                 "computed"))
    for n in sorted(nets):
        m = measured[targets[0]][n]
        rf, rp = anne_estimate.ram(models[n])
        others = {(measured[t][n]["ram_file"], measured[t][n]["ram_in_place"], measured[t][n]["training_ram"])
                  for t in targets}
        print("%-6s %10d %10d %10d %10d %10s %10s%s" % (n, m["ram_file"], rf, m["ram_in_place"], rp,
                                                      m["training_ram"], anne_estimate.training_memory(nets[n], BATCH),
                                                      "" if len(others) == 1 else "  (differs by target: %s)" % others))
    print("\nCOSTS = " + pprint.pformat(costs, width=110, sort_dicts=False))
    print("RAM = " + pprint.pformat(ram, width=110, sort_dicts=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
