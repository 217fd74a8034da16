"""Host-side reader and writer of `.anne` weight files.

The format (docs/FORMAT.md, versions 1 to 3) is parsed and laid out by
micropython/anne_file.py, the codec the board runs too; this module adds
numpy arrays of the weights, the reference forward pass (Model.forward, from
tools/anne_reference.py) and a summary. The table of bad files for the tests
is tools/anne_badfiles.py. Used by tools/anne_convert.py (writing, --summary,
--check) and by the host tests; needs only numpy and the standard library.

    import anne_format as af
    model = af.load("iris3.anne")           # parse + validate, ValueError if bad
    y = model.forward(x)                    # numpy float32 reference pass
    data = af.encode(n_inputs, [af.LayerSpec("relu", kernel, bias), ...],
                     metadata={"classes": ["setosa", ...]})

Every ValueError message of `parse` starts with one of the fragments in
`FRAGMENTS` (after "layer N: " for a layer). Validation order (matters only
for truncated files, which also lose their CRC): header, layer table, each
layer's entry and data extent, metadata, CRC, weight finiteness.
"""

import binascii
import os
import struct
import sys

import numpy as np

from anne_reference import activate, canonical_activation, default_params, f32 as _f32  # noqa: E402,F401

# The codec and the op tables (ops/ops.json), as the board runs them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "micropython"))
import anne_file  # noqa: E402
import anne_file_int8  # noqa: E402
import anne_ops  # noqa: E402
from anne_format_int8 import (Int8AffineSpec, Int8Conv1DSpec, Int8Conv2DSpec, Int8DenseSpec,  # noqa: E402,F401
                              Int8DepthwiseSpec, Int8FlattenSpec, Int8MergeSpec, Int8PoolSpec,
                              f32_value, quantize_multiplier, read_int8_layer, real_multiplier)
import anne_int8_act  # noqa: E402
from anne_file import (FLAG_APPROXIMATE, FLAG_BIAS, FLAG_MAX_VALUE, FRAGMENTS,  # noqa: E402,F401
                       KIND_DENSE, MAX_DIM as MAX_UNITS, MAX_LAYERS, MAX_METADATA, VERSION)

HEADER_SIZE = anne_file.HEADER_SIZE[VERSION]
ENTRY_SIZE = anne_file.ENTRY_SIZE[VERSION]

ACTIVATIONS = anne_ops.ACTIVATIONS  # index == id
ACTIVATION_IDS = {name: i for i, name in enumerate(ACTIVATIONS)}
ALIASES = {alias: ACTIVATIONS[i] for alias, i in anne_ops.ALIASES.items()}

# The six stored parameters, in file order.
PARAM_NAMES = anne_ops.FILE_PARAMS

# Which stored parameters each activation reads (others are ignored).
USED_PARAMS = {name: tuple(k for k in d if k in PARAM_NAMES)
               for name, d in anne_ops.DEFAULTS.items() if any(k in PARAM_NAMES for k in d)}


KIND_IDS = {name: kind for kind, name in anne_file.KIND_NAMES.items()}
from anne_core import PADDINGS  # noqa: E402,F401


