# anne_train_native: fit()'s loop on the fit_workspace and fit_epoch
# contract (the native anne module's, or anne_train_python's on the
# backend's kernels: anne_fallback's, a graph past the native loop's 16
# layers), evaluate() on the same, and the memory accounting of training
# (training_memory). anne_train imports it when it is needed.

from array import array

import anne_ops
from anne_core import _floats_for, _size, _zeros
from anne_train_base import (Adam, FIT_METRICS, LOSSES, _LOSS_NOT_FINITE, _STEP_NOT_FINITE, _alloc, _check_data,
                             _end_epoch, _fused, _heap_bytes, _history, _logs, _restore_best, _trained_part,
                             _tuple_bytes)


# ---------------------------------------------------------------------------
# The loop: an epoch in one call of fit_epoch (the native module's, the Rust
# kernels: forward, loss, backward and update for every batch; or
# anne_train_python's, the same in plain MicroPython), with one workspace
# and the optimizer's slots allocated once, kept by the compiled network for
# the next fit() with the same shapes (natively, a step allocates nothing).
# Codes: anne.h's ANNE_LOSS_* (LOSSES' order), ANNE_METRIC_* (FIT_METRICS'),
# ANNE_OPTIMIZER_*.


def _loop(net):
    """What has fit_workspace and fit_epoch for net: its backend (the
    native module for a chain or a graph of at most 16 layers that compute,
    or anne_fallback), or anne_train_python's loop on its kernels."""
    if _fused(net):
        return net._backend
    import anne_train_python
    return anne_train_python.Loop(net._backend)


# The layers with an activation of their own (the others' is linear)
_CONVS = (anne_ops.LAYER_CONV1D, anne_ops.LAYER_CONV2D, anne_ops.LAYER_DEPTHWISE_CONV2D)


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


def _shapes(layers, inputs=None):
    out = []
    for i, L in enumerate(layers):
        for j in inputs[i] if inputs is not None else ():
            out.append(j + 2)
        out.append(L.kind)
        out.append(L.n_in)
        out.append(L.n_out)
        out.append(_n(L._kernel))
        out.append(_n(L._bias))
        out.append(1 if L.trainable else 0)
    return out


def _train_tuple(layers, slots, per, backend, inputs=None):
    """fit_epoch's layers: (kernel, bias, activation, trainable, m_kernel,
    v_kernel, m_bias, v_bias, spec[, inputs]), the slots views of one
    array, or of a tuple of blocks (the Python loop's: _slot_blocks' sizes,
    the slots packed in this order); spec None for Dense, else the layer's (kind, params...), a
    merge's (kind, rows). Flatten and Reshape (nothing moves) are left out;
    pooling, ZeroPadding2D and the affine layers are linear. A graph's
    (inputs: net._inputs): each layer's inputs, -1 for x or the index of
    the layer (here) whose outputs it reads."""
    out = []
    apart = isinstance(slots, tuple)
    mv = memoryview(slots) if slots is not None and not apart else None
    if apart:
        import anne_train_python
        cut = anne_train_python._Cut(slots)
    o = 0
    linear = None
    index = []  # a graph's: each layer's tensor, as an index here (-1: x)
    if inputs is not None:
        from anne_file import NETWORK_INPUT  # (a graph has it loaded already)
    for i, L in enumerate(layers):
        src = None
        if inputs is not None:
            src = tuple(-1 if j == NETWORK_INPUT else index[j] for j in inputs[i])
            index.append(len(out) if L.computes else src[0])
        if not L.computes:
            continue
        if L.kind in anne_ops.LAYER_INPUTS:
            act = backend.Activation(L._name, **L.params) if L._name != "linear" else None
            act = act or linear or backend.Activation("linear")
            out.append((None, None, act, False, None, None, None, None,
                        (L.kind, _size(L.output_shape[:-1])), src))
            continue
        dense = L.kind == anne_ops.LAYER_DENSE
        if dense or L.kind in _CONVS:
            act = L._act
        else:
            act = linear = linear or backend.Activation("linear")
        views = [None, None, None, None]
        trainable = True if L.trainable else False  # (read once: the loops read the tuple's)
        if trainable and per:
            k = _n(L._kernel)  # (floats: weights used in place are bytes)
            b = _n(L._bias)
            for j in range(per):
                views[j] = cut.take(k) if apart else mv[o:o + k]
                o += k
            if b:
                for j in range(per):
                    views[2 + j] = cut.take(b) if apart else mv[o:o + b]
                    o += b
        out.append((L._kernel, L._bias, act, trainable, views[0], views[1], views[2], views[3],
                    None if dense else L._step(None)[4], src))
    return tuple(out)


