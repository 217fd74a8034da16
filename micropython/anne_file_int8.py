# anne_file_int8: the int8 part of the .anne codec (docs/FORMAT.md, version
# 3's int8 block and data): where an int8 layer's data parts are, and the
# checks of its quantization, for the board and the PC alike (anne_file
# reads the block, this module says what it may hold). Needs only struct,
# anne_ops and anne_core.

import struct

import anne_ops
from anne_core import _is_finite
from anne_ops import ACTIVATIONS

# The reader's messages for int8 layers start with these (anne_file.FRAGMENTS
# takes them).
FRAGMENTS = {"dtype": "unknown dtype", "int8": "bad int8 parameters"}
INT8_PARTS = ("kernel", "bias", "requant", "scale", "post")
# The kinds an int8 file holds: dense, conv1d, conv2d and depthwise_conv2d
# (their requant part: Q31 multipliers then shifts), the 1-D and 2-D
# poolings (global average: its requant part one multiplier and shift),
# zero_padding2d, flatten and reshape (no data, count 0).
# A graph's merges (add, subtract, multiply: two inputs; concatenate: 2..7
# inputs of the output's quantization) and the affine kind, an element-wise
# add, subtract or multiply by a constant per-channel vector (TFLite's ADD or
# MUL of an unfolded BatchNormalization): their parts below (ELEMENTWISE).
# (the layer registry's kinds that have an int8 module, ops.json's board_int8)
INT8_KINDS = tuple(k for k in range(1, len(anne_ops.LAYER_MODULE)) if anne_ops.LAYER_MODULE_INT8[k])
INT8_MERGES = tuple(k for k in INT8_KINDS if k in anne_ops.LAYER_INPUTS)
# The int8 convolutions (Q31 multipliers, no activation after the clamp)
CONVS = (anne_ops.LAYER_CONV1D, anne_ops.LAYER_CONV2D, anne_ops.LAYER_DEPTHWISE_CONV2D)
# The global averages (TFLite's MEAN: requantized)
MEANS = (anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D)
ELEMENTWISE = (anne_ops.LAYER_AFFINE,) + INT8_MERGES
# An int8 affine's kind parameters 1 and 2: the operation (one of these
# merge kinds) and 1 if the constant is its first operand.
AFFINE_OPS = (anne_ops.LAYER_ADD, anne_ops.LAYER_SUBTRACT, anne_ops.LAYER_MULTIPLY)
ADD_LEFT_SHIFT = 20              # LiteRT's int8 ADD and SUB: left_shift
# int8 kinds whose requant part holds int32 Q31 multipliers, then shifts
Q31_KINDS = CONVS + MEANS
SOFTMAX_WORDS = 3                # an int8 softmax's data: multiplier, left shift, diff_min

# The int8 kinds with weights, and the windowed poolings (clamped outputs)
WEIGHTED = (anne_ops.LAYER_DENSE,) + CONVS
POOLS = (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D, anne_ops.LAYER_MAX_POOLING2D,
         anne_ops.LAYER_AVERAGE_POOLING2D)


def post_bytes(act):
    """Bytes of an int8 layer's activation data: none for linear, softmax's
    three int32 parameters, a 256-entry int8 table for an element-wise one."""
    return 0 if act == anne_ops.LINEAR else 4 * SOFTMAX_WORDS if act == anne_ops.SOFTMAX else 256


def int8_output(entry):
    """(scale, zero point) of an int8 layer's output (entry: anything with
    an Entry's quant): its activation's, or (linear: act_scale 0.0) the
    dense part's."""
    q = entry.quant
    return q[7:9] if q[7] else q[2:4]


def elementwise_op(entry):
    """The operation of an int8 merge or affine entry (a merge kind)."""
    return entry.kparams[1] if entry.kind == anne_ops.LAYER_AFFINE else entry.kind


def requant_words(op):
    """int32 words of an element-wise layer's requant part: add and
    subtract LiteRT's Prepare's left_shift, then input 1's, input 2's and
    the output's multiplier and shift (7); multiply its one multiplier and
    shift (2); concatenate none."""
    return 0 if op == anne_ops.LAYER_CONCATENATE else 2 if op == anne_ops.LAYER_MULTIPLY else 7


