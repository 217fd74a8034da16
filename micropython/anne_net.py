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
import sys
from array import array

import anne_layers

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
    anne_layers._default_backend[0] = _anne


use_backend("native" if _native is not None else "python")

# ---------------------------------------------------------------------------
# Activations: names, ids, parameters (ops/ops.json, through anne_ops)

import anne_ops
from anne_ops import ACTIVATIONS  # noqa: F401 - anne_net.ACTIVATIONS, the ids' names
import anne_core
from anne_core import _floats_for, _shape_text, _size, chain_arena, chain_bound

__version__ = anne_ops.VERSION


from anne_layers import (Dense, Input, _editable, _int_arg, _resized, _take_weights, _uniform01,  # noqa: F401
                         seed)  # (anne_net.seed)

# The layers a network built in Python takes (the layer registry's kinds of
# one input: not the merges, which only a graph's file has), each class in
# its kind's module (anne_ops.LAYER_MODULE), imported when first used.
_CHAIN_KINDS = [k for k in range(1, len(anne_ops.LAYER_MODULE)) if k not in anne_ops.LAYER_INPUTS]
_LAYER_NAMES = ", ".join(n for k in _CHAIN_KINDS for n in anne_ops.LAYER_KERAS[k])


def _is_layer(layer):
    """True for a layer of anne_net's (Input is not one)."""
    for name in set(anne_ops.LAYER_MODULE[k] for k in _CHAIN_KINDS):
        module = sys.modules.get(name)  # (none before its import)
        if module is not None and isinstance(layer, module.LAYER_TYPES):
            return True
    return False


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
    dtype = "float32"  # "int8" for an int8 network (anne_int8.Int8Network)
    input_quantization = output_quantization = None  # int8: (scale, zero_point)

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
        """The activation arena: a view for the output of each layer that
        computes (Flatten and Reshape move nothing) but the last (the
        caller's out), all in one buffer of the lower bound (net.memory())."""
        self._scratch = []
        gc.collect()
        self._scratch = self._scratch_for(self._layers)
        self._build_plan()

    _TYPECODE = "f"

    @classmethod
    def _scratch_for(cls, layers):
        """Views of one arena for the outputs of layers that compute, but the last."""
        return chain_arena([L.n_out for L in layers if L.computes][:-1], cls._TYPECODE)

    def memory(self):
        """The activation arena: {"arena": bytes, "lower_bound": the bytes live while one layer
        runs (a chain's arena), "tensors": how many}; x and out are the caller's."""
        sizes = [L.n_out for L in self._layers if L.computes][:-1]
        n = (1 if self._TYPECODE == "b" else 4) * chain_bound(sizes)
        return {"arena": n, "lower_bound": n, "tensors": len(sizes)}

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
        if len(self._shape_at(i)) == 3:  # a 2-D layer: its spec's h x w x c, but a global pooling's
            return L.kind not in (anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D, anne_ops.LAYER_GLOBAL_MAX_POOLING2D)
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
        new = _backend_module(name)
        old = self._backend
        self._backend = new
        try:
            self._build_plan()
        except MemoryError:
            # (back to the old backend's layers and plan: a plan half made
            # for the new one would mix the two backends' objects)
            self._backend = old
            self._build_plan()
            raise

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
                _take_weights(L, weights, layers.index(L))
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
        if not _is_layer(layer):
            raise TypeError("a layer must be one of %s (or Input first), not %s"
                            % (_LAYER_NAMES, type(layer).__name__))
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
        i, units, L = _resized(self, i, units)
        old = L._units
        layers = list(self._layers)
        before = L._before
        if before is not None:
            # The normalization the converter folded into this layer's
            # weights (stored in the file): a layer of its own before it, so
            # that the new weights take normalized inputs, as in Keras.
            import anne_affine
            layers.insert(i, anne_affine._unfolded(before))
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
        if not _is_layer(layer):
            raise TypeError("a layer must be one of %s, not %s"
                            % (_LAYER_NAMES, type(layer).__name__))
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
                raise anne_ops.err(51, len(out), self.n_inputs)  # PLAN_OUT_SIZE
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

    def _floats_into(self, x, out):
        """predict_into on float32 buffers whatever the dtype (anne_int8's)."""
        return self.predict_into(x, out)

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
        activations and gradients; on the pure-Python backend, whose loop
        runs per sample, one sample's), the optimizer's slots and two
        small arrays (exact, on both backends, for every kind of layer).
        fit() also holds a shuffle order (4 bytes a row), and float32
        copies of x and y if they are lists rather than flat float32
        buffers."""
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
        import anne_eval
        return anne_eval.evaluate(self, X, y, task)

    def classify(self, X):
        """Predicted class per row: argmax, or output > 0.5 for one unit.
        The class names when the network has them (net.classes, one per
        class), else the indices. Each row must have n_inputs values
        (ValueError naming it)."""
        import anne_eval
        return anne_eval.classify(self, X)

    def _task(self, y):
        import anne_eval
        return anne_eval._task(self, y)

    def quantize(self, rows):
        """This float chain (Dense, convolutions, pooling; or a graph joined by Add, Subtract, Multiply,
        Concatenate) in int8, calibrated on rows as the PC's quantizer does (docs/int8.md)."""
        import anne_quant
        return anne_quant.quantize(self, rows, load)

    # -- display ----------------------------------------------------------

    def summary(self):
        """Prints a table like Keras's model.summary(): each layer's kind,
        output shape, activation and options, parameters and bytes."""
        import anne_eval
        anne_eval.summary(self)

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
        for key, text in (("folded", anne_io._folded_text(self._layers)),
                          ("folded_before", anne_io._folded_before_text(self._layers))):
            if text:
                meta[key] = text
        for key in self.metadata:
            if key not in meta and key not in ("folded", "folded_before"):
                meta[key] = self.metadata[key]
        anne_io.save(self, path, meta)


