# anne_file: the .anne codec (docs/FORMAT.md, versions 1 to 3), one for the
# board (anne_io) and the PC (tools/anne_format.py): the same code checks
# every file under MicroPython and CPython. It turns the header, the layer
# table and the metadata into plain records and back into bytes; the float
# data is read and written by the callers (in place, streamed, or numpy).
# Needs only struct, anne_ops and anne_core (and anne_file_int8, its int8
# part, and anne_shape, the layers' shape rules).

import struct

import anne_file_int8
import anne_ops
from anne_core import _is_finite, _out_steps, _shape_text, _size as size_of
from anne_shape import (GLOBAL_POOLS, IMAGE_GLOBAL_POOLS, IMAGE_KINDS, IMAGE_RULES, KIND_NAMES,  # noqa: F401
                        MAX_REACH, POOLS, input_rank, kernel_shape, merge_shape, out_shape_of)
from anne_file_int8 import check_quant, int8_parts
from anne_ops import ACTIVATIONS, FILE_PARAMS, FILL

MAGIC = b"ANNE"
VERSION = 2                      # what the writers write
VERSIONS = (1, 2, 3)             # what the readers read
HEADER_SIZE = (0, 16, 32, 32)    # by version
ENTRY_SIZE = (0, 40, 80, 128)
SLOTS = (0, 0, 8, 16)            # kind parameters an entry stores, by version
NETWORK_INPUT = 255              # version 3: an input that is the network's input
MAX_INPUTS = 7                   # version 3: inputs an entry can name
MAX_LAYERS = 255
MAX_DIM = 65535
MAX_METADATA = 4096
MAX_KEY = 64
KIND_DENSE = anne_ops.LAYER_DENSE
DTYPE_F32 = 0
DTYPE_INT8 = 1                   # version 3: TFLite's int8 (INT8_KINDS)
DTYPE_NAMES = ("float32", "int8")
# The int8 block at entry offset 96 (docs/FORMAT.md): input scale, zero
# point, output scale, zero point, count, act_min, act_max (at 96), 2
# reserved bytes, the activation's output scale and zero point (at 120), 3
# reserved bytes.
INT8_BLOCK = ("<fifiIbb", "<fb")
FLAG_BIAS = 1
FLAG_MAX_VALUE = 2
FLAG_APPROXIMATE = 4
FLAGS_KNOWN = 7

# Every ValueError a reader raises starts with one of these (after "layer
# N: " for a layer's entry); the bad-file table is checked against them.
FRAGMENTS = {
    "truncated": "truncated",
    "magic": "bad magic",
    "version": "unsupported version",
    "header_size": "header_size too small",
    "entry_size": "entry_size too small",
    "layer_count": "layer_count out of range",
    "flags": "reserved flags",
    "reserved": "reserved field set",
    "n_inputs": "n_inputs out of range",
    "shape": "bad shape",
    "chain": "shape mismatch",
    "kind": "unknown layer kind",
    "kind_params": "bad kind parameters",
    "inputs": "bad inputs",
    "dtype": anne_file_int8.FRAGMENTS["dtype"],
    "dtype_mix": "bad dtype",
    "int8": anne_file_int8.FRAGMENTS["int8"],
    "activation": "unknown activation id",
    "units": "units out of range",
    "glu": "glu needs even units",
    "data_size": "data_size wrong",
    "align": "data_offset not 4-aligned",
    "overlap": "data_offset overlaps",
    "metadata": "bad metadata",
    "finite": "not finite",
    "crc": "CRC mismatch",
}
# Metadata keys whose values are lists of names (stored one per line).
LIST_KEYS = ("classes", "features")


def file_params(name, kw=None):
    """(flags, six floats) stored for activation `name` (canonical) with
    Keras keyword parameters kw: Keras's defaults where kw leaves one out,
    the table's fill values for parameters it does not take."""
    p = dict(zip(FILE_PARAMS, FILL))
    for k, v in anne_ops.DEFAULTS.get(name, {}).items():
        if k in p and v is not None:
            p[k] = v
    flags = 0
    for k, v in (kw or {}).items():
        if k == "approximate":
            flags |= FLAG_APPROXIMATE if v else 0
        elif k == "max_value":
            if v is not None:
                flags |= FLAG_MAX_VALUE
                p[k] = v
        else:
            p[k] = v
    return flags, tuple(float(p[k]) for k in FILE_PARAMS)


