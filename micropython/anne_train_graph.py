# anne_train_graph: the graph's part of anne_train_python's loop (a
# network whose layers name their inputs, Keras's functional models with
# Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate): each
# layer's forward pass into its own buffers, then, from the loss, the
# layers in reverse order, each handed the sum of the gradients of the
# layers that read its output (a residual branch's two), the merges'
# gradients computed here (TensorFlow's conventions: Maximum's and
# Minimum's to the first input that holds the extreme). anne_train_python
# imports it for a graph: on the pure-Python backend, or past the native
# fused loop's 16 layers that compute.

import anne_ops

_LINEAR = anne_ops.ACTIVATIONS.index("linear")


class _Merge:
    """A merge's training state: z (the merge), y (then its activation,
    if any, element-wise), dz, and dx: one input's gradient at a time; its
    buffers parts of the workspace (anne_train_python._Cut)."""

    gk = gb = None
    trainable = False
    merge = True

    def __init__(self, b, t, n, lens, cut):
        self.kind = t[8][0]
        self.backend = b
        self.n_out = n
        self.rows = rows = t[8][1]
        self.widths = [v // rows for v in lens]
        self.act = None if t[2].id == _LINEAR else t[2]
        self.z = cut.take(n)
        self.y = cut.take(n) if self.act else self.z
        self.dz = cut.take(n) if self.act else None
        self.dx = cut.take(rows * max(self.widths))

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


class _Graph:
    """A graph's forward and backward passes over anne_train_python's
    layer states (inputs: each one's, -1 for x or the index of the layer
    whose outputs it reads), with each tensor's gradient (its readers'
    summed) in the workspace."""

    def __init__(self, state, inputs, lens, cut):
        self.state = state
        self.inputs = inputs
        self.grads = [cut.take(lens[i]) for i in range(len(state) - 1)]
        self.got = [False] * len(self.grads)
        self.outs = [None] * len(state)
        self.xs = [[None] * len(inputs[i]) for i in range(len(state))]

    def forward(self, x):
        """Every layer on sample x -> the last layer's state."""
        outs, ins = self.outs, self.inputs
        for i, s in enumerate(self.state):
            if s.merge:
                xs = self.xs[i]
                for k, j in enumerate(ins[i]):
                    xs[k] = x if j < 0 else outs[j]
                outs[i] = s.forward(xs)
            else:
                j = ins[i][0]
                outs[i] = s.forward(x if j < 0 else outs[j])
        return self.state[-1]

    def _give(self, j, values):
        """Adds the gradient `values` to tensor j's (the first one is copied)."""
        if j < 0:
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
        when its dz holds it, from the loss), summed in gk and gb."""
        got, ins, outs = self.got, self.inputs, self.outs
        for j in range(len(got)):
            got[j] = False
        for i in range(len(self.state) - 1, -1, -1):
            s = self.state[i]
            g = dy if i == len(self.state) - 1 else self.grads[i]
            if s.merge:
                src = ins[i]
                s.backward(self.xs[i], g, lambda k, v: self._give(src[k], v))
                continue
            j = ins[i][0]
            dx = s.backward(x if j < 0 else outs[j], g, scale)
            if dx is not None:
                self._give(j, dx)
