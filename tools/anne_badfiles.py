"""The table of bad `.anne` files (and of odd but valid ones), shared by the
host tests and the board-side tests (tests/fixtures/bad/):

    python3 tools/anne_badfiles.py --write-bad tests/fixtures/bad
"""

import binascii
import struct

import numpy as np

from anne_format import ACTIVATIONS, FLAG_BIAS, FRAGMENTS, Int8DenseSpec, LayerSpec, encode, parse

V1_ENTRY = 40
V2_ENTRY = 80
# The base file's metadata (version 2): a name, class names, a free key
# with a non-ASCII value.
META = {"name": "base", "unit": "\u00b0C", "classes": ["low", "mid", "high"]}

def _base_model():
    """A small valid model: 3 inputs -> dense 4 relu -> dense 3 softmax."""
    k1 = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 8
    b1 = np.array([0.1, -0.2, 0.3, -0.4], np.float32)
    k2 = (np.arange(12, dtype=np.float32).reshape(4, 3) - 6.5) / 10
    b2 = np.array([0.05, 0.0, -0.05], np.float32)
    return 3, [LayerSpec("relu", k1, b1), LayerSpec("softmax", k2, b2)]


def _conv_model():
    """A small valid sensor-window model: (6, 2) -> conv1d 3 filters, k 3,
    same, relu -> max pooling 2 -> flatten -> dense 2 softmax."""
    k1 = (np.arange(18, dtype=np.float32).reshape(3, 2, 3) - 8.5) / 10
    b1 = np.array([0.1, -0.1, 0.2], np.float32)
    k2 = (np.arange(18, dtype=np.float32).reshape(9, 2) - 8.5) / 12
    b2 = np.array([0.05, -0.05], np.float32)
    return (6, 2), [LayerSpec("relu", k1, b1, kind="conv1d", kparams=(3, 1, 1, 1)),
                    LayerSpec("linear", kind="max_pooling1d", kparams=(2, 2, 0)),
                    LayerSpec("linear", kind="flatten"),
                    LayerSpec("softmax", k2, b2)]


def _int8_model():
    """A small valid int8 model (format version 3): 3 inputs -> dense 4
    (per-channel weight scales, a RELU clamp) -> dense 3 (per tensor, no bias)."""
    k1 = np.array([[12, -40, 7], [-127, 3, 55], [90, 18, -6], [0, 127, -33]], np.int8)
    b1 = np.array([300, -1200, 45, 0], np.int32)
    k2 = np.array([[5, -17, 100, 2], [-60, 44, 9, 127], [1, -1, -90, 30]], np.int8)
    l1 = Int8DenseSpec(k1, b1, [0.004, 0.0062, 0.0051, 0.0037], (0.02, -9), (0.035, -128), (-128, 127))
    l2 = Int8DenseSpec(k2, None, [0.0049], (0.035, -128), (0.06, 11), (-128, 127))
    return 3, [l1, l2]


def int8_good_file():
    n, layers = _int8_model()
    return encode(n, layers, metadata={"name": "int8"}, version=3)


def conv_good_file():
    shape, layers = _conv_model()
    return encode(shape, layers, metadata={"name": "conv"})


def base_good_file(version=2):
    n, layers = _base_model()
    return encode(n, layers, metadata=META if version >= 2 else None, version=version)


def _recrc(b):
    b = bytearray(b)
    struct.pack_into("<I", b, len(b) - 4, binascii.crc32(bytes(b[:-4])) & 0xFFFFFFFF)
    return bytes(b)


def _patch(good, fmt, offset, *values):
    b = bytearray(good)
    struct.pack_into(fmt, b, offset, *values)
    return _recrc(b)


