# anne_io: reading and writing `.anne` weight files (docs/FORMAT.md) for
# anne_net. Kept apart from anne_net so that a network built by hand needs
# less RAM, and so that each module compiles within a small board's heap.
# Use it through anne_net.load() and net.save(). It does not import anne_net
# (anne_net imports it when it loads or saves): layers are made by the
# make_layer function anne_net.load() hands to read().

import gc
import struct
import binascii
from array import array

import anne_file
import anne_file_int8
import anne_ops
import anne_core
from anne_core import _canonical, _check_finite, _floats_for, chain_bound


def _mem_free():
    gc.collect()
    return gc.mem_free()


# Tests replace this to exercise the memory check without a huge file.
_free_memory = _mem_free


def file_kparams(L):
    """Layer L's kind parameters as a file's entry stores them: the registry's
    slots, the end of its spec (the ABI's params: its input's dims, then the
    slots in the same order). (An affine layer's slot is save's.)"""
    slots = anne_ops.LAYER_PARAMS.get(L.kind)
    if not slots or L.kind == anne_ops.LAYER_AFFINE:
        return anne_file.NO_KPARAMS
    spec = L._step(None)[4]
    return tuple(spec[len(spec) - len(slots):]) + (0,) * (len(anne_file.NO_KPARAMS) - len(slots))


def save(net, path, meta=None):
    """Writes net as a .anne file (version 2, 3 for images and graphs, with meta, by default
    net.metadata). Refuses (ValueError) what the format cannot hold before
    it opens the file."""
    if not net.layers:
        raise ValueError("the network has no layers")
    if len(net.layers) > anne_file.MAX_LAYERS:  # (anne_file.front checks it too; here before the entries)
        raise ValueError("the network has %d layers; a .anne file holds 1..%d" % (len(net.layers), anne_file.MAX_LAYERS))
    entries = []
    shape = net.input_shape
    graph = hasattr(net.layers[-1], "_inputs")   # (a graph's layers name their inputs: anne_graph)
    for i, L in enumerate(net.layers):
        flags, params = anne_file.file_params(_canonical(L._name), L.params)
        kp = None if L.kind in anne_file.MERGES else file_kparams(L)
        ins = L._inputs if graph else None
        if graph:   # each layer's input shape is its first input's output shape
            shapes = [net.input_shape if j == anne_file.NETWORK_INPUT else entries[j].out_shape for j in ins]
            shape = shapes[0]
        if L.kind in anne_file.MERGES:
            e = anne_file.Entry(anne_ops.ACTIVATIONS.index(_canonical(L._name)), flags, shape, 0, params,
                                kind=L.kind, inputs=ins, in_shapes=shapes)
        elif L.weighted:
            e = anne_file.Entry(L._act.id, flags | (anne_file.FLAG_BIAS if L._bias is not None else 0),
                                shape, L.units, params, kind=L.kind, kparams=kp)
        elif L.kind == anne_ops.LAYER_AFFINE:  # (params: linear's, as for the kinds below)
            e = anne_file.Entry(0, anne_file.FLAG_BIAS, shape, L.units, params, kind=L.kind,
                                kparams=(L.code, 0, 0, 0, 0, 0, 0, 0))
        else:
            e = anne_file.Entry(0, 0, shape, 0, params, kind=L.kind, kparams=kp, out_shape=L.output_shape)
        e.inputs = ins
        entries.append(e)
        shape = e.out_shape
    # (version 3 for rank-3 shapes: 2-D layers' images)
    v3 = graph or len(net.input_shape) == 3 or any(len(e.out_shape) == 3 for e in entries)
    head = anne_file.front(net.input_shape, entries, net.metadata if meta is None else meta,
                           3 if v3 else anne_file.VERSION)
    with open(path, "wb") as f:
        f.write(head)
        crc = binascii.crc32(head)
        for L in net.layers:
            for a in (L._kernel, L._bias):
                if a is not None:
                    f.write(a)
                    crc = binascii.crc32(a, crc)
        f.write(struct.pack("<I", crc & 0xFFFFFFFF))


