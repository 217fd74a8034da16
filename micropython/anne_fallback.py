# anne_fallback: the `anne` module's API in plain MicroPython.
#
# The same functions, names, defaults and errors as the native module `anne`
# (c_glue/modanne.c): dense(), activate(), argmax(), Activation, ACTIVATIONS.
# It is the "AI-ANNE approach" (every multiply-add in Python) kept as a
# baseline for benchmarks, and the fallback that lets anne_net run on stock
# MicroPython. Formulas are Keras 3's (see src/activation/ for the notes on
# each); results are stored as float32 so that they match the native module.
#
# Differences from the native module: float32 buffers that are bytes-like
# (bytes, bytearray, memoryview of bytes) are copied into an array('f') on
# every call (no in-place float view exists in Python), so use array('f') for
# speed; any buffer whose items are floats is accepted as float32.

import math
from array import array

import anne_ops as _ops
from anne_core import _out_steps
# (ACTIVATIONS, Activation and __version__ are the module's API)
from anne_activations import (ACTIVATIONS, Activation, __version__, _SELU_ALPHA, _SELU_SCALE,  # noqa: F401
                              _SQRT_HALF, _apply, _check_len, _erf, _exp, _floats, _get_activation, _grads,
                              _sigmoid, _softplus, _store, _store_at, _write_back, _written)


# ---------------------------------------------------------------------------
# Module functions

def dense(x, kernel, bias, out, activation="linear", **params):
    """dense(x, kernel, bias, out, activation='linear', **params):
    out = activation(x . kernel + bias), Keras layout (n_in x units)."""
    act = _get_activation(activation, params)
    xs = _floats(x, "x")
    ks = _floats(kernel, "kernel")
    _floats(out, "out", True)
    bs = None if bias is None else _floats(bias, "bias")
    _dense(xs, ks, bs, act, out)


def _dense(xs, ks, bs, act, out):
    """dense() on checked float sequences (out: the buffer to write)."""
    n_in = len(xs)
    n_out = len(memoryview(out))
    if not isinstance(memoryview(out)[0] if n_out else 0.0, float):
        n_out //= 4
    if n_in == 0 or n_out == 0:
        raise _ops.err(0, "x" if n_in == 0 else "out")  # NAMED_EMPTY
    units = 2 * n_out if act.id in _ops.HALVES else n_out
    if len(ks) != n_in * units:
        raise _ops.err(1, len(ks), n_in, units, n_in * units,  # DENSE_KERNEL
                       " (glu halves the units)" if act.id in _ops.HALVES else "")
    if bs is not None and len(bs) != units:
        raise _ops.err(2, len(bs), units)  # DENSE_BIAS
    z = array("f", bytearray(4 * units))
    for j in range(units):
        s = bs[j] if bs is not None else 0.0
        k = j
        for i in range(n_in):
            s += xs[i] * ks[k]
            k += units
        z[j] = s
    _store(out, _apply(act, list(z)), n_out)


