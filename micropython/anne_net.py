# anne_net: Keras-like networks on a microcontroller (dense, and Conv1D and
# pooling for sensor windows), on top of the `anne` kernels (the native
# module if the firmware has it, else the pure-Python anne_fallback).
#
#   import anne_net
#   net = anne_net.load("iris3.anne")       # or load(some_bytes): zero copy (a bytearray is copied)
#   net.summary()
#   net.predict([5.1, 3.5, 1.4, 0.2])       # -> array('f')
#   net.layers[0].activation = "tanh"       # takes effect on the next predict
#   net.resize(0, 4)                        # 4 neurons in the first layer
#   net.save("tuned.anne")
#
# The weight file format is docs/FORMAT.md.

import gc
import math
from array import array

try:
    import anne as _native
except ImportError:
    _native = None


_anne = None  # the default backend module, for networks made from now on
BACKEND = None  # its name: "native" or "python"


def _backend_module(name):
    if name == "native":
        if _native is None:
            raise ValueError("this firmware has no native 'anne' module")
        return _native
    if name == "python":
        import anne_fallback
        return anne_fallback
    raise ValueError("backend must be 'native' or 'python', not %r" % (name,))


def use_backend(name):
    """Selects the kernels of the networks made from now on: "native" (the
    anne module built into the firmware) or "python" (anne_fallback, plain
    MicroPython). An existing network switches with net.use_backend(name)."""
    global _anne, BACKEND
    _anne = _backend_module(name)
    BACKEND = name


use_backend("native" if _native is not None else "python")

# ---------------------------------------------------------------------------
# Activations: names, ids, parameters (ops/ops.json, through anne_ops)

import anne_ops
from anne_ops import ACTIVATIONS  # noqa: F401 - anne_net.ACTIVATIONS, the ids' names
from anne_core import (PADDINGS, _argmax, _as_floats, _check_finite, _floats_for, _n_out, _out_steps,
                       _shape_text, _size, _zeros)

__version__ = anne_ops.VERSION


# ---------------------------------------------------------------------------
# Random numbers for weight initialisation

try:
    import random as _random
    _random.random
    _random.seed
except (ImportError, AttributeError):
    _random = None
_lcg_state = [12345]


def seed(n):
    """Seeds the weight initialisers (deterministic resize/insert/add)."""
    n = int(n)
    if _random is not None:
        _random.seed(n)
    _lcg_state[0] = n & 0x7FFFFFFF


def _uniform01():
    if _random is not None:
        return _random.random()
    # Park-Miller minimal standard LCG: only small-int arithmetic per step.
    _lcg_state[0] = (_lcg_state[0] * 48271) % 0x7FFFFFFF
    return _lcg_state[0] / 2147483647.0


