# anne_int8_conv2d: the int8 2-D layers (docs/int8.md), imported when a
# file or a layer tuple has one: Conv2D and DepthwiseConv2D (LiteRT's
# reference CONV_2D and DEPTHWISE_CONV_2D: per-channel Q31 multipliers
# requantized with gemmlowp's double rounding), the 2-D poolings
# (MAX/AVERAGE_POOL_2D; MEAN and REDUCE_MAX over height and width) and
# ZeroPadding2D (TFLite's PAD: the zero point). For anne_fallback, their
# kernels in plain Python ints, bit for bit the native ones
# (src/layers/conv2d_s8.rs, depthwise2d_s8.rs, pool2d_s8.rs, pad2d.rs);
# the rest of an int8 chain runs in anne_int8_conv.

import anne_ops
from anne_core import PADDINGS
from anne_conv2d import Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D
from anne_depthwise2d import DepthwiseConv2D, ZeroPadding2D
import anne_int8
import anne_int8_conv
from anne_int8 import _bad_quant
from anne_int8_conv import _Int8Conv, _Int8Pool, out_steps, requantize, _out_size
from anne_int8_act import _i32


class Conv2DInt8(_Int8Conv, Conv2D):
    _float = Conv2D

    def __init__(self, entry):
        kp = entry.kparams
        Conv2D.__init__(self, entry.units, kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5:7], "linear", True)
        self._init_quant(entry)


class DepthwiseConv2DInt8(_Int8Conv, DepthwiseConv2D):
    _float = DepthwiseConv2D
    _filters = False

    def __init__(self, entry):
        kp = entry.kparams
        DepthwiseConv2D.__init__(self, kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5], kp[6:8], "linear", True)
        self._init_quant(entry)

    def _rows(self):
        return self._ks[0] * self._ks[1]


class MaxPooling2DInt8(_Int8Pool, MaxPooling2D):
    _float = MaxPooling2D


class AveragePooling2DInt8(_Int8Pool, AveragePooling2D):
    _float = AveragePooling2D


class GlobalAveragePooling2DInt8(_Int8Pool, GlobalAveragePooling2D):
    _float = GlobalAveragePooling2D


class GlobalMaxPooling2DInt8(_Int8Pool, GlobalMaxPooling2D):
    _float = GlobalMaxPooling2D


class ZeroPadding2DInt8(_Int8Pool, ZeroPadding2D):
    """ZeroPadding2D in an int8 network: TFLite's PAD, the added rows and
    columns the zero point (the value that stands for 0.0)."""
    _float = ZeroPadding2D


def make_layer(entry):
    """The board layer of an int8 entry of a 2-D kind."""
    kind, kp = entry.kind, entry.kparams
    if kind == anne_ops.LAYER_CONV2D:
        return Conv2DInt8(entry)
    if kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        return DepthwiseConv2DInt8(entry)
    if kind == anne_ops.LAYER_ZERO_PADDING2D:
        return ZeroPadding2DInt8((kp[0:2], kp[2:4]))._init_int8(entry)
    if kind in (anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D):
        cls = MaxPooling2DInt8 if kind == anne_ops.LAYER_MAX_POOLING2D else AveragePooling2DInt8
        return cls(kp[0:2], kp[2:4], PADDINGS[kp[4]])._init_int8(entry)
    if kind == anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D:
        return GlobalAveragePooling2DInt8()._init_int8(entry)
    return GlobalMaxPooling2DInt8()._init_int8(entry)


# ---------------------------------------------------------------------------
# The int8 2-D layers in plain Python (Plan: anne_fallback's for a chain
# with one)

_CONVS = (anne_ops.LAYER_CONV2D, anne_ops.LAYER_DEPTHWISE_CONV2D)
_SHAPING = (anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D, anne_ops.LAYER_ZERO_PADDING2D)
# the global poolings over height x width: the 1-D ones over the positions
_GLOBAL = {anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D: anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D,
           anne_ops.LAYER_GLOBAL_MAX_POOLING2D: anne_ops.LAYER_GLOBAL_MAX_POOLING1D}


