# anne_data: anne_train's data handling: x and y as rows (lists, or flat
# float32 buffers read in place), the checks on them, the features the
# trained layers take, validation_split, and the memory the training
# buffers need.

import math
from array import array

import anne_ops
from anne_core import _floats_for


def _buffer(data, what):
    """(memoryview of data, True if it holds float32 values, False for the
    bytes of float32 values). TypeError for anything else: a list of rows
    is not a buffer, and an array of integers (array('i'), array('h')) or
    float64 (array('d')) is not float32 (its values are not read as float32
    bits)."""
    try:
        mv = memoryview(data)
    except TypeError:
        raise TypeError("%s must be a list of rows or a float32 buffer, not %s" % (what, type(data).__name__))
    if not len(mv):
        return mv, True
    size = len(bytes(mv[:1]))  # the item size (memoryview.itemsize is not on every port)
    if isinstance(mv[0], float):
        if size == 4:
            return mv, True
        raise TypeError("%s holds %d-byte floats (array('d')?), not float32: give array('f', %s)"
                        % (what, size, what))
    if size != 1:
        raise TypeError("%s holds %d-byte integers (array('i'), array('h')?), not float32: give "
                        "array('f', %s), or a list" % (what, size, what))
    if len(mv) % 4:
        raise ValueError("%s has %d bytes, not a whole number of float32" % (what, len(mv)))
    return mv, False


class _FlatRows:
    """The rows of a flat float32 buffer (or the bytes of one), read in
    place: row k is a view made when it is read (a copy of its floats for
    bytes), not one of a list of views of the whole data set."""

    def __init__(self, mv, n, floats, count):
        self.mv = mv
        self.n = n
        self.floats = floats
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, k):
        if not 0 <= k < self.count:
            raise IndexError("row %d of %d" % (k, self.count))
        n = self.n
        if self.floats:
            return self.mv[k * n:(k + 1) * n]
        return array("f", bytes(self.mv[4 * k * n:4 * (k + 1) * n]))

    def flat(self):
        """The rows as one float32 buffer: in place, or (bytes) a copy."""
        return self.mv if self.floats else array("f", bytes(self.mv))