def bad_files(good_bytes=None):
    """Returns [(name, bytes, expected_message_fragment)]: each file has exactly
    one defect (its CRC is recomputed unless the defect is the CRC or a
    truncation). good_bytes must be a valid file with at least 2 layers, each
    with a bias; by default: the version-1 table of base_good_file(1), then
    the version-2 one of base_good_file(2), its names starting "v2_"."""
    if good_bytes is None:
        return (bad_files(base_good_file(1)) + [("v2_" + n, d, f) for n, d, f in bad_files(base_good_file(2))]
                + _bad_conv_files() + _bad_files_v3() + _bad_graph_files() + _bad_int8_files())
    good = bytes(good_bytes)
    m = parse(good)
    if m.version == 2:
        return _bad_files_v2(good, m)
    ENTRY_SIZE = V1_ENTRY
    if len(m.layers) < 2 or not all(l.has_bias for l in m.layers):
        raise ValueError("bad_files needs a model with >= 2 layers, all with bias")
    F = FRAGMENTS
    hs = m.header_size
    L0, L1 = m.layers[0], m.layers[1]
    e0, e1 = hs, hs + ENTRY_SIZE          # entry offsets
    table_end = hs + ENTRY_SIZE * len(m.layers)
    last = m.layers[-1]
    e_last = hs + ENTRY_SIZE * last.index
    out = []

    def add(name, data, frag):
        out.append((name, data, frag))

    # truncation at every section
    add("empty", b"", F["truncated"])
    add("truncated_magic_only", good[:4], F["truncated"])
    add("truncated_header", good[:12], F["truncated"])
    add("truncated_layer_table", good[:table_end - 20], F["truncated"])
    add("truncated_table_end", good[:table_end], F["truncated"])
    for l in m.layers:
        add("truncated_layer%d_kernel" % l.index, good[:l.data_offset + 6], F["truncated"])
        add("truncated_layer%d_bias" % l.index,
            good[:l.data_offset + l.data_size - 2], F["truncated"])
    add("truncated_crc", good[:-2], F["truncated"])
    add("truncated_no_crc", good[:-4], F["truncated"])
    # CRC
    b = bytearray(good); b[L0.data_offset] ^= 0x01  # lowest mantissa bit: stays finite
    add("crc_flipped_weight_bit", bytes(b), F["crc"])
    b = bytearray(good); b[-1] ^= 0x80
    add("crc_flipped_crc", bytes(b), F["crc"])
    b = bytearray(good); b[e0 + 12] ^= 0x01  # the reserved word: ignored, but CRC'd
    add("crc_flipped_reserved_word", bytes(b), F["crc"])
    add("crc_zeroed", good[:-4] + b"\0\0\0\0", F["crc"])
    # header
    add("bad_magic", _patch(good, "<4s", 0, b"ANNX"), F["magic"])
    add("bad_magic_lowercase", _patch(good, "<4s", 0, b"anne"), F["magic"])
    add("version_0", _patch(good, "<H", 4, 0), F["version"])
    add("version_4", _patch(good, "<H", 4, 4), F["version"])
    add("header_size_12", _patch(good, "<H", 6, 12), F["header_size"])
    add("header_size_0", _patch(good, "<H", 6, 0), F["header_size"])
    add("zero_layers", _patch(good, "<H", 8, 0), F["layer_count"])
    add("layer_count_256", _patch(good, "<H", 8, 256), F["layer_count"])
    add("header_flags", _patch(good, "<H", 10, 1), F["flags"])
    add("n_inputs_0", _patch(good, "<I", 12, 0), F["n_inputs"])
    add("n_inputs_65536", _patch(good, "<I", 12, 65536), F["n_inputs"])
    # layer entries
    add("kind_0", _patch(good, "<B", e0, 0), F["kind"])
    add("kind_2", _patch(good, "<B", e1, 2), F["kind"])
    add("dtype_1", _patch(good, "<B", e0 + 3, 1), F["dtype"])
    add("activation_id_30", _patch(good, "<B", e0 + 1, len(ACTIVATIONS)), F["activation"])
    add("activation_id_255", _patch(good, "<B", e1 + 1, 255), F["activation"])
    add("layer_flags_bit3", _patch(good, "<B", e0 + 2, FLAG_BIAS | 0x08), F["flags"])
    add("layer_flags_bit7", _patch(good, "<B", e1 + 2, FLAG_BIAS | 0x80), F["flags"])
    add("units_0", _patch(good, "<I", e0 + 4, 0), F["units"])
    add("units_65536", _patch(good, "<I", e_last + 4, 65536), F["units"])
    add("units_huge", _patch(good, "<I", e0 + 4, 0xFFFFFFFF), F["units"])
    add("data_offset_misaligned", _patch(good, "<I", e0 + 8, L0.data_offset + 2), F["align"])
    add("data_offset_in_table", _patch(good, "<I", e0 + 8, table_end - 4), F["overlap"])
    add("data_offset_in_header", _patch(good, "<I", e0 + 8, 8), F["overlap"])
    add("data_offset_overlaps_previous",
        _patch(good, "<I", e1 + 8, L1.data_offset - 4), F["overlap"])
    add("data_offset_past_end", _patch(good, "<I", e_last + 8, len(good) + 64), F["truncated"])
    # shapes that do not chain: the data is too short for n_in * units
    add("last_units_too_big", _patch(good, "<I", e_last + 4, last.units + 1), F["truncated"])
    add("n_inputs_too_big", _patch(good, "<I", 12, m.n_inputs + 1), F["overlap"])
    # non-finite values with a correct CRC
    add("nan_weight", _patch(good, "<f", L0.data_offset + 4, float("nan")), F["finite"])
    add("inf_bias", _patch(good, "<f", last.data_offset + last.data_size - 4,
                           float("-inf")), F["finite"])
    add("nan_parameter", _patch(good, "<f", e0 + 16 + 4, float("nan")), F["finite"])
    add("inf_parameter", _patch(good, "<f", e1 + 16 + 20, float("inf")), F["finite"])
    # glu with an odd number of units (a self-consistent file otherwise)
    n, layers = _base_model()
    layers[1].activation = "glu"  # units 3
    add("glu_odd_units", encode(n, layers, check=False, version=1), F["glu"])
    return out


