# anne_train_python: the native module's fit_workspace / fit_epoch contract
# (c_glue/mod_train.c, src/train/) in plain MicroPython, on a backend's
# per-layer kernels (dense, activate, forward, merge and their backward
# passes, sgd, adam): anne_fallback's fit_epoch, and the loop of a graph
# past the native loop's 16 layers that compute. The same arguments (the
# training layers anne_train_native._train_tuple builds, its config, flat
# x and t, order, the workspace, sums and state), return codes and
# refusals: per sample, forward, loss, backward (gradients summed over the
# batch, scaled by 1 / its size), then the optimizer's step on the slots
# the layers' tuples hold, computed first on copies and taken only if
# every weight and slot stays finite. Every buffer is a part of the
# workspace: one buffer of fit_workspace floats, or (as fit() gives it, for
# a fragmented heap) a tuple of arrays of fit_blocks' sizes, the parts
# packed into blocks of at most BLOCK floats.
# anne_fallback and anne_train_native import it when it is needed.

import math

import anne_ops
from anne_core import _is_finite
from anne_train_base import FIT_METRICS, LOSSES, loss_and_grad, metric_value


# The workspace as fit() gives it: its parts packed, in order, into blocks
# of at most BLOCK floats (a larger part is a block of its own), so that no
# allocation is much larger than the largest part, and a layer's small
# buffers do not cost an array object each.
BLOCK = 256


def pack(sizes):
    """The blocks' floats for parts of these sizes (in order; 0: none)."""
    out = []
    o = 0
    for n in sizes:
        if n <= 0:
            continue
        if o and o + n > BLOCK:
            out.append(o)
            o = 0
        o += n
    if o:
        out.append(o)
    return tuple(out)


class _Cut:
    """Hands out the workspace's parts, in order, as memoryviews: of one
    buffer of fit_workspace floats, or (ws a tuple of arrays of pack()'s
    sizes: fit_blocks') of the block each falls in. Without a workspace
    (ws None) it only counts them: at, the floats, and sizes, each part's."""

    def __init__(self, ws):
        self.ws = ws
        self.blocks = isinstance(ws, tuple)
        self.mv = None if ws is None or self.blocks else memoryview(ws)
        self.at = 0
        self.k = self.o = 0
        self.sizes = [] if ws is None else None

    def take(self, n):
        if not n:
            return None
        at = self.at
        self.at = at + n
        ws = self.ws
        if ws is None:
            self.sizes.append(n)
            return None
        if self.blocks:
            k, o = self.k, self.o
            if o and k < len(ws) and o + n > len(ws[k]):
                k, o = k + 1, 0
            if k >= len(ws) or o + n > len(ws[k]):
                raise ValueError("ws's blocks are not the %d floats fit_blocks asks" % self.at)
            self.k, self.o = k, o + n
            mv = memoryview(ws[k])
            return mv if n == len(mv) else mv[o:o + n]
        if self.at > len(self.mv):
            raise ValueError("ws has %d floats, fit_workspace asks %d" % (len(self.mv), self.at))
        return self.mv[at:at + n]


def _floats_in(w):
    """Floats in a weight buffer: an array('f') or a view of floats, or the
    bytes of float32 values (a file used in place)."""
    if w is None:
        return 0
    mv = memoryview(w)
    return len(mv) if not len(mv) or isinstance(mv[0], float) else len(mv) // 4


def _spec(t):
    return t[8] if len(t) > 8 else None


