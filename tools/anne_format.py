"""Host-side reader, writer and numpy reference for `.anne` weight files.

Implements docs/FORMAT.md (version 1) exactly. Used by tools/anne_convert.py
(writing, --summary, --check) and by the host tests; needs only numpy and the
standard library (no TensorFlow).

    import anne_format as af
    model = af.load("iris3.anne")           # parse + validate, ValueError if bad
    y = model.forward(x)                    # numpy float32 reference pass
    data = af.encode(n_inputs, [af.LayerSpec("relu", kernel, bias), ...])

Every ValueError message starts with one of the stable fragments in
`FRAGMENTS`; the board-side loader must use the same fragments (the bad-file
table in tests/fixtures/bad/index.json is checked against both readers).
Validation order (matters only for truncated files, which also lose their
CRC): header, layer table, each layer's entry and data extent, then CRC, then
weight finiteness.
"""

import binascii
import math
import os
import struct
import sys

import numpy as np

MAGIC = b"ANNE"
VERSION = 1
HEADER_SIZE = 16
ENTRY_SIZE = 40
MAX_LAYERS = 255
MAX_UNITS = 65535
KIND_DENSE = 1
DTYPE_F32 = 0

FLAG_BIAS = 1 << 0
FLAG_MAX_VALUE = 1 << 1
FLAG_APPROXIMATE = 1 << 2
FLAGS_KNOWN = FLAG_BIAS | FLAG_MAX_VALUE | FLAG_APPROXIMATE

# The op tables (ops/ops.json), as the board library reads them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "micropython"))
import anne_ops  # noqa: E402

ACTIVATIONS = anne_ops.ACTIVATIONS  # index == id
ACTIVATION_IDS = {name: i for i, name in enumerate(ACTIVATIONS)}
ALIASES = {alias: ACTIVATIONS[i] for alias, i in anne_ops.ALIASES.items()}

# The six stored parameters, in file order.
PARAM_NAMES = anne_ops.FILE_PARAMS

# Which stored parameters each activation reads (others are ignored).
USED_PARAMS = {name: tuple(k for k in d if k in PARAM_NAMES)
               for name, d in anne_ops.DEFAULTS.items() if any(k in PARAM_NAMES for k in d)}

# Stable message fragments: every ValueError raised by `parse` starts with one.
FRAGMENTS = {
    "truncated": "truncated",
    "magic": "bad magic",
    "version": "unsupported version",
    "header_size": "header_size too small",
    "layer_count": "layer_count out of range",
    "flags": "reserved flags",
    "n_inputs": "n_inputs out of range",
    "kind": "unknown layer kind",
    "dtype": "unknown dtype",
    "activation": "unknown activation id",
    "units": "units out of range",
    "glu": "glu needs even units",
    "align": "data_offset not 4-aligned",
    "overlap": "data_offset overlaps",
    "finite": "not finite",
    "crc": "CRC mismatch",
}


def default_params(activation):
    """The six parameters written for `activation` when the model sets none:
    Keras's defaults for those it uses, the table's fill values for the rest
    (negative_slope 0, alpha 1, threshold 0, max_value 0, default_value 0,
    b 4)."""
    name = canonical_activation(activation)
    p = dict(zip(PARAM_NAMES, anne_ops.FILL))
    for k, v in anne_ops.DEFAULTS.get(name, {}).items():
        if k in p and v is not None:
            p[k] = v
    return p


