# anne_layers: anne_net's Dense and Input, the weight initialisers and
# their random numbers, and the bases of the layers whose shape follows
# their input's. Use them through anne_net (anne_net.Dense, ...); the
# layers for windows are anne_conv, the per-channel ones anne_affine.

import math
from array import array

import anne_ops
from anne_core import _as_floats, _check_finite, _floats_for, _n_out, _shape_text, _size, _zeros

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
        raise anne_ops.err(54, what, type(value).__name__)  # NOT_INT
    if not low <= value <= high:
        raise ValueError("%s out of range: %d (%d..%d)" % (what, value, low, high))
    return value


# What an int8 network (anne_int8) answers to fit, compile and edits.
INT8_REFUSAL = ("int8 networks are not trained or edited: edit and train the float network, "
                "then quantize it again")


def _editable(net):
    """RuntimeError while net's fit() runs (an edit from a callback): fit
    trains the layers and weights it started with, so the network's layers
    and weights are not changed until it returns. ValueError for an int8
    network (INT8_REFUSAL)."""
    if getattr(net, "dtype", "float32") != "float32":
        raise ValueError(INT8_REFUSAL)
    if net is not None and net._compiled is not None and net._compiled.fitting:
        raise RuntimeError("fit() is running: the network's layers and weights cannot change until it "
                           "returns (edit them after fit(), not from a callback)")


def _resized(net, i, units):
    """resize(i, units)'s checks (chains' and graphs', anne_graph_edit) ->
    (i, units, the layer): _editable, the index, units in 1..65535, a
    layer with units of its own (not a DepthwiseConv2D, whose channels
    follow its input), an even number for glu."""
    _editable(net)
    i = net._index(i)
    units = int(units)
    if not 1 <= units <= 65535:
        raise ValueError("units out of range: %d (1..65535)" % units)
    L = net._layers[i]
    if not L.weighted or L.kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        raise ValueError("layer %d (%s) has no units to resize" % (i, type(L).__name__))
    if L.kind == anne_ops.LAYER_DENSE:
        _n_out(L._name, units)  # ValueError: odd units for glu
    return i, units, L


def _take_weights(L, weights, i):
    """A relayout's new weights for layer L (index i): what the converter
    folded into its old ones (stored in the file) no longer applies, and
    is dropped, saying so (a chain's resize() unfolds a stored
    normalization first)."""
    L._kernel, L._bias = weights
    if L.weighted and (L._folded or L._before):
        print("anne_net: layer %d's new weights drop what the converter folded into it (%s)"
              % (i, L._folded or "a normalization"))
        L._folded = L._before = None


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
                raise anne_ops.err(2, len(b), self._units)  # DENSE_BIAS
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


LAYER_TYPES = (Dense,)


def make_layer(entry):
    """The Dense layer of a file's entry (anne_net.load, through the layer
    registry's module for the kind: anne_ops.LAYER_MODULE)."""
    return Dense(entry.units, entry.activation, entry.has_bias, **entry.keras_params())