# Layer kinds by id, from the layer registry (ops/ops.json "layers"): the
# kinds with stored data (units and weights), those of them with a kernel,
# a bias and an activation, the pooling kinds.
STORED = tuple(anne_ops.LAYER_UNITS)
WEIGHTED = tuple(k for k in STORED if k in anne_ops.ACTIVATED)
# An affine layer's kind parameter 0: the Keras layer it stands for.
AFFINE_CODES = anne_ops.LAYER_PARAMS[anne_ops.LAYER_AFFINE][0][3]
# The kinds that take several inputs (Add, Concatenate, ...): version 3, float32.
MERGES = tuple(anne_ops.LAYER_INPUTS)
NO_KPARAMS = (0,) * 8


class Entry:
    """One layer's record: kind, activation id, flags, input shape, units
    (dense's units, conv1d's filters, 0 for the layers without weights),
    where its data starts, the six stored activation parameters, the eight
    kind parameters, (reshape) its output shape, its dtype (DTYPE_F32 or
    DTYPE_INT8), `inputs` (version 3: the indices of the layers it takes,
    NETWORK_INPUT for the network's input; None: the layer before),
    in_shapes (a merge's inputs' shapes; in_shape is the first's) and, for int8, `quant`: the tuple (in_scale, in_zp,
    out_scale, out_zp, count, act_min, act_max, act_scale, act_zp) of the
    entry's int8 block (None for float32; act_scale, act_zp the
    activation's output, 0.0 and 0 for linear); int8_parts() says where
    its data's parts are."""

    def __init__(self, act, flags, in_shape, units, params, offset=0, kind=KIND_DENSE,
                 kparams=NO_KPARAMS, out_shape=None, dtype=DTYPE_F32, quant=None, inputs=None, in_shapes=None):
        self.kind = kind
        self.inputs = None if inputs is None else tuple(inputs)
        self.act = act
        self.flags = flags
        self.dtype = dtype
        self.quant = None if quant is None else tuple(quant)
        self.in_shape = tuple(in_shape)
        self.units = units
        self.params = tuple(params)
        self.offset = offset
        self.kparams = tuple(kparams)
        if kind in MERGES:
            self.in_shapes = [tuple(t) for t in in_shapes or (in_shape,)]
            self.out_shape = merge_shape(kind, self.in_shapes)
            return
        self.out_shape = out_shape_of(kind, self.in_shape, units, act, self.kparams,
                                      None if out_shape is None else tuple(out_shape))

    activation = property(lambda self: ACTIVATIONS[self.act])
    has_bias = property(lambda self: bool(self.flags & FLAG_BIAS))
    n_in = property(lambda self: size_of(self.in_shape))
    n_out = property(lambda self: size_of(self.out_shape))
    kind_name = property(lambda self: KIND_NAMES[self.kind])

    @property
    def kernel_len(self):
        """Floats of the kernel (0 for the layers without weights)."""
        shape = kernel_shape(self.kind, self.in_shape, self.units, self.kparams)
        return size_of(shape) if shape else 0

    @property
    def n_params(self):
        """Weights stored (an int8 layer always stores its bias)."""
        return self.kernel_len + (self.units if self.has_bias or self.dtype == DTYPE_INT8 else 0)

    @property
    def data_size(self):
        if self.dtype == DTYPE_INT8:
            end = 0
            for off, n in int8_parts(self).values():
                end = max(end, off + n)
            return end
        return 4 * self.n_params

    dtype_name = property(lambda self: DTYPE_NAMES[self.dtype])

    def keras_params(self):
        """The activation's keyword parameters as Keras's config has them
        (those at Keras's defaults left out, required ones kept)."""
        name = self.activation
        _, default = file_params(name)
        kw = {}
        for k in anne_ops.DEFAULTS.get(name, ()):
            if k == "approximate":
                if self.flags & FLAG_APPROXIMATE:
                    kw[k] = True
            elif k == "max_value":
                if self.flags & FLAG_MAX_VALUE:
                    kw[k] = self.params[FILE_PARAMS.index(k)]
            else:
                i = FILE_PARAMS.index(k)
                if k in anne_ops.REQUIRED.get(name, ()) or self.params[i] != default[i]:
                    kw[k] = self.params[i]
        return kw


