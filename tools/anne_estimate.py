#!/usr/bin/env python3
"""What a `.anne` model costs on a board, before flashing: per board class
(Cortex-M0/M0+ as the Raspberry Pi Pico's RP2040, Cortex-M3, Cortex-M4F,
RISC-V rv32imc), the file's size, the heap it takes when loaded from a file
(the weights copied into RAM) and when used in place from flash (a frozen
bytes constant or a ROMFS file: only the layer objects and activation
buffers), the heap that training takes at a batch size (what the board's
`net.training_memory(batch)` says after `compile("adam", ...)`), and the
instructions one `net.predict_into(x, out)` takes with its buffers made in
advance, with the time that is at a typical clock (instructions / clock: an
estimate; a real core takes more than one cycle for some instructions, and
flash wait states add more).

    python3 tools/anne_estimate.py model.anne [--batch 16]
    python3 tools/anne_estimate.py model.keras       (converted in memory)

    import anne_estimate
    e = anne_estimate.estimate("model.anne", batch=16)   # or the file's bytes
    print(anne_estimate.report(e))

The instruction counts come from a cost model: per board class, a cost per
multiply-add, per output value, per layer, per call and per costly
activation value (COSTS below), fitted by tools/calibrate_estimate.py to
counts measured on the emulated boards (qemu -icount shift=0, as make bench
measures) on calibration networks; tests/host/test_estimate.py checks it
within 10 % on other networks (make bench's and a Conv1D model). The RAM
figures: the file's weights as the board library's arrays take them, plus
fitted per-layer costs (RAM below, from the same calibration); training's
is computed by the board library itself (micropython/anne_train.py, run
here on CPython) with the native module's workspace size (src/train/workspace.rs's
workspace_len, written out in _NativeSizes).
"""

import argparse
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import anne_format  # noqa: E402  (also puts micropython/ on sys.path)
import anne_file  # noqa: E402
import anne_ops  # noqa: E402
from anne_core import chain_bound  # noqa: E402

# The board classes, the emulated board that stands for each (tools/run-on's
# targets) and the clock the time is given at.
BOARDS = (
    ("cortex-m0", "Cortex-M0+ (Pico)", 125),       # the RP2040 at 125 MHz
    ("cortex-m3", "Cortex-M3", 72),                # e.g. STM32F103
    ("cortex-m4f", "Cortex-M4F", 168),             # e.g. the pyboard's STM32F405
    ("riscv32", "RISC-V rv32imc", 160),            # e.g. ESP32-C3
)
TARGETS = tuple(b[0] for b in BOARDS)

# What a prediction's instructions are counted by (features()):
#   call       one predict_into call (and its loop step in the caller)
#   layer      each layer that computes (not Flatten / Reshape)
#   dense_mac  Dense: multiply-adds; on the soft-float cores (SOFT_FLOAT)
#              only those of nonzero inputs: the Dense kernel there sums in
#              integers and skips zero inputs (a ReLU's zeros cost nothing)
#   dense_out  Dense: units (bias, rounding, activation, store)
#   conv_mac   Conv1D, dilation 1: multiply-adds of the taps inside the
#              input (of the nonzero inputs on SOFT_FLOAT): each output
#              step is a call of the Dense kernel over its window
#   conv_step  Conv1D, dilation 1: output steps (that call)
#   conv_dmac  Conv1D, dilation > 1: multiply-adds of the taps inside the
#              input (a float loop)
#   conv_dtap  Conv1D, dilation > 1: output values x taps inside the input
#   conv_out   Conv1D: output steps x filters
#   pool_in    pooling: values read (output values x pool_size; global: all)
#   affine     Normalization / Rescaling / BatchNormalization: values
#   sigmoid, tanh, softmax, exp   per output value of a layer with that
#              activation (exp: the other exp-based ones, elu, gelu, silu...);
#              linear, relu and the piecewise-linear ones are in *_out
# Which inputs are zero depends on the input: the network is run here (the
# file's reference forward pass, tools/anne_format.py) on SAMPLE_INPUT, the
# same input the calibration and the test give the boards; pass x for yours.
FEATURES = ("call", "layer", "dense_mac", "dense_out", "conv_mac", "conv_step", "conv_dmac", "conv_dtap",
            "conv_out",
            "pool_in", "affine", "sigmoid", "tanh", "softmax", "exp")
SOFT_FLOAT = ("cortex-m0", "cortex-m3", "riscv32")


def sample_input(n):
    """The input the estimate assumes (n values in [-1, 1), none zero)."""
    return [((i * 37) % 17) / 8.5 - 1.0 for i in range(n)]