def confusion_matrix(labels, preds, n_classes=None, classes=None):
    """rows: true class, columns: predicted class. Labels and predictions
    are class indices, or class names when classes (e.g. net.classes)
    gives them."""
    import anne_eval
    return anne_eval.confusion_matrix(labels, preds, n_classes, classes)


def _check_free(need, why):
    gc.collect()
    free = gc.mem_free()
    if need > free:
        raise MemoryError("%s: needs %d bytes, %d free" % (why, need, free))


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
        # (the layer registry's module for the kind and dtype: anne_file
        # checked that the kind is known and, for int8, one that int8 has)
        modules = anne_ops.LAYER_MODULE_INT8 if entry.dtype else anne_ops.LAYER_MODULE
        return __import__(modules[entry.kind]).make_layer(entry)

    try:  # (anne_io.read leaves the network's arena in anne_core.held, for _rebuild)
        in_shape, layers, metadata = anne_io.read(source, make_layer, _native, copy=_anne is not _native)
        int8 = getattr(layers[0], "dtype", "float32") != "float32"
        if int8:  # (a graph, or a chain with an int8 affine: anne_int8_graph's network)
            net = __import__("anne_int8_graph" if hasattr(layers[-1], "_inputs") or any(
                L.kind == anne_ops.LAYER_AFFINE for L in layers) else "anne_int8").network_class(Sequential)(in_shape)
        elif hasattr(layers[-1], "_inputs"):  # a graph (anne_io gives its layers their inputs)
            import anne_graph
            net = anne_graph.network_class(Sequential)(in_shape)
        else:
            net = Sequential(in_shape)
        anne_io._parse_folded(metadata, layers)
        net.metadata = metadata
        for L in layers:
            if L.kind == anne_ops.LAYER_AFFINE and not int8:
                import anne_affine
                L._from_file(anne_affine._floats_of(L._kernel), anne_affine._floats_of(L._bias))
            L._net = net
            net._layers.append(L)
        net._rebuild()
        return net
    finally:
        anne_core.held = None


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


# ---------------------------------------------------------------------------
# Parts imported when first used: anne_net.Window (anne_eval), training's
# classes (anne_train) and the layers of every kind but Dense (its module
# in the layer registry)

_LAZY = {"Window": "anne_eval", "SGD": "anne_train", "Adam": "anne_train",
         "EarlyStopping": "anne_train"}  # (keras.optimizers.SGD, Adam; keras.callbacks.EarlyStopping)
for _kind in _CHAIN_KINDS:  # (the layer registry's: each class in its kind's module)
    for _name in anne_ops.LAYER_KERAS[_kind]:
        _LAZY[_name] = anne_ops.LAYER_MODULE[_kind]
del _kind, _name


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    value = getattr(__import__(module), name)
    globals()[name] = value
    return value