# ---------------------------------------------------------------------------
# Loading (docs/FORMAT.md), with anne_file's checks in its order: header,
# layer table, each entry and its data extent, metadata, (memory), CRC,
# weights (anne_net checks they are finite).

def _check_memory(need):
    free = _free_memory()
    if need > free:
        raise ValueError("model does not fit in memory: needs %d bytes, %d free" % (need, free))


# The GC heap hands out blocks of 4 words (16 bytes on 32-bit boards); an
# array('f') is one block of object and its items rounded up to blocks.
_WORD = struct.calcsize("P")
_BLOCK = 4 * _WORD
# What a loaded layer keeps besides its arrays (the Dense object and its
# attribute table, its parameter dict, the activation, its plan tuple),
# measured with gc.mem_alloc() on the unix port and the emulated boards on
# both backends (the pure-Python one keeps about 12 words more a layer;
# 96 words fell short of it, and of the native one on a five-layer model
# with activation parameters: tests/board/test_net_habits.py).
_LAYER_BYTES = 112 * _WORD


def _array_bytes(n, size=4):
    """Heap bytes of an array of n items of size bytes (array('f') by
    _floats_for(n), or an int8 network's bytearray)."""
    return _BLOCK + (size * n + _BLOCK - 1) // _BLOCK * _BLOCK


def _scratch_bytes(layers, arena):
    """The network's own allocations: the activation arena (_arena_of: a
    chain's, anne_core.chain_arena, with a view per hidden layer that
    computes; a graph's, anne_graph; of bytes in an int8 network), the
    per-layer objects, the plan."""
    graph = hasattr(layers[-1], "_inputs")
    views = _LAYER_BYTES * len(layers) if graph else _BLOCK * len([L for L in layers if L.computes])
    typecode, n = arena
    return _array_bytes(n, 1 if typecode == "b" else 4) + views + _LAYER_BYTES * len(layers) + 4 * _BLOCK


def _arena_first(arena, parse):
    """parse() again, after making the network's activation arena (typecode,
    values) from a clean heap: anne_core.held, which the network takes
    (anne_net.load). Parsing leaves the objects it keeps among its garbage,
    all over the heap, where the arena may then find no block (MobileNetV1
    int8 on a Cortex-M0's 192 KB heap: no 55 KB block among 132 KB free),
    so the caller drops the first parse's layers first."""
    anne_core.held = None
    gc.collect()
    anne_core.held = arena + (_floats_for(arena[1], arena[0]),)
    return parse()


def _arena_of(layers):
    """The network's activation arena: (typecode, values), as the network
    makes it (anne_net.Sequential._rebuild, anne_graph)."""
    typecode = "b" if _int8(layers[0]) else "f"
    if hasattr(layers[-1], "_inputs"):
        import anne_graph
        return typecode, max(anne_graph.plan_layers(layers)[3], 1)
    return typecode, chain_bound([L.n_out for L in layers if L.computes][:-1])


def _weight_bytes(layers):
    """The arrays that hold the weights when they are copied in."""
    return sum(L._heap_bytes() if _int8(L) else
               _array_bytes(L._known_rows() * L.units) + (_array_bytes(L.units) if L.use_bias else 0)
               for L in layers if L.stored)


def _int8(L):
    """True for an int8 layer (anne_int8.DenseInt8): its data is read by
    parts (L._set_data), after anne_file_int8.check_int8_data."""
    return getattr(L, "dtype", None) == "int8"


def _int8_data(L, i, entry, view, copy):
    anne_file_int8.check_int8_data("layer %d: " % i, entry, view)
    L._set_data(view, copy)


def _metadata_bytes(meta):
    """Heap bytes the parsed metadata keeps (at most): its strs, lists and
    dict. Not part of the memory check: it exists when the check runs."""
    def blocks(n):
        return (n + _BLOCK - 1) // _BLOCK * _BLOCK

    n = _BLOCK + blocks((4 * len(meta) + 8) * _WORD)
    for k, v in meta.items():
        strs = [k] + (v if isinstance(v, list) else [v])
        n += sum(_BLOCK + blocks(len(t.encode()) + 1) for t in strs)
        if isinstance(v, list):
            n += _BLOCK + blocks(len(v) * _WORD)
    return n