def _n_in(net, layers):
    """The values of x the trained layers read (a graph's: the network's)."""
    return net.n_inputs if _graph_inputs(net) is not None else layers[0].n_in


def _graph_inputs(net):
    return getattr(net, "_inputs", None)


def _slots_len(layers, per):
    n = 0
    for L in layers:
        if L.trainable:
            n += per * (_n(L._kernel) + _n(L._bias))
    return n


def _slot_blocks(layers, per):
    """The Python loop's slots: the floats of the blocks they are packed
    into (anne_train_python.pack, in _train_tuple's order)."""
    import anne_train_python
    sizes = []
    for L in layers:
        if L.trainable:
            for w in (L._kernel, L._bias):
                sizes += [_n(w)] * per
    return anne_train_python.pack(sizes)


def _blocks(net):
    """The loop's fit_blocks (the Python loop's: its workspace and slots in
    blocks, anne_train_python.pack), or None (the native loop's: one
    buffer each)."""
    return getattr(_loop(net), "fit_blocks", None)


def _bytes(sizes):
    """GC heap bytes of arrays of these sizes (floats) and of the tuple
    that holds them."""
    return sum(_heap_bytes(n) for n in sizes) + _tuple_bytes(len(sizes))


def training_memory(net, c, batch_size):
    """Bytes of GC heap that fit(batch_size=...) allocates and keeps for
    its loop: the workspace, the optimizer's slots (unless it has them
    already for these layers), and two small arrays."""
    p = _trained_part(net)
    layers = net._layers[p:]
    per = _slot_count(c.optimizer)
    n_ws = _workspace_floats(net, layers, batch_size, per)
    total = _heap_bytes(1 + len(c.metrics)) + _heap_bytes(2)
    if isinstance(n_ws, tuple):
        total += _bytes(n_ws)
        slots = _slot_blocks(layers, per)
        if slots:
            total += _bytes(slots)
    else:
        total += _heap_bytes(n_ws)
        n_slots = _slots_len(layers, per)
        if n_slots:
            total += _heap_bytes(n_slots)
    for L in layers:  # (weights used in place: fit copies them to RAM)
        for w in (L._kernel, L._bias):
            if w is not None and not isinstance(w, array):
                total += _heap_bytes(_n(w))
    return total


def _workspace_floats(net, layers, batch_size, per):
    """fit_epoch's workspace for these layers, in floats (the native loop's
    fit_workspace: one buffer), or a tuple of its blocks' floats (the
    Python loop's fit_blocks, with room for per slots a weight: an array
    each). Either takes weights used in place: it only sizes them."""
    tl = _train_tuple(layers, None, 0, net._backend, _graph_inputs(net))
    blocks = _blocks(net)
    if blocks is not None:
        return blocks(tl, _n_in(net, layers), batch_size, per)
    return _loop(net).fit_workspace(tl, _n_in(net, layers), batch_size)


def _ws_fits(ws, n_ws):
    """ws is a workspace of n_ws (_workspace_floats') or more."""
    if isinstance(n_ws, tuple):
        return isinstance(ws, tuple) and tuple(len(a) for a in ws) == n_ws
    return ws is not None and not isinstance(ws, tuple) and len(ws) >= n_ws


