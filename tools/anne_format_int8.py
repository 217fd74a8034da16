"""Host side of the int8 layers of `.anne` files (format version 3): the
specs the converters write (Int8DenseSpec, Int8Conv1DSpec, Int8Conv2DSpec,
Int8DepthwiseSpec, Int8FlattenSpec, Int8PoolSpec, Int8MergeSpec, Int8AffineSpec), TFLite's multiplier arithmetic for them, and the reader of an
int8 layer's data into numpy (read_int8_layer). The codec's int8 part is
micropython/anne_file_int8.py; anne_format re-exports these names."""

import math
import struct

import numpy as np

import anne_file
import anne_file_int8
import anne_ops
from anne_file import FLAG_BIAS, KIND_DENSE
from anne_reference import default_params

PARAM_NAMES = anne_ops.FILE_PARAMS


def f32_value(v):
    """v rounded to float32, as a Python float (what a file stores)."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def quantize_multiplier(real, single_rounding=True):
    """(Not what a file stores: an int8 Dense layer stores real_multiplier()
    itself, the float scale LiteRT's reference FULLY_CONNECTED requantizes
    with; kept for the Q31 multipliers of the operators to come.)
    TFLite's QuantizeMultiplier (quantization_util.cc) for the
    single-rounding build, as src/math/requant.rs's
    quantize_multiplier_for(real, Rounding::Single): real = q * 2**(shift - 31)
    with q in [2**30, 2**31) from frexp, q rounded half away from zero (a q
    that rounds to 2**31 is halved, the shift raised); a shift below -31
    gives (0, 0); 0.0 gives (0, 0); a shift above 30 saturates to
    (2**31 - 1, 30) (single_rounding; the double-rounding build keeps
    it). real: a Python float (double precision)."""
    if not math.isfinite(real):
        raise ValueError("requantization multiplier %r is not finite" % real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    x = q * (1 << 31)           # exact: a power-of-two scaling
    q_fixed = int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)   # C's round(): half away from zero
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30 and single_rounding:
        return 0x7FFFFFFF, 30
    return q_fixed, shift


def real_multiplier(input_scale, weight_scale, output_scale):
    """The requantization scale as LiteRT's reference FULLY_CONNECTED
    computes it in its Eval, per channel and per tensor alike: `(double)
    input_scale * (double)weight_scale / (double)output_scale` (scales:
    float32 values; Python floats are doubles, so this is the C++'s
    double product and quotient, bit for bit). An int8 Dense layer's file
    stores it as a float64. Not the float32 product of the older
    GetQuantizedConvolutionMultipler: LiteRT 2.3.0's reference kernels give
    the double product's outputs where the two differ
    (tests/host/test_tflite_import.py, test_per_tensor_multiplier_is_litert_s)."""
    return float(input_scale) * float(weight_scale) / float(output_scale)


class Int8DenseSpec:
    """An int8 dense layer to encode (format version 3, dtype 1).
    kernel: units x n_in int8 (TFLite's layout); bias: units int32 or None
    (zeros are stored); weight_scales: 1 (per tensor) or units float32;
    in_q, out_q: (scale, zero point) of the input and the output; act_range:
    (act_min, act_max) in output steps. scales: the float64 requantization
    scales, computed here (real_multiplier(), as LiteRT's reference
    FULLY_CONNECTED) unless given (bad files; a float, or an int taken as
    the float64's bits). activation: applied after the clamp, with act_q
    its output's (scale, zero point) and post its data
    (tools/anne_tflite_act.py): softmax's (multiplier, left shift,
    diff_min), an element-wise one's 256-entry table (table[q & 0xFF])."""

    kind = KIND_DENSE

    def __init__(self, kernel, bias, weight_scales, in_q, out_q, act_range=(-128, 127),
                 scales=None, activation="linear", act_q=(0.0, 0), post=()):
        self.activation = activation
        self.act_q = (f32_value(float(act_q[0])), int(act_q[1]))
        self.post = tuple(int(v) for v in post)
        self.kernel = np.asarray(kernel)
        self.has_bias = bias is not None
        self.bias = np.zeros(self.kernel.shape[0], np.int32) if bias is None else np.asarray(bias).astype(np.int64)
        self.weight_scales = [f32_value(float(v)) for v in np.atleast_1d(weight_scales)]
        self.in_q = (f32_value(float(in_q[0])), int(in_q[1]))
        self.out_q = (f32_value(float(out_q[0])), int(out_q[1]))
        self.act_range = (int(act_range[0]), int(act_range[1]))
        if scales is None:
            scales = [real_multiplier(self.in_q[0], s, self.out_q[0]) for s in self.weight_scales]
        self.scales = [struct.unpack("<d", struct.pack("<Q", v))[0] if isinstance(v, int) else float(v)
                       for v in scales]

    @property
    def units(self):
        return self.kernel.shape[0]

    @property
    def quant(self):
        return self.in_q + self.out_q + (len(self.weight_scales),) + self.act_range + self.act_q

    def entry(self, in_shape):
        return anne_file.Entry(anne_ops.ACTIVATIONS.index(self.activation), FLAG_BIAS if self.has_bias else 0,
                               in_shape, self.units,
                               [default_params("linear")[k] for k in PARAM_NAMES], kind=KIND_DENSE,
                               dtype=anne_file.DTYPE_INT8, quant=self.quant)

    def data(self, entry):
        """The layer's data bytes, laid out as anne_file_int8.int8_parts says."""
        parts = anne_file_int8.int8_parts(entry)
        out = bytearray(entry.data_size)
        values = {"kernel": self.kernel.astype("<i1").tobytes(),
                  "bias": np.asarray(self.bias).astype("<i4").tobytes(),
                  "requant": np.asarray(self.scales, "<f8").tobytes(),
                  "scale": np.asarray(self.weight_scales, "<f4").tobytes(),
                  "post": np.asarray(self.post, "<i4" if self.activation == "softmax" else "<i1").tobytes()}
        for name, (off, n) in parts.items():
            out[off:off + len(values[name])] = values[name]
        return bytes(out)


class Int8Conv1DSpec(Int8DenseSpec):
    """An int8 conv1d layer (LiteRT's CONV_2D with height 1): kernel filters
    x kernel_size x in_channels int8 (TFLite's layout); kparams (kernel_size,
    strides, padding code, dilation); the rest as Int8DenseSpec's, no
    activation. mults: (multipliers, shifts), LiteRT's (QuantizeMultiplier
    of real_multiplier(), double rounding) unless given."""

    kind = anne_ops.LAYER_CONV1D

    def __init__(self, kernel, bias, weight_scales, in_q, out_q, act_range=(-128, 127), kparams=(1, 1, 0, 1),
                 mults=None):
        Int8DenseSpec.__init__(self, kernel, bias, weight_scales, in_q, out_q, act_range)
        self.kparams = tuple(int(v) for v in kparams) + (0,) * (8 - len(kparams))
        if mults is None:
            pairs = [quantize_multiplier(v, single_rounding=False) for v in self.scales]
            mults = ([m for m, _ in pairs], [sh for _, sh in pairs])
        self.mults = (list(mults[0]), list(mults[1]))

    def entry(self, in_shape):
        return anne_file.Entry(anne_ops.LINEAR, FLAG_BIAS if self.has_bias else 0, in_shape, self.units,
                               [default_params("linear")[k] for k in PARAM_NAMES], kind=self.kind,
                               kparams=self.kparams, dtype=anne_file.DTYPE_INT8, quant=self.quant)

    def expected_kernel(self, in_shape):
        return (self.units, self.kparams[0], in_shape[-1])

    def data(self, entry):
        parts = anne_file_int8.int8_parts(entry)
        out = bytearray(entry.data_size)
        values = {"kernel": self.kernel.astype("<i1").tobytes(),
                  "bias": np.asarray(self.bias).astype("<i4").tobytes(),
                  "requant": np.asarray(self.mults[0] + self.mults[1], "<i4").tobytes(),
                  "scale": np.asarray(self.weight_scales, "<f4").tobytes(), "post": b""}
        for name, (off, n) in parts.items():
            out[off:off + len(values[name])] = values[name]
        return bytes(out)


class Int8Conv2DSpec(Int8Conv1DSpec):
    """An int8 conv2d (LiteRT's CONV_2D): kernel filters x kernel_h x
    kernel_w x in_channels int8 (TFLite's OHWI layout); kparams (kernel_h,
    kernel_w, strides_h, strides_w, padding code, dilation_h, dilation_w),
    the registry's slots; the rest as Int8Conv1DSpec's."""

    kind = anne_ops.LAYER_CONV2D

    def expected_kernel(self, in_shape):
        return (self.units, self.kparams[0], self.kparams[1], in_shape[-1])


class Int8DepthwiseSpec(Int8Conv1DSpec):
    """An int8 depthwise_conv2d (LiteRT's DEPTHWISE_CONV_2D): kernel
    kernel_h x kernel_w x channels int8 (TFLite's 1 x kh x kw x channels,
    channels = in_channels x depth_multiplier), one multiplier per channel
    or per tensor; kparams (kernel_h, kernel_w, strides_h, strides_w,
    padding code, depth_multiplier, dilation_h, dilation_w)."""

    kind = anne_ops.LAYER_DEPTHWISE_CONV2D

    @property
    def units(self):
        return self.kernel.shape[-1]

    def expected_kernel(self, in_shape):
        return (self.kparams[0], self.kparams[1], self.units)


class Int8FlattenSpec:
    """An int8 flatten (reshape: out_shape); q: its (scale, zero point)."""

    has_bias = False
    kernel = bias = None
    units = 0
    kparams = anne_file.NO_KPARAMS

    def __init__(self, q, out_shape=None):
        self.q = (f32_value(float(q[0])), int(q[1]))
        self.out_shape = None if out_shape is None else tuple(out_shape)
        self.kind = anne_ops.LAYER_FLATTEN if out_shape is None else anne_ops.LAYER_RESHAPE

    @property
    def quant(self):
        return self.q + self.q + (0, -128, 127, 0.0, 0)

    def entry(self, in_shape):
        return anne_file.Entry(anne_ops.LINEAR, 0, in_shape, 0, [default_params("linear")[k] for k in PARAM_NAMES],
                               kind=self.kind, kparams=self.kparams, out_shape=self.out_shape,
                               dtype=anne_file.DTYPE_INT8, quant=self.quant)

    def data(self, entry):
        return b""


class Int8PoolSpec(Int8FlattenSpec):
    """An int8 pooling (kind, a name or an id; kparams: 1-D (pool_size,
    strides, padding code), 2-D (pool_h, pool_w, strides_h, strides_w,
    padding code)) or zero_padding2d (kparams (top, bottom, left, right):
    TFLite's PAD, padding with the zero point): in_q, out_q (equal but for
    the global averages, TFLite's MEAN, whose mults are
    QuantizeMultiplier(in_scale / out_scale) unless given)."""

    def __init__(self, kind, in_q, out_q, act_range=(-128, 127), kparams=(), mults=None):
        Int8FlattenSpec.__init__(self, in_q)
        self.kind = {n: k for k, n in anne_ops.LAYER_NAMES.items()}[kind] if isinstance(kind, str) else kind
        self.out_q = (f32_value(float(out_q[0])), int(out_q[1]))
        self.act_range = (int(act_range[0]), int(act_range[1]))
        self.kparams = tuple(int(v) for v in kparams) + (0,) * (8 - len(kparams))
        self.mean = self.kind in anne_file_int8.MEANS
        if self.mean and mults is None:
            mults = quantize_multiplier(float(self.q[0]) / float(self.out_q[0]), single_rounding=False)
        self.mults = tuple(mults) if self.mean else ()

    @property
    def quant(self):
        return self.q + self.out_q + (1 if self.mean else 0,) + self.act_range + (0.0, 0)

    def data(self, entry):
        return np.asarray(self.mults, "<i4").tobytes()


def add_multipliers(s1, s2, s_out):
    """LiteRT's int8 ADD (and SUB) Prepare: left_shift 20, twice_max = 2 *
    max(s1, s2) (float32, exact), each input's multiplier s_k / twice_max,
    the output's twice_max / (2**20 * s_out), in double, each by
    QuantizeMultiplierSmallerThanOneExp -> the seven requant words."""
    twice_max = 2.0 * max(float(s1), float(s2))
    words = [anne_file_int8.ADD_LEFT_SHIFT]
    for real in (float(s1) / twice_max, float(s2) / twice_max,
                 twice_max / (float(1 << anne_file_int8.ADD_LEFT_SHIFT) * float(s_out))):
        m, shift = quantize_multiplier(real, single_rounding=False)
        if shift > 0:
            raise ValueError("an int8 add's multiplier %r is not below 1: the output scale %r is smaller than "
                             "2**-20 of the inputs'" % (real, s_out))
        words += [m, shift]
    return words


def mul_multipliers(s1, s2, s_out):
    """LiteRT's int8 MUL Prepare: QuantizeMultiplier(s1 * s2 / s_out), the
    product and quotient in float32 (widened after) -> [multiplier, shift]."""
    real = float(np.float32(s1) * np.float32(s2) / np.float32(s_out))
    return list(quantize_multiplier(real, single_rounding=False))


def _op_words(op, q1, q2, out_q):
    if op == anne_ops.LAYER_MULTIPLY:
        return mul_multipliers(q1[0], q2[0], out_q[0])
    if op in (anne_ops.LAYER_ADD, anne_ops.LAYER_SUBTRACT):
        return add_multipliers(q1[0], q2[0], out_q[0])
    return []


class Int8MergeSpec(Int8FlattenSpec):
    """An int8 merge of a graph (kind: add, subtract, multiply on two inputs
    of one shape, TFLite's ADD, SUB, MUL; concatenate on the last axis,
    CONCATENATION, its inputs of the output's quantization): inputs (the
    layers it takes, -1 or 255 the network's input), in_qs each input's
    (scale, zero point), out_q, act_range (the fused activation's clamp).
    words: the requant part (anne_file_int8.requant_words), LiteRT's
    Prepare's unless given."""

    merge = True

    def __init__(self, kind, inputs, in_qs, out_q, act_range=(-128, 127), words=None):
        self.kind = {n: k for k, n in anne_ops.LAYER_NAMES.items()}[kind] if isinstance(kind, str) else kind
        self.inputs = tuple(anne_file.NETWORK_INPUT if j in (-1, anne_file.NETWORK_INPUT) else j for j in inputs)
        self.in_qs = [(f32_value(float(q[0])), int(q[1])) for q in in_qs]
        self.q = self.in_qs[0]
        self.out_q = (f32_value(float(out_q[0])), int(out_q[1]))
        self.act_range = (int(act_range[0]), int(act_range[1]))
        self.out_shape = None
        if words is None:
            words = _op_words(self.kind, self.in_qs[0], self.in_qs[-1], self.out_q)
        self.words = [int(v) for v in words]

    @property
    def quant(self):
        return self.q + self.out_q + (len(self.in_qs),) + self.act_range + (0.0, 0)

    def entry(self, in_shape, in_shapes=None):
        return anne_file.Entry(anne_ops.LINEAR, 0, in_shape, 0, [default_params("linear")[k] for k in PARAM_NAMES],
                               kind=self.kind, dtype=anne_file.DTYPE_INT8, quant=self.quant, inputs=self.inputs,
                               in_shapes=in_shapes or [in_shape] * len(self.inputs))

    def constant(self):
        return b""

    def data(self, entry):
        parts = anne_file_int8.int8_parts(entry)
        out = bytearray(entry.data_size)
        values = {"kernel": self.constant(), "bias": b"", "post": b"",
                  "requant": np.asarray(self.words, "<i4").tobytes(),
                  "scale": b"".join(struct.pack("<fi", s, z) for s, z in self.in_qs)}
        for name, (off, n) in parts.items():
            out[off:off + len(values[name])] = values[name]
        return bytes(out)


class Int8AffineSpec(Int8MergeSpec):
    """An int8 element-wise operation with a constant per-channel operand
    (format: kind affine, its kind parameters stands_for, op, const_first):
    op add, subtract or multiply (LiteRT's ADD, SUB, MUL with a constant
    input, as an unfolded BatchNormalization leaves them); values: the
    constant's int8 values, one per channel (a scalar repeated); const_q
    its (scale, zero point); const_first: the constant is LiteRT's input 1.
    The requant words are LiteRT's for its operand order."""

    merge = False
    kind = anne_ops.LAYER_AFFINE
    has_bias = True

    def __init__(self, op, values, const_q, in_q, out_q, act_range=(-128, 127), const_first=False,
                 stands_for=3, words=None):
        self.op = {n: k for k, n in anne_ops.LAYER_NAMES.items()}[op] if isinstance(op, str) else op
        self.values = np.asarray(values, np.int64).reshape(-1)
        self.const_first = bool(const_first)
        self.kparams = (int(stands_for), self.op, int(self.const_first)) + (0,) * 5
        self.inputs = None
        self.in_qs = [(f32_value(float(in_q[0])), int(in_q[1])), (f32_value(float(const_q[0])), int(const_q[1]))]
        self.q = self.in_qs[0]
        self.out_q = (f32_value(float(out_q[0])), int(out_q[1]))
        self.act_range = (int(act_range[0]), int(act_range[1]))
        self.out_shape = None
        if words is None:
            a, b = self.in_qs[::-1] if const_first else self.in_qs
            words = _op_words(self.op, a, b, self.out_q)
        self.words = [int(v) for v in words]

    @property
    def units(self):
        return len(self.values)

    def entry(self, in_shape, in_shapes=None):
        return anne_file.Entry(anne_ops.LINEAR, FLAG_BIAS, in_shape, self.units,
                               [default_params("linear")[k] for k in PARAM_NAMES], kind=self.kind,
                               kparams=self.kparams, dtype=anne_file.DTYPE_INT8, quant=self.quant)

    def constant(self):
        return self.values.astype("<i1").tobytes()


def read_int8_layer(i, e, data, Layer):
    anne_file_int8.check_int8_data("layer %d: " % i, e, data, e.offset)
    parts = {k: (e.offset + off, n) for k, (off, n) in anne_file_int8.int8_parts(e).items()}
    count = e.quant[4]
    if e.kind in anne_file_int8.ELEMENTWISE:
        layer = Layer(i, e)
        off, n = parts["requant"]
        layer.words = [int(v) for v in np.frombuffer(data, "<i4", n // 4, off)]
        off = parts["scale"][0]
        layer.in_qs = [struct.unpack_from("<fi", data, off + 8 * j) for j in range(count)]
        off, n = parts["kernel"]
        layer.values = np.frombuffer(data, "<i1", n, off).astype(np.int64)
        return layer
    if e.kind not in anne_file.WEIGHTED:     # pooling, flatten, reshape
        layer = Layer(i, e)
        layer.mults = tuple(int(v) for v in np.frombuffer(data, "<i4", 2 * count, parts["requant"][0]))
        return layer
    if e.kind in anne_file_int8.CONVS:
        shape = {anne_ops.LAYER_CONV1D: (e.units, e.kparams[0], e.in_shape[-1]),
                 anne_ops.LAYER_CONV2D: (e.units, e.kparams[0], e.kparams[1], e.in_shape[-1]),
                 anne_ops.LAYER_DEPTHWISE_CONV2D: (e.kparams[0], e.kparams[1], e.units)}[e.kind]
        layer = Layer(i, e, np.frombuffer(data, "<i1", e.kernel_len, parts["kernel"][0]).reshape(shape),
                      np.frombuffer(data, "<i4", e.units, parts["bias"][0]).astype(np.int32))
        words = [int(v) for v in np.frombuffer(data, "<i4", 2 * count, parts["requant"][0])]
        layer.mults = (words[:count], words[count:])
        layer.weight_scales = [float(v) for v in np.frombuffer(data, "<f4", count, parts["scale"][0])]
        return layer
    layer = Layer(i, e, np.frombuffer(data, "<i1", e.units * e.n_in, parts["kernel"][0]).reshape(e.units, e.n_in),
                  np.frombuffer(data, "<i4", e.units, parts["bias"][0]).astype(np.int32))
    layer.scales = [float(v) for v in np.frombuffer(data, "<f8", count, parts["requant"][0])]
    layer.weight_scales = [float(v) for v in np.frombuffer(data, "<f4", count, parts["scale"][0])]
    off, n = parts["post"]
    layer.post = tuple(int(v) for v in np.frombuffer(data, "<i4" if e.act == anne_ops.SOFTMAX else "<i1",
                                                     n // 4 if e.act == anne_ops.SOFTMAX else n, off))
    return layer