def canonical_activation(activation):
    """Activation name or id -> canonical Keras 3 name (aliases resolved)."""
    if isinstance(activation, (int, np.integer)):
        if not 0 <= activation < len(ACTIVATIONS):
            raise ValueError("%s %d" % (FRAGMENTS["activation"], activation))
        return ACTIVATIONS[activation]
    name = ALIASES.get(activation, activation)
    if name not in ACTIVATION_IDS:
        raise ValueError("unknown activation %r" % (activation,))
    return name


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def activate(activation, x, params=None, has_max_value=False,
             approximate=False):
    """Applies a Keras 3 activation to x (float32, last axis is the vector
    axis) and returns a new float32 array. glu halves the last axis."""
    name = canonical_activation(activation)
    p = default_params(name)
    if params:
        p.update(params)
    x = _f32(x)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore",
                     divide="ignore"):
        if name == "linear":
            y = x.copy()
        elif name == "relu":
            # keras.activations.relu(x, negative_slope, max_value, threshold)
            ns, th = np.float32(p["negative_slope"]), np.float32(p["threshold"])
            y = np.where(x > th, x, zero) if th != 0 else np.maximum(x, zero)
            if has_max_value:
                y = np.clip(y, zero, np.float32(p["max_value"]))
            if ns != 0:
                y = y - ns * np.maximum(th - x, zero)
        elif name == "sigmoid":
            y = one / (one + np.exp(-x))
        elif name == "tanh":
            y = np.tanh(x)
        elif name == "softmax":
            e = np.exp(x - np.max(x, axis=-1, keepdims=True))
            y = e / np.sum(e, axis=-1, keepdims=True)
        elif name == "leaky_relu":
            y = np.where(x >= 0, x, np.float32(p["negative_slope"]) * x)
        elif name == "elu":
            y = np.where(x > 0, x, np.float32(p["alpha"]) * np.expm1(x))
        elif name == "selu":
            alpha = np.float32(1.6732632423543772848170429916717)
            scale = np.float32(1.0507009873554804934193349852946)
            y = scale * np.where(x > 0, x, alpha * np.expm1(x))
        elif name == "celu":
            a = np.float32(p["alpha"])
            y = np.maximum(x, zero) + a * np.expm1(np.minimum(x, zero) / a)
        elif name == "exponential":
            y = np.exp(x)
        elif name == "gelu":
            if approximate:
                c = np.float32(math.sqrt(2.0 / math.pi))
                y = np.float32(0.5) * x * (one + np.tanh(
                    c * (x + np.float32(0.044715) * x * x * x)))
            else:
                erf = np.vectorize(math.erf, otypes=[np.float64])
                y = 0.5 * x.astype(np.float64) * (
                    1.0 + erf(x.astype(np.float64) / math.sqrt(2.0)))
        elif name == "glu":
            n = x.shape[-1]
            if n % 2:
                raise ValueError("%s (got %d)" % (FRAGMENTS["glu"], n))
            a, b = x[..., : n // 2], x[..., n // 2:]
            y = a * (one / (one + np.exp(-b)))
        elif name == "hard_shrink":
            y = np.where(np.abs(x) > np.float32(p["threshold"]), x, zero)
        elif name == "hard_sigmoid":
            y = np.clip(x / np.float32(6.0) + np.float32(0.5), zero, one)
        elif name == "hard_silu":
            y = x * np.clip(x / np.float32(6.0) + np.float32(0.5), zero, one)
        elif name == "hard_tanh":
            y = np.clip(x, -one, one)
        elif name == "log_sigmoid":
            y = -np.logaddexp(-x, zero)
        elif name == "log_softmax":
            s = x - np.max(x, axis=-1, keepdims=True)
            y = s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))
        elif name == "mish":
            y = x * np.tanh(np.logaddexp(x, zero))
        elif name == "relu6":
            y = np.clip(x, zero, np.float32(6.0))
        elif name == "silu":
            y = x * (one / (one + np.exp(-x)))
        elif name == "soft_shrink":
            t = np.float32(p["threshold"])
            y = np.where(x > t, x - t, np.where(x < -t, x + t, zero))
        elif name == "softplus":
            y = np.logaddexp(x, zero)
        elif name == "softsign":
            y = x / (one + np.abs(x))
        elif name == "sparse_plus":
            y = np.where(x <= -1, zero, np.where(
                x < 1, np.float32(0.25) * (x + one) ** 2, x))
        elif name == "sparse_sigmoid":
            y = np.where(x <= -1, zero, np.where(
                x >= 1, one, np.float32(0.5) * (x + one)))
        elif name == "sparsemax":
            y = _sparsemax(x)
        elif name == "squareplus":
            y = (x + np.sqrt(x * x + np.float32(p["b"]))) / np.float32(2.0)
        elif name == "tanh_shrink":
            y = x - np.tanh(x)
        elif name == "threshold":
            y = np.where(x > np.float32(p["threshold"]), x,
                         np.float32(p["default_value"]))
        else:  # pragma: no cover - ACTIVATIONS and this chain are in sync
            raise AssertionError(name)
    return _f32(y)