class Head:
    """The header: version, sizes of the header and of a table entry, layer
    count, input shape, the metadata's extent, where layer data may start."""

    def __init__(self, version, header_size, entry_size, count, in_shape, meta_offset, meta_size):
        self.version = version
        self.header_size = header_size
        self.entry_size = entry_size
        self.count = count
        self.in_shape = in_shape
        self.meta_offset = meta_offset
        self.meta_size = meta_size
        self.table_end = header_size + entry_size * count
        self.data_start = meta_offset + meta_size if meta_size else self.table_end


def _shape(raw, what, version=2):
    """A stored shape (rank, dim0, dim1, dim2: dim2 is reserved before
    version 3) -> a tuple of rank sizes."""
    rank, d0, d1, d2 = raw
    if d0 >= 1 and (rank == 1 and d1 == d2 == 0 or rank == 2 and d1 >= 1 and d2 == 0
                    or rank == 3 and version >= 3 and d1 >= 1 and d2 >= 1):
        return raw[1:1 + rank]
    if version < 3:
        raise ValueError("%s %s: rank %d, %d x %d (rank 1 or 2, sizes 1..%d)"
                         % (FRAGMENTS["shape"], what, rank, d0, d1, MAX_DIM))
    raise ValueError("%s %s: rank %d, %d x %d x %d (rank 1, 2 or 3, sizes 1..%d)"
                     % (FRAGMENTS["shape"], what, rank, d0, d1, d2, MAX_DIM))


def _keras_file(head, size):
    if size >= 4 and head[:4] == b"PK\x03\x04":
        return "a Keras model (.keras)", "model.keras"
    if size >= 8 and head[:8] == b"\x89HDF\r\n\x1a\n":
        return "a Keras .h5 file", "model.h5"
    return None


def parse_head(buf, size):
    """The header in buf (the file's first 32 bytes, or all of a shorter
    file) of a file of size bytes -> Head. ValueError if the format refuses it."""
    keras = _keras_file(buf, size)
    if keras:
        raise ValueError("%s: this is %s, not an .anne file; convert it on the PC: python3 "
                         "tools/anne_convert.py %s -o model.anne" % (FRAGMENTS["magic"], keras[0], keras[1]))
    if size < 16:
        raise ValueError("%s: header needs 16 bytes, file has %d" % (FRAGMENTS["truncated"], size))
    magic, version, header_size, count, flags = struct.unpack_from("<4sHHHH", buf, 0)
    if magic != MAGIC:
        raise ValueError("%s: %r (expected %r)" % (FRAGMENTS["magic"], magic, MAGIC))
    if version not in VERSIONS:
        raise ValueError("%s %d (this reader knows 1, 2 and 3)" % (FRAGMENTS["version"], version))
    if header_size < HEADER_SIZE[version]:
        raise ValueError("%s: %d (minimum %d)" % (FRAGMENTS["header_size"], header_size, HEADER_SIZE[version]))
    if flags != 0:
        raise ValueError("%s in header: 0x%04x" % (FRAGMENTS["flags"], flags))
    if not 1 <= count <= MAX_LAYERS:
        raise ValueError("%s: %d (1..%d)" % (FRAGMENTS["layer_count"], count, MAX_LAYERS))
    meta_offset = meta_size = 0
    if version == 1:
        entry_size = ENTRY_SIZE[1]
        n_inputs = struct.unpack_from("<I", buf, 12)[0]
        if not 1 <= n_inputs <= MAX_DIM:
            raise ValueError("%s: %d (1..%d)" % (FRAGMENTS["n_inputs"], n_inputs, MAX_DIM))
        in_shape = (n_inputs,)
    else:
        if size < header_size:
            raise ValueError("%s: header needs %d bytes, file has %d" % (FRAGMENTS["truncated"], header_size, size))
        entry_size, reserved = struct.unpack_from("<HH", buf, 12)
        if entry_size < ENTRY_SIZE[version]:
            raise ValueError("%s: %d (minimum %d)" % (FRAGMENTS["entry_size"], entry_size, ENTRY_SIZE[version]))
        if reserved:
            raise ValueError("%s in header: %d" % (FRAGMENTS["reserved"], reserved))
        in_shape = _shape(struct.unpack_from("<HHHH", buf, 16), "of the input", version)
        meta_offset, meta_size = struct.unpack_from("<II", buf, 24)
    head = Head(version, header_size, entry_size, count, in_shape, meta_offset, meta_size)
    if size < head.table_end:
        raise ValueError("%s: layer table ends at %d, file has %d bytes"
                         % (FRAGMENTS["truncated"], head.table_end, size))
    if meta_size > MAX_METADATA:
        raise ValueError("%s: %d bytes (at most %d)" % (FRAGMENTS["metadata"], meta_size, MAX_METADATA))
    if meta_size and meta_offset < head.table_end:
        raise ValueError("%s: starts at %d, inside the layer table (ends at %d)"
                         % (FRAGMENTS["metadata"], meta_offset, head.table_end))
    if meta_offset and not meta_size:
        raise ValueError("%s: offset %d with size 0" % (FRAGMENTS["metadata"], meta_offset))
    if meta_size and head.data_start + 4 > size:
        raise ValueError("%s: metadata ends at %d (+4 CRC), file has %d bytes"
                         % (FRAGMENTS["truncated"], head.data_start, size))
    return head


