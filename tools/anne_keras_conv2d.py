"""The Keras layers for (height, width, channels) images that
tools/anne_convert.py converts: Conv2D, DepthwiseConv2D, SeparableConv2D
(as a DepthwiseConv2D and a 1x1 Conv2D), ZeroPadding2D and the 2-D
poolings, one function
per Keras class as in anne_keras_layers (whose helpers they use), found
there through LAYER_KINDS. And the 1-D layers that run on the 2-D kernels:
DepthwiseConv1D, SeparableConv1D (its pointwise part a Conv1D) and
ZeroPadding1D, each between two Reshapes that move nothing ((steps,
channels) as an image of width 1, and back).

A per-channel affine (Normalization, Rescaling, BatchNormalization)
before a Conv2D is kept as a layer of its own (not folded, yet); one
after it, or an activation, folds into it as into a Conv1D.
"""

import anne_format
import anne_keras_layers as K


def _pair(cfg, key, default, where):
    """Keras's int-or-pair 2-D arguments (kernel_size=3 or [3, 2])."""
    v = cfg.get(key, default)
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise K.ConvertError("%s: %s=%r; a 2-D layer takes two values" % (where, key, v))
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _image(shape, where):
    if shape is None:
        raise K.UnknownShape("%s: the input's (height, width, channels) are not known; start the "
                             "model with keras.Input((height, width, channels))" % where)
    if len(shape) != 3:
        raise K.ConvertError("%s: it takes (height, width, channels), the layer before gives %s"
                             % (where, shape))
    return shape


def _options(cfg, where, padding):
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        raise K.ConvertError("%s: data_format=%r; anne takes channels_last (height, width, channels) "
                             "inputs, Keras's default" % (where, cfg.get("data_format")))
    if int(cfg.get("groups", 1)) != 1:
        raise K.ConvertError("%s: groups=%s is not supported (groups=1 only)" % (where, cfg.get("groups")))
    if cfg.get("keepdims"):
        raise K.ConvertError("%s: keepdims=True is not supported; use keepdims=False" % where)
    if padding not in ("valid", "same"):
        raise K.ConvertError("%s: padding=%r (valid or same)" % (where, padding))
    return anne_format.PADDINGS.index(padding)


def _check_sizes(where, *sizes):
    if max(sizes) > anne_format.MAX_UNITS:
        raise K.ConvertError("%s: sizes over %d are not supported" % (where, anne_format.MAX_UNITS))


def conv2d(st, layer):
    cfg, name, where, shape = layer.cfg, layer.name, layer.where, st.shape
    K._quantized(cfg, where)
    padding = _options(cfg, where, cfg.get("padding", "valid"))
    filters = int(cfg["filters"])
    act = K._activation(cfg.get("activation"), where, st.keras2)
    if act.name == "glu":
        raise K.ConvertError("%s: glu halves the filters; anne's Conv2D cannot take it (put a Dense "
                             "after the Conv2D)" % where)
    kernel, bias = K._weights(st, layer, 4, filters)
    h, w, channels = _image(shape, where)
    kh, kw = _pair(cfg, "kernel_size", 1, where)
    if kernel.shape != (kh, kw, channels, filters):
        raise K.ConvertError("%s: kernel shape %s, expected (%d, %d, %d, %d) for its input %s"
                             % (where, kernel.shape, kh, kw, channels, filters, shape))
    kparams = (kh, kw) + _pair(cfg, "strides", 1, where) + (padding,) + _pair(cfg, "dilation_rate", 1, where)
    _check_sizes(where, filters, *kparams)
    K._weighted(st, layer, {"kind": "conv2d", "name": name, "kernel": kernel, "bias": bias, "act": act,
                            "sources": [name], "in_shape": shape, "kparams": kparams})


def _depthwise_arrays(st, layer, names):
    """A depthwise (or separable) layer's weight arrays, float32, as many
    as names (use_bias adds the bias)."""
    where = layer.where
    names = list(names) + (["bias"] if bool(layer.cfg.get("use_bias", True)) else [])
    arrays = st.kf.weights(layer.name, layer.class_path)
    if len(arrays) != len(names):
        raise K.ConvertError("%s: expected %d weight arrays (%s), found %d"
                             % (where, len(names), ", ".join(names), len(arrays)))
    return [K._float32(a, where, n) for a, n in zip(arrays, names)] + [None] * (3 - len(names))


