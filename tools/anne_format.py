"""Host-side reader and writer of `.anne` weight files.

The format (docs/FORMAT.md, versions 1 and 2) is parsed and laid out by
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
import anne_ops  # noqa: E402
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

    def entry(self, in_shape):
        flags = ((FLAG_BIAS if self.bias is not None else 0)
                 | (FLAG_MAX_VALUE if self.has_max_value else 0)
                 | (FLAG_APPROXIMATE if self.approximate else 0))
        units = self.kernel.shape[1] if self.kernel.ndim == 2 else 0
        return anne_file.Entry(ACTIVATION_IDS[self.activation], flags, in_shape, units,
                               [self.params[k] for k in PARAM_NAMES])


def encode(n_inputs, layers, check=True, metadata=None, version=VERSION):
    """Returns the bytes of a `.anne` file (version 2 unless told 1, which
    has no metadata). check=False skips validation (only for building
    deliberately bad files)."""
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
    entries = []
    shape = (n_inputs,)
    for l in layers:
        entries.append(l.entry(shape))
        shape = entries[-1].out_shape
    out = bytearray(anne_file.front((n_inputs,), entries, metadata, version))
    for l in layers:
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
    """A parsed dense layer: its anne_file.Entry's fields, the numpy kernel
    (n_in x units) and bias."""

    def __init__(self, index, entry, kernel=None, bias=None):
        self.index = index
        self.kind = entry.kind
        self.activation_id = entry.act
        self.activation = entry.activation
        self.flags = entry.flags
        self.units = entry.units
        self.n_in = entry.n_in
        self.n_out = entry.n_out
        self.data_offset = entry.offset
        self.n_params = entry.n_params
        self.data_size = entry.data_size
        self.params = dict(zip(PARAM_NAMES, entry.params))
        self.kernel = kernel
        self.bias = bias

    has_bias = property(lambda self: bool(self.flags & FLAG_BIAS))
    has_max_value = property(lambda self: bool(self.flags & FLAG_MAX_VALUE))
    approximate = property(lambda self: bool(self.flags & FLAG_APPROXIMATE))

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
                     "file %d bytes (version %d)" % (self.n_inputs, self.n_outputs, self.n_params,
                                                     4 * self.n_params, self.size, self.version))
        for k, v in self.metadata.items():
            lines.append("%s: %s" % (k, ", ".join(v) if isinstance(v, list) else v))
        return "\n".join(lines)


def parse(data):
    """Parses and validates a `.anne` file (version 1 or 2) with the board's
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
        n_k = e.n_in * e.units
        kernel = np.frombuffer(data, "<f4", n_k, e.offset).astype(np.float32).reshape(e.n_in, e.units)
        bias = None
        if e.has_bias:
            bias = np.frombuffer(data, "<f4", e.units, e.offset + 4 * n_k).astype(np.float32)
        if not (np.all(np.isfinite(kernel)) and (bias is None or np.all(np.isfinite(bias)))):
            raise ValueError("layer %d: weights %s" % (i, FRAGMENTS["finite"]))
        layers.append(Layer(i, e, kernel, bias))
    return Model(head, layers, metadata, size)


def load(path):
    with open(path, "rb") as f:
        return parse(f.read())
