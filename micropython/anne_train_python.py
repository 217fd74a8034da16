# anne_train_python: the pure-Python training loop (anne_fallback's
# backend, or any network the native loop does not take): per sample,
# forward, loss, backward through the backend's kernels, and the optimizer's
# step per batch. anne_train imports it when it is needed.

from array import array

import anne_ops
from anne_core import _canonical, _floats_for, _is_finite
from anne_train_base import (_LOSS_NOT_FINITE, _STEP_NOT_FINITE, _as_row, _end_epoch, _history, _logs,
                             _restore_best, loss_and_grad, metric_value)


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


# The convolutions (their kernels' backward passes: layer_backward)
_CONVS = (anne_ops.LAYER_CONV1D, anne_ops.LAYER_CONV2D, anne_ops.LAYER_DEPTHWISE_CONV2D)


class _Conv(_Layer):
    """A convolution's training state (Conv1D, Conv2D, DepthwiseConv2D): its
    forward pass keeps z (linear), then the activation (per position for
    the vector ones, Keras's axis=-1)."""

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
        elif L.kind in _CONVS:
            out.append(_Conv(L, backend, i == 0, grads))
        else:
            out.append(_Pass(L, backend))
    return out


def _fit_python(net, c, layers, X, T, batch_size, epochs, verbose, shuffle, val, callbacks, random,
                ticks_ms, run=None):
    """The loop; run: a graph's (anne_train_graph._Run: its state, forward
    and backward), None for a chain."""
    backend = net._backend
    state = _state(layers, backend) if run is None else run.state
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
                ls, ms = _sample(state, _as_row(X[k], xa), T[k], c, out_name, 1.0 / nb, run)
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
                     evaluate_rows(state, val[0], val[1], c, out_name, xa, run) if val is not None else None)
        if _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
            break
    _restore_best(callbacks, layers)
    return history


def _sample(state, x, t, c, out_name, scale, run=None):
    """One sample: forward, loss, backward (gradients accumulated, scaled by
    1 / batch size). Returns (loss, metric values)."""
    if run is None:
        inputs = [x]
        for s in state:
            inputs.append(s.forward(inputs[-1]))
        last = state[-1]
    else:
        last = run.forward(x)
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
    if run is not None:
        run.backward(x, dy, scale)
        return loss, metrics
    for li in range(len(state) - 1, -1, -1):
        dy = state[li].backward(inputs[li], dy, scale)
    return loss, metrics


def _grad_len(s):
    return max(len(s.gk) if s.gk is not None else 0, len(s.gb) if s.gb is not None else 0)


def evaluate_rows(state, X, T, c, out_name, xa, run=None):
    """(mean loss, mean metrics) over rows X with targets T, no training
    (run: a graph's, as _fit_python's)."""
    total = 0.0
    sums = [0.0] * len(c.metrics)
    for k in range(len(X)):
        h = _as_row(X[k], xa)
        if run is not None:
            last = run.forward(h)
        else:
            for s in state:
                h = s.forward(h)
            last = state[-1]
        y = last.y
        total += loss_and_grad(c.loss, out_name, last.z, y, T[k])[0]
        for i, (_, kind) in enumerate(c.metrics):
            sums[i] += metric_value(kind, y, T[k])
    return total / len(X), [v / len(X) for v in sums]
