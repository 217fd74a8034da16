# The bits of every kernel's output on a fixed battery of inputs, one
# "key hex" line each, for tests/host/test_kernel_bits.py, which runs this
# script on two emulated boards whose Rust kernels take the same fast paths
# (build.rs's capabilities: soft float, hardware divide, 32x32->64 products:
# the Cortex-M3 and the rv32imac core) and requires the same bits from both:
# the exact-integer dense sums (mul/mulhu on RISC-V, UMULL/SMULL on Arm),
# the integer exp, ln, sigmoid and division, every activation forward and
# backward, the Conv1D/pooling/affine layers of the Keras fixture models,
# SGD and Adam steps and whole fit() runs. Not a test_* script: the board
# test runner does not run it by itself.
# Files: the fixture models (*.anne and *.json) to predict with.
import gc
import json
import os
from array import array
from binascii import hexlify

import anne
import anne_net
from anne_net import Dense, Sequential

_state = [12345]


def rand():
    """A float in [-1, 1) from a 31-bit LCG (the same sequence everywhere)."""
    s = (_state[0] * 1103515245 + 12345) & 0x7FFFFFFF
    _state[0] = s
    return (s >> 8) / 4194304.0 - 1.0


def floats(n, scale=1.0):
    return array("f", [rand() * scale for _ in range(n)])


SPECIALS = [0.0, -0.0, 1e-45, -1e-45, 1.2e-38, 3.4e38, -3.4e38, float("inf"), float("-inf"), float("nan"),
            88.7, -87.3, 103.9, -103.9, 0.5, -0.5, 15.9, -15.9, 1e-7, 7.0, -7.0]


def inputs(n):
    """Typical values, a wide range of magnitudes and the special values."""
    x = floats(n, 4.0)
    for i in range(n // 4):
        x[n // 4 + i] = rand() * 10.0 ** (int(rand() * 40) - 20)
    for i, v in enumerate(SPECIALS):
        if i < n // 4:
            x[n - 1 - i] = v
    return x


def show(key, buf):
    print(key, hexlify(bytes(buf)).decode())


def activations():
    names = [n for n in anne.ACTIVATIONS if n not in ("",)]
    for name in names:
        x = inputs(64)
        y = array("f", x)
        try:
            anne.activate(y, name)
        except (ValueError, TypeError) as e:
            print("activate", name, "refused", type(e).__name__)
            continue
        show("activate " + name, y)
        y = floats(40, 8.0)
        anne.activate(y, name)
        show("activate typical " + name, y)
        n_out = len(x) // 2 if name == "glu" else len(x)
        x = floats(16, 3.0)
        y = array("f", x)
        anne.activate(y, name)
        dy = floats(len(x))
        dz = array("f", bytearray(4 * len(x)))
        try:
            anne.activation_backward(x, memoryview(y)[:n_out if name == "glu" else len(x)], dy, dz, name)
        except (ValueError, TypeError) as e:
            print("backward", name, "refused", type(e).__name__)
            continue
        show("backward " + name, dz)
        gc.collect()


def dense():
    for n_in, units, act, scale in ((1, 1, "linear", 1.0), (3, 5, "relu", 2.0), (17, 9, "sigmoid", 3.0),
                                    (64, 64, "linear", 1.0), (40, 10, "softmax", 1.0), (8, 8, "tanh", 100.0),
                                    (33, 7, "linear", 1e-30), (12, 6, "linear", 1e30)):
        x = floats(n_in, scale)
        k = floats(n_in * units, scale)
        b = floats(units, scale)
        out = array("f", bytearray(4 * units))
        anne.dense(x, k, b, out, act)
        show("dense %dx%d %s %g" % (n_in, units, act, scale), out)
        anne.dense(x, k, None, out, act)
        show("dense nobias %dx%d %s %g" % (n_in, units, act, scale), out)
        if units <= 16:
            dz = floats(units)
            gk = array("f", bytearray(4 * n_in * units))
            gb = array("f", bytearray(4 * units))
            dx = array("f", bytearray(4 * n_in))
            anne.dense_backward(x, k, dz, 0.25, gk, gb, dx)
            show("dense_backward %dx%d" % (n_in, units), gk + gb + dx)
        del x, k, b, out
        gc.collect()
    x = inputs(32)
    k = inputs(32 * 4)
    out = array("f", bytearray(16))
    anne.dense(x, k, None, out)
    show("dense specials", out)


def optimizers():
    w, g = floats(24), floats(24, 0.1)
    m = array("f", bytearray(96))
    for nesterov in (False, True):
        for step in range(3):
            anne.sgd(w, g, m, 0.01, 0.9, nesterov)
        show("sgd nesterov=%d" % nesterov, w + m)
    w, g = floats(24), floats(24, 0.1)
    m, v = array("f", bytearray(96)), array("f", bytearray(96))
    for step in range(1, 4):
        anne.adam(w, g, m, v, 0.001 * step, 0.9, 0.999, 1e-7)
    show("adam", w + m + v)


def fits():
    for opt, loss, act in (("adam", "categorical_crossentropy", "softmax"), ("sgd", "mse", "linear"),
                           ("adam", "binary_crossentropy", "sigmoid"), ("sgd", "mae", "tanh")):
        _state[0] = 777
        anne_net.seed(5)
        net = Sequential(6)
        net.add(Dense(12, "relu"))
        net.add(Dense(8, "gelu"))
        net.add(Dense(3, act))
        net.compile(opt, loss)
        x = [[rand() * 2 for _ in range(6)] for _ in range(24)]
        if loss == "categorical_crossentropy":
            y = [[1.0 if j == i % 3 else 0.0 for j in range(3)] for i in range(24)]
        elif loss == "binary_crossentropy":
            y = [[float((i + j) % 2) for j in range(3)] for i in range(24)]
        else:
            y = [[rand() for _ in range(3)] for _ in range(24)]
        h = net.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
        print("fit %s %s loss" % (opt, loss), hexlify(array("f", h.history["loss"])).decode())
        show("fit %s %s predict" % (opt, loss), array("f", net.predict(x[0])))
        del net, x, y, h
        gc.collect()


def models():
    for name in sorted(n[:-5] for n in os.listdir() if n.endswith(".anne")):
        net = anne_net.load(name + ".anne")
        with open(name + ".json") as f:
            xs = json.load(f)["x"]
        bits = bytearray()
        for x in xs:
            bits += bytes(array("f", net.predict(x)))
        show("model " + name, bits)
        del net, xs, bits
        gc.collect()


activations()
dense()
optimizers()
fits()
models()
print("kernel_bits: done")
