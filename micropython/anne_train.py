# anne_train: training for anne_net, as Keras's compile()/fit(): the losses
# and metrics (Keras's names, reduction and numerics), the optimizers'
# state (Keras 3's SGD and Adam), the callbacks and the fit loop. The
# kernels (forward, each activation's backward pass, dense backward, the
# optimizer steps) are the network's backend's: the native anne module or
# anne_fallback, with the same API. anne_net imports it when a network is
# compiled; it does not import anne_net (the network hands in what it needs).

import math
from array import array

import anne_ops
from anne_core import _argmax, _canonical, _floats_for, _is_finite, _zeros

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
# Optimizers: Keras 3's update formulas, applied to array('f') weights in
# place after each batch.

class SGD:
    """keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError("momentum must be in [0, 1], got %r" % momentum)
        self.iterations = 0
        self._slots = {}
        self._kept = {}

    def _slot_count(self):
        return 1 if self.momentum != 0.0 else 0

    def _keep(self, key, n):
        """Copies key's slots (made now if new) before a step: _restore(key)
        puts them back if the step is refused."""
        if not self._slot_count():
            return
        self._slot(key, n, 0)
        slots = self._slots[key]
        kept = self._kept.get(key)
        if kept is None or len(kept[0]) != n:
            kept = None
            self._kept[key] = None
            kept = self._kept[key] = [_floats_for(n) for _ in slots]
        for i in range(len(slots)):
            kept[i][:] = slots[i]

    def _restore(self, key):
        kept = self._kept.get(key)
        if kept is not None:
            slots = self._slots[key]
            for i in range(len(slots)):
                slots[i][:] = kept[i]

    def _slot(self, key, n, k):
        slots = self._slots.get(key)
        if slots is None or len(slots[k]) != n:  # new, or the layer was resized
            slots = self._slots[key] = [array("f", bytearray(4 * n)) for _ in range(self._slot_count())]
        return slots[k]

    def update(self, backend, key, w, g):
        """One step on w; True if every weight is finite after it."""
        m = self._slot(key, len(w), 0) if self.momentum != 0.0 else None
        return backend.sgd(w, g, m, self.learning_rate, self.momentum, self.nesterov)

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
        self._slots = {}
        self._kept = {}
        self._alpha = (0, 0.0)

    def _slot_count(self):
        return 2

    def update(self, backend, key, w, g):
        step = self.iterations + 1
        if self._alpha[0] != step:  # once per step, not per weight array
            self._alpha = (step, self.learning_rate * math.sqrt(1.0 - self.beta_2 ** step)
                           / (1.0 - self.beta_1 ** step))
        alpha = self._alpha[1]
        v = self._slot(key, len(w), 1)
        finite = backend.adam(w, g, self._slot(key, len(w), 0), v, alpha, self.beta_1, self.beta_2,
                              self.epsilon)
        # v (>= 0) can overflow to inf while w stays finite (g * g above
        # float32's range); a NaN in m or v makes w NaN
        return finite and (not len(v) or _is_finite(max(v)))

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
        # The native loop's state (training_memory() counts it): the
        # workspace and the optimizer's slots, each for the shapes it was
        # made for (a small-int key), and the small arrays fit_epoch writes.
        # All set here, so that later assignments do not grow the instance.
        self._ws_key = self._slots_key = 0
        self._ws = self._slots = self._sums = self._state = None
        self.fitting = False  # fit() is running: anne_net refuses edits (from a callback)


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
    if _native(net):  # (weights used in place too: evaluating writes none)
        try:
            loss, ms = _native_evaluate(net, c, layers, _flat_x(net, p, X), _flat_t(c.loss, T), n)
        except ValueError:
            _check_data(c, X, T, "")  # (names the row, if the data is the cause)
            raise
    else:
        _check_data(c, X, T, "")
        # (the Python backend: its weights as they are, no gradients)
        X = _features(net, p, X)
        state = _state(layers, net._backend, False)
        loss, ms = evaluate_rows(state, X, T, c, state[-1].name, _floats_for(state[0].n_in))
    out = _logs(c, loss, ms, None)
    out["n"] = n
    return out


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


class _Layer:
    """One layer's training state: the buffers of one sample's forward pass
    (z, a) and backward pass (dz; dx, the gradient it hands the layer
    before), and its gradients for a batch (gk, gb)."""

    def __init__(self, L, backend, first, grads=True):
        self.L = L
        self.name = _canonical(L._name)
        self.act = L._act
        self.n_in = L.n_in
        self.units = L.units
        self.n_out = L.n_out
        # pre-activations: units (a Dense's), or out_steps x filters (Conv1D)
        pre = self.units if L.kind == anne_ops.LAYER_DENSE else self.n_out
        self.z = _floats_for(pre)
        self.a = _floats_for(pre)
        self.y = memoryview(self.a)[:self.n_out]
        self.dz = _floats_for(pre)
        self.dy = _floats_for(self.n_out)
        self.dx = None if first else _floats_for(self.n_in)
        self.gk = array("f", bytearray(4 * L._known_rows() * self.units)) if grads else None
        self.gb = array("f", bytearray(4 * self.units)) if L._bias is not None and grads else None
        self.backend = backend
        self.linear = backend.Activation("linear")  # parsed once, not on every call
        self._kept = None

    def keep(self):
        """Copies the weights (restore() puts them back)."""
        L = self.L
        if self._kept is None:
            self._kept = (_floats_for(len(L._kernel)), _floats_for(len(L._bias)) if L._bias is not None else None)
        self._kept[0][:] = L._kernel
        if L._bias is not None:
            self._kept[1][:] = L._bias

    def restore(self):
        self.L._kernel[:] = self._kept[0]
        if self.L._bias is not None:
            self.L._bias[:] = self._kept[1]

    def forward(self, x):
        """z = x . kernel + bias, a = activation(z) (the first n_out values)."""
        b = self.backend
        b.dense(x, self.L._kernel, self.L._bias, self.z, self.linear)
        a = self.a
        a[:] = self.z
        b.activate(a, self.act)
        return self.y

    def backward(self, x, dy, scale):
        """The gradients of one sample into gk and gb (scaled), from dy at
        the outputs (None: dz holds the gradient at the pre-activations,
        from the loss); returns dx, the gradient for the layer before (None
        for the first)."""
        b = self.backend
        if dy is not None:
            b.activation_backward(self.z, self.y, dy, self.dz, self.act)
        b.dense_backward(x, self.L._kernel, self.dz, scale, self.gk, self.gb, self.dx)
        return self.dx


class _Conv(_Layer):
    """A Conv1D's training state: its forward pass keeps z (linear), then
    the activation (per step for the vector ones, Keras's axis=-1)."""

    def __init__(self, L, backend, first, grads=True):
        _Layer.__init__(self, L, backend, first, grads)
        # the layer, linear: forward() keeps z (the weights change in place)
        self.step = (L._kernel, L._bias, self.linear, None, L._step(None)[4])
        self.chain = (self.step,)
        self.filters = L.filters
        self.rows = self.act.id in anne_ops.VECTOR

    def forward(self, x):
        b = self.backend
        b.forward(self.chain, x, self.z)
        a = self.a
        a[:] = self.z
        if self.rows:
            mv = memoryview(a)
            for t in range(0, len(a), self.filters):
                b.activate(mv[t:t + self.filters], self.act)
        else:
            b.activate(a, self.act)
        return self.y

    def backward(self, x, dy, scale):
        b = self.backend
        if dy is not None:
            if self.rows:
                f = self.filters
                z, y, d, dz = memoryview(self.z), memoryview(self.y), memoryview(dy), memoryview(self.dz)
                for t in range(0, len(z), f):
                    b.activation_backward(z[t:t + f], y[t:t + f], d[t:t + f], dz[t:t + f], self.act)
            else:
                b.activation_backward(self.z, self.y, dy, self.dz, self.act)
        b.layer_backward(self.step, x, self.dz, scale, self.gk if self.L.trainable else None,
                         self.gb if self.L.trainable else None, self.dx)
        return self.dx


class _Pass:
    """A layer without weights to train in the layers fit() trains through:
    pooling and the affine ones (their forward and backward kernels), and
    Flatten and Reshape (nothing moves)."""

    gk = gb = None

    def __init__(self, L, backend):
        self.L = L
        self.backend = backend
        self.units = self.n_out = L.n_out
        self.n_in = L.n_in
        self.step = (L._step(None),) if L.computes else None
        self.y = _floats_for(self.n_out) if L.computes else None
        self.dx = _floats_for(self.n_in) if L.computes else None

    def forward(self, x):
        if self.step is None:
            return x
        self.backend.forward(self.step, x, self.y)
        return self.y

    def backward(self, x, dy, scale):
        if self.step is None:
            return dy
        self.backend.layer_backward(self.step[0], x, dy, 1.0, None, None, self.dx)
        return self.dx


def _state(layers, backend, grads=True):
    """The training state of each layer fit() trains (one sample's buffers,
    a batch's gradients: not for evaluating, grads=False)."""
    out = []
    for i, L in enumerate(layers):
        if L.kind == anne_ops.LAYER_DENSE:
            out.append(_Layer(L, backend, i == 0, grads))
        elif L.kind == anne_ops.LAYER_CONV1D:
            out.append(_Conv(L, backend, i == 0, grads))
        else:
            out.append(_Pass(L, backend))
    return out


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
    native = _native(net)  # (the fused loop, fit_epoch; the Python backend runs _state's)
    X = _rows(x, net.n_inputs, "x")  # (a flat buffer: read in place)
    n_rows = len(X)
    if not n_rows:
        raise ValueError("x is empty: nothing to train on")
    T = _targets(c.loss, y, n_rows, n_out)
    if not native:  # (the native loop checks x and y in a first pass that allocates nothing)
        _check_data(c, X, T, "")
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
    if native:
        # the workspace first, before the data's copies fragment the heap
        _prepare_memory(net, c, layers, batch_size, check_memory)
        rows = (X, T)
        X = _flat_x(net, p, X)
        T = _flat_t(c.loss, T)
        if val is not None:
            val = (_flat_x(net, p, val[0]), _flat_t(c.loss, val[1]), len(val[0]))
    else:
        X = _features(net, p, X)
        if val is not None:
            val = (_features(net, p, val[0]), val[1])
    if _writable(layers, check_memory):
        net._build_plan()
    c.fitting = True
    try:
        if native:
            return _fit_native(net, c, layers, X, T, n_rows, batch_size, epochs, verbose, shuffle,
                               val, callbacks, random, ticks_ms, rows)
        return _fit_python(net, c, layers, X, T, batch_size, epochs, verbose, shuffle, val, callbacks,
                           random, ticks_ms)
    finally:
        c.fitting = False


def _fit_python(net, c, layers, X, T, batch_size, epochs, verbose, shuffle, val, callbacks, random,
                ticks_ms):
    backend = net._backend
    state = _state(layers, backend)
    out_name = state[-1].name
    history = _history(len(X), batch_size, epochs, verbose, callbacks)
    order = list(range(len(X)))
    opt = c.optimizer
    xa = _floats_for(state[0].n_in)
    # zeros for clearing the gradients before each batch (slices of a
    # memoryview: no allocation per batch)
    zero = memoryview(array("f", bytearray(4 * max(_grad_len(s) for s in state))))
    for epoch in range(epochs):
        t0 = ticks_ms() if ticks_ms else None
        if shuffle:
            for i in range(len(order) - 1, 0, -1):
                j = int(random() * (i + 1))
                order[i], order[j] = order[j], order[i]
        loss_sum = 0.0
        sums = [0.0] * len(c.metrics)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            for s in state:
                if s.gk is not None:
                    s.gk[:] = zero[:len(s.gk)]
                if s.gb is not None:
                    s.gb[:] = zero[:len(s.gb)]
            batch_loss = 0.0
            nb = len(batch)
            for k in batch:
                ls, ms = _sample(state, _as_row(X[k], xa), T[k], c, out_name, 1.0 / nb)
                batch_loss += ls
                for i in range(len(ms)):
                    sums[i] += ms[i]
            where = (epoch + 1, start // batch_size + 1)
            if not _is_finite(batch_loss):
                raise ValueError(_LOSS_NOT_FINITE % where)
            loss_sum += batch_loss
            # The step, from copies of the weights: restored if it makes any
            # weight non-finite (a NaN or inf gradient, a float32 overflow),
            # so that the network keeps those of the last finite step.
            # The optimizer's slots are kept too: a refused step leaves the
            # weights, the slots and the iteration count as they were.
            finite = True
            for i, s in enumerate(state):
                if s.L.trainable:
                    s.keep()
                    opt._keep((i, 0), len(s.L._kernel))
                    finite &= opt.update(backend, (i, 0), s.L._kernel, s.gk)
                    if s.gb is not None:
                        opt._keep((i, 1), len(s.L._bias))
                        finite &= opt.update(backend, (i, 1), s.L._bias, s.gb)
            if not finite:
                for i, s in enumerate(state):
                    if s.L.trainable:
                        s.restore()
                        opt._restore((i, 0))
                        opt._restore((i, 1))
                raise ValueError(_STEP_NOT_FINITE % where)
            opt.iterations += 1
        logs = _logs(c, loss_sum / len(X), [v / len(X) for v in sums],
                     evaluate_rows(state, val[0], val[1], c, out_name, xa) if val is not None else None)
        if _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
            break
    _restore_best(callbacks, layers)
    return history


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


def _sample(state, x, t, c, out_name, scale):
    """One sample: forward, loss, backward (gradients accumulated, scaled by
    1 / batch size). Returns (loss, metric values)."""
    inputs = [x]
    for s in state:
        inputs.append(s.forward(inputs[-1]))
    last = state[-1]
    y = last.y
    loss, gz, gy = loss_and_grad(c.loss, out_name, last.z, y, t)
    metrics = [metric_value(kind, y, t) for _, kind in c.metrics]
    if gz is not None:
        for j in range(len(gz)):
            last.dz[j] = gz[j]
        dy = None  # (dz holds it)
    else:
        for j in range(len(gy)):
            last.dy[j] = gy[j]
        dy = last.dy
    for li in range(len(state) - 1, -1, -1):
        dy = state[li].backward(inputs[li], dy, scale)
    return loss, metrics


def _grad_len(s):
    return max(len(s.gk) if s.gk is not None else 0, len(s.gb) if s.gb is not None else 0)


def evaluate_rows(state, X, T, c, out_name, xa):
    """(mean loss, mean metrics) over rows X with targets T, no training."""
    total = 0.0
    sums = [0.0] * len(c.metrics)
    for k in range(len(X)):
        h = _as_row(X[k], xa)
        for s in state:
            h = s.forward(h)
        last = state[-1]
        y = last.y
        total += loss_and_grad(c.loss, out_name, last.z, y, T[k])[0]
        for i, (_, kind) in enumerate(c.metrics):
            sums[i] += metric_value(kind, y, T[k])
    return total / len(X), [v / len(X) for v in sums]


# ---------------------------------------------------------------------------
# The native loop: an epoch in one call of the backend's fit_epoch (the Rust
# kernels: forward, loss, backward and update for every batch), with one
# workspace and the optimizer's slots allocated once, kept by the compiled
# network for the next fit() with the same shapes: a step allocates nothing.

# anne.h's ANNE_LOSS_* (LOSSES' order), ANNE_METRIC_*, ANNE_OPTIMIZER_*
_METRIC_CODES = {"binary_accuracy": 0, "categorical_accuracy": 1, "sparse_categorical_accuracy": 2,
                 "mean_squared_error": 3, "mean_absolute_error": 4}


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


def _slot_count(opt):
    if isinstance(opt, Adam):
        return 2
    return 1 if opt.momentum != 0.0 else 0


def _key(values):
    """A small-int key for a tuple of shapes (no allocation to keep)."""
    k = 7
    for v in values:
        k = (k * 1000003 + v) & 0x3fffffff
    return k


def _n(w):
    """Floats in a weight buffer: an array('f'), or the bytes of one (in place)."""
    return 0 if w is None else len(w) if isinstance(w, array) else len(w) // 4


def _shapes(layers):
    out = []
    for L in layers:
        out.append(L.kind)
        out.append(L.n_in)
        out.append(_n(L._kernel))
        out.append(_n(L._bias))
        out.append(1 if L.trainable else 0)
    return out


def _train_tuple(layers, slots, per, backend):
    """fit_epoch's layers: (kernel, bias, activation, trainable, m_kernel,
    v_kernel, m_bias, v_bias, spec), the slots views of one array; spec
    None for Dense, else the layer's (kind, params...). Flatten and
    Reshape (nothing moves) are left out; pooling and the affine layers are
    linear."""
    out = []
    mv = memoryview(slots) if slots is not None else None
    o = 0
    linear = None
    for L in layers:
        if not L.computes:
            continue
        dense = L.kind == anne_ops.LAYER_DENSE
        if dense or L.kind == anne_ops.LAYER_CONV1D:
            act = L._act
        else:
            act = linear = linear or backend.Activation("linear")
        views = [None, None, None, None]
        if L.trainable and per:
            k = len(L._kernel)
            b = len(L._bias) if L._bias is not None else 0
            for j in range(per):
                views[j] = mv[o:o + k]
                o += k
            if b:
                for j in range(per):
                    views[2 + j] = mv[o:o + b]
                    o += b
        out.append((L._kernel, L._bias, act, L.trainable, views[0], views[1], views[2], views[3],
                    None if dense else L._step(None)[4]))
    return tuple(out)


def _slots_len(layers, per):
    n = 0
    for L in layers:
        if L.trainable:
            n += per * (_n(L._kernel) + _n(L._bias))
    return n


def training_memory(net, c, batch_size):
    """Bytes of GC heap that fit(batch_size=...) allocates and keeps for
    its native loop: the workspace, the optimizer's slots (unless it has
    them already for these layers), and two small arrays."""
    p = _trained_part(net)
    layers = net._layers[p:]
    if not _native(net) and not _dense_only(layers):
        return _state_bytes(layers, c.optimizer)
    per = _slot_count(c.optimizer)
    n_ws = _workspace_floats(net, layers, batch_size)
    n_slots = _slots_len(layers, per)
    total = _heap_bytes(n_ws) + _heap_bytes(1 + len(c.metrics)) + _heap_bytes(2)
    if n_slots:
        total += _heap_bytes(n_slots)
    for L in layers:  # (weights used in place: fit copies them to RAM)
        for w in (L._kernel, L._bias):
            if w is not None and not isinstance(w, array):
                total += _heap_bytes(_n(w))
    return total


def _state_bytes(layers, opt):
    """training_memory() of the layers the Python loop trains (_state): the
    arrays of each layer's buffers and gradients, the copies of the trained
    weights a step keeps, the optimizer's slots and the zeros."""
    total = 0
    widest = 0
    per = _slot_count(opt)
    for i, L in enumerate(layers):
        if L.kind in (anne_ops.LAYER_DENSE, anne_ops.LAYER_CONV1D):
            pre = L.units if L.kind == anne_ops.LAYER_DENSE else L.n_out
            n_k = L._known_rows() * L.units
            n_b = L.units if L._bias is not None else 0
            sizes = [pre, pre, pre, L.n_out, 0 if i == 0 else L.n_in, n_k, n_b]
            if L.trainable:
                sizes += [n_k, n_b] + [n_k, n_b] * (2 * per)  # slots, and their copies
            widest = max(widest, n_k, n_b)
        elif L.computes:
            sizes = [L.n_out, L.n_in]
        else:
            sizes = []
        total += sum(_heap_bytes(n) for n in sizes if n)
    return total + _heap_bytes(widest)


def _workspace_floats(net, layers, batch_size):
    """fit_epoch's workspace for these layers, in floats (the backend's
    fit_workspace; the same formula for the Python backend)."""
    n_in = layers[0].n_in
    if _native(net):  # (it takes weights used in place: it only sizes them)
        return net._backend.fit_workspace(_train_tuple(layers, None, 0, net._backend), n_in, batch_size)
    total = batch_size
    widest = 0
    for i, L in enumerate(layers):
        w = L.n_in * L.units
        b = L.units if L._bias is not None else 0
        total += L.n_in * batch_size + 3 * batch_size * L.units + (w if i else 0)
        total += w + b if L.trainable else 0
        widest = max(widest, L.n_in, L.units)
    return total + widest


def _prepare_memory(net, c, layers, batch_size, check_memory=None):
    """The workspace, slots, sums and state for these layers and batch size:
    the ones c keeps if they fit, else new ones (kept in c), checked
    against the free memory first (check_memory) and, if an allocation
    still fails, a MemoryError with the largest free block."""
    per = _slot_count(c.optimizer)
    shapes = _shapes(layers)
    slots_key = _key(shapes + [per])
    ws_key = _key(shapes + [layers[0].n_in, batch_size])
    if check_memory is not None and c._ws_key == 0:  # (the first fit after compile)
        check_memory(training_memory(net, c, batch_size),
                     "fit(batch_size=%d) keeps a workspace and the optimizer's slots" % batch_size)
    why = "fit(batch_size=%d)'s workspace" % batch_size
    if c._ws_key != ws_key:
        c._ws = None  # (freed before the new one is allocated)
        c._ws_key = 0
        c._ws = _alloc(_workspace_floats(net, layers, batch_size), why)
        c._ws_key = ws_key
    if c._slots_key != slots_key:
        c._slots = None
        c._slots_key = 0
        if per:
            slots = _alloc(_slots_len(layers, per), "the optimizer's slots")
            zero = _zeros(16)
            for i in range(0, len(slots), 16):
                j = min(i + 16, len(slots))
                slots[i:j] = zero[:j - i]
            c._slots = slots
        c._slots_key = slots_key
    if c._sums is None or len(c._sums) != 1 + len(c.metrics):
        c._sums = _floats_for(1 + len(c.metrics))
    if c._state is None:
        c._state = array("I", (0, 0))


def _prepare(net, c, layers, batch_size):
    """_prepare_memory's buffers, and fit_epoch's layers over them."""
    _prepare_memory(net, c, layers, batch_size)
    return _train_tuple(layers, c._slots, _slot_count(c.optimizer), net._backend)


def _config(c, batch_size, train, n_in):
    opt = c.optimizer
    adam = isinstance(opt, Adam)
    return (LOSSES.index(c.loss), 1 if adam else 0, opt.learning_rate,
            0.0 if adam else opt.momentum, False if adam else opt.nesterov,
            opt.beta_1 if adam else 0.0, opt.beta_2 if adam else 0.0, opt.epsilon if adam else 0.0,
            tuple(_METRIC_CODES[kind] for _, kind in c.metrics), batch_size, train, n_in)


def _native_evaluate(net, c, layers, X, T, n_rows, in_fit=False):
    """(mean loss, mean metrics) over n_rows rows, no training (one row at
    a time: in the workspace fit() keeps, if it is there, as it is in_fit;
    evaluating reads no optimizer slot)."""
    if not in_fit and (c._ws is None or len(c._ws) < _workspace_floats(net, layers, 1)):
        _prepare(net, c, layers, 1)
    status = net._backend.fit_epoch(_train_tuple(layers, None, 0, net._backend), _config(c, 1, False, layers[0].n_in), X, T,
                                    None, c._ws, c._sums, c._state)
    if status:
        raise ValueError("the loss is not finite on the evaluated data")
    sums = c._sums
    return sums[0] / n_rows, [sums[1 + i] / n_rows for i in range(len(c.metrics))]


def _eval_status(net, tl, cfg, X, T, c):
    """fit_epoch without training (cfg's train False): its status."""
    return net._backend.fit_epoch(tl, cfg, X, T, None, c._ws, c._sums, c._state)


def _history(n, batch_size, epochs, verbose, callbacks):
    history = History({"epochs": epochs, "steps": (n + batch_size - 1) // batch_size, "verbose": verbose})
    for cb in callbacks:
        cb._begin()
    return history


def _fit_native(net, c, layers, X, T, n, batch_size, epochs, verbose, shuffle, val, callbacks, random,
                ticks_ms, rows):
    tl = _prepare(net, c, layers, batch_size)
    n_in = layers[0].n_in
    # A first pass without training (it allocates nothing): a loss that is
    # not finite before any step is the data's (named by _check_data) or
    # the weights', refused with the network unchanged.
    state = c._state
    if epochs and _eval_status(net, tl, _config(c, batch_size, False, n_in), X, T, c):
        _check_data(c, rows[0], rows[1], "")
        raise ValueError(_LOSS_NOT_FINITE % (1, state[1] + 1))
    cfg = _config(c, batch_size, True, n_in)
    history = _history(n, batch_size, epochs, verbose, callbacks)
    order = array("I", range(n)) if shuffle else None
    opt = c.optimizer
    state = c._state
    sums = c._sums
    fit_epoch = net._backend.fit_epoch
    for epoch in range(epochs):
        t0 = ticks_ms() if ticks_ms else None
        if shuffle:
            for i in range(n - 1, 0, -1):
                j = int(random() * (i + 1))
                order[i], order[j] = order[j], order[i]
        state[0] = opt.iterations
        status = fit_epoch(tl, cfg, X, T, order, c._ws, sums, state)
        opt.iterations = state[0]
        if status:
            raise ValueError((_LOSS_NOT_FINITE if status == 1 else _STEP_NOT_FINITE) % (epoch + 1, state[1] + 1))
        logs = _logs(c, sums[0] / n, [sums[1 + i] / n for i in range(len(c.metrics))],
                     _native_evaluate(net, c, layers, val[0], val[1], val[2], True) if val is not None else None)
        if _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
            break
    _restore_best(callbacks, layers)
    return history
