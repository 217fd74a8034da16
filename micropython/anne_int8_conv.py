# anne_int8_conv: the int8 layers beyond Dense (docs/int8.md), imported
# when a file or a layer tuple has one: Conv1D (LiteRT's reference CONV_2D
# with height 1, Q31 multipliers requantized with gemmlowp's double
# rounding), the 1-D poolings (MAX/AVERAGE_POOL_2D with height 1, MEAN and
# REDUCE_MAX over the steps), and Flatten/Reshape in an int8 network (the
# values as they are). For anne_fallback, their kernels in plain Python
# ints, bit for bit the native ones (src/layers/conv1d_s8.rs, pool1d_s8.rs,
# mean_s8.rs).

import anne_ops
from array import array

from anne_conv import (Conv1D, Flatten, Reshape, PADDINGS, MaxPooling1D, AveragePooling1D,
                       GlobalAveragePooling1D, GlobalMaxPooling1D)
import anne_int8
from anne_int8 import DenseInt8, _ints, _bad_quant, _activation_name
from anne_int8_act import high_mul, div_pot, _i32


class _Int8Conv:
    """What an int8 convolution (Conv1D, Conv2D, DepthwiseConv2D) adds to
    the float one: the parts of a dtype-1 file's data (DenseInt8's: kernel
    in TFLite's layout, int32 bias, the per-tensor or per-channel Q31
    multipliers then the shifts, weight_scales); the fused activation is
    its clamp (act_range). It cannot be edited or trained."""

    dtype = "int8"
    _init_quant = DenseInt8._init_quant
    _set_data = DenseInt8._set_data
    _heap_bytes = DenseInt8._heap_bytes
    weight_scales = DenseInt8.weight_scales

    def _step(self, buf):
        return (self._kernel, self._bias, None, buf, self._float._step(self, buf)[4], self._quant)

    def _rows(self):
        """The kernel's rows in TFLite's layout (one per filter; a
        depthwise one's: one per tap)."""
        return self._units

    def get_weights(self):
        """[kernel, bias]: the kernel's int8 values in TFLite's layout
        (Conv1D: filters rows of kernel_size x in_channels; Conv2D: filters
        rows of kernel_h x kernel_w x in_channels; DepthwiseConv2D:
        kernel_h x kernel_w rows of channels), the int32 bias."""
        k = _ints(self._kernel, "b", "kernel")
        n = len(k) // self._rows()
        return [[k[j * n:(j + 1) * n] for j in range(self._rows())], _ints(self._bias, "i", "bias")]

    def __repr__(self):
        return "%s(%s%s, int8)" % (type(self).__name__[:-4], "%d, " % self._units if self._filters else "",
                                   self._options())

    _filters = True     # (the repr's first argument, as Keras's constructor's)


class Conv1DInt8(_Int8Conv, Conv1D):
    _float = Conv1D

    def __init__(self, entry):
        kp = entry.kparams
        Conv1D.__init__(self, entry.units, kp[0], kp[1], PADDINGS[kp[2]], kp[3], "linear", True)
        self._init_quant(entry)


class _Int8Pool:
    """What an int8 pooling adds to the float one: its quantization (the
    input's, kept, but for the global average: TFLite's MEAN, requantized
    by the file's Q31 multiplier and shift) and the fused clamp."""

    dtype = "int8"

    def _init_int8(self, entry):
        q = entry.quant
        self.input_quantization, self.output_quantization = (q[0], q[1]), (q[2], q[3])
        self.act_range = (q[5], q[6])
        self._data_size = entry.data_size
        self.stored = entry.data_size > 0      # (the global average's multiplier and shift)
        self._quant = (-q[1], q[3], q[5], q[6], array("i"))
        return self

    def _set_data(self, mv, copy):
        self._quant = self._quant[:4] + (array("i", bytes(mv[0:8])),)

    def _heap_bytes(self):
        return 40

    def _step(self, buf):
        return self._float._step(self, buf) + (self._quant,)


class MaxPooling1DInt8(_Int8Pool, MaxPooling1D):
    _float = MaxPooling1D


class AveragePooling1DInt8(_Int8Pool, AveragePooling1D):
    _float = AveragePooling1D


class GlobalAveragePooling1DInt8(_Int8Pool, GlobalAveragePooling1D):
    _float = GlobalAveragePooling1D


class GlobalMaxPooling1DInt8(_Int8Pool, GlobalMaxPooling1D):
    _float = GlobalMaxPooling1D


