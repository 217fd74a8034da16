# anne_train_base: what anne_train and its loop share: the losses
# and metrics (Keras's names, reduction and numerics, per sample), the
# optimizers (Keras 3's SGD and Adam), the History and EarlyStopping, and
# the data handling (x and y as rows, lists or flat float32 buffers read in
# place, their checks, validation_split, the memory the buffers need). One
# module rather than four: a board loads each module's tables into RAM.

import math
from array import array

import anne_ops
from anne_core import _argmax, _floats_for


_EPS = 1e-7  # keras.backend.epsilon()


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------
# Losses: Keras 3's, per sample (mean over the outputs for mse, mae and
# binary cross-entropy, sum for the categorical ones), averaged over the
# batch. With a sigmoid or softmax output layer, Keras's TensorFlow backend
# computes binary and categorical cross-entropy from the logits, and so do
# these (sparse categorical cross-entropy it computes from the clipped
# probabilities, and so do these).

LOSSES = ("mean_squared_error", "mean_absolute_error", "binary_crossentropy",
          "categorical_crossentropy", "sparse_categorical_crossentropy")
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}
# fit_epoch's metric codes (anne.h's ANNE_METRIC_*): their index here
FIT_METRICS = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mean_squared_error",
               "mean_absolute_error")


def loss_name(loss):
    if not isinstance(loss, str):
        raise TypeError("loss must be a str, one of %s" % ", ".join(LOSSES + tuple(LOSS_ALIASES)))
    name = LOSS_ALIASES.get(loss, loss)
    if name not in LOSSES:
        raise ValueError("unknown loss %r; anne knows %s" % (loss, ", ".join(LOSSES + tuple(LOSS_ALIASES))))
    return name


def _log_sum_exp(values):
    """log(sum(exp(v))), shifted by the largest value (no overflow)."""
    m = max(values)
    e = 0.0
    for v in values:
        e += math.exp(v - m)
    return m + math.log(e)


def _clip(v):
    return _EPS if v < _EPS else 1.0 - _EPS if v > 1.0 - _EPS else v


def loss_and_grad(loss, act, z, y, t):
    """(per-sample loss, dL/dz or None, dL/dy or None) for output y (z its
    pre-activation, act the output activation's name) and target t (a row,
    or a class index for the sparse loss). One of the gradients is given:
    dL/dz where the loss is computed from the logits."""
    n = len(y)
    if loss == "mean_squared_error":
        s = 0.0
        for i in range(n):
            d = y[i] - t[i]
            s += d * d
        return s / n, None, [2.0 * (y[i] - t[i]) / n for i in range(n)]
    if loss == "mean_absolute_error":
        s = 0.0
        g = [0.0] * n
        for i in range(n):
            d = y[i] - t[i]
            s += abs(d)
            g[i] = (1.0 if d > 0 else -1.0 if d < 0 else 0.0) / n
        return s / n, None, g
    if loss == "binary_crossentropy":
        s = 0.0
        if act == "sigmoid":
            g = [0.0] * n
            for i in range(n):
                x = z[i]
                s += max(x, 0.0) - x * t[i] + math.log(1.0 + math.exp(-abs(x)))
                g[i] = (_sigmoid(x) - t[i]) / n
            return s / n, g, None
        g = [0.0] * n
        for i in range(n):
            p = _clip(y[i])
            s -= t[i] * math.log(p) + (1.0 - t[i]) * math.log(1.0 - p)
            inside = _EPS <= y[i] <= 1.0 - _EPS
            g[i] = (-t[i] / p + (1.0 - t[i]) / (1.0 - p)) / n if inside else 0.0
        return s / n, None, g
    if loss == "categorical_crossentropy":
        if act == "softmax":
            lse = _log_sum_exp(z)
            s = 0.0
            st = 0.0
            for i in range(n):
                s -= t[i] * (z[i] - lse)
                st += t[i]
            return s, [math.exp(z[i] - lse) * st - t[i] for i in range(n)], None
        total = 0.0
        for v in y:
            total += v
        s = 0.0
        q = [_clip(v / total) for v in y]
        for i in range(n):
            s -= t[i] * math.log(q[i])
        # d/dy_j of -sum_i t_i log(y_i / total) (where not clipped)
        st = 0.0
        for v in t:
            st += v
        g = [0.0] * n
        for j in range(n):
            r = y[j] / total
            g[j] = (st / total - t[j] / y[j]) if _EPS <= r <= 1.0 - _EPS and y[j] else 0.0
        return s, None, g
    # sparse categorical cross-entropy from the clipped probabilities:
    # logits log(clip(y)), then softmax cross-entropy with the label.
    label = t
    lp = [math.log(_clip(v)) for v in y]
    lse = _log_sum_exp(lp)
    g = [0.0] * n
    for j in range(n):
        dl = math.exp(lp[j] - lse) - (1.0 if j == label else 0.0)
        g[j] = dl / _clip(y[j]) if _EPS <= y[j] <= 1.0 - _EPS else 0.0
    return lse - lp[label], None, g


