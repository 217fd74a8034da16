# anne_activations: anne_fallback's activations one value at a time, in
# plain MicroPython: the math helpers some ports lack, Activation (the
# native module's class: a name and its parameters, checked), float32
# buffers as the native module takes them, and each activation's scalar
# function (Keras 3's formulas, see src/activation/). anne_fallback builds
# its kernels on them and exports Activation and ACTIVATIONS.

import math
import struct
from array import array

import anne_ops as _ops
from anne_ops import PARAMS

# The op tables (ops/ops.json): anne.ACTIVATIONS is every accepted name,
# index == id for the first len(anne_ops.ACTIVATIONS), then the aliases.
ACTIVATIONS = _ops.NAMES
__version__ = _ops.VERSION
_COUNT = len(_ops.ACTIVATIONS)
_NAMES_TEXT = ", ".join(ACTIVATIONS)
_PARAMS_TEXT = ", ".join(PARAMS)

_INF = float("inf")
_NAN = float("nan")
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_SQRT_2_OVER_PI = 0.7978845608028654
_SQRT_HALF = 0.7071067811865476


# ---------------------------------------------------------------------------
# Math helpers missing from some ports (MicroPython has no math.log1p;
# math.erf/expm1 need MICROPY_PY_MATH_SPECIAL_FUNCTIONS).

def _log1p(x):
    # log(1 + x) without losing x when it is tiny (Goldberg's trick).
    u = 1.0 + x
    if u == 1.0:
        return x
    return math.log(u) * x / (u - 1.0)


def _expm1_approx(x):
    u = math.exp(x)
    if u == 1.0:
        return x
    if u - 1.0 == -1.0:
        return -1.0
    if u == _INF:
        return _INF
    return (u - 1.0) * x / math.log(u)


def _erf_approx(x):
    # Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7).
    z = abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return 1.0 - r if x >= 0 else r - 1.0


_math_expm1 = getattr(math, "expm1", _expm1_approx)
_erf = getattr(math, "erf", _erf_approx)


# MicroPython's math functions raise ValueError ("math domain error") when a
# finite argument overflows to inf (CPython: OverflowError); Keras gives inf.
def _exp(x):
    try:
        return math.exp(x)
    except (OverflowError, ValueError):
        return _INF if x > 0 else 0.0


def _expm1(x):
    try:
        return _math_expm1(x)
    except (OverflowError, ValueError):
        return _INF if x > 0 else -1.0


def _isfinite(v):
    return v - v == 0.0


# ---------------------------------------------------------------------------
# Activation objects

def _lookup(name):
    if not isinstance(name, str):
        raise _ops.err(62, type(name).__name__)  # ACTIVATION_TYPE
    if name in _ops.ALIASES:
        return _ops.ALIASES[name]
    for i in range(_COUNT):
        if ACTIVATIONS[i] == name:
            return i
    raise _ops.err(63, name, _NAMES_TEXT)  # UNKNOWN_ACTIVATION