def parse_entries(buf, head, size, first=None, step=None, each=None):
    """The layer table (entry i at head.header_size + head.entry_size * i in
    buf, or at first + step * i for a buffer of the entries alone) ->
    [Entry], each checked against its inputs and the file's size. each()
    is called before each entry (the board's gc.collect: each entry kept
    in the last one's garbage, not among its own)."""
    entries = []
    prev_end = head.data_start
    first = head.header_size if first is None else first
    step = head.entry_size if step is None else step
    for i in range(head.count):
        if each:
            each()
        e = first + step * i
        entry = _parse_entry(buf, e, head, i, entries, prev_end, size)
        entries.append(entry)
        prev_end = entry.offset + entry.data_size
    if head.version == 3:
        check_graph(entries)
    return entries


def check_graph(entries):
    """Every layer's output but the last's (the network's) is read by a later layer."""
    used = set(j for i, e in enumerate(entries) for j in e.inputs or (i - 1,))
    for i in range(len(entries) - 1):
        if i not in used:
            raise ValueError("layer %d: %s: its output is read by no later layer (the last layer's "
                             "output is the network's)" % (i, FRAGMENTS["inputs"]))


def is_graph(entries):
    """True if the layers are not a chain (a layer takes another than the one before)."""
    for i, e in enumerate(entries):
        if e.inputs is not None and e.inputs != (i - 1 if i else NETWORK_INPUT,):
            return True
    return False


def quant_source(entry, entries, i):
    """The entry whose output layer i (entry) takes first (None: the
    network's input)."""
    j = (entry.inputs or (i - 1 if i else NETWORK_INPUT,))[0]
    return None if j == NETWORK_INPUT else entries[j]


