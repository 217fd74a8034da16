# anne_int8_graph: int8 graphs (a .tflite graph as tools/anne_tflite_graph.py
# writes it: int8 layers that name their inputs, docs/FORMAT.md), imported by
# anne_net.load for such a file. The int8 merges (add, subtract, multiply,
# concatenate) and the int8 affine (an element-wise add, subtract or multiply
# by a constant per-channel vector: an unfolded BatchNormalization), each
# computed in plain Python ints exactly as LiteRT's reference integer kernels
# do (ADD's AddFunc, SUB as ADD with input 2's multiplier negated, MUL's
# MulElementwise, CONCATENATION's copy; tools/anne_int8_ref.py is the PC's
# twin), on both backends; the Dense, Conv1D and pooling layers are
# anne_int8's and anne_int8_conv's, one anne.Plan step each. The graph's
# int8 activations live in one arena of bytes planned before it is
# allocated (anne_graph.plan_layers). Inference only.
# It imports neither anne_net, anne_io nor anne_fallback.

import gc
import struct
from array import array

import anne_file_int8
import anne_graph
import anne_ops
from anne_file import NETWORK_INPUT, merge_shape
from anne_int8 import Int8Network, _s8_io
from anne_int8_act import high_mul, div_pot, _i32

_X = anne_graph._X
_OUT = anne_graph._OUT
_AFFINE = anne_ops.LAYER_AFFINE
_ADD = anne_ops.LAYER_ADD
_SUB = anne_ops.LAYER_SUBTRACT
_MUL = anne_ops.LAYER_MULTIPLY
_CAT = anne_ops.LAYER_CONCATENATE


def _mbqm(x, m, shift):
    """TFLite's MultiplyByQuantizedMultiplier (double rounding)."""
    if shift > 0:
        x = _i32(x << shift)
        shift = 0
    return div_pot(high_mul(x, m), -shift)