# ---------------------------------------------------------------------------
# Metrics

METRICS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error")
METRIC_ALIASES = {"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}


def metric_kind(name, loss, n_out):
    """The metric Keras computes for name (as given to compile) -> its kind."""
    kind = METRIC_ALIASES.get(name, name) if isinstance(name, str) else None
    if kind not in METRICS:
        raise ValueError("unknown metric %r; anne knows %s" % (name, ", ".join(METRICS + tuple(METRIC_ALIASES))))
    if kind == "accuracy":
        if loss == "sparse_categorical_crossentropy":
            return "sparse_categorical_accuracy"
        if loss == "binary_crossentropy" or n_out == 1:
            return "binary_accuracy"
        return "categorical_accuracy"
    return kind


def metric_value(kind, y, t):
    n = len(y)
    if kind == "binary_accuracy":
        s = 0.0
        for i in range(n):
            s += 1.0 if (y[i] > 0.5) == (t[i] > 0.5) else 0.0
        return s / n
    if kind == "categorical_accuracy":
        return 1.0 if _argmax(y) == _argmax(t) else 0.0
    if kind == "sparse_categorical_accuracy":
        return 1.0 if _argmax(y) == t else 0.0
    s = 0.0
    for i in range(n):
        d = y[i] - t[i]
        s += d * d if kind == "mean_squared_error" else abs(d)
    return s / n


# ---------------------------------------------------------------------------
# Optimizers: Keras 3's SGD and Adam, their hyperparameters and step count
# (iterations, Adam's t). The steps are fit_epoch's (the native module's, or
# anne_train_python's on the backend's sgd and adam), on the slots the
# compiled network keeps (anne_train_native._prepare_memory).

class SGD:
    """keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError("momentum must be in [0, 1], got %r" % momentum)
        self.iterations = 0

    def __repr__(self):
        return "SGD(learning_rate=%g, momentum=%g, nesterov=%s)" % (self.learning_rate, self.momentum,
                                                                    self.nesterov)


class Adam(SGD):
    """keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.iterations = 0

    def __repr__(self):
        return "Adam(learning_rate=%g, beta_1=%g, beta_2=%g, epsilon=%g)" % (
            self.learning_rate, self.beta_1, self.beta_2, self.epsilon)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def optimizer(opt):
    if isinstance(opt, SGD):
        return opt
    if isinstance(opt, str) and opt.lower() in OPTIMIZERS:
        return OPTIMIZERS[opt.lower()]()
    raise ValueError("unknown optimizer %r; anne knows %s, or anne_net.SGD(...), anne_net.Adam(...)"
                     % (opt, ", ".join(repr(k) for k in OPTIMIZERS)))


# ---------------------------------------------------------------------------
# Callbacks and history

class History:
    """What fit() returns: .history (Keras's dict of per-epoch lists),
    .epoch, .params."""

    def __init__(self, params):
        self.history = {}
        self.epoch = []
        self.params = params

    def __repr__(self):
        return "<History %s>" % self.history


class EarlyStopping:
    """keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0,
    patience=0, mode="auto", restore_best_weights=False)."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        if mode not in ("auto", "min", "max"):
            raise ValueError("mode must be 'auto', 'min' or 'max', not %r" % (mode,))
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.bigger = mode == "max" or (mode == "auto" and ("acc" in monitor))
        self.stopped_epoch = 0

    def _begin(self):
        self.best = None
        self.wait = 0
        self.best_weights = None
        self.stopped_epoch = 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.bigger:
            return value - self.min_delta > self.best
        return value + self.min_delta < self.best

    def _end_epoch(self, epoch, logs, weights):
        """True to stop. weights() gives a copy of the current weights."""
        if self.monitor not in logs:
            raise ValueError("EarlyStopping monitors %r, which fit does not report (it has %s)"
                             % (self.monitor, ", ".join(sorted(logs))))
        value = logs[self.monitor]
        if self._improved(value):
            self.best = value
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = weights()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return False


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
        raise anne_ops.err(73, what, len(mv))  # F32_BYTES
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
    if getattr(net, "_inputs", None) is not None:  # a graph: trained from its input on (anne_train_graph)
        return 0
    p = len(layers)
    while p and layers[p - 1].kind == anne_ops.LAYER_DENSE:
        p -= 1
    for i in range(p):
        if layers[i].weighted and layers[i].trainable:
            return i
    return p


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


_LOSS_NOT_FINITE = ("the loss is not finite at epoch %d, batch %d: training stopped; the weights and "
                    "the optimizer's state are those of the last finite step (lower the learning rate?)")
_STEP_NOT_FINITE = ("a step makes the weights or the optimizer's state non-finite at epoch %d, batch %d: "
                    "training stopped; they are those of the last finite step (lower the learning rate?)")


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


def _logs(c, loss, metrics, val):
    """An epoch's (or evaluate()'s) logs, Keras's keys: loss, each metric,
    and from val = (loss, metrics) on the validation data, val_ each."""
    logs = {"loss": loss}
    for i, (m, _) in enumerate(c.metrics):
        logs[m] = metrics[i]
    if val is not None:
        logs["val_loss"] = val[0]
        for i, (m, _) in enumerate(c.metrics):
            logs["val_" + m] = val[1][i]
    return logs


def _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
    """The epoch's logs into history, its line (verbose), the callbacks:
    True to stop."""
    history.epoch.append(epoch)
    for k in logs:
        history.history.setdefault(k, []).append(logs[k])
    if verbose:
        line = "Epoch %d/%d - " % (epoch + 1, epochs) + " - ".join("%s: %.4f" % (k, logs[k]) for k in logs)
        if t0 is not None:
            line += " - %dms" % (ticks_ms() - t0)
        print(line)
    stop = False
    for cb in callbacks:
        weights = lambda: [_copy(L._kernel) for L in layers] + [_copy(L._bias) for L in layers]  # noqa: E731
        if cb._end_epoch(epoch, logs, weights):
            stop = True
    return stop


def _copy(w):
    return None if w is None else array("f", w)


def _restore_best(callbacks, layers):
    for cb in callbacks:
        if cb.restore_best_weights and cb.best_weights is not None:
            n = len(layers)
            for i, L in enumerate(layers):
                if L._kernel is not None:
                    L._kernel[:] = cb.best_weights[i]
                if L._bias is not None:
                    L._bias[:] = cb.best_weights[n + i]


def _as_row(row, xa):
    """row as a float32 buffer: itself if it is one, else copied into xa."""
    if isinstance(row, (array, memoryview)):
        return row
    for i in range(len(xa)):
        xa[i] = row[i]
    return xa


def _native(net):
    return hasattr(net._backend, "fit_epoch")


def _fused(net):
    """True when the backend's own fit_epoch trains net: a chain, or a
    graph of at most 16 layers that compute (the native loop's limit; past
    it, anne_train_native._loop runs anne_train_python's on its kernels)."""
    if not _native(net):
        return False
    if getattr(net, "_inputs", None) is None:
        return True
    return len([L for L in net._layers if L.computes]) <= 16


def _heap_bytes(n, itemsize=4):
    """GC heap bytes of an array of n items: its object (one block of four
    words) and its items, each rounded up to whole blocks."""
    import sys
    block = 32 if sys.maxsize > 1 << 32 else 16
    return block + (n * itemsize + block - 1) // block * block


def _tuple_bytes(n):
    """GC heap bytes of a tuple of n items: its object (two words) and its
    items, in one allocation rounded up to whole blocks."""
    import sys
    word = 8 if sys.maxsize > 1 << 32 else 4
    return ((2 + n) * word + 4 * word - 1) // (4 * word) * (4 * word)


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


def _history(n, batch_size, epochs, verbose, callbacks):
    history = History({"epochs": epochs, "steps": (n + batch_size - 1) // batch_size, "verbose": verbose})
    for cb in callbacks:
        cb._begin()
    return history