def _parse_entry(buf, e, head, i, entries, prev_end, size):
    version = head.version
    prev = entries[-1] if entries else None
    where = "layer %d: " % i
    kind, act, flags, dtype = struct.unpack_from("<BBBB", buf, e)
    inputs = in_shapes = None
    in_shape = prev.out_shape if prev else head.in_shape
    kparams = NO_KPARAMS
    if version == 1:
        units, offset = struct.unpack_from("<II", buf, e + 4)
        params = struct.unpack_from("<6f", buf, e + 16)
    else:
        units, offset, data_size = struct.unpack_from("<III", buf, e + 20)
        params = struct.unpack_from("<6f", buf, 64 + e if version == 3 else e + 48)
        kparams = struct.unpack_from("<%dH" % SLOTS[version], buf, e + 32)
    if kind != KIND_DENSE and (version == 1 or kind not in KIND_NAMES):
        raise ValueError(where + "%s %d" % (FRAGMENTS["kind"], kind))
    if dtype != DTYPE_F32 and (dtype != DTYPE_INT8 or version < 3):
        raise ValueError(where + "%s %d (%sthis reader knows 0, float32, and 1, int8, from version 3 on)" % (
            FRAGMENTS["dtype"], dtype, "int8 needs version 3; " if dtype == DTYPE_INT8 else ""))
    if prev is not None and dtype != prev.dtype:
        raise ValueError(where + "%s: %s after %s layers (a file is all float32 or all int8)"
                         % (FRAGMENTS["dtype_mix"], DTYPE_NAMES[dtype], prev.dtype_name))
    if act >= len(ACTIVATIONS):
        raise ValueError(where + "%s %d" % (FRAGMENTS["activation"], act))
    if flags & ~FLAGS_KNOWN:
        raise ValueError(where + "%s: 0x%02x" % (FRAGMENTS["flags"], flags))
    name = KIND_NAMES[kind]
    if kind in WEIGHTED:
        if not 1 <= units <= MAX_DIM:
            raise ValueError(where + "%s: %d (1..%d)" % (FRAGMENTS["units"], units, MAX_DIM))
        if act in anne_ops.HALVES and (units % 2 or kind != KIND_DENSE):
            raise ValueError(where + "%s, got %d%s" % (FRAGMENTS["glu"], units,
                                                       "" if kind == KIND_DENSE else " (and a dense layer)"))
    elif kind == anne_ops.LAYER_AFFINE:
        if act or flags != FLAG_BIAS:
            raise ValueError(where + "%s: affine has no activation, and its offset (flags 0x01)"
                             % FRAGMENTS["reserved"])
    elif kind in MERGES:  # (an element-wise activation may follow it, as Keras's Add + ReLU)
        if units or flags & FLAG_BIAS or act in anne_ops.HALVES or act in anne_ops.VECTOR:
            raise ValueError(where + "%s: %s has no units or bias; its activation is element-wise"
                             % (FRAGMENTS["reserved"], name))
    elif units or act or flags:
        raise ValueError(where + "%s: %s has no units, activation or flags" % (FRAGMENTS["reserved"], name))
    # (an int8 affine's slots 1 and 2: its operation, anne_file_int8.check_quant)
    _check_kparams(where, kind, kparams[:1] + (0,) * (len(kparams) - 1)
                   if dtype == DTYPE_INT8 and kind == anne_ops.LAYER_AFFINE else kparams)
    kparams = kparams[:8]
    if version == 3:
        inputs = _check_inputs(where, i, kind, dtype, struct.unpack_from("<8B", buf, e + 88))
        in_shapes = [head.in_shape if j == NETWORK_INPUT else entries[j].out_shape for j in inputs]
        in_shape = in_shapes[0]
    stored_out = None
    if version >= 2:
        stored_in = _shape(struct.unpack_from("<HHHH", buf, e + 4), "of the input", version)
        stored_out = _shape(struct.unpack_from("<HHHH", buf, e + 12), "of the output", version)
        if stored_in != in_shape:
            raise ValueError(where + "%s: input %s, its (first) input gives %s"
                             % (FRAGMENTS["chain"], _shape_text(stored_in), _shape_text(in_shape)))
        raw = struct.unpack_from("<8I", buf, e + 96) if version == 3 else struct.unpack_from("<II", buf, e + 72)
        if dtype == DTYPE_F32 and any(raw):
            raise ValueError(where + "%s: float32 layers have no int8 parameters" % FRAGMENTS["reserved"])
        if dtype == DTYPE_INT8:
            if buf[e + 118] or buf[e + 119] or any(buf[e + 125:e + 128]):
                raise ValueError(where + "%s: the int8 block's bytes 22, 23, 29..31" % FRAGMENTS["reserved"])
            quant = struct.unpack_from(INT8_BLOCK[0], buf, e + 96) + struct.unpack_from(INT8_BLOCK[1], buf, e + 120)
    try:
        entry = Entry(act, flags, in_shape, units, params, offset, kind, kparams, stored_out,
                      dtype, quant if dtype == DTYPE_INT8 else None, inputs, in_shapes)
    except ValueError as err:
        raise ValueError(where + "%s: %s" % (FRAGMENTS["chain"], err))
    if dtype == DTYPE_INT8:
        check_quant(where, entry, quant_source(entry, entries, i))
    if version >= 2:
        if stored_out != entry.out_shape:
            raise ValueError(where + "%s: output %s, %s %s with %d units gives %s"
                             % (FRAGMENTS["chain"], _shape_text(stored_out), name, ACTIVATIONS[act],
                                units, _shape_text(entry.out_shape)))
        if data_size != entry.data_size:
            raise ValueError(where + "%s: %d bytes, %s needs %d" % (
                FRAGMENTS["data_size"], data_size, _data_text(entry), entry.data_size))
    if offset % 4:
        raise ValueError(where + "%s: %d" % (FRAGMENTS["align"], offset))
    if offset < prev_end:
        raise ValueError(where + "%s: %d < %d" % (FRAGMENTS["overlap"], offset, prev_end))
    for v in params:
        if not _is_finite(v):
            raise ValueError(where + "activation parameter %s" % FRAGMENTS["finite"])
    end = offset + entry.data_size
    if end + 4 > size:
        raise ValueError(where + "%s: data ends at %d (+4 CRC), file has %d bytes"
                         % (FRAGMENTS["truncated"], end, size))
    return entry