def _bad_files_v2(good, m):
    """The defects of a version-2 file (docs/FORMAT.md), the ones its
    header, entries and metadata add and the ones every version shares."""
    F = FRAGMENTS
    if len(m.layers) < 2 or not all(l.has_bias for l in m.layers) or not m.metadata:
        raise ValueError("bad_files needs a model with >= 2 layers, all with bias, and metadata")
    hs, es = m.header_size, m.entry_size
    L0, L1 = m.layers[0], m.layers[1]
    e0, e1 = hs, hs + es
    table_end = hs + es * len(m.layers)
    last = m.layers[-1]
    e_last = hs + es * last.index
    meta_offset, meta_size = struct.unpack_from("<II", good, 24)
    out = []

    def add(name, data, frag):
        out.append((name, data, frag))

    # truncation at every section
    add("truncated_header", good[:20], F["truncated"])
    add("truncated_layer_table", good[:table_end - 30], F["truncated"])
    add("truncated_metadata", good[:meta_offset + 3], F["truncated"])
    add("truncated_layer0_kernel", good[:L0.data_offset + 6], F["truncated"])
    add("truncated_last_bias", good[:last.data_offset + last.data_size - 2], F["truncated"])
    add("truncated_no_crc", good[:-4], F["truncated"])
    # CRC: a flipped bit in each section that stays valid otherwise
    b = bytearray(good); b[meta_offset + meta_size - 2] ^= 0x01  # an ASCII letter of a value
    add("crc_flipped_metadata", bytes(b), F["crc"])
    b = bytearray(good); b[L1.data_offset] ^= 0x01
    add("crc_flipped_weight_bit", bytes(b), F["crc"])
    b = bytearray(good); b[-1] ^= 0x80
    add("crc_flipped_crc", bytes(b), F["crc"])
    # header
    add("version_4", _patch(good, "<H", 4, 4), F["version"])
    add("header_size_16", _patch(good, "<H", 6, 16), F["header_size"])
    add("entry_size_40", _patch(good, "<H", 12, 40), F["entry_size"])
    add("header_reserved", _patch(good, "<H", 14, 1), F["reserved"])
    add("header_flags", _patch(good, "<H", 10, 2), F["flags"])
    add("zero_layers", _patch(good, "<H", 8, 0), F["layer_count"])
    add("input_rank_0", _patch(good, "<H", 16, 0), F["shape"])
    add("input_rank_3", _patch(good, "<H", 16, 3), F["shape"])
    add("input_size_0", _patch(good, "<H", 18, 0), F["shape"])
    add("input_rank_1_two_sizes", _patch(good, "<H", 20, 2), F["shape"])
    add("input_shape_reserved", _patch(good, "<H", 22, 1), F["shape"])
    add("input_4_layer_takes_3", _patch(good, "<H", 18, m.n_inputs + 1), F["chain"])
    add("input_rank_2", _patch(_patch(good, "<HHH", 16, 2, 1, m.n_inputs), "<HHH", e0 + 4, 2, 1, m.n_inputs),
        F["chain"])
    # layer entries
    add("kind_200", _patch(good, "<B", e1, 200), F["kind"])
    add("dtype_int8", _patch(good, "<B", e0 + 3, 1), F["dtype"])
    add("activation_id_255", _patch(good, "<B", e1 + 1, 255), F["activation"])
    add("layer_flags_bit3", _patch(good, "<B", e0 + 2, FLAG_BIAS | 0x08), F["flags"])
    add("units_0", _patch(good, "<I", e0 + 20, 0), F["units"])
    add("layer1_input_shape", _patch(good, "<H", e1 + 6, L1.n_in + 1), F["chain"])
    add("layer0_output_shape", _patch(good, "<H", e0 + 14, L0.n_out + 1), F["chain"])
    add("layer0_output_rank_0", _patch(good, "<H", e0 + 12, 0), F["shape"])
    add("units_disagree_with_shapes", _patch(good, "<I", e_last + 20, last.units + 1), F["chain"])
    add("kind_parameter_set", _patch(good, "<H", e0 + 32, 3), F["reserved"])
    add("int8_field_set", _patch(good, "<I", e1 + 72, 16), F["reserved"])
    add("data_size_short", _patch(good, "<I", e0 + 28, L0.data_size - 4), F["data_size"])
    add("data_offset_misaligned", _patch(good, "<I", e0 + 24, L0.data_offset + 2), F["align"])
    add("data_offset_in_metadata", _patch(good, "<I", e0 + 24, meta_offset + 4), F["overlap"])
    add("data_offset_overlaps_previous", _patch(good, "<I", e1 + 24, L1.data_offset - 4), F["overlap"])
    add("nan_parameter", _patch(good, "<f", e0 + 48 + 4, float("nan")), F["finite"])
    add("nan_weight", _patch(good, "<f", L0.data_offset + 4, float("nan")), F["finite"])
    n, layers = _base_model()
    layers[1].activation = "glu"  # units 3
    add("glu_odd_units", encode(n, layers, check=False), F["glu"])
    # metadata
    add("metadata_too_big", _patch(good, "<I", 28, 5000), F["metadata"])
    add("metadata_in_table", _patch(good, "<I", 24, table_end - 8), F["metadata"])
    add("metadata_offset_without_size", _patch(good, "<I", 28, 0), F["metadata"])
    count = struct.unpack_from("<H", good, meta_offset)[0]
    add("metadata_count_high", _patch(good, "<H", meta_offset, count + 1), F["metadata"])
    add("metadata_count_low", _patch(good, "<H", meta_offset, count - 1), F["metadata"])
    key_len = struct.unpack_from("<H", good, meta_offset + 2)[0]
    add("metadata_key_past_end", _patch(good, "<H", meta_offset + 2, 0x7FFF), F["metadata"])
    add("metadata_empty_key", _patch(good, "<HH", meta_offset + 2, 0, key_len - 2), F["metadata"])
    b = bytearray(good); b[meta_offset + 4] = 0xFF  # the first key's first byte
    add("metadata_not_utf8", _recrc(bytes(b)), F["metadata"])
    first_key = good[meta_offset + 4:meta_offset + 4 + key_len]
    second = meta_offset + 4 + key_len
    second = second + 2 + struct.unpack_from("<H", good, second)[0]  # after the first value
    b = bytearray(good); b[second + 2:second + 2 + key_len] = first_key  # only if same length
    if struct.unpack_from("<H", good, second)[0] == key_len:
        add("metadata_key_twice", _recrc(bytes(b)), F["metadata"])
    return out


def graph_file(concat=False):
    """A small valid graph (version 3): 4 inputs -> dense 4 (layer 0) ->
    add(network input, layer 0) -> dense 2; with concat, 4 inputs -> dense 4
    -> dense 5 -> concatenate(layer 0, layer 1) -> dense 2."""
    rng = np.random.default_rng(7)
    w = lambda *s: rng.uniform(-1, 1, s).astype(np.float32)
    if concat:
        layers = [LayerSpec("relu", w(4, 4), w(4)), LayerSpec("tanh", w(4, 5), w(5)),
                  LayerSpec("linear", kind="concatenate", inputs=(0, 1)), LayerSpec("softmax", w(9, 2), w(2))]
    else:
        layers = [LayerSpec("relu", w(4, 4), w(4)), LayerSpec("linear", kind="add", inputs=(-1, 0)),
                  LayerSpec("softmax", w(4, 2), w(2))]
    return encode(4, layers, version=3)


