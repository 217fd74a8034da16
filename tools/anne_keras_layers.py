"""The Keras layers tools/anne_convert.py converts: one function per Keras
layer class, found in LAYER_KINDS by the class name. A new kind of layer is
one function here and one entry in LAYER_KINDS (and a line in
anne_convert.py's docstring, which is its --help).

walk() takes the model's layers in order, with a Chain that holds what the
functions share: the board layers so far, the current shape, the last
Dense/Conv1D (which an activation or an affine layer after it folds into)
and an affine waiting for the next Dense/Conv1D. A function that refuses
its layer raises ConvertError: walk() lists it with the other problems and
goes on, so one run reports every layer that stops a model.

Normalization, Rescaling and BatchNormalization are x * scale + offset per
feature at inference, folded exactly (in float64, stored as float32) into
the Dense/Conv1D before them (if its activation is linear) or after them,
or else kept as a per-channel layer of their own.
"""

import collections
import json
import re

import numpy as np

import anne_format


class ConvertError(ValueError):
    """A model anne cannot convert; the message is meant for the user. A
    ValueError, so that `except ValueError` catches bad input from the PC
    tools as it does on the board."""


class _Stop(Exception):
    """A ConvertError (its only argument) that stops the conversion at once
    rather than being listed with the other problems."""


# What to do instead, for layers users often have.
HINTS = {
    "LSTM": "recurrent layers are not supported", "GRU": "recurrent layers are not supported",
    "SimpleRNN": "recurrent layers are not supported",
    "LayerNormalization": "it normalises each sample at run time; use BatchNormalization or "
                          "Normalization, which anne folds into a Dense layer",
    "Embedding": "embeddings are not supported; feed the vectors as inputs",
}

# The activations a merge cannot take (vector ones, and glu, which halves).
_VECTOR_ACTS = tuple(anne_format.ACTIVATIONS[i] for i in tuple(anne_format.anne_ops.VECTOR)
                     + tuple(anne_format.anne_ops.HALVES))

# A layer as walk() gives it to its function: Keras class, config, name,
# "layer 'name' (Class)" for messages, and the path of its weights in a
# .keras file.
Layer = collections.namedtuple("Layer", "cls cfg name where class_path")


def _supported_layers():
    return "anne supports: %s." % ", ".join(SUPPORTED_LAYERS)


def _supported_activations():
    return ("Activations: %s (aliases %s)."
            % (", ".join(a for a in anne_format.ACTIVATIONS if a != "threshold"),
               ", ".join(sorted(anne_format.ALIASES))))


# ---------------------------------------------------------------------------
# Activations, shapes and weights

class Activation:
    def __init__(self, name, params=None, has_max_value=False, approximate=False):
        self.name = name
        self.params = params or {}
        self.has_max_value = has_max_value
        self.approximate = approximate

    def is_linear(self):
        return self.name == "linear"


def _activation(value, where, keras2):
    """A Keras activation as serialized in a config: None, a name, or a dict
    like {"module": "keras.activations", "class_name": "function",
    "config": "relu", ...}."""
    if value is None:
        return Activation("linear")
    name = value
    if isinstance(value, dict):
        cfg = value.get("config")
        if isinstance(cfg, str):
            name = cfg
        elif isinstance(cfg, dict) and isinstance(cfg.get("name"), str) and \
                value.get("class_name") in ("function", "builtins.function"):
            name = cfg["name"]
        else:
            raise ConvertError("%s: activation %s is not a built-in Keras activation. %s"
                               % (where, json.dumps(value)[:200], _supported_activations()))
    if not isinstance(name, str):
        raise ConvertError("%s: cannot read activation %r" % (where, value))
    if name.startswith("keras.activations."):
        name = name.rsplit(".", 1)[1]
    name = anne_format.ALIASES.get(name, name)
    if keras2 and name == "hard_sigmoid":
        raise ConvertError("%s: tf.keras 2's hard_sigmoid is clip(0.2 * x + 0.5, 0, 1), which "
                           "differs from Keras 3's relu6(x + 3) / 6 that anne implements; "
                           "retrain with Keras 3 or another activation" % where)
    if name == "threshold":
        raise ConvertError("%s: the 'threshold' activation needs threshold and default_value, "
                           "which a Keras config does not store" % where)
    if name not in anne_format.ACTIVATION_IDS:
        raise ConvertError("%s: unsupported activation %r. %s" % (where, name, _supported_activations()))
    return Activation(name)