def _check_inputs(where, i, kind, dtype, raw):
    """Version 3's inputs (a count, then the indices of the layers whose
    outputs the layer takes; NETWORK_INPUT: the network's input) -> their
    tuple (anything but a merge takes one)."""
    count, sources = raw[0], tuple(raw[1:])
    why = "at most %d" % MAX_INPUTS if count > MAX_INPUTS else _inputs_error(i, kind, dtype, sources[:count])
    if why or any(sources[count:]):
        raise ValueError(where + "%s: %d (%s); %s" % (
            FRAGMENTS["inputs"], count, ", ".join(str(v) for v in sources[:max(count, 1)]),
            why or "the unused input slots are 0"))
    return sources[:count]


def _inputs_error(i, kind, dtype, inputs):
    """Why layer i of `kind` cannot take inputs (NETWORK_INPUT: the network's), or None."""
    lo, hi = anne_ops.LAYER_INPUTS.get(kind, (1, 1))
    if not lo <= len(inputs) <= hi:
        return "%s takes %s" % (KIND_NAMES.get(kind, "this kind"),
                                "one input" if hi == 1 else "%d..%d inputs" % (lo, hi))
    if any(j >= i and j != NETWORK_INPUT for j in inputs):
        return ("an input is an earlier layer, or %d for the network's input (layers are stored in "
                "the order they run)" % NETWORK_INPUT)
    return None


def _inputs_raw(i, inputs=None):
    """Version 3's inputs field of layer i (its inputs; None: a chain's)."""
    inputs = (i - 1 if i else NETWORK_INPUT,) if inputs is None else tuple(inputs)
    return (len(inputs),) + inputs + (0,) * (MAX_INPUTS - len(inputs))


def _check_kparams(where, kind, kp):
    """The kind's parameter slots (anne_ops.LAYER_PARAMS) in range: a size
    at least its min, a choice one of its values; the unused ones 0."""
    slots = anne_ops.LAYER_PARAMS.get(kind, ())
    ok = True
    for v, (_, _, low, values) in zip(kp, slots):
        ok = ok and (v < len(values) if values else v >= low)
    if ok and kind == anne_ops.LAYER_CONV1D and (kp[0] - 1) * kp[3] > MAX_REACH:
        raise ValueError(where + "%s for conv1d: (kernel_size - 1) * dilation_rate = (%d - 1) * %d, at most %d"
                         % (FRAGMENTS["kind_params"], kp[0], kp[3], MAX_REACH))
    if kind == KIND_DENSE and any(kp):
        raise ValueError(where + "%s: dense has no kind parameters" % FRAGMENTS["reserved"])
    if not ok or any(kp[len(slots):]):
        raise ValueError(where + "%s for %s: %s" % (FRAGMENTS["kind_params"], KIND_NAMES[kind],
                                                     ", ".join(str(v) for v in kp)))


