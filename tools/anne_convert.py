#!/usr/bin/env python3
"""Converts a trained Keras model into an `.anne` weight file for the board.

    python3 tools/anne_convert.py MODEL.keras -o MODEL.anne
    python3 tools/anne_convert.py MODEL.h5 --summary
    python3 tools/anne_convert.py MODEL.keras --check X.npy Y.npy

Reads Keras 3 `.keras` files and `.h5` files written by Keras 3
(`model.save("x.h5")`) or tf.keras 2. Needs only numpy and h5py (no
TensorFlow). The model must be a chain (Sequential, or a functional model
whose layers follow one another) on a (features,) or (steps, channels)
input, of:

  Dense          any activation anne knows (see below), with or without bias;
                 on a (steps, channels) input (where Keras applies it to each
                 step) it becomes a Conv1D with kernel_size 1
  Conv1D         filters, kernel_size, strides, padding valid/same/causal,
                 dilation_rate, use_bias, any activation but glu
  MaxPooling1D, AveragePooling1D (pool_size, strides, padding valid/same),
  GlobalAveragePooling1D, GlobalMaxPooling1D
  Flatten, Reshape
                 kept as shape changes (dropped when they change nothing)
  Normalization, Rescaling, BatchNormalization
                 folded exactly into the Dense/Conv1D layer next to them
  Activation, ReLU, LeakyReLU, ELU, Softmax
                 folded into the Dense/Conv1D layer before them, which must
                 have a linear activation (Dropout layers in between are fine)
  InputLayer, Dropout, AlphaDropout, GaussianDropout, GaussianNoise
                 dropped (they do nothing at inference)

Activations (Keras 3 names; swish = silu, hard_swish = hard_silu):
  linear relu sigmoid tanh softmax leaky_relu elu selu celu exponential
  gelu glu hard_shrink hard_sigmoid hard_silu hard_tanh log_sigmoid
  log_softmax mish relu6 silu soft_shrink softplus softsign sparse_plus
  sparse_sigmoid sparsemax squareplus tanh_shrink
Keras defaults apply: the activation "leaky_relu" has negative_slope 0.2, the
LeakyReLU layer 0.3; gelu is exact (erf). tf.keras 2's hard_sigmoid
(0.2 * x + 0.5) differs from Keras 3's and is refused. sparsemax is the
correct projection onto the simplex; Keras 3.15's own differs from it when
more than one output is non-zero (keras-team/keras#23425).

Exit status: 0 on success, 1 if the model cannot be converted or --check
finds a difference (the message says why), 2 for bad command-line usage.
"""

import argparse
import io
import json
import os
import re
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_format  # noqa: E402

SUPPORTED_LAYERS = ("Dense", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
                    "GlobalMaxPooling1D", "Flatten", "Reshape",
                    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
                    "Normalization", "Rescaling", "BatchNormalization",
                    "InputLayer", "Dropout", "AlphaDropout", "GaussianDropout",
                    "GaussianNoise", "SpatialDropout1D", "ActivityRegularization")
# Per-feature affine layers (x * scale + offset at inference): folded into
# the Dense/Conv1D layer before them (if its activation is linear) or after
# them.
AFFINE_LAYERS = ("Normalization", "Rescaling", "BatchNormalization")
# What to do instead, for layers users often have.
HINTS = {
    "Conv2D": "2-D convolutions are not supported; for sensor windows use Conv1D on (steps, channels)",
    "MaxPooling2D": "2-D pooling is not supported; use MaxPooling1D",
    "SeparableConv1D": "not supported; use Conv1D",
    "DepthwiseConv1D": "not supported; use Conv1D",
    "LSTM": "recurrent layers are not supported", "GRU": "recurrent layers are not supported",
    "SimpleRNN": "recurrent layers are not supported",
    "LayerNormalization": "it normalises each sample at run time; use BatchNormalization or "
                          "Normalization, which anne folds into a Dense layer",
    "Embedding": "embeddings are not supported; feed the vectors as inputs",
    "Concatenate": "only chains of layers are supported",
    "Add": "only chains of layers are supported",
}
DROPPED_LAYERS = ("InputLayer", "Dropout", "AlphaDropout", "GaussianDropout",
                  "GaussianNoise", "SpatialDropout1D", "ActivityRegularization")
ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax")


class ConvertError(Exception):
    """A model anne cannot convert; the message is meant for the user."""


def _supported_layers():
    return "anne supports chains of: %s." % ", ".join(SUPPORTED_LAYERS)