def _finite_param(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _ops.err(64, key, type(value).__name__)  # PARAM_TYPE
    v = float(value)
    if not _isfinite(v):
        raise _ops.err(65, key)  # PARAM_FINITE
    # Stored as float32, as the native module does.
    return array("f", (v,))[0]


class Activation:
    """Activation(name, **params): an activation with its parameters,
    checked once (as anne.Activation)."""

    def __init__(self, name, **params):
        self.id = _lookup(name)
        self.name = name
        canonical = _ops.ACTIVATIONS[self.id]
        for key, fill in zip(_ops.FILE_PARAMS, _ops.FILL):
            setattr(self, key, fill)
        self.max_value = None
        self.approximate = False
        defaults = _ops.DEFAULTS.get(canonical, {})
        for key in defaults:
            setattr(self, key, defaults[key])
        for key in params:
            value = params[key]
            if key == "activation":
                continue
            if key not in PARAMS:
                raise _ops.err(66, key, _PARAMS_TEXT)  # UNKNOWN_PARAM
            if key not in defaults:
                raise _ops.err(67, name, key)  # PARAM_NOT_TAKEN
            if key == "approximate":
                self.approximate = bool(value)
            elif key == "max_value" and value is None:
                self.max_value = None
            else:
                setattr(self, key, _finite_param(key, value))
        # The table's rules, in the native module's order and words.
        for key in _ops.REQUIRED.get(canonical, ()):
            if key not in params:
                raise _ops.err(68, canonical, key)  # PARAM_REQUIRED
        for key, rule in _ops.RULES.get(canonical, ()):
            v = getattr(self, key)
            if v is None:
                continue
            if (rule == ">= 0" and not v >= 0) or (rule == "!= 0" and v == 0):
                raise _ops.err(69 if rule == ">= 0" else 70, canonical, key)  # PARAM_NON_NEGATIVE, PARAM_NONZERO

    def __repr__(self):
        s = "Activation('%s'" % self.name
        takes = _ops.DEFAULTS.get(_ops.ACTIVATIONS[self.id], ())
        for key in PARAMS:
            if key not in takes:
                continue
            if key == "approximate":
                s += ", approximate=%s" % self.approximate
            elif key == "max_value" and self.max_value is None:
                continue
            else:
                s += ", %s=%r" % (key, getattr(self, key))
        return s + ")"


def _get_activation(activation, params):
    if isinstance(activation, Activation):
        for key in params:
            if key != "activation":
                raise _ops.err(78)  # PARAMS_OUTSIDE
        return activation
    return Activation(activation, **params)


# ---------------------------------------------------------------------------
# Buffers

def _typecode(a):
    """An array's typecode (MicroPython's array has no .typecode): from the
    repr of an empty slice, "array('f')"."""
    return repr(a[:0])[7]


def _floats(obj, arg, writable=False):
    """A float sequence for a float32 buffer: the object itself if it is an
    array('f') or a view of floats, else a copy of the float32 values a
    bytes-like object holds. The same refusals as the native module."""
    if isinstance(obj, (list, tuple, str)) or obj is None:
        raise _ops.err(71, arg, type(obj).__name__)  # F32_TYPE
    if isinstance(obj, array):
        code = _typecode(obj)
        if code == "f":
            return obj
        if code != "B":
            raise _ops.err(72, arg, code)  # F32_TYPECODE
    try:
        mv = memoryview(obj)
    except TypeError:
        raise _ops.err(71, arg, type(obj).__name__)  # F32_TYPE
    if writable and isinstance(obj, bytes):
        raise TypeError("%s must be a writable float32 buffer, not bytes" % arg)
    if len(mv) == 0 or isinstance(mv[0], float):
        return obj
    if len(mv) % 4:
        raise _ops.err(73, arg, len(mv))  # F32_BYTES
    return array("f", bytearray(mv))


def _check_len(view, want, arg):
    if len(view) != want:
        raise _ops.err(55, arg, len(view), want)  # NAMED_SIZE


def _written(buf, arg):
    """A writable float32 buffer as a float sequence, and whether writes
    to it must be stored back (a bytes-like buffer is read as a copy)."""
    view = _floats(buf, arg, True)
    return view, view is not buf


def _grads(gk, gb, n_k, n_b):
    """A backward pass's gk and gb (each None, or n_k and n_b floats) as
    float sequences to add to (None where not given; _write_back stores
    a copy back)."""
    out = []
    for buf, n, arg in ((gk, n_k, "gk"), (gb, n_b, "gb")):
        view = None
        if buf is not None:
            view = _written(buf, arg)[0]
            _check_len(view, n, arg)
        out.append(view)
    return out


def _write_back(*pairs):
    """Stores each (buffer, view) whose view is a copy of a bytes-like buffer."""
    for buf, view in pairs:
        if view is not None and view is not buf:
            _store(buf, view, len(view))


def _store(out, values, n):
    """Writes values[0:n] into the float32 buffer out."""
    _store_at(out, values, 0, n)


def _store_at(out, values, at, n=None):
    """Writes values (or values[0:n]) into the float32 buffer out from
    value at on."""
    n = len(values) if n is None else n
    mv = memoryview(out)
    if len(mv) and isinstance(mv[0], float):
        for i in range(n):
            out[at + i] = values[i]
    else:
        struct.pack_into("<%df" % n, out, 4 * at, *values[:n])


# ---------------------------------------------------------------------------
# The activations, Keras 3 formulas

def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + _exp(-x))
    e = _exp(x)
    return e / (1.0 + e)


def _softplus(x):
    if x != x:
        return x
    return _log1p(_exp(-abs(x))) + (x if x > 0 else 0.0)


def _relu6(x):
    if x != x:
        return x
    return 0.0 if x <= 0 else (6.0 if x > 6.0 else x)