def _sparsemax(x):
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection onto the
    simplex. Keras 3.15's own is wrong when the support has more than one
    element (keras-team/keras#23425); like the Rust kernel, this is the
    corrected definition (equal to Keras when the support is one element)."""
    z = -np.sort(-x, axis=-1)
    cs = np.cumsum(z, axis=-1)
    r = np.arange(1, x.shape[-1] + 1, dtype=np.float32)
    support = z - (cs - 1) / r > 0
    k = np.sum(support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, k - 1, axis=-1) - 1) / k
    return np.maximum(x - tau, 0)


class LayerSpec:
    """One dense layer to encode. kernel: n_in x units (Keras layout); bias:
    units values or None; params: overrides of default_params()."""

    def __init__(self, activation, kernel, bias=None, params=None,
                 has_max_value=False, approximate=False):
        self.activation = canonical_activation(activation)
        self.kernel = _f32(kernel)
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


def encode(n_inputs, layers, check=True):
    """Returns the bytes of a `.anne` file. check=False skips validation (only
    for building deliberately bad files)."""
    if check:
        if not 1 <= len(layers) <= MAX_LAYERS:
            raise ValueError("%s: %d" % (FRAGMENTS["layer_count"], len(layers)))
        n_in = n_inputs
        for i, l in enumerate(layers):
            units = l.kernel.shape[1] if l.kernel.ndim == 2 else -1
            if l.kernel.shape != (n_in, units):
                raise ValueError("layer %d: kernel shape %s, expected (%d, units)"
                                 % (i, l.kernel.shape, n_in))
            if not 1 <= units <= MAX_UNITS:
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
            n_in = layer_output_size(l.activation, units)
        if not 1 <= n_inputs <= MAX_UNITS:
            raise ValueError("%s: %d" % (FRAGMENTS["n_inputs"], n_inputs))
    out = bytearray(struct.pack("<4sHHHHI", MAGIC, VERSION, HEADER_SIZE,
                                len(layers), 0, n_inputs))
    offset = HEADER_SIZE + ENTRY_SIZE * len(layers)
    blobs = []
    for l in layers:
        blob = l.kernel.astype("<f4").tobytes()
        if l.bias is not None:
            blob += l.bias.astype("<f4").tobytes()
        flags = ((FLAG_BIAS if l.bias is not None else 0)
                 | (FLAG_MAX_VALUE if l.has_max_value else 0)
                 | (FLAG_APPROXIMATE if l.approximate else 0))
        units = l.kernel.shape[1] if l.kernel.ndim == 2 else 0
        out += struct.pack("<BBBBIII6f", KIND_DENSE,
                           ACTIVATION_IDS[l.activation], flags, DTYPE_F32,
                           units, offset, 0,
                           *[l.params[k] for k in PARAM_NAMES])
        blobs.append(blob)
        offset += len(blob)  # float32 blocks are always 4-byte aligned
    for blob in blobs:
        out += blob
    out += struct.pack("<I", binascii.crc32(bytes(out)) & 0xFFFFFFFF)
    return bytes(out)


def halves(activation):
    """True for activations whose n inputs give n // 2 outputs (glu)."""
    return ACTIVATION_IDS[canonical_activation(activation)] in anne_ops.HALVES


def layer_output_size(activation, units):
    return units // 2 if halves(activation) else units


class Layer:
    """A parsed dense layer."""

    def __init__(self, index, activation_id, flags, units, n_in, data_offset,
                 params, kernel=None, bias=None):
        self.index = index
        self.kind = KIND_DENSE
        self.activation_id = activation_id
        self.activation = ACTIVATIONS[activation_id]
        self.flags = flags
        self.units = units
        self.n_in = n_in
        self.n_out = layer_output_size(self.activation, units)
        self.data_offset = data_offset
        self.params = params
        self.kernel = kernel
        self.bias = bias

    has_bias = property(lambda self: bool(self.flags & FLAG_BIAS))
    has_max_value = property(lambda self: bool(self.flags & FLAG_MAX_VALUE))
    approximate = property(lambda self: bool(self.flags & FLAG_APPROXIMATE))

    @property
    def n_params(self):
        return self.n_in * self.units + (self.units if self.has_bias else 0)

    @property
    def data_size(self):
        return 4 * self.n_params

    def activation_text(self):
        """'relu(negative_slope=0.1, threshold=0.5, max_value=6)' style."""
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

    def spec(self):
        return LayerSpec(self.activation, self.kernel, self.bias,
                         dict(self.params), self.has_max_value, self.approximate)

    def forward(self, x):
        z = _f32(x) @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        return activate(self.activation, z, self.params,
                        self.has_max_value, self.approximate)


class Model:
    def __init__(self, version, header_size, n_inputs, layers, size):
        self.version = version
        self.header_size = header_size
        self.n_inputs = n_inputs
        self.layers = layers
        self.size = size

    @property
    def n_outputs(self):
        return self.layers[-1].n_out

    @property
    def n_params(self):
        return sum(l.n_params for l in self.layers)

    def forward(self, x):
        """float32 reference forward pass; x: (n_inputs,) or (batch, n_inputs)."""
        y = _f32(x)
        if y.shape[-1] != self.n_inputs:
            raise ValueError("input has %d features, the model expects %d"
                             % (y.shape[-1], self.n_inputs))
        for l in self.layers:
            y = l.forward(y)
        return y

    def summary(self, title=None):
        rows = [("#", "layer", "in", "units", "out", "activation", "params",
                 "bytes")]
        for l in self.layers:
            rows.append((str(l.index), "dense" + ("" if l.has_bias else " (no bias)"),
                         str(l.n_in), str(l.units), str(l.n_out),
                         l.activation_text(), str(l.n_params), str(l.data_size)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        if title:
            lines.append(title)
        for j, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) if i in (1, 5) else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip())
            if j == 0:
                lines.append("-" * len(lines[-1]))
        lines.append("inputs %d, outputs %d, %d parameters, %d bytes of float data, "
                     "file %d bytes" % (self.n_inputs, self.n_outputs,
                                        self.n_params, 4 * self.n_params, self.size))
        return "\n".join(lines)


def parse(data):
    """Parses and validates a `.anne` file; raises ValueError (message starts
    with a FRAGMENTS value) if it is not a valid version-1 file."""
    data = bytes(data)
    size = len(data)
    if size < HEADER_SIZE:
        raise ValueError("%s: header needs %d bytes, file has %d"
                         % (FRAGMENTS["truncated"], HEADER_SIZE, size))
    magic, version, header_size, count, flags, n_inputs = struct.unpack_from(
        "<4sHHHHI", data, 0)
    if magic != MAGIC:
        raise ValueError("%s: %r (expected %r)" % (FRAGMENTS["magic"], magic, MAGIC))
    if version != VERSION:
        raise ValueError("%s %d (this reader knows %d)"
                         % (FRAGMENTS["version"], version, VERSION))
    if header_size < HEADER_SIZE:
        raise ValueError("%s: %d (minimum %d)"
                         % (FRAGMENTS["header_size"], header_size, HEADER_SIZE))
    if flags != 0:
        raise ValueError("%s in header: 0x%04x" % (FRAGMENTS["flags"], flags))
    if not 1 <= count <= MAX_LAYERS:
        raise ValueError("%s: %d (1..%d)" % (FRAGMENTS["layer_count"], count, MAX_LAYERS))
    if not 1 <= n_inputs <= MAX_UNITS:
        raise ValueError("%s: %d (1..%d)" % (FRAGMENTS["n_inputs"], n_inputs, MAX_UNITS))
    table_end = header_size + ENTRY_SIZE * count
    if size < table_end:
        raise ValueError("%s: layer table ends at %d, file has %d bytes"
                         % (FRAGMENTS["truncated"], table_end, size))
    layers = []
    n_in = n_inputs
    prev_end = table_end
    for i in range(count):
        e = header_size + ENTRY_SIZE * i
        kind, act, lflags, dtype, units, offset, _reserved = struct.unpack_from(
            "<BBBBIII", data, e)
        params = struct.unpack_from("<6f", data, e + 16)
        where = "layer %d: " % i
        if kind != KIND_DENSE:
            raise ValueError(where + "%s %d" % (FRAGMENTS["kind"], kind))
        if dtype != DTYPE_F32:
            raise ValueError(where + "%s %d" % (FRAGMENTS["dtype"], dtype))
        if act >= len(ACTIVATIONS):
            raise ValueError(where + "%s %d" % (FRAGMENTS["activation"], act))
        if lflags & ~FLAGS_KNOWN:
            raise ValueError(where + "%s: 0x%02x" % (FRAGMENTS["flags"], lflags))
        if not 1 <= units <= MAX_UNITS:
            raise ValueError(where + "%s: %d (1..%d)" % (FRAGMENTS["units"], units, MAX_UNITS))
        if act in anne_ops.HALVES and units % 2:
            raise ValueError(where + "%s, got %d" % (FRAGMENTS["glu"], units))
        if offset % 4:
            raise ValueError(where + "%s: %d" % (FRAGMENTS["align"], offset))
        if offset < prev_end:
            raise ValueError(where + "%s: %d < %d" % (FRAGMENTS["overlap"], offset, prev_end))
        if not all(math.isfinite(p) for p in params):
            raise ValueError(where + "activation parameter %s" % FRAGMENTS["finite"])
        layer = Layer(i, act, lflags, units, n_in, offset,
                      dict(zip(PARAM_NAMES, params)))
        end = offset + layer.data_size
        if end + 4 > size:
            raise ValueError(where + "%s: data ends at %d (+4 CRC), file has %d bytes"
                             % (FRAGMENTS["truncated"], end, size))
        layers.append(layer)
        n_in = layer.n_out
        prev_end = end
    stored = struct.unpack_from("<I", data, size - 4)[0]
    computed = binascii.crc32(data[:-4]) & 0xFFFFFFFF
    if stored != computed:
        raise ValueError("%s: stored 0x%08x, computed 0x%08x"
                         % (FRAGMENTS["crc"], stored, computed))
    for l in layers:
        n_k = l.n_in * l.units
        l.kernel = np.frombuffer(data, "<f4", n_k, l.data_offset).astype(
            np.float32).reshape(l.n_in, l.units)
        if l.has_bias:
            l.bias = np.frombuffer(data, "<f4", l.units,
                                   l.data_offset + 4 * n_k).astype(np.float32)
        if not (np.all(np.isfinite(l.kernel))
                and (l.bias is None or np.all(np.isfinite(l.bias)))):
            raise ValueError("layer %d: weights %s" % (l.index, FRAGMENTS["finite"]))
    return Model(version, header_size, n_inputs, layers, size)


def load(path):
    with open(path, "rb") as f:
        return parse(f.read())


# ---------------------------------------------------------------------------
# The table of bad files, shared by the host tests and the board-side tests.

def _base_model():
    """A small valid model: 3 inputs -> dense 4 relu -> dense 3 softmax."""
    k1 = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 8
    b1 = np.array([0.1, -0.2, 0.3, -0.4], np.float32)
    k2 = (np.arange(12, dtype=np.float32).reshape(4, 3) - 6.5) / 10
    b2 = np.array([0.05, 0.0, -0.05], np.float32)
    return 3, [LayerSpec("relu", k1, b1), LayerSpec("softmax", k2, b2)]


def base_good_file():
    n, layers = _base_model()
    return encode(n, layers)


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
    with a bias (default: base_good_file())."""
    good = base_good_file() if good_bytes is None else bytes(good_bytes)
    m = parse(good)
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
    add("version_2", _patch(good, "<H", 4, 2), F["version"])
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
    add("glu_odd_units", encode(n, layers, check=False), F["glu"])
    return out


def odd_valid_files():
    """Unusual but valid files: [(name, bytes)]; all compute the same as
    base_good_file()."""
    n, layers = _base_model()
    good = encode(n, layers)
    m = parse(good)
    out = []
    # header_size 20: 4 extra header bytes, everything after shifted by 4
    b = bytearray(good[:16]) + b"\xAA\xBB\xCC\xDD" + bytearray(good[16:-4])
    struct.pack_into("<H", b, 6, 20)
    for l in m.layers:
        struct.pack_into("<I", b, 20 + ENTRY_SIZE * l.index + 8, l.data_offset + 4)
    out.append(("header_size_20", _recrc(bytes(b) + b"\0\0\0\0")))
    # 8 bytes of zero padding between the two layers' data and before the CRC
    L0, L1 = m.layers[0], m.layers[1]
    b = bytearray(good[:L1.data_offset]) + b"\0" * 8 + bytearray(good[L1.data_offset:-4]) + b"\0" * 4
    struct.pack_into("<I", b, 16 + ENTRY_SIZE + 8, L1.data_offset + 8)
    out.append(("padding_between_layers", _recrc(bytes(b) + b"\0\0\0\0")))
    return out


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
    good = base_good_file()
    x = [1.0, 1.0, 1.0]
    y = [float(v) for v in parse(good).forward(np.array(x, np.float32))]
    valid = [{"file": "base_good.anne", "x": x, "y": y}]
    with open(os.path.join(directory, "base_good.anne"), "wb") as f:
        f.write(good)
    for name, data in odd_valid_files():
        fname = "valid_" + name + ".anne"
        with open(os.path.join(directory, fname), "wb") as f:
            f.write(data)
        valid.append({"file": fname, "x": x,
                      "y": [float(v) for v in parse(data).forward(np.array(x, np.float32))]})
    with open(os.path.join(directory, "valid_index.json"), "w") as f:
        json.dump(valid, f, indent=1)
        f.write("\n")
    return index


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--write-bad":
        print("wrote %d bad files to %s" % (len(write_bad_dir(sys.argv[2])), sys.argv[2]))
    elif len(sys.argv) == 2 and not sys.argv[1].startswith("-"):
        try:
            print(load(sys.argv[1]).summary(sys.argv[1]))
        except ValueError as e:
            print("%s: %s" % (sys.argv[1], e), file=sys.stderr)
            sys.exit(1)
    else:
        print("usage: anne_format.py FILE.anne | --write-bad DIR", file=sys.stderr)
        sys.exit(2)