def _int_arg(value, what, low=1, high=65535):
    """An int in low..high; TypeError for floats, strs, bools (Dense(8.7),
    Dense('8')), ValueError out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if not low <= value <= high:
        raise ValueError("%s out of range: %d (%d..%d)" % (what, value, low, high))
    return value


def _editable(net):
    """RuntimeError while net's fit() runs (an edit from a callback): fit
    trains the layers and weights it started with, so the network's layers
    and weights are not changed until it returns."""
    if net is not None and net._compiled is not None and net._compiled.fitting:
        raise RuntimeError("fit() is running: the network's layers and weights cannot change until it "
                           "returns (edit them after fit(), not from a callback)")


def _glorot_uniform(n_in, units, receptive=1):
    """Keras's default kernel initialiser: uniform(-limit, limit) with
    limit = sqrt(6 / (fan_in + fan_out)), for an n_in x units kernel (a
    Conv1D's n_in = kernel_size x in_channels, receptive = kernel_size:
    fan_out = kernel_size x filters)."""
    limit = math.sqrt(6.0 / (n_in + units * receptive))
    k = _floats_for(n_in * units)
    for i in range(n_in * units):
        k[i] = (2.0 * _uniform01() - 1.0) * limit
    return k


def _flatten(values, what):
    """Nested lists (Keras layout) or a flat sequence/buffer -> (array('f'),
    rows or None)."""
    if isinstance(values, (list, tuple)) and len(values) and isinstance(values[0], (list, tuple, array)):
        rows = len(values)
        cols = len(values[0])
        flat = _floats_for(rows * cols)
        k = 0
        for r in values:
            if len(r) != cols:
                raise ValueError("%s: rows of different lengths (%d and %d)" % (what, cols, len(r)))
            for v in r:
                flat[k] = v
                k += 1
        return flat, rows
    if isinstance(values, (list, tuple)):
        return array("f", values), None
    if isinstance(values, array) and repr(values[:0]) == "array('f')":
        return values, None  # used as it is (no copy)
    mv = memoryview(values)
    if len(mv) and isinstance(mv[0], int):  # bytes-like holding float32
        if len(mv) % 4:
            raise ValueError("%s: %d bytes is not a whole number of float32" % (what, len(mv)))
        return array("f", bytearray(mv)), None
    return array("f", values), None


# ---------------------------------------------------------------------------
# Layers

class Dense:
    """Dense(units, activation="linear", use_bias=True, **params): a fully
    connected layer, as keras.layers.Dense. params are the activation's
    parameters (negative_slope, alpha, threshold, max_value, default_value,
    b, approximate); input_shape=(n,) is accepted for a first layer, as in
    Keras. Weights are created (glorot_uniform kernel, zero bias) when the
    layer joins a network, or given with set_weights()."""

    def __init__(self, units, activation="linear", use_bias=True, **params):
        self._units = _int_arg(units, "units")
        shape = params.pop("input_shape", None)
        self._input_shape = None if shape is None else Input(shape).shape
        self.use_bias = bool(use_bias)
        self.trainable = True  # False: fit() leaves this layer's weights as they are
        self.n_in = None
        self._kernel = None
        self._bias = None
        self._net = None
        self._name = "linear"
        self.params = {}
        self._act = None
        self._act_backend = None
        if activation is None:
            activation = "linear"
        self._set_activation(activation, params, check_shape=False)

    # -- activation -------------------------------------------------------

    @property
    def activation(self):
        """The activation's name. Assigning a name re-parses it at once
        (ValueError for unknown names, the layer stays as it was); the
        parameters go back to Keras's defaults. Use
        set_activation(name, **params) to give parameters."""
        return self._name

    @activation.setter
    def activation(self, value):
        self._set_activation(value, {})

    def set_activation(self, name, **params):
        """Changes the activation and its parameters (checked first)."""
        self._set_activation(name, params)

    def _set_activation(self, value, params, check_shape=True):
        if not isinstance(value, str):
            raise TypeError("activation must be a name (str), not %s" % type(value).__name__)
        name = value
        _editable(self._net)
        backend = self._net._backend if self._net is not None else _anne
        act = backend.Activation(name, **params)  # ValueError if unknown or bad params
        new_out = self._outputs_with(name)  # ValueError: odd units for glu
        if check_shape and self._net is not None and new_out != self.n_out:
            self._net._check_output_change(self, new_out)
        old_out = self.n_out if self._act is not None else None
        self._name = name
        self.params = dict(params)
        self._act = act
        self._act_backend = backend
        if self._net is not None:
            if old_out != self.n_out:
                self._net._rebuild()
                self._net._fit_classes()
            else:
                self._net._build_plan()

    def _rebind(self, backend):
        """Re-parses the activation for another backend."""
        self._act = backend.Activation(self._name, **self.params)
        self._act_backend = backend

    def _outputs_with(self, name):
        return _n_out(name, self._units)

    # -- shape ------------------------------------------------------------

    @property
    def units(self):
        """Neurons. Assigning resizes the layer: in a network as
        net.resize(i, units) does (new weights here and in the next layer)."""
        return self._units

    @units.setter
    def units(self, value):
        value = _int_arg(value, "units")
        if self._net is not None:
            self._net.resize(self._net._layers.index(self), value)
            return
        _n_out(self._name, value)  # ValueError: odd units for glu
        self._units, self._kernel, self._bias, self.n_in = value, None, None, None

    @property
    def n_out(self):
        """Outputs of the layer (units, or units // 2 for glu)."""
        return _n_out(self._name, self._units)

    @property
    def n_params(self):
        return (self.n_in or 0) * self._units + (self._units if self.use_bias else 0)

    # -- weights ----------------------------------------------------------

    @property
    def kernel(self):
        """The kernel, n_in x units floats in Keras's layout (row-major).
        Assigning one is set_weights(kernel, layer.bias): checked, and the
        network uses it from the next predict."""
        return self._kernel

    @kernel.setter
    def kernel(self, value):
        self.set_weights(value, self._bias)

    @property
    def bias(self):
        """The bias (units floats), or None for use_bias=False. Assigning
        one is set_weights(layer.kernel, bias)."""
        return self._bias

    @bias.setter
    def bias(self, value):
        self.set_weights(self._kernel, value)

    def _init_weights(self, n_in, units=None):
        """New (kernel, bias) for n_in inputs, Keras defaults."""
        units = self._units if units is None else units
        return _glorot_uniform(n_in, units), (_zeros(units) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
        if kernel is None:
            raise ValueError("kernel: give the weights (nested lists n_in x units or a float buffer)")
        k, rows = _flatten(kernel, "kernel")
        if rows is None:
            n_in = n_in if n_in is not None else self._known_rows()
            if n_in is None:
                raise ValueError("kernel: give nested lists (n_in x units) for a layer not yet in a network")
        else:
            if n_in is None:
                n_in = self._known_rows() or rows
            if rows != n_in:
                raise ValueError("kernel has %d rows, this layer has %d inputs" % (rows, n_in))
        if len(k) != n_in * self._units:
            raise ValueError("kernel has %d floats, expected n_in * units = %d * %d = %d"
                             % (len(k), n_in, self._units, n_in * self._units))
        _check_finite(k, "kernel")
        b = None
        if self.use_bias:
            if bias is None:
                raise ValueError("this layer has use_bias=True: give a bias")
            b, _ = _flatten(bias, "bias")
            if len(b) != self._units:
                raise ValueError("bias has %d floats, expected %d (one per unit)" % (len(b), self._units))
            _check_finite(b, "bias")
        elif bias is not None:
            raise ValueError("this layer has use_bias=False: bias must be None")
        return k, b, n_in

    def _is_keras_list(self, kernel, bias):
        """True for Keras's layer.set_weights([kernel, bias]) form: a list of
        1 or 2 arrays, the first of them the kernel (not a row of it)."""
        if bias is not None or not isinstance(kernel, (list, tuple)) or len(kernel) not in (1, 2):
            return False
        first = kernel[0]
        if isinstance(first, (list, tuple)):
            return len(first) > 0 and isinstance(first[0], (list, tuple, array))
        # a flat buffer: the kernel if it holds n_in * units floats
        rows = self._known_rows()
        return rows is not None and len(first) == rows * self._units != self._units

    def set_weights(self, kernel, bias=None):
        """Sets the weights: set_weights(kernel, bias) or, as Keras's
        layer.set_weights(), set_weights([kernel, bias]). The kernel is nested
        lists (Keras layout n_in x units, as get_weights() gives it) or a flat
        float buffer (an array('f') is used as it is, not copied).
        ValueError (and no change) if the shapes do not fit."""
        _editable(self._net)
        if self._is_keras_list(kernel, bias):
            kernel, bias = kernel[0], (kernel[1] if len(kernel) == 2 else None)
        k, b, rows = self._check_weights(kernel, bias)
        self._kernel, self._bias = k, b
        self._take_rows(rows)
        if self._net is not None:
            self._net._build_plan()

    def _take_rows(self, rows):
        """The input the weights set_weights() was given take."""
        self.n_in = rows

    def get_weights(self):
        """[kernel as nested lists n_in x units, bias list] (Keras layout);
        set_weights() takes it back."""
        u = self._units
        k = _as_floats(self._kernel)
        out = [[[k[i * u + j] for j in range(u)] for i in range(self.n_in)]]
        if self._bias is not None:
            b = _as_floats(self._bias)
            out.append([b[j] for j in range(u)])
        return out

    # -- shape (what Sequential asks every layer) ----------------------------

    kind = anne_ops.LAYER_DENSE
    _folded = None   # loaded: the Keras layers the converter folded into this one ("a + b")
    _before = None   # loaded: "code|scales|offsets" of a normalization folded in before it
    weighted = True  # has weights (and an activation), that fit() may train
    stored = True    # has float data in a file
    computes = True  # runs in the plan (Flatten and Reshape move nothing)

    def _known_rows(self):
        """Rows of the kernel, when known: its inputs."""
        return self.n_in

    @property
    def input_shape(self):
        return None if self.n_in is None else (self.n_in,)

    def _set_input(self, shape):
        self.n_in = _size(shape)

    def _out_shape(self, shape):
        """The output shape on an input of `shape`; ValueError if the layer
        cannot take it."""
        if len(shape) != 1:
            raise ValueError("Dense takes a flat input, this one is %s: add Flatten() before it"
                             % _shape_text(shape))
        return (self.n_out,)

    @property
    def output_shape(self):
        return (self.n_out,)

    def _fits(self, shape):
        """True if the layer's weights fit an input of `shape`."""
        return self._kernel is not None and self.n_in == _size(shape)

    def _new_weights(self, shape, units=None):
        return self._init_weights(_size(shape), units)

    def _step(self, buf):
        """The layer as anne.Plan takes it, writing buf."""
        return (self._kernel, self._bias, self._act, buf)

    def __repr__(self):
        s = "Dense(%d, activation=%r" % (self._units, self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        if not self.use_bias:
            s += ", use_bias=False"
        return s + ")"


class Input:
    """Input(shape): the network's input, as keras.Input: Input(4),
    Input(shape=(4,)), a window of a sensor stream, Input((steps,
    channels)), or an image, Input((h, w, channels)), whose values are
    passed row-major (x[t * channels + c], numpy's reshape(-1)). Goes first: Sequential([Input(4), Dense(8), ...])."""

    def __init__(self, shape):
        if not isinstance(shape, (tuple, list)):
            shape = (shape,)
        if len(shape) not in (1, 2, 3):
            raise ValueError("Input shape %r: anne_net takes (n,), (steps, channels) or (h, w, channels)"
                             % (tuple(shape),))
        self.shape = tuple(_int_arg(d, "Input shape") for d in shape)
        self.n_inputs = _size(self.shape)

    def __repr__(self):
        return "Input(shape=%s)" % _shape_text(self.shape)


def _one(value, what):
    """Keras's int-or-1-tuple arguments (kernel_size=3 or (3,))."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError("%s: one value for a 1-D layer, got %r" % (what, tuple(value)))
        value = value[0]
    return _int_arg(value, what)


def _padding(value, allowed):
    if value not in allowed:
        raise ValueError("padding must be %s, not %r" % (" or ".join(repr(p) for p in allowed), value))
    return value


def _depth(v):
    """Nesting depth of lists/tuples (an array or a number ends it)."""
    d = 0
    while isinstance(v, (list, tuple)) and len(v):
        d += 1
        v = v[0]
    return d + (1 if isinstance(v, array) else 0)


class _Shaped:
    """The shapes of a layer whose output shape comes from its input's
    (kept in _in_shape once it is in a network): all but Dense."""

    input_shape = property(lambda self: self._in_shape)

    @property
    def output_shape(self):
        return None if self._in_shape is None else self._out_shape(self._in_shape)

    @property
    def n_out(self):
        shape = self.output_shape
        return None if shape is None else _size(shape)


def _check_reach(kernel_size, dilation_rate):
    """A causal Conv1D pads (kernel_size - 1) * dilation_rate steps: under
    2**31 on every target (docs/FORMAT.md; 32-bit boards wrapped)."""
    if (kernel_size - 1) * dilation_rate > 0x7FFFFFFF:
        raise ValueError("Conv1D: (kernel_size - 1) * dilation_rate = (%d - 1) * %d reaches %d steps back; "
                         "at most 2147483647" % (kernel_size, dilation_rate, (kernel_size - 1) * dilation_rate))


class Conv1D(_Shaped, Dense):
    """Conv1D(filters, kernel_size, strides=1, padding="valid",
    dilation_rate=1, activation="linear", use_bias=True, **params), as
    keras.layers.Conv1D on a (steps, channels) input: out[t, f] =
    activation(sum over k, c of x[t * strides + k * dilation_rate - pad, c] *
    kernel[k, c, f] + bias[f]); padding "valid", "same" or "causal". The
    kernel is Keras's, kernel_size x in_channels x filters (get_weights()
    gives it nested that way). Activations as Dense's, glu excepted."""

    kind = anne_ops.LAYER_CONV1D

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation="linear", use_bias=True, **params):
        self._ks = _one(kernel_size, "kernel_size")
        self._dil = _one(dilation_rate, "dilation_rate")
        _check_reach(self._ks, self._dil)
        self.strides = _one(strides, "strides")
        self.padding = _padding(padding, PADDINGS)
        self._in_shape = None
        self._cin = None  # input channels the weights take
        self._net = None
        Dense.__init__(self, filters, activation, use_bias, **params)

    filters = Dense.units

    def _set_window(self, ks, dil):
        """New kernel_size and dilation_rate, checked; in a network, the
        layers re-laid out (a new kernel_size: new weights), or nothing changes."""
        old = self._ks, self._dil
        _check_reach(ks, dil)
        self._ks, self._dil = ks, dil
        if self._net is not None:
            net = self._net
            try:
                net._relayout(list(net._layers), net._layers.index(self), (self,) if ks != old[0] else ())
            except ValueError:
                self._ks, self._dil = old
                raise

    kernel_size = property(lambda self: self._ks,
                           lambda self, v: self._set_window(_one(v, "kernel_size"), self._dil))
    # (assigning kernel_size gives the layer new weights; dilation_rate keeps them)
    dilation_rate = property(lambda self: self._dil,
                             lambda self, v: self._set_window(self._ks, _one(v, "dilation_rate")))

    def _set_activation(self, value, params, check_shape=True):
        if isinstance(value, str) and _n_out(value, 2) != 2:
            raise ValueError("Conv1D cannot take %s (it halves the filters): use a Dense after it" % value)
        Dense._set_activation(self, value, params, check_shape)

    def _known_rows(self):
        return None if self._cin is None else self.kernel_size * self._cin

    def _outputs_with(self, name):
        return self.n_out

    def _set_input(self, shape):
        self._in_shape = tuple(shape)
        self._cin = shape[-1]
        self.n_in = _size(shape)

    def _window(self):
        return (self.kernel_size - 1) * self.dilation_rate + 1

    def _out_shape(self, shape):
        if len(shape) != 2:
            raise ValueError("Conv1D takes (steps, channels), this input is %s: use Input((steps, channels)) "
                             "or Reshape" % _shape_text(shape))
        n, _ = _out_steps(shape[0], self._window(), self.strides, PADDINGS.index(self.padding))
        return (n, self._units)

    @property
    def n_params(self):
        return (self._known_rows() or 0) * self._units + (self._units if self.use_bias else 0)

    def _fits(self, shape):
        return self._kernel is not None and len(shape) == 2 and self._cin == shape[1]

    def _new_weights(self, shape, units=None):
        units = self._units if units is None else units
        k = _glorot_uniform(self.kernel_size * shape[-1], units, self.kernel_size)
        return k, (_zeros(units) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
        if _depth(kernel) == 3:  # kernel_size x in_channels x filters
            if len(kernel) != self.kernel_size:
                raise ValueError("kernel has %d taps, this layer's kernel_size is %d" % (len(kernel), self.kernel_size))
            kernel = [row for tap in kernel for row in tap]
        k, b, rows = Dense._check_weights(self, kernel, bias, n_in)
        if rows % self.kernel_size:
            raise ValueError("kernel has %d rows, not kernel_size x in_channels (%d x channels)"
                             % (rows, self.kernel_size))
        return k, b, rows

    def _is_keras_list(self, kernel, bias):
        if bias is not None or not isinstance(kernel, (list, tuple)) or len(kernel) not in (1, 2):
            return False
        return _depth(kernel[0]) == 3 or Dense._is_keras_list(self, kernel, bias) and _depth(kernel) != 3

    # set_weights() as Dense's: the kernel nested kernel_size x in_channels x
    # filters (Keras's get_weights()), or flat in that order.
    def _take_rows(self, rows):
        self._cin = rows // self.kernel_size

    def get_weights(self):
        """[kernel nested kernel_size x in_channels x filters, bias list]."""
        u, cin = self._units, self._cin
        k = _as_floats(self._kernel)
        out = [[[[k[(t * cin + c) * u + j] for j in range(u)] for c in range(cin)]
                for t in range(self.kernel_size)]]
        if self._bias is not None:
            b = _as_floats(self._bias)
            out.append([b[j] for j in range(u)])
        return out

    def _step(self, buf):
        return (self._kernel, self._bias, self._act, buf,
                (self.kind, self._cin, self.kernel_size, self.strides, self.dilation_rate,
                 PADDINGS.index(self.padding)))

    def _options(self):
        return "kernel_size=%d, strides=%d, padding=%r, dilation_rate=%d" % (
            self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def __repr__(self):
        s = "Conv1D(%d, %s, activation=%r" % (self._units, self._options(), self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        return s + (", use_bias=False)" if not self.use_bias else ")")


class _Shaping(_Shaped):
    """What the layers without weights share (pooling, Flatten, Reshape):
    nothing to train, an output shape computed from the input's."""

    weighted = False
    stored = False
    computes = True
    trainable = False
    use_bias = False
    _kernel = _bias = None
    _name = "linear"
    params = {}
    n_params = 0

    def __init__(self, input_shape=None):
        self._input_shape = None if input_shape is None else Input(input_shape).shape
        self._in_shape = None
        self._net = None

    @property
    def n_in(self):
        return None if self._in_shape is None else _size(self._in_shape)

    def _set_input(self, shape):
        self._in_shape = tuple(shape)

    def _fits(self, shape):
        return True

    def _new_weights(self, shape, units=None):
        return None, None

    def get_weights(self):
        return []

    def set_weights(self, weights):
        if len(weights):
            raise ValueError("%s has no weights" % type(self).__name__)

    def _options(self):
        return ""

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, self._options())


def _steps_channels(layer, shape):
    if len(shape) != 2:
        raise ValueError("%s takes (steps, channels), this input is %s" % (type(layer).__name__, _shape_text(shape)))
    return shape


class _Pooling1D(_Shaping):
    def __init__(self, pool_size=2, strides=None, padding="valid", input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.pool_size = _one(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _one(strides, "strides")
        self.padding = _padding(padding, PADDINGS[:2])

    def _out_shape(self, shape):
        steps, channels = _steps_channels(self, shape)
        n, _ = _out_steps(steps, self.pool_size, self.strides, PADDINGS.index(self.padding))
        return (n, channels)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[1], self.pool_size, self.strides,
                                        PADDINGS.index(self.padding)))

    def _options(self):
        return "pool_size=%d, strides=%d, padding=%r" % (self.pool_size, self.strides, self.padding)


class MaxPooling1D(_Pooling1D):
    """MaxPooling1D(pool_size=2, strides=None, padding="valid"), as Keras's:
    the max of each window of pool_size steps, per channel."""
    kind = anne_ops.LAYER_MAX_POOLING1D


class AveragePooling1D(_Pooling1D):
    """AveragePooling1D(pool_size=2, strides=None, padding="valid"), as
    Keras's (with padding="same", the mean of the steps in range)."""
    kind = anne_ops.LAYER_AVERAGE_POOLING1D


class _GlobalPooling1D(_Shaping):
    def _out_shape(self, shape):
        return (_steps_channels(self, shape)[1],)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[1]))


class GlobalAveragePooling1D(_GlobalPooling1D):
    """GlobalAveragePooling1D(): the mean over the steps, per channel."""
    kind = anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D


class GlobalMaxPooling1D(_GlobalPooling1D):
    """GlobalMaxPooling1D(): the max over the steps, per channel."""
    kind = anne_ops.LAYER_GLOBAL_MAX_POOLING1D


class Flatten(_Shaping):
    """Flatten(): (steps, channels) -> (steps * channels,), row-major (the
    values do not move: it costs nothing)."""
    kind = anne_ops.LAYER_FLATTEN
    computes = False

    def _out_shape(self, shape):
        return (_size(shape),)

    def _step(self, buf):
        return None


class Reshape(_Shaping):
    """Reshape(target_shape), as Keras's: (n,) or (steps, channels), one
    size may be -1; the values do not move."""
    kind = anne_ops.LAYER_RESHAPE
    computes = False

    def __init__(self, target_shape, input_shape=None):
        _Shaping.__init__(self, input_shape)
        if not isinstance(target_shape, (tuple, list)) or len(target_shape) not in (1, 2):
            raise ValueError("target_shape must be (n,) or (steps, channels), not %r" % (target_shape,))
        if [d for d in target_shape if d != -1 and (isinstance(d, bool) or not isinstance(d, int) or d < 1)] \
                or list(target_shape).count(-1) > 1:
            raise ValueError("target_shape %r: sizes >= 1, at most one -1" % (tuple(target_shape),))
        self.target_shape = tuple(target_shape)

    def _out_shape(self, shape):
        n = _size(shape)
        known = -_size(self.target_shape) if -1 in self.target_shape else _size(self.target_shape)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError("cannot reshape %s (%d values) to %s" % (_shape_text(shape), n,
                                                                      _shape_text(self.target_shape)))
        return tuple(n // known if d == -1 else d for d in self.target_shape)

    def _step(self, buf):
        return None

    def _options(self):
        return _shape_text(self.target_shape)


def _per_channel(v, c, what):
    """A scalar or c values -> c floats."""
    if isinstance(v, (int, float)):
        return [float(v)] * c
    v = [float(t) for t in v]
    if len(v) == 1:
        return v * c
    if len(v) != c:
        raise ValueError("%s has %d values for %d channels" % (what, len(v), c))
    return v


class _Affine(_Shaping):
    """x * scale + offset per channel of the last axis: what Keras's
    Normalization, Rescaling and BatchNormalization compute at inference.
    The subclasses keep their Keras arguments; _scale_offset(c) turns them
    into the c scales and offsets the kernel applies."""

    kind = anne_ops.LAYER_AFFINE
    stored = True
    use_bias = True
    code = 0  # which Keras layer, stored in the file

    @property
    def units(self):
        return None if self._in_shape is None else self._in_shape[-1]

    @property
    def n_params(self):
        return 2 * (self.units or 0)

    def _known_rows(self):
        return 1

    def _out_shape(self, shape):
        return tuple(shape)

    def _fits(self, shape):
        k = self._kernel
        return k is not None and (len(k) if isinstance(k, array) else len(k) // 4) == shape[-1]

    def _args_fit(self, c):
        """True if the per-channel Keras arguments fit c channels (scalars,
        or one or c values), or the layer has not had another number of
        channels (arguments given for the wrong number are an error)."""
        return self._in_shape is None or self._in_shape[-1] == c or all(
            v is None or isinstance(v, (int, float)) or len(v) in (1, c) for v in self._channel_args())

    def _new_weights(self, shape, units=None):
        c = shape[-1]
        old = None
        if not self._args_fit(c):
            old = self._swap_args(self._fresh_args())
        try:
            s, o = self._scale_offset(c)
        finally:
            if old is not None:
                self._swap_args(old)
        for v in s + o:
            if v - v != 0.0:
                raise ValueError("%s: not finite (a zero variance?)" % type(self).__name__)
        return array("f", s), array("f", o)

    def _set_input(self, shape):
        # Its input now has other channels (the layer before was resized):
        # fresh arguments, as a new Keras layer has (BatchNormalization:
        # gamma 1, beta 0, moving mean 0, moving variance 1).
        if not self._args_fit(shape[-1]):
            self._swap_args(self._fresh_args())
        _Shaping._set_input(self, shape)

    def _refresh(self):
        """New scale and offset from the Keras arguments (in a network)."""
        _editable(self._net)
        if self._net is not None and self._in_shape is not None:
            self._kernel, self._bias = self._new_weights(self._in_shape)
            self._net._build_plan()

    def _step(self, buf):
        return (self._kernel, self._bias, None, buf, (self.kind, self._in_shape[-1]))

    def _from_file(self, scale, offset):
        """The arguments that give this scale and offset (a loaded layer)."""
        raise NotImplementedError


def _floats_of(buf):
    return [float(v) for v in _as_floats(buf)]


class Normalization(_Affine):
    """Normalization(axis=-1, mean=None, variance=None), as Keras's:
    (x - mean) / sqrt(variance) per channel (per feature), Keras's epsilon
    1e-7 under the square root's floor. Give mean and variance, or call
    adapt(rows) with raw data (a list of samples)."""

    code = 1

    def __init__(self, axis=-1, mean=None, variance=None, input_shape=None):
        _Shaping.__init__(self, input_shape)
        if axis not in (-1, None):
            raise ValueError("Normalization: anne normalizes over the last axis (axis=-1)")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (then adapt())")
        self.mean, self.variance = mean, variance

    def _scale_offset(self, c):
        mean = _per_channel(0.0 if self.mean is None else self.mean, c, "mean")
        var = _per_channel(1.0 if self.variance is None else self.variance, c, "variance")
        s = [1.0 / max(math.sqrt(v), 1e-7) for v in var]
        return s, [-m * k for m, k in zip(mean, s)]

    def adapt(self, data):
        """Mean and variance of each channel over data (samples of the
        network's input, flat or nested), as Keras's adapt()."""
        c = self._in_shape[-1] if self._in_shape is not None else None
        sums = sq = None
        n = 0
        for row in data:
            nested = len(row) and isinstance(row[0], (list, tuple))
            flat = [v for step in row for v in step] if nested else row
            if c is None:
                c = len(row[0]) if nested else len(flat)
            if sums is None:
                sums, sq = [0.0] * c, [0.0] * c
            for k in range(len(flat)):
                sums[k % c] += flat[k]
                sq[k % c] += flat[k] * flat[k]
            n += len(flat) // c
        if not n:
            raise ValueError("adapt(): no data")
        self.mean = [v / n for v in sums]
        self.variance = [max(q / n - m * m, 0.0) for q, m in zip(sq, self.mean)]
        self._refresh()

    def set_weights(self, weights):
        """Keras's [mean, variance] (or [mean, variance, count])."""
        if len(weights) not in (2, 3):
            raise ValueError("Normalization takes [mean, variance], got %d arrays" % len(weights))
        old = self.mean, self.variance
        self.mean, self.variance = list(weights[0]), list(weights[1])
        try:
            self._refresh()
        except (ValueError, RuntimeError):
            self.mean, self.variance = old
            raise

    def _from_file(self, scale, offset):
        self.variance = [1.0 / (v * v) for v in scale]
        self.mean = [-o / s for o, s in zip(offset, scale)]

    def _channel_args(self):
        return self.mean, self.variance

    def _fresh_args(self):
        return None, None

    def _swap_args(self, args):
        old = self.mean, self.variance
        self.mean, self.variance = args
        return old

    def get_weights(self):
        c = self.units
        return [_per_channel(0.0 if self.mean is None else self.mean, c, "mean"),
                _per_channel(1.0 if self.variance is None else self.variance, c, "variance")]

    def _options(self):
        return "" if self.mean is None else "mean=%s, variance=%s" % (_short(self.mean), _short(self.variance))


class Rescaling(_Affine):
    """Rescaling(scale, offset=0.0), as Keras's: x * scale + offset (scalars,
    or one value per channel)."""

    code = 2

    def __init__(self, scale, offset=0.0, input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.scale, self.offset = scale, offset

    def _scale_offset(self, c):
        return _per_channel(self.scale, c, "scale"), _per_channel(self.offset, c, "offset")

    def _from_file(self, scale, offset):
        self.scale, self.offset = scale, offset

    def _channel_args(self):
        return self.scale, self.offset

    def _fresh_args(self):
        return 1.0, 0.0

    def _swap_args(self, args):
        old = self.scale, self.offset
        self.scale, self.offset = args
        return old

    def get_weights(self):
        return []

    def _options(self):
        return "scale=%s, offset=%s" % (_short(self.scale), _short(self.offset))


class BatchNormalization(_Affine):
    """BatchNormalization(axis=-1, epsilon=0.001, center=True, scale=True),
    Keras's inference form: (x - moving_mean) / sqrt(moving_variance +
    epsilon) * gamma + beta. set_weights() takes Keras's list: [gamma,
    beta, moving_mean, moving_variance] (gamma left out with scale=False,
    beta with center=False); the defaults are 1, 0, 0, 1."""

    code = 3

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, input_shape=None, **keras):
        _Shaping.__init__(self, input_shape)
        if axis not in (-1, None):
            raise ValueError("BatchNormalization: anne normalizes over the last axis (axis=-1)")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self._w = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

    def _names(self):
        return ((["gamma"] if self.scale else []) + (["beta"] if self.center else [])
                + ["moving_mean", "moving_variance"])

    def _scale_offset(self, c):
        w = {k: _per_channel(v, c, k) for k, v in self._w.items()}
        s = [g / math.sqrt(v + self.epsilon) for g, v in zip(w["gamma"], w["moving_variance"])]
        return s, [b - m * k for b, m, k in zip(w["beta"], w["moving_mean"], s)]

    def set_weights(self, weights):
        names = self._names()
        if len(weights) != len(names):
            raise ValueError("BatchNormalization takes %d arrays (%s), got %d"
                             % (len(names), ", ".join(names), len(weights)))
        old = dict(self._w)
        self._w.update(zip(names, weights))
        try:
            self._refresh()
        except (ValueError, RuntimeError):
            self._w = old
            raise

    def get_weights(self):
        c = self.units
        return [_per_channel(self._w[k], c, k) for k in self._names()]

    def _from_file(self, scale, offset):
        self.epsilon, self.center, self.scale = 0.0, True, True
        self._w = {"gamma": scale, "beta": offset, "moving_mean": 0.0, "moving_variance": 1.0}

    def _channel_args(self):
        return self._w.values()

    def _fresh_args(self):
        return {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

    def _swap_args(self, args):
        old = self._w
        self._w = args
        return old

    def _options(self):
        return "epsilon=%g" % self.epsilon


def _short(v):
    if isinstance(v, (int, float)):
        return "%g" % v
    return "[%s%s]" % (", ".join("%.4g" % t for t in v[:4]), ", ..." if len(v) > 4 else "")


LAYER_TYPES = (Dense, Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D,
               GlobalMaxPooling1D, Flatten, Reshape, Normalization, Rescaling, BatchNormalization)
AFFINE_TYPES = (_Affine, Normalization, Rescaling, BatchNormalization)  # by code


def _before_args(text):
    """A `folded_before` item's text, "code|scales|offsets" -> (Keras class
    code, scales, offsets); ValueError if it is not that."""
    code, s, o = text.split("|")
    s, o = [float(v) for v in s.split()], [float(v) for v in o.split()]
    if len(s) != len(o) or not s:
        raise ValueError("folded_before: %d scales, %d offsets" % (len(s), len(o)))
    return int(code), s, o


def _unfolded(text):
    """The layer of its own for a normalization the converter folded into
    the layer after it (x * scale + offset per input, docs/FORMAT.md's
    `folded_before`), as the Keras class it was."""
    code, scale, offset = _before_args(text)
    L = (Normalization(), Rescaling(1.0), BatchNormalization())[code - 1] if 1 <= code <= 3 else Rescaling(1.0)
    L._from_file(scale, offset)
    return L


def _parse_folded(meta, layers):
    """Moves the metadata's `folded` and `folded_before` (docs/FORMAT.md)
    onto the layers: L._folded (the Keras layers' names, "a + b"), and
    L._before ((Keras class code, scales, offsets) of what was folded in
    before it). Unreadable items are left in the metadata as text."""
    for key in ("folded", "folded_before"):
        text = meta.get(key)
        if not isinstance(text, str):
            continue
        try:
            parsed = []
            for item in text.split("; "):
                i, _, rest = item.partition(": ")
                i = int(i)
                if not 0 <= i < len(layers) or not layers[i].weighted:
                    raise ValueError
                if key == "folded_before":
                    _before_args(rest)
                parsed.append((i, rest))
        except ValueError:
            continue
        for i, v in parsed:
            if key == "folded":
                layers[i]._folded = v
            else:
                layers[i]._before = v
        del meta[key]


def _folded_text(layers):
    """The `folded` metadata item for the layers, or None."""
    items = ["%d: %s" % (i, L._folded) for i, L in enumerate(layers) if getattr(L, "_folded", None)]
    return "; ".join(items) or None


def _folded_before_text(layers):
    items = ["%d: %s" % (i, L._before) for i, L in enumerate(layers) if getattr(L, "_before", None)]
    return "; ".join(items) or None


class _Layers:
    """net.layers: the layers, read-only as a list (index, len, iterate).
    append(layer) is net.add(layer); other changes go through the network
    (insert, remove, resize), which keeps the shapes consistent."""

    def __init__(self, net):
        self._net = net

    def __getitem__(self, i):
        return self._net._layers[i]

    def __len__(self):
        return len(self._net._layers)

    def __iter__(self):
        return iter(self._net._layers)

    def index(self, layer):
        return self._net._layers.index(layer)

    def append(self, layer):
        self._net.add(layer)

    def _refuse(self, *args):
        raise TypeError("net.layers is read-only: use net.add(layer), net.insert(i, layer) or net.remove(i)")

    insert = pop = remove = extend = clear = __setitem__ = __delitem__ = _refuse

    def __repr__(self):
        return repr(self._net._layers)


# ---------------------------------------------------------------------------
# The network

class Sequential:
    """A stack of layers (Dense, Conv1D, pooling, Flatten, Reshape, the
    normalization layers), as keras.Sequential:
    Sequential([Input(4), Dense(8, "relu"), Dense(3, "softmax")]), or
    Sequential(4, [Dense(8, "relu"), ...]), or Sequential() and add();
    Sequential([Input((32, 3)), Conv1D(8, 5), ...]) for sensor windows."""

    _compiled = None  # what compile() keeps (an instance attribute from then on)

    def __init__(self, n_inputs=None, layers=None):
        if isinstance(n_inputs, (list, tuple)) and layers is None and not (
                n_inputs and all(isinstance(d, int) for d in n_inputs)):
            n_inputs, layers = None, n_inputs
        self.input_shape = None  # (n,) or (steps, channels)
        if n_inputs is not None:
            self._set_input_shape(n_inputs if isinstance(n_inputs, Input) else Input(n_inputs))
        self._layers = []
        self._scratch = []
        self._plan = ()
        self._run = None
        self._backend = _anne
        self.predict_into = self._predict_into
        # What net.save() stores besides the layers (docs/FORMAT.md):
        # "name", "classes" and "features" (see the properties), and free
        # str key/values.
        self.metadata = {}
        for layer in layers or ():
            self.add(layer)

    @property
    def layers(self):
        """The layers (read-only; see _Layers)."""
        return _Layers(self)

    # -- metadata (stored in the file) -------------------------------------

    def _meta(key):
        def get(self):
            return self.metadata.get(key)

        def set(self, value):
            if value is None:
                self.metadata.pop(key, None)
            else:
                if key != "name":
                    value = [str(v) for v in value]
                self.metadata[key] = value

        return property(get, set)

    name = _meta("name")            # the model's name, a str, or None
    classes = _meta("classes")      # names of the classes, in output order
    features = _meta("features")    # names of the inputs, in order
    del _meta

    # -- structure --------------------------------------------------------

    def _set_input_shape(self, inp):
        self.input_shape = inp.shape

    # (a property, not one more instance attribute: every attribute of the
    # network makes the lookup of predict_into, the hot path, slower)
    @property
    def n_inputs(self):
        """The values of one sample: n, or steps * channels."""
        return None if self.input_shape is None else _size(self.input_shape)

    def _shape_at(self, i, layers=None):
        """The input shape of layer i (of layers, by default the network's)."""
        layers = self._layers if layers is None else layers
        return self.input_shape if i == 0 else layers[i - 1].output_shape

    @property
    def n_outputs(self):
        return self._layers[-1].n_out if self._layers else self.n_inputs

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self._layers else self.input_shape

    def _rebuild(self):
        """Scratch buffers, one per output of a layer that computes (Flatten
        and Reshape move nothing), but the last (sized by the net)."""
        self._scratch = []
        gc.collect()
        self._scratch = self._scratch_for(self._layers)
        self._build_plan()

    @staticmethod
    def _scratch_for(layers):
        """A buffer for the output of each of layers that computes, but the last."""
        return [_floats_for(L.n_out) for L in [L for L in layers if L.computes][:-1]]

    @staticmethod
    def _plan_tuple(layers, scratch):
        """The plan of layers (see _build_plan), each that computes writing
        its buffer of scratch, the last one the plan call's out."""
        steps = [L for L in layers if L.computes]
        return tuple(L._step(scratch[i] if i < len(steps) - 1 else None) for i, L in enumerate(steps))

    def _build_plan(self):
        """The layers as anne.Plan takes them: (kernel, bias, activation,
        output buffer[, spec]) tuples (see Dense._step), rebuilt on every
        change so that predict_into only makes one call and allocates
        nothing. Changes made through the API keep it current; assigning
        layer._kernel directly does not (use set_weights)."""
        for L in self._layers:
            if L.weighted and L._act_backend is not self._backend:
                L._rebind(self._backend)
        self._plan = self._plan_tuple(self._layers, self._scratch)
        # On the native backend, predict_into is the plan as an anne.Plan
        # (an instance attribute over the method): a call goes from Python
        # straight to C, with no Python frame in between.
        # The Python backend's Plan checks the weights once, too.
        self._run = self._backend.Plan(self._plan) if self._plan else None
        if self._plan and self._backend is _native and self._plan_checks_x():
            self.predict_into = self._run
        else:
            self.predict_into = self._predict_into

    def _plan_checks_x(self):
        """True if the plan alone refuses every x whose length is not
        n_inputs (the first layer that computes takes its input's length
        from its weights, or gives another output length for any other
        number of steps). A global pooling, or a pooling or strided Conv1D
        that covers a step more or less with the same output, does not:
        predict_into then checks len(x) in Python first."""
        i = 0
        while not self._layers[i].computes:
            i += 1
        L = self._layers[i]
        if L.kind in (anne_ops.LAYER_DENSE, anne_ops.LAYER_AFFINE):
            return True  # the kernel's rows; an affine's output is x's length
        steps, channels = self._shape_at(i)
        n = _size(L._out_shape((steps, channels)))
        # output steps never decrease with the input's steps: a step less and
        # a step more are the other lengths closest to giving the same output
        for other in (steps - 1, steps + 1):
            try:
                if other >= 1 and _size(L._out_shape((other, channels))) == n:
                    return False
            except ValueError:
                pass
        return True

    @property
    def backend(self):
        """This network's kernels: "native" or "python"."""
        return "native" if self._backend is _native else "python"

    def use_backend(self, name):
        """Runs this network on "native" or "python" kernels from now on."""
        self._backend = _backend_module(name)
        self._build_plan()

    def _relayout(self, layers, start, fresh=(), keep=None):
        """Makes `layers` the network's, from layer `start` on: each gets
        its input shape, and new Keras-initialised weights if it is in
        fresh or its weights no longer fit (those of `keep`, a layer being
        inserted with weights of its own, must fit). All is checked before
        anything changes: a layer that cannot take its new input is a
        ValueError naming it, and the network stays as it was."""
        _editable(self)
        shape = self._shape_at(start, layers)
        todo = []
        for j in range(start, len(layers)):
            L = layers[j]
            try:
                out = L._out_shape(shape)
            except ValueError as e:
                raise ValueError("layer %d (%s): %s" % (j, type(L).__name__, e))
            weights = None
            if L is keep and not L._fits(shape):
                raise ValueError("the layer's weights take %s inputs, here it gets %s"
                                 % (L._known_rows(), _size(shape) if len(shape) == 1 else _shape_text(shape)))
            if L is not keep and (not L._fits(shape) or any(L is F for F in fresh)):
                weights = L._new_weights(shape)
            todo.append((L, shape, weights))
            shape = out
        for L, shape, weights in todo:
            if weights is not None:
                L._kernel, L._bias = weights
                if L.weighted and (L._folded or L._before):
                    # (resize() unfolds a stored normalization first)
                    print("anne_net: layer %d's new weights drop what the converter folded into it (%s)"
                          % (layers.index(L), L._folded or "a normalization"))
                    L._folded = L._before = None
            L._set_input(shape)
            L._net = self
        self._layers = layers
        self._rebuild()
        self._fit_classes()

    def _fit_classes(self):
        """Drops the class names when an edit left them naming other outputs
        than the network gives (net.classes = [...] gives new ones)."""
        names = self.classes
        n = self.n_outputs
        if names is not None and len(names) != n and not (n == 1 and len(names) == 2):
            print("anne_net: the network now gives %d outputs; its %d class names (%s) are dropped: "
                  "set net.classes" % (n, len(names), ", ".join(names)))
            self.classes = None

    def add(self, layer):
        """Appends a layer (weights: its own if given and they fit, else
        Keras's initialisers). An Input (first, before any layer) sets the
        input shape."""
        if isinstance(layer, Input):
            if self._layers or self.n_inputs is not None:
                raise ValueError("Input goes first, once: this network already has %d inputs"
                                 % self.n_outputs)
            self._set_input_shape(layer)
            return layer
        if not isinstance(layer, LAYER_TYPES):
            raise TypeError("a layer must be one of %s (or Input first), not %s"
                            % (", ".join(T.__name__ for T in LAYER_TYPES), type(layer).__name__))
        if layer._net is not None:
            raise ValueError("this layer is already in a network")
        if self.n_inputs is None:
            if layer._input_shape is None:
                raise ValueError("the network needs its input shape first: Sequential([Input(n), ...]), "
                                 "Sequential(n) or Dense(..., input_shape=(n,))")
            self._set_input_shape(Input(layer._input_shape))
        self._relayout(self._layers + [layer], len(self._layers), keep=layer if layer._kernel is not None else None)
        return layer

    def _index(self, i, end_ok=False):
        n = len(self._layers)
        if i < 0:
            i += n
        if not 0 <= i < n + (1 if end_ok else 0):
            raise ValueError("layer index %d out of range (%d layers)" % (i, n))
        return i

    def _check_output_change(self, layer, new_out):
        # An activation change that changes the outputs (glu) is fine only
        # on the last layer.
        if self._layers[-1] is not layer:
            raise ValueError("that changes the layer's outputs from %d to %d; the next layer "
                             "takes %d inputs (resize the layer instead)" % (layer.n_out, new_out, layer.n_out))

    def resize(self, i, units):
        """Gives layer i (Dense or Conv1D) `units` neurons (filters): new
        Keras-initialised weights for layer i and for layer i + 1; the next
        layer with weights after it too, if its input changed. Other layers
        keep theirs. ValueError (and no change) for a bad index or size.
        A normalization the converter folded into layer i's inputs (stored
        in the file: `folded_before`) becomes a layer of its own before it
        (layer i; the resized layer is then i + 1), so that the new weights
        take normalized inputs as in Keras. A BatchNormalization (or other
        per-channel layer) whose channels change gets fresh arguments, as a
        new Keras layer has (gamma 1, beta 0, moving mean 0, moving variance
        1). Class names that no longer fit the outputs are dropped."""
        _editable(self)
        i = self._index(i)
        units = int(units)
        if not 1 <= units <= 65535:
            raise ValueError("units out of range: %d (1..65535)" % units)
        L = self._layers[i]
        if not L.weighted:
            raise ValueError("layer %d (%s) has no units to resize" % (i, type(L).__name__))
        if L.kind == anne_ops.LAYER_DENSE:
            _n_out(L._name, units)  # ValueError: odd units for glu
        old = L._units
        layers = list(self._layers)
        before = L._before
        if before is not None:
            # The normalization the converter folded into this layer's
            # weights (stored in the file): a layer of its own before it, so
            # that the new weights take normalized inputs, as in Keras.
            layers.insert(i, _unfolded(before))
            start, fresh = i, (L,) + tuple(layers[i + 2:i + 3])
        else:
            start, fresh = i, (L,) + tuple(layers[i + 1:i + 2])
        L._units = units
        folded = L._folded
        if before is not None:
            L._folded = L._before = None  # (unfolded; what was folded after it goes with the weights)
        try:
            self._relayout(layers, start, fresh)
        except ValueError:
            L._units, L._folded, L._before = old, folded, before
            raise
        if before is not None:
            print("anne_net: layer %d's folded normalization is now layer %d (%s); the resized layer is %d"
                  % (i, i, type(layers[i]).__name__, i + 1))

    def insert(self, i, layer):
        """Inserts a layer before layer i (i == len(layers) appends). The
        layers after it get new weights if their input no longer fits them."""
        i = self._index(i, end_ok=True)
        if not isinstance(layer, LAYER_TYPES):
            raise TypeError("a layer must be one of %s, not %s"
                            % (", ".join(T.__name__ for T in LAYER_TYPES), type(layer).__name__))
        if layer._net is not None:
            raise ValueError("this layer is already in a network")
        self._relayout(self._layers[:i] + [layer] + self._layers[i:], i,
                       keep=layer if layer._kernel is not None else None)
        return layer

    def remove(self, i):
        """Removes layer i and returns it. The layers after it get new
        weights if their input no longer fits them. The last layer cannot go."""
        i = self._index(i)
        if len(self._layers) == 1:
            raise ValueError("a network needs at least one layer")
        layer = self._layers[i]
        self._relayout(self._layers[:i] + self._layers[i + 1:], i)
        layer._net = None
        return layer

    def set_weights(self, weights):
        """Keras's model.set_weights(): [kernel0, bias0, kernel1, ...] (no
        bias entry for use_bias=False layers). All are checked before any
        changes."""
        _editable(self)
        new = []
        j = 0
        weighted = [L for L in self._layers if L.weighted]
        for L in weighted:
            if j >= len(weights):
                raise ValueError("too few arrays: %d" % len(weights))
            kernel = weights[j]
            j += 1
            bias = None
            if L.use_bias:
                if j >= len(weights):
                    raise ValueError("too few arrays: %d" % len(weights))
                bias = weights[j]
                j += 1
            new.append(L._check_weights(kernel, bias, L._known_rows()))
        if j != len(weights):
            raise ValueError("%d arrays given, the network has %d" % (len(weights), j))
        for L, (k, b, _) in zip(weighted, new):
            L._kernel, L._bias = k, b
        self._build_plan()

    def get_weights(self):
        out = []
        for L in self._layers:
            out.extend(L.get_weights())
        return out

    # -- inference --------------------------------------------------------

    def _predict_into(self, x, out):
        if not self._layers:
            raise ValueError("the network has no layers")
        if len(x) != self.n_inputs:
            raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
        if not self._plan:  # only Flatten/Reshape: the values as they are
            if len(out) != self.n_inputs:
                raise ValueError("out has %d floats; the network gives %d" % (len(out), self.n_inputs))
            for j in range(len(x)):
                out[j] = x[j]
            return out
        return self._run(x, out)

    def predict_into(self, x, out):
        """Runs the network on x (a float32 buffer of n_inputs values) into
        out (a float32 buffer of n_outputs values); returns out. Allocates
        nothing on the heap with the native backend. (Each network replaces
        this method by an attribute of its own: see _build_plan.)"""
        return self._predict_into(x, out)

    def predict(self, x):
        """x: one sample (a list or array('f') of n_inputs values) -> a new
        array('f'); or, as Keras's predict(), a batch (a list of such rows)
        -> a list of array('f'), one per row."""
        if isinstance(x, (list, tuple)) and len(x) and isinstance(x[0], (list, tuple, array)):
            return self.predict_batch(x)
        if not isinstance(x, array):
            x = array("f", x)
        return self.predict_into(x, _floats_for(self.n_outputs))

    def predict_batch(self, rows):
        out = []
        for i in range(len(rows)):
            out.append(self.predict_into(self._row(rows[i], i, None), _floats_for(self.n_outputs)))
        return out

    def _row(self, row, i, xa):
        """Row i of a batch as a float32 buffer of n_inputs values (into xa
        when given); ValueError naming the row when its length is wrong."""
        if len(row) != self.n_inputs:
            raise ValueError("row %d has %d values, the network takes %d" % (i, len(row), self.n_inputs))
        if xa is None:
            return row if isinstance(row, array) else array("f", row)
        for j in range(self.n_inputs):
            xa[j] = row[j]
        return xa

    def _task(self, y):
        """"classification" or "regression", from the labels as Keras's
        losses would read them: class indices (ints, bools, or integral
        floats in range) or one-hot rows -> classification; other floats
        (one output) or rows of floats -> regression."""
        n_out = self.n_outputs
        first = y[0]
        if isinstance(first, (list, tuple, array)):
            if n_out > 1 and all(len(t) == n_out and sum(1 for v in t if v == 1) == 1
                                 and sum(1 for v in t if v == 0) == n_out - 1 for t in y):
                return "classification"  # one-hot
            return "regression"
        classes = max(2, n_out)
        if all(isinstance(t, (bool, int)) or (isinstance(t, float) and t == int(t) and 0 <= t < classes)
               for t in y):
            return "classification"
        if n_out != 1:
            raise ValueError("labels are scalars but not class indices (0..%d) for %d outputs"
                             % (n_out - 1, n_out))
        return "regression"

    # -- training (anne_train, imported when a network is compiled) ---------

    def compile(self, optimizer, loss, metrics=None):
        """Keras's compile(): optimizer "sgd", "adam", anne_net.SGD(...) or
        anne_net.Adam(...); loss a Keras loss name; metrics e.g.
        ["accuracy"]. fit() trains the network; evaluate() then reports the
        loss and the metrics."""
        import anne_train
        if not self._layers:
            raise ValueError("the network has no layers: add them before compile()")
        self._compiled = anne_train.Compiled(optimizer, loss, metrics, self.n_outputs)

    def training_memory(self, batch_size=32):
        """Bytes of RAM that fit(batch_size=...) allocates and keeps for
        training, before anything is allocated: the workspace (a batch's
        activations and gradients), the optimizer's slots and two small
        arrays (exact, on the native module, for every kind of layer).
        fit() also holds a shuffle order (4 bytes a row), and float32
        copies of x and y if they are lists rather than flat float32
        buffers. On the pure-Python backend, whose fit() runs a per-sample
        loop, a network with Conv1D or pooling layers gets the bytes of the
        arrays that loop allocates while it runs (each layer's buffers and
        gradients, copies of the trained weights, the optimizer's slots),
        of which it keeps the slots."""
        if self._compiled is None:
            raise ValueError("training_memory() needs compile(optimizer, loss) first")
        if int(batch_size) < 1:
            raise ValueError("batch_size must be at least 1, got %d" % batch_size)
        import anne_train
        return anne_train.training_memory(self, self._compiled, int(batch_size))

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, shuffle=True, validation_data=None,
            callbacks=None, validation_split=0.0):
        """Keras's fit(): trains on x (a list of rows, or one flat float32
        buffer of rows x n_inputs) and y (class indices for
        sparse_categorical_crossentropy, else rows or a flat buffer).
        shuffle is seeded by anne_net.seed(). validation_split (0 < v < 1)
        keeps the last rows of x and y for validation, as Keras does
        (validation_data, if given, wins). Returns a History (.history:
        Keras's dict of per-epoch lists). Dense and Conv1D layers are
        trained, through pooling, Flatten, Reshape and the per-channel
        layers; those with trainable = False are not changed. A native
        module built without its training functions (the inference-only
        anne.mpy) trains on the pure-Python backend, then predicts natively
        again."""
        if self._compiled is None:
            raise ValueError("fit() needs compile(optimizer, loss) first")
        import anne_train
        try:
            import time
            ticks = time.ticks_ms
        except (ImportError, AttributeError):
            ticks = None
        inference_only = not hasattr(self._backend, "sgd")
        if inference_only:
            self.use_backend("python")
        try:
            return anne_train.fit(self, self._compiled, x, y, batch_size, epochs, verbose, shuffle,
                                  validation_data, callbacks, _uniform01, _check_free, ticks, validation_split)
        finally:
            if inference_only:
                self.use_backend("native")

    def evaluate(self, X, y, task=None):
        """Keras's evaluate(). Classification (class indices, or one-hot
        rows): the last layer's argmax (or output > 0.5 for one unit)
        against the labels; loss is Keras's categorical cross-entropy on the
        outputs as probabilities (binary cross-entropy for one unit),
        from_logits=False, clipped at 1e-7. Returns {"loss", "accuracy", "n"}.
        Regression (task="regression", or float targets): returns
        {"loss": MSE, "mse": MSE, "n"}. Each row of X must have n_inputs
        values (ValueError naming the row otherwise)."""
        if self._compiled is not None and task is None:
            import anne_train
            return anne_train.evaluate(self, self._compiled, X, y)
        if not isinstance(X, (list, tuple)):  # a flat float32 buffer: its rows, in place
            import anne_train
            X = anne_train._rows(X, self.n_inputs, "X")
        if len(X) != len(y):
            raise ValueError("%d inputs but %d labels" % (len(X), len(y)))
        if len(X) == 0:
            raise ValueError("nothing to evaluate")
        if task is None:
            task = self._task(y)
        if task not in ("regression", "classification"):
            raise ValueError("task must be 'classification' or 'regression'")
        out = _floats_for(self.n_outputs)
        xa = _floats_for(self.n_inputs)
        eps = 1e-7
        total = 0.0
        correct = 0
        for i in range(len(X)):
            t = y[i]
            self.predict_into(self._row(X[i], i, xa), out)
            if task == "regression":
                if not isinstance(t, (list, tuple, array)):
                    t = (t,)
                if len(t) != len(out):
                    raise ValueError("target %d has %d values, the network gives %d" % (i, len(t), len(out)))
                s = 0.0
                for j in range(len(out)):
                    d = out[j] - t[j]
                    s += d * d
                total += s / len(out)
                continue
            if isinstance(t, (list, tuple, array)):  # one-hot
                if len(t) != len(out):
                    raise ValueError("label %d has %d values, the network gives %d" % (i, len(t), len(out)))
                t = _argmax(t)
            t = int(t)
            if not 0 <= t < max(2, len(out)):
                raise ValueError("label %d is %d, out of range for %d outputs" % (i, t, len(out)))
            if len(out) == 1:
                p = min(max(out[0], eps), 1.0 - eps)
                pred = 1 if out[0] > 0.5 else 0
                total -= math.log(p) if t == 1 else math.log(1.0 - p)
            else:
                s = 0.0
                for v in out:
                    s += v
                p = out[t] / s if s != 0 else 0.0
                p = min(max(p, eps), 1.0 - eps)
                total -= math.log(p)
                pred = self._backend.argmax(out)
            correct += pred == t
        n = len(X)
        if task == "regression":
            return {"loss": total / n, "mse": total / n, "n": n}
        return {"loss": total / n, "accuracy": correct / n, "n": n}

    def classify(self, X):
        """Predicted class per row: argmax, or output > 0.5 for one unit.
        The class names when the network has them (net.classes, one per
        class), else the indices. Each row must have n_inputs values
        (ValueError naming it)."""
        out = _floats_for(self.n_outputs)
        xa = _floats_for(self.n_inputs)
        names = self.classes
        if names is not None and len(names) != max(2, self.n_outputs):
            names = None
        preds = []
        for i in range(len(X)):
            self.predict_into(self._row(X[i], i, xa), out)
            k = (1 if out[0] > 0.5 else 0) if len(out) == 1 else self._backend.argmax(out)
            preds.append(k if names is None else names[k])
        return preds

    # -- display ----------------------------------------------------------

    def summary(self):
        """Prints a table like Keras's model.summary(): each layer's kind,
        output shape, activation and options, parameters and bytes."""
        line = "-" * 78
        print('Model: "%s"  (input %s, backend %s)' % (self.name or "sequential", _shape_text(self.input_shape),
                                                    self.backend))
        print(line)
        print("%-3s %-22s %-10s %-28s %7s %6s" % ("#", "Layer", "Output", "Activation", "Param #", "Bytes"))
        print("=" * 78)
        total = 0
        for i, L in enumerate(self._layers):
            act = L._name if L.weighted else ""
            if L.params:
                act += "(" + ",".join("%s=%s" % (k, _fmt(L.params[k])) for k in L.params) + ")"
            n = L.n_params
            total += n
            name = type(L).__name__ + ("*" if L.weighted and not L.use_bias else "")
            print("%-3d %-22s %-10s %-28s %7d %6d" % (i, name, _shape_text(L.output_shape)[1:-1].rstrip(","),
                                                       act, n, 4 * n))
            options = L._options() if L.kind != anne_ops.LAYER_DENSE else ""
            if options:
                print("    %s" % options)
        print("=" * 78)
        print("Total params: %d (%d bytes of float32)" % (total, 4 * total))
        if any(L.weighted and not L.use_bias for L in self._layers):
            print("* use_bias=False")
        for key in self.metadata:
            v = self.metadata[key]
            if key != "name":
                print("%s: %s" % (key, ", ".join(v) if isinstance(v, list) else v))
        folded = _folded_text(self._layers)
        if folded:
            print("folded: %s" % folded)
        print(line)

    def __repr__(self):
        return "<Sequential %s -> %s>" % (_shape_text(self.input_shape)[1:-1].rstrip(","), " -> ".join(
            ("%d %s" % (L.n_out, L._name)) if L.kind == anne_ops.LAYER_DENSE else
            "%s %s" % (type(L).__name__, _shape_text(L.output_shape)) for L in self._layers))

    # -- saving -----------------------------------------------------------

    def save(self, path):
        """Writes the network as a .anne file (docs/FORMAT.md)."""
        import anne_io
        # What the converter folded into the layers, as they are now (load()
        # keeps it on the layers; an edit that re-initialises a layer drops
        # it), after the name, where the converter puts it.
        meta = {}
        if "name" in self.metadata:
            meta["name"] = self.metadata["name"]
        for key, text in (("folded", _folded_text(self._layers)),
                          ("folded_before", _folded_before_text(self._layers))):
            if text:
                meta[key] = text
        for key in self.metadata:
            if key not in meta and key not in ("folded", "folded_before"):
                meta[key] = self.metadata[key]
        anne_io.save(self, path, meta)


def _fmt(v):
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def confusion_matrix(labels, preds, n_classes=None, classes=None):
    """rows: true class, columns: predicted class. Labels and predictions
    are class indices, or class names when classes (e.g. net.classes)
    gives them."""
    def index(v, what):
        if isinstance(v, str):
            if classes is None or v not in classes:
                raise ValueError("%s %r is not a class name%s" % (
                    what, v, "" if classes is None else " (%s)" % ", ".join(classes)))
            return classes.index(v)
        return int(v)

    labels = [index(v, "label") for v in labels]
    preds = [index(v, "prediction") for v in preds]
    if n_classes is None:
        n_classes = len(classes) if classes is not None else max(max(labels), max(preds)) + 1
    m = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(labels, preds):
        m[t][p] += 1
    return m


def _check_free(need, why):
    gc.collect()
    free = gc.mem_free()
    if need > free:
        raise MemoryError("%s: needs %d bytes, %d free" % (why, need, free))


def SGD(learning_rate=0.01, momentum=0.0, nesterov=False):
    """keras.optimizers.SGD, for net.compile()."""
    import anne_train
    return anne_train.SGD(learning_rate, momentum, nesterov)


def Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """keras.optimizers.Adam, for net.compile()."""
    import anne_train
    return anne_train.Adam(learning_rate, beta_1, beta_2, epsilon)


def EarlyStopping(monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                  restore_best_weights=False):
    """keras.callbacks.EarlyStopping, for net.fit(callbacks=[...])."""
    import anne_train
    return anne_train.EarlyStopping(monitor, min_delta, patience, mode, restore_best_weights)


def load(source):
    """Loads a .anne file (docs/FORMAT.md): source is a path on the board's
    filesystem (read layer by layer into new float arrays) or a bytes-like
    object. A read-only one (bytes, a frozen bytes constant, a ROMFS
    file's buffer, a read-only memoryview) has its float data used in
    place, without a copy (on the native backend, when 4-byte aligned). A
    writable one (bytearray, array, a memoryview of them) is copied: it
    could change or grow under the network (a growing bytearray moves its
    bytes and frees the old ones). ValueError for any file the format's
    readers must refuse."""
    import anne_io

    def make_layer(entry):
        kind, kp = entry.kind, entry.kparams
        if kind == anne_ops.LAYER_DENSE:
            return Dense(entry.units, entry.activation, entry.has_bias, **entry.keras_params())
        if kind == anne_ops.LAYER_CONV1D:
            return Conv1D(entry.units, kp[0], kp[1], PADDINGS[kp[2]], kp[3], entry.activation,
                          entry.has_bias, **entry.keras_params())
        if kind in (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D):
            return LAYER_TYPES[kind - 1](kp[0], kp[1], PADDINGS[kp[2]])
        if kind == anne_ops.LAYER_RESHAPE:
            return Reshape(entry.out_shape)
        if kind == anne_ops.LAYER_AFFINE:
            return Rescaling(1.0) if kp[0] in (0, 2) else AFFINE_TYPES[kp[0]]()
        return LAYER_TYPES[kind - 1]()

    in_shape, layers, metadata = anne_io.read(source, make_layer, _native, copy=_anne is not _native)
    for i, L in enumerate(layers):
        for w in (L._kernel, L._bias):
            if w is not None:
                _check_finite(w, "layer %d: weights" % i)
    net = Sequential(in_shape)
    _parse_folded(metadata, layers)
    net.metadata = metadata
    for L in layers:
        if L.kind == anne_ops.LAYER_AFFINE:
            L._from_file(_floats_of(L._kernel), _floats_of(L._bias))
        L._net = net
        net._layers.append(L)
    net._rebuild()
    return net


# ---------------------------------------------------------------------------
# Streams

class Window:
    """Window(net, hop=1): the last `steps` samples of a sensor stream, for
    a network on (steps, channels) windows (or (n,): n samples of one
    channel). w.push(sample) stores one sample (channels values, or a number
    for one channel) and, once the window is full and every `hop` samples,
    runs the network on the window, oldest sample first, and returns its
    outputs (w.out, overwritten by the next run); otherwise None. Nothing
    is allocated per sample: the samples go into a ring buffer stored twice
    over, so that every window is one contiguous view, made in advance."""

    def __init__(self, net, hop=1):
        shape = net.input_shape
        if shape is None or not net.layers:
            raise ValueError("Window needs a network with an input shape and layers")
        if len(shape) > 2:
            raise ValueError("Window streams (steps,) or (steps, channels) inputs, this one is %s"
                             % _shape_text(shape))
        self.steps, self.channels = shape if len(shape) == 2 else (shape[0], 1)
        self.hop = _int_arg(hop, "hop")
        self.net = net
        n = self.steps * self.channels
        self._ring = _zeros(2 * n)
        ring = memoryview(self._ring)
        self._views = [ring[i * self.channels:i * self.channels + n] for i in range(self.steps)]
        self.out = _floats_for(net.n_outputs)
        self.reset()

    def reset(self):
        """Forgets the samples: the next window is due after `steps` more."""
        self._head = 0      # where the next sample goes (0..steps-1)
        self._filled = 0    # samples stored, up to steps
        self._since = 0     # samples since the last run

    def push(self, sample):
        c = self.channels
        i = self._head * c
        j = i + self.steps * c
        ring = self._ring
        if c == 1 and not isinstance(sample, (list, tuple, array)):
            ring[i] = ring[j] = sample
        else:
            if len(sample) != c:
                raise ValueError("a sample has %d values, the window takes %d channels" % (len(sample), c))
            for k in range(c):
                ring[i + k] = ring[j + k] = sample[k]
        self._head += 1
        if self._head == self.steps:
            self._head = 0
        if self._filled < self.steps:
            self._filled += 1
        self._since += 1
        if self._filled < self.steps or self._since < self.hop:
            return None
        self._since = 0
        return self.net.predict_into(self._views[self._head], self.out)


# ---------------------------------------------------------------------------
# Reading outputs

def argmax(values):
    """The index of the largest value of a network's outputs (an array('f')
    from predict, or any sequence of numbers): the first one on ties; NaN
    never wins unless every value is NaN (then 0)."""
    n = len(values)
    if n == 0:
        raise ValueError("argmax of an empty sequence")
    best = 0
    m = values[0]
    for i in range(1, n):
        v = values[i]
        if v > m or (m != m and v == v):
            best = i
            m = v
    return best


def top_k(values, k=3):
    """The indices of the k largest values, largest first (the lower index
    first on ties; NaN last); fewer if there are fewer values. For class
    names: [net.classes[i] for i in anne_net.top_k(out, 2)]."""
    k = _int_arg(k, "k", 0)
    order = []
    for i in range(len(values)):
        v = values[i]
        j = len(order)
        if v == v:
            while j and not values[order[j - 1]] >= v:
                j -= 1
        order.insert(j, i)
        if len(order) > k:
            order.pop()
    return order
