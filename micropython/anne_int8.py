# anne_int8: int8 networks (TFLite's full-integer scheme, docs/int8.md) for
# anne_net, imported when one appears: the layers of a dtype-1 .anne file
# (DenseInt8), what an int8 network does differently (Int8Network: float
# predict() through TFLite's QUANTIZE and DEQUANTIZE, int8 predict_into(),
# no training or edits), and for anne_fallback the int8 Dense chain in plain
# Python, bit for bit the native kernel's (LiteRT's reference
# FULLY_CONNECTED, which requantizes in double-precision float: computed
# exactly in Python ints, since a board's float may be float32).
# It imports neither anne_net, anne_io nor anne_fallback (they import it).

from array import array

import anne_file
import anne_file_int8
import anne_int8_act
import anne_ops
from anne_core import made_once
from anne_layers import INT8_REFUSAL, Dense

# What anne.Plan's int8 layer tuples carry: (kernel, bias, activation, buf,
# (LAYER_DENSE,), quant), activation None (linear) or the name of what is
# applied after the clamp, quant = (input_offset, output_offset, act_min,
# act_max, scale[, post]), scale the float64 requantization scales' bits as
# int32 words, two each, low first, post the activation's data (softmax:
# three int32 words; an element-wise one: a 256-entry int8 table):
# c_glue/mod_plan.c, anne.h's anne_quant_t.
_SPEC = (anne_ops.LAYER_DENSE,)


class DenseInt8(Dense):
    """An int8 Dense layer as a dtype-1 .anne file holds it: kernel
    (units x n_in int8, TFLite's layout), bias (units int32), per-tensor or
    per-channel float64 requantization scales, weight_scales, and what is
    applied after the clamp (activation: "linear", "softmax" or an
    element-wise one, a table); input_quantization and output_quantization
    are (scale, zero_point). It cannot be edited or trained."""

    dtype = "int8"

    def __init__(self, entry):
        # (activation: only its name counts; the table or softmax's
        # parameters are the file's)
        Dense.__init__(self, entry.units, entry.activation, True)
        self._init_quant(entry)

    def _init_quant(self, entry):
        """The quantization of the entry (anne_file.Entry's quant) and where
        its data's parts are."""
        q = entry.quant
        self.input_quantization = (q[0], q[1])
        self.output_quantization = anne_file_int8.int8_output(entry)
        self.act_range = (q[5], q[6])
        self.entry_quant = q
        self._parts = anne_file_int8.int8_parts(entry)
        self._data_size = entry.data_size
        self._quant = self._scales = None

    def _set_data(self, mv, copy):
        """The layer's data (a bytes view of _data_size bytes), its parts
        used in place (views: the native module reads int8 and int32 from
        bytes) or copied into array('b') and array('i') (the float64
        scales as int32 words)."""
        p = self._parts

        def part(name, code):
            off, n = p[name]
            return array(code, bytes(mv[off:off + n])) if copy else mv[off:off + n]

        self._kernel = part("kernel", "b")
        self._bias = part("bias", "i")
        self._scales = part("scale", "f")
        act = self._name
        self._quant = (-self.input_quantization[1], self.entry_quant[3], self.act_range[0],
                       self.act_range[1], part("requant", "i"))
        if act != "linear":
            self._quant += (part("post", "i" if act == "softmax" else "b"),)
        self._parts = self.entry_quant = None  # (what only reading the data needs: less RAM kept)

    @property
    def weight_scales(self):
        """The float32 weight scales (per channel, or one), an array('f')
        (read from the file's data when used in place: not kept in RAM)."""
        s = self._scales
        return s if isinstance(s, array) else array("f", bytes(s))

    def _heap_bytes(self):
        """Bytes the copied parts take (about)."""
        return sum(n for n in (v[1] for v in self._parts.values())) + 5 * 32

    def _step(self, buf):
        act = self._name
        return (self._kernel, self._bias, None if act == "linear" else act, buf, _SPEC, self._quant)

    def get_weights(self):
        """[kernel, bias]: units rows of n_in int8 values (TFLite's layout),
        units int32 values."""
        k = _ints(self._kernel, "b", "kernel")
        n = self.n_in
        return [[k[j * n:(j + 1) * n] for j in range(self._units)], _ints(self._bias, "i", "bias")]

    def __repr__(self):
        act = self._name
        return "Dense(%d, int8%s)" % (self._units, "" if act == "linear" else ", " + act)