def _shape(t, n_in, lens):
    """(outputs, pre-activations, filters) of training layer t reading n_in
    values (lens: a merge's inputs' lengths), from its spec by the shape
    rules the file codec checks (anne_shape), as the native loop's
    shape_of (src/train/workspace.rs)."""
    spec = _spec(t)
    nk = _floats_in(t[0])
    if spec is None:  # Dense
        units = nk // n_in
        return (units // 2 if t[2].id in anne_ops.HALVES else units), units, 0
    kind = spec[0]
    if kind in anne_ops.LAYER_INPUTS:  # a merge
        n = sum(lens) if kind == anne_ops.LAYER_CONCATENATE else lens[0]
        return n, n, 0
    from anne_shape import spec_shapes
    from anne_core import _size
    out, units = spec_shapes(spec, n_in, nk)
    n = _size(out)
    return n, n, units if kind in anne_ops.ACTIVATED else 0


class _Layer:
    """A Dense layer's training state: the buffers of one sample's forward
    pass (z, a; y its outputs) and backward pass (dz; dx, the gradient it
    hands the layer before: None when it reads x), and its gradients for a
    batch (gk, gb: a frozen Dense's gk is computed, not used)."""

    merge = False

    def __init__(self, b, t, n_in, shape, cut, first, linear):
        n_out, pre, _ = shape
        self.backend = b
        self.kernel, self.bias, self.act, self.trainable = t[0], t[1], t[2], t[3]
        self.slots = t[4:8]
        self.n_in, self.n_out = n_in, n_out
        self.linear = linear
        self.z = cut.take(pre)
        self.a = cut.take(pre)
        self.y = None if self.a is None else self.a[:n_out]
        self.dz = cut.take(pre)
        self.dy = cut.take(n_out)
        self.dx = None if first else cut.take(n_in)
        self.gk = cut.take(_floats_in(t[0])) if self.trainable or _spec(t) is None else None
        self.gb = cut.take(_floats_in(t[1])) if self.trainable else None

    def forward(self, x):
        """z = x . kernel + bias, a = activation(z) (the first n_out values)."""
        b = self.backend
        b.dense(x, self.kernel, self.bias, self.z, self.linear)
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
        b.dense_backward(x, self.kernel, self.dz, scale, self.gk, self.gb, self.dx)
        return self.dx


class _Conv(_Layer):
    """A convolution's training state (Conv1D, Conv2D, DepthwiseConv2D): its
    forward pass keeps z (linear), then the activation (per position for
    the vector ones, Keras's axis=-1)."""

    def __init__(self, b, t, n_in, shape, cut, first, linear):
        _Layer.__init__(self, b, t, n_in, shape, cut, first, linear)
        # the layer, linear: forward() keeps z (the weights change in place)
        self.step = (t[0], t[1], linear, None, _spec(t))
        self.chain = (self.step,)
        self.filters = shape[2]
        self.rows = t[2].id in anne_ops.VECTOR

    def forward(self, x):
        b = self.backend
        b.forward(self.chain, x, self.z)
        a = self.a
        a[:] = self.z
        if self.rows:
            for t in range(0, len(a), self.filters):
                b.activate(a[t:t + self.filters], self.act)
        else:
            b.activate(a, self.act)
        return self.y

    def backward(self, x, dy, scale):
        b = self.backend
        if dy is not None:
            if self.rows:
                f = self.filters
                z, y, d, dz = self.z, self.y, memoryview(dy), self.dz
                for t in range(0, len(z), f):
                    b.activation_backward(z[t:t + f], y[t:t + f], d[t:t + f], dz[t:t + f], self.act)
            else:
                b.activation_backward(self.z, self.y, dy, self.dz, self.act)
        b.layer_backward(self.step, x, self.dz, scale, self.gk, self.gb, self.dx)
        return self.dx


class _Pass:
    """A layer without weights to train: pooling, ZeroPadding2D,
    UpSampling1D and the affine ones (their forward and backward kernels)."""

    gk = gb = None
    trainable = merge = False

    def __init__(self, b, t, n_in, shape, cut):
        self.backend = b
        self.n_in, self.n_out = n_in, shape[0]
        self.step = ((t[0], t[1], None, None, _spec(t)),)
        self.y = cut.take(self.n_out)
        self.dx = cut.take(n_in)

    def forward(self, x):
        self.backend.forward(self.step, x, self.y)
        return self.y

    def backward(self, x, dy, scale):
        self.backend.layer_backward(self.step[0], x, dy, 1.0, None, None, self.dx)
        return self.dx


_CONVS = (anne_ops.LAYER_CONV1D, anne_ops.LAYER_CONV2D, anne_ops.LAYER_DEPTHWISE_CONV2D)


class _Run:
    """The training state of the layers (each one's, in the workspace) and
    the forward and backward passes of a chain (a graph's: anne_train_graph's
    _Graph), then, when it trains, the step's parts: room for a copy of
    every trained weight and of its per slots (kept: one part each, in
    _copies' order, while a step runs) and zeros."""

    def __init__(self, b, layers, n_in, cut, per=2, train=True):
        graph = len(layers[0]) > 9 and layers[0][9] is not None
        linear = None if b is None else b.Activation("linear")
        state, lens, widest = [], [], 0
        for i, t in enumerate(layers):
            src = t[9] if graph else (i - 1,)
            ins = [n_in if j < 0 else lens[j] for j in src]
            kind = anne_ops.LAYER_DENSE if _spec(t) is None else _spec(t)[0]
            shape = _shape(t, ins[0], ins)
            first = src == (-1,)
            if kind == anne_ops.LAYER_DENSE:
                s = _Layer(b, t, ins[0], shape, cut, first, linear)
            elif kind in _CONVS:
                s = _Conv(b, t, ins[0], shape, cut, first, linear)
            elif kind in anne_ops.LAYER_INPUTS:
                import anne_train_graph
                s = anne_train_graph._Merge(b, t, shape[0], ins, cut)
            else:
                s = _Pass(b, t, ins[0], shape, cut)
            state.append(s)
            lens.append(shape[0])
            if t[3]:
                widest = max(widest, _floats_in(t[0]), _floats_in(t[1]))
        self.state = state
        self.graph = None
        if graph:
            import anne_train_graph
            self.graph = anne_train_graph._Graph(state, [t[9] for t in layers], lens, cut)
        kept, self.zero = [], None
        if train:
            for t in layers:
                if t[3]:
                    for w in (t[0], t[1]):
                        n = _floats_in(w)
                        for _ in range(1 + per if n else 0):  # (w, then its slots)
                            kept.append(cut.take(n))
            self.zero = cut.take(widest)
        self.kept = kept
        self.inputs = [None] * (len(state) + 1)

    def forward(self, x):
        """Every layer on sample x -> the last layer's state."""
        if self.graph is not None:
            return self.graph.forward(x)
        inputs = self.inputs
        inputs[0] = x
        for i, s in enumerate(self.state):
            inputs[i + 1] = s.forward(inputs[i])
        return self.state[-1]

    def backward(self, x, dy, scale):
        """The gradients, from the last layer back (dy: its, or None when
        its dz holds it, from the loss), summed in gk and gb."""
        if self.graph is not None:
            return self.graph.backward(x, dy, scale)
        state, inputs = self.state, self.inputs
        for i in range(len(state) - 1, -1, -1):
            dy = state[i].backward(inputs[i], dy, scale)


def fit_workspace(layers, n_in, batch_size):
    """Floats of workspace fit_epoch needs for these layers in one buffer
    (one sample's buffers, whatever batch_size; room for Adam's slots)."""
    cut = _Cut(None)
    _Run(None, layers, int(n_in), cut)
    return cut.at


def fit_blocks(layers, n_in, batch_size, per=2):
    """The same workspace in blocks (fit_epoch takes it as a tuple of
    array('f') of these sizes, in this order: its parts packed, pack(), so
    that no allocation is as large as the whole, for a fragmented heap): a
    tuple of their floats. per: the optimizer's slots for a weight (Adam's
    2, SGD's with momentum 1, else 0)."""
    cut = _Cut(None)
    _Run(None, layers, int(n_in), cut, int(per))
    return pack(cut.sizes)


def _per(config):
    """The optimizer's slots for a weight, from fit_epoch's config."""
    return 2 if config[1] else 1 if config[3] != 0.0 else 0


def fit_epoch(b, layers, config, x, t, order, ws, sums, state):
    """One epoch over the rows of x (or, config's train False, an
    evaluation) on backend b's kernels: the native fit_epoch's arguments
    and codes (0; 1: a batch's loss is not finite; 2: its step would make a
    weight or slot non-finite, nothing changed; state[1] that batch)."""
    loss_code, adam, lr, momentum, nesterov, b1, b2, eps, metrics, batch, train, n_in = config
    loss = LOSSES[loss_code]
    kinds = [FIT_METRICS[m] for m in metrics]
    if len(sums) != 1 + len(kinds):
        raise ValueError("sums has %d floats, expected %d" % (len(sums), 1 + len(kinds)))
    run = _Run(b, layers, n_in, _Cut(ws), _per(config), train)
    last = run.state[-1]
    out_name = anne_ops.ACTIVATIONS[last.act.id] if last.act is not None else "linear"
    sparse = loss == "sparse_categorical_crossentropy"
    width = 1 if sparse else last.n_out
    xm, tm = memoryview(x), memoryview(t)
    n_rows = len(xm) // n_in
    trained = [s for s in run.state if s.trainable] if train else []
    if trained and run.zero is not None:
        z = run.zero
        for i in range(len(z)):
            z[i] = 0.0
    total = 0.0
    msums = [0.0] * len(kinds)
    start = step = 0
    while start < n_rows:
        nb = min(batch, n_rows - start)
        for s in trained:
            for g in (s.gk, s.gb):
                if g is not None:
                    g[:] = run.zero[:len(g)]
        scale = 1.0 / nb
        batch_loss = 0.0
        for r in range(start, start + nb):
            k = order[r] if order is not None else r
            row = xm[k * n_in:(k + 1) * n_in]
            target = int(tm[k]) if sparse else tm[k * width:(k + 1) * width]
            out = run.forward(row)
            y = out.y
            ls, gz, gy = loss_and_grad(loss, out_name, out.z, y, target)
            batch_loss += ls
            for i in range(len(kinds)):
                msums[i] += metric_value(kinds[i], y, target)
            if trained:
                if gz is not None:
                    dz = out.dz
                    for j in range(len(gz)):
                        dz[j] = gz[j]
                    dy = None  # (dz holds it)
                else:
                    dy = out.dy
                    for j in range(len(gy)):
                        dy[j] = gy[j]
                run.backward(row, dy, scale)
        if not _is_finite(batch_loss):
            state[1] = step
            return 1
        total += batch_loss
        if trained:
            if not _step(b, trained, config, state[0], run.kept):
                state[1] = step
                return 2
            state[0] += 1
        start += nb
        step += 1
    sums[0] = total
    for i in range(len(kinds)):
        sums[1 + i] = msums[i]
    return 0


def _step(b, trained, config, iterations, kept):
    """The optimizer's step on every trained layer (the backend's sgd or
    adam on its weights and the slots its tuple holds), taken only if
    every new weight and slot is finite: the weights and slots are copied
    first (kept) and put back if one is not, so that, as the native loop's
    update (src/train/epoch.rs), a refused step changes nothing."""
    _, adam, lr, momentum, nesterov, b1, b2, eps = config[:8]
    alpha = 0.0
    if adam:
        n = iterations + 1  # Keras 3: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        alpha = lr * math.sqrt(1.0 - b2 ** n) / (1.0 - b1 ** n)
    arrays = []
    for s in trained:
        arrays.append((s.kernel, s.gk, s.slots[0], s.slots[1]))
        if s.bias is not None:
            arrays.append((s.bias, s.gb, s.slots[2], s.slots[3]))
    _copies(arrays, kept, True)
    finite = True
    for w, g, m, v in arrays:
        if adam:
            # v (>= 0) can overflow to inf while w stays finite; a NaN or
            # inf in m makes w NaN or inf
            finite &= b.adam(w, g, m, v, alpha, b1, b2, eps) and (not len(v) or _is_finite(max(v)))
        else:
            finite &= b.sgd(w, g, m if momentum != 0.0 else None, lr, momentum, nesterov)
    if not finite:
        _copies(arrays, kept, False)
    return finite


def _copies(arrays, kept, keep):
    """Each array's weights and slots into its part of kept (keep), or
    back from it."""
    i = 0
    for w, _, m, v in arrays:
        for a in (w, m, v):
            if a is not None:
                k = kept[i]
                i += 1
                if keep:
                    k[:] = a
                else:
                    a[:] = k


class Loop:
    """fit_workspace and fit_epoch on backend b's kernels, as a backend
    with its own has them (anne_train_native's loop takes either)."""

    def __init__(self, b):
        self.b = b

    def fit_workspace(self, layers, n_in, batch_size):
        return fit_workspace(layers, n_in, batch_size)

    def fit_blocks(self, layers, n_in, batch_size, per=2):
        return fit_blocks(layers, n_in, batch_size, per)

    def fit_epoch(self, layers, config, x, t, order, ws, sums, state):
        return fit_epoch(self.b, layers, config, x, t, order, ws, sums, state)