def make_layer(entry):
    """The board layer of an int8 entry other than dense."""
    kind, kp = entry.kind, entry.kparams
    if kind == anne_ops.LAYER_CONV1D:
        return Conv1DInt8(entry)
    if kind in (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D):
        cls = MaxPooling1DInt8 if kind == anne_ops.LAYER_MAX_POOLING1D else AveragePooling1DInt8
        return cls(kp[0], kp[1], PADDINGS[kp[2]])._init_int8(entry)
    if kind == anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D:
        return GlobalAveragePooling1DInt8()._init_int8(entry)
    if kind == anne_ops.LAYER_GLOBAL_MAX_POOLING1D:
        return GlobalMaxPooling1DInt8()._init_int8(entry)
    L = Flatten() if kind == anne_ops.LAYER_FLATTEN else Reshape(entry.out_shape)
    L.dtype = "int8"  # (what makes the network int8 when it comes first: anne_net.load, anne_io)
    q = entry.quant
    L.input_quantization = L.output_quantization = (q[0], q[1])
    L.act_range = (-128, 127)
    L._data_size = 0
    return L


# ---------------------------------------------------------------------------
# The int8 Conv1D in plain Python (Plan: anne_fallback's for a chain with one)

def requantize(acc, m, shift):
    """TFLite's MultiplyByQuantizedMultiplier, double rounding (LiteRT's
    build): acc * 2**max(shift, 0) (int32, wrapping), the rounded doubling
    high product with m, a rounding right shift by max(-shift, 0)."""
    shift = -31 if shift < -31 else 31 if shift > 31 else shift
    x = _i32(acc << shift) if shift > 0 else acc
    return div_pot(high_mul(x, m), -shift if shift < 0 else 0)


def decode(i, layer):
    """Layer i's tuple (an int8 Conv1D), decoded as anne_int8._layer does a
    Dense one: ("conv1d", kernel, bias, (multipliers, shifts), in_off,
    out_off, act_min, act_max, spec)."""
    kernel, bias, act, _, spec, quant = layer
    if _activation_name(act) != "linear":
        raise anne_ops.err(16, i)  # INT8_NO_ACTIVATION
    if len(quant) == 6 and quant[5] is not None:
        raise _bad_quant(i)
    words = _ints(quant[4], "i", "scale")
    n = len(words) // 2
    mults = (words[:n], words[n:2 * n]) if len(words) % 2 == 0 else ([], [0])
    return ("conv1d", _ints(kernel, "b", "kernel"), None if bias is None else _ints(bias, "i", "bias"),
            mults) + tuple(quant[:4]) + (tuple(spec[1:]) + (0,) * 6,)