def _bad_graph_files():
    """Graphs (version 3) the readers refuse: a merge's inputs (count,
    order, shapes), an output no layer reads."""
    F = FRAGMENTS
    good, cat = graph_file(), graph_file(True)
    m = parse(good)
    e1, c2 = m.header_size + m.entry_size, m.header_size + 2 * m.entry_size
    return [("graph_add_one_input", _patch(good, "<BB", e1 + 88, 1, 0), F["inputs"]),
            ("graph_add_8_inputs", _patch(good, "<B", e1 + 88, 8), F["inputs"]),
            ("graph_add_takes_itself", _patch(good, "<B", e1 + 90, 1), F["inputs"]),
            ("graph_output_unused", _patch(good, "<B", e1 + 90, 255), F["inputs"]),
            ("graph_add_shapes_differ", _patch(cat, "<B", c2, 17), F["chain"]),
            ("graph_concat_output_wrong", _patch(cat, "<H", c2 + 14, 8), F["chain"]),
            ("graph_dense_two_inputs", _patch(cat, "<BBB", c2 + m.entry_size + 88, 2, 2, 1),
             F["inputs"])]


def _bad_files_v3():
    """What version 3 adds (docs/FORMAT.md): rank-3 shapes, 16 kind
    parameter slots, each layer's inputs, the int8 block; and the version-2
    defects that move with its larger entry."""
    F = FRAGMENTS
    good = base_good_file(3)
    m = parse(good)
    es = m.entry_size
    e0, e1 = m.header_size, m.header_size + es
    L0 = m.layers[0]
    out = []

    def add(name, data, frag):
        out.append(("v3_" + name, data, frag))

    add("entry_size_80", _patch(good, "<H", 12, 80), F["entry_size"])
    add("input_rank_4", _patch(good, "<H", 16, 4), F["shape"])
    add("input_rank_3_dim2_0", _patch(good, "<H", 16, 3), F["shape"])
    add("input_rank_1_dim2_set", _patch(good, "<H", 22, 1), F["shape"])
    add("input_rank_3", _patch(_patch(good, "<HHHH", 16, 3, m.n_inputs, 1, 1), "<HHHH", e0 + 4, 3, m.n_inputs, 1, 1),
        F["chain"])   # dense takes a flat input
    add("kind_slot_9_set", _patch(good, "<H", e0 + 32 + 2 * 9, 1), F["reserved"])
    add("nan_parameter", _patch(good, "<f", e0 + 64 + 4, float("nan")), F["finite"])
    add("inputs_0", _patch(good, "<B", e0 + 88, 0), F["inputs"])
    add("inputs_2", _patch(good, "<BB", e1 + 88, 2, 0), F["inputs"])
    add("layer1_takes_layer1", _patch(good, "<B", e1 + 89, 1), F["inputs"])
    add("layer1_takes_network_input", _patch(good, "<B", e1 + 89, 255), F["chain"])  # (4,) stored, (3,) given
    add("layer0_takes_layer0", _patch(good, "<B", e0 + 89, 0), F["inputs"])
    add("inputs_unused_set", _patch(good, "<B", e1 + 95, 1), F["inputs"])
    add("int8_input_scale_set", _patch(good, "<f", e1 + 96, 0.5), F["reserved"])
    add("int8_last_field_set", _patch(good, "<I", e0 + 124, 1), F["reserved"])
    add("dtype_int8", _patch(good, "<B", e0 + 3, 1), F["int8"])   # its int8 block is all 0
    add("data_size_short", _patch(good, "<I", e0 + 28, L0.data_size - 4), F["data_size"])
    # a conv1d's slots past its four, in a conv file
    shape, layers = _conv_model()
    conv = encode(shape, layers, version=3)
    add("conv1d_slot_5_set", _patch(conv, "<H", parse(conv).header_size + 32 + 2 * 5, 1), F["kind_params"])
    return out


