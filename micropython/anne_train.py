# anne_train: training for anne_net, as Keras's compile()/fit(): what
# compile() keeps, fit() and evaluate(): the data handling, callbacks and
# History (anne_train_base: also the losses, metrics and optimizers) around
# one loop (anne_train_native) on the fit_workspace / fit_epoch contract:
# the native anne module's, or anne_train_python's in plain MicroPython on
# the backend's kernels (anne_fallback's, with the same API). anne_net
# imports it when a network is compiled; it does not import anne_net (the
# network hands in what it needs).

from array import array

# (SGD, Adam, History and _alloc for anne_net and the tests: anne_train.SGD, ...)
from anne_train_base import (Adam, EarlyStopping, History, SGD, _alloc, _check_data, _copy_floats,  # noqa: F401
                             _flat_t, _flat_x, _heap_bytes, _logs, _rows, _split, _targets, _trained_part,
                             loss_name, metric_kind, optimizer)


# ---------------------------------------------------------------------------
# The training loop

class Compiled:
    """What net.compile() keeps: the optimizer, the loss, the metrics."""

    def __init__(self, optimizer_, loss, metrics, n_out):
        self.optimizer = optimizer(optimizer_)
        self.loss = loss_name(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError("metrics must be a list of names, e.g. ['accuracy']")
        self.metrics = [(m, metric_kind(m, self.loss, n_out)) for m in metrics]
        # The loop's state (training_memory() counts it): the
        # workspace and the optimizer's slots, each for the shapes it was
        # made for (a small-int key), and the small arrays fit_epoch writes.
        # All set here, so that later assignments do not grow the instance.
        self._ws_key = self._slots_key = 0
        self._ws = self._slots = self._sums = self._state = None
        self.fitting = False  # fit() is running: anne_net refuses edits (from a callback)


def evaluate(net, c, x, y):
    """Keras's evaluate() of a compiled network: {"loss", each metric, "n"}.
    A flat float32 buffer x (and y) is read in place."""
    X = _rows(x, net.n_inputs, "x")
    if not len(X):
        raise ValueError("x is empty: nothing to evaluate")
    T = _targets(c.loss, y, len(X), net.n_outputs)
    p = _trained_part(net)
    n = len(X)
    layers = net._layers[p:]
    import anne_train_native  # (weights used in place too: evaluating writes none)
    try:
        loss, ms = anne_train_native._evaluate(net, c, layers, _flat_x(net, p, X), _flat_t(c.loss, T), n)
    except ValueError:
        _check_data(c, X, T, "")  # (names the row, if the data is the cause)
        raise
    out = _logs(c, loss, ms, None)
    out["n"] = n
    return out


def _writable(layers, check_memory):
    """Copies weights that are views of read-only memory (a file used in
    place) into arrays, checking the memory first. Nothing changes if they
    do not all fit."""
    need = 0
    for L in layers:
        for w in (L._kernel, L._bias):
            if w is not None and not isinstance(w, array):
                need += _heap_bytes(len(w) // 4)
    if not need:
        return False
    why = "to train the weights loaded in place, anne copies them to RAM"
    check_memory(need, why)
    copies = []
    for L in layers:
        copies.append(tuple(None if w is None else w if isinstance(w, array) else _copy_floats(w, why)
                            for w in (L._kernel, L._bias)))
    for L, (k, b) in zip(layers, copies):
        L._kernel, L._bias = k, b
    return True


def fit(net, c, x, y, batch_size, epochs, verbose, shuffle, validation_data, callbacks,
        random, check_memory, ticks_ms=None, validation_split=0.0):
    """Keras's Model.fit() for net (compiled as c); returns a History.
    Everything is checked before any weight changes; the workspace is
    allocated before the data's copies (if any); while it runs, the
    network's layers and weights cannot be edited (from a callback)."""
    layers = net._layers
    if not layers:
        raise ValueError("the network has no layers")
    if validation_split and validation_data is None:
        x, y, validation_data = _split(net, c, x, y, validation_split)
    batch_size = int(batch_size) if batch_size is not None else 32
    epochs = int(epochs)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1, got %d" % batch_size)
    if epochs < 0:
        raise ValueError("epochs must be >= 0, got %d" % epochs)
    n_out = net.n_outputs
    p = _trained_part(net)
    X = _rows(x, net.n_inputs, "x")  # (a flat buffer: read in place)
    n_rows = len(X)
    if not n_rows:
        raise ValueError("x is empty: nothing to train on")
    T = _targets(c.loss, y, n_rows, n_out)
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
            raise ValueError("validation_data must be (x_val, y_val)")
        VX = _rows(validation_data[0], net.n_inputs, "validation x")
        if not len(VX):
            raise ValueError("validation_data's x is empty: nothing to validate on")
        val = (VX, _targets(c.loss, validation_data[1], len(VX), n_out))
        _check_data(c, VX, val[1], "validation ")
    callbacks = list(callbacks or ())
    for cb in callbacks:
        if not isinstance(cb, EarlyStopping):
            raise TypeError("callbacks: anne knows anne_net.EarlyStopping, not %s" % type(cb).__name__)
    # Keras's last batch is smaller; a batch_size above the data's rows is
    # one batch of them all (the workspace is sized for the rows there are)
    batch_size = min(batch_size, n_rows)
    layers = layers[p:]
    # the workspace first, before the data's copies fragment the heap (the
    # loop checks x and y in a first pass that allocates nothing)
    import anne_train_native
    anne_train_native._prepare_memory(net, c, layers, batch_size, check_memory)
    rows = (X, T)
    X = _flat_x(net, p, X)
    T = _flat_t(c.loss, T)
    if val is not None:
        val = (_flat_x(net, p, val[0]), _flat_t(c.loss, val[1]), len(val[0]))
    if _writable(layers, check_memory):
        net._build_plan()
    c.fitting = True
    try:
        return anne_train_native._fit_loop(net, c, layers, X, T, n_rows, batch_size, epochs, verbose, shuffle,
                                           val, callbacks, random, ticks_ms, rows)
    finally:
        c.fitting = False


def training_memory(net, c, batch_size):
    """Bytes of GC heap that fit(batch_size=...) allocates and keeps
    (anne_train_native.training_memory)."""
    import anne_train_native
    return anne_train_native.training_memory(net, c, batch_size)
