# anne_quant: net.quantize(rows) on the board: a float chain (Dense,
# Conv1D, Conv2D, DepthwiseConv2D, pooling, ZeroPadding2D, Flatten,
# Reshape; or a graph of those joined by Add, Subtract, Multiply and
# Concatenate) and calibration rows -> the int8 network
# tools/anne_quantize.py makes of them on the PC (TFLite's post-training
# full-integer rules, docs/int8.md "Our own quantizer"), written as a
# format-v3 file in RAM and loaded from it (so it runs, and is checked, as
# any int8 file). The float network is not changed. Imported by anne_net
# when quantize() is called (it does not import anne_net: anne_net hands it
# its load()).
#
# What a board's float (float32 on most ports) cannot compute as the PC
# does is computed with integers: the float64 requantization scales
# (in * w / out of float32 scales, rounded once to 53 bits), softmax's
# fixed-point parameters, round(b / scale) of the bias. The ranges come
# from the board's own float kernels (the PC's numpy sums in another order:
# a scale may differ in its last float32 bit).

import struct
from array import array

import anne_file
import anne_file_int8
import anne_ops
from anne_core import _as_floats

FUSED = ("linear", "relu", "relu6")
# A Dense layer's activations after its clamp the board computes too:
# softmax (its parameters from integers), hard_silu (Keras 3's hard_swish:
# TFLite's HARD_SWISH, an int16 fixed-point kernel) and leaky_relu (two
# requantizations) as tables from integers, and TABLES: LiteRT's LUTPopulate
# in float32 with glibc's float functions, which the board's float cannot
# reproduce bit for bit (a float32 port has no double exp; MicroPython's
# expf/tanhf are not glibc's): the native module's anne.act_table builds
# them (src/activation/s8/lut.rs, glibc's results), absent from the
# inference-only module (quantize those on the PC there)
TABLES = ("sigmoid", "tanh", "gelu", "exponential", "elu")
POST = ("softmax", "hard_silu", "hard_swish", "leaky_relu") + TABLES
# the outputs LiteRT fixes (LOGISTIC's, TANH's)
FIXED = {"sigmoid": (0.00390625, -128), "tanh": (0.0078125, 0)}
_F = array("f", [0.0])


def _f32(v):
    """v rounded to float32 (a no-op on float32 boards)."""
    _F[0] = v
    return _F[0]


def _parts(v):
    """A finite float32 v as (sign, m, e): |v| = m * 2**e, m an int."""
    bits = struct.unpack("<I", struct.pack("<f", v))[0]
    e = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if e:
        m |= 0x800000
    else:
        e = 1
    return bits >> 31, m, e - 150


def _round_ratio(n, d):
    """round(n / d) for ints n, d > 0 (half away from zero, exact)."""
    q, r = divmod(abs(n), d)
    q += 1 if 2 * r >= d else 0
    return -q if n < 0 else q


def _f64_bits(num, den):
    """The float64 nearest num / den (positive ints, a normal result; ties
    to even) as two int32 words, low first (as an int8 file stores it)."""
    def quotient(k):
        n, d = (num << k, den) if k >= 0 else (num, den << -k)
        return divmod(n, d) + (d,)
    k = 53 - (len(bin(num)) - len(bin(den)))
    q, r, d = quotient(k)
    while q >= 1 << 53:
        k -= 1
        q, r, d = quotient(k)
    while q < 1 << 52:
        k += 1
        q, r, d = quotient(k)
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
        if q == 1 << 53:
            q >>= 1
            k -= 1
    bits = ((52 - k + 1023) << 52) | (q - (1 << 52))
    w0, w1 = bits & 0xFFFFFFFF, bits >> 32
    return [w0 - (1 << 32) if w0 >> 31 else w0, w1 - (1 << 32) if w1 >> 31 else w1]


def requant_words(in_scale, w_scale, out_scale):
    """(double)in_scale * (double)w_scale / (double)out_scale as LiteRT's
    FULLY_CONNECTED computes it (the product is exact in double; the
    quotient rounded once) -> its two words."""
    _, mi, ei = _parts(in_scale)
    _, mw, ew = _parts(w_scale)
    _, mo, eo = _parts(out_scale)
    e = ei + ew - eo
    num, den = mi * mw, mo
    return _f64_bits(num << e, den) if e >= 0 else _f64_bits(num, den << -e)


