"""Host-side reader and writer of `.anne` weight files (the codec).

Implements docs/FORMAT.md (version 1) exactly. The numpy reference forward
pass it offers (Model.forward) is tools/anne_reference.py's; the table of bad
files for the tests is tools/anne_badfiles.py. Used by tools/anne_convert.py
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

from anne_reference import activate, canonical_activation, default_params, f32 as _f32  # noqa: E402,F401

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