def _scalar_function(act):
    """The one-value function of an element-wise activation."""
    k = act.id
    if k == _ops.LINEAR:
        return lambda x: x
    if k == _ops.RELU:  # relu, as Keras 3's ReLU.static_call
        ns, mx, th = act.negative_slope, act.max_value, act.threshold
        if ns != 0 and mx is None and th == 0:
            return lambda x: x if x > 0 else ns * x

        def relu(x):
            if th != 0:
                y = x if x > th else 0.0
            else:
                y = x if (x > 0 or x != x) else 0.0
            if mx is not None:
                y = 0.0 if y < 0 else (mx if y > mx else y)
            if ns != 0:
                d = th - x
                y -= ns * (d if d > 0 else 0.0)
            return y
        return relu
    if k == _ops.SIGMOID:
        return _sigmoid
    if k == _ops.TANH:
        return math.tanh
    if k == _ops.LEAKY_RELU:
        ns = act.negative_slope
        return lambda x: x if x > 0 else ns * x
    if k == _ops.ELU:
        a = act.alpha
        return lambda x: x if x > 0 else a * _expm1(x)
    if k == _ops.SELU:
        return lambda x: _SELU_SCALE * x if x > 0 else _SELU_SCALE * _SELU_ALPHA * _expm1(x)
    if k == _ops.CELU:
        a = act.alpha
        return lambda x: x if x != x else (x if x > 0 else 0.0) + a * _expm1((x if x < 0 else 0.0) / a)
    if k == _ops.EXPONENTIAL:
        return _exp
    if k == _ops.GELU:
        if act.approximate:
            return lambda x: -0.0 if x == -_INF else 0.5 * x * (
                1.0 + math.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return lambda x: -0.0 if x == -_INF else 0.5 * x * (1.0 + _erf(x * _SQRT_HALF))
    if k == _ops.HARD_SHRINK:
        th = act.threshold
        return lambda x: x if abs(x) > th else 0.0
    if k == _ops.HARD_SIGMOID:
        return lambda x: _relu6(x + 3.0) / 6.0
    if k == _ops.HARD_SILU:
        return lambda x: -0.0 if x == -_INF else x * _relu6(x + 3.0) / 6.0
    if k == _ops.HARD_TANH:
        return lambda x: -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)
    if k == _ops.LOG_SIGMOID:
        return lambda x: -_softplus(-x)
    if k == _ops.MISH:
        return lambda x: -0.0 if x == -_INF else x * math.tanh(_softplus(x))
    if k == _ops.RELU6:
        return _relu6
    if k == _ops.SILU:
        return lambda x: -0.0 if x == -_INF else x * _sigmoid(x)
    if k == _ops.SOFT_SHRINK:
        th = act.threshold
        return lambda x: x - th if x > th else (x + th if x < -th else 0.0)
    if k == _ops.SOFTPLUS:
        return _softplus
    if k == _ops.SOFTSIGN:
        return lambda x: (1.0 if x > 0 else -1.0) if abs(x) == _INF else x / (abs(x) + 1.0)
    if k == _ops.SPARSE_PLUS:
        return lambda x: 0.0 if x <= -1.0 else (0.25 * (x + 1.0) * (x + 1.0) if x < 1.0 else x)
    if k == _ops.SPARSE_SIGMOID:
        return lambda x: 0.0 if x <= -1.0 else (1.0 if x >= 1.0 else 0.5 * (x + 1.0))
    if k == _ops.SQUAREPLUS:
        b = act.b

        def squareplus(x):
            if abs(x) == _INF:
                return x if x > 0 else 0.0
            root = math.sqrt(x * x + b)
            return b / (2.0 * (root - x)) if x < 0 else 0.5 * (x + root)
        return squareplus
    if k == _ops.TANH_SHRINK:
        return lambda x: x - math.tanh(x)
    if k == _ops.THRESHOLD:
        th, dv = act.threshold, act.default_value
        return lambda x: x if x > th else dv
    return None


def _max(values):
    m = -_INF
    for v in values:
        if v > m:
            m = v
    return m


def _apply(act, v):
    """Returns the list of outputs of act over the list v."""
    k = act.id
    n = len(v)
    if k == _ops.SOFTMAX or k == _ops.LOG_SOFTMAX:  # softmax, log_softmax
        m = _max(v)
        if m != m or m == _INF or m == -_INF or any(x != x for x in v):
            return [_NAN] * n
        e = [_exp(x - m) for x in v]
        s = 0.0
        for x in e:
            s += x
        if k == _ops.SOFTMAX:
            return [x / s for x in e]
        ls = math.log(s)
        return [(x - m) - ls for x in v]
    if k == _ops.SPARSEMAX:  # sparsemax (Michelot's algorithm, as the native kernel)
        m = _max(v)
        if m != m or m == _INF or m == -_INF or any(x != x for x in v):
            return [_NAN] * n
        z = [x - m for x in v]
        count = n + 1
        tau = -1.0  # the result's tau is >= -1: see sparsemax in src/activation/
        for _ in range(n + 1):
            c = 0
            s = 0.0
            for x in z:
                if x > tau:
                    c += 1
                    s += x
            if c == 0 or c >= count:
                break
            count = c
            tau = (s - 1.0) / c
        return [x - tau if x - tau > 0 else 0.0 for x in z]
    if k == _ops.GLU:
        h = n // 2
        return [v[j] * _sigmoid(v[j + h]) for j in range(h)]
    f = _scalar_function(act)
    return [f(x) for x in v]