def int8_parts(entry):
    """Where an int8 layer's data parts are: {"kernel", "bias", "requant",
    "scale", "post": (offset, bytes)}, offsets relative to the layer's
    data_offset (docs/FORMAT.md): kernel kernel_len int8 (TFLite's layout:
    dense units rows of n_in, conv1d filters rows of kernel_size x
    in_channels, conv2d filters x kernel_h x kernel_w x in_channels,
    depthwise_conv2d kernel_h x kernel_w x channels), zero-padded to 4 bytes; bias units int32; requant: 8 x
    count bytes (dense: count float64 requantization scales, little-endian,
    4-byte aligned; the convolutions: count int32 Q31 multipliers, then count int32
    shifts); scale: count float32 (the weight scales); post: the
    activation's data (post_bytes); global average pooling: requant only
    (its multiplier and shift). All 0 for the other kinds without weights.
    Merges and affine (ELEMENTWISE): kernel the affine's units int8
    constant values (none for a merge), padded to 4 bytes; no bias;
    requant requant_words() int32; scale count pairs (float32 scale, int32
    zero point), each operand's (an affine: its input's, then the
    constant's)."""
    count = entry.quant[4]
    if entry.kind in ELEMENTWISE:   # kernel: an affine's constant; requant: words; scale: operands' (scale, zp)
        k = entry.units if entry.kind == anne_ops.LAYER_AFFINE else 0
        sizes = ((k + 3) & ~3, 0, 4 * requant_words(elementwise_op(entry)), 8 * count, 0)
        out = {}
        off = 0
        for name, n in zip(INT8_PARTS, sizes):
            out[name] = (off, n)
            off += n
        out["kernel"] = (0, k)
        return out
    kind, kp = entry.kind, entry.kparams
    k = (entry.units * entry.n_in if kind == anne_ops.LAYER_DENSE else
         kp[0] * entry.in_shape[-1] * entry.units if kind == anne_ops.LAYER_CONV1D else
         kp[0] * kp[1] * entry.in_shape[-1] * entry.units if kind == anne_ops.LAYER_CONV2D else
         kp[0] * kp[1] * entry.units if kind == anne_ops.LAYER_DEPTHWISE_CONV2D else 0)
    sizes = ((k + 3) & ~3, 4 * entry.units, 8 * count, 4 * count if entry.units else 0, post_bytes(entry.act))
    out = {}
    off = 0
    for name, n in zip(INT8_PARTS, sizes):
        out[name] = (off, n)
        off += n
    if k % 4:
        out["kernel"] = (0, k)
    return out


