# anne_core: what anne_net, anne_io, anne_file and anne_train share, and
# nothing else: the op table's lookups (ops/ops.json through anne_ops),
# float32 buffers and small numeric helpers. Imports flow one way:
# anne_ops <- anne_core <- anne_file <- anne_io <- anne_net.

from array import array

import anne_ops
from anne_ops import ACTIVATIONS


def _takes(name):
    """The parameters activation `name` (canonical) takes."""
    return tuple(anne_ops.DEFAULTS.get(name, ()))


def _canonical(name):
    i = anne_ops.ALIASES.get(name)
    return name if i is None else ACTIVATIONS[i]


held = None  # (typecode, n, array): the arena anne_io.read made before the layers (anne_net.load drops it)


def _floats_for(n, typecode="f"):
    """A new array('f') (or of typecode) of n values, allocated once, in one
    block (array("f", bytearray(4 * n)) briefly needs twice that). Its
    values are 0, 1, ... (wrapping in an int8 array): for buffers that are
    written before they are read. _zeros(n) is the zeroed one. The held
    array is taken if it is the one asked for."""
    global held
    h = held
    if h is not None and h[0] == typecode and h[1] == n:
        held = None
        return h[2]
    return array(typecode, range(n))


def made_once(cache, base, make):
    """make(base), a class built on base, made once per base (cache: the
    caller's dict): a network class over anne_net's Sequential."""
    cls = cache.get(base)
    if cls is None:
        cls = cache[base] = make(base)
    return cls


def chain_bound(sizes):
    """The lower bound of a chain's activations, in values: its layers'
    intermediate outputs have sizes[i] values (x and the last output are
    the caller's); while one layer runs, its input and its output are live."""
    return max([sizes[i] + sizes[i + 1] for i in range(len(sizes) - 1)] + list(sizes) + [0])


def chain_arena(sizes, typecode="f"):
    """One buffer of chain_bound(sizes) values (float32, or int8 with
    typecode "b") -> a view of it per output, each at the buffer's start or
    end in turn, so that no layer's input and output share a value."""
    bound = chain_bound(sizes)
    mv = memoryview(_floats_for(bound, typecode))
    return [mv[0:k] if i % 2 == 0 else mv[bound - k:bound] for i, k in enumerate(sizes)]


_ZERO_CHUNK = array("f", bytearray(64))


def _zeros(n):
    a = _floats_for(n)
    for i in range(0, n, 16):
        j = min(i + 16, n)
        a[i:j] = _ZERO_CHUNK[:j - i]
    return a


def _as_floats(buf):
    """buf as array('f'): itself, or a copy of the float32 values a
    bytes-like view holds (weights used in place from a file's bytes)."""
    if buf is None or isinstance(buf, array):
        return buf
    return array("f", bytes(buf))


def _halves(activation_name):
    return _canonical(activation_name) in _HALVING


_HALVING = tuple(ACTIVATIONS[i] for i in anne_ops.HALVES)


def _n_out(activation_name, units):
    """Outputs of `units` neurons with this activation; ValueError if it
    halves them (glu) and units is odd."""
    if not _halves(activation_name):
        return units
    if units % 2:
        raise ValueError("%s needs even units, got %d" % (_canonical(activation_name), units))
    return units // 2


def _is_finite(v):
    return v - v == 0.0


def _argmax(values):
    """Index of the largest value (the first on ties)."""
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best]:
            best = i
    return best


def _check_finite(buf, what):
    mv = memoryview(buf)
    if len(mv) and isinstance(mv[0], int):
        # float32 bytes in place: non-finite iff all 8 exponent bits are set
        for i in range(3, len(mv), 4):
            if mv[i] & 0x7F == 0x7F and mv[i - 1] & 0x80:
                raise ValueError("%s not finite" % what)
        return
    for v in buf:
        if v - v != 0.0:
            raise ValueError("%s not finite" % what)


# Padding codes (weight files, the layer ABI): Keras's names, by code.
PADDINGS = ("valid", "same", "causal")


def _out_steps(steps, window, strides, padding):
    """(output steps, padding before the first step) of a window of
    `window` steps moved by `strides` over `steps` steps, with Keras's
    padding rules (code 0 valid, 1 same, 2 causal; src/layers/window.rs);
    ValueError when a valid window does not fit."""
    if padding == 0:
        if steps < window:
            raise ValueError("its window of %d steps is longer than its input's %d steps (padding='valid')"
                             % (window, steps))
        return (steps - window) // strides + 1, 0
    if padding == 1:
        out = -(-steps // strides)
        return out, max((out - 1) * strides + window - steps, 0) // 2
    return (steps - 1) // strides + 1, window - 1


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _shape_text(shape):
    """(3,) or (8, 2), as Python prints them."""
    return "(%s%s)" % (", ".join(str(d) for d in shape), "," if len(shape) == 1 else "")