class LayerSpec:
    """One layer to encode. Dense (the default kind): kernel n_in x units
    (Keras layout), bias units values or None. conv1d: kernel kernel_size x
    in_channels x filters (Keras layout), kparams (kernel_size, strides,
    padding code, dilation). Pooling: kernel None, kparams (pool_size,
    strides, padding code); global pooling and flatten: no kparams; reshape:
    out_shape. params: overrides of default_params(). inputs (version 3):
    the indices of the layers it takes (-1 or 255: the network's input;
    None: the layer before), e.g. kind="add", inputs=(0, 2)."""

    def __init__(self, activation, kernel=None, bias=None, params=None,
                 has_max_value=False, approximate=False, kind="dense", kparams=(), out_shape=None, inputs=None):
        self.kind = KIND_IDS[kind] if isinstance(kind, str) else kind
        self.inputs = None if inputs is None else tuple(
            anne_file.NETWORK_INPUT if j in (-1, anne_file.NETWORK_INPUT) else j for j in inputs)
        self.activation = canonical_activation(activation)
        self.kernel = None if kernel is None else _f32(kernel)
        self.bias = None if bias is None else _f32(bias)
        self.params = default_params(self.activation)
        if params:
            unknown = set(params) - set(PARAM_NAMES)
            if unknown:
                raise ValueError("unknown activation parameters %s"
                                 % sorted(unknown))
            self.params.update(params)
        self.has_max_value = bool(has_max_value)
        self.approximate = bool(approximate)
        self.kparams = tuple(kparams) + (0,) * (8 - len(kparams))
        self.out_shape = out_shape

    @property
    def units(self):
        if self.kernel is None or self.kind not in anne_file.STORED:
            return 0
        return self.kernel.shape[-1] if self.kernel.ndim >= 1 else 0

    def entry(self, in_shape, in_shapes=None):
        flags = ((FLAG_BIAS if self.bias is not None else 0)
                 | (FLAG_MAX_VALUE if self.has_max_value else 0)
                 | (FLAG_APPROXIMATE if self.approximate else 0))
        return anne_file.Entry(ACTIVATION_IDS[self.activation], flags, in_shape, self.units,
                               [self.params[k] for k in PARAM_NAMES], kind=self.kind,
                               kparams=self.kparams, out_shape=self.out_shape, inputs=self.inputs,
                               in_shapes=in_shapes)

    def expected_kernel(self, in_shape):
        """The kernel shape this layer needs on in_shape (None: no kernel;
        the registry's weights, as the file stores them)."""
        return anne_file.kernel_shape(self.kind, in_shape, self.units, self.kparams) or None


INT8_SPECS = (Int8DenseSpec, Int8FlattenSpec)


def encode(n_inputs, layers, check=True, metadata=None, version=VERSION):
    """Returns the bytes of a `.anne` file (version 2 unless told 1, which
    has no metadata and only dense layers, or 3). n_inputs: the input size,
    or the input shape ((n,), (steps, channels) or, version 3, (h, w, c)). check=False skips
    validation (only for building deliberately bad files)."""
    in_shape = (n_inputs,) if isinstance(n_inputs, int) else tuple(n_inputs)
    entries = []
    shape = in_shape
    if check:
        if not 1 <= len(layers) <= MAX_LAYERS:
            raise ValueError("%s: %d" % (FRAGMENTS["layer_count"], len(layers)))
        if not all(1 <= d <= MAX_UNITS for d in in_shape) or not 1 <= len(in_shape) <= (3 if version >= 3 else 2):
            raise ValueError("%s: %s" % (FRAGMENTS["n_inputs"], in_shape))
    for i, l in enumerate(layers):
        in_shapes = None
        if getattr(l, "inputs", None) is not None:   # a graph's layer: its inputs' shapes
            if check and any(j != anne_file.NETWORK_INPUT and not 0 <= j < i for j in l.inputs):
                raise ValueError("layer %d: %s: %s (an input is an earlier layer, or -1 for the network's)"
                                 % (i, FRAGMENTS["inputs"], l.inputs))
            in_shapes = [in_shape if j == anne_file.NETWORK_INPUT or j >= i else entries[j].out_shape
                         for j in l.inputs]
            shape = in_shapes[0]
        if isinstance(l, Int8Conv1DSpec):
            rank = 2 if l.kind == anne_ops.LAYER_CONV1D else 3
            if check and (len(shape) != rank or l.kernel.shape != l.expected_kernel(shape)):
                raise ValueError("layer %d: int8 %s kernel shape %s, expected %s on input %s"
                                 % (i, anne_ops.LAYER_NAMES[l.kind], l.kernel.shape, l.expected_kernel(shape)
                                    if len(shape) == rank else "a (steps, channels) or (height, width, "
                                    "channels) input", shape))
        elif isinstance(l, Int8DenseSpec):
            if check:
                if l.kernel.ndim != 2 or l.kernel.shape[1] != anne_file.size_of(shape) or len(shape) != 1:
                    raise ValueError("layer %d: int8 kernel shape %s, expected (units, %d) on input %s"
                                     % (i, l.kernel.shape, anne_file.size_of(shape), shape))
        if isinstance(l, Int8DenseSpec):
            if check:
                if l.kernel.size and (l.kernel.min() < -128 or l.kernel.max() > 127):
                    raise ValueError("layer %d: int8 kernel values %d..%d (-128..127)"
                                     % (i, l.kernel.min(), l.kernel.max()))
                if l.bias.shape != (l.units,) or np.any(np.abs(l.bias) > 0x7FFFFFFF):
                    raise ValueError("layer %d: int8 bias: %d int32 values expected" % (i, l.units))
                if len(l.scales) != len(l.weight_scales):
                    raise ValueError("layer %d: %d requantization scales for %d weight scales"
                                     % (i, len(l.scales), len(l.weight_scales)))
        if isinstance(l, INT8_SPECS):
            entries.append(l.entry(shape, in_shapes) if getattr(l, "merge", False) else l.entry(shape))
            if getattr(l, "inputs", None) is not None:
                entries[-1].inputs = tuple(l.inputs)
            if check:
                anne_file_int8.check_int8_data("layer %d: " % i, entries[-1], l.data(entries[-1]))
                if getattr(l, "merge", False):     # each input's quantization its layer's output's
                    anne_file_int8.check_operands("layer %d: " % i, entries[-1], l.data(entries[-1]), 0, [
                        None if j == anne_file.NETWORK_INPUT or j >= i or entries[j].quant is None
                        else anne_file_int8.int8_output(entries[j]) for j in l.inputs])
            shape = entries[-1].out_shape
            continue
        if check:
            want = l.expected_kernel(shape) if l.kind in anne_file.STORED else None
            units = l.units
            got = None if l.kernel is None else l.kernel.shape
            rank = anne_file.input_rank(l.kind)   # (another rank: the entry says why not)
            if l.kind in anne_file.STORED and (rank is None or len(shape) == rank) and got != want:
                raise ValueError("layer %d: kernel shape %s, expected %s" % (i, got, want))
            if l.kind in anne_file.STORED and not 1 <= units <= MAX_UNITS:
                raise ValueError("layer %d: %s: %d" % (i, FRAGMENTS["units"], units))
            if l.bias is not None and l.bias.shape != (units,):
                raise ValueError("layer %d: bias shape %s, expected (%d,)"
                                 % (i, l.bias.shape, units))
            if halves(l.activation) and units % 2:
                raise ValueError("layer %d: %s: %d" % (i, FRAGMENTS["glu"], units))
            for arr in (l.kernel, l.bias, np.array([l.params[k] for k in PARAM_NAMES])):
                if arr is not None and not np.all(np.isfinite(_f32(arr))):
                    raise ValueError("layer %d: weights or parameters %s"
                                     % (i, FRAGMENTS["finite"]))
            try:
                entries.append(l.entry(shape, in_shapes))
            except ValueError as err:
                raise ValueError("layer %d: %s" % (i, err))
        else:
            entries.append(l.entry(shape, in_shapes))
        shape = entries[-1].out_shape
    out = bytearray(anne_file.front(in_shape, entries, metadata, version, check))
    for l, e in zip(layers, entries):
        if isinstance(l, INT8_SPECS):
            out += l.data(e)
            continue
        if l.kernel is not None:
            out += l.kernel.astype("<f4").tobytes()
        if l.bias is not None:
            out += l.bias.astype("<f4").tobytes()
    out += struct.pack("<I", binascii.crc32(bytes(out)) & 0xFFFFFFFF)
    return bytes(out)