def _depthwise(st, layer, kernel, bias, act, source):
    """Puts a DepthwiseConv2D (kernel Keras's kh x kw x in_channels x
    multiplier) on the board; returns it."""
    cfg, where, shape = layer.cfg, layer.where, st.shape
    padding = _options(cfg, where, cfg.get("padding", "valid"))
    h, w, channels = _image(shape, where)
    kh, kw = _pair(cfg, "kernel_size", 1, where)
    dm = int(cfg.get("depth_multiplier", 1))
    if kernel.shape != (kh, kw, channels, dm):
        raise K.ConvertError("%s: depthwise kernel shape %s, expected (%d, %d, %d, %d) for its input %s"
                             % (where, kernel.shape, kh, kw, channels, dm, shape))
    if bias is not None and bias.shape != (channels * dm,):
        raise K.ConvertError("%s: bias shape %s, expected (%d,)" % (where, bias.shape, channels * dm))
    kparams = (kh, kw) + _pair(cfg, "strides", 1, where) + (padding, dm) + _pair(cfg, "dilation_rate", 1, where)
    _check_sizes(where, channels * dm, *kparams)
    d = {"kind": "depthwise_conv2d", "name": layer.name, "kernel": kernel.reshape(kh, kw, channels * dm),
         "bias": bias, "act": act, "sources": [source], "in_shape": shape, "kparams": kparams}
    K._weighted(st, layer, d)
    return d


def _conv_activation(cfg, where, st, what):
    act = K._activation(cfg.get("activation"), where, st.keras2)
    if act.name == "glu":
        raise K.ConvertError("%s: glu halves the %s; anne's %s cannot take it (put a Dense after it)"
                             % (where, "channels" if what == "DepthwiseConv2D" else "filters", what))
    return act


def depthwise_conv2d(st, layer):
    cfg, where = layer.cfg, layer.where
    K._quantized(cfg, where)
    act = _conv_activation(cfg, where, st, "DepthwiseConv2D")
    kernel, bias, _ = _depthwise_arrays(st, layer, ["depthwise_kernel"])
    _depthwise(st, layer, kernel, bias, act, layer.name)


def separable_conv2d(st, layer):
    """SeparableConv2D as two board layers, the same computation: its
    depthwise part (a DepthwiseConv2D, no bias, linear) and its pointwise
    part (a 1x1 Conv2D with the layer's bias and activation)."""
    cfg, where, name = layer.cfg, layer.where, layer.name
    K._quantized(cfg, where)
    act = _conv_activation(cfg, where, st, "SeparableConv2D")
    dk, pk, bias = _depthwise_arrays(st, layer, ["depthwise_kernel", "pointwise_kernel"])
    d = _depthwise(st, layer, dk, None, K._activation(None, where, st.keras2),
                   "%s (SeparableConv2D's depthwise part)" % name)
    filters, cin = int(cfg["filters"]), d["kernel"].shape[-1]
    if pk.shape != (1, 1, cin, filters):
        raise K.ConvertError("%s: pointwise kernel shape %s, expected (1, 1, %d, %d)" % (where, pk.shape, cin, filters))
    if bias is not None and bias.shape != (filters,):
        raise K.ConvertError("%s: bias shape %s does not match %d" % (where, bias.shape, filters))
    _check_sizes(where, filters)
    K._weighted(st, layer, {"kind": "conv2d", "name": name, "kernel": pk, "bias": bias, "act": act,
                            "sources": ["%s (SeparableConv2D's pointwise part)" % name], "in_shape": d["out_shape"],
                            "kparams": (1, 1, 1, 1, 0, 1, 1)})


def zero_padding2d(st, layer):
    """ZeroPadding2D (padding int, (rows, columns) or ((top, bottom),
    (left, right))) as a layer of its own."""
    cfg, where, shape = layer.cfg, layer.where, st.shape
    _options(dict(cfg, padding="valid"), where, "valid")
    h, w, channels = _image(shape, where)
    p = cfg.get("padding", 1)
    if isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (list, tuple)) for v in p):
        sides = tuple(int(v) for v in p[0]) + tuple(int(v) for v in p[1])
    elif isinstance(p, (list, tuple)) and len(p) == 2:
        sides = (int(p[0]),) * 2 + (int(p[1]),) * 2
    elif isinstance(p, int):
        sides = (p,) * 4
    else:
        raise K.ConvertError("%s: padding=%r; an int, (rows, columns) or ((top, bottom), (left, right))"
                             % (where, p))
    if len(sides) != 4 or min(sides) < 0:
        raise K.ConvertError("%s: padding=%r; sizes >= 0" % (where, p))
    _check_sizes(where, *sides)
    d = {"kind": "zero_padding2d", "name": layer.name, "sources": [layer.name], "kparams": sides,
         "out_shape": (h + sides[0] + sides[1], w + sides[2] + sides[3], channels)}
    _check_sizes(where, *d["out_shape"])
    if st.pending is not None:  # (padded zeros would not be normalised)
        st.board.append(K._affine_layer(st.pending, shape, where, st.classes))
        st.pending = None
    st.board.append(d)
    st.shape = d["out_shape"]
    st.last_open = None