def _bad_int8_files():
    """The defects of an int8 file's layer table (int8_good_file()): the
    codec refuses them from the entries alone (every board, as the PC)."""
    F = FRAGMENTS
    good = int8_good_file()
    m = parse(good)
    e0, e1 = m.header_size, m.header_size + m.entry_size
    L0, L1 = m.layers
    nan, inf = float("nan"), float("inf")
    return [("int8_" + n, d, f) for n, d, f in [
        ("input_scale_0", _patch(good, "<f", e0 + 96, 0.0), F["int8"]),
        ("input_scale_negative", _patch(good, "<f", e0 + 96, -0.02), F["int8"]),
        ("input_scale_nan", _patch(good, "<f", e0 + 96, nan), F["int8"]),
        ("output_scale_inf", _patch(_patch(good, "<f", e0 + 104, inf), "<f", e1 + 96, inf), F["int8"]),
        ("output_scale_0", _patch(good, "<f", e1 + 104, 0.0), F["int8"]),
        ("input_zero_point_128", _patch(good, "<i", e0 + 100, 128), F["int8"]),
        ("output_zero_point_minus_129", _patch(_patch(good, "<i", e0 + 108, -129), "<i", e1 + 100, -129), F["int8"]),
        ("count_0", _patch(good, "<I", e0 + 112, 0), F["int8"]),
        ("count_2", _patch(good, "<I", e0 + 112, 2), F["int8"]),   # neither 1 nor units (4)
        ("count_units_plus_1", _patch(good, "<I", e1 + 112, L1.units + 1), F["int8"]),
        ("act_min_above_act_max", _patch(good, "<bb", e1 + 116, 20, 10), F["int8"]),
        ("activation_set", _patch(good, "<B", e0 + 1, 1), F["int8"]),   # the clamp is the activation
        ("input_scale_not_previous_output", _patch(good, "<f", e1 + 96, 0.036), F["int8"]),
        ("input_zero_point_not_previous_output", _patch(good, "<i", e1 + 100, -127), F["int8"]),
        ("reserved_set", _patch(good, "<B", e0 + 118, 1), F["reserved"]),
        ("activation_scale_without_activation", _patch(good, "<f", e1 + 120, 0.5), F["int8"]),
        ("activation_zero_point_without_activation", _patch(good, "<b", e1 + 124, 3), F["int8"]),
        ("reserved_last_set", _patch(good, "<B", e1 + 127, 1), F["reserved"]),
        ("mixed_dtypes", _patch(good, "<B", e1 + 3, 0), F["dtype_mix"]),
        ("data_size_short", _patch(good, "<I", e0 + 28, L0.data_size - 4), F["data_size"]),
        ("data_size_float", _patch(good, "<I", e0 + 28, 4 * (L0.n_in + 1) * L0.units), F["data_size"]),
        ("truncated_kernel", good[:L0.data_offset + 5], F["truncated"]),
        ("truncated_scales", good[:L1.data_offset + L1.data_size - 2], F["truncated"]),
    ]] + _bad_int8_softmax_table()


def _bad_int8_softmax_table():
    """An int8 softmax layer's entry defects (int8_softmax_file())."""
    F = FRAGMENTS
    sm = int8_softmax_file()
    e0 = parse(sm).header_size
    return [("int8_softmax_" + n, d, f) for n, d, f in [
        ("activation_scale_0", _patch(sm, "<f", e0 + 120, 0.0), F["int8"]),
        ("tanh_with_softmax_data", _patch(sm, "<B", e0 + 1, ACTIVATIONS.index("tanh")), F["data_size"]),
        ("log_softmax", _patch(sm, "<B", e0 + 1, ACTIVATIONS.index("log_softmax")), F["int8"]),
    ]]


def bad_int8_data_files():
    """[(name, bytes, fragment)]: int8 files whose table is valid but whose
    layer data holds a bad requantization scale (float64: NaN, inf, 0,
    -0, negative) or weight scale: a reader
    refuses them when it reads the data (anne_file_int8.check_int8_data)."""
    F = FRAGMENTS
    good = int8_good_file()
    m = parse(good)
    L0, L1 = m.layers
    import anne_file_int8
    p0 = {k: L0.data_offset + off for k, (off, _) in anne_file_int8.int8_parts(m.layers[0]).items()}
    p1 = {k: L1.data_offset + off for k, (off, _) in anne_file_int8.int8_parts(m.layers[1]).items()}
    return [("int8_" + n, d, f) for n, d, f in [
        ("requant_scale_nan", _patch(good, "<d", p0["requant"] + 8, float("nan")), F["int8"]),
        ("requant_scale_inf", _patch(good, "<d", p1["requant"], float("inf")), F["int8"]),
        ("requant_scale_minus_inf", _patch(good, "<d", p0["requant"], float("-inf")), F["int8"]),
        ("requant_scale_0", _patch(good, "<d", p0["requant"] + 16, 0.0), F["int8"]),
        ("requant_scale_minus_0", _patch(good, "<d", p0["requant"] + 24, -0.0), F["int8"]),
        ("requant_scale_negative", _patch(good, "<d", p1["requant"], -0.0123), F["int8"]),
        ("weight_scale_0", _patch(good, "<f", p0["scale"] + 12, 0.0), F["int8"]),
        ("weight_scale_negative", _patch(good, "<f", p1["scale"], -0.0049), F["int8"]),
        ("weight_scale_nan", _patch(good, "<f", p0["scale"], float("nan")), F["int8"]),
    ]] + _bad_int8_softmax_data() + _bad_int8_merge_data()


def _bad_int8_merge_data():
    """An int8 graph's merge and affine data a reader refuses
    (tests/fixtures/int8/graph_mul_sub.tflite and graph_bn_unfolded as
    anne-convert writes them)."""
    F = FRAGMENTS
    import anne_file_int8
    ms, bn = tflite_int8_files(("graph_mul_sub", "graph_bn_unfolded"))
    ms, bn = ms[1], bn[1]
    layers = parse(ms).layers
    sub = [L for L in layers if L.kind_name == "subtract"][0]
    mul = [L for L in layers if L.kind_name == "multiply"][0]
    aff = parse(bn).layers[1]      # an affine add (a BatchNormalization's ADD)
    at = lambda L, part: L.data_offset + anne_file_int8.int8_parts(L)[part][0]  # noqa: E731
    return [("int8_" + n, d, f) for n, d, f in [
        ("subtract_left_shift_19", _patch(ms, "<i", at(sub, "requant"), 19), F["int8"]),
        ("subtract_shift_positive", _patch(ms, "<i", at(sub, "requant") + 8, 1), F["int8"]),
        ("multiply_multiplier_negative", _patch(ms, "<i", at(mul, "requant"), -5), F["int8"]),
        ("merge_operand_zero_point_300", _patch(ms, "<i", at(sub, "scale") + 12, 300), F["int8"]),
        ("merge_operand_0_not_the_input", _patch(ms, "<f", at(sub, "scale"), 0.5), F["int8"]),
        ("merge_input_not_its_layers", _patch(ms, "<f", at(sub, "scale") + 8, 0.5), F["int8"]),
        ("affine_constant_scale_0", _patch(bn, "<f", at(aff, "scale") + 8, 0.0), F["int8"]),
    ]]


