# anne_affine: anne_net's per-channel layers, x * scale + offset per
# channel (Normalization, Rescaling, BatchNormalization). Use them through
# anne_net (anne_net.Normalization, ...): it imports this module when a
# network has one of them.

import math
from array import array

import anne_ops
from anne_core import _as_floats
from anne_layers import _Shaping, _editable


def _per_channel(v, c, what):
    """A scalar or c values -> c floats."""
    if isinstance(v, (int, float)):
        return [float(v)] * c
    v = [float(t) for t in v]
    if len(v) == 1:
        return v * c
    if len(v) != c:
        raise ValueError("%s has %d values for %d channels" % (what, len(v), c))
    return v


class _Affine(_Shaping):
    """x * scale + offset per channel of the last axis: what Keras's
    Normalization, Rescaling and BatchNormalization compute at inference.
    The subclasses keep their Keras arguments; _scale_offset(c) turns them
    into the c scales and offsets the kernel applies."""

    kind = anne_ops.LAYER_AFFINE
    stored = True
    use_bias = True
    code = 0  # which Keras layer, stored in the file

    @property
    def units(self):
        return None if self._in_shape is None else self._in_shape[-1]

    @property
    def n_params(self):
        return 2 * (self.units or 0)

    def _known_rows(self):
        return 1

    def _out_shape(self, shape):
        return tuple(shape)

    def _fits(self, shape):
        k = self._kernel
        return k is not None and (len(k) if isinstance(k, array) else len(k) // 4) == shape[-1]

    def _args_fit(self, c):
        """True if the per-channel Keras arguments fit c channels (scalars,
        or one or c values), or the layer has not had another number of
        channels (arguments given for the wrong number are an error)."""
        return self._in_shape is None or self._in_shape[-1] == c or all(
            v is None or isinstance(v, (int, float)) or len(v) in (1, c) for v in self._channel_args())

    def _new_weights(self, shape, units=None):
        c = shape[-1]
        old = None
        if not self._args_fit(c):
            old = self._swap_args(self._fresh_args())
        try:
            s, o = self._scale_offset(c)
        finally:
            if old is not None:
                self._swap_args(old)
        for v in s + o:
            if v - v != 0.0:
                raise ValueError("%s: not finite (a zero variance?)" % type(self).__name__)
        return array("f", s), array("f", o)

    def _set_input(self, shape):
        # Its input now has other channels (the layer before was resized):
        # fresh arguments, as a new Keras layer has (BatchNormalization:
        # gamma 1, beta 0, moving mean 0, moving variance 1).
        if not self._args_fit(shape[-1]):
            self._swap_args(self._fresh_args())
        _Shaping._set_input(self, shape)

    def _refresh(self):
        """New scale and offset from the Keras arguments (in a network)."""
        _editable(self._net)
        if self._net is not None and self._in_shape is not None:
            self._kernel, self._bias = self._new_weights(self._in_shape)
            self._net._build_plan()

    def _step(self, buf):
        return (self._kernel, self._bias, None, buf, (self.kind, self._in_shape[-1]))

    def _from_file(self, scale, offset):
        """The arguments that give this scale and offset (a loaded layer)."""
        raise NotImplementedError


def _floats_of(buf):
    return [float(v) for v in _as_floats(buf)]


class Normalization(_Affine):
    """Normalization(axis=-1, mean=None, variance=None), as Keras's:
    (x - mean) / sqrt(variance) per channel (per feature), Keras's epsilon
    1e-7 under the square root's floor. Give mean and variance, or call
    adapt(rows) with raw data (a list of samples)."""

    code = 1

    def __init__(self, axis=-1, mean=None, variance=None, input_shape=None):
        _Shaping.__init__(self, input_shape)
        if axis not in (-1, None):
            raise ValueError("Normalization: anne normalizes over the last axis (axis=-1)")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (then adapt())")
        self.mean, self.variance = mean, variance

    def _scale_offset(self, c):
        mean = _per_channel(0.0 if self.mean is None else self.mean, c, "mean")
        var = _per_channel(1.0 if self.variance is None else self.variance, c, "variance")
        s = [1.0 / max(math.sqrt(v), 1e-7) for v in var]
        return s, [-m * k for m, k in zip(mean, s)]

    def adapt(self, data):
        """Mean and variance of each channel over data (samples of the
        network's input, flat or nested), as Keras's adapt()."""
        c = self._in_shape[-1] if self._in_shape is not None else None
        sums = sq = None
        n = 0
        for row in data:
            nested = len(row) and isinstance(row[0], (list, tuple))
            flat = [v for step in row for v in step] if nested else row
            if c is None:
                c = len(row[0]) if nested else len(flat)
            if sums is None:
                sums, sq = [0.0] * c, [0.0] * c
            for k in range(len(flat)):
                sums[k % c] += flat[k]
                sq[k % c] += flat[k] * flat[k]
            n += len(flat) // c
        if not n:
            raise ValueError("adapt(): no data")
        self.mean = [v / n for v in sums]
        self.variance = [max(q / n - m * m, 0.0) for q, m in zip(sq, self.mean)]
        self._refresh()

    def set_weights(self, weights):
        """Keras's [mean, variance] (or [mean, variance, count])."""
        if len(weights) not in (2, 3):
            raise ValueError("Normalization takes [mean, variance], got %d arrays" % len(weights))
        old = self.mean, self.variance
        self.mean, self.variance = list(weights[0]), list(weights[1])
        try:
            self._refresh()
        except (ValueError, RuntimeError):
            self.mean, self.variance = old
            raise

    def _from_file(self, scale, offset):
        self.variance = [1.0 / (v * v) for v in scale]
        self.mean = [-o / s for o, s in zip(offset, scale)]

    def _channel_args(self):
        return self.mean, self.variance

    def _fresh_args(self):
        return None, None

    def _swap_args(self, args):
        old = self.mean, self.variance
        self.mean, self.variance = args
        return old

    def get_weights(self):
        c = self.units
        return [_per_channel(0.0 if self.mean is None else self.mean, c, "mean"),
                _per_channel(1.0 if self.variance is None else self.variance, c, "variance")]

    def _options(self):
        return "" if self.mean is None else "mean=%s, variance=%s" % (_short(self.mean), _short(self.variance))


class Rescaling(_Affine):
    """Rescaling(scale, offset=0.0), as Keras's: x * scale + offset (scalars,
    or one value per channel)."""

    code = 2

    def __init__(self, scale, offset=0.0, input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.scale, self.offset = scale, offset

    def _scale_offset(self, c):
        return _per_channel(self.scale, c, "scale"), _per_channel(self.offset, c, "offset")

    def _from_file(self, scale, offset):
        self.scale, self.offset = scale, offset

    def _channel_args(self):
        return self.scale, self.offset

    def _fresh_args(self):
        return 1.0, 0.0

    def _swap_args(self, args):
        old = self.scale, self.offset
        self.scale, self.offset = args
        return old

    def get_weights(self):
        return []

    def _options(self):
        return "scale=%s, offset=%s" % (_short(self.scale), _short(self.offset))


class BatchNormalization(_Affine):
    """BatchNormalization(axis=-1, epsilon=0.001, center=True, scale=True),
    Keras's inference form: (x - moving_mean) / sqrt(moving_variance +
    epsilon) * gamma + beta. set_weights() takes Keras's list: [gamma,
    beta, moving_mean, moving_variance] (gamma left out with scale=False,
    beta with center=False); the defaults are 1, 0, 0, 1."""

    code = 3

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, input_shape=None, **keras):
        _Shaping.__init__(self, input_shape)
        if axis not in (-1, None):
            raise ValueError("BatchNormalization: anne normalizes over the last axis (axis=-1)")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self._w = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

    def _names(self):
        return ((["gamma"] if self.scale else []) + (["beta"] if self.center else [])
                + ["moving_mean", "moving_variance"])

    def _scale_offset(self, c):
        w = {k: _per_channel(v, c, k) for k, v in self._w.items()}
        s = [g / math.sqrt(v + self.epsilon) for g, v in zip(w["gamma"], w["moving_variance"])]
        return s, [b - m * k for b, m, k in zip(w["beta"], w["moving_mean"], s)]

    def set_weights(self, weights):
        names = self._names()
        if len(weights) != len(names):
            raise ValueError("BatchNormalization takes %d arrays (%s), got %d"
                             % (len(names), ", ".join(names), len(weights)))
        old = dict(self._w)
        self._w.update(zip(names, weights))
        try:
            self._refresh()
        except (ValueError, RuntimeError):
            self._w = old
            raise

    def get_weights(self):
        c = self.units
        return [_per_channel(self._w[k], c, k) for k in self._names()]

    def _from_file(self, scale, offset):
        self.epsilon, self.center, self.scale = 0.0, True, True
        self._w = {"gamma": scale, "beta": offset, "moving_mean": 0.0, "moving_variance": 1.0}

    def _channel_args(self):
        return self._w.values()

    def _fresh_args(self):
        return {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

    def _swap_args(self, args):
        old = self._w
        self._w = args
        return old

    def _options(self):
        return "epsilon=%g" % self.epsilon


def _short(v):
    if isinstance(v, (int, float)):
        return "%g" % v
    return "[%s%s]" % (", ".join("%.4g" % t for t in v[:4]), ", ..." if len(v) > 4 else "")


LAYER_TYPES = (Normalization, Rescaling, BatchNormalization)
AFFINE_TYPES = (_Affine, Normalization, Rescaling, BatchNormalization)  # by code


def make_layer(entry):
    """The per-channel layer of a file's entry (anne_net.load; its weights
    are set by _from_file once read): by its code, kparams[0]."""
    code = entry.kparams[0]
    return Rescaling(1.0) if code in (0, 2) else AFFINE_TYPES[code]()


def _unfolded(text):
    """The layer of its own for a normalization the converter folded into
    the layer after it (x * scale + offset per input, docs/FORMAT.md's
    `folded_before`), as the Keras class it was."""
    from anne_io import _before_args
    code, scale, offset = _before_args(text)
    L = AFFINE_TYPES[code]() if code in (1, 3) else Rescaling(1.0)
    L._from_file(scale, offset)
    return L
