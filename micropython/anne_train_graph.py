# anne_train_graph: fit() and evaluate() on a graph (anne_graph's network:
# layers that name their inputs, Keras's functional models with Add,
# Subtract, Multiply, Average, Maximum, Minimum and Concatenate). The
# per-sample loop of anne_train_python, on the network's backend's kernels
# (the native module's or anne_fallback's): each layer's forward pass into
# its own buffers, the loss, then the layers in reverse order, each handed
# the sum of the gradients of the layers that read its output (a residual
# branch's two), the merges' gradients computed here (TensorFlow's
# conventions: Maximum's and Minimum's to the first input that holds the
# extreme). anne_train imports it for a graph that the native fused loop
# (anne_train_native, fit_epoch) does not take: on the pure-Python
# backend, or past 16 layers that compute.

import anne_ops
from anne_core import _floats_for, _size
from anne_file import NETWORK_INPUT
from anne_train_base import _heap_bytes
from anne_train_python import _CONVS, _Conv, _Layer, _Pass


class _Merge:
    """A merge's training state: z (the merge), y (then its activation,
    if any, element-wise), dz, and dx: one input's gradient at a time."""

    gk = gb = None

    def __init__(self, L, backend):
        self.L = L
        self.kind = L.kind
        self.backend = backend
        n = self.n_out = L.n_out
        self.rows = _size(L.output_shape[:-1])
        self.widths = [t[-1] for t in L._in_shapes]
        self.act = None if L._name == "linear" else backend.Activation(L._name, **L.params)
        self.z = _floats_for(n)
        self.y = _floats_for(n) if self.act else self.z
        self.dz = _floats_for(n) if self.act else None
        self.dx = _floats_for(self.rows * max(self.widths))

    def forward(self, xs):
        b = self.backend
        b.merge(self.kind, self.z, xs, self.rows)
        if self.act is not None:
            self.y[:] = self.z
            b.activate(self.y, self.act)
        return self.y

    def backward(self, xs, dy, give):
        """The gradient of each input, from dy at the output: give(k, its values)."""
        dz = dy
        if self.act is not None:
            self.backend.activation_backward(self.z, self.y, dy, self.dz, self.act)
            dz = self.dz
        kind, n, dx, nx = self.kind, self.n_out, self.dx, len(xs)
        if kind == anne_ops.LAYER_ADD:
            for k in range(nx):
                give(k, dz)
        elif kind == anne_ops.LAYER_SUBTRACT:
            give(0, dz)
            for e in range(n):
                dx[e] = -dz[e]
            give(1, dx)
        elif kind == anne_ops.LAYER_AVERAGE:
            for e in range(n):
                dx[e] = dz[e] / nx
            for k in range(nx):
                give(k, dx)
        elif kind == anne_ops.LAYER_MULTIPLY:
            for k in range(nx):
                for e in range(n):
                    p = dz[e]
                    for j in range(nx):
                        if j != k:
                            p *= xs[j][e]
                    dx[e] = p
                give(k, dx)
        elif kind == anne_ops.LAYER_CONCATENATE:
            total, off, mv = sum(self.widths), 0, memoryview(dz)
            for k in range(nx):
                w = self.widths[k]
                for r in range(self.rows):
                    dx[r * w:(r + 1) * w] = mv[r * total + off:r * total + off + w]
                off += w
                give(k, memoryview(dx)[:self.rows * w])
        else:  # Maximum, Minimum: to the first input that holds the extreme
            hi = kind == anne_ops.LAYER_MAXIMUM
            for k in range(nx):
                for e in range(n):
                    v = xs[k][e]
                    won = True
                    for j in range(nx):
                        u = xs[j][e]
                        if (u > v or (j < k and u == v)) if hi else (u < v or (j < k and u == v)):
                            won = False
                            break
                    dx[e] = dz[e] if won else 0.0
                give(k, dx)