def _pooling2d(st, layer, kind, affine_passes):
    """As anne_keras_layers._pooling, on (height, width, channels)."""
    cfg, where, shape = layer.cfg, layer.where, st.shape
    padding = _options(cfg, where, cfg.get("padding", "valid"))
    h, w, channels = _image(shape, where)
    d = {"kind": kind, "name": layer.name, "sources": [layer.name]}
    if kind.startswith("global"):
        d["out_shape"] = (channels,)
    else:
        size = _pair(cfg, "pool_size", 2, where)
        strides = _pair(cfg, "strides", None, where) or size
        d["kparams"] = size + strides + (padding,)
        _check_sizes(where, *d["kparams"])
        try:
            d["out_shape"] = anne_format.anne_file.out_shape_of(anne_format.KIND_IDS[kind], shape, 0, 0,
                                                                d["kparams"] + (0,) * 3)
        except ValueError as e:
            raise K.ConvertError("%s: %s" % (where, e))
    if st.pending is not None and not affine_passes:
        st.board.append(K._affine_layer(st.pending, shape, where, st.classes))
        st.pending = None
    st.board.append(d)
    st.shape = d["out_shape"]
    st.last_open = None


def max_pooling2d(st, layer):
    _pooling2d(st, layer, "max_pooling2d", affine_passes=False)


def average_pooling2d(st, layer):
    _pooling2d(st, layer, "average_pooling2d", affine_passes=True)


def global_average_pooling2d(st, layer):
    _pooling2d(st, layer, "global_average_pooling2d", affine_passes=True)


def global_max_pooling2d(st, layer):
    _pooling2d(st, layer, "global_max_pooling2d", affine_passes=False)


class _As2d:
    """A 1-D layer's config as its 2-D twin's: kernel_size, strides and
    dilation_rate (k,) -> (k, 1); the rest as it is."""

    def __init__(self, layer):
        cfg, where = layer.cfg, layer.where
        if cfg.get("padding", "valid") == "causal":
            raise K.ConvertError("%s: padding='causal' is not supported here (valid or same)" % where)
        self.cfg = dict(cfg)
        for key, default in (("kernel_size", 1), ("strides", 1), ("dilation_rate", 1)):
            if key in cfg or key == "kernel_size":
                self.cfg[key] = (K._ints(cfg, key, default, where), 1)
        self.name, self.where, self.class_path = layer.name, layer.where, layer.class_path


def _to_image(st, layer):
    """(steps, channels) -> (steps, 1, channels) by a Reshape (a pending
    affine kept as a layer first, as before a Conv2D)."""
    steps, channels = K._steps_channels(st.shape, layer.where)
    back = getattr(st, "steps_reshape", None)
    if back is not None and back[0] == len(st.board) - 1 and st.pending is None:
        # (right after another one's Reshape back to steps: both dropped)
        st.board.pop()
        st.shape = back[1]
        return
    if st.pending is not None:
        st.board.append(K._affine_layer(st.pending, st.shape, layer.where, st.classes))
        st.pending = None
    if st.input_shape is None and not st.board:
        st.input_shape = st.shape
    st.board.append({"kind": "reshape", "name": layer.name, "out_shape": (steps, 1, channels),
                     "sources": ["%s (%s: the steps as an image of width 1)" % (layer.name, layer.cls)]})
    st.shape = (steps, 1, channels)


def _to_steps(st, layer, d):
    """Back to (steps, channels); an activation or a normalization after
    the layer still folds into d (the Reshape moves nothing)."""
    h, _, channels = st.shape
    st.board.append({"kind": "reshape", "name": layer.name, "out_shape": (h, channels),
                     "sources": ["%s (%s: back to steps)" % (layer.name, layer.cls)]})
    st.shape = (h, channels)
    st.last_open = d
    st.steps_reshape = (len(st.board) - 1, (h, 1, channels))


