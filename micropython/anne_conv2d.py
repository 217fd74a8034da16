# anne_conv2d: anne_net's layers for (height, width, channels) images:
# Conv2D and the 2-D poolings (DepthwiseConv2D and ZeroPadding2D:
# anne_depthwise2d, on these) (fit() trains them).
# anne_net imports it when a network has one of them (anne_net.Conv2D, ...
# or a file that holds one), so that other networks do not load it.


import anne_ops
from anne_core import PADDINGS, _as_floats, _n_out, _out_steps, _shape_text, _size
from anne_layers import Dense, _Shaping, _int_arg
from anne_conv import Conv1D, _depth, _padding


def _pair(value, what):
    """Keras's int-or-2-tuple arguments (kernel_size=3 or (3, 2))."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError("%s: one or two values for a 2-D layer, got %r" % (what, tuple(value)))
        return (_int_arg(value[0], what), _int_arg(value[1], what))
    v = _int_arg(value, what)
    return (v, v)


def _image(layer, shape):
    if len(shape) != 3:
        raise ValueError("%s takes (height, width, channels), this input is %s: use Input((h, w, channels)) "
                         "or Reshape" % (type(layer).__name__, _shape_text(shape)))
    return shape


def _plane(shape, window, strides, padding):
    """(out_h, out_w) of a window (rows, columns) over shape's plane."""
    code = PADDINGS.index(padding)
    oh, _ = _out_steps(shape[0], window[0], strides[0], code)
    ow, _ = _out_steps(shape[1], window[1], strides[1], code)
    return oh, ow


