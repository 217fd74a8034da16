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
from anne_ops import ACTIVATIONS

__version__ = anne_ops.VERSION


def _takes(name):
    """The parameters activation `name` (canonical) takes."""
    return tuple(anne_ops.DEFAULTS.get(name, ()))


def _canonical(name):
    i = anne_ops.ALIASES.get(name)
    return name if i is None else ACTIVATIONS[i]


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


def _zeros(n):
    return array("f", bytearray(4 * n))


def _glorot_uniform(n_in, units):
    """Keras's default kernel initialiser: uniform(-limit, limit) with
    limit = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (n_in + units))
    k = _zeros(n_in * units)
    for i in range(n_in * units):
        k[i] = (2.0 * _uniform01() - 1.0) * limit
    return k


def _halves(activation_name):
    return _canonical(activation_name) in _HALVING


_HALVING = tuple(ACTIVATIONS[i] for i in anne_ops.HALVES)


def _n_out(activation_name, units):
    """Outputs of `units` neurons with this activation; ValueError if it
    halves them (glu) and units is odd."""
    if not _halves(activation_name):
        return units
    if units % 2:
        raise ValueError("%s needs even units, got %d" % (_canonical(activation_name), units))
    return units // 2


def _is_finite(v):
    return v - v == 0.0


def _flatten(values, what):
    """Nested lists (Keras layout) or a flat sequence/buffer -> (array('f'),
    rows or None)."""
    if isinstance(values, (list, tuple)) and len(values) and isinstance(values[0], (list, tuple, array)):
        rows = len(values)
        cols = len(values[0])
        flat = _zeros(rows * cols)
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
    mv = memoryview(values)
    if len(mv) and isinstance(mv[0], int):  # bytes-like holding float32
        if len(mv) % 4:
            raise ValueError("%s: %d bytes is not a whole number of float32" % (what, len(mv)))
        return array("f", bytearray(mv)), None
    return array("f", values), None


def _check_finite(buf, what):
    mv = memoryview(buf)
    if len(mv) and isinstance(mv[0], int):
        # float32 bytes in place: non-finite iff all 8 exponent bits are set
        for i in range(3, len(mv), 4):
            if mv[i] & 0x7F == 0x7F and mv[i - 1] & 0x80:
                raise ValueError("%s not finite" % what)
        return
    for v in buf:
        if v - v != 0.0:
            raise ValueError("%s not finite" % what)


# ---------------------------------------------------------------------------
# Layers

class Dense:
    """Dense(units, activation="linear", use_bias=True, **params): a fully
    connected layer, as keras.layers.Dense. params are the activation's
    parameters (negative_slope, alpha, threshold, max_value, default_value,
    b, approximate). Weights are created (glorot_uniform kernel, zero bias)
    when the layer joins a network, or given with set_weights()."""

    def __init__(self, units, activation="linear", use_bias=True, **params):
        units = int(units)
        if not 1 <= units <= 65535:
            raise ValueError("units out of range: %d (1..65535)" % units)
        self.units = units
        self.use_bias = bool(use_bias)
        self.n_in = None
        self.kernel = None
        self.bias = None
        self._net = None
        self._name = "linear"
        self.params = {}
        self._act = None
        self._act_backend = None
        self._set_activation(activation, params, check_shape=False)

    # -- activation -------------------------------------------------------

    @property
    def activation(self):
        """The activation's name. Assigning a name re-parses it at once (ValueError for unknown names, the layer stays as
        it was); the parameters go back to Keras's defaults. Use
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
        new_out = _n_out(name, self.units)  # ValueError: odd units for glu
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

    @property
    def n_out(self):
        """Outputs of the layer (units, or units // 2 for glu)."""
        return _n_out(self._name, self.units)

    @property
    def n_params(self):
        return (self.n_in or 0) * self.units + (self.units if self.use_bias else 0)

    # -- weights ----------------------------------------------------------

    def _init_weights(self, n_in, units=None):
        """New (kernel, bias) for n_in inputs, Keras defaults."""
        units = self.units if units is None else units
        return _glorot_uniform(n_in, units), (_zeros(units) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
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
        if len(k) != n_in * self.units:
            raise ValueError("kernel has %d floats, expected n_in * units = %d * %d = %d"
                             % (len(k), n_in, self.units, n_in * self.units))
        _check_finite(k, "kernel")
        b = None
        if self.use_bias:
            if bias is None:
                raise ValueError("this layer has use_bias=True: give a bias")
            b, _ = _flatten(bias, "bias")
            if len(b) != self.units:
                raise ValueError("bias has %d floats, expected %d (one per unit)" % (len(b), self.units))
            _check_finite(b, "bias")
        elif bias is not None:
            raise ValueError("this layer has use_bias=False: bias must be None")
        return k, b, n_in

    def set_weights(self, kernel, bias=None):
        """Sets the weights from nested lists (Keras layout n_in x units, as
        model.get_weights() prints them) or flat buffers; ValueError (and
        no change) if the shapes do not fit."""
        k, b, n_in = self._check_weights(kernel, bias)
        self.kernel, self.bias, self.n_in = k, b, n_in
        if self._net is not None:
            self._net._build_plan()

    def get_weights(self):
        """[kernel as nested lists n_in x units, bias list] (Keras layout)."""
        u = self.units
        k = [[self.kernel[i * u + j] for j in range(u)] for i in range(self.n_in)]
        out = [k]
        if self.bias is not None:
            out.append([self.bias[j] for j in range(u)])
        return out

    def __repr__(self):
        s = "Dense(%d, activation=%r" % (self.units, self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        if not self.use_bias:
            s += ", use_bias=False"
        return s + ")"


# ---------------------------------------------------------------------------
# The network

class Sequential:
    """Sequential(n_inputs): a stack of Dense layers."""

    def __init__(self, n_inputs, layers=None):
        n_inputs = int(n_inputs)
        if not 1 <= n_inputs <= 65535:
            raise ValueError("n_inputs out of range: %d (1..65535)" % n_inputs)
        self.n_inputs = n_inputs
        self.layers = []
        self._scratch = []
        self._plan = ()
        self._backend = _anne
        self.predict_into = self._predict_into
        for layer in layers or ():
            self.add(layer)

    # -- structure --------------------------------------------------------

    def _n_in_at(self, i):
        return self.n_inputs if i == 0 else self.layers[i - 1].n_out

    @property
    def n_outputs(self):
        return self.layers[-1].n_out if self.layers else self.n_inputs

    def _rebuild(self):
        """Scratch buffers, one per hidden layer output (sized by the net)."""
        self._scratch = []
        gc.collect()
        self._scratch = [_zeros(L.n_out) for L in self.layers[:-1]]
        self._build_plan()

    def _build_plan(self):
        """The layers as anne.forward() takes them: (kernel, bias, activation,
        output buffer) tuples, rebuilt on every change so that predict_into
        only makes one call and allocates nothing. Changes made through the
        API keep it current; assigning layer.kernel directly does not (use
        set_weights)."""
        n = len(self.layers)
        for L in self.layers:
            if L._act_backend is not self._backend:
                L._rebind(self._backend)
        self._plan = tuple((L.kernel, L.bias, L._act, self._scratch[i] if i < n - 1 else None)
                           for i, L in enumerate(self.layers))
        # On the native backend, predict_into is the plan as an anne.Plan
        # (an instance attribute over the method): a call goes from Python
        # straight to C, with no Python frame in between.
        if self._plan and self._backend is _native:
            self.predict_into = _native.Plan(self._plan)
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
        if layer.kernel is not None and layer.n_in == n_in:
            return layer.kernel, layer.bias
        if layer.kernel is not None:
            raise ValueError("the layer's weights take %d inputs, here it gets %d" % (layer.n_in, n_in))
        return layer._init_weights(n_in)

    def add(self, layer):
        """Appends a layer (weights: its own if given and they fit, else
        Keras's initialisers)."""
        n_in = self.n_outputs
        k, b = self._attach(layer, n_in)
        layer.kernel, layer.bias, layer.n_in, layer._net = k, b, n_in, self
        self.layers.append(layer)
        self._rebuild()
        return layer

    def _index(self, i, end_ok=False):
        n = len(self.layers)
        if i < 0:
            i += n
        if not 0 <= i < n + (1 if end_ok else 0):
            raise ValueError("layer index %d out of range (%d layers)" % (i, n))
        return i

    def _check_output_change(self, layer, new_out):
        # An activation change that changes the outputs (glu) is fine only
        # on the last layer.
        if self.layers[-1] is not layer:
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
        L = self.layers[i]
        new_out = _n_out(L._name, units)
        k, b = L._init_weights(L.n_in, units)
        nxt = None
        if i + 1 < len(self.layers):
            N = self.layers[i + 1]
            nk, nb = N._init_weights(new_out)
            nxt = (N, nk, nb)
        L.units, L.kernel, L.bias = units, k, b
        if nxt:
            N, N.kernel, N.bias = nxt
            N.n_in = new_out
        self._rebuild()

    def insert(self, i, layer):
        """Inserts a layer before layer i (i == len(layers) appends). The
        layer after it gets new weights if its input size changes."""
        i = self._index(i, end_ok=True)
        n_in = self._n_in_at(i)
        k, b = self._attach(layer, n_in)
        nxt = None
        if i < len(self.layers) and self.layers[i].n_in != layer.n_out:
            N = self.layers[i]
            nk, nb = N._init_weights(layer.n_out)
            nxt = (N, nk, nb)
        layer.kernel, layer.bias, layer.n_in, layer._net = k, b, n_in, self
        if nxt:
            N, N.kernel, N.bias = nxt
            N.n_in = layer.n_out
        self.layers.insert(i, layer)
        self._rebuild()
        return layer

    def remove(self, i):
        """Removes layer i and returns it. The layer after it gets new
        weights if its input size changes. The last layer cannot go."""
        i = self._index(i)
        if len(self.layers) == 1:
            raise ValueError("a network needs at least one layer")
        n_in = self._n_in_at(i)
        nxt = None
        if i + 1 < len(self.layers) and self.layers[i + 1].n_in != n_in:
            N = self.layers[i + 1]
            nk, nb = N._init_weights(n_in)
            nxt = (N, nk, nb)
        if nxt:
            N, N.kernel, N.bias = nxt
            N.n_in = n_in
        layer = self.layers.pop(i)
        layer._net = None
        self._rebuild()
        return layer

    def set_weights(self, weights):
        """Keras's model.set_weights(): [kernel0, bias0, kernel1, ...] (no
        bias entry for use_bias=False layers). All are checked before any
        changes."""
        new = []
        j = 0
        for L in self.layers:
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
        for L, (k, b, _) in zip(self.layers, new):
            L.kernel, L.bias = k, b
        self._build_plan()

    def get_weights(self):
        out = []
        for L in self.layers:
            out.extend(L.get_weights())
        return out

    # -- inference --------------------------------------------------------

    def _predict_into(self, x, out):
        if not self._plan:
            raise ValueError("the network has no layers")
        if len(x) != self.n_inputs:
            raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
        return self._backend.forward(self._plan, x, out)

    def predict_into(self, x, out):
        """Runs the network on x (a float32 buffer of n_inputs values) into
        out (a float32 buffer of n_outputs values); returns out. Allocates
        nothing on the heap with the native backend. (Each network replaces
        this method by an attribute of its own: see _build_plan.)"""
        return self._predict_into(x, out)

    def predict(self, x):
        """x: a list or array('f') of n_inputs values -> a new array('f')."""
        if not isinstance(x, array):
            x = array("f", x)
        return self.predict_into(x, _zeros(self.n_outputs))

    def predict_batch(self, rows):
        return [self.predict(r) for r in rows]

    def evaluate(self, X, y, task=None):
        """Keras's evaluate(). Classification (integer labels): the last
        layer's argmax (or output > 0.5 for one unit) against the labels;
        loss is Keras's categorical cross-entropy on the outputs as
        probabilities (binary cross-entropy for one unit), from_logits=False,
        clipped at 1e-7. Returns {"loss", "accuracy", "n"}.
        Regression (task="regression", or labels that are lists of floats):
        returns {"loss": MSE, "mse": MSE, "n"}."""
        if len(X) != len(y):
            raise ValueError("%d inputs but %d labels" % (len(X), len(y)))
        if len(X) == 0:
            raise ValueError("nothing to evaluate")
        if task is None:
            task = "regression" if not isinstance(y[0], int) else "classification"
        if task not in ("regression", "classification"):
            raise ValueError("task must be 'classification' or 'regression'")
        out = _zeros(self.n_outputs)
        xa = _zeros(self.n_inputs)
        eps = 1e-7
        total = 0.0
        correct = 0
        count = 0
        for row, t in zip(X, y):
            for i in range(self.n_inputs):
                xa[i] = row[i]
            self.predict_into(xa, out)
            if task == "regression":
                if isinstance(t, (int, float)):
                    t = (t,)
                if len(t) != len(out):
                    raise ValueError("a target has %d values, the network gives %d" % (len(t), len(out)))
                s = 0.0
                for j in range(len(out)):
                    d = out[j] - t[j]
                    s += d * d
                total += s / len(out)
                count += 1
                continue
            if not isinstance(t, int):  # one-hot
                t = _argmax_list(t)
            if len(out) == 1:
                p = min(max(out[0], eps), 1.0 - eps)
                pred = 1 if out[0] > 0.5 else 0
                total -= math.log(p) if t == 1 else math.log(1.0 - p)
            else:
                if not 0 <= t < len(out):
                    raise ValueError("label %d out of range for %d outputs" % (t, len(out)))
                s = 0.0
                for v in out:
                    s += v
                p = out[t] / s if s != 0 else 0.0
                p = min(max(p, eps), 1.0 - eps)
                total -= math.log(p)
                pred = self._backend.argmax(out)
            correct += pred == t
            count += 1
        if task == "regression":
            return {"loss": total / count, "mse": total / count, "n": count}
        return {"loss": total / count, "accuracy": correct / count, "n": count}

    def classify(self, X):
        """Predicted class per row: argmax, or output > 0.5 for one unit."""
        out = _zeros(self.n_outputs)
        xa = _zeros(self.n_inputs)
        preds = []
        for row in X:
            for i in range(self.n_inputs):
                xa[i] = row[i]
            self.predict_into(xa, out)
            preds.append((1 if out[0] > 0.5 else 0) if len(out) == 1 else self._backend.argmax(out))
        return preds

    # -- display ----------------------------------------------------------

    def summary(self):
        """Prints a table like Keras's model.summary()."""
        line = "-" * 72
        print('Model: "sequential"  (%d inputs, backend %s)' % (self.n_inputs, self.backend))
        print(line)
        print("%-3s %-7s %-7s %-34s %8s %8s" % ("#", "Layer", "Output", "Activation", "Param #", "Bytes"))
        print("=" * 72)
        total = 0
        for i, L in enumerate(self.layers):
            act = L._name
            if L.params:
                act += "(" + ",".join("%s=%s" % (k, _fmt(L.params[k])) for k in L.params) + ")"
            n = L.n_params
            total += n
            print("%-3d %-7s %-7d %-34s %8d %8d" % (i, "Dense" + ("" if L.use_bias else "*"),
                                                     L.n_out, act, n, 4 * n))
        print("=" * 72)
        print("Total params: %d (%d bytes of float32)" % (total, 4 * total))
        if any(not L.use_bias for L in self.layers):
            print("* use_bias=False")
        print(line)

    def __repr__(self):
        return "<Sequential %d -> %s>" % (self.n_inputs, " -> ".join(
            "%d %s" % (L.n_out, L._name) for L in self.layers))

    # -- saving -----------------------------------------------------------

    def save(self, path):
        """Writes the network as a .anne file (docs/FORMAT.md)."""
        import anne_io
        anne_io.save(self, path)


def _fmt(v):
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def _argmax_list(values):
    best = 0
    for i in range(len(values)):
        if values[i] > values[best]:
            best = i
    return best


def confusion_matrix(labels, preds, n_classes=None):
    """rows: true class, columns: predicted class."""
    if n_classes is None:
        n_classes = max(max(labels), max(preds)) + 1
    m = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(labels, preds):
        m[t][p] += 1
    return m



def load(source):
    """Loads a .anne file (docs/FORMAT.md): source is a path on the board's
    filesystem (read layer by layer into new float arrays) or a bytes-like
    object (bytes, bytearray, memoryview, a frozen bytes constant, a ROMFS
    file's buffer) whose float data is then used in place, without a copy.
    ValueError for any file the format's readers must refuse."""
    import anne_io
    return anne_io.load(source)