def _bad_int8_softmax_data():
    """Softmax parameters a reader refuses (int8_softmax_file())."""
    F = FRAGMENTS
    import anne_file_int8
    sm = int8_softmax_file()
    L = parse(sm).layers[0]
    post = L.data_offset + anne_file_int8.int8_parts(L)["post"][0]
    return [("int8_softmax_" + n, d, f) for n, d, f in [
        ("multiplier_negative", _patch(sm, "<i", post, -5), F["int8"]),
        ("left_shift_32", _patch(sm, "<i", post + 4, 32), F["int8"]),
        ("diff_min_positive", _patch(sm, "<i", post + 8, 1), F["int8"]),
    ]]


def valid_int8_files():
    """[(name, bytes)]: valid int8 files: the plain one, and one with a gap
    before its data and between its layers' data."""
    good = int8_good_file()
    out = [("int8", good)]
    m = parse(good)
    L1 = m.layers[1]
    b = bytearray(good[:L1.data_offset]) + bytes(8) + bytearray(good[L1.data_offset:-4])
    struct.pack_into("<I", b, m.header_size + m.entry_size + 24, L1.data_offset + 8)
    out.append(("int8_gap_between_layers", _recrc(bytes(b) + b"\0\0\0\0")))
    return out


TFLITE_FIXTURES = ("dense_float_io", "dense_linear", "dense_per_tensor", "dense_relu6_chain", "dense_relu_chain",
                   "dense_relu_softmax", "dense_relu6_softmax", "act_softmax", "act_sigmoid", "act_tanh",
                   "act_gelu", "act_leaky_relu", "act_hard_swish", "act_elu", "conv1d_dense", "conv1d_variants",
                   "pool1d_chain", "pool1d_global_max", "conv1d_dilated_chain", "conv1d_depthwise_pad", "act_elu_float")


# graphs (tools/anne_tflite_graph.py): int8_graph_index.json, for tests/board/test_int8_graph.py
TFLITE_GRAPH_FIXTURES = ("graph_dense_residual", "graph_conv1d_resnet", "graph_conv2d_resnet", "graph_concat",
                         "graph_mul_sub",
                         "graph_bn_unfolded", "residual_add_mul", "bn_global_max", "pool1d_mean",
                         "conv1d_dilated", "conv2d_dilated_int8", "conv1d_causal_dilated", "graph_depthwise1d")


def int8_softmax_file():
    """tests/fixtures/int8/act_softmax.tflite as anne-convert writes it: one
    int8 dense layer with softmax after its clamp."""
    import os
    import anne_tflite_import
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "int8")
    return anne_tflite_import.import_tflite(os.path.join(here, "act_softmax.tflite")).encode()


def tflite_int8_files(names=TFLITE_FIXTURES):
    """[(name, bytes, fixture)]: tests/fixtures/int8's models (names) as
    anne-convert writes them, with their fixture JSON (rows and LiteRT's
    outputs: int8, or float32 where "io" says so)."""
    import json
    import os
    import anne_tflite_import
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "int8")
    out = []
    for name in names:
        with open(os.path.join(here, name + ".json")) as f:
            fixture = json.load(f)
        data = anne_tflite_import.import_tflite(os.path.join(here, name + ".tflite")).encode()
        out.append((name, data, fixture))
    return out


def _bad_conv_files():
    """The defects of the layer kinds beyond dense (conv_good_file())."""
    F = FRAGMENTS
    good = conv_good_file()
    m = parse(good)
    hs, es = m.header_size, m.entry_size
    e0, e1, e2 = hs, hs + es, hs + 2 * es
    L0 = m.layers[0]
    glu = ACTIVATIONS.index("glu")
    return [
        ("conv_truncated_kernel", good[:L0.data_offset + 6], F["truncated"]),
        ("conv_kernel_size_0", _patch(good, "<H", e0 + 32, 0), F["kind_params"]),
        ("conv_strides_0", _patch(good, "<H", e0 + 34, 0), F["kind_params"]),
        ("conv_padding_3", _patch(good, "<H", e0 + 36, 3), F["kind_params"]),
        ("conv_dilation_0", _patch(good, "<H", e0 + 38, 0), F["kind_params"]),
        ("conv_kind_param_5_set", _patch(good, "<H", e0 + 40, 1), F["kind_params"]),
        # (kernel_size - 1) * dilation_rate >= 2**31: wrapped on 32-bit boards
        ("conv_reach_2_32", _patch(_patch(good, "<H", e0 + 32, 65535), "<H", e0 + 38, 65535), F["kind_params"]),
        ("conv_glu", _patch(good, "<B", e0 + 1, glu), F["glu"]),
        ("conv_units_0", _patch(good, "<I", e0 + 20, 0), F["units"]),
        ("conv_data_size_short", _patch(good, "<I", e0 + 28, L0.data_size - 4), F["data_size"]),
        ("conv_rank_1_input", _patch(_patch(good, "<HHH", 16, 1, 12, 0), "<HHH", e0 + 4, 1, 12, 0), F["chain"]),
        ("conv_output_shape", _patch(good, "<H", e0 + 14, 7), F["chain"]),
        ("pool_padding_causal", _patch(good, "<H", e1 + 36, 2), F["kind_params"]),
        ("pool_size_0", _patch(good, "<H", e1 + 32, 0), F["kind_params"]),
        ("pool_window_too_long", _patch(good, "<H", e1 + 32, 7), F["chain"]),
        ("pool_units_set", _patch(good, "<I", e1 + 20, 2), F["reserved"]),
        ("pool_activation_set", _patch(good, "<B", e1 + 1, 1), F["reserved"]),
        ("flatten_output_shape", _patch(good, "<H", e2 + 14, 10), F["chain"]),
        ("reshape_wrong_size", _patch(_patch(good, "<B", e2, 8), "<H", e2 + 14, 10), F["chain"]),
    ] + _bad_affine_files() + _bad_upsampling_files()


