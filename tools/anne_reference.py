"""The numpy float32 reference of anne's activations (Keras 3 formulas),
used by tools/anne_format.py's Model.forward (anne_convert --check) and the
host tests. Independent of the Rust kernels and of the board library's code:
only the op table (ops/ops.json, through micropython/anne_ops.py) and the
codec's stored default parameters are shared.
"""

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "micropython"))
import anne_file  # noqa: E402
import anne_ops  # noqa: E402


def canonical_activation(activation):
    """Activation id, Keras name or alias -> canonical Keras 3 name
    (ValueError if unknown)."""
    if isinstance(activation, (int, np.integer)):
        if not 0 <= activation < len(anne_ops.ACTIVATIONS):
            raise ValueError("unknown activation id %d" % activation)
        return anne_ops.ACTIVATIONS[activation]
    i = anne_ops.ALIASES.get(activation)
    name = anne_ops.ACTIVATIONS[i] if i is not None else activation
    if name not in anne_ops.ACTIVATIONS:
        raise ValueError("unknown activation %r" % (activation,))
    return name


def default_params(activation):
    """The six parameters written for `activation` when the model sets none
    (anne_file.file_params, the codec's: Keras's defaults for those it uses,
    the table's fill values for the rest)."""
    return dict(zip(anne_ops.FILE_PARAMS, anne_file.file_params(canonical_activation(activation))[1]))


def f32(x):
    return np.asarray(x, dtype=np.float32)


def activate(activation, x, params=None, has_max_value=False,
             approximate=False):
    """Applies a Keras 3 activation to x (float32, last axis is the vector
    axis) and returns a new float32 array. glu halves the last axis."""
    name = canonical_activation(activation)
    p = default_params(name)
    if params:
        p.update(params)
    x = f32(x)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore",
                     divide="ignore"):
        if name == "linear":
            y = x.copy()
        elif name == "relu":
            # keras.activations.relu(x, negative_slope, max_value, threshold)
            ns, th = np.float32(p["negative_slope"]), np.float32(p["threshold"])
            y = np.where(x > th, x, zero) if th != 0 else np.maximum(x, zero)
            if has_max_value:
                y = np.clip(y, zero, np.float32(p["max_value"]))
            if ns != 0:
                y = y - ns * np.maximum(th - x, zero)
        elif name == "sigmoid":
            y = one / (one + np.exp(-x))
        elif name == "tanh":
            y = np.tanh(x)
        elif name == "softmax":
            e = np.exp(x - np.max(x, axis=-1, keepdims=True))
            y = e / np.sum(e, axis=-1, keepdims=True)
        elif name == "leaky_relu":
            y = np.where(x >= 0, x, np.float32(p["negative_slope"]) * x)
        elif name == "elu":
            y = np.where(x > 0, x, np.float32(p["alpha"]) * np.expm1(x))
        elif name == "selu":
            alpha = np.float32(1.6732632423543772848170429916717)
            scale = np.float32(1.0507009873554804934193349852946)
            y = scale * np.where(x > 0, x, alpha * np.expm1(x))
        elif name == "celu":
            a = np.float32(p["alpha"])
            y = np.maximum(x, zero) + a * np.expm1(np.minimum(x, zero) / a)
        elif name == "exponential":
            y = np.exp(x)
        elif name == "gelu":
            if approximate:
                c = np.float32(math.sqrt(2.0 / math.pi))
                y = np.float32(0.5) * x * (one + np.tanh(
                    c * (x + np.float32(0.044715) * x * x * x)))
            else:
                erf = np.vectorize(math.erf, otypes=[np.float64])
                y = 0.5 * x.astype(np.float64) * (
                    1.0 + erf(x.astype(np.float64) / math.sqrt(2.0)))
        elif name == "glu":
            n = x.shape[-1]
            if n % 2:
                raise ValueError("glu needs even units (got %d)" % n)
            a, b = x[..., : n // 2], x[..., n // 2:]
            y = a * (one / (one + np.exp(-b)))
        elif name == "hard_shrink":
            y = np.where(np.abs(x) > np.float32(p["threshold"]), x, zero)
        elif name == "hard_sigmoid":
            y = np.clip(x / np.float32(6.0) + np.float32(0.5), zero, one)
        elif name == "hard_silu":
            y = x * np.clip(x / np.float32(6.0) + np.float32(0.5), zero, one)
        elif name == "hard_tanh":
            y = np.clip(x, -one, one)
        elif name == "log_sigmoid":
            y = -np.logaddexp(-x, zero)
        elif name == "log_softmax":
            s = x - np.max(x, axis=-1, keepdims=True)
            y = s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))
        elif name == "mish":
            y = x * np.tanh(np.logaddexp(x, zero))
        elif name == "relu6":
            y = np.clip(x, zero, np.float32(6.0))
        elif name == "silu":
            y = x * (one / (one + np.exp(-x)))
        elif name == "soft_shrink":
            t = np.float32(p["threshold"])
            y = np.where(x > t, x - t, np.where(x < -t, x + t, zero))
        elif name == "softplus":
            y = np.logaddexp(x, zero)
        elif name == "softsign":
            y = x / (one + np.abs(x))
        elif name == "sparse_plus":
            y = np.where(x <= -1, zero, np.where(
                x < 1, np.float32(0.25) * (x + one) ** 2, x))
        elif name == "sparse_sigmoid":
            y = np.where(x <= -1, zero, np.where(
                x >= 1, one, np.float32(0.5) * (x + one)))
        elif name == "sparsemax":
            y = _sparsemax(x)
        elif name == "squareplus":
            y = (x + np.sqrt(x * x + np.float32(p["b"]))) / np.float32(2.0)
        elif name == "tanh_shrink":
            y = x - np.tanh(x)
        elif name == "threshold":
            y = np.where(x > np.float32(p["threshold"]), x,
                         np.float32(p["default_value"]))
        else:  # pragma: no cover - ACTIVATIONS and this chain are in sync
            raise AssertionError(name)
    return f32(y)


def _sparsemax(x):
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection onto the
    simplex. Keras 3.15's own is wrong when the support has more than one
    element (keras-team/keras#23425); like the Rust kernel, this is the
    corrected definition (equal to Keras when the support is one element)."""
    z = -np.sort(-x, axis=-1)
    cs = np.cumsum(z, axis=-1)
    r = np.arange(1, x.shape[-1] + 1, dtype=np.float32)
    support = z - (cs - 1) / r > 0
    k = np.sum(support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, k - 1, axis=-1) - 1) / k
    return np.maximum(x - tau, 0)