def _number(cfg, key, default, where):
    v = cfg.get(key, default)
    if isinstance(v, dict):  # serialized tensor/float
        v = v.get("config", {}).get("value", v)
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ConvertError("%s: cannot read %s=%r" % (where, key, v))
    if not np.isfinite(v):
        raise ConvertError("%s: %s=%r is not finite" % (where, key, v))
    return v

def _input_shape(cfg, where):
    """The input shape from a batch shape in cfg ((n,), (steps,
    channels) or (height, width, channels)), None if absent."""
    shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
    if shape is None:
        return None
    dims = list(shape)[1:]
    if len(dims) not in (1, 2, 3) or any(d is None for d in dims):
        raise ConvertError("%s: input shape %s; anne takes (features,), (steps, channels) or (height, "
                           "width, channels) with fixed sizes" % (where, tuple(shape)))
    return tuple(int(d) for d in dims)


def _size(shape):
    return int(np.prod(shape))


def _ints(cfg, key, default, where):
    """Keras's int-or-list 1-D arguments (kernel_size=[3])."""
    v = cfg.get(key, default)
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ConvertError("%s: %s=%r; a 1-D layer takes one value" % (where, key, v))
        v = v[0]
    return int(v)


def _check_1d_options(cls, cfg, where):
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        raise ConvertError("%s: data_format=%r; anne takes channels_last (steps, channels) "
                           "inputs, Keras's default" % (where, cfg.get("data_format")))
    if cls == "Conv1D" and int(cfg.get("groups", 1)) != 1:
        raise ConvertError("%s: groups=%s is not supported (groups=1 only)" % (where, cfg.get("groups")))
    if cfg.get("keepdims"):
        raise ConvertError("%s: keepdims=True is not supported; use keepdims=False" % where)


class UnknownShape(ConvertError):
    """A layer's input shape is not known (no keras.Input, or a problem
    before it)."""


def _steps_channels(shape, where, what="it"):
    if shape is None:
        raise UnknownShape("%s: the input's (steps, channels) are not known; start the model "
                           "with keras.Input((steps, channels))" % where)
    if len(shape) != 2:
        raise ConvertError("%s: %s takes (steps, channels), the layer before gives %s"
                           % (where, what, shape))
    return shape

