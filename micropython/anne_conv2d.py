# anne_conv2d: anne_net's layers for (height, width, channels) images:
# Conv2D, DepthwiseConv2D, ZeroPadding2D and the 2-D poolings (inference; fit() refuses them so far).
# anne_net imports it when a network has one of them (anne_net.Conv2D, ...
# or a file that holds one), so that other networks do not load it.


import anne_ops
from anne_core import PADDINGS, _as_floats, _n_out, _out_steps, _shape_text, _size
from anne_core import _check_finite
from anne_layers import Dense, _Shaping, _flatten, _int_arg
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
    Dense's, glu excepted. Inference only: fit() refuses it, so far."""

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
                (self.kind, h, w, self._cin) + self._ks + self.strides + self._dil
                + (PADDINGS.index(self.padding),))

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


class DepthwiseConv2D(Conv2D):
    """DepthwiseConv2D(kernel_size, strides=1, padding="valid",
    depth_multiplier=1, dilation_rate=1, activation="linear",
    use_bias=True, **params), as keras.layers.DepthwiseConv2D
    (channels_last): each input channel c convolved with its own
    depth_multiplier filters, output channel c * depth_multiplier + m;
    in_channels x depth_multiplier outputs per position. The kernel is
    Keras's depthwise_kernel, kernel_h x kernel_w x in_channels x
    depth_multiplier. Activations as Dense's, glu excepted. Inference only:
    fit() refuses it, so far."""

    kind = anne_ops.LAYER_DEPTHWISE_CONV2D

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1,
                 activation="linear", use_bias=True, **params):
        self.depth_multiplier = _int_arg(depth_multiplier, "depth_multiplier")
        # (units: in_channels x depth_multiplier once the input is known)
        Conv2D.__init__(self, self.depth_multiplier, kernel_size, strides, padding, dilation_rate, activation,
                        use_bias, **params)

    @property
    def units(self):
        """Output channels: in_channels x depth_multiplier (they follow the input)."""
        return self._units

    @units.setter
    def units(self, value):
        raise ValueError("DepthwiseConv2D's channels are in_channels x depth_multiplier: they follow its "
                         "input (make a new layer for another depth_multiplier)")

    def _set_activation(self, value, params, check_shape=True):
        if isinstance(value, str) and _n_out(value, 2) != 2:
            raise ValueError("DepthwiseConv2D cannot take %s (it halves the channels)" % value)
        Dense._set_activation(self, value, params, check_shape)

    def _set_input(self, shape):
        Conv2D._set_input(self, shape)
        self._units = shape[2] * self.depth_multiplier

    def _known_rows(self):
        # the kernel as a matrix: a row per tap, in_channels x multiplier columns
        return None if self._cin is None else self._taps()

    def _out_shape(self, shape):
        _image(self, shape)
        return _plane(shape, self._window(), self.strides, self.padding) + (shape[2] * self.depth_multiplier,)

    def _new_weights(self, shape, units=None):
        from anne_layers import _glorot_uniform
        from anne_core import _zeros
        t, dm = self._taps(), self.depth_multiplier
        # Keras's fans of a kernel_h x kernel_w x in_channels x multiplier kernel
        k = _glorot_uniform(t * shape[2], dm, t)
        return k, (_zeros(shape[2] * dm) if self.use_bias else None)

    def _check_weights(self, kernel, bias, n_in=None):
        if kernel is None:
            raise ValueError("kernel: give the weights (kernel_h x kernel_w x in_channels x depth_multiplier)")
        dm, (kh, kw) = self.depth_multiplier, self._ks
        cin = self._cin
        if _depth(kernel) == 4:
            if len(kernel) != kh or len(kernel[0]) != kw or len(kernel[0][0][0]) != dm:
                raise ValueError("kernel is not kernel_h x kernel_w x in_channels x depth_multiplier = "
                                 "%d x %d x channels x %d" % (kh, kw, dm))
            if cin is not None and len(kernel[0][0]) != cin:
                raise ValueError("kernel has %d channels, this layer's input has %d" % (len(kernel[0][0]), cin))
            cin = len(kernel[0][0])
            kernel = [[v for c in tap for v in c] for line in kernel for tap in line]
        if cin is None:
            raise ValueError("kernel: give nested lists (kernel_h x kernel_w x in_channels x depth_multiplier) "
                             "for a layer not yet in a network")
        k, _ = _flatten(kernel, "kernel")
        if len(k) != kh * kw * cin * dm:
            raise ValueError("kernel has %d floats, expected kernel_h x kernel_w x in_channels x depth_multiplier "
                             "= %d x %d x %d x %d" % (len(k), kh, kw, cin, dm))
        _check_finite(k, "kernel")
        b = None
        if self.use_bias:
            if bias is None:
                raise ValueError("this layer has use_bias=True: give a bias")
            b, _ = _flatten(bias, "bias")
            if len(b) != cin * dm:
                raise ValueError("bias has %d floats, expected in_channels x depth_multiplier = %d" % (len(b), cin * dm))
            _check_finite(b, "bias")
        elif bias is not None:
            raise ValueError("this layer has use_bias=False: bias must be None")
        return k, b, cin

    def _is_keras_list(self, kernel, bias):
        if bias is not None or not isinstance(kernel, (list, tuple)) or len(kernel) not in (1, 2):
            return False
        return _depth(kernel[0]) == 4 or (_depth(kernel) == 2 and self._cin is not None
                                          and len(kernel[0]) == self._taps() * self._cin * self.depth_multiplier)

    def _take_rows(self, cin):
        self._cin = cin
        self._units = cin * self.depth_multiplier

    def get_weights(self):
        """[depthwise kernel nested kernel_h x kernel_w x in_channels x depth_multiplier, bias list]."""
        dm, cin, (kh, kw) = self.depth_multiplier, self._cin, self._ks
        k = _as_floats(self._kernel)
        u = cin * dm
        out = [[[[[k[(y * kw + x) * u + c * dm + m] for m in range(dm)] for c in range(cin)]
                 for x in range(kw)] for y in range(kh)]]
        if self._bias is not None:
            b = _as_floats(self._bias)
            out.append([b[j] for j in range(u)])
        return out

    def _kparams(self):
        """The file's slots (the registry's order)."""
        return self._ks + self.strides + (PADDINGS.index(self.padding), self.depth_multiplier) + self._dil

    def _step(self, buf):
        h, w, _ = self._in_shape
        return (self._kernel, self._bias, self._act, buf, (self.kind, h, w, self._cin) + self._kparams())

    def _options(self):
        return "kernel_size=%r, strides=%r, padding=%r, depth_multiplier=%d, dilation_rate=%r" % (
            self._ks, self.strides, self.padding, self.depth_multiplier, self._dil)

    def __repr__(self):
        s = "DepthwiseConv2D(%s, activation=%r" % (self._options(), self._name)
        for k in self.params:
            s += ", %s=%r" % (k, self.params[k])
        return s + (", use_bias=False)" if not self.use_bias else ")")