def softmax_params(in_scale):
    """SoftmaxPrepare (beta 1, double rounding) from a float32 input scale,
    with ints: real = in_scale * 2**26 (exact), capped at 2**31 - 1;
    QuantizeMultiplier; diff_min = -floor(31 * 2**26 / 2**shift)."""
    _, m, e = _parts(in_scale)
    e += 26
    # real = m * 2**e; frexp: q = m / 2**24 in [0.5, 1), shift = e + 24
    length = len(bin(m)) - 2
    shift = e + length
    if shift > 31:   # real >= 2**31: min(real, 2**31 - 1), whose frexp is (1 - 2**-31, 31)
        return 0x7FFFFFFF, 31, -((31 << 26) >> 31)
    multiplier = m << (31 - length)
    if shift < 1 or (shift == 1 and multiplier == 1 << 30):
        raise ValueError("softmax's input scale %r is too small (beta * scale * 2**26 must be above 1)" % in_scale)
    return multiplier, shift, -((31 << 26) >> shift)


def _f32_ratio(a, b):
    """The float32 quotient a / b of float32 a, b > 0 (rounded to nearest,
    ties to even, as a float32 division) as (m, e): m * 2**e, m of 24
    bits."""
    _, ma, ea = _parts(a)
    _, mb, eb = _parts(b)
    k = 24 + len(bin(mb)) - len(bin(ma))
    q, r = divmod(ma << k, mb) if k >= 0 else divmod(ma, mb << -k)
    if q >= 1 << 24:
        k -= 1
        q, r = divmod(ma << k, mb) if k >= 0 else divmod(ma, mb << -k)
    d = mb if k >= 0 else mb << -k
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
        if q == 1 << 24:
            q, k = q >> 1, k - 1
    return q, ea - eb - k


def _i16(v):
    return ((v + 0x8000) & 0xFFFF) - 0x8000


def _srdhm16(a, b, rounding=True):
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul (rounding) or
    TFLite's SaturatingDoublingHighMul (truncating toward zero)."""
    if a == b == -0x8000:
        return 0x7FFF
    n = a * b
    if rounding:
        n += (1 << 14) if n >= 0 else 1 - (1 << 14)
    return _i16(-((-n) >> 15) if n < 0 else n >> 15)


def _rdpot16(x, exponent):
    """gemmlowp's RoundingDivideByPOT<int16_t> with the C++'s int16 mask."""
    exponent = min(exponent, 31)
    mask = _i16((1 << exponent) - 1)
    return _i16((x >> exponent) + (1 if _i16(x & mask) > _i16((mask >> 1) + (1 if x < 0 else 0)) else 0))


def hard_swish_table(in_q, out_q):
    """LiteRT's reference HardSwish<int8_t> for every int8 input, as
    tools/anne_tflite_act.py's hard_swish_table: the two multipliers are
    float32 quotients (HardSwishPrepare), whose single-rounding
    QuantizeMultiplier is exact (24 bits), down-scaled to int16."""
    def mult(a, b):
        m, e = _f32_ratio(a, b)
        m <<= 7                      # frexp's fraction as Q31: 24 bits, exact
        return 0x7FFF if m >= 0x7FFFFFFF - (1 << 15) else (m + (1 << 15)) >> 16, e + 24
    hires = in_q[0] / 128.0          # (exact)
    om, oe = mult(hires, out_q[0])
    rm, re = mult(hires, 3.0 / 32768.0)
    if oe > 0 or not -31 <= re <= 30 or oe < -31:
        raise ValueError("hard_silu: the scales give multipliers out of LiteRT's range")
    table = bytearray(256)
    for q in range(-128, 128):
        hi = _i16((q - in_q[1]) << 7)
        r = hi
        if re > 0:
            r = max(-0x8000, min(0x7FFF, r << min(re - 1, 30)))
        r = _srdhm16(r, rm)
        if re > 0:
            r = max(-0x8000, min(0x7FFF, r << 1))
        if re < 0:
            r = _rdpot16(r, -re)
        r = _i16((r + (1 << 15)) >> 1)
        y = _i16(_rdpot16(_srdhm16(r, _srdhm16(hi, om), False), -oe) + out_q[1])
        table[q & 0xFF] = (-128 if y < -128 else 127 if y > 127 else y) & 0xFF
    return bytes(table)