def _rows(data, n, what):
    """data as rows of n values: a sequence of rows (lists, arrays,
    buffers) as a list, or a flat float32 buffer of rows x n values (or its
    bytes) as a _FlatRows (read in place)."""
    if isinstance(data, _FlatRows):
        return data
    if isinstance(data, (list, tuple)):
        rows = list(data)
        for i, r in enumerate(rows):
            if isinstance(r, (int, float)):
                if n == 1:
                    rows[i] = [float(r)]
                    continue
                raise ValueError("%s[%d] is a number; the network needs rows of %d values" % (what, i, n))
            if len(r) != n:
                raise ValueError("%s[%d] has %d values, expected %d" % (what, i, len(r), n))
        return rows
    mv, floats = _buffer(data, what)
    count = len(mv) if floats else len(mv) // 4
    if count % n:
        raise ValueError("%s has %d values, not a multiple of the %d per row" % (what, count, n))
    return _FlatRows(mv, n, floats, count // n)


def _count_rows(data, n, what):
    """Rows of n values in a flat float32 buffer (checked, not copied)."""
    return len(_rows(data, n, what))


def _check_data(c, X, T, what):
    """_check_finite_rows of x and y (y: rows, not class indices)."""
    _check_finite_rows(X, what + "x")
    if c.loss != "sparse_categorical_crossentropy":
        _check_finite_rows(T, what + "y")


def _check_finite_rows(X, what):
    """ValueError naming the first row holding a NaN or an inf: the data,
    not the training, would make the loss non-finite."""
    if isinstance(X, _FlatRows) and X.floats:
        mv, n = X.mv, X.n
        for i in range(len(mv)):
            v = mv[i]
            if v - v != 0.0:
                raise ValueError("%s[%d] holds %r: the data must be finite" % (what, i // n, v))
        return
    for k in range(len(X)):
        row = X[k]
        if isinstance(row, (int, float)):
            row = (row,)
        for v in row:
            if v - v != 0.0:
                raise ValueError("%s[%d] holds %r: the data must be finite" % (what, k, v))


def _trained_part(net):
    """The index p from which fit() trains: the first trainable layer with
    weights (Dense or Conv1D), or the Dense layers at the end if none is.
    The layers before p are run forward once (frozen, or without weights),
    the ones from p on at every step: Dense, Conv1D, pooling, Flatten,
    Reshape and the affine ones (Normalization, Rescaling and
    BatchNormalization, as Keras runs a frozen one: inference mode)."""
    layers = net._layers
    if layers[-1].kind != anne_ops.LAYER_DENSE:
        raise ValueError("fit() trains networks that end with a Dense layer: this one ends with %s"
                         % type(layers[-1]).__name__)
    p = len(layers)
    while p and layers[p - 1].kind == anne_ops.LAYER_DENSE:
        p -= 1
    for i in range(p):
        if layers[i].weighted and layers[i].trainable:
            return i
    return p


def _dense_only(layers):
    """True when every layer is Dense (the Python backend's
    training_memory() then counts a workspace as the native loop's)."""
    for L in layers:
        if L.kind != anne_ops.LAYER_DENSE:
            return False
    return True


def _features(net, p, X, flat=False):
    """Rows X through the frozen layers[:p] (once: they do not change),
    as rows of one flat array (or, flat=True, the array). X as it is if
    there are none."""
    if p == 0:
        return X
    frozen = net._layers[:p]
    steps = net._plan_tuple(frozen, net._scratch_for(frozen))
    if not steps:  # (Flatten, Reshape: the values as they are)
        return _flat(X, net.n_inputs) if flat else X
    n = frozen[-1].n_out
    plan = net._backend.Plan(steps)
    values = _floats_for(n * len(X))
    view = memoryview(values)
    xa = _floats_for(net.n_inputs)
    out = _floats_for(n)
    for k in range(len(X)):
        plan(_as_row(X[k], xa), out)
        view[k * n:(k + 1) * n] = out
    if flat:
        return values
    return [view[k * n:(k + 1) * n] for k in range(len(X))]


def _targets(loss, y, n_rows, n_out):
    if loss == "sparse_categorical_crossentropy":
        if not isinstance(y, (list, tuple)) and not hasattr(y, "__len__"):
            raise TypeError("y must be a list of class indices for %s" % loss)
        labels = []
        for i in range(len(y)):
            v = y[i]
            if isinstance(v, float) and v == int(v):
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError("y[%d] is %r; %s takes class indices 0..%d" % (i, v, loss, n_out - 1))
            if not 0 <= v < n_out:
                raise ValueError("y[%d] = %d is out of range: the network has %d classes (0..%d)"
                                 % (i, v, n_out, n_out - 1))
            labels.append(v)
        t = labels
    else:
        t = _rows(y, n_out, "y")
    if len(t) != n_rows:
        raise ValueError("x has %d rows but y has %d" % (n_rows, len(t)))
    return t


def _largest_block():
    """The largest block the GC heap can give now, in bytes (found by
    allocating: MicroPython has no portable query; run only on a failure)."""
    import gc
    gc.collect()
    lo, hi = 0, gc.mem_free()
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            b = bytearray(mid)
            b = None
            lo = mid
        except MemoryError:
            hi = mid - 1
    return lo


def _alloc(n, why):
    """array('f') of n floats; MemoryError saying why, how many bytes, and
    the heap's free bytes and largest free block if it does not fit."""
    try:
        return _floats_for(n)
    except MemoryError:
        pass
    import gc
    gc.collect()
    free = gc.mem_free()
    raise MemoryError("%s: needs %d bytes in one block; the heap has %d bytes free, the largest free "
                      "block is %d bytes" % (why, 4 * n, free, _largest_block()))


def _copy_floats(w, why):
    """A new array('f') of the float32 values w (bytes) holds, copied in
    chunks (no full-size temporary)."""
    n = len(w) // 4
    a = _alloc(n, why)
    for i in range(0, n, 64):
        j = min(i + 64, n)
        a[i:j] = array("f", bytes(w[4 * i:4 * j]))
    return a


def _split(net, c, x, y, v):
    """Keras's validation_split: (x, y) of the first floor(n * (1 - v))
    rows, and the rest as validation_data (views, not copies, of buffers)."""
    if not 0.0 < v < 1.0:
        raise ValueError("validation_split must be between 0 and 1, got %r" % (v,))
    n_in = net.n_inputs
    n = len(x) if isinstance(x, (list, tuple)) else _count_rows(x, n_in, "x")
    at = int(math.floor(n * (1.0 - v)))
    if at in (0, n):
        raise ValueError("x has %d rows: too few to split with validation_split=%r" % (n, v))
    x, vx = _split_at(x, n_in, at)
    if c.loss == "sparse_categorical_crossentropy" or isinstance(y, (list, tuple)):
        y, vy = y[:at], y[at:]
    else:
        y, vy = _split_at(y, net.n_outputs, at)
    return x, y, (vx, vy)


def _split_at(data, width, at):
    """A list of rows, or a flat buffer (float32 values, or their bytes), split
    before row at."""
    if isinstance(data, (list, tuple)):
        return data[:at], data[at:]
    mv = memoryview(data)
    k = at * width * (1 if not len(mv) or isinstance(mv[0], float) else 4)
    return mv[:k], mv[k:]


def _as_row(row, xa):
    """row as a float32 buffer: itself if it is one, else copied into xa."""
    if isinstance(row, (array, memoryview)):
        return row
    for i in range(len(xa)):
        xa[i] = row[i]
    return xa


def _native(net):
    return hasattr(net._backend, "fit_epoch")


def _heap_bytes(n, itemsize=4):
    """GC heap bytes of an array of n items: its object (one block of four
    words) and its items, each rounded up to whole blocks."""
    import sys
    block = 32 if sys.maxsize > 1 << 32 else 16
    return block + (n * itemsize + block - 1) // block * block


def _flat_x(net, p, X):
    """x as one float32 buffer of rows x n_in values for the trained
    layers: X itself if it is one (and no frozen layers come first), else a
    copy (of the rows through the frozen layers)."""
    if p:
        return _features(net, p, X, flat=True)
    return _flat(X, net.n_inputs)


def _flat(X, n):
    if isinstance(X, _FlatRows):
        return X.flat()
    if not isinstance(X, (list, tuple)):
        mv, floats = _buffer(X, "x")
        return X if floats else array("f", bytes(mv))
    flat = _floats_for(n * len(X))
    k = 0
    for row in X:
        if isinstance(row, (int, float)):
            flat[k] = row
            k += 1
            continue
        for v in row:
            flat[k] = v
            k += 1
    return flat


def _flat_t(loss, T):
    """Targets as one float32 buffer: class indices as floats, or rows."""
    if loss == "sparse_categorical_crossentropy":
        return array("f", T)
    if not isinstance(T, (list, tuple)):
        return _flat(T, 1)
    return _flat(T, len(T[0]) if T and not isinstance(T[0], (int, float)) else 1)