def _prepare_memory(net, c, layers, batch_size, check_memory=None):
    """The workspace, slots, sums and state for these layers and batch size:
    the ones c keeps if they fit, else new ones (kept in c), checked
    against the free memory first (check_memory) and, if an allocation
    still fails, a MemoryError with the largest free block."""
    per = _slot_count(c.optimizer)
    shapes = _shapes(layers, _graph_inputs(net))
    apart = _blocks(net) is not None  # (the Python loop's: in blocks)
    slots_key = _key(shapes + [per, apart])
    ws_key = _key(shapes + [_n_in(net, layers), batch_size, per, apart])
    if check_memory is not None and c._ws_key == 0:  # (the first fit after compile)
        check_memory(training_memory(net, c, batch_size),
                     "fit(batch_size=%d) keeps a workspace and the optimizer's slots" % batch_size)
    if c._ws_key != ws_key:  # (sized only then: the next fit allocates less)
        c._ws = None  # (freed before the new one is allocated)
        c._ws_key = 0
        n_ws = _workspace_floats(net, layers, batch_size, per)
        why = "fit(batch_size=%d)'s workspace" % batch_size
        c._ws = tuple(_alloc(n, why) for n in n_ws) if apart else _alloc(n_ws, why)
        c._ws_key = ws_key
    if c._slots_key != slots_key:
        c._slots = None
        c._slots_key = 0
        if per:
            why = "the optimizer's slots"
            if apart:
                sizes = _slot_blocks(layers, per)
                c._slots = tuple(_zeroed(n, why) for n in sizes) if sizes else None
            else:
                c._slots = _zeroed(_slots_len(layers, per), why)
        c._slots_key = slots_key
    if c._sums is None or len(c._sums) != 1 + len(c.metrics):
        c._sums = _floats_for(1 + len(c.metrics))
    if c._state is None:
        c._state = array("I", (0, 0))


def _zeroed(n, why):
    """_alloc(n, why), zeroed (in chunks: no temporary of its size)."""
    a = _alloc(n, why)
    zero = _zeros(16)
    for i in range(0, n, 16):
        j = min(i + 16, n)
        a[i:j] = zero[:j - i]
    return a


def _prepare(net, c, layers, batch_size):
    """_prepare_memory's buffers, and fit_epoch's layers over them."""
    _prepare_memory(net, c, layers, batch_size)
    return _train_tuple(layers, c._slots, _slot_count(c.optimizer), net._backend, _graph_inputs(net))


def _config(c, batch_size, train, n_in):
    opt = c.optimizer
    adam = isinstance(opt, Adam)
    return (LOSSES.index(c.loss), 1 if adam else 0, opt.learning_rate,
            0.0 if adam else opt.momentum, False if adam else opt.nesterov,
            opt.beta_1 if adam else 0.0, opt.beta_2 if adam else 0.0, opt.epsilon if adam else 0.0,
            tuple(FIT_METRICS.index(kind) for _, kind in c.metrics), batch_size, train, n_in)


def _evaluate(net, c, layers, X, T, n_rows, in_fit=False):
    """(mean loss, mean metrics) over n_rows rows, no training (one row at
    a time: in the workspace fit() keeps, if it is there, as it is in_fit;
    evaluating reads no optimizer slot)."""
    if not in_fit and not _ws_fits(c._ws, _workspace_floats(net, layers, 1, _slot_count(c.optimizer))):
        _prepare(net, c, layers, 1)
    tl = _train_tuple(layers, None, 0, net._backend, _graph_inputs(net))
    status = _loop(net).fit_epoch(tl, _config(c, 1, False, _n_in(net, layers)), X, T, None, c._ws, c._sums,
                                  c._state)
    if status:
        raise ValueError("the loss is not finite on the evaluated data")
    sums = c._sums
    return sums[0] / n_rows, [sums[1 + i] / n_rows for i in range(len(c.metrics))]


def _fit_loop(net, c, layers, X, T, n, batch_size, epochs, verbose, shuffle, val, callbacks, random,
              ticks_ms, rows):
    tl = _prepare(net, c, layers, batch_size)
    fit_epoch = _loop(net).fit_epoch
    n_in = _n_in(net, layers)
    # A first pass without training (it allocates nothing): a loss that is
    # not finite before any step is the data's (named by _check_data) or
    # the weights', refused with the network unchanged.
    state = c._state
    if epochs and fit_epoch(tl, _config(c, batch_size, False, n_in), X, T, None, c._ws, c._sums, state):
        _check_data(c, rows[0], rows[1], "")
        raise ValueError(_LOSS_NOT_FINITE % (1, state[1] + 1))
    cfg = _config(c, batch_size, True, n_in)
    history = _history(n, batch_size, epochs, verbose, callbacks)
    order = array("I", range(n)) if shuffle else None
    opt = c.optimizer
    state = c._state
    sums = c._sums
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
                     _evaluate(net, c, layers, val[0], val[1], val[2], True) if val is not None else None)
        if _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
            break
    _restore_best(callbacks, layers)
    return history
