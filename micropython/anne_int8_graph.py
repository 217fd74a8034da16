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

import struct
from array import array

import anne_file_int8
import anne_graph
from anne_core import _floats_for, made_once
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


def merge_s8(kind, out, xs, rows, quant):
    """anne.merge's int8 form (src/ffi/merge.rs's anne_merge_s8) in plain
    Python ints: kind add, subtract or multiply of two inputs (one shorter
    than out is read cyclically), or concatenate of 2..7 on the last axis
    over rows; quant: the output zero point, act_min, act_max, each input's
    zero point, then the words (add, subtract: left shift 20, input 1's
    multiplier and shift, input 2's, the output's; multiply: its multiplier
    and shift). ValueError for what the native module refuses."""
    _s8_io(out, "out", True)
    for x in xs:
        _s8_io(x, "x")
    n, k = len(out), len(xs)
    words = 7 if kind in (_ADD, _SUB) else 2 if kind == _MUL else 0
    if kind not in (_ADD, _SUB, _MUL, _CAT):
        raise ValueError("merge: kind %d is not an int8 merge" % kind)
    if k < 2 or k > 7 or (kind != _CAT and k != 2):
        raise anne_ops.err(8)  # MERGE_SIZES
    q = list(quant)
    if len(q) != 3 + k + words or any(not -128 <= z <= 127 for z in [q[0]] + q[3:3 + k]) \
            or not -128 <= q[1] <= q[2] <= 127:
        raise anne_ops.err(9)  # MERGE_QUANT
    zo, lo, hi = q[0], q[1], q[2]
    if kind == _CAT:
        if rows < 1 or any(not len(x) or len(x) % rows for x in xs) or sum(len(x) for x in xs) != n:
            raise anne_ops.err(8)  # MERGE_SIZES
        k = 0
        for r in range(rows):
            for x in xs:
                w = len(x) // rows
                base = r * w
                for j in range(w):
                    out[k] = x[base + j]
                    k += 1
        return out
    a, b = xs
    na, nb = len(a), len(b)
    if not n or not na or not nb or n % na or n % nb or (na != n and nb != n):
        raise anne_ops.err(8)  # MERGE_SIZES
    z1, z2 = q[3], q[4]
    w = q[5:]
    if kind == _MUL:
        m, s = w
        if m < 0 or not -31 <= s <= 31:
            raise anne_ops.err(9)  # MERGE_QUANT
        for j in range(n):
            v = _mbqm((a[j % na] - z1) * (b[j % nb] - z2), m, s) + zo
            out[j] = lo if v < lo else hi if v > hi else v
        return out
    m1, s1, m2, s2, mo, so = w[1:7]
    if w[0] != 20 or min(m1, m2, mo) < 0 or not (-31 <= s1 <= 0 and -31 <= s2 <= 0 and -31 <= so <= 0):
        raise anne_ops.err(9)  # MERGE_QUANT
    if kind == _SUB:
        m2 = -m2          # LiteRT's int8 SUB: its ADD with input 2's multiplier negated
    ls = 1 << 20
    for j in range(n):
        v = _mbqm(_mbqm((a[j % na] - z1) * ls, m1, s1) + _mbqm((b[j % nb] - z2) * ls, m2, s2), mo, so) + zo
        out[j] = lo if v < lo else hi if v > hi else v
    return out


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
        self._qs = tuple(struct.unpack_from("<fi", mv, off + 8 * j) for j in range(self._count))
        self._zps = tuple(q[1] for q in self._qs)
        off, n = self._parts["kernel"]
        self._const = array("b", bytes(mv[off:off + n]))

    def _heap_bytes(self):
        return 64 + self._parts["kernel"][1] + 4 * len(self._parts)

    def _quant(self):
        """anne.merge's int8 quant (an array('i')): the output zero point,
        the clamp, each input's zero point (LiteRT's operand order), the
        words; and the inputs' order: an affine's constant (None) first or
        second."""
        zps, order = list(self._zps), None
        if self.kind == _AFFINE:
            order = (None, 0) if self._const_first else (0, None)
            if self._const_first:
                zps = zps[::-1]
        return array("i", [self.output_quantization[1], self.act_range[0], self.act_range[1]] + zps
                     + list(self._words)), order

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

    def __repr__(self):
        return "Affine(%s, int8)" % {_ADD: "add", _SUB: "subtract", _MUL: "multiply"}[self._op]


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

        _value_bytes = 1

        @staticmethod
        def _new_arena(n):
            return _floats_for(n, "b")

        def _build_plan(self):
            """One step per layer that computes: (input tensors, output
            tensor, its one-layer plan, or for a merge anne.merge's kind,
            quant and rows; an affine's constant stands among its inputs)."""
            b = self._backend
            outs = [L.output_quantization for L in self._layers]
            for i, L in enumerate(self._layers):
                if L.weighted and L._act_backend is not b:
                    L._rebind(b)
                if isinstance(L, _ElementwiseInt8) and L.kind != _AFFINE:
                    anne_file_int8.check_sources(i, L._qs, self._inputs[i], outs, self.input_quantization)
            steps = []
            views = {}
            for i, L in enumerate(self._layers):
                if not L.computes:
                    continue
                ins = tuple(_X if j == NETWORK_INPUT else self._tensor[j] for j in self._inputs[i])
                for t in ins + (self._tensor[i],):
                    if t >= 0 and t not in views:
                        views[t] = self._view(t)
                if isinstance(L, _ElementwiseInt8):     # anne.merge's int8 form (its quant, inputs' order)
                    quant, order = L._quant()
                    if order is not None:               # an affine: x and its constant
                        ins = tuple(ins[0] if o == 0 else L._const for o in order)
                    widths = [s[-1] for s in L._in_shapes] if L._op == _CAT else [1]
                    # its inputs: a tuple made once when none is x or out, else a list
                    # refilled on each call (nothing allocated)
                    fixed = (tuple(t if not isinstance(t, int) else views[t] for t in ins)
                             if all(not isinstance(t, int) or t >= 0 for t in ins) else [None] * len(ins))
                    run = (L._op, quant, L.n_out // sum(widths), fixed)
                else:
                    run = b.Plan((L._step(None),))
                steps.append((ins, self._tensor[i], run))
            self._views = views
            self._io = [None, None]     # (the last x and out checked: _predict_into)
            self._steps = steps
            self._plan = tuple(steps)
            self.predict_into = self._predict_into

        def _predict_into(self, x, out):
            io = self._io
            if x is not io[0] or out is not io[1]:   # (checked once a buffer: a check allocates)
                _s8_io(x, "x")
                _s8_io(out, "out", True)
                io[0], io[1] = x, out
            if len(x) != self.n_inputs:
                raise ValueError("x has %d values, the network takes %d" % (len(x), self.n_inputs))
            if len(out) != self.n_outputs:
                raise anne_ops.err(27, len(out), self.n_outputs)  # INT8_OUT_SIZE
            views = self._views
            merge = self._backend.merge
            for ins, dst, run in self._steps:
                d = out if dst == _OUT else views[dst]
                if isinstance(run, tuple):
                    xs = run[3]
                    if type(xs) is list:
                        for k in range(len(ins)):
                            t = ins[k]
                            xs[k] = t if not isinstance(t, int) else x if t == _X else out if t == _OUT else views[t]
                    merge(run[0], d, xs, run[2], run[1])
                else:
                    t = ins[0]
                    run(x if t == _X else out if t == _OUT else views[t], d)
            return out

        def summary(self):
            """Int8Network's summary (with the arena), then each layer's inputs."""
            Int8Network.summary(self)
            for i in range(len(self._layers)):
                ins = self.inputs_of(i)
                if ins != ((i - 1 if i else -1),):
                    print("layer %d takes %s" % (i, ", ".join("input" if j < 0 else str(j) for j in ins)))

        def __repr__(self):
            return "<int8 Graph of %d layers>" % len(self._layers)

    return Int8Graph


_CLASSES = {}


def network_class(Sequential):
    """Int8Graph on this Sequential (made once)."""
    return made_once(_CLASSES, Sequential, graph_class)