def _native_tables():
    try:
        import anne
    except ImportError:
        return None
    return getattr(anne, "act_table", None)


def _multiplier(v):
    """QuantizeMultiplier (double rounding) of a float32 v: exact, its
    frexp fraction has 24 bits -> (multiplier, shift), the multiplier
    signed as v."""
    sign, m, e = _parts(v)
    if m == 0:
        return 0, 0
    n = len(bin(m)) - 2
    shift = e + n
    return (0, 0) if shift < -31 else (-(m << (31 - n)) if sign else m << (31 - n), shift)


def leaky_relu_table(alpha, in_q, out_q):
    """LiteRT's reference QuantizeLeakyRelu<int8_t> for every int8 input, as
    tools/anne_tflite_act.py's leaky_relu_table: the multipliers of the
    float32 in_scale * alpha / out_scale and in_scale / out_scale, the
    double-rounding MultiplyByQuantizedMultiplier, alpha's sign after it."""
    from anne_int8_act import div_pot, high_mul
    m_a, s_a = _multiplier(_f32(_f32(in_q[0] * _f32(alpha)) / out_q[0]))
    m_id, s_id = _multiplier(_f32(in_q[0] / out_q[0]))
    if not (-31 <= s_a <= 31 and -31 <= s_id <= 31):
        raise ValueError("leaky_relu: the scales give multipliers out of LiteRT's range")

    def requant(x, m, shift):
        v = ((x << (shift if shift > 0 else 0)) + 0x80000000) % 0x100000000 - 0x80000000
        return div_pot(high_mul(v, m), -shift if shift < 0 else 0)
    table = bytearray(256)
    for q in range(-128, 128):
        d = q - in_q[1]
        if d >= 0:
            r = out_q[1] + requant(d, m_id, s_id)
        else:
            r = requant(d, -m_a if m_a < 0 else m_a, s_a)
            r = out_q[1] + (-r if m_a < 0 else r)
        table[q & 0xFF] = (-128 if r < -128 else 127 if r > 127 else r) & 0xFF
    return bytes(table)


def _table(L, in_q, out_q):
    """The 256-entry table of Dense layer L's activation (not softmax)
    from its input's and output's quantization."""
    act = L.activation
    if act in ("hard_silu", "hard_swish"):
        return hard_swish_table(in_q, out_q)
    if act == "leaky_relu":
        return leaky_relu_table(L.params.get("negative_slope", 0.2), in_q, out_q)
    table = bytearray(256)
    _native_tables()(anne_ops.ACTIVATIONS.index(act), in_q[0], in_q[1], out_q[0], out_q[1], table,
                     bool(L.params.get("approximate")))
    return bytes(table)


def _params(lo, hi):
    """(scale, zero point) from a calibrated range (docs/int8.md)."""
    lo = lo if lo < 0.0 else 0.0
    hi = hi if hi > 0.0 else 0.0
    if hi == lo:
        return 1.0, 0
    scale = _f32(_f32(_f32(hi) - _f32(lo)) / 255.0)
    from_min, from_max = -128 - lo / scale, 127 - hi / scale
    z = from_min if 128 + abs(lo / scale) < 127 + abs(hi / scale) else from_max
    z = int(z + 0.5) if z >= 0 else -int(-z + 0.5)
    return scale, -128 if z < -128 else 127 if z > 127 else z


def _clamp(act, scale, zp):
    """The fused relu / relu6's act_min..act_max (LiteRT's
    CalculateActivationRangeQuantized)."""
    def q(f):
        v = _f32(f / scale)
        r = int(abs(v) + 0.5)
        return zp + (r if v >= 0 else -r)
    if act == "relu":
        return max(-128, q(0.0)), 127
    if act == "relu6":
        return max(-128, q(0.0)), min(127, q(6.0))
    return -128, 127


# The kinds quantize takes: weighted ones (Dense, the convolutions: their
# own output range), ones that keep their input's quantization (TFLite's
# pooling, REDUCE_MAX, PAD, RESHAPE) and the global averages (MEAN: a range
# of their own, requantized).
CONVS = anne_file_int8.CONVS
SAME_Q = (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_MAX_POOLING1D,
          anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D, anne_ops.LAYER_GLOBAL_MAX_POOLING2D,
          anne_ops.LAYER_ZERO_PADDING2D, anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE)