class ZeroPadding2D(_Shaping):
    """ZeroPadding2D(padding=1), as Keras's: padding an int (all four
    sides), (rows, columns) (symmetric) or ((top, bottom), (left, right));
    the added rows and columns are zeros."""
    kind = anne_ops.LAYER_ZERO_PADDING2D

    def __init__(self, padding=1, input_shape=None):
        _Shaping.__init__(self, input_shape)
        p = padding
        if isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(v, (tuple, list)) for v in p):
            sides = _side(p[0], "padding's (top, bottom)") + _side(p[1], "padding's (left, right)")
        elif isinstance(p, (tuple, list)):
            if len(p) != 2:
                _bad_padding(p)
            rows, cols = _int_arg(p[0], "padding's rows", 0), _int_arg(p[1], "padding's columns", 0)
            sides = (rows, rows, cols, cols)
        else:
            v = _int_arg(p, "padding", 0)
            sides = (v, v, v, v)
        self.padding = ((sides[0], sides[1]), (sides[2], sides[3]))

    def _kparams(self):
        return self.padding[0] + self.padding[1] + (0, 0, 0, 0)

    def _out_shape(self, shape):
        h, w, c = _image(self, shape)
        (t, b), (l, r) = self.padding
        return (t + h + b, l + w + r, c)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind,) + self._in_shape + self.padding[0] + self.padding[1])

    def _options(self):
        return "padding=%r" % (self.padding,)


def _bad_padding(p):
    raise ValueError("padding must be an int, (rows, columns) or ((top, bottom), (left, right)), not %r" % (p,))


def _side(pair, what):
    if len(pair) != 2:
        _bad_padding(pair)
    return (_int_arg(pair[0], what, 0), _int_arg(pair[1], what, 0))


# By kind - LAYER_CONV2D (then the later kinds, from LAYER_DEPTHWISE_CONV2D on)
LAYER_TYPES = (Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
               DepthwiseConv2D, ZeroPadding2D)
NAMES = ("Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, DepthwiseConv2D, "
         "ZeroPadding2D")


def make_layer(entry):
    """anne_net.load()'s layer for a file's entry of a 2-D kind."""
    kind, kp = entry.kind, entry.kparams
    if kind == anne_ops.LAYER_CONV2D:
        return Conv2D(entry.units, kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5:7], entry.activation,
                      entry.has_bias, **entry.keras_params())
    if kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        return DepthwiseConv2D(kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5], kp[6:8], entry.activation,
                               entry.has_bias, **entry.keras_params())
    if kind == anne_ops.LAYER_ZERO_PADDING2D:
        return ZeroPadding2D((kp[0:2], kp[2:4]))
    layer_type = LAYER_TYPES[kind - anne_ops.LAYER_CONV2D]
    if kind in (anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D):
        return layer_type(kp[0:2], kp[2:4], PADDINGS[kp[4]])
    return layer_type()