# ---------------------------------------------------------------------------
# The network

def make_layer(entry):
    """The int8 Dense layer of a file's entry (anne_net.load)."""
    return DenseInt8(entry)


def quantize(values, scale, zero_point, out):
    """TFLite's QUANTIZE of float values into out (array('b')): float32
    x / scale rounded half away from zero, plus zero_point, clamped to
    -128..127."""
    f = array("f", [0.0])
    for j in range(len(values)):
        f[0] = values[j]      # the float32 input
        v = f[0]
        if v - v != 0.0:
            raise ValueError("input value %d is not finite" % j)
        f[0] = v / scale      # float32 division (exact in double, then rounded once)
        v = f[0]
        if v > 1e6:
            v = 1e6
        elif v < -1e6:
            v = -1e6
        r = int(v)            # toward zero; the fraction is exact
        if v - r >= 0.5:
            r += 1
        elif r - v >= 0.5:
            r -= 1
        r += zero_point
        out[j] = -128 if r < -128 else 127 if r > 127 else r
    return out


def dequantize(q, scale, zero_point):
    """TFLite's DEQUANTIZE: (q - zero_point) * scale as an array('f')."""
    return array("f", [(v - zero_point) * scale for v in q])


class Int8Network:
    """What an int8 network (anne_net.load of a dtype-1 file) does
    differently, mixed into anne_net.Sequential (network_class)."""

    dtype = "int8"

    @property
    def input_quantization(self):
        """(scale, zero_point) of the network's int8 input."""
        return self._layers[0].input_quantization

    @property
    def output_quantization(self):
        return self._layers[-1].output_quantization

    _TYPECODE = "b"  # (Sequential's arena, of int8 values)

    def predict(self, x):
        """x: one sample of n_inputs floats -> array('f'): quantized with
        the input's (scale, zero_point), run, the int8 outputs dequantized
        (as TFLite's QUANTIZE and DEQUANTIZE around the model); or a batch
        (a list of rows) -> a list of array('f'). predict_into(x, out) runs
        on int8 buffers (array('b')) as they are."""
        if isinstance(x, (list, tuple)) and len(x) and isinstance(x[0], (list, tuple, array)):
            return self.predict_batch(x)
        return self._predict_row(x, None)

    def predict_batch(self, rows):
        return [self._predict_row(rows[i], i) for i in range(len(rows))]

    def _predict_row(self, row, i):
        if len(row) != self.n_inputs:
            raise ValueError("%s has %d values, the network takes %d"
                             % ("x" if i is None else "row %d" % i, len(row), self.n_inputs))
        s, z = self.input_quantization
        xq = quantize(row, s, z, array("b", bytes(self.n_inputs)))
        out = self.predict_into(xq, array("b", bytes(self.n_outputs)))
        s, z = self.output_quantization
        return dequantize(out, s, z)

    def _floats_into(self, x, out):
        """Float32 x -> float32 out through QUANTIZE, the int8 network and
        DEQUANTIZE (evaluate and classify), on buffers kept for it."""
        bufs = getattr(self, "_io8", None)
        if bufs is None:
            bufs = self._io8 = (array("b", bytes(self.n_inputs)), array("b", bytes(self.n_outputs)))
        s, z = self.input_quantization
        self.predict_into(quantize(x, s, z, bufs[0]), bufs[1])
        s, z = self.output_quantization
        for j in range(len(out)):
            out[j] = (bufs[1][j] - z) * s
        return out

    def _refuse(self, *args, **kw):
        raise ValueError(INT8_REFUSAL)

    compile = fit = training_memory = _refuse

    def save(self, path):
        """Writes the file a network made by net.quantize(rows) came from
        (those loaded from a file are already one)."""
        data = getattr(self, "_file", None)
        if data is None:
            raise ValueError("this int8 network was loaded from a file: copy that file (net.quantize() "
                             "makes networks that save)")
        with open(path, "wb") as f:
            f.write(data)

    def summary(self):
        """Each layer, its output shape, parameters, bytes and quantization."""
        print("int8 network: input %s, scale %r, zero point %d"
              % ((self.input_shape,) + self.input_quantization))
        rows = []
        total = nbytes = 0
        for L in self._layers:
            total += L.n_params
            nbytes += L._data_size
            shape = "(None, %s)" % ", ".join(str(d) for d in (getattr(L, "output_shape", None) or (L.n_out,)))
            rows.append((type(L).__name__.replace("Int8", "") + " int8", shape, L))
        # the columns as wide as their longest entry ("GlobalAveragePooling2D int8", "(None, 49, 10, 64)")
        wn = max([14] + [len(r[0]) for r in rows])
        ws = max([12] + [len(r[1]) for r in rows])
        print("%-*s %-*s %8s %8s  %s" % (wn, "Layer", ws, "Output", "Params", "Bytes", "output scale, zero point"))
        for name, shape, L in rows:
            print("%-*s %-*s %8d %8d  %r, %d%s" % (wn, name, ws, shape, L.n_params, L._data_size,
                                                   L.output_quantization[0], L.output_quantization[1],
                                                   ("" if L.act_range == (-128, 127)
                                                    else "  clamp %d..%d" % L.act_range)
                                                   + ("" if L._name == "linear" else "  " + L._name)))
        print("Total params: %d (%d bytes)" % (total, nbytes))
        m = self.memory()
        print("Activations: %d bytes, one arena for %d tensors (the lower bound)" % (m["arena"], m["tensors"]))


