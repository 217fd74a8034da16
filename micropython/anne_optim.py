# anne_optim: the optimizers of anne_train, Keras 3's SGD and Adam (their
# settings and, for the pure-Python loop, their state and steps).

import math
from array import array

from anne_core import _floats_for, _is_finite


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