class _Run:
    """A graph's training state: each layer's (anne_train_python's, a
    merge's here), each tensor's gradient (its readers' summed), and the
    forward and backward passes anne_train_python's loop runs."""

    def __init__(self, net, backend):
        layers = net._layers
        self.inputs = ins = [net._inputs[i] for i in range(len(layers))]
        state = []
        for i, L in enumerate(layers):
            first = ins[i] == (NETWORK_INPUT,)
            if L.kind == anne_ops.LAYER_DENSE:
                state.append(_Layer(L, backend, first))
            elif L.kind in _CONVS:
                state.append(_Conv(L, backend, first))
            elif L.kind in anne_ops.LAYER_INPUTS:
                state.append(_Merge(L, backend))
            else:
                state.append(_Pass(L, backend))
        self.state = state
        self.grads = [_floats_for(L.n_out) for L in layers[:-1]]
        self.got = [False] * len(self.grads)
        self.outs = [None] * len(layers)
        self.xs = [[None] * len(ins[i]) for i in range(len(layers))]
        self.merge = [L.kind in anne_ops.LAYER_INPUTS for L in layers]

    def forward(self, x):
        """Every layer on sample x -> the last layer's state."""
        outs, ins = self.outs, self.inputs
        for i, s in enumerate(self.state):
            if self.merge[i]:
                xs = self.xs[i]
                for k, j in enumerate(ins[i]):
                    xs[k] = x if j == NETWORK_INPUT else outs[j]
                outs[i] = s.forward(xs)
            else:
                j = ins[i][0]
                outs[i] = s.forward(x if j == NETWORK_INPUT else outs[j])
        return self.state[-1]

    def _give(self, j, values):
        """Adds the gradient `values` to tensor j's (the first one is copied)."""
        if j == NETWORK_INPUT:
            return
        g = self.grads[j]
        if not self.got[j]:
            g[:] = values
            self.got[j] = True
            return
        for e in range(len(g)):
            g[e] += values[e]

    def backward(self, x, dy, scale):
        """The gradients, layer by layer from the last (dy: its, or None
        when its dz holds it, from the loss), accumulated in gk and gb."""
        got, ins, outs = self.got, self.inputs, self.outs
        for j in range(len(got)):
            got[j] = False
        for i in range(len(self.state) - 1, -1, -1):
            s = self.state[i]
            g = dy if i == len(self.state) - 1 else self.grads[i]
            if self.merge[i]:
                src = ins[i]
                s.backward(self.xs[i], g, lambda k, v: self._give(src[k], v))
                continue
            j = ins[i][0]
            dx = s.backward(x if j == NETWORK_INPUT else outs[j], g, scale)
            if dx is not None:
                self._give(j, dx)


def state_bytes(net, opt):
    """training_memory() of a graph: the arrays _Run allocates (run_bytes),
    the copies of the trained weights a step keeps, the optimizer's slots
    (and their copies) and the zeros that clear the gradients."""
    per = opt._slot_count()
    total = widest = 0
    for L in net._layers:
        if L.kind == anne_ops.LAYER_DENSE or L.kind in _CONVS:
            n_k = L._known_rows() * L.units
            n_b = L.units if L._bias is not None else 0
            if L.trainable:
                total += sum(_heap_bytes(n) for n in [n_k, n_b] * (1 + 2 * per) if n)
            widest = max(widest, n_k, n_b)
    return run_bytes(net) + total + _heap_bytes(widest)


def run_bytes(net):
    """The bytes of the arrays _Run(net) allocates: each layer's buffers and
    gradients (anne_train_python's), a merge's, each tensor's gradient."""
    layers = net._layers
    total = 0
    for i, L in enumerate(layers):
        first = net._inputs[i] == (NETWORK_INPUT,)
        if L.kind == anne_ops.LAYER_DENSE or L.kind in _CONVS:
            pre = L.units if L.kind == anne_ops.LAYER_DENSE else L.n_out
            sizes = [pre, pre, pre, L.n_out, 0 if first else L.n_in, L._known_rows() * L.units,
                     L.units if L._bias is not None else 0]
        elif L.kind in anne_ops.LAYER_INPUTS:
            n = L.n_out
            act = L._name != "linear"
            sizes = [n, n if act else 0, n if act else 0,
                     _size(L.output_shape[:-1]) * max(t[-1] for t in L._in_shapes)]
        elif L.computes:
            sizes = [L.n_out, L.n_in]
        else:
            sizes = []
        if i < len(layers) - 1:
            sizes.append(L.n_out)   # its output's gradient
        total += sum(_heap_bytes(n) for n in sizes if n)
    return total