def check_quant(where, entry, prev):
    """An int8 entry's block (entry.quant) against what the format allows
    and against the layer before it (prev, None for the first layer):
    ValueError naming the field."""
    bad = where + FRAGMENTS["int8"] + ": "
    if entry.kind not in INT8_KINDS:
        raise ValueError(where + "%s 1 on %s (int8 is for dense, the convolutions, pooling, zero_padding2d, "
                         "flatten, reshape, affine and merge layers so far)" % (FRAGMENTS["dtype"], entry.kind_name))
    if (entry.kind in CONVS or entry.kind in ELEMENTWISE) and entry.act != anne_ops.LINEAR:
        raise ValueError(bad + "activation %s; an int8 %s has only its clamp" % (ACTIVATIONS[entry.act],
                                                                                 entry.kind_name))
    if entry.act in anne_ops.VECTOR and entry.act != anne_ops.SOFTMAX:
        raise ValueError(bad + "activation %s; int8 layers take softmax and element-wise ones"
                         % ACTIVATIONS[entry.act])
    in_scale, in_zp, out_scale, out_zp, count, lo, hi, act_scale, act_zp = entry.quant
    scales = (("input scale", in_scale), ("output scale", out_scale))
    zps = (("input zero point", in_zp), ("output zero point", out_zp), ("act_min", lo), ("act_max", hi))
    if entry.act != anne_ops.LINEAR:
        scales += (("activation output scale", act_scale),)
        zps += (("activation output zero point", act_zp),)
    elif act_scale != 0.0 or act_zp:
        raise ValueError(bad + "activation output scale %r, zero point %d without an activation (0.0, 0)"
                         % (act_scale, act_zp))
    for what, scale in scales:
        if not (_is_finite(scale) and scale > 0):
            raise ValueError(bad + "%s %r (> 0 and finite)" % (what, scale))
    for what, zp in zps:
        if not -128 <= zp <= 127:
            raise ValueError(bad + "%s %d (-128..127)" % (what, zp))
    if entry.kind in ELEMENTWISE:
        _check_elementwise(bad, entry, count)
    elif entry.kind in MEANS:    # TFLite's MEAN: requantized
        if count != 1 or (lo, hi) != (-128, 127):
            raise ValueError(bad + "%s: count %d, clamp %d..%d (1, -128..127)" % (entry.kind_name, count, lo, hi))
    elif entry.kind not in WEIGHTED:   # the values as they are (pooling: clamped)
        if count or (in_scale, in_zp) != (out_scale, out_zp) or (entry.kind not in POOLS and (lo, hi) != (-128, 127)):
            raise ValueError(bad + "%s: count %d, output scale and zero point %r, %d, clamp %d..%d "
                             "(0, the input's, -128..127)" % (entry.kind_name, count, out_scale, out_zp, lo, hi))
    elif count not in (1, entry.units):
        raise ValueError(bad + "count of weight scales %d (1, or units %d)" % (count, entry.units))
    if lo > hi:
        raise ValueError(bad + "act_min %d > act_max %d" % (lo, hi))
    if prev is not None and prev.quant is not None and (in_scale, in_zp) != int8_output(prev):
        # (prev: the layer whose output is this one's (first) input)
        raise ValueError(bad + "input scale %r zero point %d, the layer before outputs scale %r zero point %d"
                         % ((in_scale, in_zp) + int8_output(prev)))


def _check_elementwise(bad, entry, count):
    """An int8 merge's or affine's count (of operands) and kind parameters."""
    kp = entry.kparams
    if entry.kind == anne_ops.LAYER_AFFINE:
        if kp[1] not in AFFINE_OPS or kp[2] > 1 or any(kp[3:]):
            raise ValueError(bad + "affine kind parameters %s (stands_for, 17 18 or 19, 0 or 1, then 0)"
                             % ", ".join(str(v) for v in kp))
        if count != 2:
            raise ValueError(bad + "affine: count %d (2: the input and the constant)" % count)
        return
    n = len(entry.inputs or ())
    if count != n or (entry.kind != anne_ops.LAYER_CONCATENATE and n != 2):
        raise ValueError(bad + "%s: count %d for %d inputs (%s)" % (
            entry.kind_name, count, n, "the inputs" if entry.kind == anne_ops.LAYER_CONCATENATE else "2 and 2"))
    if entry.kind == anne_ops.LAYER_CONCATENATE:
        in_scale, in_zp, out_scale, out_zp, _, lo, hi = entry.quant[:7]
        if (in_scale, in_zp) != (out_scale, out_zp) or (lo, hi) != (-128, 127):
            raise ValueError(bad + "concatenate: output scale and zero point %r, %d, clamp %d..%d (the "
                             "inputs', -128..127)" % (out_scale, out_zp, lo, hi))


