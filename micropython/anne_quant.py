# anne_quant: net.quantize(rows) on the board: a float Dense network and
# calibration rows -> the int8 network tools/anne_quantize.py makes of them
# on the PC (TFLite's post-training full-integer rules, docs/int8.md "Our
# own quantizer"), written as a format-v3 file in RAM and loaded from it
# (so it runs, and is checked, as any int8 file). The float network is not
# changed. Imported by anne_net when quantize() is called (it does not
# import anne_net: anne_net hands it its load()).
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

FUSED = ("linear", "relu", "relu6")
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


def _check(net, rows):
    if len(net.input_shape) != 1:
        raise ValueError("quantize takes networks on (features,) inputs so far")
    for i, L in enumerate(net._layers):
        if L.kind != anne_ops.LAYER_DENSE:
            raise ValueError("layer %d is not Dense: quantize covers Dense networks so far" % i)
        act = L.activation
        if act not in FUSED and act != "softmax":
            raise ValueError("layer %d: %s: quantize on the board takes linear, relu, relu6, softmax; "
                             "for %s quantize on the PC (anne-convert --quantize int8)" % (i, act, act))
        if act == "relu" and L.params:
            raise ValueError("layer %d: relu with parameters has no int8 form (plain relu, relu6 do)" % i)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError("rows: a list of calibration rows (at least one), each of %d floats" % net.n_inputs)
    for r, row in enumerate(rows):
        if len(row) != net.n_inputs:
            raise ValueError("row %d has %d values, the network takes %d" % (r, len(row), net.n_inputs))


def _weights(L):
    """Layer L's int8 kernel (TFLite's layout, padded to 4 bytes) and its
    per-channel weight scales: max|w| / 127 in float32, each value the
    float32 quotient rounded half away from zero (as the PC's numpy)."""
    k, units, n_in = L._kernel, L.units, L.n_in
    kernel = bytearray((units * n_in + 3) & ~3)
    scales = array("f", bytes(4 * units))
    for j in range(units):
        top = 0.0
        for t in range(n_in):
            v = abs(k[t * units + j])
            top = v if v > top else top
        scales[j] = _f32(_f32(top) / 127.0) if top > 0.0 else 1.0
        s = scales[j]      # (the float32 value, on a port whose float is a double too)
        for t in range(n_in):
            v = _f32(k[t * units + j] / s)
            q = min(127, int(abs(v) + 0.5))
            kernel[j * n_in + t] = (-q if v < 0 else q) & 0xFF
    return kernel, scales


def _bias(i, L, in_scale, w_scales):
    """round(b / (in_scale * w_scale)) per unit: the scale a float32
    product, the quotient exact (the PC's is a double's); zeros without a
    bias."""
    bias = array("i", bytes(4 * L.units))
    if L._bias is None:
        return bias
    for j in range(L.units):
        _, ms, es = _parts(_f32(_f32(in_scale) * w_scales[j]))
        sg, mb, eb = _parts(_f32(L._bias[j]))
        e = eb - es
        q = _round_ratio(mb << e, ms) if e >= 0 else _round_ratio(mb, ms << -e)
        if q > 0x7FFFFFFF:
            raise ValueError("layer %d: bias %d does not fit int32 at its scale" % (i, j))
        bias[j] = -q if sg else q
    return bias


def _outputs(backend, L, xs):
    """Layer L on each calibration row: (the dense part's outputs z, the
    layer's outputs y after a fused relu / relu6; z itself otherwise)."""
    zs = []
    for x in xs:
        z = array("f", bytes(4 * L.units))
        backend.forward(((L._kernel, L._bias, "linear", None),), x, z)
        zs.append(z)
    if L.activation not in ("relu", "relu6"):
        return zs, zs
    top = 6.0 if L.activation == "relu6" else None
    return zs, [array("f", [0.0 if v < 0.0 else top if top is not None and v > top else v for v in z]) for z in zs]


def _span(rows):
    return min(min(r) for r in rows), max(max(r) for r in rows)


def quantize(net, rows, load):
    """The int8 network of a float Dense network net, calibrated on rows
    (a list of rows of n_inputs floats), made by load (anne_net.load) from
    the file it writes in RAM; net is not changed."""
    _check(net, rows)
    xs = [array("f", row) for row in rows]
    for r, x in enumerate(xs):
        for v in x:
            if v - v != 0.0:
                raise ValueError("row %d: not finite" % r)
    in_q = _params(*_span(xs))
    entries, datas = [], []
    shape = net.input_shape
    for i, L in enumerate(net._layers):
        act = L.activation
        zs, ys = _outputs(net._backend, L, xs)
        out_q = _params(*_span(ys if act in FUSED else zs))
        kernel, w_scales = _weights(L)
        bias = _bias(i, L, in_q[0], w_scales)
        words = array("i")
        for j in range(L.units):
            for w in requant_words(in_q[0], w_scales[j], out_q[0]):
                words.append(w)
        post, act_q = b"", (0.0, 0)
        if act == "softmax":
            post, act_q = struct.pack("<3i", *softmax_params(out_q[0])), (0.00390625, -128)
        quant = (in_q[0], in_q[1], out_q[0], out_q[1], L.units) + _clamp(act, out_q[0], out_q[1]) + act_q
        _, params = anne_file.file_params("linear", {})
        e = anne_file.Entry(anne_ops.SOFTMAX if act == "softmax" else anne_ops.LINEAR,
                            anne_file.FLAG_BIAS if L._bias is not None else 0, shape, L.units, params,
                            dtype=anne_file.DTYPE_INT8, quant=quant)
        entries.append(e)
        datas.append((bytes(kernel), bytes(bias), bytes(words), bytes(w_scales), post))
        shape = e.out_shape
        in_q = act_q if act == "softmax" else out_q
        xs = ys
    return _load(net, entries, datas, load)


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
        crc = binascii.crc32(chunk, crc)
        parts.append(chunk)
    parts.append(struct.pack("<I", crc & 0xFFFFFFFF))
    data = b"".join(parts)
    del parts
    q = load(data)
    q._file = data
    return q
