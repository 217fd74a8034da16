# anne_graph: networks whose layers take several inputs, as Keras's
# functional models with residual connections and branches (Add, Subtract,
# Multiply, Average, Maximum, Minimum, Concatenate on the last axis),
# loaded from a version-3 .anne file (its layers name their inputs;
# docs/FORMAT.md). anne_net.load imports it for such a file; save() writes
# it back (anne_io), fit() trains it (anne_train: fit_epoch).
#
# The layers run in the file's order. Every tensor a layer writes gets an
# offset in one float32 buffer, the arena, planned before anything is
# allocated: a tensor's floats are reused as soon as no later layer reads
# it (first fit, in the order the layers run); the network's input is the
# caller's x and its output the caller's out. Flatten and Reshape move
# nothing: their output is their input's tensor.

import gc

import anne_ops
from anne_core import _floats_for, _shape_text, _size, made_once
from anne_file import NETWORK_INPUT, merge_shape
from anne_layers import _Shaping

_X = -1     # the network's input (the caller's x)
_OUT = -2   # the network's output (the caller's out)


class _Merge(_Shaping):
    """A layer that merges several inputs (no weights), then its
    activation, element-wise (Keras's Add then ReLU, folded by the
    converter; "linear" by default)."""

    _in_shapes = None

    def __init__(self):
        _Shaping.__init__(self)

    def _out_shape(self, shape):
        return merge_shape(self.kind, self._in_shapes or [shape])


class Add(_Merge):
    """keras.layers.Add: the sum of its inputs (of one shape)."""
    kind = anne_ops.LAYER_ADD


class Subtract(_Merge):
    """keras.layers.Subtract: its first input less its second."""
    kind = anne_ops.LAYER_SUBTRACT


class Multiply(_Merge):
    """keras.layers.Multiply: the product of its inputs."""
    kind = anne_ops.LAYER_MULTIPLY


class Average(_Merge):
    """keras.layers.Average: the sum of its inputs over their count."""
    kind = anne_ops.LAYER_AVERAGE


class Maximum(_Merge):
    """keras.layers.Maximum: element-wise maximum."""
    kind = anne_ops.LAYER_MAXIMUM


class Minimum(_Merge):
    """keras.layers.Minimum: element-wise minimum."""
    kind = anne_ops.LAYER_MINIMUM


class Concatenate(_Merge):
    """keras.layers.Concatenate on the last axis (the channels)."""
    kind = anne_ops.LAYER_CONCATENATE

    def __init__(self, axis=-1):
        if axis != -1:
            raise ValueError("Concatenate joins the last axis (axis=-1), got axis=%r" % (axis,))
        _Merge.__init__(self)


LAYER_TYPES = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)


def make_layer(entry):
    """The board layer of a merge entry (anne_file.Entry), with its activation."""
    L = LAYER_TYPES[entry.kind - anne_ops.LAYER_ADD]()
    if entry.act:
        L._name = entry.activation
        L.params = entry.keras_params()
    return L