def check_operands(where, entry, buf, at, sources):
    """An int8 merge's or affine's data: each operand's (scale, zero point)
    (scale > 0 and finite, zero point -128..127; a merge's inputs' those of
    the layers they name, sources: their (scale, zero point), None for a
    float or unknown one), its multipliers (>= 0) and shifts (-31..31; add
    and subtract: <= 0, left shift 20). ValueError naming the field."""
    bad = where + FRAGMENTS["int8"] + ": "
    parts = int8_parts(entry)
    off = at + parts["scale"][0]
    qs = []
    for j in range(entry.quant[4]):
        scale, zp = struct.unpack_from("<fi", buf, off + 8 * j)
        if not (_is_finite(scale) and scale > 0) or not -128 <= zp <= 127:
            raise ValueError(bad + "operand %d: scale %r zero point %d (> 0 and finite, -128..127)" % (j, scale, zp))
        qs.append((scale, zp))
    if qs[0] != tuple(entry.quant[:2]):
        raise ValueError(bad + "operand 0: scale %r zero point %d, the block's input %r, %d"
                         % (qs[0] + tuple(entry.quant[:2])))
    for j, q in enumerate(sources or ()):
        if q is not None and qs[j] != tuple(q):
            raise ValueError(bad + "input %d: scale %r zero point %d, its layer outputs %r, %d" % ((j,) + qs[j] + tuple(q)))
    if entry.kind == anne_ops.LAYER_CONCATENATE:
        for j, q in enumerate(qs):
            if q != qs[0]:
                raise ValueError(bad + "concatenate: input %d's scale and zero point %r, %d differ from the "
                                 "output's (requantize before)" % ((j,) + q))
    op = elementwise_op(entry)
    words = struct.unpack_from("<%di" % requant_words(op), buf, at + parts["requant"][0])
    if op in (anne_ops.LAYER_ADD, anne_ops.LAYER_SUBTRACT):
        if words[0] != ADD_LEFT_SHIFT or any(words[j] < 0 or not -31 <= words[j + 1] <= 0 for j in (1, 3, 5)):
            raise ValueError(bad + "%s: left shift %d, multipliers and shifts %s (20; >= 0, -31..0)"
                             % (entry.kind_name, words[0], list(words[1:])))
    elif op == anne_ops.LAYER_MULTIPLY and (words[0] < 0 or not -31 <= words[1] <= 31):
        raise ValueError(bad + "multiply: multiplier %d shift %d (>= 0, -31..31)" % words)


def check_sources(i, qs, inputs, outputs, network_q):
    """Each input of int8 merge i ((scale, zero point) pairs qs, the layers
    it takes: inputs) against what its layer gives (outputs[j], the
    network's input: network_q): ValueError naming the input."""
    for j, src in enumerate(inputs):
        want = tuple(network_q if src == 255 else outputs[src])
        if tuple(qs[j]) != want:
            raise ValueError("layer %d: %sinput %d: scale %r zero point %d, its layer outputs %r, %d"
                             % ((i, FRAGMENTS["int8"] + ": ", j) + tuple(qs[j]) + want))


def check_int8_data(where, entry, buf, at=0):
    """An int8 layer's requantization scales and weight scales, read from
    buf (the layer's data starting at `at`): each float64 scale > 0 and
    finite (read as its bits: a board's float may be float32), each weight
    scale > 0 and finite. ValueError naming the layer (where), the field
    and the channel."""
    if entry.kind in ELEMENTWISE:
        check_operands(where, entry, buf, at, None)
        return
    parts = int8_parts(entry)
    count = entry.quant[4]
    bad = where + FRAGMENTS["int8"] + ": "
    off = at + parts["requant"][0]
    for j in range(count if entry.kind in Q31_KINDS else 0):
        m, shift = struct.unpack_from("<i", buf, off + 4 * j)[0], struct.unpack_from("<i", buf, off + 4 * (count + j))[0]
        if m < 0 or not -31 <= shift <= 31:
            raise ValueError(bad + "multiplier %d shift %d of channel %d (multiplier >= 0, shift -31..31)"
                             % (m, shift, j))
    for j in range(0 if entry.kind in Q31_KINDS else count):
        lo, hi = struct.unpack_from("<II", buf, off + 8 * j)
        if hi >> 31 or hi >> 20 == 0x7FF or (hi | lo) == 0:
            raise ValueError(bad + "requantization scale 0x%08x%08x of channel %d (> 0 and finite)"
                             % (hi, lo, j))
    off = at + parts["scale"][0]
    for j in range(count if entry.units else 0):
        v = struct.unpack_from("<f", buf, off + 4 * j)[0]
        if not (_is_finite(v) and v > 0):
            raise ValueError(bad + "weight scale %r of channel %d (> 0 and finite)" % (v, j))
    if entry.act == anne_ops.SOFTMAX:
        m, shift, diff_min = struct.unpack_from("<3i", buf, at + parts["post"][0])
        if m < 0 or not 0 <= shift <= 31 or diff_min > 0:
            raise ValueError(bad + "softmax multiplier %d, left shift %d, diff_min %d (>= 0, 0..31, <= 0)"
                             % (m, shift, diff_min))