_classes = {}


def network_class(base):
    """anne_net.Sequential with Int8Network's methods (made once)."""
    return made_once(_classes, base, _int8_class)


def _int8_class(base):
    class Sequential(Int8Network, base):
        pass
    return Sequential


# ---------------------------------------------------------------------------
# The int8 Dense chain in plain Python (anne_fallback's forward() and Plan
# with int8 layers): the native module's checks and messages.

def _typecode(buf):
    """A buffer's array typecode ('b', 'f', ...), 'B' for bytes-like ones,
    None for what is not a buffer."""
    if isinstance(buf, array):
        return repr(buf[:1])[7]
    if isinstance(buf, (bytes, bytearray)):
        return "B"
    if isinstance(buf, memoryview):
        return "f" if len(buf) and isinstance(buf[0], float) else "b"
    return None


def _s8_io(buf, arg, writable=False):
    code = _typecode(buf)
    if code is None or (writable and isinstance(buf, bytes)):
        raise anne_ops.err(74, arg, " writable" if writable else "n", type(buf).__name__)  # I8_TYPE
    if code != "b":
        raise anne_ops.err(75, arg, code)  # I8_TYPECODE
    return buf


def _ints(buf, code, arg):
    """An int8 ('b') or int32 ('i') weight buffer's values as a list (bytes
    views: decoded little-endian)."""
    t = _typecode(buf)
    if t is None:
        raise TypeError("%s must be an int%s buffer, not %s" % (arg, "8" if code == "b" else "32",
                                                             type(buf).__name__))
    if isinstance(buf, array) and (t == code or (code == "i" and t == "l")):
        return list(buf)
    if t not in ("B", "b") or isinstance(buf, array) and t != "B":
        raise TypeError("%s must hold int%s (typecode '%s'), not typecode '%s'"
                        % (arg, "8" if code == "b" else "32", code, t))
    # bytes-like (a loaded file's parts): raw little-endian values
    if code == "b":
        return [v - 256 if v > 127 else v for v in bytes(buf)]
    import struct
    if len(buf) % 4:
        raise anne_ops.err(76, arg)  # I32_WHOLE
    return list(struct.unpack("<%di" % (len(buf) // 4), bytes(buf)))


def _quant_items(i, layer, kinds):
    """Layer i's tuple, its kind (one of kinds) and quant's items checked as
    the glue checks them."""
    quant = layer[5]
    if layer[4][0] not in kinds:
        raise anne_ops.err(13, i)  # INT8_KINDS
    if not isinstance(quant, tuple) or len(quant) not in (5, 6):
        raise anne_ops.err(12, i)  # INT8_QUANT_TYPE
    for k in range(4):
        if not isinstance(quant[k], int):
            raise anne_ops.err(14, i, k)  # INT8_QUANT_ITEM
        if not -128 <= quant[k] <= 128:
            raise anne_ops.err(15, i, k)  # INT8_QUANT_RANGE
    return layer


def _layer(i, layer):
    """Layer i's tuple, decoded: (kernel, bias, scales, input_offset,
    output_offset, act_min, act_max, post (_post)), scales as _scale gives them (None
    for a NaN or infinite one; a list of odd length for an odd number of
    words)."""
    kernel, bias, act, _, spec, quant = _quant_items(i, layer, (anne_ops.LAYER_DENSE,))
    return (_ints(kernel, "b", "kernel"), None if bias is None else _ints(bias, "i", "bias"),
            _scales(_ints(quant[4], "i", "scale"))) + quant[:4] + (_post(i, act, quant),)


def _post(i, act, quant):
    """Layer i's activation after the clamp: None (linear), ("softmax",
    params) or ("table", 256 values), checked as the native glue and
    kernel check them."""
    name = _activation_name(act)
    if name == "linear":
        if len(quant) == 6 and quant[5] is not None:
            raise _bad_quant(i)
        return None
    if len(quant) != 6:
        raise _bad_quant(i)
    if name == "softmax":
        p = _ints(quant[5], "i", "post")
        if len(p) != 3 or p[0] < 0 or not 0 <= p[1] <= 31 or p[2] > 0:
            raise _bad_quant(i)
        return ("softmax", p)
    if anne_ops.ACTIVATIONS.index(name) in anne_ops.VECTOR:
        raise anne_ops.err(31, i)  # INT8_ACTIVATION
    t = _ints(quant[5], "b", "post")
    if len(t) != 256:
        raise _bad_quant(i)
    return ("table", t)


def _activation_name(act):
    """An int8 layer's activation item: None or a name (as the glue reads it)."""
    if act is None:
        return "linear"
    import anne_activations
    return anne_ops.ACTIVATIONS[anne_activations._lookup(act)]


def _scales(words):
    """int32 words, two per float64 (low first) -> [(neg, m, t)] with
    |scale| = m * 2**-t (m 0 for zero and subnormal ones: their products
    with an int32 round to 0), None for NaN and inf; [None] * 3 (so never
    a valid count) for an odd number of words."""
    if len(words) % 2:
        return [None] * 3
    out = []
    for j in range(0, len(words), 2):
        lo, hi = words[j] & 0xFFFFFFFF, words[j + 1] & 0xFFFFFFFF
        e = (hi >> 20) & 0x7FF
        if e == 0x7FF:
            out.append(None)
        elif e == 0:
            out.append((hi >> 31, 0, 0))
        else:
            out.append((hi >> 31, ((hi & 0xFFFFF | 0x100000) << 32) | lo, 1075 - e))
    return out


def requantize_float(acc, scale):
    """(int32_t)round((double)acc * scale) as LiteRT's reference
    FULLY_CONNECTED computes it (src/math/requant.rs's requantize_float),
    exactly, in ints: the double product (acc * m rounded to 53 bits, ties
    to even), then rounded half away from zero; out of int32: INT32_MIN
    (x86-64's conversion)."""
    neg, m, t = scale
    p = (-acc if acc < 0 else acc) * m
    if p == 0:
        return 0
    d = len(bin(p)) - 2 - 53          # the bits the double drops
    if d > 0:
        q, rem, half = p >> d, p & ((1 << d) - 1), 1 << (d - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
        p = q << d
    if t <= 0:
        return -0x80000000            # |acc * scale| >= 2**52: out of int32
    r = (p + (1 << (t - 1))) >> t    # half away from zero (of the magnitude)
    if r >= 0x80000000:
        return -0x80000000
    return -r if (acc < 0) != bool(neg) else r


def _bad_quant(i):
    return anne_ops.err(17, i)  # INT8_QUANT


def _dense_s8(i, last, xs, L, out):
    """Layer i (L from _layer) on the int8 values xs into out; checked as
    the native kernel checks (sizes, then the quantization's ranges)."""
    k, b, sc, in_off, out_off, lo, hi, post = L
    n_in, units = len(xs), len(out)
    if n_in == 0:
        raise anne_ops.err(24)  # X_EMPTY
    if units == 0 or len(k) != n_in * units:
        if len(k) % n_in == 0:
            if last:
                raise anne_ops.err(27, units, len(k) // n_in)  # INT8_OUT_SIZE
            raise anne_ops.err(28, i, units, len(k) // n_in)  # INT8_BUF_SIZE
        if i == 0 and units and len(k) % units == 0:
            raise anne_ops.err(25, n_in, len(k) // units)  # INT8_X_SIZE
        raise anne_ops.err(26, i, len(k), n_in)  # INT8_DENSE_KERNEL
    if b is not None and len(b) != units:
        raise anne_ops.err(29, i, len(b))  # INT8_BIAS
    count = len(sc)
    if (count not in (1, units) or not -127 <= in_off <= 128 or not -128 <= out_off <= 127
            or not -128 <= lo <= hi <= 127 or None in sc):
        raise _bad_quant(i)
    for j in range(units):
        acc = 0
        row = j * n_in
        for t in range(n_in):
            acc += k[row + t] * (xs[t] + in_off)
        if b is not None:
            acc += b[j]
        acc = (acc + 0x80000000) % 0x100000000 - 0x80000000   # int32, wrapping
        v = requantize_float(acc, sc[0 if count == 1 else j])
        v = (v + out_off + 0x80000000) % 0x100000000 - 0x80000000
        out[j] = lo if v < lo else hi if v > hi else v
    if post is not None:
        y = (anne_int8_act.softmax if post[0] == "softmax" else anne_int8_act.lookup)(list(out), post[1])
        for j in range(units):
            out[j] = y[j]


class Plan:
    """anne_fallback.Plan of int8 Dense layers: the weights decoded once
    (anne_int8_conv.Plan: with Conv1D ones)."""

    _decode = staticmethod(_layer)
    _run = staticmethod(_dense_s8)

    def __init__(self, layers):
        for i, layer in enumerate(layers):
            if len(layer) != 6:
                raise anne_ops.err(30, i)  # INT8_MIXED
        self._layers = [self._decode(i, layer) for i, layer in enumerate(layers)]
        self._bufs = [layer[3] for layer in layers]
        for i, buf in enumerate(self._bufs[:-1]):
            _s8_io(buf, "buf", True)

    def __call__(self, x, out):
        src = _s8_io(x, "x")
        _s8_io(out, "out", True)
        last = len(self._layers) - 1
        for i, L in enumerate(self._layers):
            dst = out if i == last else self._bufs[i]
            self._run(i, i == last, src, L, dst)
            src = dst
        return out


def forward(layers, x, out):
    return Plan(layers)(x, out)