def plan_arena(sizes, produced, last_read):
    """The arena's plan: sizes[t] floats of tensor t, written by the layer
    at produced[t] and last read by the layer at last_read[t]. Two tensors
    may share floats unless both are live while one layer runs (written
    before or by it, read by it or later). The largest first (ties: the
    earlier), each at the lowest offset clear of the tensors already placed
    that it may not share with (TFLite Micro's greedy-by-size plan) ->
    (offsets, total floats, lower bound: the most floats live while one
    layer runs)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda t: (-sizes[t], t))
    offsets = [0] * n
    placed = []
    total = bound = 0
    for t in order:
        busy = sorted((offsets[u], offsets[u] + sizes[u]) for u in placed
                      if produced[u] <= last_read[t] and produced[t] <= last_read[u])
        at = 0
        for start, end in busy:
            if start - at >= sizes[t]:
                break
            at = max(at, end)
        offsets[t] = at
        placed.append(t)
        total = max(total, at + sizes[t])
    for p in produced:
        bound = max(bound, sum(sizes[u] for u in range(n) if produced[u] <= p <= last_read[u]))
    return offsets, total, bound


def plan_layers(layers):
    """The arena of a graph's layers (each with its _inputs, as anne_io
    gives them; computes; n_out) -> (each layer's inputs, each layer's
    output tensor: its own index, or (Flatten, Reshape) its input's, _X
    for the network's input, _OUT for its output; {tensor: offset in
    floats}, total floats, lower bound in floats)."""
    n = len(layers)
    inputs = [getattr(L, "_inputs", None) or ((i - 1 if i else NETWORK_INPUT),) for i, L in enumerate(layers)]
    tensor = []
    for i, L in enumerate(layers):
        src = [_X if j == NETWORK_INPUT else tensor[j] for j in inputs[i]]
        tensor.append(i if L.computes else src[0])
    final = tensor[n - 1]
    if final == _X:
        raise ValueError("the graph's output is its input")
    last_read = {}
    for i in range(n):
        for j in inputs[i]:
            t = _X if j == NETWORK_INPUT else tensor[j]
            if t >= 0:
                last_read[t] = i
    planned = [i for i in range(n) if layers[i].computes and i != final]
    offsets, total, bound = plan_arena([layers[i].n_out for i in planned], planned,
                                       [last_read.get(i, i) for i in planned])
    return inputs, [_OUT if t == final else t for t in tensor], dict(zip(planned, offsets)), total, bound


def graph_class(Sequential):
    """The network class of a graph, on anne_net's Sequential (handed in:
    anne_graph does not import anne_net)."""

    class Graph(Sequential):
        """A network of layers that name their inputs (net.inputs_of(i)):
        predict, predict_into, evaluate, summary, memory, save, compile,
        fit, training_memory (anne_train: fit_epoch), and quantize for a graph
        whose merges are Add, Subtract, Multiply, Concatenate; resize (no
        other edits)."""

        def _rebuild(self):
            """Plans the arena, then allocates it (MemoryError, with the
            bytes needed and free, when it does not fit)."""
            self._arena = None
            self._plan_graph()
            gc.collect()
            need = self._value_bytes * self._arena_floats
            free = gc.mem_free() if hasattr(gc, "mem_free") else need
            if need > free:
                raise MemoryError("the graph's arena needs %d bytes, %d free" % (need, free))
            self._arena = self._new_arena(max(self._arena_floats, 1))
            self._build_plan()

        _value_bytes = 4     # (an int8 graph's arena: anne_int8_graph)
        _new_arena = staticmethod(_floats_for)

        def inputs_of(self, i):
            """The layers layer i takes (-1: the network's input)."""
            return tuple(-1 if j == NETWORK_INPUT else j for j in self._inputs[i])

        def _plan_graph(self):
            (self._inputs, self._tensor, self._offsets, self._arena_floats,
             self._arena_bound) = plan_layers(self._layers)

        def _view(self, t, x=None, out=None):
            if t == _X:
                return x
            if t == _OUT:
                return out
            off = self._offsets[t]
            return memoryview(self._arena)[off:off + self._layers[t].n_out]

        def _build_plan(self):
            """One step per layer that computes: (layer index, input
            tensors, output tensor, the layer's one-step plan or None for
            a merge), the arena's views made once."""
            b = self._backend
            for L in self._layers:
                if L.weighted and L._act_backend is not b:
                    L._rebind(b)
            steps = []
            views = {}
            for i, L in enumerate(self._layers):
                if not L.computes:
                    continue
                ins = tuple(_X if j == NETWORK_INPUT else self._tensor[j] for j in self._inputs[i])
                for t in ins + (self._tensor[i],):
                    if t >= 0 and t not in views:
                        views[t] = self._view(t)
                merge = L.kind in anne_ops.LAYER_INPUTS
                run = None if merge else b.Plan((L._step(None),))
                rows = _size(L.output_shape[:-1]) if merge else 1
                # a merge's inputs: a tuple made once when none is x or out, else a
                # list refilled on each call (nothing allocated); its activation
                fixed = tuple(views[t] for t in ins) if min(ins) >= 0 else [None] * len(ins)
                act = b.Activation(L._name, **L.params) if merge and L._name != "linear" else None
                steps.append((L.kind, ins, self._tensor[i], run, rows, fixed, act))
            self._views = views
            self._steps = steps
            self._plan = tuple(steps)
            self.predict_into = self._predict_into

        def _predict_into(self, x, out):
            if len(x) != self.n_inputs:
                raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
            if len(out) != self.n_outputs:
                raise anne_ops.err(51, len(out), self.n_outputs)  # PLAN_OUT_SIZE
            views = self._views
            b = self._backend
            for kind, ins, dst, run, rows, fixed, act in self._steps:
                d = out if dst == _OUT else views[dst]
                if run is None:
                    if type(fixed) is list:
                        for k in range(len(ins)):
                            t = ins[k]
                            fixed[k] = x if t == _X else out if t == _OUT else views[t]
                    b.merge(kind, d, fixed, rows)
                    if act is not None:
                        b.activate(d, act)
                else:
                    t = ins[0]
                    run(x if t == _X else out if t == _OUT else views[t], d)
            return out

        def memory(self):
            """The activation arena: {"arena": its bytes, "lower_bound": the
            bytes of the largest set of tensors live at once (while one layer
            runs), "tensors": how many tensors it holds}; the network's input
            and output are the caller's x and out."""
            return {"arena": self._value_bytes * self._arena_floats,
                    "lower_bound": self._value_bytes * self._arena_bound, "tensors": len(self._offsets)}

        def summary(self):
            """Sequential's summary (with the arena), then each layer's inputs."""
            Sequential.summary(self)
            for i in range(len(self._layers)):
                ins = self.inputs_of(i)
                L = self._layers[i]
                act = " then %s" % L._name if L.kind in anne_ops.LAYER_INPUTS and L._name != "linear" else ""
                if ins != ((i - 1 if i else -1),) or act:
                    print("layer %d takes %s%s" % (i, ", ".join("input" if j < 0 else str(j) for j in ins), act))

        def resize(self, i, units):
            """Gives layer i (Dense, Conv1D, Conv2D) `units` units (filters):
            new weights for it and for the layers with weights that read its
            output; ValueError, and no change, when the new channels would
            reach an element-wise merge through some of its inputs only
            (anne_graph_edit)."""
            import anne_graph_edit
            anne_graph_edit.resize(self, i, units)

        def _relayout(self, layers, start, fresh=(), keep=None):
            import anne_graph_edit   # (a Conv1D's new kernel_size or dilation_rate)
            anne_graph_edit.relayout(self, layers, start, fresh, keep)

        def _refuse(self, *args, **kw):
            raise ValueError("this network is a graph (its layers name their inputs): adding, inserting and "
                             "removing layers is not supported yet (resize works: net.resize(i, units))")

        add = insert = remove = _refuse

        def __repr__(self):
            return "<Graph of %d layers: input %s, output %s>" % (
                len(self._layers), _shape_text(self.input_shape), _shape_text(self.output_shape))

    return Graph


_CLASSES = {}


def network_class(Sequential):
    """Graph on this Sequential (made once)."""
    return made_once(_CLASSES, Sequential, graph_class)