ACT_GROUP = {"sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax", "log_softmax": "softmax",
             "elu": "exp", "selu": "exp", "celu": "exp", "exponential": "exp", "gelu": "exp",
             "silu": "exp", "mish": "exp", "softplus": "exp", "log_sigmoid": "exp",
             "tanh_shrink": "tanh", "glu": "sigmoid"}

# Instructions per feature, per target: fitted by tools/calibrate_estimate.py
# (least squares on the relative error) to `tools/run-on --count` counts of
# predict_into on its calibration networks, firmware of `make qemu-m0
# qemu-m3 qemu-m4f qemu-rv32`. Rerun it after a change to the kernels and
# paste what it prints here.
COSTS = {'cortex-m0': {'call': 1106.96,
               'layer': 875.32,
               'dense_mac': 105.26,
               'dense_out': 201.17,
               'conv_mac': 111.98,
               'conv_step': 1621.51,
               'conv_dmac': 205.53,
               'conv_dtap': 143.79,
               'conv_out': -196.45,
               'pool_in': 294.19,
               'affine': 62.24,
               'sigmoid': 479.6,
               'tanh': 3247.6,
               'softmax': 619.16,
               'exp': 1467.6},
 'cortex-m3': {'call': 695.75,
               'layer': 495.13,
               'dense_mac': 37.44,
               'dense_out': 153.41,
               'conv_mac': 40.84,
               'conv_step': 704.5,
               'conv_dmac': 101.33,
               'conv_dtap': 46.08,
               'conv_out': 19.21,
               'pool_in': 89.84,
               'affine': 44.88,
               'sigmoid': 79.1,
               'tanh': 1553.6,
               'softmax': 154.28,
               'exp': 635.54},
 'cortex-m4f': {'call': 415.74,
                'layer': 574.02,
                'dense_mac': 2.3,
                'dense_out': 25.51,
                'conv_mac': 2.63,
                'conv_step': 416.58,
                'conv_dmac': 7.65,
                'conv_dtap': 81.39,
                'conv_out': 3.63,
                'pool_in': 14.84,
                'affine': -11.42,
                'sigmoid': 43.32,
                'tanh': 82.63,
                'softmax': 115.12,
                'exp': 46.01},
 'riscv32': {'call': 598.92,
             'layer': 646.21,
             'dense_mac': 34.24,
             'dense_out': 176.69,
             'conv_mac': 38.69,
             'conv_step': 1061.21,
             'conv_dmac': 191.9,
             'conv_dtap': 78.96,
             'conv_out': -81.7,
             'pool_in': 156.84,
             'affine': 77.94,
             'sigmoid': 86.74,
             'tanh': 2624.57,
             'softmax': 259.52,
             'exp': 1162.68}}

# Heap bytes of a loaded network (32-bit boards: the same on each), beyond
# its weights' arrays: per network, per layer, per layer that computes, per
# affine layer and per 16-byte block of the activation arena (the layers'
# outputs but the last, predict_into's out: anne_core.chain_arena); fitted
# the same way to gc.mem_alloc() around anne_net.load() on the calibration
# networks (the figure from a file includes the first load's import of
# anne_io, anne_file and anne_shape, whose objects stay in the heap;
# tools/calibrate_estimate.py, refitted at e650d7f).
RAM_FEATURES = ("net", "layer", "computing", "affine", "buffer")
RAM = {'in_place': {'net': 164.1, 'layer': 81.5, 'computing': 308.6, 'affine': 315.6, 'buffer': 16.1},
 'file': {'net': 4653.4, 'layer': 81.1, 'computing': 288.6, 'affine': 410.3, 'buffer': 16.3}}

HEAP_BLOCK = 16  # MicroPython's GC block on a 32-bit board


def heap_bytes(n, itemsize=4):
    """Heap of an array('f') of n items on a 32-bit board: its object (one
    block) and its items in whole blocks (anne_train._heap_bytes)."""
    return HEAP_BLOCK + (n * itemsize + HEAP_BLOCK - 1) // HEAP_BLOCK * HEAP_BLOCK


