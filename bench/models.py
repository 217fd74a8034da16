#!/usr/bin/env python3
"""Whole models on the emulated boards: the four MLPerf Tiny reference
architectures (mlcommons/tiny's benchmark/training: the DS-CNN keyword
spotter, ResNet-8 with its residual Adds, MobileNetV1 0.25 for visual wake
words, the dense autoencoder for anomaly detection), float32, with
BatchNormalization folded as the converter folds it, and int8 as our own
quantizer makes them (tools/anne_quantize.py, TFLite's rules, calibrated on
8 seeded random rows).

    bench/models.py [--out build/bench] [--targets cortex-m3,...] [--models ds_cnn,...] [--dtypes float32,int8]

The weights are seeded random numbers (the instructions an inference takes
do not depend on them; only the layers and shapes matter), written with the
converter's own writer (tools/anne_format.py), so no TensorFlow is needed.
For each model and target: instructions per inference (qemu -icount
shift=0: the difference between 3 inferences and 1, halved), the activation
arena (net.memory()), the heap the loaded model takes, the bytes predict_into
allocates (0 expected) and the file's size; for int8, MLPerf Tiny's
published cycles beside them. A model that does not fit a board's heap is
reported as such. Writes OUT/models.md and OUT/models.json.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import anne_format as af  # noqa: E402
import anne_quantize  # noqa: E402

SAME, VALID = 1, 0


def _rng(seed):
    return np.random.default_rng(seed)


class Builder:
    """Layers of a float32 model, each with He-scaled random weights."""

    def __init__(self, in_shape, seed=1):
        self.in_shape, self.layers, self.rng = tuple(in_shape), [], _rng(seed)
        self.shapes = []

    def _w(self, shape, fan_in):
        return self.rng.normal(0, (2.0 / fan_in) ** 0.5, shape).astype(np.float32)

    def _b(self, n):
        return self.rng.normal(0, 0.05, n).astype(np.float32)

    def add(self, spec):
        self.layers.append(spec)
        return len(self.layers) - 1

    def conv(self, cin, filters, k, s=1, act="relu", inputs=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (s, s) if isinstance(s, int) else s
        return self.add(af.LayerSpec(act, self._w((kh, kw, cin, filters), kh * kw * cin), self._b(filters),
                                     kind="conv2d", kparams=(kh, kw, sh, sw, SAME, 1, 1), inputs=inputs))

    def depthwise(self, c, s=1):
        return self.add(af.LayerSpec("relu", self._w((3, 3, c), 9), self._b(c), kind="depthwise_conv2d",
                                     kparams=(3, 3, s, s, SAME, 1, 1, 1)))

    def dense(self, n_in, units, act="relu"):
        return self.add(af.LayerSpec(act, self._w((n_in, units), n_in), self._b(units)))

    def average_pool(self, ph, pw):
        return self.add(af.LayerSpec("linear", kind="average_pooling2d", kparams=(ph, pw, ph, pw, VALID)))

    def flatten(self):
        return self.add(af.LayerSpec("linear", kind="flatten"))

    def add_relu(self, a, b):
        return self.add(af.LayerSpec("relu", kind="add", inputs=(a, b)))

    def encode(self):
        return af.encode(self.in_shape, self.layers, version=3)


def ds_cnn():
    """Keyword spotting: 49 x 10 x 1 MFCCs, 12 classes."""
    m = Builder((49, 10, 1))
    m.conv(1, 64, (10, 4), 2)
    for _ in range(4):
        m.depthwise(64)
        m.conv(64, 64, 1)
    m.average_pool(24, 5)
    m.flatten()
    m.dense(64, 12, "softmax")
    return m.encode()


def resnet8():
    """Image classification: 32 x 32 x 3 (CIFAR-10), 10 classes."""
    m = Builder((32, 32, 3))
    x = m.conv(3, 16, 3)
    y = m.conv(16, 16, 3)
    y = m.conv(16, 16, 3, act="linear")
    x = m.add_relu(x, y)
    for cin, n in ((16, 32), (32, 64)):
        y = m.conv(cin, n, 3, 2)
        y = m.conv(n, n, 3, act="linear")
        s = m.conv(cin, n, 1, 2, act="linear", inputs=(x,))
        x = m.add_relu(s, y)
    m.average_pool(8, 8)
    m.flatten()
    m.dense(64, 10, "softmax")
    return m.encode()


def mobilenet_vww():
    """Visual wake words: 96 x 96 x 3, 2 classes (MobileNetV1, alpha 0.25)."""
    m = Builder((96, 96, 3))
    n = 8
    m.conv(3, n, 3, 2)
    for s, grow in ((1, 1), (2, 1), (1, 0), (2, 1), (1, 0), (2, 1), (1, 0), (1, 0), (1, 0), (1, 0), (1, 0),
                    (2, 1), (1, 0)):
        m.depthwise(n, s)
        m.conv(n, n * 2 if grow else n, 1)
        n = n * 2 if grow else n
    m.average_pool(3, 3)
    m.flatten()
    m.dense(n, 2, "softmax")
    return m.encode()


def autoencoder():
    """Anomaly detection: 640 inputs (5 frames of 128 mel bands) back to 640."""
    m = Builder((640,))
    n = 640
    for u in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        m.dense(n, u)
        n = u
    m.dense(n, 640, "linear")
    return m.encode()


MODELS = {"ds_cnn": ds_cnn, "resnet8": resnet8, "mobilenet_vww": mobilenet_vww, "autoencoder": autoencoder}
# MLPerf Tiny's published latencies as cycles, int8 (../shared/reference/int8.md: ms x MHz): the
# Cortex-M0+ entry (STM32 G0B1, 64 MHz) and TFLite Micro + CMSIS-NN on the Cortex-M4F (STM32 L4R5,
# 120 MHz): the issue's targets for int8 (instructions are not cycles).
PUBLISHED = {"cortex-m0": {"ds_cnn": 43.5e6, "mobilenet_vww": 119.6e6, "resnet8": 106.8e6, "autoencoder": 2.98e6},
             "cortex-m4f": {"ds_cnn": 21.8e6, "mobilenet_vww": 72.1e6, "resnet8": 84.5e6, "autoencoder": 1.21e6}}
TARGETS = ("cortex-m3", "cortex-m4f", "cortex-m0", "riscv32")
DTYPES = ("float32", "int8")


def int8_model(data, seed=2):
    """The float model (its file's bytes) quantized by tools/anne_quantize.py
    on 8 seeded random rows of its input (the ranges only set the scales)."""
    m = af.parse(data)
    rows = _rng(seed).normal(0, 1, (8, m.n_inputs)).astype(np.float32)
    specs = anne_quantize.quantize_file(data, rows)
    return af.encode(tuple(m.input_shape), specs, version=3)

BOARD_SCRIPT = """
import gc
from array import array
import anne_net
int8 = %(int8)r
# (the input and output buffers first, as an application makes them at
# boot: one block each, no bytes copied in)
x = array("b" if int8 else "f", range(%(n_in)d))
for i in range(len(x)):
    x[i] = ((i * 7919) %% 256 - 128) if int8 else ((i * 7919) %% 200 - 100) / 100.0
out = array("b" if int8 else "f", range(%(n_out)d))
gc.collect()
a0 = gc.mem_alloc()
net = anne_net.load(%(file)r)
gc.collect()
print("heap", gc.mem_alloc() - a0)
print("arena", net.memory()["arena"])
net.predict_into(x, out)
gc.collect()
gc.disable()
a0 = gc.mem_alloc()
for _ in range(%(runs)d):
    net.predict_into(x, out)
print("alloc", gc.mem_alloc() - a0)
gc.enable()
"""


def run(target, path, runs):
    """tools/run-on --count on the model at path: {heap, arena, alloc,
    instructions} or {error}."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "bench_model.py")
        with open(script, "w") as f:
            with open(path, "rb") as model:
                m = af.parse(model.read())
            f.write(BOARD_SCRIPT % {"file": os.path.basename(path), "runs": runs, "int8": m.dtype == "int8",
                                    "n_in": m.n_inputs, "n_out": m.n_outputs})
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run-on"), "--count", "--timeout", "1200",
                            target, script, path], capture_output=True, text=True)
    out = p.stdout + p.stderr
    got = dict((k, int(v)) for k, v in re.findall(r"^(heap|arena|alloc) (\d+)$", out, re.M))
    n = re.search(r"took (\d+) instructions", out)
    if p.returncode or len(got) != 3 or not n:
        err = re.findall(r"^(\w*Error: .*)$", out, re.M)
        return {"error": err[-1] if err else out.strip().splitlines()[-1:]}
    got["instructions"] = int(n.group(1))
    return got