def _bad_affine_files():
    """An affine layer (per-channel scale and offset) with each of its defects."""
    F = FRAGMENTS
    spec = LayerSpec("linear", np.array([2.0, 0.5], np.float32), np.array([1.0, -1.0], np.float32),
                     kind="affine", kparams=(1,))
    good = encode((3, 2), [spec, LayerSpec("linear", kind="flatten"),
                           LayerSpec("relu", np.ones((6, 2), np.float32), np.zeros(2, np.float32))])
    e0 = parse(good).header_size
    return [
        ("affine_channels_wrong", _patch(good, "<I", e0 + 20, 3), F["chain"]),
        ("affine_activation_set", _patch(good, "<B", e0 + 1, 1), F["reserved"]),
        ("affine_without_offset", _patch(good, "<B", e0 + 2, 0), F["reserved"]),
        ("affine_code_4", _patch(good, "<H", e0 + 32, 4), F["kind_params"]),
    ]


def _bad_upsampling_files():
    """An UpSampling1D layer ((3, 2) -> size 2 -> (6, 2)) with each of its defects."""
    F = FRAGMENTS
    good = encode((3, 2), [LayerSpec("linear", kind="up_sampling1d", kparams=(2,)), LayerSpec("linear", kind="flatten"),
                           LayerSpec("relu", np.ones((12, 2), np.float32), np.zeros(2, np.float32))])
    e0 = parse(good).header_size
    return [
        ("up_sampling1d_size_0", _patch(good, "<H", e0 + 32, 0), F["kind_params"]),
        ("up_sampling1d_slot_1_set", _patch(good, "<H", e0 + 34, 1), F["kind_params"]),
        ("up_sampling1d_output_shape", _patch(good, "<H", e0 + 14, 5), F["chain"]),
        ("up_sampling1d_units_set", _patch(good, "<I", e0 + 20, 2), F["reserved"]),
    ]


def odd_valid_files():
    """Unusual but valid files: [(name, bytes)]; all compute the same as
    base_good_file()."""
    n, layers = _base_model()
    good = encode(n, layers, version=1)
    m = parse(good)
    out = []
    # header_size 20: 4 extra header bytes, everything after shifted by 4
    b = bytearray(good[:16]) + b"\xAA\xBB\xCC\xDD" + bytearray(good[16:-4])
    struct.pack_into("<H", b, 6, 20)
    for l in m.layers:
        struct.pack_into("<I", b, 20 + V1_ENTRY * l.index + 8, l.data_offset + 4)
    out.append(("header_size_20", _recrc(bytes(b) + b"\0\0\0\0")))
    # 8 bytes of zero padding between the two layers' data and before the CRC
    L1 = m.layers[1]
    b = bytearray(good[:L1.data_offset]) + b"\0" * 8 + bytearray(good[L1.data_offset:-4]) + b"\0" * 4
    struct.pack_into("<I", b, 16 + V1_ENTRY + 8, L1.data_offset + 8)
    out.append(("padding_between_layers", _recrc(bytes(b) + b"\0\0\0\0")))
    # version 2: the plain file, one without metadata, and longer headers,
    # longer entries and a gap before the data
    good = base_good_file(2)
    m = parse(good)
    out.append(("v2", good))
    out.append(("v2_no_metadata", encode(n, layers)))
    out.append(("v2_header_size_36", _relayout_v2(good, m, extra_header=4)))
    out.append(("v2_entry_size_88", _relayout_v2(good, m, extra_entry=8)))
    out.append(("v2_gap_before_data", _relayout_v2(good, m, gap=12)))
    out.append(("v2_gap_before_metadata", _gap_before_metadata(good, m, 1000)))
    out.append(("conv", conv_good_file()))
    # version 3: the plain file, the conv file, and a (3, 1, 1) input flattened
    out.append(("v3", base_good_file(3)))
    shape, conv_layers = _conv_model()
    out.append(("v3_conv", encode(shape, conv_layers, metadata={"name": "conv"}, version=3)))
    out.append(("v3_rank3_input", encode((3, 1, 1), [LayerSpec("linear", kind="flatten")] + layers, version=3)))
    return out


def _relayout_v2(good, m, extra_header=0, extra_entry=0, gap=0):
    """good (version 2) with extra_header bytes after its header, extra_entry
    bytes after each table entry and gap more bytes before the layer data."""
    hs, es, count = m.header_size, m.entry_size, len(m.layers)
    table_end = hs + es * count
    shift = extra_header + extra_entry * count
    pad = -shift % 4 + gap
    b = bytearray(good[:hs]) + b"\xAA" * extra_header
    for i in range(count):
        b += good[hs + es * i:hs + es * (i + 1)] + b"\xBB" * extra_entry
    b += good[table_end:m.layers[0].data_offset] + b"\0" * pad + good[m.layers[0].data_offset:]
    meta_offset = struct.unpack_from("<I", good, 24)[0]
    struct.pack_into("<H", b, 6, hs + extra_header)
    struct.pack_into("<H", b, 12, es + extra_entry)
    struct.pack_into("<I", b, 24, meta_offset + shift if meta_offset else 0)
    for i, l in enumerate(m.layers):
        struct.pack_into("<I", b, hs + extra_header + (es + extra_entry) * i + 24,
                         l.data_offset + shift + pad)
    return _recrc(bytes(b))