def _data_text(entry):
    if entry.dtype == DTYPE_INT8:
        return "an int8 %d x %d kernel, bias, %d requantization and weight scales%s" % (
            entry.units, entry.n_in, entry.quant[4], "" if entry.act == anne_ops.LINEAR else
            " and softmax's parameters" if entry.act == anne_ops.SOFTMAX else " and a 256-entry table")
    if entry.kind == anne_ops.LAYER_CONV1D:
        dims = (entry.kparams[0], entry.in_shape[1], entry.units)
    elif entry.kind == anne_ops.LAYER_CONV2D:
        dims = (entry.kparams[0], entry.kparams[1], entry.in_shape[2], entry.units)
    elif entry.kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        dims = (entry.kparams[0], entry.kparams[1], entry.in_shape[2], entry.kparams[5])
    elif entry.kind == KIND_DENSE:
        dims = (entry.n_in, entry.units)
    elif entry.kind == anne_ops.LAYER_AFFINE:
        return "%d scales and %d offsets" % (entry.units, entry.units)
    else:
        return "%s (no weights)" % entry.kind_name
    return "a %s kernel%s" % (" x ".join(str(d) for d in dims), " and bias" if entry.has_bias else "")


def parse_metadata(buf, head, at=None):
    """The metadata section (at head.meta_offset in buf, or at `at`) ->
    dict: str keys, str values, lists of str for LIST_KEYS."""
    meta = {}
    if not head.meta_size:
        return meta
    p = head.meta_offset if at is None else at
    end = p + head.meta_size
    bad = FRAGMENTS["metadata"] + ": "
    if head.meta_size < 2:
        raise ValueError(bad + "%d bytes, no item count" % head.meta_size)
    count = struct.unpack_from("<H", buf, p)[0]
    p += 2
    for n in range(count):
        item = []
        for what in ("key", "value"):
            if p + 2 > end:
                raise ValueError(bad + "item %d's %s runs past the section" % (n, what))
            k = struct.unpack_from("<H", buf, p)[0]
            if p + 2 + k > end:
                raise ValueError(bad + "item %d's %s runs past the section" % (n, what))
            try:
                item.append(str(bytes(buf[p + 2:p + 2 + k]), "utf-8"))
            except UnicodeError:
                raise ValueError(bad + "item %d's %s is not UTF-8" % (n, what))
            p += 2 + k
        key, value = item
        if not key or len(item[0].encode()) > MAX_KEY:
            raise ValueError(bad + "item %d's key has %d bytes (1..%d)" % (n, len(key.encode()), MAX_KEY))
        if key in meta:
            raise ValueError(bad + "key %r twice" % key)
        meta[key] = value.split("\n") if key in LIST_KEYS else value
    if p != end:
        raise ValueError(bad + "%d bytes after the last item" % (end - p))
    return meta


def metadata_bytes(meta):
    """The metadata section for dict meta (see parse_metadata); ValueError
    for what a reader would refuse."""
    if not meta:
        return b""
    out = [struct.pack("<H", len(meta))]
    for key, value in meta.items():
        if not isinstance(key, str) or not 1 <= len(key.encode()) <= MAX_KEY:
            raise ValueError("metadata key %r: a str of 1..%d bytes" % (key, MAX_KEY))
        if key in LIST_KEYS and not isinstance(value, str):
            if not all(isinstance(v, str) and "\n" not in v for v in value):
                raise ValueError("metadata %r: names are str without a newline" % key)
            value = "\n".join(value)
        if not isinstance(value, str):
            raise ValueError("metadata %r: the value is a str, not %s" % (key, type(value).__name__))
        for b in (key.encode(), value.encode()):
            out.append(struct.pack("<H", len(b)))
            out.append(b)
    data = b"".join(out)
    if len(data) > MAX_METADATA:
        raise ValueError("metadata takes %d bytes (at most %d)" % (len(data), MAX_METADATA))
    return data


