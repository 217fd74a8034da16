# files: tests/fixtures/activations.json
# files: tests/fixtures/dense.json
# Every activation and dense layers of several sizes through the native
# `anne` module, against the outputs Keras 3 itself computed
# (tools/make_activation_fixtures.py).
# Tolerance: 1e-6 absolute + 1e-6 relative; exp-based functions get 1e-5 on
# the single-precision ports (qemu), where float parsing and libm round in f32.
# The fixture files hold one case per line, so that a board with a small heap
# parses one case at a time; the runner gives the script one file per run.
import gc
import json
import os
import sys
from array import array

import anne

SINGLE = sys.platform != "linux"  # the qemu port's float is float32
EXP_BASED = (
    "sigmoid", "tanh", "softmax", "elu", "selu", "celu", "exponential", "gelu", "glu",
    "log_sigmoid", "log_softmax", "mish", "silu", "swish", "softplus", "tanh_shrink",
)
SPECIAL = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}

passed = failed = 0


def number(v):
    return SPECIAL[v] if isinstance(v, str) else v


def cases(path, key):
    """Yields the cases of one fixture file, one line at a time. A "kernel"
    list is read straight into an array('f'): a 64x64 kernel as a list of
    float objects would take 80 KB more than the array, more than a
    Cortex-M0 with the native module loaded has free in one piece."""
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line.endswith(b","):
                line = line[:-1]
            if line.startswith(b"{\"" + key):
                kernel, line = take_floats(line, b'"kernel":[')
                case = json.loads(line)
                line = None
                if kernel is not None:
                    case["kernel"] = kernel
                yield case


def take_floats(line, start):
    """(array('f') of the list after start, line with null in its place),
    or (None, line) if line has no such list."""
    k = line.find(start)
    if k < 0:
        return None, line
    i = k + len(start)
    end = line.find(b"]", i)
    # allocated once, at its size (growing it would need two blocks at once)
    values = array("f", range(line.count(b",", i, end) + 1 if end > i else 0))
    n = 0
    while i < end:
        j = line.find(b",", i, end)
        j = end if j < 0 else j
        values[n] = float(line[i:j])
        n += 1
        i = j + 1
    return values, line[:k + len(start) - 1] + b"null" + line[end + 1:]


def close(got, want, tol):
    if want != want:
        return got != got
    if want in (float("inf"), float("-inf")):
        return got == want
    return abs(got - want) <= tol + tol * abs(want)


def compare(label, got, want, name):
    global passed, failed
    tol = 1e-5 if SINGLE and name in EXP_BASED else 1e-6
    bad = [i for i in range(len(want)) if not close(got[i], want[i], tol)]
    if bad:
        failed += 1
        i = bad[0]
        print("FAIL %s: %d of %d values off, first at [%d]: got %r, Keras %r"
              % (label, len(bad), len(want), i, got[i], want[i]))
    else:
        passed += 1


FILES = os.listdir()
n_act = n_dense = 0
if "activations.json" in FILES:
    for case in cases("activations.json", b"name"):
        name, params = case["name"], case["params"]
        x = array("f", [number(v) for v in case["x"]])
        want = [number(v) for v in case["y"]]
        n_out = anne.activate(x, name, **params)
        compare("activate %s %s" % (name, params), x[:n_out], want, name)
        # The same through a pre-parsed Activation object.
        x2 = array("f", [number(v) for v in case["x"]])
        anne.activate(x2, anne.Activation(name, **params))
        compare("Activation(%s) %s" % (name, params), x2[:n_out], want, name)
        n_act += 1
        case = x = x2 = want = None
        gc.collect()
    if n_act < 60:
        print("FAIL: too few activation cases read (%d)" % n_act)
        failed += 1

if "dense.json" in FILES:
    for case in cases("dense.json", b"activation"):
        name, params = case["activation"], case["params"]
        units = case["units"]
        x = array("f", case["x"])
        kernel = case["kernel"]  # an array("f") already (cases())
        bias = None if case["bias"] is None else array("f", case["bias"])
        out = array("f", [0.0] * (units // 2 if name == "glu" else units))
        anne.dense(x, kernel, bias, out, name, **params)
        compare("dense %dx%d %s" % (case["n_in"], units, name), out, [number(v) for v in case["y"]], name)
        # GC stress: the same call with collections in between gives the same bits.
        first = bytes(out)
        for _ in range(5):
            gc.collect()
            anne.dense(x, kernel, bias, out, activation=name, **params)
            if bytes(out) != first:
                print("FAIL dense %s changed after gc.collect()" % name)
                failed += 1
                break
        else:
            passed += 1
        n_dense += 1
        case = x = kernel = bias = out = None
        gc.collect()

    # argmax against the obvious loop (first index on ties).
    for values in ([1.0, 3.0, 3.0, -1.0], [-5.0], [0.0, float("nan"), 2.0, 1.0], [-1e30, -1e31]):
        want = 0
        for i in range(len(values)):
            if values[i] > values[want]:
                want = i
        got = anne.argmax(array("f", values))
        if got == want:
            passed += 1
        else:
            failed += 1
            print("FAIL argmax(%r) = %d, expected %d" % (values, got, want))
    if n_dense < 8:
        print("FAIL: too few dense cases read (%d)" % n_dense)
        failed += 1

if n_act + n_dense == 0:
    raise AssertionError("no fixture file was given to the board")
print("activation cases: %d, dense cases: %d" % (n_act, n_dense))
print("test_keras_kernels: %d passed, %d failed" % (passed, failed))
if failed:
    raise SystemExit(1)
