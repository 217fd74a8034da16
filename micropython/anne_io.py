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

import anne_ops
from anne_ops import ACTIVATIONS, FILE_PARAMS
from anne_core import _canonical, _floats_for, _is_finite, _n_out, _takes


def _default_file_params(name):
    """The six stored floats of activation `name` with Keras's defaults (the
    table's fill values where it takes no such parameter)."""
    p = dict(zip(FILE_PARAMS, anne_ops.FILL))
    for k, v in anne_ops.DEFAULTS.get(name, {}).items():
        if k in p and v is not None:
            p[k] = v
    return p


def _mem_free():
    gc.collect()
    return gc.mem_free()


# Tests replace this to exercise the memory check without a huge file.
_free_memory = _mem_free


def save(net, path):
    """Writes net as a .anne file."""
    if not net.layers:
        raise ValueError("the network has no layers")
    count = len(net.layers)
    with open(path, "wb") as f:
        head = struct.pack("<4sHHHHI", b"ANNE", 1, 16, count, 0, net.n_inputs)
        f.write(head)
        crc = binascii.crc32(head)
        offset = 16 + 40 * count
        for L in net.layers:
            canonical = _canonical(L._name)
            act_id = L._act.id
            p = _default_file_params(canonical)
            flags = 1 if L.bias is not None else 0
            for k in L.params:
                v = L.params[k]
                if k == "approximate":
                    if v:
                        flags |= 4
                elif k == "max_value":
                    if v is not None:
                        flags |= 2
                        p[k] = v
                else:
                    p[k] = v
            entry = struct.pack("<BBBBIII6f", 1, act_id, flags, 0, L.units, offset, 0,
                                *[p[k] for k in FILE_PARAMS])
            f.write(entry)
            crc = binascii.crc32(entry, crc)
            offset += 4 * L.n_params
        for L in net.layers:
            f.write(L._kernel)
            crc = binascii.crc32(L._kernel, crc)
            if L._bias is not None:
                f.write(L._bias)
                crc = binascii.crc32(L._bias, crc)
        f.write(struct.pack("<I", crc & 0xFFFFFFFF))


# ---------------------------------------------------------------------------
# Loading (docs/FORMAT.md). Validation order as tools/anne_format.py: header,
# layer table, each entry and its data extent, (memory), CRC, weights.

def _parse_header(head, size):
    if size >= 4 and head[:4] == b"PK\x03\x04":
        raise ValueError("bad magic: this is a Keras model (.keras), not an .anne file; convert it on "
                         "the PC: python3 tools/anne_convert.py model.keras -o model.anne")
    if size >= 8 and head[:8] == b"\x89HDF\r\n\x1a\n":
        raise ValueError("bad magic: this is a Keras .h5 file, not an .anne file; convert it on "
                         "the PC: python3 tools/anne_convert.py model.h5 -o model.anne")
    if size < 16:
        raise ValueError("truncated: header needs 16 bytes, file has %d" % size)
    magic, version, header_size, count, flags, n_inputs = struct.unpack("<4sHHHHI", head)
    if magic != b"ANNE":
        raise ValueError("bad magic: %r (expected b'ANNE')" % (magic,))
    if version != 1:
        raise ValueError("unsupported version %d (this reader knows 1)" % version)
    if header_size < 16:
        raise ValueError("header_size too small: %d (minimum 16)" % header_size)
    if flags != 0:
        raise ValueError("reserved flags in header: 0x%04x" % flags)
    if not 1 <= count <= 255:
        raise ValueError("layer_count out of range: %d (1..255)" % count)
    if not 1 <= n_inputs <= 65535:
        raise ValueError("n_inputs out of range: %d (1..65535)" % n_inputs)
    table_end = header_size + 40 * count
    if size < table_end:
        raise ValueError("truncated: layer table ends at %d, file has %d bytes" % (table_end, size))
    return header_size, count, n_inputs


def _parse_entry(entry, i, n_in, prev_end, size, make_layer):
    """Checks one 40-byte layer entry; returns (layer, data_offset, end),
    the layer from make_layer (which checks the activation's parameters)."""
    kind, act, lflags, dtype, units, offset, _ = struct.unpack_from("<BBBBIII", entry, 0)
    params = struct.unpack_from("<6f", entry, 16)
    where = "layer %d: " % i
    if kind != 1:
        raise ValueError(where + "unknown layer kind %d" % kind)
    if dtype != 0:
        raise ValueError(where + "unknown dtype %d" % dtype)
    if act >= len(ACTIVATIONS):
        raise ValueError(where + "unknown activation id %d" % act)
    if lflags & ~7:
        raise ValueError(where + "reserved flags: 0x%02x" % lflags)
    if not 1 <= units <= 65535:
        raise ValueError(where + "units out of range: %d (1..65535)" % units)
    name = ACTIVATIONS[act]
    try:
        _n_out(name, units)
    except ValueError as e:
        raise ValueError(where + str(e))
    if offset % 4:
        raise ValueError(where + "data_offset not 4-aligned: %d" % offset)
    if offset < prev_end:
        raise ValueError(where + "data_offset overlaps: %d < %d" % (offset, prev_end))
    for v in params:
        if not _is_finite(v):
            raise ValueError(where + "activation parameter not finite")
    has_bias = lflags & 1
    end = offset + 4 * (n_in * units + (units if has_bias else 0))
    if end + 4 > size:
        raise ValueError(where + "truncated: data ends at %d (+4 CRC), file has %d bytes" % (end, size))
    kw = {}
    for k in _takes(name):
        if k == "approximate":
            if lflags & 4:
                kw[k] = True
        elif k == "max_value":
            if lflags & 2:
                kw[k] = params[3]
        else:
            v = params[FILE_PARAMS.index(k)]
            if k in anne_ops.REQUIRED.get(name, ()) or v != _default_file_params(name)[k]:
                kw[k] = v  # Keras's defaults are left out, as in Keras's config
    layer = make_layer(units, name, bool(has_bias), kw)
    layer.n_in = n_in
    return layer, offset, end


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
# measured with gc.mem_alloc() on the unix port and the emulated boards,
# with room to spare.
_LAYER_BYTES = 96 * _WORD


