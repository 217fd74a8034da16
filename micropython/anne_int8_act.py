# anne_int8_act: what an int8 Dense layer applies after its clamp, in
# plain Python ints (anne_int8's pure-Python backend, and the converter's
# reference in tools/anne_format.py): an element-wise activation's
# 256-entry table (TFLite's LUT order, table[q & 0xFF]), or SOFTMAX as
# LiteRT's reference integer kernel computes it (gemmlowp fixed point,
# src/activation/s8/softmax.rs), bit for bit. No imports: it runs on the
# board and on the PC alike.

_MIN = -0x80000000
_MAX = 0x7FFFFFFF


def _i32(v):
    return (v + 0x80000000) % 0x100000000 - 0x80000000


def high_mul(a, b):
    """gemmlowp's SaturatingRoundingDoublingHighMul."""
    if a == b == _MIN:
        return _MAX
    q = a * b
    q += (1 << 30) if q >= 0 else 1 - (1 << 30)
    return q >> 31 if q >= 0 else -((-q) >> 31)      # C's division: toward zero


def div_pot(x, exponent):
    """gemmlowp's RoundingDivideByPOT (ties away from zero)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def _shl_sat(x, exponent):
    """SaturatingRoundingMultiplyByPOT for a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return _MAX
    if x < -threshold:
        return _MIN
    return x << exponent


def _exp_interval(a):
    """exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31)."""
    x = _i32(a + (1 << 28))
    x2 = high_mul(x, x)
    x3 = high_mul(x2, x)
    x4 = high_mul(x2, x2)
    poly = div_pot(_i32(high_mul(_i32(div_pot(x4, 2) + x3), 715827883) + x2), 1)
    return _i32(1895147668 + high_mul(1895147668, _i32(x + poly)))


_BARREL = ((24, 1672461947), (25, 1302514674), (26, 790015084), (27, 290630308),
           (28, 39332535), (29, 720401), (30, 242))


def _exp_negative(a):
    """exp_on_negative_values for Q5.26 in, Q0.31 out."""
    quarter = 1 << 24
    a_mod = _i32((a & (quarter - 1)) - quarter)
    result = _exp_interval(_shl_sat(a_mod, 5))
    remainder = _i32(a_mod - a)
    for bit, multiplier in _BARREL:
        if remainder & (1 << bit):
            result = high_mul(result, multiplier)
    return _MAX if a == 0 else result


def _one_over_one_plus_x(a):
    """one_over_one_plus_x_for_x_in_0_1 (Q0.31)."""
    s = a + _MAX
    half = (s + (1 if s >= 0 else -1))
    half = half // 2 if half >= 0 else -((-half) // 2)
    x = _i32(1515870810 + high_mul(half, -1010580540))
    for _ in range(3):
        one_minus = _i32((1 << 29) - high_mul(half, x))
        x = _i32(x + _shl_sat(high_mul(x, one_minus), 2))
    return _shl_sat(x, 1)


def softmax(values, params):
    """int8 SOFTMAX of values (a row of ints) with params (input_multiplier,
    input_left_shift, diff_min): a list of ints, output scale 1/256 and zero
    point -128 (LiteRT's reference Softmax<int8_t, int8_t>, double-rounding
    MultiplyByQuantizedMultiplierGreaterThanOne)."""
    multiplier, shift, diff_min = params
    top = max(values)

    def rescaled(v):
        return high_mul(_i32(v << shift), multiplier)

    total = 0
    for v in values:
        d = v - top
        if d >= diff_min:
            total = _i32(total + div_pot(_exp_negative(rescaled(d)), 12))
    u = total & 0xFFFFFFFF
    headroom = 32 - len(bin(u)) + 2 if u else 32
    bits = 12 - headroom
    shifted = _i32(((u << headroom) & 0xFFFFFFFF if headroom < 32 else 0) - (1 << 31))
    scale = _one_over_one_plus_x(shifted)
    exponent = min(max(bits + 23, 0), 31)
    out = []
    for v in values:
        d = v - top
        if d >= diff_min:
            r = _i32(div_pot(high_mul(scale, _exp_negative(rescaled(d))), exponent) - 128)
            out.append(-128 if r < -128 else 127 if r > 127 else r)
        else:
            out.append(-128)
    return out


def lookup(values, table):
    """An element-wise int8 activation: table[q & 0xFF] for each q."""
    return [table[v & 0xFF] for v in values]
