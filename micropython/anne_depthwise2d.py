# anne_depthwise2d: anne_net's DepthwiseConv2D and ZeroPadding2D for
# (height, width, channels) images, and UpSampling1D for (steps,
# channels) (fit() trains through them),
# on anne_conv2d's Conv2D. anne_net imports it when a network has one of
# them (anne_net.DepthwiseConv2D, ... or a file that holds one): a Conv2D
# network does not load it (a board holds an imported module in RAM).

import anne_ops
from anne_core import PADDINGS, _as_floats, _check_finite, _n_out
from anne_layers import Dense, _Shaping, _flatten, _int_arg
from anne_conv import _depth, _one, _steps_channels
from anne_conv2d import Conv2D, _image, _plane


class DepthwiseConv2D(Conv2D):
    """DepthwiseConv2D(kernel_size, strides=1, padding="valid",
    depth_multiplier=1, dilation_rate=1, activation="linear",
    use_bias=True, **params), as keras.layers.DepthwiseConv2D
    (channels_last): each input channel c convolved with its own
    depth_multiplier filters, output channel c * depth_multiplier + m;
    in_channels x depth_multiplier outputs per position. The kernel is
    Keras's depthwise_kernel, kernel_h x kernel_w x in_channels x
    depth_multiplier. Activations as Dense's, glu excepted. fit() trains it."""

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
        """Its slots, in the registry's order (its spec's end, and the file's)."""
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


class UpSampling1D(_Shaping):
    """UpSampling1D(size=2), as Keras's: each step of a (steps, channels)
    input repeated size times, (steps * size, channels) out."""
    kind = anne_ops.LAYER_UP_SAMPLING1D

    def __init__(self, size=2, input_shape=None):
        _Shaping.__init__(self, input_shape)
        self.size = _one(size, "size")

    def _out_shape(self, shape):
        steps, channels = _steps_channels(self, shape)
        return (steps * self.size, channels)

    def _step(self, buf):
        return (None, None, None, buf, (self.kind, self._in_shape[1], self.size))

    def _options(self):
        return "size=%d" % self.size


LAYER_TYPES = (DepthwiseConv2D, ZeroPadding2D, UpSampling1D)


def make_layer(entry):
    """anne_net.load()'s layer for a file's DepthwiseConv2D, ZeroPadding2D
    or UpSampling1D."""
    kp = entry.kparams
    if entry.kind == anne_ops.LAYER_UP_SAMPLING1D:
        return UpSampling1D(kp[0])
    if entry.kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        return DepthwiseConv2D(kp[0:2], kp[2:4], PADDINGS[kp[4]], kp[5], kp[6:8], entry.activation,
                               entry.has_bias, **entry.keras_params())
    return ZeroPadding2D((kp[0:2], kp[2:4]))