def _gap_before_metadata(good, m, gap):
    """good (version 2, with metadata right after its table) with gap zero
    bytes (a multiple of 4) before the metadata: valid, the readers skip
    it (a board reads it in small pieces)."""
    meta_offset = struct.unpack_from("<I", good, 24)[0]
    b = bytearray(good[:meta_offset]) + bytes(gap) + bytearray(good[meta_offset:-4])
    struct.pack_into("<I", b, 24, meta_offset + gap)
    for i, l in enumerate(m.layers):
        struct.pack_into("<I", b, m.header_size + m.entry_size * i + 24, l.data_offset + gap)
    return _recrc(bytes(b) + b"\0\0\0\0")


def write_bad_dir(directory):
    """Writes bad_files() as <name>.anne + index.json, the base good file as
    base_good.anne and odd_valid_files() as valid_<name>.anne (listed in
    valid_index.json with the expected outputs for input [1, 1, 1])."""
    import json
    import os
    os.makedirs(directory, exist_ok=True)
    index = []
    for name, data, frag in bad_files():
        with open(os.path.join(directory, name + ".anne"), "wb") as f:
            f.write(data)
        index.append({"file": name + ".anne", "expect": frag})
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    good = base_good_file(1)
    x = [1.0, 1.0, 1.0]
    y = [float(v) for v in parse(good).forward(np.array(x, np.float32))]
    valid = [{"file": "base_good.anne", "x": x, "y": y, "metadata": {}}]
    with open(os.path.join(directory, "base_good.anne"), "wb") as f:
        f.write(good)
    for name, data in odd_valid_files():
        fname = "valid_" + name + ".anne"
        with open(os.path.join(directory, fname), "wb") as f:
            f.write(data)
        m = parse(data)
        xs = x if m.n_inputs == 3 else [((i * 7) % 5 - 2) / 2 for i in range(m.n_inputs)]
        valid.append({"file": fname, "x": xs, "metadata": m.metadata,
                      "y": [float(v) for v in m.forward(np.array(xs, np.float32))]})
    with open(os.path.join(directory, "valid_index.json"), "w") as f:
        json.dump(valid, f, indent=1)
        f.write("\n")
    write_int8_index(directory)
    return index


def int8_rows(n_inputs):
    """Int8 input rows for the valid int8 files' expected outputs: the
    extremes, the zero point's neighbourhood, a spread."""
    rows = [[-128] * n_inputs, [127] * n_inputs, [0] * n_inputs]
    rows += [[((i * 37 + r * 59) % 256) - 128 for i in range(n_inputs)] for r in range(5)]
    return rows


def write_int8_index(directory):
    """int8_index.json: {"bad": [{"file", "expect"}], "valid": [{"file",
    "io", "x", "y", "metadata", "input_quantization", "output_quantization"}]}:
    the int8 files whose data a reader must check (bad_int8_data_files())
    and valid int8 files with input rows x and outputs y: for valid_int8*,
    int8 rows and anne_format's numpy int8 reference (TFLite's reference
    FULLY_CONNECTED, in float64); for valid_tflite_* (the converted
    tests/fixtures/int8 models), the fixture's rows and LiteRT's outputs,
    int8 or, where "io" is "float32", floats (predict quantizes and
    dequantizes). Read by the board once it runs int8."""
    import json
    import os
    bad = []
    for name, data, frag in bad_int8_data_files():
        with open(os.path.join(directory, name + ".anne"), "wb") as f:
            f.write(data)
        bad.append({"file": name + ".anne", "expect": frag})
    valid = []
    for name, data in valid_int8_files():
        fname = "valid_" + name + ".anne"
        with open(os.path.join(directory, fname), "wb") as f:
            f.write(data)
        m = parse(data)
        x = int8_rows(m.n_inputs)
        valid.append({"file": fname, "io": "int8", "x": x, "y": m.forward_int8(np.array(x)).tolist(),
                      "metadata": m.metadata, "input_quantization": list(m.input_quantization),
                      "output_quantization": list(m.output_quantization)})
    valid += _tflite_entries(directory, TFLITE_FIXTURES)
    with open(os.path.join(directory, "int8_index.json"), "w") as f:
        json.dump({"bad": bad, "valid": valid}, f, indent=1)
        f.write("\n")
    with open(os.path.join(directory, "int8_graph_index.json"), "w") as f:
        json.dump({"valid": _tflite_entries(directory, TFLITE_GRAPH_FIXTURES)}, f, indent=1)
        f.write("\n")


BOARD_VALUES = 640


def _tflite_entries(directory, names):
    """The converted .tflite fixtures (names) written as valid_tflite_*.anne
    in directory, each with its rows, LiteRT's outputs and quantization."""
    import os
    valid = []
    for name, data, fixture in tflite_int8_files(names):
        fname = "valid_tflite_" + name + ".anne"
        with open(os.path.join(directory, fname), "wb") as f:
            f.write(data)
        m = parse(data)
        # (at most BOARD_VALUES input values of rows for the board's parse of the
        # index: the built-in Cortex-M0's heap; the host tests check every row)
        n = max(4, BOARD_VALUES // max(1, len(fixture["rows"][0])))
        valid.append({"file": fname, "io": fixture.get("io", "int8"), "x": fixture["rows"][:n],
                      "y": fixture["outputs"][:n], "metadata": m.metadata,
                      "input_quantization": list(m.input_quantization),
                      "output_quantization": list(m.output_quantization)})
    return valid


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "--write-bad":
        print("usage: anne_badfiles.py --write-bad DIR", file=sys.stderr)
        sys.exit(2)
    print("wrote %d bad files to %s" % (len(write_bad_dir(sys.argv[2])), sys.argv[2]))