MEANS = anne_file_int8.MEANS
CAT = anne_ops.LAYER_CONCATENATE
# the merges with an output range of their own (TFLite's ADD, SUB, MUL: two
# inputs, a fused linear, relu or relu6)
MERGES = (anne_ops.LAYER_ADD, anne_ops.LAYER_SUBTRACT, anne_ops.LAYER_MULTIPLY)
NET = anne_file.NETWORK_INPUT


def _check(net, rows):
    ins = _sources(net)
    for i, L in enumerate(net._layers):
        if L.kind in SAME_Q or L.kind in MEANS:
            continue
        if L.kind == CAT:
            if L._name != "linear":
                raise ValueError("layer %d: a Concatenate then %s has no int8 form" % (i, L._name))
            continue
        name = type(L).__name__
        if L.kind in MERGES:
            if L._name not in FUSED:
                raise ValueError("layer %d: a %s's activation %s has no int8 form (linear, relu, relu6 do)"
                                 % (i, name, L._name))
            if L._name == "relu" and L.params:
                raise ValueError("layer %d: relu with parameters has no int8 form (plain relu, relu6 do)" % i)
            if len(ins[i]) != 2:
                raise ValueError("layer %d: a %s of %d inputs has no int8 form (LiteRT's takes 2: join them "
                                 "two at a time)" % (i, name, len(ins[i])))
            continue
        if L.kind != anne_ops.LAYER_DENSE and L.kind not in CONVS:
            raise ValueError("layer %d is %s: quantize takes Dense, Conv1D, Conv2D, DepthwiseConv2D, pooling, "
                             "ZeroPadding2D, Flatten, Reshape, Add, Subtract, Multiply, Concatenate" % (i, name))
        act = L.activation
        if act not in FUSED and (act not in POST or L.kind in CONVS):
            raise ValueError("layer %d: %s: quantize on the board takes linear, relu, relu6%s; for %s quantize on "
                             "the PC (anne-convert --quantize int8)" % (
                                 i, act, "" if L.kind in CONVS else ", " + ", ".join(POST), act))
        if act in TABLES and _native_tables() is None:
            raise ValueError("layer %d: %s's table needs the anne module's act_table (not in the inference-only "
                             "module): quantize on the PC (anne-convert --quantize int8)" % (i, act))
        if act == "relu" and L.params:
            raise ValueError("layer %d: relu with parameters has no int8 form (plain relu, relu6 do)" % i)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError("rows: a list of calibration rows (at least one), each of %d floats" % net.n_inputs)
    for r, row in enumerate(rows):
        if len(row) != net.n_inputs:
            raise ValueError("row %d has %d values, the network takes %d" % (r, len(row), net.n_inputs))


def _sources(net):
    """Each layer's inputs (layer indices; NETWORK_INPUT the network's): a
    graph's as its file names them, a chain's the layer before."""
    ins = getattr(net, "_inputs", None)
    return ins if ins is not None else [((i - 1 if i else NET),) for i in range(len(net._layers))]


def _ties(net, ins):
    """{layer: the Concatenate it feeds}: TensorFlow's converter gives a
    join's inputs the join's quantization (LiteRT's int8 CONCATENATION only
    copies), so each input must be a layer with an output range of its own
    (Dense or a convolution with linear, relu or relu6, a global average)
    that no other join reads (or an Add, Subtract, Multiply); ValueError
    otherwise (as the PC's)."""
    ties = {}
    for i, L in enumerate(net._layers):
        if L.kind != CAT:
            continue
        for j in ins[i]:
            S = None if j == NET else net._layers[j]
            own = S is not None and (S.kind in MEANS or S.kind in MERGES or (
                (S.kind in CONVS or S.kind == anne_ops.LAYER_DENSE) and S.activation in FUSED))
            if not own:
                raise ValueError("layer %d: a Concatenate of %s: its inputs must be Dense or convolution layers "
                                 "(linear, relu, relu6), Add, Subtract, Multiply or global averages" % (
                                     i, "the network's input" if S is None else "layer %d" % j))
            if j in ties:
                raise ValueError("layer %d: layer %d is joined by two Concatenates" % (i, j))
            ties[j] = i
    return ties