class _ElementwiseInt8(anne_graph._Merge):
    """An int8 merge or affine layer of a file (entry): its inputs'
    (scale, zero point), its output's, the clamp, LiteRT's multipliers and
    shifts (words), an affine's constant (one int8 value per channel)."""

    dtype = "int8"
    stored = True       # (its data: the operands' quantization, multipliers, constant)

    def __init__(self, entry):
        anne_graph._Merge.__init__(self)
        q = entry.quant
        self.input_quantization = (q[0], q[1])
        self.output_quantization = (q[2], q[3])
        self.act_range = (q[5], q[6])
        self._count = q[4]
        self._parts = anne_file_int8.int8_parts(entry)
        self._data_size = entry.data_size
        self._op = anne_file_int8.elementwise_op(entry)
        self._const_first = entry.kparams[2] if self.kind == _AFFINE else 0
        self.n_params = entry.units
        self._const = self._zps = self._words = None

    def _out_shape(self, shape):
        return shape if self.kind == _AFFINE else merge_shape(self.kind, self._in_shapes or [shape])

    def _set_data(self, mv, copy):
        off, n = self._parts["requant"]
        self._words = struct.unpack_from("<%di" % (n // 4), mv, off)
        off = self._parts["scale"][0]
        self._zps = tuple(struct.unpack_from("<i", mv, off + 8 * j + 4)[0] for j in range(self._count))
        off, n = self._parts["kernel"]
        self._const = array("b", bytes(mv[off:off + n]))

    def _heap_bytes(self):
        return 64 + self._parts["kernel"][1] + 4 * len(self._parts)

    def run(self, xs, out):
        """The layer on its inputs xs (int8 buffers) into out (int8)."""
        n = len(out)
        lo, hi = self.act_range
        zo = self.output_quantization[1]
        if self._op == _CAT:
            widths = [s[-1] for s in self._in_shapes]
            k = 0
            for r in range(n // sum(widths)):
                for x, w in zip(xs, widths):
                    base = r * w
                    for j in range(w):
                        out[k] = x[base + j]
                        k += 1
            return out
        a = xs[0]
        z1, z2 = self._zps[0], self._zps[1]
        if self.kind == _AFFINE:
            c = self._const
            nc = len(c)
            b = [c[j % nc] for j in range(n)]
            if self._const_first:
                a, b, z1, z2 = b, a, z2, z1
        else:
            b = xs[1]
        w = self._words
        if self._op == _MUL:
            m, s = w
            for j in range(n):
                v = _mbqm((a[j] - z1) * (b[j] - z2), m, s) + zo
                out[j] = lo if v < lo else hi if v > hi else v
            return out
        ls = 1 << w[0]
        m1, s1, m2, s2, mo, so = w[1:7]
        if self._op == _SUB:
            m2 = -m2
        for j in range(n):
            v = _mbqm(_mbqm((a[j] - z1) * ls, m1, s1) + _mbqm((b[j] - z2) * ls, m2, s2), mo, so) + zo
            out[j] = lo if v < lo else hi if v > hi else v
        return out

    def __repr__(self):
        return "%s(int8)" % type(self).__name__.replace("Int8", "")


class AddInt8(_ElementwiseInt8):
    kind = _ADD


class SubtractInt8(_ElementwiseInt8):
    kind = _SUB


class MultiplyInt8(_ElementwiseInt8):
    kind = _MUL


class ConcatenateInt8(_ElementwiseInt8):
    kind = _CAT


class AffineInt8(_ElementwiseInt8):
    """An element-wise add, subtract or multiply by a constant vector."""
    kind = _AFFINE


_TYPES = {_ADD: AddInt8, _SUB: SubtractInt8, _MUL: MultiplyInt8, _CAT: ConcatenateInt8, _AFFINE: AffineInt8}


def make_layer(entry):
    """The board layer of an int8 merge or affine entry."""
    return _TYPES[entry.kind](entry)


def graph_class(Sequential):
    """The int8 graph network class, on anne_net's Sequential."""

    class Int8Graph(Int8Network, anne_graph.network_class(Sequential)):
        """An int8 network whose layers name their inputs: Int8Network's
        predict, predict_into on array('b') buffers, summary; the arena
        holds int8 values (one byte each)."""

        def _rebuild(self):
            self._arena = None
            self._plan_graph()
            gc.collect()
            need = self._arena_floats      # (values: bytes here)
            free = gc.mem_free() if hasattr(gc, "mem_free") else need
            if need > free:
                raise MemoryError("the graph's arena needs %d bytes, %d free" % (need, free))
            self._arena = array("b", bytes(max(need, 1)))
            self._build_plan()

        def _build_plan(self):
            """One step per layer that computes: (layer, input tensors,
            output tensor, its one-layer plan or None for a merge)."""
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
                run = None if isinstance(L, _ElementwiseInt8) else b.Plan((L._step(None),))
                steps.append((L, ins, self._tensor[i], run))
            self._views = views
            self._steps = steps
            self._plan = tuple(steps)
            self.predict_into = self._predict_into

        def _predict_into(self, x, out):
            _s8_io(x, "x")
            _s8_io(out, "out", True)
            if len(x) != self.n_inputs:
                raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
            if len(out) != self.n_outputs:
                raise ValueError("out has %d values; the network gives %d" % (len(out), self.n_outputs))
            views = self._views
            for L, ins, dst, run in self._steps:
                d = out if dst == _OUT else views[dst]
                if run is None:
                    L.run([x if t == _X else out if t == _OUT else views[t] for t in ins], d)
                else:
                    t = ins[0]
                    run(x if t == _X else out if t == _OUT else views[t], d)
            return out

        def memory(self):
            """The int8 activation arena: {"arena": its bytes, "lower_bound",
            "tensors"} (anne_graph's Graph.memory, one byte a value)."""
            return {"arena": self._arena_floats, "lower_bound": self._arena_bound, "tensors": len(self._offsets)}

        def summary(self):
            Int8Network.summary(self)
            for i in range(len(self._layers)):
                ins = self.inputs_of(i)
                if ins != ((i - 1 if i else -1),):
                    print("layer %d takes %s" % (i, ", ".join("input" if j < 0 else str(j) for j in ins)))
            m = self.memory()
            print("arena: %d bytes for %d tensors (lower bound %d bytes), planned before it was allocated"
                  % (m["arena"], m["tensors"], m["lower_bound"]))

        def __repr__(self):
            return "<int8 Graph of %d layers>" % len(self._layers)

    return Int8Graph


_CLASSES = {}


def network_class(Sequential):
    """Int8Graph on this Sequential (made once)."""
    cls = _CLASSES.get(Sequential)
    if cls is None:
        cls = _CLASSES[Sequential] = graph_class(Sequential)
    return cls