def read(source, make_layer, native=None, copy=False):
    """Reads a .anne file for anne_net.load(): source is a path or a
    bytes-like object. make_layer(entry) makes each layer from its
    anne_file.Entry (anne_net's layers); their input shape, _kernel and
    _bias are set here: views into source where the floats can be used in place
    (aligned, as native, the anne module, checks), else copies (always with
    copy). Returns (input shape, layers, metadata). ValueError for a file the
    format refuses, or that does not fit in memory."""
    if isinstance(source, str):
        mapped = _mapped(source)
        got = _load_path(source, make_layer) if mapped is None else _load_buffer(mapped, make_layer, native, copy)
    else:
        got = _load_buffer(source, make_layer, native, copy)
    for i, L in enumerate(got[1]):
        for w in (L._kernel, L._bias):
            if w is not None and not _int8(L):
                _check_finite(w, "layer %d: weights" % i)
    return got


def _mapped(path):
    """The file's bytes in place when its filesystem maps it into memory (a
    ROMFS file, in flash: its buffer is read-only and stays valid while the
    filesystem is mounted), else None (read layer by layer)."""
    with open(path, "rb") as f:
        try:
            return memoryview(f)
        except TypeError:
            return None


def _parse_front(buf, head, size, make_layer):
    """The layers and metadata from the part of the file before the data
    -> (layers, data offsets, metadata)."""
    entries = anne_file.parse_entries(buf, head, size, each=gc.collect)
    meta = anne_file.parse_metadata(buf, head)
    layers, offsets = _make_layers(entries, make_layer)
    return layers, offsets, meta, entries


def _make_layers(entries, make_layer):
    """The layers of the parsed entries -> (layers, data offsets)."""
    layers = []
    graph = anne_file.is_graph(entries)
    for i, e in enumerate(entries):
        gc.collect()  # (each layer's objects in the last one's garbage: fewer, larger holes; anne_file too)
        try:
            L = make_layer(e)
        except ValueError as err:
            raise ValueError("layer %d: %s" % (i, err))
        L._set_input(e.in_shape)
        if graph:  # (a graph's layers name their inputs: anne_graph)
            L._inputs = e.inputs
            if e.kind in anne_file.MERGES:
                L._in_shapes = [entries[0].in_shape if j == anne_file.NETWORK_INPUT else entries[j].out_shape
                                for j in e.inputs]
        layers.append(L)
    return layers, [e.offset for e in entries]


def _writable(source, mv):
    """True for a buffer that can change under a view of it: a bytearray
    (which may also grow, moving its bytes and freeing the old block), an
    array, a writable memoryview. bytes, frozen constants and ROMFS files'
    buffers are read-only."""
    if isinstance(source, bytes):
        return False
    try:
        mv[0] = mv[0]
    except TypeError:
        return False
    return True