def _supported_activations():
    return ("Activations: %s (aliases %s)."
            % (", ".join(a for a in anne_format.ACTIVATIONS if a != "threshold"),
               ", ".join(sorted(anne_format.ALIASES))))


# ---------------------------------------------------------------------------
# Reading Keras files

def _to_str(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _snake(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


class KerasFile:
    """config (dict), keras_version (str), weights(layer) -> [arrays]."""

    def __init__(self, path):
        self.path = path
        self._keep = []
        try:
            import h5py
        except ImportError:  # pragma: no cover
            raise ConvertError("h5py is needed: python3 -m pip install h5py")
        self.h5py = h5py
        if not os.path.exists(path):
            raise ConvertError("%s: no such file" % path)
        if os.path.isdir(path):
            hint = (" (a TensorFlow SavedModel)" if os.path.exists(os.path.join(path, "saved_model.pb"))
                    else "")
            raise ConvertError("%s is a directory%s, not a Keras model file. Load it in Keras and "
                               "save it as one: model.save(\"model.keras\"), then convert "
                               "model.keras" % (path, hint))
        if zipfile.is_zipfile(path):
            self._open_keras(path)
        else:
            self._open_h5(path)

    def _open_keras(self, path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "config.json" not in names:
                raise ConvertError("%s: a zip file without config.json is not a .keras model" % path)
            self.config = json.loads(z.read("config.json"))
            meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
            self.keras_version = str(meta.get("keras_version", "3"))
            if "model.weights.h5" not in names:
                raise ConvertError("%s: no model.weights.h5 inside (sharded or npz weights "
                                   "are not supported)" % path)
            blob = z.read("model.weights.h5")
        f = self.h5py.File(io.BytesIO(blob), "r")
        self._keep.append(f)
        self.kind = "keras"
        # Keras 3 stores each layer under layers/<snake_case class>[_n]/vars/<i>
        # with the layer's name in vars.attrs["name"] (Keras >= 3.x); older
        # files have no name attribute, so we also keep the path name.
        self._by_name, self._by_path = {}, {}
        if "layers" in f:
            for key in f["layers"]:
                g = f["layers"][key]
                if not isinstance(g, self.h5py.Group) or "vars" not in g:
                    continue
                v = g["vars"]
                arrays = [v[str(i)] for i in range(len(v))]
                self._by_path[key] = arrays
                if "name" in v.attrs:
                    self._by_name[_to_str(v.attrs["name"])] = arrays

    def _open_h5(self, path):
        try:
            f = self.h5py.File(path, "r")
        except OSError as e:
            raise ConvertError("%s: not a .keras (zip) or .h5 file (%s)" % (path, e))
        self._keep.append(f)
        self.kind = "h5"
        if "model_config" not in f.attrs:
            raise ConvertError("%s: no model configuration inside; this looks like a "
                               "weights-only file (model.save_weights). Save the whole "
                               "model with model.save(\"model.keras\")." % path)
        self.config = json.loads(_to_str(f.attrs["model_config"]))
        self.keras_version = _to_str(f.attrs.get("keras_version", "2"))
        self._h5_weights = f["model_weights"] if "model_weights" in f else f

    @property
    def keras2(self):
        return self.keras_version.startswith("2.")

    def weights(self, layer_name, class_path):
        """Arrays of a layer, kernel first: Keras 3 .keras by layer name (or by
        the path name Keras derives from the class), h5 by weight_names."""
        if self.kind == "keras":
            if layer_name in self._by_name:
                return [np.asarray(a) for a in self._by_name[layer_name]]
            if not self._by_name and class_path in self._by_path:
                return [np.asarray(a) for a in self._by_path[class_path]]
            raise ConvertError("layer %r: no weights found in model.weights.h5" % layer_name)
        root = self._h5_weights
        if layer_name not in root:
            raise ConvertError("layer %r: no weights found in the h5 file" % layer_name)
        g = root[layer_name]
        names = [_to_str(n) for n in g.attrs.get("weight_names", [])]
        arrays = {}
        for n in names:
            base = n.split("/")[-1].split(":")[0]
            arrays[base] = np.asarray(g[n])
        out = []
        if "kernel" in arrays:
            out.append(arrays["kernel"])
            if "bias" in arrays:
                out.append(arrays["bias"])
        elif names:
            raise ConvertError("layer %r: weights %s are not kernel/bias" % (layer_name, names))
        return out


    def variables(self, layer_name, class_path, names):
        """A layer's variables by name (names: their order in a .keras file,
        e.g. gamma, beta, moving_mean, moving_variance) -> dict."""
        if self.kind == "keras":
            arrays = self._by_name.get(layer_name)
            if arrays is None and not self._by_name:
                arrays = self._by_path.get(class_path)
            if arrays is None or len(arrays) != len(names):
                raise ConvertError("layer %r: expected %d variables (%s), found %s"
                                   % (layer_name, len(names), ", ".join(names),
                                      "none" if arrays is None else len(arrays)))
            return {n: np.asarray(a) for n, a in zip(names, arrays)}
        root = self._h5_weights
        if layer_name not in root:
            raise ConvertError("layer %r: no weights found in the h5 file" % layer_name)
        g = root[layer_name]
        found = {}
        for n in g.attrs.get("weight_names", []):
            n = _to_str(n)
            found[n.split("/")[-1].split(":")[0]] = np.asarray(g[n])
        missing = [n for n in names if n not in found]
        if missing:
            raise ConvertError("layer %r: variables %s not in the h5 file" % (layer_name, missing))
        return {n: found[n] for n in names}


# ---------------------------------------------------------------------------
# The layer chain

def _layers_in_order(config):
    cls = config.get("class_name")
    cfg = config.get("config", {})
    if cls == "Sequential":
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        return [(l["class_name"], l.get("config", {})) for l in layers]
    if cls in ("Functional", "Model"):
        return _functional_chain(cfg)
    raise ConvertError("the model is a %r; anne converts Sequential models and functional "
                       "models that are a chain of layers (subclassed models have no "
                       "layer graph in the file)" % cls)


def _history_names(node):
    """Layer names a Keras inbound node reads from (Keras 3 and 2 formats)."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            if "keras_history" in v:
                found.append(v["keras_history"][0])
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            if (len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int)
                    and isinstance(v[2], int)):
                found.append(v[0])  # Keras 2: [name, node_index, tensor_index, kwargs]
                return
            for x in v:
                walk(x)
    walk(node)
    return found


def _functional_chain(cfg):
    layers = {l.get("name", l.get("config", {}).get("name")): l for l in cfg["layers"]}
    ins = cfg.get("input_layers", [])
    outs = cfg.get("output_layers", [])
    ins = [ins] if ins and isinstance(ins[0], str) else ins
    outs = [outs] if outs and isinstance(outs[0], str) else outs
    if len(ins) != 1 or len(outs) != 1:
        raise ConvertError("the functional model has %d inputs and %d outputs; anne needs "
                           "exactly one of each (a chain of layers)" % (len(ins), len(outs)))
    prev = {}
    for name, l in layers.items():
        nodes = l.get("inbound_nodes", [])
        if len(nodes) > 1:
            raise ConvertError("layer %r (%s) is called %d times; anne needs a simple chain"
                               % (name, l["class_name"], len(nodes)))
        srcs = _history_names(nodes)
        if len(set(srcs)) > 1:
            raise ConvertError("layer %r (%s) takes several inputs (%s); anne needs a simple "
                               "chain" % (name, l["class_name"], ", ".join(srcs)))
        prev[name] = srcs[0] if srcs else None
    order = []
    cur = outs[0][0]
    seen = set()
    while cur is not None:
        if cur in seen or cur not in layers:
            raise ConvertError("the functional model's layer graph is not a simple chain")
        seen.add(cur)
        order.append(cur)
        cur = prev.get(cur)
    if order[-1] != ins[0][0]:
        raise ConvertError("the functional model's output does not lead back to its input")
    unused = set(layers) - seen
    if unused:
        raise ConvertError("the functional model has layers outside the input-output chain: "
                           "%s" % ", ".join(sorted(unused)))
    # users' children: each layer must feed at most one other
    fed = {}
    for name, p in prev.items():
        if p is not None:
            fed.setdefault(p, []).append(name)
    for p, users in fed.items():
        if len(users) > 1:
            raise ConvertError("layer %r feeds several layers (%s); anne needs a simple chain"
                               % (p, ", ".join(users)))
    return [(layers[n]["class_name"], dict(layers[n].get("config", {}), name=n))
            for n in reversed(order)]


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


def _layer_activation(cls, cfg, where, keras2):
    if cls == "Activation":
        return _activation(cfg.get("activation"), where, keras2)
    if cls == "ReLU":
        ns = _number(cfg, "negative_slope", 0.0, where)
        th = _number(cfg, "threshold", 0.0, where)
        mv = cfg.get("max_value")
        params = {"negative_slope": ns, "threshold": th}
        if mv is not None:
            params["max_value"] = _number(cfg, "max_value", None, where)
            if params["max_value"] < 0:
                raise ConvertError("%s: max_value must be >= 0" % where)
        return Activation("relu", params, has_max_value=mv is not None)
    if cls == "LeakyReLU":
        key = "alpha" if "alpha" in cfg and "negative_slope" not in cfg else "negative_slope"
        return Activation("leaky_relu", {"negative_slope": _number(cfg, key, 0.3, where)})
    if cls == "ELU":
        return Activation("elu", {"alpha": _number(cfg, "alpha", 1.0, where)})
    if cls == "Softmax":
        axis = cfg.get("axis", -1)
        if axis not in (-1, 1, [-1], [1]):
            raise ConvertError("%s: softmax over axis %r; anne's vectors have one axis" % (where, axis))
        return Activation("softmax")
    raise AssertionError(cls)


def _input_shape(cfg, where):
    """The input shape from a batch shape in cfg ((n,) or (steps,
    channels)), None if absent."""
    shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
    if shape is None:
        return None
    dims = list(shape)[1:]
    if len(dims) not in (1, 2) or any(d is None for d in dims):
        raise ConvertError("%s: input shape %s; anne takes (features,) or (steps, channels) with "
                           "fixed sizes" % (where, tuple(shape)))
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


POOLING_KINDS = {"MaxPooling1D": "max_pooling1d", "AveragePooling1D": "average_pooling1d",
                 "GlobalAveragePooling1D": "global_average_pooling1d",
                 "GlobalMaxPooling1D": "global_max_pooling1d"}
# An affine per-channel layer passes through these exactly (average of
# x * s + o is average(x) * s + o).
AFFINE_PASSES = ("AveragePooling1D", "GlobalAveragePooling1D", "Flatten", "Reshape")


class Converted:
    def __init__(self, input_shape, specs, sources, dropped, keras_version, name=None, befores=None):
        self.input_shape = input_shape
        self.n_inputs = _size(input_shape)
        self.specs = specs          # [anne_format.LayerSpec]
        self.sources = sources      # per board layer: Keras layer names folded in
        self.dropped = dropped      # Keras layers left out
        self.keras_version = keras_version
        # stored in the file (docs/FORMAT.md): the Keras model's name, what
        # was folded into which layer (shown by the board's summary()), and
        # what set_metadata() adds
        self.metadata = {"name": name} if name else {}
        folded = ["%d: %s" % (i, " + ".join(s)) for i, s in enumerate(sources) if len(s) > 1]
        if folded:
            self.metadata["folded"] = "; ".join(folded)
        # and the normalization folded into a layer's inputs, so that the
        # board can give it back as a layer of its own when an edit gives
        # that layer new weights (docs/FORMAT.md, `folded_before`)
        before = ["%d: %s" % (i, b) for i, b in enumerate(befores or ()) if b]
        if before:
            self.metadata["folded_before"] = "; ".join(before)

    @property
    def n_outputs(self):
        shape = self.input_shape
        for spec in self.specs:
            shape = spec.entry(shape).out_shape
        return _size(shape)

    def set_metadata(self, name=None, classes=None, features=None):
        """The file's model name, class names (one per output, or two for
        one sigmoid output) and input feature names (one per input, or per
        channel of a (steps, channels) input)."""
        if name is not None:
            self.metadata["name"] = name
        n_out = self.n_outputs
        for key, names, want, what in (("classes", classes, (n_out,) if n_out > 1 else (1, 2), "outputs"),
                                       ("features", features, (self.input_shape[-1],),
                                        "inputs" if len(self.input_shape) == 1 else "channels")):
            if names is None:
                continue
            if len(names) not in want or not all(names) or len(set(names)) != len(names):
                raise ConvertError("--%s: %d distinct non-empty names for %s, got %d (%s)"
                                   % (key, want[-1], "one sigmoid output (or 1)" if n_out == 1 and
                                      key == "classes" else "%d %s" % (want[0], what),
                                      len(names), ",".join(names)))
            self.metadata[key] = list(names)

    def encode(self, version=anne_format.VERSION):
        if version == 1:
            if any(s.kind != anne_format.KIND_DENSE for s in self.specs) or len(self.input_shape) != 1:
                raise ConvertError("--format-version 1 holds only Dense layers on a 1-D input")
            return anne_format.encode(self.n_inputs, self.specs, version=1)
        try:
            return anne_format.encode(self.input_shape, self.specs, metadata=self.metadata)
        except ValueError:
            if "folded_before" not in self.metadata:
                raise
        # too long for the metadata's 4 KB: the file works as well without
        # it (only an edit on the board cannot give the normalization back)
        meta = dict(self.metadata)
        del meta["folded_before"]
        return anne_format.encode(self.input_shape, self.specs, metadata=meta)


def convert(path):
    """Reads a Keras model file; returns a Converted (raises ConvertError)."""
    kf = KerasFile(path)
    keras2 = kf.keras2
    chain = _layers_in_order(kf.config)
    board = []          # dicts: kind, name, sources; Dense/Conv1D: kernel, bias, act
    dropped = []
    shape = None        # the current shape, None until known
    input_shape = None
    counters = {}
    last_open = None    # the previous Dense/Conv1D if only dropped layers came since
    pending = None      # an affine (scale, offset, names) waiting for the next Dense/Conv1D
    classes = {}        # Keras class of each affine layer, by name
    problems = []       # every layer that cannot be converted, reported together
    for cls, cfg in chain:
        name = cfg.get("name", "?")
        where = "layer %r (%s)" % (name, cls)
        snake = _snake(cls)
        n = counters.get(snake, 0)
        counters[snake] = n + 1
        class_path = snake if n == 0 else "%s_%d" % (snake, n)
        try:
            given = _input_shape(cfg, where) if cls not in ("Flatten", "Reshape") else None
        except ConvertError as e:
            problems.append(str(e))
            given = shape = last_open = None
        if given is not None:
            if shape is not None and given != shape:
                raise ConvertError("%s: input shape %s, but the layer before gives %s"
                                   % (where, given, shape))
            shape = given
            if input_shape is None and not board:
                input_shape = given
        if cls in DROPPED_LAYERS:
            dropped.append(name)
            continue
        try:
            if cls in ("Flatten", "Reshape"):
                if shape is None:
                    raise UnknownShape("%s: the shape of its input is not known; start the model "
                                       "with keras.Input(...)" % where)
                if cls == "Flatten":
                    new = (_size(shape),)
                else:
                    new = _reshaped(shape, cfg.get("target_shape"), where)
                if new == shape or (cls == "Flatten" and len(shape) == 1):
                    dropped.append(name)
                    continue
                board.append({"kind": _snake(cls), "name": name, "sources": [name], "out_shape": new})
                shape = new
                last_open = None
                continue
            if cls == "Dense":
                d = _dense(kf, cfg, name, class_path, where, keras2, shape)
            elif cls == "Conv1D":
                d = _conv1d(kf, cfg, name, class_path, where, keras2, shape)
            elif cls in POOLING_KINDS:
                d = _pooling(cls, cfg, name, where, shape)
                if pending is not None and cls not in AFFINE_PASSES:
                    # not exact through a max: kept as a layer of its own
                    board.append(_affine_layer(pending, shape, where, classes))
                    pending = None
                board.append(d)
                shape = d["out_shape"]
                last_open = None
                continue
            elif cls in AFFINE_LAYERS:
                scale, offset = _affine(kf, cls, cfg, name, class_path, where)
                classes[name] = cls
                if last_open is not None and last_open["act"].is_linear() and pending is None:
                    _fold_after(last_open, scale, offset, name, where)
                else:
                    pending = _compose(pending, scale, offset, name)
                    last_open = None
                continue
            elif cls in ACTIVATION_LAYERS:
                act = _layer_activation(cls, cfg, where, keras2)
                if act.is_linear():
                    dropped.append(name)
                    continue
                if pending is not None:
                    problems.append("%s follows %s, which anne keeps as a per-channel layer (it cannot "
                                    "fold it here) and cannot put an activation after; put the "
                                    "normalization after the activation" % (where, " + ".join(pending[2])))
                    pending = None
                    continue
                if last_open is None:
                    if not board:
                        raise ConvertError("%s comes before any Dense layer; anne folds activation "
                                           "layers into the Dense or Conv1D layer before them" % where)
                    raise ConvertError("%s follows a layer anne cannot fold it into" % where)
                prev = last_open
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
                prev["act"] = act
                prev["sources"].append(name)
                _set_out(prev, where)
                shape = prev["out_shape"]
                continue
            else:
                problems.append("%s: %s" % (where, HINTS.get(cls, "not supported")))
                shape = last_open = None
                continue
        except ConvertError as e:
            # Reported with the others; a shape left unknown by an earlier
            # problem is not a problem of its own.
            if not (isinstance(e, UnknownShape) and problems):
                problems.append(str(e))
            shape = last_open = None
            continue
        # Dense or Conv1D
        if input_shape is None and not board:
            input_shape = d["in_shape"]
        if pending is not None:
            if d["kind"] == "conv1d" and d["kparams"][2] != 0:
                # padded zeros would not be normalised: kept as a layer
                board.append(_affine_layer(pending, d["in_shape"], where, classes))
            else:
                s, o = _fold_before(d, pending, where)
                code = AFFINE_CODE[classes[pending[2][0]]] if len(pending[2]) == 1 else AFFINE_CODE["Rescaling"]
                d["before"] = "%d|%s|%s" % (code, " ".join("%.9g" % v for v in _float32(s, where, "scale")),
                                            " ".join("%.9g" % v for v in _float32(o, where, "offset")))
            pending = None
        _set_out(d, where)
        board.append(d)
        shape = d["out_shape"]
        last_open = d
    if pending is not None:
        # nothing after it to fold into: kept as a per-channel layer
        if shape is None:
            problems.append("%s: its input shape is not known" % " + ".join(pending[2]))
        else:
            board.append(_affine_layer(pending, shape, "the last layers", classes))
    if problems:
        raise ConvertError("the model cannot be converted (%d problem%s):\n  %s\n%s" % (
            len(problems), "" if len(problems) == 1 else "s", "\n  ".join(problems),
            _supported_layers()))
    if not any(d["kind"] in ("dense", "conv1d") for d in board):
        raise ConvertError("the model has no Dense or Conv1D layer")
    if len(board) > anne_format.MAX_LAYERS:
        raise ConvertError("the model has %d layers; a .anne file holds at most %d"
                           % (len(board), anne_format.MAX_LAYERS))
    specs = []
    for d in board:
        if d["kind"] == "affine":
            specs.append(anne_format.LayerSpec("linear", d["kernel"], d["bias"], kind="affine",
                                               kparams=d["kparams"]))
        elif d["kind"] in ("dense", "conv1d"):
            specs.append(anne_format.LayerSpec(d["act"].name, d["kernel"], d["bias"], d["act"].params,
                                               d["act"].has_max_value, d["act"].approximate,
                                               d["kind"], d.get("kparams", ())))
        else:
            specs.append(anne_format.LayerSpec("linear", kind=d["kind"], kparams=d.get("kparams", ()),
                                               out_shape=d["out_shape"] if d["kind"] == "reshape" else None))
    cfg = kf.config.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    return Converted(input_shape, specs, [d["sources"] for d in board], dropped,
                     kf.keras_version, name if isinstance(name, str) else None,
                     [d.get("before") for d in board])


def _reshaped(shape, target, where):
    if not isinstance(target, (list, tuple)) or len(target) not in (1, 2):
        raise ConvertError("%s: target_shape %r; anne's shapes are (n,) or (steps, channels)" % (where, target))
    target = [int(t) if t is not None else -1 for t in target]
    n = _size(shape)
    known = -_size(target) if -1 in target else _size(target)
    if known <= 0 or n % known or (-1 not in target and known != n):
        raise ConvertError("%s: cannot reshape %s to %s" % (where, shape, tuple(target)))
    return tuple(n // known if t == -1 else t for t in target)


def _weights(kf, cfg, name, class_path, where, ndim, units):
    use_bias = bool(cfg.get("use_bias", True))
    arrays = kf.weights(name, class_path)
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


def _dense(kf, cfg, name, class_path, where, keras2, shape):
    _quantized(cfg, where)
    units = int(cfg["units"])
    act = _activation(cfg.get("activation"), where, keras2)
    kernel, bias = _weights(kf, cfg, name, class_path, where, 2, units)
    if shape is not None and len(shape) == 2:
        # Keras's Dense on (steps, channels) acts on each step: exactly a
        # Conv1D with kernel_size 1 (glu, which halves the units, excepted)
        if act.name == "glu":
            raise ConvertError("%s: glu on a (steps, channels) input is not supported; add Flatten() "
                               "before the Dense" % where)
        if kernel.shape[0] != shape[1]:
            raise ConvertError("%s: kernel has %d inputs but the layer before gives %d channels"
                               % (where, kernel.shape[0], shape[1]))
        return {"kind": "conv1d", "name": name, "kernel": kernel.reshape(1, shape[1], units), "bias": bias,
                "act": act, "sources": [name], "in_shape": shape, "kparams": (1, 1, 0, 1)}
    if shape is not None and kernel.shape[0] != shape[0]:
        raise ConvertError("%s: kernel has %d inputs but the layer before gives %d"
                           % (where, kernel.shape[0], shape[0]))
    if not 1 <= units <= anne_format.MAX_UNITS or kernel.shape[0] > anne_format.MAX_UNITS:
        raise ConvertError("%s: sizes over %d are not supported" % (where, anne_format.MAX_UNITS))
    return {"kind": "dense", "name": name, "kernel": kernel, "bias": bias, "act": act, "sources": [name],
            "in_shape": (kernel.shape[0],)}


def _conv1d(kf, cfg, name, class_path, where, keras2, shape):
    _quantized(cfg, where)
    _check_1d_options("Conv1D", cfg, where)
    filters = int(cfg["filters"])
    act = _activation(cfg.get("activation"), where, keras2)
    if act.name == "glu":
        raise ConvertError("%s: glu halves the filters; anne's Conv1D cannot take it (put a Dense "
                           "after the Conv1D)" % where)
    kernel, bias = _weights(kf, cfg, name, class_path, where, 3, filters)
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
    return {"kind": "conv1d", "name": name, "kernel": kernel, "bias": bias, "act": act, "sources": [name],
            "in_shape": shape, "kparams": kparams}


def _pooling(cls, cfg, name, where, shape):
    _check_1d_options(cls, cfg, where)
    steps, channels = _steps_channels(shape, where)
    kind = POOLING_KINDS[cls]
    d = {"kind": kind, "name": name, "sources": [name]}
    if cls.startswith("Global"):
        d["out_shape"] = (channels,)
        return d
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
    return d


def _affine(kf, cls, cfg, name, class_path, where):
    """(scale, offset) of a per-feature affine layer at inference, float64
    arrays (or scalars) that broadcast over the features."""
    if cls == "Rescaling":
        return (np.asarray(cfg.get("scale", 1.0), np.float64),
                np.asarray(cfg.get("offset", 0.0), np.float64))
    axis = cfg.get("axis", -1)
    if axis not in (-1, [-1], 1, [1], (-1,)):
        raise ConvertError("%s: axis %r; anne folds it only over the last axis" % (where, axis))
    if cls == "Normalization":
        if cfg.get("invert"):
            raise ConvertError("%s: invert=True is not supported" % where)
        if cfg.get("mean") is not None and cfg.get("variance") is not None:
            mean, var = np.asarray(cfg["mean"], np.float64), np.asarray(cfg["variance"], np.float64)
        else:
            v = kf.variables(name, class_path, ("mean", "variance", "count"))
            mean, var = v["mean"].astype(np.float64), v["variance"].astype(np.float64)
        # Keras 3: (x - mean) / maximum(sqrt(variance), epsilon)
        scale = 1.0 / np.maximum(np.sqrt(var), 1e-7)
        return scale.reshape(-1), (-mean * scale).reshape(-1)
    names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
    v = kf.variables(name, class_path, names + ["moving_mean", "moving_variance"])
    gamma = v.get("gamma", np.float64(1.0)).astype(np.float64)
    beta = v.get("beta", np.float64(0.0)).astype(np.float64)
    mean = v["moving_mean"].astype(np.float64)
    var = v["moving_variance"].astype(np.float64)
    scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
    return scale, beta - mean * scale


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
    if d["kind"] == "conv1d":
        try:
            d["out_shape"] = anne_format.anne_file.out_shape_of(
                anne_format.KIND_IDS["conv1d"], d["in_shape"], units, 0, tuple(d["kparams"]) + (0,) * 4)
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


def convert_file(path, name=None, classes=None, features=None):
    """Keras model file -> bytes of the .anne file (with that metadata)."""
    conv = convert(path)
    conv.set_metadata(name, classes, features)
    return conv.encode()


# ---------------------------------------------------------------------------
# Command line

def _check(model, x_path, y_path, atol, rtol):
    x = np.load(x_path).astype(np.float32)
    y = np.load(y_path).astype(np.float32)
    if x.ndim == 1:
        x = x[None, :]
    got = model.forward(x)
    if got.size != y.size:
        raise ConvertError("--check: the model gives %s outputs for X %s, Y has shape %s"
                           % (got.shape, x.shape, y.shape))
    got = got.reshape(y.shape)
    err = np.abs(got - y)
    tol = atol + rtol * np.abs(y)
    worst = float(np.max(err)) if err.size else 0.0
    n_bad = int(np.count_nonzero(err > tol))
    same_class = True
    if y.ndim == 2 and y.shape[1] > 1:
        same_class = bool(np.all(np.argmax(got, -1) == np.argmax(y, -1)))
    print("check: %d rows, max |diff| %.3g, %d values outside atol=%g rtol=%g, argmax %s"
          % (x.shape[0], worst, n_bad, atol, rtol, "identical" if same_class else "DIFFERS"))
    return n_bad == 0 and same_class


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="anne_convert.py",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Keras model (.keras or .h5); an existing .anne file is "
                                 "read and checked instead (with --summary / --check)")
    p.add_argument("-o", "--output", help="output .anne file (default: the model's name "
                                          "with .anne)")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="convert but do not write the output file")
    p.add_argument("--summary", action="store_true",
                   help="print the model as the board will see it: layers, units, "
                        "activation and parameters, weights and bytes")
    p.add_argument("--check", nargs=2, metavar=("X.npy", "Y.npy"),
                   help="run the numpy float32 reference forward pass of the converted "
                        "file on inputs X and compare with expected outputs Y (e.g. "
                        "Keras's model.predict(X)); fails (exit 1) on a difference")
    p.add_argument("--atol", type=float, default=1e-5, help="--check absolute tolerance "
                                                            "(default 1e-5)")
    p.add_argument("--rtol", type=float, default=1e-5, help="--check relative tolerance "
                                                            "(default 1e-5)")
    p.add_argument("--name", help="the model's name stored in the file (default: the Keras "
                                  "model's name)")
    p.add_argument("--classes", help="class names, comma-separated, one per output (two for a "
                                     "single sigmoid output): net.classes on the board")
    p.add_argument("--features", help="input feature names, comma-separated, one per input: "
                                      "net.features on the board")
    p.add_argument("--format-version", type=int, choices=(1, 2), default=2,
                   help="write a version-1 file (no metadata) for boards with anne 0.1 "
                        "(default: 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)
    try:
        if args.model.endswith(".anne"):
            with open(args.model, "rb") as f:
                data = f.read()
            model = anne_format.parse(data)
            sources, conv = None, None
        else:
            conv = convert(args.model)
            conv.set_metadata(args.name, _names(args.classes), _names(args.features))
            if args.format_version == 1 and (args.classes or args.features or args.name):
                raise ConvertError("--format-version 1 has no metadata: drop --name, --classes, "
                                   "--features")
            data = conv.encode(args.format_version)
            model = anne_format.parse(data)  # the same checks the board makes
            sources = conv.sources
        if args.summary:
            print(summary_text(model, sources, conv))
        # Checked before anything is written: a file that fails --check is
        # not left behind.
        if args.check and not _check(model, args.check[0], args.check[1], args.atol, args.rtol):
            if conv is not None:
                print("anne_convert: --check failed: no file written", file=sys.stderr)
            return 1
        if conv is not None:
            out = args.output or os.path.splitext(args.model)[0] + ".anne"
            if not args.dry_run:
                with open(out, "wb") as f:
                    f.write(data)
            if not args.quiet:
                print("%s %s: %d layers, %d inputs, %d outputs, %d parameters, %d bytes"
                      % ("would write (dry run)" if args.dry_run else "wrote", out,
                         len(model.layers), model.n_inputs, model.n_outputs,
                         model.n_params, len(data)))
    except (ConvertError, ValueError, OSError) as e:
        print("anne_convert: error: %s" % e, file=sys.stderr)
        return 1
    return 0


def _names(text):
    return None if text is None else [t.strip() for t in text.split(",")]


def summary_text(model, sources=None, conv=None):
    text = model.summary()
    if sources:
        lines = ["", "Keras layers folded into each board layer:"]
        for i, s in enumerate(sources):
            lines.append("  %d: %s" % (i, " + ".join(s)))
        if conv is not None and conv.dropped:
            lines.append("dropped (no effect at inference): %s" % ", ".join(conv.dropped))
        text += "\n".join(lines)
    return text


if __name__ == "__main__":
    sys.exit(main())