def _weights(L):
    """Layer L's int8 kernel (TFLite's layout, padded to 4 bytes) and its
    per-channel weight scales: max|w| / 127 in float32, each value the
    float32 quotient rounded half away from zero (as the PC's numpy). The
    float kernel is rows x units (a Dense layer's inputs, a convolution's
    taps x in_channels, a depthwise one's taps); TFLite's has units rows,
    but a depthwise one's keeps this layout."""
    k, units = _as_floats(L._kernel), L.units   # (a copy of weights used in place from a file's bytes)
    rows = len(k) // units
    kernel = bytearray((units * rows + 3) & ~3)
    scales = array("f", bytes(4 * units))
    depthwise = L.kind == anne_ops.LAYER_DEPTHWISE_CONV2D
    for j in range(units):
        top = 0.0
        for t in range(rows):
            v = abs(k[t * units + j])
            top = v if v > top else top
        scales[j] = _f32(_f32(top) / 127.0) if top > 0.0 else 1.0
        s = scales[j]      # (the float32 value, on a port whose float is a double too)
        for t in range(rows):
            v = _f32(k[t * units + j] / s)
            q = min(127, int(abs(v) + 0.5))
            kernel[t * units + j if depthwise else j * rows + t] = (-q if v < 0 else q) & 0xFF
    return kernel, scales


def _bias(i, L, in_scale, w_scales):
    """round(b / (in_scale * w_scale)) per unit: the scale a float32
    product, the quotient exact (the PC's is a double's); zeros without a
    bias."""
    bias = array("i", bytes(4 * L.units))
    if L._bias is None:
        return bias
    b = _as_floats(L._bias)
    for j in range(L.units):
        _, ms, es = _parts(_f32(_f32(in_scale) * w_scales[j]))
        sg, mb, eb = _parts(_f32(b[j]))
        e = eb - es
        q = _round_ratio(mb << e, ms) if e >= 0 else _round_ratio(mb, ms << -e)
        if q > 0x7FFFFFFF:
            raise ValueError("layer %d: bias %d does not fit int32 at its scale" % (i, j))
        bias[j] = -q if sg else q
    return bias


def _q31(words):
    """TFLite's QuantizeMultiplier (double rounding) of the float64 whose
    two words are words (positive, normal): (multiplier, shift)."""
    bits = (words[0] & 0xFFFFFFFF) | (words[1] & 0xFFFFFFFF) << 32
    m = (bits & ((1 << 52) - 1)) | 1 << 52          # frexp: m / 2**53 in [0.5, 1)
    shift = ((bits >> 52) & 0x7FF) - 1022
    q = (m + (1 << 21)) >> 22                        # round(m / 2**53 * 2**31), half away from zero
    if q == 1 << 31:
        q >>= 1
        shift += 1
    return (0, 0) if shift < -31 else (q, shift)


def _ratio_words(a, b, k=0):
    """(double)a / ((double)b * 2**k) of float32 a, b > 0, as two words."""
    _, ma, ea = _parts(a)
    _, mb, eb = _parts(b)
    e = ea - eb - k
    return _f64_bits(ma << e, mb) if e >= 0 else _f64_bits(ma, mb << -e)