def parse(source):
    """anne_format.Model of a .anne file's bytes or path, or of a Keras
    model (.keras, .h5) converted in memory by tools/anne_convert.py.
    Returns (model, data)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif str(source).endswith((".keras", ".h5")):
        import anne_convert
        data = anne_convert.convert_file(str(source))
    else:
        with open(source, "rb") as f:
            data = f.read()
    return anne_format.parse(data), data


def _computes(layer):
    return layer.kind not in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE)


def features(model, target="cortex-m3", x=None):
    """The counts a prediction's instructions are modelled by (FEATURES) on
    this target, for input x (default: sample_input())."""
    import numpy as np
    f = dict.fromkeys(FEATURES, 0)
    f["call"] = 1
    y = np.asarray(sample_input(model.n_inputs) if x is None else x, np.float32)
    y = y.reshape((1,) + tuple(model.input_shape))
    for L in model.layers:
        x_l, y = y, L.forward(y)
        if not _computes(L):
            continue
        f["layer"] += 1
        kind, n_out = L.kind, L.n_out
        if kind == anne_ops.LAYER_DENSE:
            n_in = int(np.count_nonzero(x_l)) if target in SOFT_FLOAT else L.n_in
            f["dense_mac"] += n_in * L.units
            f["dense_out"] += L.units
        elif kind == anne_ops.LAYER_CONV1D:
            kp = L.kparams
            taps = anne_format._windows(L.in_shape[0], L.out_shape[0], (kp[0] - 1) * kp[3] + 1, kp[1], kp[2],
                                        kp[3], kp[0])
            if kp[3] == 1:
                if target in SOFT_FLOAT:  # (the window's nonzero inputs)
                    nz = np.count_nonzero(x_l[0], axis=-1)
                    f["conv_mac"] += int(sum(nz[i] for i in taps.ravel() if i >= 0)) * L.units
                else:
                    f["conv_mac"] += int(np.count_nonzero(taps >= 0)) * L.in_shape[-1] * L.units
                f["conv_step"] += L.out_shape[0]
            else:
                f["conv_dmac"] += int(np.count_nonzero(taps >= 0)) * L.in_shape[-1] * L.units
                f["conv_dtap"] += int(np.count_nonzero(taps >= 0)) * L.units
            f["conv_out"] += n_out
        elif kind in anne_file.POOLS:
            f["pool_in"] += n_out * L.kparams[0]
        elif kind in anne_file.GLOBAL_POOLS:
            f["pool_in"] += L.n_in
        elif kind == anne_ops.LAYER_AFFINE:
            f["affine"] += L.n_in
        if kind in anne_file.WEIGHTED:
            group = ACT_GROUP.get(L.activation)
            if group:
                f[group] += n_out
    return f


def ram_features(model):
    f = dict.fromkeys(RAM_FEATURES, 0)
    f["net"] = 1
    for L in model.layers:
        f["layer"] += 1
        if _computes(L):
            f["computing"] += 1
            f["affine"] += L.kind == anne_ops.LAYER_AFFINE
    hidden = [L.n_out for L in model.layers if _computes(L)][:-1]
    f["buffer"] = heap_bytes(chain_bound(hidden)) // HEAP_BLOCK if hidden else 0
    return f


def weights_heap(model, in_place=False):
    """Heap of the weights' arrays: read from a file, one per kernel and
    bias; used in place, only the affine layers' (the board library keeps
    their scale and offset as float arrays of its own)."""
    return sum(heap_bytes(a.size) for L in model.layers for a in (L.kernel, L.bias)
               if a is not None and (not in_place or L.kind == anne_ops.LAYER_AFFINE))


def _dot(coef, feats):
    return sum(coef.get(k, 0.0) * v for k, v in feats.items())


def instructions(model, target, x=None):
    return int(round(_dot(COSTS[target], features(model, target, x))))


def ram(model):
    """(bytes loaded from a file, bytes used in place) of heap."""
    rf = ram_features(model)
    place = _dot(RAM["in_place"], rf) + weights_heap(model, True)
    file_ = _dot(RAM["file"], rf) + weights_heap(model)
    return int(round(file_)), int(round(place))


# ---------------------------------------------------------------------------
# Training memory: the board library's own training_memory(), on CPython.

class _NativeSizes:
    """Stands for the native module where anne_train asks it for sizes:
    fit_workspace is src/train/workspace.rs's workspace_len (per layer that computes,
    its Shape::len: inputs x rows, three times units x rows, a Dense
    layer's transposed kernel past the first, a trained layer's kernel and
    bias gradients; rows is the batch, or 1 for a network with other layers
    than Dense, which fit_epoch runs a sample at a time; then the batch and
    the widest layer's inputs or units)."""

    fit_epoch = None  # (anne_train asks hasattr(backend, "fit_epoch"))

    def __init__(self, python_backend, layers):
        self._py = python_backend
        self._layers = [L for L in layers if L.computes]

    def Activation(self, name):
        return self._py.Activation(name)

    def fit_workspace(self, train_layers, n_in, batch):
        per_sample = any(L.kind != anne_ops.LAYER_DENSE for L in self._layers)
        rows = 1 if per_sample else batch
        total = widest = 0
        for i, L in enumerate(self._layers):
            dense = L.kind == anne_ops.LAYER_DENSE
            units = L.units if dense else L.n_out
            k = len(L._kernel) if L._kernel is not None else 0
            b = len(L._bias) if L._bias is not None else 0
            trained = 1 if L.trainable and L.kind in (anne_ops.LAYER_DENSE, anne_ops.LAYER_CONV1D) else 0
            total += L.n_in * rows + 3 * rows * units + (k if dense and i else 0) + trained * (k + b)
            widest = max(widest, L.n_in, units)
        return total + batch + widest