def _reshaped(shape, target, where):
    if not isinstance(target, (list, tuple)) or len(target) not in (1, 2, 3):
        raise ConvertError("%s: target_shape %r; anne's shapes are (n,), (steps, channels) or (height, "
                           "width, channels)" % (where, target))
    target = [int(t) if t is not None else -1 for t in target]
    n = _size(shape)
    known = -_size(target) if -1 in target else _size(target)
    if known <= 0 or n % known or (-1 not in target and known != n):
        raise ConvertError("%s: cannot reshape %s to %s" % (where, shape, tuple(target)))
    return tuple(n // known if t == -1 else t for t in target)


def _weights(st, layer, ndim, units):
    """(kernel, bias or None) of a Dense/Conv1D, float32."""
    where = layer.where
    use_bias = bool(layer.cfg.get("use_bias", True))
    arrays = st.kf.weights(layer.name, layer.class_path)
    if len(arrays) != (2 if use_bias else 1):
        raise ConvertError("%s: expected %d weight arrays, found %d"
                           % (where, 2 if use_bias else 1, len(arrays)))
    kernel = _float32(arrays[0], where, "kernel")
    bias = _float32(arrays[1], where, "bias") if use_bias else None
    if kernel.ndim != ndim or kernel.shape[-1] != units:
        raise ConvertError("%s: kernel shape %s does not match %d %s"
                           % (where, kernel.shape, units, "units" if ndim == 2 else "filters"))
    if bias is not None and bias.shape != (units,):
        raise ConvertError("%s: bias shape %s does not match %d" % (where, bias.shape, units))
    return kernel, bias


def _quantized(cfg, where):
    if cfg.get("quantization_config") or "int8" in json.dumps(cfg.get("dtype", "")) \
            or "float8" in json.dumps(cfg.get("dtype", "")):
        raise ConvertError("%s: quantized layers are not supported" % where)


# ---------------------------------------------------------------------------
# Folding the per-feature affine layers

AFFINE_CODE = {"Normalization": 1, "Rescaling": 2, "BatchNormalization": 3}


def _affine_layer(pending, shape, where, classes):
    """The board's per-channel layer for an affine that cannot be folded
    (over the last axis of shape); it shows as its Keras class (several
    composed: as a Rescaling, x * scale + offset)."""
    s, o, names = pending
    c = shape[-1]
    code = AFFINE_CODE[classes[names[0]]] if len(names) == 1 else AFFINE_CODE["Rescaling"]
    return {"kind": "affine", "name": names[0], "sources": list(names), "out_shape": tuple(shape),
            "kernel": _float32(_broadcast(s, c, where, "the scale"), where, "scale"),
            "bias": _float32(_broadcast(o, c, where, "the offset"), where, "offset"), "kparams": (code,)}


def _compose(pending, scale, offset, name):
    """pending (x -> x * s + o, names) followed by x -> x * scale + offset."""
    if pending is None:
        return scale, offset, [name]
    s, o, names = pending
    return s * scale, o * scale + offset, names + [name]


def _broadcast(a, n, where, what):
    a = np.asarray(a, np.float64).reshape(-1)
    if a.size not in (1, n) and (a.size == 0 or n % a.size):
        raise ConvertError("%s: %s has %d values for %d features" % (where, what, a.size, n))
    # per channel of a (steps, channels) input that a Flatten made n values
    a = np.tile(a, n // a.size) if a.size not in (1, n) else np.broadcast_to(a, (n,)).copy()
    _float32(a, where, what)  # refuses NaN/inf (e.g. a zero variance with epsilon 0)
    return a


def _fold_before(d, pending, where):
    """Dense or Conv1D d after the affine x * s + o (per feature, or per
    channel): Dense: kernel s[:, None] * K, bias b + o @ K; Conv1D (valid
    padding only: padded zeros would not be transformed): kernel
    s[None, :, None] * K, bias b + sum over taps and channels of o * K.
    Returns (s, o), per input of the dense, per channel of the conv1d."""
    s, o, names = pending
    k = d["kernel"].astype(np.float64)
    bias = d["bias"].astype(np.float64) if d["bias"] is not None else 0.0
    if d["kind"] == "conv1d":
        if d["kparams"][2] != 0:
            raise ConvertError("%s: %s before a Conv1D with padding=%r folds exactly only with "
                               "padding='valid' (the padded zeros are not normalised)"
                               % (where, " + ".join(names), anne_format.PADDINGS[d["kparams"][2]]))
        c = k.shape[1]
        s, o = _broadcast(s, c, where, "the scale before it"), _broadcast(o, c, where, "the offset before it")
        bias = bias + np.einsum("c,kcf->f", o, k)
        d["kernel"] = _float32(s[None, :, None] * k, where, "kernel")
    else:
        n = k.shape[0]
        s, o = _broadcast(s, n, where, "the scale before it"), _broadcast(o, n, where, "the offset before it")
        bias = bias + o @ k
        d["kernel"] = _float32(s[:, None] * k, where, "kernel")
    d["bias"] = _float32(bias, where, "bias")
    d["sources"] = names + d["sources"]
    return s, o


def _fold_after(d, scale, offset, name, where):
    """The affine x * scale + offset after Dense/Conv1D d (linear), per
    unit/filter: kernel K * scale, bias b * scale + offset."""
    units = d["kernel"].shape[-1]
    scale, offset = _broadcast(scale, units, where, "scale"), _broadcast(offset, units, where, "offset")
    bias = d["bias"].astype(np.float64) if d["bias"] is not None else np.zeros(units)
    d["kernel"] = _float32(d["kernel"].astype(np.float64) * scale, where, "kernel")
    d["bias"] = _float32(bias * scale + offset, where, "bias")
    d["sources"].append(name)


def _set_out(d, where):
    units = d["kernel"].shape[-1]
    if d["kind"] in ("conv1d", "conv2d", "depthwise_conv2d"):
        try:
            kp = tuple(d["kparams"])
            d["out_shape"] = anne_format.anne_file.out_shape_of(
                anne_format.KIND_IDS[d["kind"]], d["in_shape"], units, 0, kp + (0,) * (8 - len(kp)))
        except ValueError as e:
            raise ConvertError("%s: %s" % (where, e))
        return
    if d["act"].name == "glu":
        if units % 2:
            raise ConvertError("%s: glu needs an even number of units, got %d" % (where, units))
        d["out_shape"] = (units // 2,)
    else:
        d["out_shape"] = (units,)


def _float32(a, where, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise ConvertError("%s: %s has dtype %s; expected float" % (where, what, a.dtype))
    f = a.astype(np.float32)
    bad = int(np.size(f) - np.count_nonzero(np.isfinite(f)))
    if bad:
        raise ConvertError("%s: %s has %d non-finite value(s) (NaN or inf); refusing to "
                           "convert a broken model" % (where, what, bad))
    return f

# ---------------------------------------------------------------------------
# The state and the walk

class Chain:
    """What the layer functions share while walk() goes down the model."""

    def __init__(self, kf):
        self.kf = kf
        self.keras2 = kf.keras2
        self.board = []         # dicts: kind, name, sources; Dense/Conv1D: kernel, bias, act
        self.dropped = []
        self.shape = None       # the current shape, None until known
        self.input_shape = None
        self.last_open = None   # the previous Dense/Conv1D if only dropped layers came since
        self.pending = None     # an affine (scale, offset, names) waiting for the next Dense/Conv1D
        self.classes = {}       # Keras class of each affine layer, by name
        self.problems = []      # every layer that cannot be converted, reported together


# Layers whose config is not read for an input shape.
NO_INPUT_SHAPE = ("Flatten", "Reshape")


def walk(kf, chain):
    """The model's layers [(class, config)] in order -> the Chain with its
    board layers (raises ConvertError with every problem found)."""
    st = Chain(kf)
    counters = {}
    for cls, cfg in chain:
        name = cfg.get("name", "?")
        where = "layer %r (%s)" % (name, cls)
        class_path = class_path_of(counters, cls)
        try:
            given = _input_shape(cfg, where) if cls not in NO_INPUT_SHAPE else None
        except ConvertError as e:
            st.problems.append(str(e))
            given = st.shape = st.last_open = None
        if given is not None:
            if st.shape is not None and given != st.shape:
                raise ConvertError("%s: input shape %s, but the layer before gives %s"
                                   % (where, given, st.shape))
            st.shape = given
            if st.input_shape is None and not st.board:
                st.input_shape = given
        run_layer(st, Layer(cls, cfg, name, where, class_path))
    return finish(st)


def class_path_of(counters, cls):
    """The path of a layer's weights in a .keras file: its class in snake
    case, then _1, _2, ... for the next layers of that class."""
    snake = _snake(cls)
    n = counters.get(snake, 0)
    counters[snake] = n + 1
    return snake if n == 0 else "%s_%d" % (snake, n)


def run_layer(st, layer):
    """One layer's function on the Chain: a problem is listed with the others."""
    try:
        LAYER_KINDS.get(layer.cls, unsupported)(st, layer)
    except _Stop as stop:
        # folding into a Dense/Conv1D went wrong (_weighted): that
        # problem alone is the message
        raise stop.args[0] from None
    except ConvertError as e:
        # Reported with the others; a shape left unknown by an earlier
        # problem is not a problem of its own.
        if not (isinstance(e, UnknownShape) and st.problems):
            st.problems.append(str(e))
        st.shape = st.last_open = None


def finish(st):
    """After the last layer: a pending affine kept as a layer; every problem
    raised together; the board's limits."""
    if st.pending is not None:
        # nothing after it to fold into: kept as a per-channel layer
        if st.shape is None:
            st.problems.append("%s: its input shape is not known" % " + ".join(st.pending[2]))
        else:
            st.board.append(_affine_layer(st.pending, st.shape, "the last layers", st.classes))
    if st.problems:
        raise ConvertError("the model cannot be converted (%d problem%s):\n  %s\n%s" % (
            len(st.problems), "" if len(st.problems) == 1 else "s", "\n  ".join(st.problems),
            _supported_layers()))
    if not any(d["kind"] in ("dense", "conv1d", "conv2d", "depthwise_conv2d") for d in st.board):
        raise ConvertError("the model has no Dense, Conv1D, Conv2D or DepthwiseConv2D layer")
    if len(st.board) > anne_format.MAX_LAYERS:
        raise ConvertError("the model has %d layers; a .anne file holds at most %d"
                           % (len(st.board), anne_format.MAX_LAYERS))
    return st


def _snake(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


# ---------------------------------------------------------------------------
# One function per Keras layer class: (Chain, Layer) -> None. It updates the
# Chain (board, shape, dropped, ...) or raises ConvertError to refuse the
# layer (walk() then forgets the shape and goes on).

def dense(st, layer):
    cfg, name, where, shape = layer.cfg, layer.name, layer.where, st.shape
    _quantized(cfg, where)
    units = int(cfg["units"])
    act = _activation(cfg.get("activation"), where, st.keras2)
    kernel, bias = _weights(st, layer, 2, units)
    if shape is not None and len(shape) == 2:
        # Keras's Dense on (steps, channels) acts on each step: exactly a
        # Conv1D with kernel_size 1 (glu, which halves the units, excepted)
        if act.name == "glu":
            raise ConvertError("%s: glu on a (steps, channels) input is not supported; add Flatten() "
                               "before the Dense" % where)
        if kernel.shape[0] != shape[1]:
            raise ConvertError("%s: kernel has %d inputs but the layer before gives %d channels"
                               % (where, kernel.shape[0], shape[1]))
        _weighted(st, layer, {"kind": "conv1d", "name": name, "kernel": kernel.reshape(1, shape[1], units),
                              "bias": bias, "act": act, "sources": [name], "in_shape": shape,
                              "kparams": (1, 1, 0, 1)})
        return
    if shape is not None and kernel.shape[0] != shape[0]:
        raise ConvertError("%s: kernel has %d inputs but the layer before gives %d"
                           % (where, kernel.shape[0], shape[0]))
    if not 1 <= units <= anne_format.MAX_UNITS or kernel.shape[0] > anne_format.MAX_UNITS:
        raise ConvertError("%s: sizes over %d are not supported" % (where, anne_format.MAX_UNITS))
    _weighted(st, layer, {"kind": "dense", "name": name, "kernel": kernel, "bias": bias, "act": act,
                          "sources": [name], "in_shape": (kernel.shape[0],)})


def conv1d(st, layer):
    cfg, name, where, shape = layer.cfg, layer.name, layer.where, st.shape
    _quantized(cfg, where)
    _check_1d_options("Conv1D", cfg, where)
    filters = int(cfg["filters"])
    act = _activation(cfg.get("activation"), where, st.keras2)
    if act.name == "glu":
        raise ConvertError("%s: glu halves the filters; anne's Conv1D cannot take it (put a Dense "
                           "after the Conv1D)" % where)
    kernel, bias = _weights(st, layer, 3, filters)
    steps, channels = _steps_channels(shape, where)
    k = _ints(cfg, "kernel_size", 1, where)
    if kernel.shape != (k, channels, filters):
        raise ConvertError("%s: kernel shape %s, expected (%d, %d, %d) for its input %s"
                           % (where, kernel.shape, k, channels, filters, shape))
    padding = cfg.get("padding", "valid")
    if padding not in anne_format.PADDINGS:
        raise ConvertError("%s: padding=%r (valid, same or causal)" % (where, padding))
    kparams = (k, _ints(cfg, "strides", 1, where), anne_format.PADDINGS.index(padding),
               _ints(cfg, "dilation_rate", 1, where))
    if filters > anne_format.MAX_UNITS or max(kparams) > anne_format.MAX_UNITS:
        raise ConvertError("%s: sizes over %d are not supported" % (where, anne_format.MAX_UNITS))
    _weighted(st, layer, {"kind": "conv1d", "name": name, "kernel": kernel, "bias": bias, "act": act,
                          "sources": [name], "in_shape": shape, "kparams": kparams})


def _weighted(st, layer, d):
    """Puts Dense/Conv1D d on the board, the pending affine folded into its
    inputs. A problem here stops the conversion at once."""
    try:
        where = layer.where
        if st.input_shape is None and not st.board:
            st.input_shape = d["in_shape"]
        pending = st.pending
        if pending is not None:
            if d["kind"] == "conv1d" and d["kparams"][2] != 0 or d["kind"] in ("conv2d", "depthwise_conv2d"):
                # padded zeros would not be normalised (Conv2D: not folded
                # yet): kept as a layer
                st.board.append(_affine_layer(pending, d["in_shape"], where, st.classes))
            else:
                s, o = _fold_before(d, pending, where)
                code = (AFFINE_CODE[st.classes[pending[2][0]]] if len(pending[2]) == 1
                        else AFFINE_CODE["Rescaling"])
                d["before"] = "%d|%s|%s" % (code, " ".join("%.9g" % v for v in _float32(s, where, "scale")),
                                            " ".join("%.9g" % v for v in _float32(o, where, "offset")))
            st.pending = None
        _set_out(d, where)
    except ConvertError as e:
        raise _Stop(e)
    st.board.append(d)
    st.shape = d["out_shape"]
    st.last_open = d


def max_pooling1d(st, layer):
    _pooling(st, layer, "max_pooling1d", affine_passes=False)


def average_pooling1d(st, layer):
    _pooling(st, layer, "average_pooling1d", affine_passes=True)


def global_average_pooling1d(st, layer):
    _pooling(st, layer, "global_average_pooling1d", affine_passes=True)


def global_max_pooling1d(st, layer):
    _pooling(st, layer, "global_max_pooling1d", affine_passes=False)


def _pooling(st, layer, kind, affine_passes):
    """affine_passes: a pending per-channel affine passes through the
    pooling exactly (average of x * s + o is average(x) * s + o); through a
    max it does not, and is kept as a layer of its own before it."""
    cfg, where, shape = layer.cfg, layer.where, st.shape
    _check_1d_options(layer.cls, cfg, where)
    steps, channels = _steps_channels(shape, where)
    d = {"kind": kind, "name": layer.name, "sources": [layer.name]}
    if kind.startswith("global"):
        d["out_shape"] = (channels,)
    else:
        size = _ints(cfg, "pool_size", 2, where)
        strides = _ints(cfg, "strides", None, where) or size
        padding = cfg.get("padding", "valid")
        if padding not in ("valid", "same"):
            raise ConvertError("%s: padding=%r (valid or same)" % (where, padding))
        d["kparams"] = (size, strides, anne_format.PADDINGS.index(padding))
        try:
            d["out_shape"] = anne_format.anne_file.out_shape_of(anne_format.KIND_IDS[kind], shape, 0, 0,
                                                                d["kparams"] + (0,) * 5)
        except ValueError as e:
            raise ConvertError("%s: %s" % (where, e))
    if st.pending is not None and not affine_passes:
        st.board.append(_affine_layer(st.pending, shape, where, st.classes))
        st.pending = None
    st.board.append(d)
    st.shape = d["out_shape"]
    st.last_open = None


def flatten(st, layer):
    shape = _known_shape(st, layer)
    _shape_change(st, layer, "flatten", (_size(shape),), len(shape) == 1)


def reshape(st, layer):
    shape = _known_shape(st, layer)
    _shape_change(st, layer, "reshape", _reshaped(shape, layer.cfg.get("target_shape"), layer.where))


def _known_shape(st, layer):
    if st.shape is None:
        raise UnknownShape("%s: the shape of its input is not known; start the model "
                           "with keras.Input(...)" % layer.where)
    return st.shape


def _shape_change(st, layer, kind, new, no_op=False):
    """A Flatten/Reshape kept as a board layer (dropped when it changes
    nothing); a pending affine passes through it."""
    if new == st.shape or no_op:
        st.dropped.append(layer.name)
        return
    st.board.append({"kind": kind, "name": layer.name, "sources": [layer.name], "out_shape": new})
    st.shape = new
    st.last_open = None


def rescaling(st, layer):
    cfg = layer.cfg
    _affine(st, layer, np.asarray(cfg.get("scale", 1.0), np.float64),
            np.asarray(cfg.get("offset", 0.0), np.float64))


def normalization(st, layer):
    cfg, where = layer.cfg, layer.where
    _last_axis(layer)
    if cfg.get("invert"):
        raise ConvertError("%s: invert=True is not supported" % where)
    if cfg.get("mean") is not None and cfg.get("variance") is not None:
        mean, var = np.asarray(cfg["mean"], np.float64), np.asarray(cfg["variance"], np.float64)
    else:
        v = st.kf.variables(layer.name, layer.class_path, ("mean", "variance", "count"))
        mean, var = v["mean"].astype(np.float64), v["variance"].astype(np.float64)
    # Keras 3: (x - mean) / maximum(sqrt(variance), epsilon)
    scale = 1.0 / np.maximum(np.sqrt(var), 1e-7)
    _affine(st, layer, scale.reshape(-1), (-mean * scale).reshape(-1))


def batch_normalization(st, layer):
    cfg = layer.cfg
    _last_axis(layer)
    names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
    v = st.kf.variables(layer.name, layer.class_path, names + ["moving_mean", "moving_variance"])
    gamma = v.get("gamma", np.float64(1.0)).astype(np.float64)
    beta = v.get("beta", np.float64(0.0)).astype(np.float64)
    mean = v["moving_mean"].astype(np.float64)
    var = v["moving_variance"].astype(np.float64)
    scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
    _affine(st, layer, scale, beta - mean * scale)


def _last_axis(layer):
    axis = layer.cfg.get("axis", -1)
    if axis not in (-1, [-1], 1, [1], (-1,)):
        raise ConvertError("%s: axis %r; anne folds it only over the last axis" % (layer.where, axis))


def _affine(st, layer, scale, offset):
    """The affine x * scale + offset (float64 arrays or scalars that
    broadcast over the features): folded into the Dense/Conv1D before it if
    that is linear, else composed with any pending one to wait for the next
    Dense/Conv1D."""
    st.classes[layer.name] = layer.cls
    if st.last_open is not None and st.last_open["act"].is_linear() and st.pending is None \
            and "kernel" in st.last_open:   # (not into a merge: anne_keras_graph)
        _fold_after(st.last_open, scale, offset, layer.name, layer.where)
    else:
        st.pending = _compose(st.pending, scale, offset, layer.name)
        st.last_open = None


def activation(st, layer):
    _fold_activation(st, layer, _activation(layer.cfg.get("activation"), layer.where, st.keras2))


def relu(st, layer):
    cfg, where = layer.cfg, layer.where
    ns = _number(cfg, "negative_slope", 0.0, where)
    th = _number(cfg, "threshold", 0.0, where)
    mv = cfg.get("max_value")
    params = {"negative_slope": ns, "threshold": th}
    if mv is not None:
        params["max_value"] = _number(cfg, "max_value", None, where)
        if params["max_value"] < 0:
            raise ConvertError("%s: max_value must be >= 0" % where)
    _fold_activation(st, layer, Activation("relu", params, has_max_value=mv is not None))


def leaky_relu(st, layer):
    cfg = layer.cfg
    key = "alpha" if "alpha" in cfg and "negative_slope" not in cfg else "negative_slope"
    _fold_activation(st, layer, Activation("leaky_relu", {"negative_slope": _number(cfg, key, 0.3, layer.where)}))


def elu(st, layer):
    _fold_activation(st, layer, Activation("elu", {"alpha": _number(layer.cfg, "alpha", 1.0, layer.where)}))


def softmax(st, layer):
    axis = layer.cfg.get("axis", -1)
    if axis not in (-1, 1, [-1], [1]):
        raise ConvertError("%s: softmax over axis %r; anne's vectors have one axis" % (layer.where, axis))
    _fold_activation(st, layer, Activation("softmax"))


def _fold_activation(st, layer, act):
    """An activation layer: folded into the Dense/Conv1D before it, which
    must have a linear activation (dropped layers in between are fine)."""
    where = layer.where
    if act.is_linear():
        st.dropped.append(layer.name)
        return
    if st.pending is not None:
        st.problems.append("%s follows %s, which anne keeps as a per-channel layer (it cannot "
                           "fold it here) and cannot put an activation after; put the "
                           "normalization after the activation" % (where, " + ".join(st.pending[2])))
        st.pending = None
        return
    if st.last_open is None:
        if not st.board:
            raise ConvertError("%s comes before any Dense layer; anne folds activation "
                               "layers into the Dense or Conv1D layer before them" % where)
        raise ConvertError("%s follows a layer anne cannot fold it into" % where)
    prev = st.last_open
    if not prev["act"].is_linear():
        raise ConvertError(
            "%s follows %s layer %r, which already has activation %r; anne folds "
            "an activation layer only into a layer with a linear activation "
            "(use activation=None before it)"
            % (where, "Dense" if prev["kind"] == "dense" else "Conv1D", prev["name"],
               prev["act"].name))
    if prev["kind"] == "conv1d" and act.name == "glu":
        raise ConvertError("%s: glu after a Conv1D halves its filters; anne's Conv1D "
                           "cannot take it (put a Dense in between)" % where)
    if "kernel" not in prev:   # a merge (anne_keras_graph): an element-wise activation follows it
        if act.name in _VECTOR_ACTS:
            raise ConvertError("%s: %s after %s %r; anne's merges take element-wise activations"
                               % (where, act.name, prev["kind"], prev["name"]))
        prev["act"] = act
        prev["sources"].append(layer.name)
        return
    prev["act"] = act
    prev["sources"].append(layer.name)
    _set_out(prev, where)
    if st.board[-1] is prev:  # (else a Reshape back to steps follows it: anne_keras_conv2d)
        st.shape = prev["out_shape"]


def dropped(st, layer):
    """Layers that do nothing at inference."""
    st.dropped.append(layer.name)


def unsupported(st, layer):
    """Every other class: a problem, with what to do instead if HINTS knows."""
    st.problems.append("%s: %s" % (layer.where, HINTS.get(layer.cls, "not supported")))
    st.shape = st.last_open = None


# The Keras classes anne converts, in the order the refusal message lists them.
LAYER_KINDS = {
    "Dense": dense, "Conv1D": conv1d,
    "MaxPooling1D": max_pooling1d, "AveragePooling1D": average_pooling1d,
    "GlobalAveragePooling1D": global_average_pooling1d, "GlobalMaxPooling1D": global_max_pooling1d,
    "Flatten": flatten, "Reshape": reshape,
    "Activation": activation, "ReLU": relu, "LeakyReLU": leaky_relu, "ELU": elu, "Softmax": softmax,
    "Normalization": normalization, "Rescaling": rescaling, "BatchNormalization": batch_normalization,
    "InputLayer": dropped, "Dropout": dropped, "AlphaDropout": dropped, "GaussianDropout": dropped,
    "GaussianNoise": dropped, "SpatialDropout1D": dropped, "ActivityRegularization": dropped,
}
import anne_keras_conv2d  # noqa: E402 - its functions use this module's helpers
LAYER_KINDS.update(anne_keras_conv2d.LAYER_KINDS)
import anne_keras_graph  # noqa: E402 - the merges (Add, Concatenate, ...) of functional models
LAYER_KINDS.update(anne_keras_graph.LAYER_KINDS)
SUPPORTED_LAYERS = tuple(LAYER_KINDS)
