# anne_stream: anne_net.Window, a sensor stream into a network one sample
# at a time (imported by anne_net when Window is first used).

from array import array

from anne_core import _floats_for, _zeros
from anne_layers import _int_arg


class Window:
    """Window(net, hop=1): the last `steps` samples of a sensor stream, for
    a network on (steps, channels) windows (or (n,): n samples of one
    channel). w.push(sample) stores one sample (channels values, or a number
    for one channel) and, once the window is full and every `hop` samples,
    runs the network on the window, oldest sample first, and returns its
    outputs (w.out, overwritten by the next run); otherwise None. Nothing
    is allocated per sample: the samples go into a ring buffer stored twice
    over, so that every window is one contiguous view, made in advance."""

    def __init__(self, net, hop=1):
        shape = net.input_shape
        if shape is None or not net.layers:
            raise ValueError("Window needs a network with an input shape and layers")
        self.steps, self.channels = shape if len(shape) == 2 else (shape[0], 1)
        self.hop = _int_arg(hop, "hop")
        self.net = net
        n = self.steps * self.channels
        self._ring = _zeros(2 * n)
        ring = memoryview(self._ring)
        self._views = [ring[i * self.channels:i * self.channels + n] for i in range(self.steps)]
        self.out = _floats_for(net.n_outputs)
        self.reset()

    def reset(self):
        """Forgets the samples: the next window is due after `steps` more."""
        self._head = 0      # where the next sample goes (0..steps-1)
        self._filled = 0    # samples stored, up to steps
        self._since = 0     # samples since the last run

    def push(self, sample):
        c = self.channels
        i = self._head * c
        j = i + self.steps * c
        ring = self._ring
        if c == 1 and not isinstance(sample, (list, tuple, array)):
            ring[i] = ring[j] = sample
        else:
            if len(sample) != c:
                raise ValueError("a sample has %d values, the window takes %d channels" % (len(sample), c))
            for k in range(c):
                ring[i + k] = ring[j + k] = sample[k]
        self._head += 1
        if self._head == self.steps:
            self._head = 0
        if self._filled < self.steps:
            self._filled += 1
        self._since += 1
        if self._filled < self.steps or self._since < self.hop:
            return None
        self._since = 0
        return self.net.predict_into(self._views[self._head], self.out)
