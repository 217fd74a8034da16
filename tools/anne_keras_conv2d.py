"""The Keras layers for (height, width, channels) images that
tools/anne_convert.py converts: Conv2D and the 2-D poolings, one function
per Keras class as in anne_keras_layers (whose helpers they use), found
there through LAYER_KINDS.

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


LAYER_KINDS = {
    "Conv2D": conv2d, "MaxPooling2D": max_pooling2d, "AveragePooling2D": average_pooling2d,
    "GlobalAveragePooling2D": global_average_pooling2d, "GlobalMaxPooling2D": global_max_pooling2d,
}