def _load_buffer(source, make_layer, native, copy):
    mv = memoryview(source)
    if len(mv) and not isinstance(mv[0], int):
        raise TypeError("load() takes a path or a bytes-like object")
    size = len(mv)
    head = anne_file.parse_head(bytes(mv[:32]), size)
    layers, offsets, meta, entries = _parse_front(mv, head, size, make_layer)
    # A view does not pin a bytearray: once it grows, its bytes move and a
    # network used in place would read freed memory. Writable buffers are
    # copied (read-only ones are used in place), and so is float data not
    # usable in place (misaligned, or the Python backend, which cannot view
    # bytes as floats).
    writable = len(mv) > 0 and _writable(source, mv)
    aligned = _aligned(mv, offsets[0], native) and all(o % 4 == 0 for o in offsets)
    copy = copy or not aligned or writable
    arena = _arena_of(layers)
    try:
        _check_memory(_scratch_bytes(layers, arena) + (_weight_bytes(layers) if copy else 0))
    except ValueError as e:
        if writable:
            raise ValueError("%s (a writable buffer such as a bytearray is copied: load bytes, "
                             "or the path, to need less)" % e)
        raise
    layers = offsets = meta = entries = None
    layers, offsets, meta, entries = _arena_first(arena, lambda: _parse_front(mv, head, size, make_layer))
    stored = struct.unpack_from("<I", mv, size - 4)[0]
    computed = binascii.crc32(mv[:size - 4]) & 0xFFFFFFFF
    if stored != computed:
        raise ValueError("CRC mismatch: stored 0x%08x, computed 0x%08x" % (stored, computed))
    if not aligned:
        print("anne_net.load: the buffer's float data is not 4-byte aligned; copying it")
    for i, L in enumerate(layers):
        if not L.stored:
            continue
        offset = offsets[i]
        if _int8(L):
            _int8_data(L, i, entries[i], mv[offset:offset + L._data_size], copy)
            continue
        nk = 4 * L._known_rows() * L.units
        L._kernel = mv[offset:offset + nk]
        L._bias = mv[offset + nk:offset + nk + 4 * L.units] if L.use_bias else None
        if copy:
            L._kernel = _copy_floats(L._kernel, i)
            if L._bias is not None:
                L._bias = _copy_floats(L._bias, i)
    return head.in_shape, layers, meta


def _new_floats(n, i):
    """_floats_for(n) for layer i; a MemoryError names the layer and the
    block it needed (the free memory can be enough yet in pieces)."""
    try:
        return _floats_for(n)
    except MemoryError:
        raise MemoryError("loading layer %d: no free block of %d bytes (%d bytes free in all; "
                          "the heap is fragmented: load right after boot or from a path)"
                          % (i, 4 * n, _mem_free()))