def out_steps(steps, window, strides, padding):
    """(output steps, padded steps before the first), as src/layers/window.rs."""
    if padding == 0:
        return ((steps - window) // strides + 1 if steps >= window else 0), 0
    if padding == 1:
        n = (steps + strides - 1) // strides
        return n, max((n - 1) * strides + window - steps, 0) // 2
    return (steps - 1) // strides + 1, window - 1


def conv1d(i, last, xs, L, out):
    """Layer i (decode()'s L) on the int8 values xs into out; checked as the
    native kernel checks (the spec, the sizes, then the quantization)."""
    _, k, b, (ms, shs), in_off, out_off, lo, hi, spec = L
    cin, ks, strides, padding, dil = spec[:5]
    if not (cin and ks and strides and dil) or padding > 2:
        raise anne_ops.err(47, i)  # SPEC_1D
    n_in = len(xs)
    if n_in == 0 or n_in % cin:
        raise anne_ops.err(42, i, n_in, cin)  # STEPS_INPUTS
    row = ks * cin
    if len(k) == 0 or len(k) % row:
        raise anne_ops.err(20, i, len(k), ks, cin)  # INT8_CONV1D_KERNEL
    filters = len(k) // row
    window = (ks - 1) * dil + 1
    n, pad = out_steps(n_in // cin, window, strides, padding)
    if n == 0:
        raise anne_ops.err(42, i, n_in, cin)  # STEPS_INPUTS
    _out_size(i, last, out, n * filters)
    if b is not None and len(b) != filters:
        raise ValueError("layer %d: bias has %d values, expected one per filter/channel" % (i, len(b)))
    count = len(ms)
    if (count not in (1, filters) or len(shs) != count or not -127 <= in_off <= 128 or not -128 <= out_off <= 127
            or not -128 <= lo <= hi <= 127 or [s for s in shs if not -31 <= s <= 31]):
        raise _bad_quant(i)
    steps = n_in // cin
    for t in range(n):
        at = t * strides - pad
        for j in range(filters):
            acc = 0
            base = j * row
            for tap in range(ks):
                s = at + tap * dil
                if 0 <= s < steps:
                    w = base + tap * cin
                    x0 = s * cin
                    for c in range(cin):
                        acc += k[w + c] * (xs[x0 + c] + in_off)
            if b is not None:
                acc += b[j]
            c = 0 if count == 1 else j
            v = _i32(requantize(_i32(acc), ms[c], shs[c]) + out_off)
            out[t * filters + j] = lo if v < lo else hi if v > hi else v


_POOLS = (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D,
          anne_ops.LAYER_GLOBAL_MAX_POOLING1D)


def _decode(i, layer):
    kind = layer[4][0]
    if kind == anne_ops.LAYER_CONV1D:
        return decode(i, anne_int8._quant_items(i, layer, (kind,)))
    if kind in _POOLS:
        _, _, act, _, spec, quant = anne_int8._quant_items(i, layer, _POOLS)
        if _activation_name(act) != "linear":
            raise anne_ops.err(16, i)  # INT8_NO_ACTIVATION
        if len(quant) == 6 and quant[5] is not None:
            raise _bad_quant(i)
        return ("pool", tuple(spec) + (0,) * 4, _ints(quant[4], "i", "scale")) + tuple(quant[:4])
    return anne_int8._layer(i, layer)


def _run(i, last, xs, L, out):
    (conv1d if L[0] == "conv1d" else pool1d if L[0] == "pool" else anne_int8._dense_s8)(i, last, xs, L, out)


def _out_size(i, last, out, n):
    if len(out) != n:
        if last:
            raise anne_ops.err(22, len(out))  # INT8_OUT_LAST
        raise anne_ops.err(23, i, len(out))  # INT8_BUF_LAYER


def pool1d(i, last, xs, L, out):
    """An int8 1-D pooling (_decode's L) on the int8 values xs into out,
    checked as the native kernels check (the spec, the sizes, the
    quantization): max and average over the window's steps in range
    (the average's sum rounded half away from zero), clamped; MEAN over the
    steps (the scale ratio's multiplier with 1 / steps folded in, as
    QuantizedMeanOrSum); REDUCE_MAX."""
    _, spec, words, in_off, out_off, lo, hi = L
    kind, c = spec[0], spec[1]
    glob = kind in (anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_MAX_POOLING1D)
    size, strides, padding = (1, 1, 0) if glob else spec[2:5]
    if not c or not size or not strides or padding > 1:
        raise anne_ops.err(47, i)  # SPEC_1D
    n_in = len(xs)
    steps = n_in // c
    n, pad = (1, 0) if glob else out_steps(steps, size, strides, padding)
    if n_in == 0 or n_in % c or n == 0:
        raise anne_ops.err(42, i, n_in, c)  # STEPS_INPUTS
    _out_size(i, last, out, n * c)
    mean = kind == anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D
    if (not -128 <= lo <= hi <= 127 or (mean and (len(words) != 2 or (lo, hi) != (-128, 127)
                                                  or not -31 <= words[1] <= 31 or words[0] < 0
                                                  or not -127 <= in_off <= 128 or not -128 <= out_off <= 127))
            or (not mean and in_off != -out_off) or (glob and (lo, hi) != (-128, 127))):
        raise _bad_quant(i)
    if mean:
        m, shift = words
        k = max(0, min(len(bin(steps)) - 3, 32, 31 + shift))
        m, shift = (m << k) // steps, shift - k
        for j in range(c):
            acc = _i32(sum(xs[t * c + j] for t in range(steps)) + in_off * steps)
            v = _i32(requantize(acc, m, shift) + out_off)
            out[j] = -128 if v < -128 else 127 if v > 127 else v
        return
    average = kind == anne_ops.LAYER_AVERAGE_POOLING1D
    for t in range(n):
        s0 = t * strides - pad
        s1 = min(s0 + (steps if glob else size), steps)
        s0 = max(s0, 0)
        count = s1 - s0
        for j in range(c):
            if average:
                total = sum(xs[s * c + j] for s in range(s0, s1))
                v = (total + count // 2) // count if total > 0 else -((-total + count // 2) // count)
            else:
                v = max(xs[s * c + j] for s in range(s0, s1))
            out[t * c + j] = lo if v < lo else hi if v > hi else v


class Plan(anne_int8.Plan):
    """anne_int8.Plan with int8 Conv1D layers too."""

    _decode = staticmethod(_decode)
    _run = staticmethod(_run)


def forward(layers, x, out):
    return Plan(layers)(x, out)
