# anne_net: Keras-like dense networks on a microcontroller, on top of the
# `anne` kernels (the native module if the firmware has it, else the
# pure-Python anne_fallback).
#
#   import anne_net
#   net = anne_net.load("iris3.anne")       # or load(some_bytes): zero copy
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
from anne_core import _argmax, _as_floats, _check_finite, _floats_for, _n_out, _zeros

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


def _glorot_uniform(n_in, units):
    """Keras's default kernel initialiser: uniform(-limit, limit) with
    limit = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (n_in + units))
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
        self.input_dim = None if shape is None else Input(shape).n_inputs
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
        backend = self._net._backend if self._net is not None else _anne
        act = backend.Activation(name, **params)  # ValueError if unknown or bad params
        new_out = _n_out(name, self._units)  # ValueError: odd units for glu
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
            else:
                self._net._build_plan()

    def _rebind(self, backend):
        """Re-parses the activation for another backend."""
        self._act = backend.Activation(self._name, **self.params)
        self._act_backend = backend

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
            n_in = n_in if n_in is not None else self.n_in
            if n_in is None:
                raise ValueError("kernel: give nested lists (n_in x units) for a layer not yet in a network")
        else:
            if n_in is None:
                n_in = self.n_in if self.n_in is not None else rows
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
        return self.n_in is not None and len(first) == self.n_in * self._units != self._units

    def set_weights(self, kernel, bias=None):
        """Sets the weights: set_weights(kernel, bias) or, as Keras's
        layer.set_weights(), set_weights([kernel, bias]). The kernel is nested
        lists (Keras layout n_in x units, as get_weights() gives it) or a flat
        float buffer (an array('f') is used as it is, not copied).
        ValueError (and no change) if the shapes do not fit."""
        if self._is_keras_list(kernel, bias):
            kernel, bias = kernel[0], (kernel[1] if len(kernel) == 2 else None)
        k, b, n_in = self._check_weights(kernel, bias)
        self._kernel, self._bias, self.n_in = k, b, n_in
        if self._net is not None:
            self._net._build_plan()

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

    def __repr__(self):
        s = "Dense(%d, activation=%r" % (self._units, self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        if not self.use_bias:
            s += ", use_bias=False"
        return s + ")"


class Input:
    """Input(shape): the network's input, as keras.Input: Input(4) or
    Input(shape=(4,)). Goes first: Sequential([Input(4), Dense(8), ...])."""

    def __init__(self, shape):
        if isinstance(shape, (tuple, list)):
            if len(shape) != 1:
                raise ValueError("Input shape %r: anne_net takes 1-D inputs, (n,)" % (tuple(shape),))
            shape = shape[0]
        self.n_inputs = _int_arg(shape, "Input shape")

    def __repr__(self):
        return "Input(shape=(%d,))" % self.n_inputs


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
    """A stack of Dense layers, as keras.Sequential:
    Sequential([Input(4), Dense(8, "relu"), Dense(3, "softmax")]), or
    Sequential(4, [Dense(8, "relu"), ...]), or Sequential() and add()."""

    _compiled = None  # what compile() keeps (an instance attribute from then on)

    def __init__(self, n_inputs=None, layers=None):
        if isinstance(n_inputs, (list, tuple)) and layers is None:
            n_inputs, layers = None, n_inputs
        if isinstance(n_inputs, Input):
            n_inputs = n_inputs.n_inputs
        self.n_inputs = None if n_inputs is None else _int_arg(n_inputs, "n_inputs")
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

    def _n_in_at(self, i):
        return self.n_inputs if i == 0 else self._layers[i - 1].n_out

    @property
    def n_outputs(self):
        return self._layers[-1].n_out if self._layers else self.n_inputs

    def _rebuild(self):
        """Scratch buffers, one per hidden layer output (sized by the net)."""
        self._scratch = []
        gc.collect()
        self._scratch = [_floats_for(L.n_out) for L in self._layers[:-1]]
        self._build_plan()

    def _build_plan(self):
        """The layers as anne.forward() takes them: (kernel, bias, activation,
        output buffer) tuples, rebuilt on every change so that predict_into
        only makes one call and allocates nothing. Changes made through the
        API keep it current; assigning layer._kernel directly does not (use
        set_weights)."""
        n = len(self._layers)
        for L in self._layers:
            if L._act_backend is not self._backend:
                L._rebind(self._backend)
        self._plan = tuple((L._kernel, L._bias, L._act, self._scratch[i] if i < n - 1 else None)
                           for i, L in enumerate(self._layers))
        # On the native backend, predict_into is the plan as an anne.Plan
        # (an instance attribute over the method): a call goes from Python
        # straight to C, with no Python frame in between.
        # The Python backend's Plan checks the weights once, too.
        self._run = self._backend.Plan(self._plan) if self._plan else None
        if self._plan and self._backend is _native:
            self.predict_into = self._run
        else:
            self.predict_into = self._predict_into

    @property
    def backend(self):
        """This network's kernels: "native" or "python"."""
        return "native" if self._backend is _native else "python"

    def use_backend(self, name):
        """Runs this network on "native" or "python" kernels from now on."""
        self._backend = _backend_module(name)
        self._build_plan()

    def _attach(self, layer, n_in):
        """Checks layer can take n_in inputs; returns (kernel, bias) to use."""
        if layer._net is not None:
            raise ValueError("this layer is already in a network")
        if layer._kernel is not None and layer.n_in == n_in:
            return layer._kernel, layer._bias
        if layer._kernel is not None:
            raise ValueError("the layer's weights take %d inputs, here it gets %d" % (layer.n_in, n_in))
        return layer._init_weights(n_in)

    def add(self, layer):
        """Appends a layer (weights: its own if given and they fit, else
        Keras's initialisers). An Input (first, before any layer) sets the
        input size."""
        if isinstance(layer, Input):
            if self._layers or self.n_inputs is not None:
                raise ValueError("Input goes first, once: this network already has %d inputs"
                                 % self.n_outputs)
            self.n_inputs = layer.n_inputs
            return layer
        if not isinstance(layer, Dense):
            raise TypeError("a layer must be Dense (or Input first), not %s" % type(layer).__name__)
        if self.n_inputs is None:
            if layer.input_dim is None:
                raise ValueError("the network needs its input size first: Sequential([Input(n), ...]), "
                                 "Sequential(n) or Dense(..., input_shape=(n,))")
            self.n_inputs = layer.input_dim
        n_in = self.n_outputs
        k, b = self._attach(layer, n_in)
        layer._kernel, layer._bias, layer.n_in, layer._net = k, b, n_in, self
        self._layers.append(layer)
        self._rebuild()
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
        """Gives layer i `units` neurons: new Keras-initialised weights for
        layer i and for layer i + 1 (its input changed); other layers keep
        theirs. ValueError (and no change) for a bad index or size."""
        i = self._index(i)
        units = int(units)
        if not 1 <= units <= 65535:
            raise ValueError("units out of range: %d (1..65535)" % units)
        L = self._layers[i]
        new_out = _n_out(L._name, units)
        k, b = L._init_weights(L.n_in, units)
        nxt = None
        if i + 1 < len(self._layers):
            N = self._layers[i + 1]
            nk, nb = N._init_weights(new_out)
            nxt = (N, nk, nb)
        L._units, L._kernel, L._bias = units, k, b
        if nxt:
            N, N._kernel, N._bias = nxt
            N.n_in = new_out
        self._rebuild()

    def insert(self, i, layer):
        """Inserts a layer before layer i (i == len(layers) appends). The
        layer after it gets new weights if its input size changes."""
        i = self._index(i, end_ok=True)
        n_in = self._n_in_at(i)
        k, b = self._attach(layer, n_in)
        nxt = None
        if i < len(self._layers) and self._layers[i].n_in != layer.n_out:
            N = self._layers[i]
            nk, nb = N._init_weights(layer.n_out)
            nxt = (N, nk, nb)
        layer._kernel, layer._bias, layer.n_in, layer._net = k, b, n_in, self
        if nxt:
            N, N._kernel, N._bias = nxt
            N.n_in = layer.n_out
        self._layers.insert(i, layer)
        self._rebuild()
        return layer

    def remove(self, i):
        """Removes layer i and returns it. The layer after it gets new
        weights if its input size changes. The last layer cannot go."""
        i = self._index(i)
        if len(self._layers) == 1:
            raise ValueError("a network needs at least one layer")
        n_in = self._n_in_at(i)
        nxt = None
        if i + 1 < len(self._layers) and self._layers[i + 1].n_in != n_in:
            N = self._layers[i + 1]
            nk, nb = N._init_weights(n_in)
            nxt = (N, nk, nb)
        if nxt:
            N, N._kernel, N._bias = nxt
            N.n_in = n_in
        layer = self._layers.pop(i)
        layer._net = None
        self._rebuild()
        return layer

    def set_weights(self, weights):
        """Keras's model.set_weights(): [kernel0, bias0, kernel1, ...] (no
        bias entry for use_bias=False layers). All are checked before any
        changes."""
        new = []
        j = 0
        for L in self._layers:
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
            new.append(L._check_weights(kernel, bias, L.n_in))
        if j != len(weights):
            raise ValueError("%d arrays given, the network has %d" % (len(weights), j))
        for L, (k, b, _) in zip(self._layers, new):
            L._kernel, L._bias = k, b
        self._build_plan()

    def get_weights(self):
        out = []
        for L in self._layers:
            out.extend(L.get_weights())
        return out

    # -- inference --------------------------------------------------------

    def _predict_into(self, x, out):
        if not self._plan:
            raise ValueError("the network has no layers")
        if len(x) != self.n_inputs:
            raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
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

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, shuffle=True, validation_data=None,
            callbacks=None):
        """Keras's fit(): trains on x (a list of rows, or one flat float32
        buffer of rows x n_inputs) and y (class indices for
        sparse_categorical_crossentropy, else rows or a flat buffer).
        shuffle is seeded by anne_net.seed(). Returns a History (.history:
        Keras's dict of per-epoch lists). Layers with trainable = False are
        not changed."""
        if self._compiled is None:
            raise ValueError("fit() needs compile(optimizer, loss) first")
        import anne_train
        try:
            import time
            ticks = time.ticks_ms
        except (ImportError, AttributeError):
            ticks = None
        return anne_train.fit(self, self._compiled, x, y, batch_size, epochs, verbose, shuffle,
                              validation_data, callbacks, _uniform01, _check_free, ticks)

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
        """Prints a table like Keras's model.summary()."""
        line = "-" * 72
        print('Model: "%s"  (%d inputs, backend %s)' % (self.name or "sequential", self.n_inputs, self.backend))
        print(line)
        print("%-3s %-7s %-7s %-34s %8s %8s" % ("#", "Layer", "Output", "Activation", "Param #", "Bytes"))
        print("=" * 72)
        total = 0
        for i, L in enumerate(self._layers):
            act = L._name
            if L.params:
                act += "(" + ",".join("%s=%s" % (k, _fmt(L.params[k])) for k in L.params) + ")"
            n = L.n_params
            total += n
            print("%-3d %-7s %-7d %-34s %8d %8d" % (i, "Dense" + ("" if L.use_bias else "*"),
                                                     L.n_out, act, n, 4 * n))
        print("=" * 72)
        print("Total params: %d (%d bytes of float32)" % (total, 4 * total))
        if any(not L.use_bias for L in self._layers):
            print("* use_bias=False")
        for key in self.metadata:
            v = self.metadata[key]
            if key != "name":
                print("%s: %s" % (key, ", ".join(v) if isinstance(v, list) else v))
        print(line)

    def __repr__(self):
        return "<Sequential %d -> %s>" % (self.n_inputs, " -> ".join(
            "%d %s" % (L.n_out, L._name) for L in self._layers))

    # -- saving -----------------------------------------------------------

    def save(self, path):
        """Writes the network as a .anne file (docs/FORMAT.md)."""
        import anne_io
        anne_io.save(self, path)


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
    object (bytes, bytearray, memoryview, a frozen bytes constant, a ROMFS
    file's buffer) whose float data is then used in place, without a copy.
    ValueError for any file the format's readers must refuse."""
    import anne_io

    def make_layer(entry):
        return Dense(entry.units, entry.activation, entry.has_bias, **entry.keras_params())

    n_inputs, layers, metadata = anne_io.read(source, make_layer, _native, copy=_anne is not _native)
    for i, L in enumerate(layers):
        _check_finite(L._kernel, "layer %d: weights" % i)
        if L._bias is not None:
            _check_finite(L._bias, "layer %d: weights" % i)
    net = Sequential(n_inputs)
    net.metadata = metadata
    for L in layers:
        L._net = net
        net._layers.append(L)
    net._rebuild()
    return net