def activate(buf, activation, **params):
    """Applies the activation to buf in place; returns the number of outputs
    (glu: len(buf) // 2, in the first half)."""
    act = _get_activation(activation, params)
    values = _floats(buf, "buf", True)
    n = len(values)
    if act.id in _ops.HALVES and n % 2:
        raise ValueError("glu needs an even number of values, got %d" % n)
    if act.id not in _ops.VECTOR:  # element-wise: in pieces (a board's heap)
        for at in range(0, n, 64):
            _store_at(buf, _apply(act, list(values[at:at + 64])), at)
        return n
    _store(buf, _apply(act, list(values)), n // 2 if act.id in _ops.HALVES else n)
    return n // 2 if act.id in _ops.HALVES else n


def merge(kind, out, xs, rows, quant=None):   # (quant: an int8 graph's, anne_int8_graph)
    m = __import__("anne_fallback2d" if quant is None else "anne_int8_graph")
    return m.merge(kind, out, xs, rows) if quant is None else m.merge_s8(kind, out, xs, rows, quant)


def argmax(buf):
    """argmax(buf): index of the largest value (the first on ties; NaN never
    wins unless all values are NaN, then 0)."""
    values = _floats(buf, "buf")
    if len(values) == 0:
        raise _ops.err(4)  # ARGMAX_EMPTY
    best = 0
    m = values[0]
    for i in range(1, len(values)):
        v = values[i]
        if v > m or (m != m and v == v):
            best = i
            m = v
    return best


def _check_layers(layers):
    if not isinstance(layers, (tuple, list)):
        raise _ops.err(10, type(layers).__name__)  # LAYERS_TYPE
    if not layers:
        raise _ops.err(11)  # LAYERS_EMPTY
    for i, layer in enumerate(layers):
        if not isinstance(layer, tuple) or len(layer) not in (4, 5, 6):
            raise TypeError("layer %d must be (kernel, bias, activation, buf[, spec])" % i)
        if len(layer) == 5:
            spec = layer[4]
            if not isinstance(spec, tuple) or not 1 <= len(spec) <= 13 or not all(isinstance(v, int) for v in spec):
                raise ValueError("layer %d: spec must be (kind, up to 12 params)" % i)
            if spec[0] not in _KINDS:
                raise _ops.err(77)  # UNKNOWN_KIND


_KINDS = (_ops.LAYER_DENSE, _ops.LAYER_CONV1D, _ops.LAYER_MAX_POOLING1D, _ops.LAYER_AVERAGE_POOLING1D,
          _ops.LAYER_GLOBAL_AVERAGE_POOLING1D, _ops.LAYER_GLOBAL_MAX_POOLING1D, _ops.LAYER_AFFINE,
          _ops.LAYER_CONV2D, _ops.LAYER_MAX_POOLING2D, _ops.LAYER_AVERAGE_POOLING2D,
          _ops.LAYER_GLOBAL_AVERAGE_POOLING2D, _ops.LAYER_GLOBAL_MAX_POOLING2D, _ops.LAYER_DEPTHWISE_CONV2D,
          _ops.LAYER_ZERO_PADDING2D, _ops.LAYER_UP_SAMPLING1D)
_WEIGHTED = (_ops.LAYER_DENSE, _ops.LAYER_CONV1D, _ops.LAYER_AFFINE, _ops.LAYER_CONV2D, _ops.LAYER_DEPTHWISE_CONV2D)
# Global poolings (1-D over steps, 2-D over height x width: the same), and
# the max ones of them and of the 1-D windowed poolings.
_GLOBAL = (_ops.LAYER_GLOBAL_AVERAGE_POOLING1D, _ops.LAYER_GLOBAL_MAX_POOLING1D,
           _ops.LAYER_GLOBAL_AVERAGE_POOLING2D, _ops.LAYER_GLOBAL_MAX_POOLING2D)
_MAX = (_ops.LAYER_MAX_POOLING1D, _ops.LAYER_GLOBAL_MAX_POOLING1D, _ops.LAYER_GLOBAL_MAX_POOLING2D)


# (the shaping kinds anne_fallback2d runs: 2-D pooling, ZeroPadding2D, UpSampling1D)
_SHAPING2D = (_ops.LAYER_MAX_POOLING2D, _ops.LAYER_AVERAGE_POOLING2D, _ops.LAYER_ZERO_PADDING2D,
              _ops.LAYER_UP_SAMPLING1D)


def _out_len(out):
    mv = memoryview(out)
    return len(mv) // 4 if len(mv) and not isinstance(mv[0], float) else len(mv)


def _spec(spec, n):
    """spec's params, zero-filled to n."""
    p = list(spec[1:]) + [0] * n
    return p[:n]


def _window_bounds(t, strides, pad, window, steps):
    start = t * strides - pad
    return start, max(start, 0), min(start + window, steps)


def _bad_spec(i):
    raise _ops.err(47, i)  # SPEC_1D


def _steps(i, n_in, channels, window, strides, padding):
    """(steps, output steps, padding before) of layer i's input of n_in
    values; ValueError as the native module's when they do not fit."""
    try:
        if n_in == 0 or n_in % channels:
            raise ValueError
        steps = n_in // channels
        return (steps,) + _out_steps(steps, window, strides, padding)
    except ValueError:
        raise _ops.err(42, i, n_in, channels)  # STEPS_INPUTS


def _conv1d(i, xs, ks, bs, act, out, spec):
    """Conv1D (src/layers/conv1d.rs), the definition straight: out is steps_out x
    filters, each step's taps in range summed in order, then the bias."""
    cin, K, strides, padding, dil = _spec(spec, 5)
    if cin < 1 or K < 1 or strides < 1 or dil < 1 or padding > 2 or (K - 1) * dil > 0x7FFFFFFF:
        _bad_spec(i)  # (a reach of 2**31 steps or more: as src/layers/conv1d.rs's MAX_REACH)
    if act.id in _ops.HALVES:
        raise _ops.err(45, i)  # GLU_CONV1D
    steps, n_out, pad = _steps(i, len(xs), cin, (K - 1) * dil + 1, strides, padding)
    rows = K * cin
    F = len(ks) // rows
    if F == 0 or len(ks) % rows:
        raise _ops.err(40, i, len(ks), K, cin)  # CONV1D_KERNEL
    if _out_len(out) != n_out * F:
        raise _ops.err(43, i, _out_len(out))  # STEPS_OUT
    if bs is not None and len(bs) != F:
        raise ValueError("layer %d: bias has %d floats, expected one per filter" % (i, len(bs)))
    values = []
    for t in range(n_out):
        start = t * strides - pad
        z = [0.0] * F
        for k in range(K):
            s = start + k * dil
            if 0 <= s < steps:
                for c in range(cin):
                    xv = xs[s * cin + c]
                    base = (k * cin + c) * F
                    for f in range(F):
                        z[f] += xv * ks[base + f]
        if bs is not None:
            for f in range(F):
                z[f] += bs[f]
        values.extend(_apply(act, z))
    _store(out, values, len(values))


def _pool_windows(i, spec, n_in):
    """Layer i's pooling over n_in values: (channels, output steps, window,
    strides, pad, steps); ValueError as the native module's."""
    c, size, strides, padding = _spec(spec, 4)
    if c < 1:
        _bad_spec(i)
    if spec[0] in _GLOBAL:
        steps, _, _ = _steps(i, n_in, c, 1, 1, 0)
        return c, 1, steps, 1, 0, steps
    if size < 1 or strides < 1 or padding > 1:
        _bad_spec(i)
    steps, n_out, pad = _steps(i, n_in, c, size, strides, padding)
    return c, n_out, size, strides, pad, steps


def _pool1d(i, xs, out, spec):
    is_max = spec[0] in _MAX
    c, n_out, size, strides, pad, steps = _pool_windows(i, spec, len(xs))
    if _out_len(out) != n_out * c:
        raise _ops.err(43, i, _out_len(out))  # STEPS_OUT
    values = []
    for t in range(n_out):
        _, s0, s1 = _window_bounds(t, strides, pad, size, steps)
        for j in range(c):
            if is_max:
                m = xs[s0 * c + j]
                for s in range(s0 + 1, s1):
                    v = xs[s * c + j]
                    if v > m or v != v:
                        m = v
            else:
                m = 0.0
                for s in range(s0, s1):
                    m += xs[s * c + j]
                m /= s1 - s0
            values.append(m)
    _store(out, values, len(values))


def _affine(i, xs, scale, offset, out, spec):
    """x * scale[c] + offset[c] per channel of the last axis."""
    c = _spec(spec, 1)[0]
    if c < 1:
        _bad_spec(i)
    if len(scale) != c:
        raise _ops.err(41, i, len(scale), c)  # AFFINE_SCALE
    _steps(i, len(xs), c, 1, 1, 0)
    if _out_len(out) != len(xs):
        raise _ops.err(43, i, _out_len(out))  # STEPS_OUT
    if offset is None or len(offset) != c:
        raise _ops.err(44, i, 0 if offset is None else len(offset))  # CONV_BIAS
    _store(out, [xs[k] * scale[k % c] + offset[k % c] for k in range(len(xs))], len(xs))


def _chain_dense(i, last, xs, ks, bs, act, out):
    """Dense layer i of a chain (last: the chain's last layer, writing out):
    the sizes checked in the native chain's order (x, kernel, out, bias),
    refused with its messages, then _dense."""
    n_in, n_out = len(xs), _out_len(out)
    if n_in == 0:
        raise _ops.err(24)  # X_EMPTY
    halves = act.id in _ops.HALVES
    units = len(ks) // n_in
    if units == 0 or len(ks) % n_in or (halves and units % 2):
        want = 2 * n_out if halves else n_out
        if i == 0 and want and len(ks) and len(ks) % want == 0:
            raise _ops.err(48, n_in, len(ks), want, len(ks) // want)  # PLAN_X_SIZE
        if halves and len(ks) and len(ks) % n_in == 0:
            raise _ops.err(49, i, act.name, units)  # ODD_UNITS
        raise _ops.err(50, i, len(ks), n_in)  # PLAN_KERNEL
    outputs = units // 2 if halves else units
    if n_out != outputs:
        if last:
            raise _ops.err(51, n_out, outputs)  # PLAN_OUT_SIZE
        raise _ops.err(52, i, n_out, outputs)  # PLAN_BUF_SIZE
    if bs is not None and len(bs) != units:
        raise _ops.err(53, i, len(bs), units)  # PLAN_BIAS
    _dense(xs, ks, bs, act, out)


def _run_layer(i, src, layer, dst, checked=None, last=False):
    """Layer i of a chain on src (a float sequence) into dst; checked: its
    (kernel, bias, activation) already converted by Plan."""
    kernel, bias, act = layer[:3] if checked is None else checked
    spec = layer[4] if len(layer) == 5 else (_ops.LAYER_DENSE,)
    kind = spec[0]
    if kind in _WEIGHTED:
        if checked is None:
            kernel = _floats(kernel, "kernel")
            bias = None if bias is None else _floats(bias, "bias")
            act = None if kind == _ops.LAYER_AFFINE else _get_activation(act, {})
        if kind == _ops.LAYER_AFFINE:
            _affine(i, src, kernel, bias, dst, spec)
        elif kind == _ops.LAYER_DENSE:
            _chain_dense(i, last, src, kernel, bias, act, dst)
        elif kind in (_ops.LAYER_CONV2D, _ops.LAYER_DEPTHWISE_CONV2D):
            import anne_fallback2d
            anne_fallback2d.conv2d(i, src, kernel, bias, act, dst, spec)
        else:
            _conv1d(i, src, kernel, bias, act, dst, spec)
    elif kind in _SHAPING2D:
        import anne_fallback2d
        anne_fallback2d.pool2d(i, src, dst, spec)
    else:
        _pool1d(i, src, dst, spec)


try:
    from uctypes import addressof as _addressof
except ImportError:  # (no uctypes: only the native module checks this)
    _addressof = None


def _span(buf):
    """The bytes a buffer spans, as (first, end) addresses, or None."""
    try:
        mv = memoryview(buf)
        a = _addressof(buf)
    except TypeError:  # not a buffer: refused where it is used
        return None
    n = len(mv) * (4 if len(mv) and isinstance(mv[0], float) else 1)
    return (a, a + n) if n else None


def _weight_spans(layers):
    """[(j, span)] of every layer's weights (none without uctypes)."""
    if _addressof is None:
        return []
    return [(j, _span(w)) for j, layer in enumerate(layers) for w in layer[:2] if w is not None]


def _check_weights(spans, n_layers, written):
    """Refuses a written buffer that shares memory with a layer's weights
    (spans: _weight_spans), as the native module does: written is
    [(i, buf)], i == n_layers for out."""
    for i, buf in written:
        s = _span(buf) if spans else None
        for j, w in spans:
            if s is not None and w is not None and s[0] < w[1] and w[0] < s[1]:
                if i == n_layers:
                    raise _ops.err(18, j)  # OUT_SHARES_WEIGHTS
                raise _ops.err(19, i, j)  # BUF_SHARES_WEIGHTS


def _int8_module(layers):
    """anne_int8 for a chain of int8 Dense layers; anne_int8_conv when one
    has another kind (its spec's), anne_int8_conv2d when one is 2-D."""
    kinds = [layer[4][0] for layer in layers if len(layer) > 4 and isinstance(layer[4], tuple) and len(layer[4])]
    return __import__("anne_int8_conv2d" if [k for k in kinds if k >= _ops.LAYER_CONV2D] else
                      "anne_int8_conv" if [k for k in kinds if k != _ops.LAYER_DENSE] else "anne_int8")


def forward(layers, x, out):
    """forward(layers, x, out): a chain of layers, each a (kernel, bias,
    activation, buf[, spec]) tuple writing its buf (out for the last);
    returns out. spec = (kind, params...) as the native module takes it;
    int8 layers (a sixth item, quant) run in anne_int8."""
    _check_layers(layers)
    if len(layers[0]) == 6:
        return _int8_module(layers).forward(layers, x, out)
    src = _floats(x, "x")
    _floats(out, "out", True)
    last = len(layers) - 1
    _check_weights(_weight_spans(layers), last + 1,
                   [(i, layer[3]) for i, layer in enumerate(layers[:last])] + [(last + 1, out)])
    for i, layer in enumerate(layers):
        dst = out if i == last else layer[3]
        _run_layer(i, src, layer, dst, last=i == last)
        src = _floats(dst, "buf")
    return out


class Plan:
    """Plan(layers): forward(layers, x, out) as a callable, like the native
    anne.Plan: the layers' weights, activations and buffers are checked once,
    here; a call checks x and out (and every size, as forward does)."""

    _int8 = None  # an int8 chain's anne_int8.Plan

    def __init__(self, layers):
        _check_layers(layers)
        if len(layers[0]) == 6:
            self._int8 = _int8_module(layers).Plan(layers)
            return
        last = len(layers) - 1
        self._layers = []
        for i, layer in enumerate(layers):
            kernel, bias, act, buf = layer[:4]
            kind = layer[4][0] if len(layer) == 5 else _ops.LAYER_DENSE
            checked = None
            if kind in _WEIGHTED:
                checked = (_floats(kernel, "kernel"), None if bias is None else _floats(bias, "bias"),
                           None if kind == _ops.LAYER_AFFINE else _get_activation(act, {}))
            # a hidden buffer the next layer can read as it is (an
            # array('f')), else None: converted on each call
            view = None if i == last else _floats(buf, "buf", True)
            self._layers.append((layer, checked, view is buf))
        self._spans = None

    def __call__(self, x, out):
        if self._int8 is not None:
            return self._int8(x, out)
        src = _floats(x, "x")
        _floats(out, "out", True)
        last = len(self._layers) - 1
        # out on each call, the hidden buffers once (as the native Plan)
        if self._spans is None:
            layers = [layer for layer, _, _ in self._layers]
            spans = _weight_spans(layers)
            _check_weights(spans, last + 1, [(i, layer[3]) for i, layer in enumerate(layers[:last])])
            self._spans = spans
        _check_weights(self._spans, last + 1, [(last + 1, out)])
        for i, (layer, checked, direct) in enumerate(self._layers):
            dst = out if i == last else layer[3]
            if checked is not None and len(layer) == 4:
                _chain_dense(i, i == last, src, checked[0], checked[1], checked[2], dst)
            else:
                _run_layer(i, src, layer, dst, checked or (None, None, None), i == last)
            if i != last:
                src = dst if direct else _floats(dst, "buf")
        return out


# ---------------------------------------------------------------------------
# Training kernels, as the native module's (anne_train calls them): each
# activation's backward pass (TensorFlow's values at the kinks, see
# src/activation/backward.rs), dense backward, SGD and Adam steps.

_SQRT_2_PI = 0.7978845608028654   # sqrt(2 / pi)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)


def _d_relu(x, a):
    slope, thr, mx = a.negative_slope, a.threshold, a.max_value
    if slope != 0.0 and mx is None and thr == 0.0:
        return 1.0 if x > 0 else slope  # tf.nn.leaky_relu
    if thr != 0.0:
        d, y = (1.0, x) if x > thr else (0.0, 0.0)
    elif mx == 6.0:
        d, y, mx = (1.0 if 0 < x < 6 else 0.0), 0.0, None  # tf.nn.relu6
    else:
        d, y = (1.0, x) if x > 0 else (0.0, 0.0)
    if mx is not None and not 0.0 <= y <= mx:
        d = 0.0  # clip_by_value passes the gradient inside [0, max_value]
    if slope != 0.0 and thr - x > 0:
        d += slope  # - slope * relu(threshold - x)
    return d


def _derivative(k, a, x, y):
    """d activation / dx at x with output y; k is the activation's id."""
    if k == _ops.LINEAR:
        return 1.0
    if k == _ops.RELU:
        return _d_relu(x, a)
    if k == _ops.SIGMOID:
        return y * (1.0 - y)
    if k == _ops.TANH:
        return 1.0 - y * y
    if k == _ops.LEAKY_RELU:
        return 1.0 if x > 0 else a.negative_slope
    if k == _ops.ELU:
        return 1.0 if x > 0 else a.alpha * _exp(x)
    if k == _ops.SELU:
        return _SELU_SCALE * _SELU_ALPHA * _exp(x) if y < 0 else _SELU_SCALE
    if k == _ops.CELU:
        # max(x, 0) + alpha * expm1(min(x, 0) / alpha): both branches at 0
        return 1.0 if x > 0 else _exp(x / a.alpha) + (1.0 if x == 0 else 0.0)
    if k == _ops.EXPONENTIAL:
        return y
    if k == _ops.GELU:
        if a.approximate:
            t = math.tanh(_SQRT_2_PI * (x + 0.044715 * x * x * x))
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_PI * (1.0 + 3 * 0.044715 * x * x)
        return 0.5 * (1.0 + _erf(x * _SQRT_HALF)) + x * _INV_SQRT_2PI * _exp(-0.5 * x * x)
    if k == _ops.HARD_SHRINK or k == _ops.SOFT_SHRINK:
        return 1.0 if abs(x) > a.threshold else 0.0
    if k == _ops.HARD_SIGMOID:
        return 1.0 / 6.0 if -3.0 < x < 3.0 else 0.0
    if k == _ops.HARD_SILU:
        return min(max(x + 3.0, 0.0), 6.0) / 6.0 + (x / 6.0 if -3.0 < x < 3.0 else 0.0)
    if k == _ops.HARD_TANH:
        return 1.0 if -1.0 <= x <= 1.0 else 0.0
    if k == _ops.LOG_SIGMOID:
        return _sigmoid(-x)
    if k == _ops.MISH:
        t = math.tanh(_softplus(x))
        return t + x * (1.0 - t * t) * _sigmoid(x)
    if k == _ops.RELU6:
        return 1.0 if 0.0 < x < 6.0 else 0.0
    if k == _ops.SILU:
        sg = _sigmoid(x)
        return sg + x * sg * (1.0 - sg)
    if k == _ops.SOFTPLUS:
        return _sigmoid(x)
    if k == _ops.SOFTSIGN:
        d = 1.0 + abs(x)
        return 1.0 / (d * d)
    if k == _ops.SPARSE_PLUS:
        return 0.0 if x <= -1.0 else 1.0 if x >= 1.0 else 0.5 * (x + 1.0)
    if k == _ops.SPARSE_SIGMOID:
        return 0.5 if -1.0 < x < 1.0 else 0.0
    if k == _ops.SQUAREPLUS:
        return 0.5 * (1.0 + x / math.sqrt(x * x + a.b))
    if k == _ops.TANH_SHRINK:
        t = math.tanh(x)
        return t * t
    return 1.0 if x > a.threshold else 0.0  # threshold


def _backward(a, z, y, dy):
    """dy . J(z) as a list (see activation_backward)."""
    k = a.id
    n = len(y)
    if k == _ops.SOFTMAX:
        s = 0.0
        for i in range(n):
            s += dy[i] * y[i]
        return [y[i] * (dy[i] - s) for i in range(n)]
    if k == _ops.LOG_SOFTMAX:
        s = 0.0
        for v in dy:
            s += v
        return [dy[i] - _exp(y[i]) * s for i in range(n)]
    if k == _ops.SPARSEMAX:
        m = 0
        s = 0.0
        for i in range(n):
            if y[i] > 0:
                m += 1
                s += dy[i]
        mean = s / m if m else 0.0
        return [dy[i] - mean if y[i] > 0 else 0.0 for i in range(n)]
    if k == _ops.GLU:
        dz = [0.0] * (2 * n)
        for i in range(n):
            sg = _sigmoid(z[n + i])
            dz[i] = dy[i] * sg
            dz[n + i] = dy[i] * z[i] * sg * (1.0 - sg)
        return dz
    return [dy[i] * _derivative(k, a, z[i], y[i]) for i in range(n)]


def activation_backward(z, y, dy, dz, activation, **params):
    """activation_backward(z, y, dy, dz, activation, **params): dz = dy . J(z)
    from the forward pass's pre-activation z and output y (len(z), or
    len(z) // 2 for glu, values, as dy)."""
    a = _get_activation(activation, params)
    zs, ys, ds = _floats(z, "z"), _floats(y, "y"), _floats(dy, "dy")
    out, copied = _written(dz, "dz")
    n = len(zs)
    if a.id in _ops.HALVES and n % 2:
        raise _ops.err(3, _ops.ACTIVATIONS[a.id], n)  # ODD_VALUES
    n_out = n // 2 if a.id in _ops.HALVES else n
    _check_len(ys, n_out, "y")
    _check_len(ds, n_out, "dy")
    _check_len(out, n, "dz")
    _store(dz, _backward(a, zs, ys, ds), n)


def dense_backward(x, kernel, dz, scale, gk, gb, dx):
    """dense_backward(x, kernel, dz, scale, gk, gb, dx): gk += scale *
    outer(x, dz), gb += scale * dz, dx = kernel . dz (gb, dx may be None)."""
    scale = float(scale)  # (scalars first, as the native glue: see sgd)
    xs, ks, ds = _floats(x, "x"), _floats(kernel, "kernel"), _floats(dz, "dz")
    n_in, units = len(xs), len(ds)
    if n_in == 0 or units == 0:
        raise _ops.err(56)  # BACKWARD_EMPTY
    _check_len(ks, n_in * units, "kernel")
    g, g_copied = _written(gk, "gk")
    _check_len(g, n_in * units, "gk")
    b = None
    if gb is not None:
        b, b_copied = _written(gb, "gb")
        _check_len(b, units, "gb")
    d = None
    if dx is not None:
        d, _ = _written(dx, "dx")
        _check_len(d, n_in, "dx")
    for i in range(n_in):
        si = xs[i] * scale
        if si != 0.0:
            base = i * units
            for j in range(units):
                g[base + j] += si * ds[j]
    if b is not None:
        for j in range(units):
            b[j] += scale * ds[j]
    if d is not None:
        acc = [0.0] * n_in
        for i in range(n_in):
            s = 0.0
            base = i * units
            for j in range(units):
                s += ks[base + j] * ds[j]
            acc[i] = s
        _store(dx, acc, n_in)
    if g_copied:
        _store(gk, g, len(g))
    if b is not None and b_copied:
        _store(gb, b, len(b))


def layer_backward(layer, x, dy, scale, gk, gb, dx):
    """layer_backward(layer, x, dy, scale, gk, gb, dx): the backward pass of
    one Conv1D, pooling or affine layer (a forward() layer tuple with its
    spec) for one sample that read x. Conv1D, from dy at its
    pre-activations: gk += scale * dL/dkernel, gb += scale * dL/dbias,
    dx = dL/dx (each may be None); pooling and affine: dx = dL/dx from dy
    at the outputs (TensorFlow's gradients: a window's first max, a global
    max's ties share, an average spreads over the steps in range)."""
    scale = float(scale)
    _check_layers((layer,))
    spec = layer[4] if len(layer) == 5 else (_ops.LAYER_DENSE,)
    kind = spec[0]
    if kind == _ops.LAYER_DENSE:
        raise _ops.err(57)  # BACKWARD_KIND
    if kind in _KINDS[7:] and kind not in _GLOBAL:  # (the 2-D kinds; global poolings: the 1-D ones')
        return __import__("anne_fallback2d").backward(layer, spec, x, dy, scale, gk, gb, dx)
    xs, ds = _floats(x, "x"), _floats(dy, "dy")
    n_in = len(xs)
    if kind != _ops.LAYER_CONV1D:
        if gk is not None or gb is not None:
            raise _ops.err(58)  # BACKWARD_NO_WEIGHTS
        if dx is None:
            raise _ops.err(59)  # BACKWARD_DX
    d = None
    if dx is not None:
        d, _ = _written(dx, "dx")
        _check_len(d, n_in, "dx")
    acc = [0.0] * n_in

    def bad_dy():
        raise _ops.err(60, len(ds), n_in)  # BACKWARD_DY

    if kind == _ops.LAYER_AFFINE:
        scale_c = _floats(layer[0], "kernel")
        c = _spec(spec, 1)[0]
        if c < 1:
            _bad_spec(0)
        if len(scale_c) != c:
            raise ValueError("layer 0: affine scale has %d floats, expected %d (channels)" % (len(scale_c), c))
        _steps(0, n_in, c, 1, 1, 0)
        if len(ds) != n_in:
            bad_dy()
        _store(dx, [ds[k] * scale_c[k % c] for k in range(n_in)], n_in)
        return
    if kind != _ops.LAYER_CONV1D:
        c, n_out, size, strides, pad, steps = _pool_windows(0, spec, n_in)
        if len(ds) != n_out * c:
            bad_dy()
        is_max, is_global = kind in _MAX, kind in _GLOBAL
        for t in range(n_out):
            _, s0, s1 = _window_bounds(t, strides, pad, size, steps)
            for j in range(c):
                g = ds[t * c + j]
                if not is_max:
                    share = g / (s1 - s0)
                    for s in range(s0, s1):
                        acc[s * c + j] += share
                elif is_global:
                    vals = [xs[s * c + j] for s in range(s0, s1)]
                    m = max(v for v in vals if v == v) if any(v == v for v in vals) else None
                    ties = [s for s in range(s0, s1) if xs[s * c + j] == m]
                    for s in ties:
                        acc[s * c + j] += g / len(ties)
                else:
                    best = s0
                    for s in range(s0 + 1, s1):
                        if xs[s * c + j] > xs[best * c + j]:
                            best = s
                    acc[best * c + j] += g
        _store(dx, acc, n_in)
        return
    ks = _floats(layer[0], "kernel")
    cin, K, strides, padding, dil = _spec(spec, 5)
    if cin < 1 or K < 1 or strides < 1 or dil < 1 or padding > 2:
        _bad_spec(0)
    steps, n_out, pad = _steps(0, n_in, cin, (K - 1) * dil + 1, strides, padding)
    rows = K * cin
    F = len(ks) // rows
    if F == 0 or len(ks) % rows:
        raise ValueError("layer 0: conv1d kernel has %d floats, not %d x %d x filters" % (len(ks), K, cin))
    if len(ds) != n_out * F:
        bad_dy()
    g, b = _grads(gk, gb, len(ks), F)
    for t in range(n_out):
        start = t * strides - pad
        for k in range(K):
            s = start + k * dil
            if not 0 <= s < steps:
                continue
            for c in range(cin):
                base = (k * cin + c) * F
                if g is not None:
                    sx = xs[s * cin + c] * scale
                    for f in range(F):
                        g[base + f] += sx * ds[t * F + f]
                if d is not None:
                    v = 0.0
                    for f in range(F):
                        v += ks[base + f] * ds[t * F + f]
                    acc[s * cin + c] += v
        if b is not None:
            for f in range(F):
                b[f] += scale * ds[t * F + f]
    if d is not None:
        _store(dx, acc, n_in)
    _write_back((gk, g), (gb, b))


def sgd(w, g, m, learning_rate, momentum, nesterov):
    """sgd(w, g, m, learning_rate, momentum, nesterov): Keras 3's SGD step
    (m, the momentum slot, may be None when momentum is 0). True if every
    weight is finite after it."""
    # The scalars first: converting one may run code that resizes a buffer.
    lr, mom, nesterov = float(learning_rate), float(momentum), bool(nesterov)
    ws, w_copied = _written(w, "w")
    gs = _floats(g, "g")
    _check_len(gs, len(ws), "g")
    if m is None and mom != 0.0:
        raise _ops.err(61)  # MOMENTUM
    if mom == 0.0:
        for i in range(len(ws)):
            ws[i] -= lr * gs[i]
    else:
        ms, m_copied = _written(m, "m")
        _check_len(ms, len(ws), "m")
        for i in range(len(ws)):
            mi = mom * ms[i] - lr * gs[i]
            ms[i] = mi
            ws[i] += (mom * mi - lr * gs[i]) if nesterov else mi
        if m_copied:
            _store(m, ms, len(ms))
    if w_copied:
        _store(w, ws, len(ws))
    return _all_finite(ws)


def _all_finite(values):
    for v in values:
        if v - v != 0.0:
            return False
    return True


def adam(w, g, m, v, alpha, beta_1, beta_2, epsilon):
    """adam(w, g, m, v, alpha, beta_1, beta_2, epsilon): Keras 3's Adam step,
    alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t). True if
    every weight is finite after it."""
    alpha, b1, b2, eps = float(alpha), float(beta_1), float(beta_2), float(epsilon)
    ws, w_copied = _written(w, "w")
    gs = _floats(g, "g")
    ms, m_copied = _written(m, "m")
    vs, v_copied = _written(v, "v")
    for arr, arg in ((gs, "g"), (ms, "m"), (vs, "v")):
        _check_len(arr, len(ws), arg)
    for i in range(len(ws)):
        gi = gs[i]
        mi = ms[i] + (gi - ms[i]) * (1.0 - b1)
        vi = vs[i] + (gi * gi - vs[i]) * (1.0 - b2)
        ms[i] = mi
        vs[i] = vi
        ws[i] -= mi * alpha / (math.sqrt(vi) + eps)
    for buf, view, copied in ((w, ws, w_copied), (m, ms, m_copied), (v, vs, v_copied)):
        if copied:
            _store(buf, view, len(view))
    return _all_finite(ws)


def fit_workspace(layers, n_in, batch_size):
    """fit_workspace(layers, n_in, batch_size): floats of workspace fit_epoch
    needs (anne_train_python's: one sample's buffers)."""
    import anne_train_python
    return anne_train_python.fit_workspace(layers, n_in, batch_size)


def fit_blocks(layers, n_in, batch_size, per=2):
    """fit_blocks(layers, n_in, batch_size, per): the workspace in parts,
    each an array of its own (anne_train_python's: fit_epoch takes a
    tuple of them)."""
    import anne_train_python
    return anne_train_python.fit_blocks(layers, n_in, batch_size, per)


def fit_epoch(layers, config, x, t, order, ws, sums, state):
    """fit_epoch(layers, config, x, t, order, ws, sums, state): one epoch,
    the native module's contract, in plain MicroPython on these kernels
    (anne_train_python)."""
    import sys
    import anne_train_python
    return anne_train_python.fit_epoch(sys.modules[__name__], layers, config, x, t, order, ws, sums, state)