def check_writable(in_shape, entries, version=VERSION):
    """ValueError, naming the limit, for a network the format cannot hold
    (a reader would refuse the file, or 16-bit fields would be truncated):
    1..255 layers, every shape's sizes and units 1..65535, kind parameters
    16-bit, shapes of rank 3 only from version 3 on."""
    if not 1 <= len(entries) <= MAX_LAYERS:
        raise ValueError("the network has %d layers; a .anne file holds 1..%d" % (len(entries), MAX_LAYERS))
    shapes = [("the input", in_shape)]
    if is_graph(entries) and version < 3:
        raise ValueError("the layers make a graph (a layer takes another than the one before): version 3")
    check_graph(entries)
    for i, e in enumerate(entries):
        shapes.append(("layer %d's output" % i, e.out_shape))
        why = _inputs_error(i, e.kind, e.dtype, e.inputs if e.inputs is not None else
                            (i - 1 if i else NETWORK_INPUT,))
        if why:
            raise ValueError("layer %d: %s: %s" % (i, FRAGMENTS["inputs"], why))
        if e.dtype == DTYPE_INT8:
            if version < 3:
                raise ValueError("layer %d is int8; int8 layers need a version-3 file" % i)
            check_quant("layer %d: " % i, e, quant_source(e, entries, i))
        if i and e.dtype != entries[i - 1].dtype:
            raise ValueError("layer %d: %s: %s after %s layers (a file is all float32 or all int8)"
                             % (i, FRAGMENTS["dtype_mix"], e.dtype_name, entries[i - 1].dtype_name))
        if e.units > MAX_DIM:
            raise ValueError("layer %d has %d units; a .anne file holds 1..%d" % (i, e.units, MAX_DIM))
        if any(not 0 <= v <= 0xFFFF for v in e.kparams):
            raise ValueError("layer %d: kind parameters %s; a .anne file holds 0..65535"
                             % (i, ", ".join(str(v) for v in e.kparams)))
    for what, shape in shapes:
        if len(shape) > (3 if version >= 3 else 2):
            raise ValueError("%s is %s; a version-%d .anne file holds ranks 1 and 2 (version 3: up to 3)"
                             % (what, _shape_text(shape), version))
        if any(d > MAX_DIM for d in shape):
            raise ValueError("%s is %s; a .anne file holds sizes up to %d per dimension (Flatten or "
                             "Reshape to fewer values)" % (what, _shape_text(shape), MAX_DIM))


def front(in_shape, entries, meta=None, version=VERSION, check=True):
    """Everything of a file before the layer data (header, layer table,
    metadata, padding), with each entry's offset set: the writer then writes
    each layer's data in order (float32: kernel and bias; int8: the parts
    int8_parts() lists, each 4-byte aligned) and the CRC-32 of all.
    ValueError (check_writable) for what the format cannot hold, unless
    check is False (deliberately bad files)."""
    count = len(entries)
    if check:
        check_writable(in_shape, entries, version)
    hs, es = HEADER_SIZE[version], ENTRY_SIZE[version]
    table_end = hs + es * count
    meta_data = metadata_bytes(meta)
    if meta_data and version == 1:
        raise ValueError("version 1 files have no metadata")
    offset = (table_end + len(meta_data) + 3) & ~3
    for entry in entries:
        entry.offset = offset
        offset += entry.data_size
    if version == 1:
        parts = [struct.pack("<4sHHHHI", MAGIC, 1, hs, count, 0, entries[0].n_in)]
    else:
        parts = [struct.pack("<4sHHHHHHHHHHII", MAGIC, version, hs, count, 0, es, 0,
                             *(_shape_raw(in_shape) + (table_end if meta_data else 0, len(meta_data))))]
    for i, entry in enumerate(entries):
        if version == 1:
            parts.append(struct.pack("<BBBBIII6f", entry.kind, entry.act, entry.flags, entry.dtype,
                                     entry.units, entry.offset, 0, *entry.params))
            continue
        parts.append(struct.pack("<BBBBHHHHHHHHIII", entry.kind, entry.act, entry.flags,
                                 entry.dtype, *(_shape_raw(entry.in_shape) + _shape_raw(entry.out_shape)
                                                + (entry.units, entry.offset, entry.data_size))))
        parts.append(struct.pack("<%dH" % SLOTS[version], *(entry.kparams + (0,) * (SLOTS[version] - 8))))
        parts.append(struct.pack("<6f", *entry.params))
        if version == 2:
            parts.append(bytes(8))
            continue
        parts.append(struct.pack("<8B", *_inputs_raw(i, entry.inputs)))
        q = entry.quant
        parts.append(struct.pack(INT8_BLOCK[0], *q[:7]) + bytes(2) + struct.pack(INT8_BLOCK[1], *q[7:]) + bytes(3)
                     if q else bytes(32))
    parts.append(meta_data)
    n = table_end + len(meta_data)
    parts.append(bytes((4 - n % 4) % 4))
    return b"".join(parts)


def _shape_raw(shape):
    return (len(shape),) + tuple(shape) + (0,) * (3 - len(shape))
