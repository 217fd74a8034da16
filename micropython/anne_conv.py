# anne_conv: anne_net's layers for (steps, channels) windows: Conv1D, the
# poolings, Flatten and Reshape. anne_net imports it when a network has one
# of them (anne_net.Conv1D, ... or a file that holds one), so that a dense
# network does not load it.

from array import array

import anne_ops
from anne_core import PADDINGS, _as_floats, _n_out, _out_steps, _shape_text, _size, _zeros
from anne_layers import Dense, _Shaped, _Shaping, _glorot_uniform, _int_arg


def _one(value, what):
    """Keras's int-or-1-tuple arguments (kernel_size=3 or (3,))."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError("%s: one value for a 1-D layer, got %r" % (what, tuple(value)))
        value = value[0]
    return _int_arg(value, what)


def _padding(value, allowed):
    if value not in allowed:
        raise ValueError("padding must be %s, not %r" % (" or ".join(repr(p) for p in allowed), value))
    return value


def _depth(v):
    """Nesting depth of lists/tuples (an array or a number ends it)."""
    d = 0
    while isinstance(v, (list, tuple)) and len(v):
        d += 1
        v = v[0]
    return d + (1 if isinstance(v, array) else 0)


def _check_reach(kernel_size, dilation_rate):
    """A causal Conv1D pads (kernel_size - 1) * dilation_rate steps: under
    2**31 on every target (docs/FORMAT.md; 32-bit boards wrapped)."""
    if (kernel_size - 1) * dilation_rate > 0x7FFFFFFF:
        raise ValueError("Conv1D: (kernel_size - 1) * dilation_rate = (%d - 1) * %d reaches %d steps back; "
                         "at most 2147483647" % (kernel_size, dilation_rate, (kernel_size - 1) * dilation_rate))


class Conv1D(_Shaped, Dense):
    """Conv1D(filters, kernel_size, strides=1, padding="valid",
    dilation_rate=1, activation="linear", use_bias=True, **params), as
    keras.layers.Conv1D on a (steps, channels) input: out[t, f] =
    activation(sum over k, c of x[t * strides + k * dilation_rate - pad, c] *
    kernel[k, c, f] + bias[f]); padding "valid", "same" or "causal". The
    kernel is Keras's, kernel_size x in_channels x filters (get_weights()
    gives it nested that way). Activations as Dense's, glu excepted."""

    kind = anne_ops.LAYER_CONV1D

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation="linear", use_bias=True, **params):
        self._ks = _one(kernel_size, "kernel_size")
        self._dil = _one(dilation_rate, "dilation_rate")
        _check_reach(self._ks, self._dil)
        self.strides = _one(strides, "strides")
        self.padding = _padding(padding, PADDINGS)
        self._in_shape = None
        self._cin = None  # input channels the weights take
        self._net = None
        Dense.__init__(self, filters, activation, use_bias, **params)

    filters = Dense.units

    def _set_window(self, ks, dil):
        """New kernel_size and dilation_rate, checked; in a network, the
        layers re-laid out (a new kernel_size: new weights), or nothing changes."""
        old = self._ks, self._dil
        _check_reach(ks, dil)
        self._ks, self._dil = ks, dil
        if self._net is not None:
            net = self._net
            try:
                net._relayout(list(net._layers), net._layers.index(self), (self,) if ks != old[0] else ())
            except ValueError:
                self._ks, self._dil = old
                raise

    kernel_size = property(lambda self: self._ks,
                           lambda self, v: self._set_window(_one(v, "kernel_size"), self._dil))
    # (assigning kernel_size gives the layer new weights; dilation_rate keeps them)
    dilation_rate = property(lambda self: self._dil,
                             lambda self, v: self._set_window(self._ks, _one(v, "dilation_rate")))

    def _set_activation(self, value, params, check_shape=True):
        if isinstance(value, str) and _n_out(value, 2) != 2:
            raise ValueError("Conv1D cannot take %s (it halves the filters): use a Dense after it" % value)
        Dense._set_activation(self, value, params, check_shape)

    def _known_rows(self):
        return None if self._cin is None else self.kernel_size * self._cin

    def _outputs_with(self, name):
        return self.n_out

    def _set_input(self, shape):
        self._in_shape = tuple(shape)
        self._cin = shape[-1]
        self.n_in = _size(shape)

    def _window(self):
        return (self.kernel_size - 1) * self.dilation_rate + 1

    def _out_shape(self, shape):
        if len(shape) != 2:
            raise ValueError("Conv1D takes (steps, channels), this input is %s: use Input((steps, channels)) "
                             "or Reshape" % _shape_text(shape))
        n, _ = _out_steps(shape[0], self._window(), self.strides, PADDINGS.index(self.padding))
        return (n, self._units)

    @property
    def n_params(self):
        return (self._known_rows() or 0) * self._units + (self._units if self.use_bias else 0)

    def _fits(self, shape):
        return self._kernel is not None and len(shape) == 2 and self._cin == shape[1]

    def _new_weights(self, shape, units=None):
        units = self._units if units is None else units
        k = _glorot_uniform(self.kernel_size * shape[-1], units, self.kernel_size)
        return k, (_zeros(units) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
        if _depth(kernel) == 3:  # kernel_size x in_channels x filters
            if len(kernel) != self.kernel_size:
                raise ValueError("kernel has %d taps, this layer's kernel_size is %d" % (len(kernel), self.kernel_size))
            kernel = [row for tap in kernel for row in tap]
        k, b, rows = Dense._check_weights(self, kernel, bias, n_in)
        if rows % self.kernel_size:
            raise ValueError("kernel has %d rows, not kernel_size x in_channels (%d x channels)"
                             % (rows, self.kernel_size))
        return k, b, rows

    def _is_keras_list(self, kernel, bias):
        if bias is not None or not isinstance(kernel, (list, tuple)) or len(kernel) not in (1, 2):
            return False
        return _depth(kernel[0]) == 3 or Dense._is_keras_list(self, kernel, bias) and _depth(kernel) != 3

    # set_weights() as Dense's: the kernel nested kernel_size x in_channels x
    # filters (Keras's get_weights()), or flat in that order.
    def _take_rows(self, rows):
        self._cin = rows // self.kernel_size

    def get_weights(self):
        """[kernel nested kernel_size x in_channels x filters, bias list]."""
        u, cin = self._units, self._cin
        k = _as_floats(self._kernel)
        out = [[[[k[(t * cin + c) * u + j] for j in range(u)] for c in range(cin)]
                for t in range(self.kernel_size)]]
        if self._bias is not None:
            b = _as_floats(self._bias)
            out.append([b[j] for j in range(u)])
        return out

    def _step(self, buf):
        return (self._kernel, self._bias, self._act, buf,
                (self.kind, self._cin, self.kernel_size, self.strides, PADDINGS.index(self.padding),
                 self.dilation_rate))

    def _options(self):
        return "kernel_size=%d, strides=%d, padding=%r, dilation_rate=%d" % (
            self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def __repr__(self):
        s = "Conv1D(%d, %s, activation=%r" % (self._units, self._options(), self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        return s + (", use_bias=False)" if not self.use_bias else ")")


def _steps_channels(layer, shape):
    if len(shape) != 2:
        raise ValueError("%s takes (steps, channels), this input is %s" % (type(layer).__name__, _shape_text(shape)))
    return shape


class _Pooling1D(_Shaping):
    def __init__(self, pool_size=2, strides=None, padding="valid", input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.pool_size = _one(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _one(strides, "strides")
        self.padding = _padding(padding, PADDINGS[:2])

    def _out_shape(self, shape):
        steps, channels = _steps_channels(self, shape)
        n, _ = _out_steps(steps, self.pool_size, self.strides, PADDINGS.index(self.padding))
        return (n, channels)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[1], self.pool_size, self.strides,
                                        PADDINGS.index(self.padding)))

    def _options(self):
        return "pool_size=%d, strides=%d, padding=%r" % (self.pool_size, self.strides, self.padding)


class MaxPooling1D(_Pooling1D):
    """MaxPooling1D(pool_size=2, strides=None, padding="valid"), as Keras's:
    the max of each window of pool_size steps, per channel."""
    kind = anne_ops.LAYER_MAX_POOLING1D


class AveragePooling1D(_Pooling1D):
    """AveragePooling1D(pool_size=2, strides=None, padding="valid"), as
    Keras's (with padding="same", the mean of the steps in range)."""
    kind = anne_ops.LAYER_AVERAGE_POOLING1D


class _GlobalPooling1D(_Shaping):
    def _out_shape(self, shape):
        return (_steps_channels(self, shape)[1],)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[1]))


class GlobalAveragePooling1D(_GlobalPooling1D):
    """GlobalAveragePooling1D(): the mean over the steps, per channel."""
    kind = anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D


class GlobalMaxPooling1D(_GlobalPooling1D):
    """GlobalMaxPooling1D(): the max over the steps, per channel."""
    kind = anne_ops.LAYER_GLOBAL_MAX_POOLING1D


class Flatten(_Shaping):
    """Flatten(): (steps, channels) -> (steps * channels,), or (h, w,
    channels) -> (h * w * channels,), row-major (the values do not move: it
    costs nothing)."""
    kind = anne_ops.LAYER_FLATTEN
    computes = False

    def _out_shape(self, shape):
        return (_size(shape),)

    def _step(self, buf):
        return None


class Reshape(_Shaping):
    """Reshape(target_shape), as Keras's: (n,), (steps, channels) or
    (height, width, channels), one size may be -1; the values do not move."""
    kind = anne_ops.LAYER_RESHAPE
    computes = False

    def __init__(self, target_shape, input_shape=None):
        _Shaping.__init__(self, input_shape)
        if not isinstance(target_shape, (tuple, list)) or len(target_shape) not in (1, 2, 3):
            raise ValueError("target_shape must be (n,), (steps, channels) or (h, w, channels), not %r"
                             % (target_shape,))
        if [d for d in target_shape if d != -1 and (isinstance(d, bool) or not isinstance(d, int) or d < 1)] \
                or list(target_shape).count(-1) > 1:
            raise ValueError("target_shape %r: sizes >= 1, at most one -1" % (tuple(target_shape),))
        self.target_shape = tuple(target_shape)

    def _out_shape(self, shape):
        n = _size(shape)
        known = -_size(self.target_shape) if -1 in self.target_shape else _size(self.target_shape)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError("cannot reshape %s (%d values) to %s" % (_shape_text(shape), n,
                                                                      _shape_text(self.target_shape)))
        return tuple(n // known if d == -1 else d for d in self.target_shape)

    def _step(self, buf):
        return None

    def _options(self):
        return _shape_text(self.target_shape)


# By kind - 2 (docs/FORMAT.md: Dense is kind 1)
LAYER_TYPES = (Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, Flatten, Reshape)


def make_layer(entry):
    """The layer of a file's entry of this module's kinds (anne_net.load)."""
    kind, kp = entry.kind, entry.kparams
    if kind == anne_ops.LAYER_CONV1D:
        return Conv1D(entry.units, kp[0], kp[1], PADDINGS[kp[2]], kp[3], entry.activation, entry.has_bias,
                      **entry.keras_params())
    layer_type = LAYER_TYPES[kind - 2]
    if kind in (anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D):
        return layer_type(kp[0], kp[1], PADDINGS[kp[2]])
    if kind == anne_ops.LAYER_RESHAPE:
        return layer_type(entry.out_shape)
    return layer_type()