def halves(activation):
    """True for activations whose n inputs give n // 2 outputs (glu)."""
    return ACTIVATION_IDS[canonical_activation(activation)] in anne_ops.HALVES


def layer_output_size(activation, units):
    return units // 2 if halves(activation) else units


class Layer:
    """A parsed layer: its anne_file.Entry's fields, the numpy kernel (dense:
    n_in x units; conv1d: kernel_size x in_channels x filters) and bias."""

    def __init__(self, index, entry, kernel=None, bias=None):
        self.index = index
        self.kind = entry.kind
        self.kind_name = entry.kind_name
        self.activation_id = entry.act
        self.activation = entry.activation
        self.flags = entry.flags
        self.units = entry.units
        self.in_shape = entry.in_shape
        self.out_shape = entry.out_shape
        self.n_in = entry.n_in
        self.n_out = entry.n_out
        self.kparams = entry.kparams
        self.data_offset = entry.offset
        self.n_params = entry.n_params
        self.data_size = entry.data_size
        self.params = dict(zip(PARAM_NAMES, entry.params))
        self.kernel = kernel
        self.bias = bias
        self.dtype = entry.dtype_name
        self.quant = entry.quant      # int8: anne_file.Entry's quant
        self.act = entry.act
        self.scales = self.weight_scales = None
        self.post = ()
        self.inputs = entry.inputs    # version 3: the layers it takes (255: the network's input)
        self.in_shapes = getattr(entry, "in_shapes", None)    # a merge's inputs' shapes

    has_bias = property(lambda self: bool(self.flags & FLAG_BIAS))
    has_max_value = property(lambda self: bool(self.flags & FLAG_MAX_VALUE))
    approximate = property(lambda self: bool(self.flags & FLAG_APPROXIMATE))

    def activation_text(self):
        """'relu(negative_slope=0.1, threshold=0.5, max_value=6)' style."""
        if self.kind not in anne_file.WEIGHTED and self.kind not in anne_file.MERGES:
            return ""
        used = USED_PARAMS.get(self.activation, ())
        parts = []
        for k in used:
            if k == "max_value" and not self.has_max_value:
                continue
            v = self.params[k]
            if self.activation == "relu" and k != "max_value" and v == 0:
                continue
            parts.append("%s=%.7g" % (k, v))
        if self.activation == "gelu" and self.approximate:
            parts.append("approximate=True")
        return self.activation + ("(%s)" % ", ".join(parts) if parts else "")

    def options_text(self):
        """The kind's parameters, Keras's names, from the registry's slots: a
        choice by its name, a pair as RxC, the sides as Keras's ((top,
        bottom), (left, right)); an affine layer the Keras layer it stands for."""
        kp = self.kparams
        if self.kind == anne_ops.LAYER_AFFINE:
            return "(%s)" % anne_file.AFFINE_CODES[kp[0]]
        words = []
        for j, (name, _, _, values) in enumerate(anne_ops.LAYER_PARAMS.get(self.kind, ())):
            base, _, axis = name.rpartition("_")
            if axis in ("w", "bottom", "left", "right"):
                continue   # (with its _h or _top)
            if axis == "h":
                words.append("%s=%dx%d" % (base, kp[j], kp[j + 1]))
            elif axis == "top":
                words.append("%s=((%d, %d), (%d, %d))" % ((base,) + tuple(kp[j:j + 4])))
            else:
                words.append("%s=%s" % (name, values[kp[j]] if values else kp[j]))
        return " ".join(words)

    def spec(self):
        if self.dtype == "int8" and self.kind in anne_file_int8.CONVS:
            q = self.quant
            cls = {anne_ops.LAYER_CONV1D: Int8Conv1DSpec, anne_ops.LAYER_CONV2D: Int8Conv2DSpec,
                   anne_ops.LAYER_DEPTHWISE_CONV2D: Int8DepthwiseSpec}[self.kind]
            return cls(self.kernel, self.bias if self.has_bias else None, self.weight_scales,
                       q[0:2], q[2:4], q[5:7], self.kparams, self.mults)
        if self.dtype == "int8" and self.kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
            return Int8FlattenSpec(self.quant[0:2], self.out_shape if self.kind == anne_ops.LAYER_RESHAPE else None)
        if self.dtype == "int8" and self.kind not in anne_file.WEIGHTED:
            q = self.quant
            return Int8PoolSpec(self.kind, q[0:2], q[2:4], q[5:7], self.kparams, self.mults or None)
        if self.dtype == "int8":
            q = self.quant
            return Int8DenseSpec(self.kernel, self.bias if self.has_bias else None, self.weight_scales,
                                 q[0:2], q[2:4], q[5:7], self.scales, self.activation, q[7:9], self.post)
        return LayerSpec(self.activation, self.kernel, self.bias,
                         dict(self.params), self.has_max_value, self.approximate,
                         self.kind, self.kparams, self.out_shape if self.kind == anne_ops.LAYER_RESHAPE else None)

    def forward_int8(self, xq):
        """This int8 layer on xq (batch, n_in) int8 -> (batch, units) int8,
        as LiteRT's reference FULLY_CONNECTED computes it: the int32
        accumulator (wrapping), `(int32_t)round((double)acc * scale[j])` in
        float64 (round: half away from zero; out of int32, INT32_MIN as the
        conversion gives on x86-64), plus the output zero point (wrapping),
        clamped."""
        in_scale, in_zp, out_scale, out_zp, count, lo, hi = self.quant[:7]
        if self.kind in anne_file_int8.ELEMENTWISE:   # a merge: xq is the list of its inputs
            import anne_int8_ref
            return anne_int8_ref.elementwise(self, xq if self.kind in anne_file.MERGES else [xq])
        if self.kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
            return np.asarray(xq, np.int8).reshape(len(xq), -1)
        if self.kind in anne_file.IMAGE_KINDS:
            import anne_int8_ref
            x = np.asarray(xq, np.int64).reshape((len(xq),) + tuple(self.in_shape))
            return (anne_int8_ref.conv2d if self.kind in anne_file_int8.CONVS else anne_int8_ref.pool2d)(self, x)
        if self.kind not in anne_file.WEIGHTED:
            import anne_int8_ref
            return anne_int8_ref.pool1d(self, np.asarray(xq, np.int64).reshape((len(xq),) + tuple(self.in_shape)))
        if self.kind == anne_ops.LAYER_CONV1D:
            import anne_int8_ref
            return anne_int8_ref.conv1d(self, np.asarray(xq, np.int64).reshape((len(xq),) + tuple(self.in_shape)))
        acc = (np.asarray(xq, np.int64) - in_zp) @ self.kernel.astype(np.int64).T + self.bias.astype(np.int64)
        acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.float64)      # int32, wrapping; exact in float64
        scale = np.array(self.scales if count > 1 else self.scales * self.units, np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            p = acc * scale                                 # the C++'s double product
            r = np.trunc(p)
            r = r + np.where(np.abs(p - r) >= 0.5, np.sign(p), 0.0)   # round(): half away from zero (p - r exact)
            ok = np.abs(r) < 2.0**31
        y = np.where(ok, np.where(ok, r, 0.0).astype(np.int64), -2**31)
        y = (y + out_zp + 2**31) % 2**32 - 2**31                     # + output_offset, wrapping
        y = np.clip(y, lo, hi)
        if self.activation == "softmax":
            y = np.array([anne_int8_act.softmax([int(v) for v in row], self.post) for row in y])
        elif self.activation != "linear":
            y = np.asarray(self.post)[y & 0xFF]
        return y.astype(np.int8)

    def forward(self, x):
        """This layer on x: (batch,) + in_shape float32 -> (batch,) + out_shape
        (a merge: x is the list of its inputs)."""
        if self.kind in anne_file.MERGES:   # then its activation (element-wise), as Keras's Add + ReLU
            return activate(self.activation, merge(self.kind, [_f32(v) for v in x]), self.params,
                            self.has_max_value, self.approximate)
        if self.dtype == "int8":   # float in and out: quantize, run int8, dequantize
            return dequantize(self.forward_int8(quantize(x.reshape(x.shape[0], -1), self.quant[0:2])),
                              anne_file_int8.int8_output(self))
        x = _f32(x)
        if self.kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
            return x.reshape((x.shape[0],) + tuple(self.out_shape))
        if self.kind == anne_ops.LAYER_AFFINE:
            return _f32(x * self.kernel + self.bias)
        if self.kind in anne_file.GLOBAL_POOLS:
            axes = tuple(range(1, x.ndim - 1))  # steps, or height and width
            return (x.mean(axis=axes) if self.kind in (
                anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D)
                else x.max(axis=axes))
        if self.kind in anne_file.POOLS:
            return _pool(x, self.kparams, self.kind == anne_ops.LAYER_MAX_POOLING1D, self.out_shape[0])
        if self.kind == anne_ops.LAYER_ZERO_PADDING2D:
            t, b, l, r = self.kparams[:4]
            return _f32(np.pad(x, ((0, 0), (t, b), (l, r), (0, 0))))
        if self.kind == anne_ops.LAYER_UP_SAMPLING1D:
            return np.repeat(x, self.kparams[0], axis=1)
        if self.kind in (anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D):
            return _pool2d(x, self.kparams, self.kind == anne_ops.LAYER_MAX_POOLING2D, self.out_shape)
        if self.kind == anne_ops.LAYER_CONV1D:
            z = _conv1d(x, self.kernel, self.kparams, self.out_shape[0])
        elif self.kind == anne_ops.LAYER_CONV2D:
            z = _conv2d(x, self.kernel, self.kparams, self.out_shape)
        elif self.kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
            z = _depthwise2d(x, self.kernel, self.kparams, self.out_shape)
        else:
            z = x @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        return activate(self.activation, z, self.params,
                        self.has_max_value, self.approximate)


def merge(kind, xs):
    """A merge layer (Keras's Add, Subtract, Multiply, Average, Maximum,
    Minimum, Concatenate on the last axis) in float32, in Keras's order:
    the first input, then each next one in turn (Average divides the sum by
    their count)."""
    if kind == anne_ops.LAYER_CONCATENATE:
        return np.concatenate(xs, axis=-1)
    y = xs[0]
    for v in xs[1:]:
        y = _f32({anne_ops.LAYER_ADD: np.add, anne_ops.LAYER_AVERAGE: np.add, anne_ops.LAYER_SUBTRACT: np.subtract,
                  anne_ops.LAYER_MULTIPLY: np.multiply, anne_ops.LAYER_MAXIMUM: np.maximum,
                  anne_ops.LAYER_MINIMUM: np.minimum}[kind](y, v))
    return _f32(y / np.float32(len(xs))) if kind == anne_ops.LAYER_AVERAGE else y


def quantize(x, q):
    """TFLite's QUANTIZE (reference, float input): clamp(round_half_away(x /
    scale) + zero_point, -128, 127), x / scale in float32."""
    scale, zp = q
    v = _f32(x) / np.float32(scale)
    a = np.abs(v)
    r = np.floor(a)
    r = np.sign(v) * (r + (a - r >= 0.5))     # a - floor(a) is exact: no double rounding
    return np.clip(r.astype(np.int64) + zp, -128, 127).astype(np.int8)


def dequantize(q, qp):
    """TFLite's DEQUANTIZE: (q - zero_point) * scale, float32."""
    return _f32((np.asarray(q, np.int64) - qp[1]).astype(np.float32) * np.float32(qp[0]))


def _windows(steps, n_out, window, strides, padding, dilation=1, taps=1):
    """Per output step, the input step of each tap (-1 where it falls in
    the padding): Keras's (TensorFlow's) padding rules, written out."""
    if padding == 0:
        before = 0
    elif padding == 2:
        before = window - 1
    else:
        before = max((n_out - 1) * strides + window - steps, 0) // 2
    idx = np.array([[t * strides + k * dilation - before for k in range(taps)] for t in range(n_out)])
    return np.where((idx >= 0) & (idx < steps), idx, -1)


def _conv1d(x, kernel, kp, n_out):
    """x (batch, steps, c) * kernel (k, c, f) -> (batch, n_out, f), in float64."""
    k, strides, padding, dilation = kp[:4]
    steps = x.shape[1]
    idx = _windows(steps, n_out, (k - 1) * dilation + 1, strides, padding, dilation, k)
    padded = np.concatenate([x, np.zeros_like(x[:, :1])], axis=1).astype(np.float64)
    cols = padded[:, idx, :]  # (batch, n_out, k, c); index -1 is the zero row
    return _f32(np.einsum("btkc,kcf->btf", cols, kernel.astype(np.float64)))


def _pool(x, kp, is_max, n_out):
    size, strides, padding = kp[:3]
    idx = _windows(x.shape[1], n_out, size, strides, padding, 1, size)
    cols = x[:, np.maximum(idx, 0), :].astype(np.float64)  # (batch, n_out, size, c)
    valid = (idx >= 0)[None, :, :, None]
    if is_max:
        return _f32(np.where(valid, cols, -np.inf).max(axis=2))
    return _f32(np.where(valid, cols, 0.0).sum(axis=2) / valid.sum(axis=2))


def _taps2d(x, kp, out_shape, dilation):
    """x (batch, h, w, c) -> its windows (batch, oh, ow, kh, kw, c) in
    float64 and where they are in range (oh, ow, kh, kw): the 1-D windows
    per axis."""
    (kh, kw, sh, sw, padding), (dh, dw) = kp[:5], dilation
    rows = _windows(x.shape[1], out_shape[0], (kh - 1) * dh + 1, sh, padding, dh, kh)
    cols = _windows(x.shape[2], out_shape[1], (kw - 1) * dw + 1, sw, padding, dw, kw)
    taps = x.astype(np.float64)[:, np.maximum(rows, 0)[:, None, :, None], np.maximum(cols, 0)[None, :, None, :], :]
    valid = (rows >= 0)[:, None, :, None] & (cols >= 0)[None, :, None, :]
    return taps, valid


def _conv2d(x, kernel, kp, out_shape):
    """x (batch, h, w, c) * kernel (kh, kw, c, f) -> (batch, oh, ow, f), in
    float64 (kp: kernel_h, kernel_w, strides_h, strides_w, padding,
    dilation_h, dilation_w)."""
    taps, valid = _taps2d(x, kp, out_shape, kp[5:7])
    taps = np.where(valid[None, :, :, :, :, None], taps, 0.0)
    return _f32(np.einsum("byxklc,klcf->byxf", taps, kernel.astype(np.float64)))


def _depthwise2d(x, kernel, kp, out_shape):
    """x (batch, h, w, c) * kernel (kh, kw, c * m) -> (batch, oh, ow, c * m),
    output channel c * m + j reading channel c, in float64 (kp: kernel_h,
    kernel_w, strides_h, strides_w, padding, depth_multiplier m,
    dilation_h, dilation_w)."""
    taps, valid = _taps2d(x, kp, out_shape, kp[6:8])
    taps = np.where(valid[None, :, :, :, :, None], taps, 0.0)[..., np.repeat(np.arange(x.shape[3]), kp[5])]
    return _f32(np.einsum("byxklf,klf->byxf", taps, kernel.astype(np.float64)))


def _pool2d(x, kp, is_max, out_shape):
    """2-D pooling over the positions in range (kp: pool_h, pool_w,
    strides_h, strides_w, padding)."""
    taps, valid = _taps2d(x, kp, out_shape, (1, 1))
    valid = valid[None, :, :, :, :, None]
    if is_max:
        return _f32(np.where(valid, taps, -np.inf).max(axis=(3, 4)))
    return _f32(np.where(valid, taps, 0.0).sum(axis=(3, 4)) / valid.sum(axis=(3, 4)))


class Model:
    def __init__(self, head, layers, metadata, size):
        self.version = head.version
        self.header_size = head.header_size
        self.entry_size = head.entry_size
        self.input_shape = head.in_shape
        self.n_inputs = anne_file.size_of(head.in_shape)
        self.layers = layers
        self.metadata = metadata
        self.size = size

    @property
    def n_outputs(self):
        return self.layers[-1].n_out

    @property
    def dtype(self):
        return self.layers[0].dtype

    @property
    def input_quantization(self):
        """(scale, zero point) of an int8 network's input; None for float32."""
        return self.layers[0].quant[0:2] if self.dtype == "int8" else None

    @property
    def output_quantization(self):
        return anne_file_int8.int8_output(self.layers[-1]) if self.dtype == "int8" else None

    def forward_int8(self, xq):
        """An int8 network on int8 inputs xq (batch, n_inputs) -> int8 outputs."""
        y = np.asarray(xq).reshape((-1, self.n_inputs))
        outs = {anne_file.NETWORK_INPUT: y}
        for i, l in enumerate(self.layers):
            ins = l.inputs or (i - 1 if i else anne_file.NETWORK_INPUT,)
            y = l.forward_int8([outs[j] for j in ins] if l.kind in anne_file.MERGES else outs[ins[0]])
            outs[i] = y
        return y

    @property
    def n_params(self):
        return sum(l.n_params for l in self.layers)

    def forward(self, x):
        """float32 reference forward pass; x: one sample or a batch, each
        sample n_inputs values (flat, row-major) or input_shape -> (n_out,)
        or (batch, n_out)."""
        y = _f32(x)
        single = y.ndim == 1 or (y.ndim == len(self.input_shape) and y.shape == tuple(self.input_shape)
                                 and len(self.input_shape) == 2)
        y = y.reshape((1 if single else y.shape[0], -1))
        if y.shape[-1] != self.n_inputs:
            raise ValueError("input has %d features, the model expects %d"
                             % (y.shape[-1], self.n_inputs))
        y = y.reshape((y.shape[0],) + tuple(self.input_shape))
        outs = {anne_file.NETWORK_INPUT: y}
        for i, l in enumerate(self.layers):
            ins = l.inputs or (i - 1 if i else anne_file.NETWORK_INPUT,)
            y = l.forward([outs[j] for j in ins] if l.kind in anne_file.MERGES else outs[ins[0]])
            outs[i] = y
        y = y.reshape((y.shape[0], -1))
        return y[0] if single else y

    def summary(self, title=None):
        rows = [("#", "layer", "in", "units", "out", "activation", "params",
                 "bytes")]
        for l in self.layers:
            options = l.options_text()
            rows.append((str(l.index), l.kind_name + ("" if l.has_bias or l.kind not in anne_file.WEIGHTED
                                                      else " (no bias)") + (" " + options if options else ""),
                         _dims(l.in_shape), str(l.units) if l.units else "-", _dims(l.out_shape),
                         l.activation_text() if l.dtype != "int8" else "clamp %d..%d%s" % (
                             l.quant[5:7] + ("" if l.activation == "linear" else ", " + l.activation,)),
                         str(l.n_params), str(l.data_size)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        if title:
            lines.append(title)
        for j, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) if i in (1, 5) else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip())
            if j == 0:
                lines.append("-" * len(lines[-1]))
        data = sum(l.data_size for l in self.layers)
        for l in self.layers:
            if l.inputs is not None and l.inputs != ((l.index - 1 if l.index else anne_file.NETWORK_INPUT),):
                lines.append("layer %d takes %s" % (l.index, ", ".join(
                    "input" if j == anne_file.NETWORK_INPUT else str(j) for j in l.inputs)))
        lines.append("inputs %s, outputs %d, %d parameters, %d bytes of %s data, "
                     "file %d bytes (version %d)" % (_dims(self.input_shape), self.n_outputs, self.n_params,
                                                     data, self.dtype, self.size, self.version))
        if self.dtype == "int8":
            lines.append("dtype int8: input scale %.9g zero point %d, output scale %.9g zero point %d"
                         % (self.input_quantization + self.output_quantization))
            for l in self.layers:
                q = l.quant
                ws = l.weight_scales
                if not ws:   # flatten, reshape
                    continue
                lines.append("  layer %d: in %.9g/%d, out %.9g/%d, weight scales %s%s" % (
                    l.index, q[0], q[1], q[2], q[3], "%.9g (per tensor)" % ws[0] if q[4] == 1
                    else "%d per channel, %.9g..%.9g" % (q[4], min(ws), max(ws)),
                    "" if l.activation == "linear" else ", %s out %.9g/%d" % ((l.activation,) + q[7:9])))
        for k, v in self.metadata.items():
            if k == "folded_before":  # (numbers for the board's edits)
                v = "the inputs' normalization of layer %s, kept for edits on the board" % ", ".join(
                    item.split(":")[0] for item in v.split("; "))
            lines.append("%s: %s" % (k, ", ".join(v) if isinstance(v, list) else v))
        return "\n".join(lines)


def _dims(shape):
    return "x".join(str(d) for d in shape)


def parse(data):
    """Parses and validates a `.anne` file (version 1, 2 or 3) with the board's
    codec; raises ValueError (message starts with a FRAGMENTS value) if the
    format refuses it."""
    data = bytes(data)
    size = len(data)
    head = anne_file.parse_head(data[:32], size)
    entries = anne_file.parse_entries(data, head, size)
    metadata = anne_file.parse_metadata(data, head)
    stored = struct.unpack_from("<I", data, size - 4)[0]
    computed = binascii.crc32(data[:-4]) & 0xFFFFFFFF
    if stored != computed:
        raise ValueError("%s: stored 0x%08x, computed 0x%08x"
                         % (FRAGMENTS["crc"], stored, computed))
    layers = []
    for i, e in enumerate(entries):
        if e.dtype == anne_file.DTYPE_INT8:
            layers.append(read_int8_layer(i, e, data, Layer))
            if e.kind in anne_file.MERGES:     # each input its layer's output quantization
                anne_file_int8.check_sources(i, layers[i].in_qs, e.inputs,
                                             [anne_file_int8.int8_output(x) for x in entries], entries[0].quant[:2])
            continue
        n_k = e.kernel_len
        kernel = None
        if e.kind == KIND_DENSE:
            kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32).reshape(e.n_in, e.units)
        elif e.kind == anne_ops.LAYER_AFFINE:
            kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32)
        elif e.kind == anne_ops.LAYER_CONV1D:
            kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32).reshape(
                e.kparams[0], e.in_shape[1], e.units)
        elif e.kind == anne_ops.LAYER_CONV2D:
            kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32).reshape(
                e.kparams[0], e.kparams[1], e.in_shape[2], e.units)
        elif e.kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
            kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32).reshape(
                e.kparams[0], e.kparams[1], e.units)
        bias = None
        if e.has_bias:
            bias = np.frombuffer(data, "<f4", e.units, e.offset + 4 * n_k).astype(np.float32)
        if not ((kernel is None or np.all(np.isfinite(kernel))) and (bias is None or np.all(np.isfinite(bias)))):
            raise ValueError("layer %d: weights %s" % (i, FRAGMENTS["finite"]))
        layers.append(Layer(i, e, kernel, bias))
    return Model(head, layers, metadata, size)


def load(path):
    with open(path, "rb") as f:
        return parse(f.read())