def depthwise_conv1d(st, layer):
    cfg, where = layer.cfg, layer.where
    K._quantized(cfg, where)
    act = _conv_activation(cfg, where, st, "DepthwiseConv1D")
    twin = _As2d(layer)
    kernel, bias, _ = _depthwise_arrays(st, layer, ["depthwise_kernel"])
    _to_image(st, layer)
    d = _depthwise(st, twin, kernel.reshape(kernel.shape[0], 1, *kernel.shape[1:]), bias, act, layer.name)
    _to_steps(st, layer, d)


def separable_conv1d(st, layer):
    """SeparableConv1D: its depthwise part on the 2-D kernel (no bias,
    linear), its pointwise part a Conv1D of kernel_size 1 with the layer's
    bias and activation."""
    cfg, where, name = layer.cfg, layer.where, layer.name
    K._quantized(cfg, where)
    act = _conv_activation(cfg, where, st, "SeparableConv1D")
    twin = _As2d(layer)
    dk, pk, bias = _depthwise_arrays(st, layer, ["depthwise_kernel", "pointwise_kernel"])
    _to_image(st, layer)
    d = _depthwise(st, twin, dk.reshape(dk.shape[0], 1, *dk.shape[1:]), None, K._activation(None, where, st.keras2),
                   "%s (SeparableConv1D's depthwise part)" % name)
    _to_steps(st, layer, d)
    filters, cin = int(cfg["filters"]), d["kernel"].shape[-1]
    if pk.shape != (1, cin, filters):
        raise K.ConvertError("%s: pointwise kernel shape %s, expected (1, %d, %d)" % (where, pk.shape, cin, filters))
    if bias is not None and bias.shape != (filters,):
        raise K.ConvertError("%s: bias shape %s does not match %d" % (where, bias.shape, filters))
    _check_sizes(where, filters)
    K._weighted(st, layer, {"kind": "conv1d", "name": name, "kernel": pk, "bias": bias, "act": act,
                            "sources": ["%s (SeparableConv1D's pointwise part)" % name], "in_shape": st.shape,
                            "kparams": (1, 1, 0, 1)})


def zero_padding1d(st, layer):
    """ZeroPadding1D (padding int or (left, right), in steps) as a
    ZeroPadding2D of the steps."""
    p = layer.cfg.get("padding", 1)
    if isinstance(p, int):
        p = (p, p)
    if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p)):
        raise K.ConvertError("%s: padding=%r; an int or (left, right), sizes >= 0" % (layer.where, p))
    _to_image(st, layer)
    zero_padding2d(st, _Padding2d(layer, ((p[0], p[1]), (0, 0))))
    _to_steps(st, layer, None)


def up_sampling1d(st, layer):
    """UpSampling1D (size: an int >= 1): each step repeated size times. A
    pending per-channel affine passes through it (a repeat of x * s + o is
    the repeat of x, times s, plus o); an activation after it stays a layer
    of its own's."""
    cfg, where = layer.cfg, layer.where
    other = sorted(k for k in cfg if k not in ("name", "trainable", "dtype", "size"))
    if other:
        raise K.ConvertError("%s: option %s is not supported (UpSampling1D takes size)" % (where, ", ".join(other)))
    size = K._ints(cfg, "size", 2, where)
    if size < 1:
        raise K.ConvertError("%s: size=%d; a size >= 1" % (where, size))
    steps, channels = K._steps_channels(st.shape, where)
    if size == 1:
        st.dropped.append(layer.name)
        return
    d = {"kind": "up_sampling1d", "name": layer.name, "sources": [layer.name], "kparams": (size,),
         "out_shape": (steps * size, channels)}
    st.board.append(d)
    st.shape = d["out_shape"]
    st.last_open = None


class _Padding2d:
    def __init__(self, layer, padding):
        self.cfg = dict(layer.cfg, padding=padding)
        self.name, self.where = layer.name, layer.where


LAYER_KINDS = {
    "DepthwiseConv1D": depthwise_conv1d, "SeparableConv1D": separable_conv1d, "ZeroPadding1D": zero_padding1d,
    "UpSampling1D": up_sampling1d,
    "Conv2D": conv2d, "MaxPooling2D": max_pooling2d, "AveragePooling2D": average_pooling2d,
    "GlobalAveragePooling2D": global_average_pooling2d, "GlobalMaxPooling2D": global_max_pooling2d,
    "DepthwiseConv2D": depthwise_conv2d, "SeparableConv2D": separable_conv2d, "ZeroPadding2D": zero_padding2d,
}