def _decode(i, layer):
    """Layer i's tuple decoded for _run: ("conv2d" or "depthwise", kernel,
    bias, (multipliers, shifts), in_off, out_off, act_min, act_max, spec),
    ("shaping", spec, in_off, out_off, act_min, act_max), or what
    anne_int8_conv decodes (the global poolings as the 1-D ones)."""
    kind = layer[4][0] if len(layer) > 4 and isinstance(layer[4], tuple) and len(layer[4]) else None
    if kind in _CONVS:
        L = anne_int8_conv.decode(i, anne_int8._quant_items(i, layer, (kind,)))
        return ("conv2d" if kind == anne_ops.LAYER_CONV2D else "depthwise",) + L[1:]
    if kind in _SHAPING:
        _, _, act, _, spec, quant = anne_int8._quant_items(i, layer, (kind,))
        if act is not None and anne_int8._activation_name(act) != "linear":
            raise anne_ops.err(16, i)  # INT8_NO_ACTIVATION
        if len(quant) == 6 and quant[5] is not None:
            raise _bad_quant(i)
        return ("shaping", tuple(spec) + (0,) * 8) + tuple(quant[:4])
    if kind in _GLOBAL:
        layer = layer[:4] + ((_GLOBAL[kind],) + layer[4][1:], layer[5])
    return anne_int8_conv._decode(i, layer)


def _run(i, last, xs, L, out):
    if L[0] in ("conv2d", "depthwise"):
        conv2d(i, last, xs, L, out)
    elif L[0] == "shaping":
        shaping(i, last, xs, L, out)
    else:
        anne_int8_conv._run(i, last, xs, L, out)


def _bad_spec(i):
    return anne_ops.err(39, i)  # SPEC_2D


def _plane(i, n_in, h, w, c):
    if n_in != h * w * c:
        raise anne_ops.err(34, i, n_in, h, w, c)  # IMAGE_INPUTS


