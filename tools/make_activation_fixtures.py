#!/usr/bin/env python3
"""Writes the Keras reference fixtures that anne's kernels are tested against.

Run (needs TensorFlow 2.x with Keras 3; checked with TF 2.21, Keras 3.15.1):

    python3 tools/make_activation_fixtures.py            # writes the files
    python3 tools/make_activation_fixtures.py --check    # fails if they differ

Outputs (both small, simple JSON, so that MicroPython on a 256 KB-RAM board
can parse each one in one piece):

  tests/fixtures/activations.json
    {"generator": str, "keras": str, "tensorflow": str,
     "activations": [
        {"name": keras name, e.g. "leaky_relu",
         "params": {keras keyword: value, ...}   ({} = Keras defaults),
         "x": [float32 inputs],
         "y": [expected float32 outputs]          (len(x), or len(x)/2 for glu),
         "keras_differs": [ {"i": index, "keras": what Keras gave,
                             "why": reason}, ... ]   (only when non-empty)
        }, ...]}

  tests/fixtures/dense.json
    {"generator": ..., "keras": ..., "tensorflow": ...,
     "dense": [
        {"activation": keras name, "params": {...}, "n_in": int, "units": int,
         "x": [n_in], "kernel": [n_in * units, Keras layout: row i holds the
         weights from input i, kernel[i * units + j]],
         "bias": [units] or null (use_bias=False),
         "y": [units, or units / 2 for glu]}, ...]}

Numbers: every value is a float32. Finite values are written as the shortest
decimal that reads back (as a double, then rounded to float32) to the same
float32; the script checks this for every value it writes. JSON has no
inf/nan, so non-finite values are the strings "inf", "-inf" and "nan".

Params use Keras's keyword names: negative_slope, max_value, threshold
(relu, hard_shrink, soft_shrink, threshold), alpha (elu, celu), approximate
(gelu, a JSON bool), default_value (threshold), b (squareplus).

Where the "y" values come from:
  - Activations: `keras.activations.<name>(x, **params)` on a float32 numpy
    vector. Each Keras result is also compared with a float64 reference
    written out in this file; where they disagree by more than
    1e-6 + 1e-5 * |reference|, "y" holds the reference (rounded to float32)
    and "keras_differs" records what Keras gave and why. Known cases:
      * x * g(x) forms at x = -inf (silu, gelu, hard_silu, mish) and
        softsign(+-inf), where float32 arithmetic gives inf * 0 = nan but
        the limit exists;
      * squareplus for negative x, where (x + sqrt(x^2 + b)) / 2 cancels;
      * sparsemax whenever more than one entry is in the support: Keras
        3.15's sparsemax sums the cumulative sums over the support
        (keras-team/keras#23425, fixed upstream by #23469), so it is
        replaced by the Martins & Astudillo definition.
  - Dense: `keras.layers.Dense(units, activation, use_bias)` with
    `set_weights` and a call on a (1, n_in) batch. Inputs are float32 values
    with 4 significant digits (short to write, exact to read).
Inputs avoid subnormals: TensorFlow's CPU kernels flush them to zero.
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIVATIONS_PATH = os.path.join(ROOT, "tests", "fixtures", "activations.json")
DENSE_PATH = os.path.join(ROOT, "tests", "fixtures", "dense.json")

ATOL = 1e-6
RTOL = 1e-5

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------- numbers


def encode(value):
    """One float32 as JSON: shortest round-tripping decimal, or a string."""
    v = np.float32(value)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = str(v)  # numpy's shortest repr that round-trips as float32
    back = float(text)
    if np.float32(back) != v or math.copysign(1, back) != math.copysign(1, v):
        raise AssertionError(f"{text!r} does not read back as {v!r}")
    return back


def encode_list(values):
    return [encode(v) for v in np.asarray(values, dtype=np.float32).ravel()]


# ------------------------------------------------ float64 reference (numpy)


def _where_minus_inf(x, y, value=0.0):
    """y, but `value` where x == -inf (limits of x * g(x) forms)."""
    return np.where(x == -np.inf, value, y)


def _sigmoid(x):
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    with np.errstate(all="ignore"):
        return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras 3 ReLU.static_call, in float64.
    if negative_slope != 0 and max_value is None and threshold == 0:
        return np.where(x > 0, x, negative_slope * x)
    with np.errstate(all="ignore"):
        if threshold != 0:
            y = np.where(x > threshold, x, 0.0)
        else:
            y = np.where(np.isnan(x), x, np.maximum(x, 0.0))
        if max_value is not None:
            y = np.clip(y, 0.0, max_value)
        if negative_slope != 0:
            y = y - negative_slope * np.maximum(threshold - x, 0.0)
    return y


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _gelu(x, approximate=False):
    with np.errstate(all="ignore"):
        if approximate:
            y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        else:
            y = 0.5 * x * _erfc(-x / math.sqrt(2))
    return _where_minus_inf(x, y)


def _squareplus(x, b=4.0):
    with np.errstate(all="ignore"):
        root = np.hypot(x, math.sqrt(b))
        return np.where(x < 0, b / (2 * (root - x)), 0.5 * x + 0.5 * root)


def _softmax(x):
    with np.errstate(all="ignore"):
        e = np.exp(x - np.max(x))
        return e / np.sum(e)


def _log_softmax(x):
    with np.errstate(all="ignore"):
        z = x - np.max(x)
        return z - np.log(np.sum(np.exp(z)))


def _sparsemax(x):
    """Euclidean projection onto the simplex (Martins & Astudillo 2016).
    NaN or +inf anywhere, or all -inf: NaN everywhere (like softmax)."""
    if np.any(np.isnan(x)) or np.any(x == np.inf) or np.all(x == -np.inf):
        return np.full_like(x, np.nan)
    z = x - np.max(x)
    finite = z[np.isfinite(z)]
    s = np.sort(finite)[::-1]
    cumsum = np.cumsum(s)
    k = np.arange(1, len(s) + 1)
    support = 1 + k * s > cumsum
    k_max = k[support][-1]
    tau = (cumsum[k_max - 1] - 1) / k_max
    with np.errstate(all="ignore"):
        return np.maximum(z - tau, 0.0)


def _glu(x):
    a, b = np.split(x, 2)
    return a * _sigmoid(b)


def reference(name, x, params):
    """Float64 reference of Keras 3 activation `name` on float64 `x`."""
    p = params
    with np.errstate(all="ignore"):
        table = {
            "linear": lambda: x,
            "relu": lambda: _relu(x, p.get("negative_slope", 0.0), p.get("max_value"),
                                  p.get("threshold", 0.0)),
            "sigmoid": lambda: _sigmoid(x),
            "tanh": lambda: np.tanh(x),
            "softmax": lambda: _softmax(x),
            "leaky_relu": lambda: np.where(x > 0, x, p.get("negative_slope", 0.2) * x),
            "elu": lambda: np.where(x > 0, x, p.get("alpha", 1.0) * np.expm1(x)),
            "selu": lambda: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
            "celu": lambda: np.maximum(x, 0.0) + p.get("alpha", 1.0) * np.expm1(
                np.minimum(x, 0.0) / p.get("alpha", 1.0)),
            "exponential": lambda: np.exp(x),
            "gelu": lambda: _gelu(x, p.get("approximate", False)),
            "glu": lambda: _glu(x),
            "hard_shrink": lambda: np.where(np.abs(x) > p.get("threshold", 0.5), x, 0.0),
            "hard_sigmoid": lambda: np.clip(x + 3, 0, 6) / 6,
            "hard_silu": lambda: _where_minus_inf(x, x * np.clip(x + 3, 0, 6) / 6),
            "hard_tanh": lambda: np.clip(x, -1, 1),
            "log_sigmoid": lambda: -_softplus(-x),
            "log_softmax": lambda: _log_softmax(x),
            "mish": lambda: _where_minus_inf(x, x * np.tanh(_softplus(x))),
            "relu6": lambda: np.clip(x, 0, 6),
            "silu": lambda: _where_minus_inf(x, x * _sigmoid(x)),
            "soft_shrink": lambda: np.where(
                x > p.get("threshold", 0.5), x - p.get("threshold", 0.5),
                np.where(x < -p.get("threshold", 0.5), x + p.get("threshold", 0.5), 0.0)),
            "softplus": lambda: _softplus(x),
            "softsign": lambda: np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x))),
            "sparse_plus": lambda: np.where(x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
            "sparse_sigmoid": lambda: np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, (x + 1) / 2)),
            "sparsemax": lambda: _sparsemax(x),
            "squareplus": lambda: _squareplus(x, p.get("b", 4.0)),
            "tanh_shrink": lambda: x - np.tanh(x),
            "threshold": lambda: np.where(x > p["threshold"], x, p["default_value"]),
        }
        return np.asarray(table[name](), dtype=np.float64)


def agrees(got, want):
    """Element-wise: got (float32) is within tolerance of want (float64)."""
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(all="ignore"):
        # A reference beyond float32's range is float32's infinity.
        big = np.abs(want) > np.finfo(np.float32).max
        want = np.where(big, np.sign(want) * np.inf, want)
        same_special = (np.isnan(got) & np.isnan(want)) | (got == want)
        near = np.abs(got - want) <= ATOL + RTOL * np.abs(want)
    return same_special | near


# ------------------------------------------------------------------ cases

ELEMENTWISE_X = np.concatenate([
    np.linspace(-6, 6, 41),
    [-3, 3, -1, 1, -0.5, 0.5, -1e-3, 1e-3, -1e-7, 1e-7, -0.0, 0.0,
     -20, 20, -88, 88, -100, 100, -1e4, 1e4, -np.inf, np.inf, np.nan],
]).astype(np.float32)

ELEMENTWISE = [
    ("linear", {}), ("relu", {}),
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 1.0}),
    ("relu", {"negative_slope": 0.1, "max_value": 6.0}),
    ("relu", {"negative_slope": 0.1, "max_value": 6.0, "threshold": 1.0}),
    ("relu", {"negative_slope": 0.1, "threshold": -1.0}),
    ("sigmoid", {}), ("tanh", {}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.1}),
    ("elu", {}), ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("celu", {}), ("celu", {"alpha": 0.5}),
    ("exponential", {}),
    ("gelu", {}), ("gelu", {"approximate": False}), ("gelu", {"approximate": True}),
    ("hard_shrink", {}), ("hard_shrink", {"threshold": 1.0}),
    ("hard_sigmoid", {}), ("hard_silu", {}), ("hard_tanh", {}),
    ("log_sigmoid", {}), ("mish", {}), ("relu6", {}), ("silu", {}),
    ("soft_shrink", {}), ("soft_shrink", {"threshold": 1.0}),
    ("softplus", {}), ("softsign", {}), ("sparse_plus", {}), ("sparse_sigmoid", {}),
    ("squareplus", {}), ("squareplus", {"b": 1.0}),
    ("tanh_shrink", {}),
    ("threshold", {"threshold": 0.5, "default_value": -1.0}),
]

VECTOR_NAMES = ["softmax", "log_softmax", "sparsemax"]


def vector_inputs():
    rng = np.random.default_rng(20261128)
    inf, nan = np.inf, np.nan
    vectors = [
        [0.0], [2.5],
        [0.0, 0.5, 1.0],
        [1.0, 1.2],
        [3.0, 3.0, 3.0, 3.0],
        [1e4, -1e4, 0.0],
        [-1e4, 1e4, 1e4 - 1],
        [0.1, 0.2, 0.3, 0.4, 0.5],
        [-inf, 0.0, 1.0],
        [-inf, -inf, -inf],
        [inf, 0.0, 0.0],
        [nan, 0.0, 1.0],
        np.round(rng.normal(0, 2, 17), 3),
        np.round(rng.normal(0, 0.3, 17), 3),
        np.round(rng.normal(0, 3, 64), 3),
    ]
    return [np.asarray(v, dtype=np.float32) for v in vectors]


def glu_inputs():
    rng = np.random.default_rng(7)
    inf, nan = np.inf, np.nan
    vectors = [
        [1.0, 0.0],
        [3.0, 4.0, 0.0, 0.0],
        [1e4, -1e4, -1e4, 1e4],
        [inf, -inf, 0.0, 1.0, 5.0, -inf],
        [nan, 1.0, 1.0, nan],
        np.round(rng.normal(0, 2, 18), 3),
    ]
    return [np.asarray(v, dtype=np.float32) for v in vectors]


DENSE = [
    # (n_in, units, activation, params, use_bias)
    (1, 1, "linear", {}, True),
    (1, 1, "relu", {}, True),
    (3, 17, "softmax", {}, True),
    (17, 3, "sigmoid", {}, True),
    (17, 4, "glu", {}, False),
    (5, 8, "glu", {}, True),
    (8, 10, "tanh", {}, False),
    (16, 6, "log_softmax", {}, True),
    (12, 5, "relu", {"negative_slope": 0.1, "max_value": 6.0, "threshold": 1.0}, True),
    (64, 64, "relu", {}, True),
]


def four_digits(rng, shape, scale):
    """float32 values with 4 significant digits (short JSON, exact)."""
    v = rng.normal(0.0, scale, shape)
    return np.array([float(f"{x:.4g}") for x in np.ravel(v)], dtype=np.float32).reshape(shape)


# ------------------------------------------------------------------- main


def activation_case(keras, name, params, x):
    y_keras = np.asarray(getattr(keras.activations, name)(x, **params), dtype=np.float32)
    want = reference(name, x.astype(np.float64), params)
    if name == "sparsemax" and not np.all(np.isfinite(x)):
        why = "NaN or +inf input: anne gives NaN everywhere, like softmax"
    elif name == "sparsemax":
        why = "Keras 3.15 sparsemax threshold bug (keras-team/keras#23425)"
    elif name == "squareplus":
        why = "cancellation in (x + sqrt(x^2 + b)) / 2 for negative x"
    else:
        why = "float32 inf * 0 = nan where the limit exists"
    ok = agrees(y_keras, want)
    with np.errstate(over="ignore"):
        y = np.where(ok, y_keras, want.astype(np.float32))
    case = {"name": name, "params": params, "x": encode_list(x), "y": encode_list(y)}
    differs = [{"i": int(i), "keras": encode(y_keras[i]), "why": why}
               for i in np.flatnonzero(~ok)]
    if differs:
        case["keras_differs"] = differs
    return case


def dense_case(keras, rng, n_in, units, activation, params, use_bias):
    x = four_digits(rng, (n_in,), 1.0)
    kernel = four_digits(rng, (n_in, units), 1.0 / math.sqrt(n_in))
    bias = four_digits(rng, (units,), 0.5) if use_bias else None
    act = keras.activations.get(activation) if not params else (
        lambda t: getattr(keras.activations, activation)(t, **params))
    layer = keras.layers.Dense(units, activation=act, use_bias=use_bias)
    layer.build((1, n_in))
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    y = np.asarray(layer(x[None, :]), dtype=np.float32)[0]
    # Sanity: the float64 reference of the same layer agrees with Keras.
    pre = x.astype(np.float64) @ kernel.astype(np.float64)
    if use_bias:
        pre = pre + bias
    want = reference(activation, pre, params)
    bad = ~agrees(y, want)
    if np.any(bad):
        raise AssertionError(f"Keras Dense {n_in}x{units} {activation} disagrees with the "
                             f"float64 reference at {np.flatnonzero(bad)}")
    return {"activation": activation, "params": params, "n_in": n_in, "units": units,
            "x": encode_list(x), "kernel": encode_list(kernel),
            "bias": encode_list(bias) if use_bias else None, "y": encode_list(y)}


def build():
    import keras
    import tensorflow as tf

    header = {
        "generator": "tools/make_activation_fixtures.py",
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }
    cases = [activation_case(keras, name, params, ELEMENTWISE_X)
             for name, params in ELEMENTWISE]
    for name in VECTOR_NAMES:
        cases += [activation_case(keras, name, {}, v) for v in vector_inputs()]
    cases += [activation_case(keras, "glu", {}, v) for v in glu_inputs()]

    rng = np.random.default_rng(42)
    dense = [dense_case(keras, rng, *spec) for spec in DENSE]
    return {**header, "activations": cases}, {**header, "dense": dense}


def dump(obj):
    # One case per line: diffable, and still compact.
    key = "activations" if "activations" in obj else "dense"
    head = {k: v for k, v in obj.items() if k != key}
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in obj[key]]
    text = json.dumps(head, separators=(", ", ": "))[:-1]
    return text + ', "%s": [\n' % key + ",\n".join(lines) + "\n]}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing")
    args = parser.parse_args()
    activations, dense = build()
    status = 0
    for path, obj in ((ACTIVATIONS_PATH, activations), (DENSE_PATH, dense)):
        text = dump(obj)
        json.loads(text)  # valid JSON
        if args.check:
            with open(path) as f:
                if f.read() != text:
                    print(f"{os.path.relpath(path, ROOT)} is out of date", file=sys.stderr)
                    status = 1
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {os.path.relpath(path, ROOT)} ({len(text)} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
