# anne_layers: the layers of anne_net that the network runs as they are
# (Dense, Conv1D, Input, the poolings, Flatten, Reshape), the weight
# initialisers and their random numbers. Use them through anne_net
# (anne_net.Dense, ...); the per-channel layers are anne_affine.

import math
from array import array

import anne_ops
from anne_core import (PADDINGS, _as_floats, _check_finite, _floats_for, _n_out, _out_steps, _shape_text,
                       _size, _zeros)

# The backend of networks made from now on (anne_net.use_backend sets it)
_default_backend = [None]

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
        backend = self._net._backend if self._net is not None else _default_backend[0]
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
    Input(shape=(4,)), or a window of a sensor stream, Input((steps,
    channels)), whose values are passed row-major (x[t * channels + c],
    numpy's reshape(-1)). Goes first: Sequential([Input(4), Dense(8), ...])."""

    def __init__(self, shape):
        if not isinstance(shape, (tuple, list)):
            shape = (shape,)
        if len(shape) not in (1, 2):
            raise ValueError("Input shape %r: anne_net takes (n,) or (steps, channels)" % (tuple(shape),))
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