def measure(target, path):
    one, three = run(target, path, 1), run(target, path, 3)
    if "error" in one or "error" in three:
        return {"error": one.get("error") or three.get("error")}
    one["per_inference"] = (three["instructions"] - one["instructions"]) // 2
    one["alloc"] = max(one["alloc"], three["alloc"])
    return one


def table(results):
    lines = ["| model | dtype | file bytes | target | instructions per inference | MLPerf Tiny published cycles "
             "| arena bytes | heap after load | bytes allocated per inference |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for key, r in results.items():
        name, dtype = r["model"], r["dtype"]
        for target, m in r["targets"].items():
            pub = PUBLISHED.get(target, {}).get(name) if dtype == "int8" else None
            pub = "%.1f M" % (pub / 1e6) if pub else ""
            if "error" in m:
                lines.append("| %s | %s | %d | %s | does not run: %s | %s | | | |" % (
                    name, dtype, r["bytes"], target, m["error"], pub))
            else:
                lines.append("| %s | %s | %d | %s | %s | %s | %d | %d | %d |" % (
                    name, dtype, r["bytes"], target, format(m["per_inference"], ","), pub, m["arena"], m["heap"],
                    m["alloc"] // 3))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--dtypes", default=",".join(DTYPES))
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    results = {}
    for name in a.models.split(","):
        data = MODELS[name]()
        for dtype in a.dtypes.split(","):
            key = name if dtype == "float32" else name + "_int8"
            path = os.path.join(a.out, key + ".anne")
            blob = data if dtype == "float32" else int8_model(data)
            with open(path, "wb") as f:
                f.write(blob)
            results[key] = {"model": name, "dtype": dtype, "bytes": len(blob), "targets": {}}
            for target in a.targets.split(","):
                results[key]["targets"][target] = m = measure(target, path)
                print(key, target, m, flush=True)
    with open(os.path.join(a.out, "models.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = ["# Whole models: MLPerf Tiny's architectures (bench/models.py)", ""] + table(results)
    with open(os.path.join(a.out, "models.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