class Conv2D(Conv1D):
    """Conv2D(filters, kernel_size, strides=1, padding="valid",
    dilation_rate=1, activation="linear", use_bias=True, **params), as
    keras.layers.Conv2D (channels_last) on a (height, width, channels)
    input given row-major (numpy's reshape(-1)); kernel_size, strides and
    dilation_rate an int or a pair; padding "valid" or "same". The kernel
    is Keras's, kernel_h x kernel_w x in_channels x filters. Activations as
    Dense's, glu excepted. fit() trains it."""

    kind = anne_ops.LAYER_CONV2D

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation="linear", use_bias=True, **params):
        self._ks = _pair(kernel_size, "kernel_size")
        self._dil = _pair(dilation_rate, "dilation_rate")
        self.strides = _pair(strides, "strides")
        self.padding = _padding(padding, PADDINGS[:2])
        self._in_shape = None
        self._cin = None
        self._net = None
        Dense.__init__(self, filters, activation, use_bias, **params)

    kernel_size = property(lambda self: self._ks)
    dilation_rate = property(lambda self: self._dil)

    def _set_activation(self, value, params, check_shape=True):
        if isinstance(value, str) and _n_out(value, 2) != 2:
            raise ValueError("Conv2D cannot take %s (it halves the filters): use a Dense after it" % value)
        Dense._set_activation(self, value, params, check_shape)

    def _taps(self):
        return self._ks[0] * self._ks[1]

    def _known_rows(self):
        return None if self._cin is None else self._taps() * self._cin

    def _window(self):
        return tuple((k - 1) * d + 1 for k, d in zip(self._ks, self._dil))

    def _out_shape(self, shape):
        _image(self, shape)
        return _plane(shape, self._window(), self.strides, self.padding) + (self._units,)

    def _fits(self, shape):
        return self._kernel is not None and len(shape) == 3 and self._cin == shape[2]

    def _new_weights(self, shape, units=None):
        from anne_layers import _glorot_uniform
        from anne_core import _zeros
        units = self._units if units is None else units
        k = _glorot_uniform(self._taps() * shape[-1], units, self._taps())
        return k, (_zeros(units) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
        if _depth(kernel) == 4:  # kernel_h x kernel_w x in_channels x filters
            if len(kernel) != self._ks[0] or len(kernel[0]) != self._ks[1]:
                raise ValueError("kernel is not kernel_h x kernel_w = %d x %d taps" % self._ks)
            kernel = [row for line in kernel for tap in line for row in tap]
        k, b, rows = Dense._check_weights(self, kernel, bias, n_in)
        if rows % self._taps():
            raise ValueError("kernel has %d rows, not kernel_h x kernel_w x in_channels (%d x %d x channels)"
                             % ((rows,) + self._ks))
        return k, b, rows

    def _is_keras_list(self, kernel, bias):
        if bias is not None or not isinstance(kernel, (list, tuple)) or len(kernel) not in (1, 2):
            return False
        return _depth(kernel[0]) == 4 or Dense._is_keras_list(self, kernel, bias) and _depth(kernel) != 4

    def _take_rows(self, rows):
        self._cin = rows // self._taps()

    def get_weights(self):
        """[kernel nested kernel_h x kernel_w x in_channels x filters, bias list]."""
        u, cin, (kh, kw) = self._units, self._cin, self._ks
        k = _as_floats(self._kernel)
        out = [[[[[k[((y * kw + x) * cin + c) * u + j] for j in range(u)] for c in range(cin)]
                 for x in range(kw)] for y in range(kh)]]
        if self._bias is not None:
            b = _as_floats(self._bias)
            out.append([b[j] for j in range(u)])
        return out

    def _step(self, buf):
        h, w, _ = self._in_shape
        return (self._kernel, self._bias, self._act, buf,
                (self.kind, h, w, self._cin) + self._ks + self.strides
                + (PADDINGS.index(self.padding),) + self._dil)

    def _options(self):
        return "kernel_size=%r, strides=%r, padding=%r, dilation_rate=%r" % (
            self._ks, self.strides, self.padding, self._dil)

    def __repr__(self):
        s = "Conv2D(%d, %s, activation=%r" % (self._units, self._options(), self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        return s + (", use_bias=False)" if not self.use_bias else ")")


class _Pooling2D(_Shaping):
    def __init__(self, pool_size=2, strides=None, padding="valid", input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = _padding(padding, PADDINGS[:2])

    def _out_shape(self, shape):
        _image(self, shape)
        return _plane(shape, self.pool_size, self.strides, self.padding) + (shape[2],)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind,) + self._in_shape + self.pool_size + self.strides
                + (PADDINGS.index(self.padding),))

    def _options(self):
        return "pool_size=%r, strides=%r, padding=%r" % (self.pool_size, self.strides, self.padding)


class MaxPooling2D(_Pooling2D):
    """MaxPooling2D(pool_size=2, strides=None, padding="valid"), as Keras's:
    the max of each window of pool_size positions, per channel."""
    kind = anne_ops.LAYER_MAX_POOLING2D


class AveragePooling2D(_Pooling2D):
    """AveragePooling2D(pool_size=2, strides=None, padding="valid"), as
    Keras's (with padding="same", the mean of the positions in range)."""
    kind = anne_ops.LAYER_AVERAGE_POOLING2D


class _GlobalPooling2D(_Shaping):
    def _out_shape(self, shape):
        return (_image(self, shape)[2],)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[2]))


class GlobalAveragePooling2D(_GlobalPooling2D):
    """GlobalAveragePooling2D(): the mean over height and width, per channel."""
    kind = anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D


class GlobalMaxPooling2D(_GlobalPooling2D):
    """GlobalMaxPooling2D(): the max over height and width, per channel."""
    kind = anne_ops.LAYER_GLOBAL_MAX_POOLING2D


# By kind - LAYER_CONV2D
LAYER_TYPES = (Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D)
NAMES = "Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D"


def make_layer(entry):
    """anne_net.load()'s layer for a file's entry of a 2-D kind."""
    kind, kp = entry.kind, entry.kparams
    if kind == anne_ops.LAYER_CONV2D:
        return Conv2D(entry.units, kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5:7], entry.activation,
                      entry.has_bias, **entry.keras_params())
    layer_type = LAYER_TYPES[kind - anne_ops.LAYER_CONV2D]
    if kind in (anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D):
        return layer_type(kp[0:2], kp[2:4], PADDINGS[kp[4]])
    return layer_type()