def _copy_floats(view, i):
    """A bytes view of float32 values as a new array('f'), copied in small
    pieces (no second copy of the whole)."""
    out = _new_floats(len(view) // 4, i)
    for j in range(0, len(view), 256):
        piece = array("f", bytes(view[j:j + 256]))
        out[j // 4:j // 4 + len(piece)] = piece
    return out


def _aligned(mv, offset, native):
    """True if mv[offset:] starts at a 4-byte aligned address."""
    if native is not None:
        try:
            native.argmax(mv[offset:offset + 4])
            return True
        except ValueError:
            return False
    try:
        import uctypes
        return uctypes.addressof(mv[offset:offset + 4]) % 4 == 0
    except (ImportError, TypeError, AttributeError):
        return False


def _read_exact(f, buf, nbytes, what):
    n = f.readinto(buf)
    if n is None or n != nbytes:
        raise ValueError("truncated: file ended while reading %s" % what)


def _load_path(path, make_layer):
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        head = anne_file.parse_head(f.read(32), size)
        f.seek(0)
        # What the readers use of the front, in order: the known part of the
        # header and of each entry, then the metadata; whatever else is there
        # (larger header or entries, a gap before the metadata) is only read
        # for the CRC, in small pieces.
        hs, es = anne_file.HEADER_SIZE[head.version], anne_file.ENTRY_SIZE[head.version]
        front = bytearray(hs + es * head.count + head.meta_size)
        view = memoryview(front)
        chunk = bytearray(64)
        crc = 0
        pos = 0
        for start, n, at in [(0, hs, 0)] + [(head.header_size + head.entry_size * i, es, hs + es * i)
                                           for i in range(head.count)] \
                + ([(head.meta_offset, head.meta_size, hs + es * head.count)] if head.meta_size else []):
            crc = _skip(f, start - pos, chunk, crc)
            _read_exact(f, view[at:at + n], n, "the layer table" if at < hs + es * head.count else "the metadata")
            crc = binascii.crc32(view[at:at + n], crc)
            pos = start + n
        crc = _skip(f, head.data_start - pos, chunk, crc)
        view = None

        def parse():
            entries = anne_file.parse_entries(front, head, size, hs, es, gc.collect)
            return (entries, anne_file.parse_metadata(front, head, hs + es * head.count)) + _make_layers(
                entries, make_layer)

        entries, meta, layers, offsets = parse()
        arena = _arena_of(layers)
        _check_memory(_weight_bytes(layers) + _scratch_bytes(layers, arena))
        entries = meta = layers = offsets = None
        entries, meta, layers, offsets = _arena_first(arena, parse)  # (as in _load_buffer)
        front = parse = None
        pos = head.data_start
        int8 = []
        for i, L in enumerate(layers):
            if not L.stored:
                continue
            offset = offsets[i]
            crc = _skip(f, offset - pos, chunk, crc)
            if _int8(L):
                data = bytearray(L._data_size)
                _read_exact(f, data, len(data), "a layer's int8 data")
                crc = binascii.crc32(data, crc)
                int8.append((L, i, data))  # (checked after the CRC; used in place: no one else has it)
                pos = offset + len(data)
                continue
            L._kernel = _new_floats(L._known_rows() * L.units, i)
            _read_exact(f, L._kernel, 4 * len(L._kernel), "a kernel")
            crc = binascii.crc32(L._kernel, crc)
            if L.use_bias:
                L._bias = _new_floats(L.units, i)
                _read_exact(f, L._bias, 4 * L.units, "a bias")
                crc = binascii.crc32(L._bias, crc)
            pos = offset + 4 * L.n_params
        crc = _skip(f, size - 4 - pos, chunk, crc)
        stored = struct.unpack("<I", f.read(4))[0]
    if stored != crc & 0xFFFFFFFF:
        raise ValueError("CRC mismatch: stored 0x%08x, computed 0x%08x" % (stored, crc & 0xFFFFFFFF))
    for L, i, data in int8:
        _int8_data(L, i, entries[i], memoryview(data), False)
    return head.in_shape, layers, meta


def _skip(f, n, chunk, crc):
    """Reads (and CRCs) n bytes of padding in small pieces."""
    mv = memoryview(chunk)
    while n > 0:
        k = min(n, len(chunk))
        _read_exact(f, mv[:k], k, "padding")
        crc = binascii.crc32(mv[:k], crc)
        n -= k
    return crc


# ---------------------------------------------------------------------------
# What the converter folded into the layers (the metadata's `folded` and
# `folded_before`, docs/FORMAT.md), on the layers of anne_net

def _before_args(text):
    """A `folded_before` item's text, "code|scales|offsets" -> (Keras class
    code, scales, offsets); ValueError if it is not that."""
    code, s, o = text.split("|")
    s, o = [float(v) for v in s.split()], [float(v) for v in o.split()]
    if len(s) != len(o) or not s:
        raise ValueError("folded_before: %d scales, %d offsets" % (len(s), len(o)))
    return int(code), s, o


def _parse_folded(meta, layers):
    """Moves the metadata's `folded` and `folded_before` (docs/FORMAT.md)
    onto the layers: L._folded (the Keras layers' names, "a + b"), and
    L._before ((Keras class code, scales, offsets) of what was folded in
    before it). Unreadable items are left in the metadata as text."""
    for key in ("folded", "folded_before"):
        text = meta.get(key)
        if not isinstance(text, str):
            continue
        try:
            parsed = []
            for item in text.split("; "):
                i, _, rest = item.partition(": ")
                i = int(i)
                # (a graph's merge keeps the activation folded into it: "add + re_lu")
                if not 0 <= i < len(layers) or not (layers[i].weighted or (
                        key == "folded" and layers[i].kind in anne_file.MERGES)):
                    raise ValueError
                if key == "folded_before":
                    _before_args(rest)
                parsed.append((i, rest))
        except ValueError:
            continue
        for i, v in parsed:
            if key == "folded":
                layers[i]._folded = v
            else:
                layers[i]._before = v
        del meta[key]


def _folded_text(layers):
    """The `folded` metadata item for the layers, or None."""
    items = ["%d: %s" % (i, L._folded) for i, L in enumerate(layers) if getattr(L, "_folded", None)]
    return "; ".join(items) or None


def _folded_before_text(layers):
    items = ["%d: %s" % (i, L._before) for i, L in enumerate(layers) if getattr(L, "_before", None)]
    return "; ".join(items) or None