def _spans(net, rows, ins):
    """Runs the float network on each row (its own kernels, one layer at a
    time; a graph's layers on their inputs): the input's range, and per
    layer the range its int8 output is calibrated on (after a fused relu /
    relu6; a Dense layer's before any other activation), and of that
    activation's outputs (alo, ahi)."""
    be = net._backend
    bufs = [array("f", bytes(4 * L.n_out)) if L.computes else None for L in net._layers]
    # (a Dense layer's outputs before its softmax)
    zs = [array("f", bytes(4 * L.units)) if L.kind == anne_ops.LAYER_DENSE and L.activation not in FUSED
          else None for L in net._layers]
    lo, hi = [None] * len(bufs), [None] * len(bufs)
    alo, ahi = [None] * len(bufs), [None] * len(bufs)
    span_in = None
    outs = [None] * len(bufs)
    # (a merge's fused relu / relu6, made once)
    acts = [be.Activation(L._name) if L.kind in MERGES and L._name != "linear" else None for L in net._layers]
    for r, row in enumerate(rows):
        x = array("f", row)
        for v in x:
            if v - v != 0.0:
                raise ValueError("row %d: not finite" % r)
        span_in = _widen(span_in, x)
        for i, L in enumerate(net._layers):
            srcs = [x if j == NET else outs[j] for j in ins[i]]
            if not L.computes:
                outs[i] = srcs[0]
                continue
            y = outs[i] = bufs[i]
            if L.kind == CAT or L.kind in MERGES:
                be.merge(L.kind, y, srcs, L.n_out // L.output_shape[-1])
                if acts[i] is not None:
                    be.activate(y, acts[i])
            else:
                be.forward((L._step(None),), srcs[0], y)
            v = zs[i]
            if v is None:
                v = y
            else:
                be.forward(((L._kernel, L._bias, "linear", None),), srcs[0], v)
                alo[i], ahi[i] = _widen((alo[i], ahi[i]) if alo[i] is not None else None, y)
            lo[i], hi[i] = _widen((lo[i], hi[i]) if lo[i] is not None else None, v)
    return span_in, lo, hi, alo, ahi


def _widen(span, v):
    a, b = (v[0], v[0]) if span is None else span
    for t in v:
        a = t if t < a else a
        b = t if t > b else b
    return a, b


def quantize(net, rows, load):
    """The int8 network of a float chain net (or a graph whose merges are
    Add, Subtract, Multiply or Concatenate), calibrated on rows (a list of
    rows of n_inputs floats), made by load (anne_net.load) from the file it writes in RAM; net is not
    changed."""
    import anne_io
    _check(net, rows)
    ins = _sources(net)
    ties = _ties(net, ins)
    graph = getattr(net, "_inputs", None) is not None
    span_in, lo, hi, alo, ahi = _spans(net, rows, ins)
    qs = {NET: _params(*span_in)}       # each layer's int8 output's (scale, zero point)
    shapes = {NET: net.input_shape}
    entries, datas = [], []
    _, params = anne_file.file_params("linear", {})
    for i, L in enumerate(net._layers):
        src = ins[i]
        in_q, shape = qs[src[0]], shapes[src[0]]
        inputs = src if graph else None
        t = ties.get(i, i)
        if L.kind == CAT:
            e = anne_file.Entry(anne_ops.LINEAR, 0, shape, 0, params, kind=CAT, dtype=anne_file.DTYPE_INT8,
                                quant=in_q + in_q + (len(src), -128, 127, 0.0, 0), inputs=src,
                                in_shapes=[shapes[j] for j in src])
            entries.append(e)
            datas.append((b"", b"", b"", b"".join(struct.pack("<fi", *qs[j]) for j in src), b""))
            qs[i], shapes[i] = in_q, e.out_shape
            continue
        if L.kind in MERGES:
            e, data = _merge(i, L, src, qs, shapes, _params(lo[t], hi[t]), params)
            entries.append(e)
            datas.append(data)
            qs[i], shapes[i] = e.quant[2:4], e.out_shape
            continue
        kp = anne_io.file_kparams(L)
        if L.kind in SAME_Q or L.kind in MEANS:
            out_q, count, words = in_q, 0, b""
            if L.kind in MEANS:
                out_q, count = _params(lo[t], hi[t]), 1
                words = struct.pack("<2i", *_q31(_ratio_words(in_q[0], out_q[0])))
            e = anne_file.Entry(0, 0, shape, 0, params, kind=L.kind, kparams=kp, out_shape=L.output_shape,
                                dtype=anne_file.DTYPE_INT8, quant=in_q + out_q + (count, -128, 127, 0.0, 0),
                                inputs=inputs)
            entries.append(e)
            datas.append((b"", b"", words, b"", b""))
            qs[i], shapes[i] = out_q, e.out_shape
            continue
        act = L.activation
        out_q = _params(lo[t], hi[t])
        kernel, w_scales = _weights(L)
        bias = _bias(i, L, in_q[0], w_scales)
        words = array("i")
        pairs = [requant_words(in_q[0], w_scales[j], out_q[0]) for j in range(L.units)]
        if L.kind in CONVS:     # Q31 multipliers, then shifts
            pairs = [_q31(p) for p in pairs]
            pairs = [(p[0] for p in pairs), (p[1] for p in pairs)]
        for p in pairs:
            for w in p:
                words.append(w)
        post, act_q, act_id = b"", (0.0, 0), anne_ops.LINEAR
        if act == "softmax":
            post, act_q, act_id = struct.pack("<3i", *softmax_params(out_q[0])), (0.00390625, -128), anne_ops.SOFTMAX
        elif act not in FUSED:      # a table
            act_q = FIXED.get(act) or _params(alo[i], ahi[i])
            act_id = anne_ops.ACTIVATIONS.index("hard_silu" if act == "hard_swish" else act)
            post = _table(L, out_q, act_q)
        quant = (in_q[0], in_q[1], out_q[0], out_q[1], L.units) + _clamp(act, out_q[0], out_q[1]) + act_q
        e = anne_file.Entry(act_id,
                            anne_file.FLAG_BIAS if L._bias is not None else 0, shape, L.units, params,
                            kind=L.kind, kparams=kp, dtype=anne_file.DTYPE_INT8, quant=quant, inputs=inputs)
        entries.append(e)
        datas.append((bytes(kernel), bytes(bias), bytes(words), bytes(w_scales), post))
        qs[i], shapes[i] = (out_q if act in FUSED else act_q), e.out_shape
    return _load(net, entries, datas, load)


def _merge(i, L, src, qs, shapes, out_q, params):
    """Add, Subtract or Multiply layer i (its inputs src; qs, shapes: each
    layer's output quantization and shape so far; out_q: its own) -> its
    int8 entry and data parts: LiteRT's ADD / SUB / MUL Prepare's words."""
    in_qs = [qs[j] for j in src]
    s1, s2, so = in_qs[0][0], in_qs[1][0], out_q[0]
    if L.kind == anne_ops.LAYER_MULTIPLY:
        # QuantizeMultiplier of the float32 s1 * s2 / so (exact: 24 bits)
        m, e = _f32_ratio(_f32(s1 * s2), so)
        words = (0, 0) if e + 24 < -31 else (m << 7, e + 24)
    else:
        # left shift 20; s_k / twice_max, twice_max / (2**20 * so) in double
        twice = 2.0 * (s1 if s1 > s2 else s2)
        words = [anne_file_int8.ADD_LEFT_SHIFT]
        for a, b, k in ((s1, twice, 0), (s2, twice, 0), (twice, so, anne_file_int8.ADD_LEFT_SHIFT)):
            m, shift = _q31(_ratio_words(a, b, k))
            if shift > 0:
                raise ValueError("layer %d: an int8 %s's multiplier is not below 1: the output scale %r is "
                                 "smaller than 2**-20 of the inputs'" % (i, type(L).__name__, so))
            words += [m, shift]
    lo, hi = _clamp(L._name, out_q[0], out_q[1])
    e = anne_file.Entry(anne_ops.LINEAR, 0, shapes[src[0]], 0, params, kind=L.kind, dtype=anne_file.DTYPE_INT8,
                        quant=in_qs[0] + out_q + (2, lo, hi, 0.0, 0), inputs=src,
                        in_shapes=[shapes[j] for j in src])
    return e, (b"", b"", struct.pack("<%di" % len(words), *words),
               b"".join(struct.pack("<fi", *q) for q in in_qs), b"")


def _load(net, entries, datas, load):
    import binascii
    meta = {k: net.metadata[k] for k in ("name", "classes", "features") if k in net.metadata}
    meta["quantized"] = "int8 on the board (net.quantize)"
    parts = [anne_file.front(net.input_shape, entries, meta, version=3)]
    crc = binascii.crc32(parts[0])
    for e, values in zip(entries, datas):
        offs = anne_file_int8.int8_parts(e)
        chunk = bytearray(e.data_size)
        for name, value in zip(anne_file_int8.INT8_PARTS, values):
            off = offs[name][0]
            chunk[off:off + len(value)] = value
        if chunk:   # (a pooling's: no data; an empty bytearray joined is a NULL memcpy to UBSan)
            crc = binascii.crc32(chunk, crc)
            parts.append(chunk)
    parts.append(struct.pack("<I", crc & 0xFFFFFFFF))
    data = b"".join(parts)
    del parts
    q = load(data)
    q._file = data
    return q