def _array_bytes(n):
    """Heap bytes of an array('f') of n floats made by _floats_for(n)."""
    return _BLOCK + (4 * n + _BLOCK - 1) // _BLOCK * _BLOCK


def _scratch_bytes(layers):
    """The network's own allocations: a scratch buffer per hidden layer,
    the per-layer objects, the plan."""
    return sum(_array_bytes(L.n_out) for L in layers[:-1]) + _LAYER_BYTES * len(layers) + 4 * _BLOCK


def _weight_bytes(layers):
    """The arrays that hold the weights when they are copied in."""
    return sum(_array_bytes(L.n_in * L.units) + (_array_bytes(L.units) if L.use_bias else 0)
               for L in layers)


def read(source, make_layer, native=None, copy=False):
    """Reads a .anne file for anne_net.load(): source is a path or a
    bytes-like object. make_layer(units, activation, use_bias, params) makes
    each layer (anne_net's Dense); their n_in, _kernel and _bias are set
    here: views into source where the floats can be used in place (aligned,
    as native, the anne module, checks), else copies (always with copy).
    Returns (n_inputs, layers). ValueError for a file the format refuses,
    or that does not fit in memory."""
    if isinstance(source, str):
        return _load_path(source, make_layer)
    return _load_buffer(source, make_layer, native, copy)


def _parse_table(buf, header_size, count, n_inputs, size, make_layer):
    """The layers of the table in buf (entry i at header_size + 40 * i), each
    checked against the one before it -> (layers, data offsets)."""
    layers = []
    offsets = []
    n_in = n_inputs
    prev_end = header_size + 40 * count
    for i in range(count):
        e = header_size + 40 * i
        L, offset, end = _parse_entry(buf[e:e + 40], i, n_in, prev_end, size, make_layer)
        layers.append(L)
        offsets.append(offset)
        n_in = L.n_out
        prev_end = end
    return layers, offsets


def _load_buffer(source, make_layer, native, copy):
    mv = memoryview(source)
    if len(mv) and not isinstance(mv[0], int):
        raise TypeError("load() takes a path or a bytes-like object")
    size = len(mv)
    header_size, count, n_inputs = _parse_header(bytes(mv[:16]), size)
    layers, offsets = _parse_table(mv, header_size, count, n_inputs, size, make_layer)
    _check_memory(_scratch_bytes(layers))
    stored = struct.unpack_from("<I", mv, size - 4)[0]
    computed = binascii.crc32(mv[:size - 4]) & 0xFFFFFFFF
    if stored != computed:
        raise ValueError("CRC mismatch: stored 0x%08x, computed 0x%08x" % (stored, computed))
    aligned = _aligned(mv, offsets[0], native) and all(o % 4 == 0 for o in offsets)
    # Copies where the float data is not usable in place (misaligned, or the
    # Python backend, which cannot view bytes as floats).
    copy = copy or not aligned
    if copy:
        _check_memory(_weight_bytes(layers))
    if not aligned:
        print("anne_net.load: the buffer's float data is not 4-byte aligned; copying it")
    for i, L in enumerate(layers):
        offset = offsets[i]
        nk = 4 * L.n_in * L.units
        L._kernel = mv[offset:offset + nk]
        L._bias = mv[offset + nk:offset + nk + 4 * L.units] if L.use_bias else None
        if copy:
            L._kernel = _copy_floats(L._kernel, i)
            if L._bias is not None:
                L._bias = _copy_floats(L._bias, i)
    return n_inputs, layers


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
        head = f.read(16)
        header_size, count, n_inputs = _parse_header(head, size)
        crc = binascii.crc32(head)
        rest = f.read(header_size - 16 + 40 * count)
        crc = binascii.crc32(rest, crc)
        layers, offsets = _parse_table(head + rest, header_size, count, n_inputs, size, make_layer)
        head = rest = None
        _check_memory(_weight_bytes(layers) + _scratch_bytes(layers))
        pos = header_size + 40 * count
        chunk = bytearray(32)
        for i, L in enumerate(layers):
            offset = offsets[i]
            crc = _skip(f, offset - pos, chunk, crc)
            L._kernel = _new_floats(L.n_in * L.units, i)
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
    return n_inputs, layers


def _skip(f, n, chunk, crc):
    """Reads (and CRCs) n bytes of padding in small pieces."""
    mv = memoryview(chunk)
    while n > 0:
        k = min(n, len(chunk))
        _read_exact(f, mv[:k], k, "padding")
        crc = binascii.crc32(mv[:k], crc)
        n -= k
    return crc