def training_memory(data, batch=16, optimizer="adam"):
    """What the board's net.training_memory(batch) says after
    compile(optimizer, "mse") for this file loaded from a path (None if
    the board cannot train it: fit() needs a Dense layer last). Runs the
    board library (micropython/) on CPython: its pure-Python backend builds
    the network, the native module's sizes come from _NativeSizes, and the
    heap's block is a 32-bit board's."""
    import gc
    shims = {"mem_free": lambda: 1 << 30, "mem_alloc": lambda: 0}
    added = [k for k in shims if not hasattr(gc, k)]
    for k in added:
        setattr(gc, k, shims[k])
    maxsize = sys.maxsize
    try:
        import contextlib
        import io
        import anne_net
        import anne_train
        with contextlib.redirect_stdout(io.StringIO()):  # (its note on a copied buffer)
            net = anne_net.load(bytes(data))
        try:
            net.compile(optimizer, "mse")
            p = anne_train._trained_part(net)
        except ValueError:
            return None
        net._backend = _NativeSizes(net._backend, net._layers[p:])
        sys.maxsize = (1 << 31) - 1  # (anne_train._heap_bytes: a 32-bit board's blocks)
        return anne_train.training_memory(net, net._compiled, int(batch))
    finally:
        sys.maxsize = maxsize
        for k in added:
            delattr(gc, k)


# ---------------------------------------------------------------------------

def estimate(source, batch=16):
    """The estimate as a dict: file_bytes, params, batch, training_ram (or
    None) and, per target, instructions, clock_mhz, us, ram_file,
    ram_in_place and training_ram."""
    model, data = parse(source)
    ram_file, ram_place = ram(model)
    train = training_memory(data, batch)
    out = {"file_bytes": len(data), "params": model.n_params, "batch": batch, "targets": {}}
    for target, name, mhz in BOARDS:
        n = instructions(model, target)
        out["targets"][target] = {"board": name, "instructions": n, "clock_mhz": mhz,
                                  "us": n / mhz, "ram_file": ram_file, "ram_in_place": ram_place,
                                  "training_ram": train}
    return out


def _kb(n):
    return "%.1f KB" % (n / 1024.0)


def report(e):
    """The estimate as text (a row per board class)."""
    lines = ["file %s bytes, %s parameters; estimated per board class:"
             % ("{:,}".format(e["file_bytes"]), "{:,}".format(e["params"]))]
    rows = [("board", "RAM: from file", "in place", "training (batch %d)" % e["batch"], "instructions",
             "time at clock")]
    for target, _, _ in BOARDS:
        t = e["targets"][target]
        train = _kb(t["training_ram"]) if t["training_ram"] is not None else "-"
        us = t["us"]
        time = ("%.1f ms" % (us / 1000.0)) if us >= 1000 else ("%.0f us" % us if us >= 10 else "%.1f us" % us)
        rows.append((t["board"], _kb(t["ram_file"]), _kb(t["ram_in_place"]), train,
                     "{:,}".format(t["instructions"]), "%s at %d MHz" % (time, t["clock_mhz"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if j == 0:
            lines.append("-" * len(lines[-1]))
    lines.append("RAM: heap beyond the board library's (from a file: weights in RAM; in place: the weights")
    lines.append("stay in flash); instructions: one predict_into(x, out); time = instructions / clock")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="What a model costs on a board, before flashing.")
    p.add_argument("model", help=".anne file, or a Keras model (.keras, .h5) converted in memory")
    p.add_argument("--batch", type=int, default=16, help="fit()'s batch size for the training figure (16)")
    a = p.parse_args(argv)
    if a.batch < 1:
        p.error("--batch must be at least 1")
    errors = (ValueError, OSError)
    if a.model.endswith((".keras", ".h5")):
        import anne_convert
        errors += (anne_convert.ConvertError,)
    try:
        e = estimate(a.model, a.batch)
    except errors as err:
        print("anne_estimate: error: %s" % err, file=sys.stderr)
        return 1
    print(report(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
