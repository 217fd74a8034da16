#!/usr/bin/env python3
"""Writes the fixtures of the board's net.quantize(rows) tests
(tests/board/test_quantize*.py) with our own quantizer, no TensorFlow:

    python3 tools/make_quant_board_fixtures.py [NAME ...]

For each model NAME (default: all) it writes to tests/fixtures/quant/:
- quant_<name>_float.anne: the float network the board quantizes;
- quant_<name>_calibration.f32 (float32 bytes, rows x inputs: exact on a
  float32 port, whose decimal parsing may differ from the PC's in a last
  bit) or, for relu_softmax and tanh_wide, _calibration.json: the rows;
- quant_<name>_int8.anne: what `anne-convert --quantize int8` makes of
  them on the PC (tools/anne_quantize.py), the file the board's result is
  compared with (tables: also _elu_int8.anne, layer 1 made elu).

The models: the Keras models of tools/make_int8_quant_fixtures.py
(quant_<name>.keras, quant_<name>_calibration.npy: relu_softmax, tanh_wide,
cnn2d, hard_swish, concat, tables, resnet: Conv2D branches joined by an Add
with a fused relu, then a Subtract) and one made here from seeded numpy
weights: merges, a Dense graph with every int8 merge (build_merges()).
tests/host/test_quantize.py checks that the files are these.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_convert  # noqa: E402
import anne_format  # noqa: E402
import anne_quantize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUANT = os.path.join(ROOT, "tests", "fixtures", "quant")
KERAS = ("relu_softmax", "tanh_wide", "cnn2d", "hard_swish", "concat", "tables", "resnet")
JSON_ROWS = ("relu_softmax", "tanh_wide")     # (their rows as JSON: the doc example reads them)
NO_INT8 = ("tanh_wide",)                       # (the board's refusals: no int8 file)


def _merges_specs(rng):
    def q4(v):      # multiples of 1/4: few significant bits
        return (np.round(np.asarray(v) * 4) / 4).astype(np.float32)

    def dense(act, n_in, units, inputs):
        k = q4(np.clip(rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, units)), -1, 1))
        return anne_format.LayerSpec(act, k, q4(rng.normal(0.0, 0.3, units)), inputs=inputs)

    def merge(kind, act, inputs):
        return anne_format.LayerSpec(act, kind=kind, inputs=inputs)

    specs = [dense("relu", 6, 8, (-1,)), dense("linear", 8, 6, (0,)), merge("add", "relu", (-1, 1)),
             dense("relu6", 6, 5, (2,)), dense("linear", 6, 5, (2,)), merge("subtract", "linear", (3, 4)),
             merge("multiply", "relu", (3, 4)), merge("concatenate", "linear", (5, 6)),
             dense("softmax", 10, 3, (7,))]
    rows = q4(np.clip(np.concatenate([rng.normal(0.0, 1.0, (44, 6)), rng.normal(0.0, 2.0, (4, 6))]), -3, 3)) + 0.0
    return specs, rows


def _exact(specs, rows):
    """True if every float32 value the float network computes on rows is
    exact, in any order of its sums: values are multiples of a power of two
    (g: the rows' 1/4, times 1/4 per Dense, squared by a Multiply), and no
    sum of absolute terms reaches 2**24 of them (then every partial sum is
    a float32 exactly, and so is every product)."""
    NET = anne_format.anne_file.NETWORK_INPUT
    vals, grans = {NET: rows.astype(np.float64)}, {NET: 0.25}
    for i, s in enumerate(specs):
        xs, gs = [vals[j] for j in s.inputs], [grans[j] for j in s.inputs]
        kind = anne_format.anne_ops.LAYER_NAMES[s.kind]
        if kind == "dense":
            g = gs[0] * 0.25
            bound = np.abs(xs[0]) @ np.abs(s.kernel.astype(np.float64)) + np.abs(s.bias)
            y = xs[0] @ s.kernel.astype(np.float64) + s.bias
        elif kind == "multiply":
            g, y = gs[0] * gs[1], xs[0] * xs[1]
            bound = np.abs(y)
        elif kind == "concatenate":
            g, y = min(gs), np.concatenate(xs, axis=1)
            bound = np.abs(y)
        else:
            g, y = min(gs), xs[0] + xs[1] if kind == "add" else xs[0] - xs[1]
            bound = np.abs(xs[0]) + np.abs(xs[1])
        if bound.max() >= (1 << 24) * g:
            return False
        if s.activation in ("relu", "relu6"):
            y = np.clip(y, 0.0, 6.0 if s.activation == "relu6" else None)
        vals[i], grans[i] = y, g
    return True


def build_merges(seed=2031):
    """A Dense graph on 6 inputs with each int8 merge, (its anne_convert
    Converted, 48 calibration rows): 0 Dense 8 relu; 1 Dense 6; 2 Add(input,
    1) then relu (a residual of the network's input); 3 Dense 5 relu6 and
    4 Dense 5 of 2; 5 Subtract(3, 4); 6 Multiply(3, 4) then relu; 7
    Concatenate(5, 6) (the merges take the join's quantization); 8 Dense 3
    softmax. Its weights, biases and rows are multiples of 1/4 (from the
    first seed at or after `seed` that makes them so) such that every float
    value it computes on the rows is exact (_exact): the board's float
    kernels, summing in their own order, calibrate the same ranges as the
    PC's numpy, and quantize to the same scales."""
    while True:
        specs, rows = _merges_specs(np.random.default_rng(seed))
        if _exact(specs, rows):
            break
        seed += 1
    sources = [["%s_%d" % (anne_format.anne_ops.LAYER_NAMES[s.kind], i)] for i, s in enumerate(specs)]
    return anne_convert.Converted((6,), specs, sources, [], "", "quant_merges"), rows


def model(name):
    """(anne_convert Converted, calibration rows float32) of model name."""
    if name == "merges":
        return build_merges()
    base = os.path.join(QUANT, "quant_" + name)
    return anne_convert.convert(base + ".keras"), np.load(base + "_calibration.npy").astype(np.float32)


def files(name):
    """{fixture file name: its bytes} of model name."""
    conv, rows = model(name)
    out = {"_float.anne": conv.encode()}
    if name in JSON_ROWS:
        out["_calibration.json"] = (json.dumps([[float(v) for v in r] for r in rows]) + "\n").encode()
    else:
        out["_calibration.f32"] = rows.astype("<f4").tobytes()
    if name not in NO_INT8:
        out["_int8.anne"] = anne_quantize.quantize(conv, rows).encode()
    if name == "tables":    # the board edits layer 1 to elu (LiteRT's int8 ELU table) and quantizes again
        conv.specs[1].activation = "elu"
        out["_elu_int8.anne"] = anne_quantize.quantize(conv, rows).encode()
    return {"quant_" + name + k: v for k, v in out.items()}


def main():
    for name in sys.argv[1:] or KERAS + ("merges",):
        for fname, data in files(name).items():
            with open(os.path.join(QUANT, fname), "wb") as f:
                f.write(data)
            print("%-36s %6d bytes" % (fname, len(data)))


if __name__ == "__main__":
    main()