def conv2d(i, last, xs, L, out):
    """An int8 Conv2D or DepthwiseConv2D (_decode's L) on the int8 values xs
    into out, checked as the native kernels check (the spec, the sizes,
    then the quantization): per output position and channel, the int32 sum
    of filter x (input + in_off) over the taps in range (the padding's
    taps left out: the same as padding with the zero point), plus the
    bias, requantized per channel, plus out_off, clamped."""
    tag, k, b, (ms, shs), in_off, out_off, lo, hi, spec = L
    depthwise = tag == "depthwise"
    h, w, cin = spec[0:3]
    if depthwise:
        kh, kw, sh, sw, padding, dm, dh, dw = spec[3:11]
    else:
        kh, kw, sh, sw, padding, dh, dw = spec[3:10]
        dm = 1
    if not (h and w and cin and kh and kw and sh and sw and dh and dw and dm) or padding > 1:
        raise _bad_spec(i)
    _plane(i, len(xs), h, w, cin)
    taps = kh * kw
    if depthwise:
        cout = cin * dm
        ok = len(k) == taps * cout
    else:
        cout = len(k) // (taps * cin)
        ok = cout and len(k) == taps * cin * cout
    if not ok:
        raise anne_ops.err(21, i, len(k))  # INT8_2D_KERNEL
    oh, top = out_steps(h, (kh - 1) * dh + 1, sh, padding)
    ow, left = out_steps(w, (kw - 1) * dw + 1, sw, padding)
    if oh == 0 or ow == 0:
        raise anne_ops.err(34, i, len(xs), h, w, cin)  # IMAGE_INPUTS
    _out_size(i, last, out, oh * ow * cout)
    if b is not None and len(b) != cout:
        raise ValueError("layer %d: bias has %d values, expected one per filter/channel" % (i, len(b)))
    count = len(ms)
    if (count not in (1, cout) or len(shs) != count or not -127 <= in_off <= 128 or not -128 <= out_off <= 127
            or not -128 <= lo <= hi <= 127 or [s for s in shs if not -31 <= s <= 31]):
        raise _bad_quant(i)
    at = 0
    for oy in range(oh):
        y0 = oy * sh - top
        for ox in range(ow):
            x0 = ox * sw - left
            for o in range(cout):
                acc = 0
                for ty in range(kh):
                    y = y0 + ty * dh
                    if not 0 <= y < h:
                        continue
                    for tx in range(kw):
                        x = x0 + tx * dw
                        if not 0 <= x < w:
                            continue
                        p = (y * w + x) * cin
                        if depthwise:
                            acc += k[(ty * kw + tx) * cout + o] * (xs[p + o // dm] + in_off)
                        else:
                            f = ((o * kh + ty) * kw + tx) * cin
                            for c in range(cin):
                                acc += k[f + c] * (xs[p + c] + in_off)
                if b is not None:
                    acc += b[o]
                j = 0 if count == 1 else o
                v = _i32(requantize(_i32(acc), ms[j], shs[j]) + out_off)
                out[at] = lo if v < lo else hi if v > hi else v
                at += 1


def shaping(i, last, xs, L, out):
    """An int8 2-D pooling or ZeroPadding2D (_decode's L), checked as the
    native kernels check: max and average over the window's positions in
    range (the average's sum rounded half away from zero), clamped; the
    padding's added positions the zero point (-in_off). The values keep
    the input's quantization (in_off == -out_off)."""
    _, spec, in_off, out_off, lo, hi = L
    kind, h, w, c = spec[0:4]
    if not (h and w and c):
        raise _bad_spec(i)
    _plane(i, len(xs), h, w, c)
    if kind == anne_ops.LAYER_ZERO_PADDING2D:
        t, bottom, left, r = spec[4:8]
        oh, ow = t + h + bottom, left + w + r
        _out_size(i, last, out, oh * ow * c)
        if in_off != -out_off or not -128 <= out_off <= 127 or (lo, hi) != (-128, 127):
            raise _bad_quant(i)
        for j in range(len(out)):
            out[j] = out_off
        for y in range(h):
            src, dst = y * w * c, ((t + y) * ow + left) * c
            for j in range(w * c):
                out[dst + j] = xs[src + j]
        return
    ph, pw, sh, sw, padding = spec[4:9]
    if not (ph and pw and sh and sw) or padding > 1:
        raise _bad_spec(i)
    oh, top = out_steps(h, ph, sh, padding)
    ow, left = out_steps(w, pw, sw, padding)
    if oh == 0 or ow == 0:
        raise anne_ops.err(34, i, len(xs), h, w, c)  # IMAGE_INPUTS
    _out_size(i, last, out, oh * ow * c)
    if not -128 <= lo <= hi <= 127 or in_off != -out_off:
        raise _bad_quant(i)
    average = kind == anne_ops.LAYER_AVERAGE_POOLING2D
    at = 0
    for oy in range(oh):
        y0 = oy * sh - top
        y1 = min(y0 + ph, h)
        y0 = max(y0, 0)
        for ox in range(ow):
            x0 = ox * sw - left
            x1 = min(x0 + pw, w)
            x0 = max(x0, 0)
            for j in range(c):
                vals = [xs[(y * w + x) * c + j] for y in range(y0, y1) for x in range(x0, x1)]
                if average:
                    n, total = len(vals), sum(vals)
                    v = (total + n // 2) // n if total > 0 else -((-total + n // 2) // n)
                else:
                    v = max(vals)
                out[at] = lo if v < lo else hi if v > hi else v
                at += 1


class Plan(anne_int8_conv.Plan):
    """anne_int8_conv.Plan with the int8 2-D layers too."""

    _decode = staticmethod(_decode)
    _run = staticmethod(_run)


def forward(layers, x, out):
    return Plan(layers)(x, out)
