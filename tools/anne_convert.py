#!/usr/bin/env python3
"""Converts a trained Keras model, or a full-integer int8 TFLite model, into
an `.anne` weight file for the board.

    python3 tools/anne_convert.py MODEL.keras -o MODEL.anne
    python3 tools/anne_convert.py MODEL.h5 --summary
    python3 tools/anne_convert.py MODEL.keras --check X.npy Y.npy
    python3 tools/anne_convert.py MODEL.tflite -o MODEL.anne

Reads Keras 3 `.keras` files and `.h5` files written by Keras 3
(`model.save("x.h5")`) or tf.keras 2. Needs only numpy and h5py (no
TensorFlow). The model is Sequential, or functional with one input and one
output (residual connections and branches joined by the merges below make a
version-3 file whose layers name their inputs), on a (features,),
(steps, channels) or (height, width, channels) input, of:

  Dense          any activation anne knows (see below), with or without bias;
                 on a (steps, channels) input (where Keras applies it to each
                 step) it becomes a Conv1D with kernel_size 1
  Conv1D         filters, kernel_size, strides, padding valid/same/causal,
                 dilation_rate, use_bias, any activation but glu
  MaxPooling1D, AveragePooling1D (pool_size, strides, padding valid/same),
  GlobalAveragePooling1D, GlobalMaxPooling1D
  Conv2D         filters, kernel_size, strides, padding valid/same,
                 dilation_rate, use_bias, any activation but glu (a
                 version-3 file)
  DepthwiseConv2D kernel_size, strides, padding valid/same, depth_multiplier,
                 dilation_rate, use_bias, any activation but glu
  SeparableConv2D
                 as two layers: a DepthwiseConv2D (no bias, linear) and a 1x1
                 Conv2D with the separable layer's bias and activation (the
                 same computation; the summary names both parts)
  ZeroPadding2D  padding int, (rows, columns) or ((top, bottom), (left, right))
  UpSampling1D   size (each step repeated size times; size 1 is dropped)
  MaxPooling2D, AveragePooling2D (pool_size, strides, padding valid/same),
  GlobalAveragePooling2D, GlobalMaxPooling2D
  Flatten, Reshape
                 kept as shape changes (dropped when they change nothing)
  Add, Subtract, Multiply, Average, Maximum, Minimum
                 (functional models) inputs of one shape; an activation
                 layer after one folds into it
  Concatenate    (functional models) on the last axis (the channels)
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

With --quantize int8 --calibration ROWS.npy a float Dense network becomes
an int8 file as TensorFlow's converter would quantize it with those rows
(tools/anne_quantize.py, docs/int8.md).

A .tflite file (TensorFlow's full-integer int8 conversion: representative
data set, supported_ops TFLITE_BUILTINS_INT8) becomes an int8 file (format
version 3): chains of FULLY_CONNECTED (fused NONE, RELU, RELU6,
RELU_N1_TO_1; then SOFTMAX, LOGISTIC, TANH, GELU, EXP, LEAKY_RELU, HARD_SWISH or ELU), with
QUANTIZE at the input, DEQUANTIZE at the output and
size-keeping RESHAPEs; every other operator is reported, all in one run
(tools/anne_tflite_import.py, docs/converter.md).

Exit status: 0 on success, 1 if the model cannot be converted or --check
finds a difference (the message says why), 2 for bad command-line usage.
"""

import argparse
import io
import json
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_format  # noqa: E402
import anne_keras_layers  # noqa: E402
import anne_keras_graph  # noqa: E402
# The Keras layer classes and what each becomes are in anne_keras_layers.py.
from anne_keras_layers import SUPPORTED_LAYERS, ConvertError, _size  # noqa: E402,F401


# ---------------------------------------------------------------------------
# Reading Keras files

def _to_str(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


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
    ins, outs = anne_keras_graph.ends(cfg)
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
        # (a SeparableConv2D is two layers: each says so)
        folded = ["%d: %s" % (i, " + ".join(s)) for i, s in enumerate(sources)
                  if len(s) > 1 or "SeparableConv2D" in s[0]]
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
        shapes = []
        for i, spec in enumerate(self.specs):
            ins = [self.input_shape if j == anne_format.anne_file.NETWORK_INPUT else shapes[j]
                   for j in spec.inputs or ((i - 1 if i else anne_format.anne_file.NETWORK_INPUT),)]
            shapes.append(spec.entry(ins[0], ins).out_shape)
        return _size(shapes[-1])

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

    def encode(self, version=None):
        """The file's bytes, version 2 by default, or 3 when a shape has
        rank 3 (a 2-D layer's input)."""
        if version is None:
            version = 3 if len(self.input_shape) == 3 or any(
                s.kind in anne_format.anne_file.IMAGE_KINDS or s.inputs for s in self.specs) else anne_format.VERSION
        if version == 1:
            if any(s.kind != anne_format.KIND_DENSE for s in self.specs) or len(self.input_shape) != 1:
                raise ConvertError("--format-version 1 holds only Dense layers on a 1-D input")
            return anne_format.encode(self.n_inputs, self.specs, version=1)
        try:
            return anne_format.encode(self.input_shape, self.specs, metadata=self.metadata, version=version)
        except ValueError:
            if "folded_before" not in self.metadata:
                raise
        # too long for the metadata's 4 KB: the file works as well without
        # it (only an edit on the board cannot give the normalization back)
        meta = dict(self.metadata)
        del meta["folded_before"]
        return anne_format.encode(self.input_shape, self.specs, metadata=meta, version=version)


def convert(path):
    """Reads a Keras model file; returns a Converted (raises ConvertError)."""
    kf = KerasFile(path)
    graph = None
    if kf.config.get("class_name") in ("Functional", "Model"):
        graph = anne_keras_graph.functional_graph(kf.config.get("config", {}), _history_names)
    if graph:   # residual connections, branches, merges: each board layer names its inputs
        st = anne_keras_graph.walk_graph(kf, graph)
    else:
        st = anne_keras_layers.walk(kf, _layers_in_order(kf.config))
    specs = []
    for d in st.board:
        inputs = d.get("inputs")
        if d["kind"] == "affine":
            specs.append(anne_format.LayerSpec("linear", d["kernel"], d["bias"], kind="affine",
                                               kparams=d["kparams"], inputs=inputs))
        elif d["kind"] in ("dense", "conv1d", "conv2d", "depthwise_conv2d") or d["kind"] in anne_keras_graph.MERGES.values():
            specs.append(anne_format.LayerSpec(d["act"].name, d.get("kernel"), d.get("bias"), d["act"].params,
                                               d["act"].has_max_value, d["act"].approximate,
                                               d["kind"], d.get("kparams", ()), inputs=inputs))
        else:
            specs.append(anne_format.LayerSpec("linear", kind=d["kind"], kparams=d.get("kparams", ()),
                                               out_shape=d["out_shape"] if d["kind"] == "reshape" else None,
                                               inputs=inputs))
    cfg = kf.config.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    return Converted(st.input_shape, specs, [d["sources"] for d in st.board], st.dropped,
                     kf.keras_version, name if isinstance(name, str) else None,
                     [d.get("before") for d in st.board])

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


def main(argv=None, prog="anne_convert.py"):
    """The command line; prog: its name in --help (with its examples) and
    in usage errors (anne-convert when installed by pip)."""
    description = __doc__.split("\n\n", 1)[1]
    if prog != "anne_convert.py":
        description = description.replace("python3 tools/anne_convert.py", prog)
    p = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Keras model (.keras or .h5) or full-integer int8 TFLite model (.tflite); "
                                 "an existing .anne file is read and checked instead (with --summary / --check)")
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
    p.add_argument("--format-version", type=int, choices=(1, 2, 3), default=None,
                   help="write a version-1 file (no metadata) for boards with anne 0.1, or "
                        "version 3 (docs/FORMAT.md) (default: 2; 3 for a .tflite, whose int8 layers need it)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--estimate", action="store_true",
                   help="print what the model costs on each board class before flashing: heap (loaded "
                   "from a file, in place), training's (at --batch), instructions per prediction "
                   "(tools/anne_estimate.py)")
    p.add_argument("--batch", type=int, default=16, help="--estimate's training batch size (default 16)")
    p.add_argument("--quantize", choices=("int8",), help="quantize a float Keras model to int8 as TensorFlow's "
                   "converter does (full integer, per-channel weights; tools/anne_quantize.py), with --calibration")
    p.add_argument("--calibration", metavar="ROWS.npy", help="--quantize's calibration rows: float32, rows x "
                   "inputs, like the inputs the board will see (a few dozen to a few hundred); a .npy, or a "
                   ".json list of rows (or an object whose \"x\" is one)")
    args = p.parse_args(argv)
    try:
        if args.model.endswith(".anne"):
            with open(args.model, "rb") as f:
                data = f.read()
            model = anne_format.parse(data)
            sources, conv = None, None
        else:
            tflite = is_tflite(args.model)
            if (args.quantize is None) != (args.calibration is None):
                raise ConvertError("--quantize int8 and --calibration ROWS.npy go together")
            if tflite:
                if args.quantize:
                    raise ConvertError("a .tflite is quantized already: drop --quantize and --calibration")
                import anne_tflite_import
                conv = anne_tflite_import.import_tflite(args.model)
            else:
                conv = convert(args.model)
            if args.quantize:
                import anne_quantize
                conv = anne_quantize.quantize(conv, anne_quantize.load_rows(args.calibration))
                tflite = True   # (written as version 3, as an imported .tflite)
            conv.set_metadata(args.name, _names(args.classes), _names(args.features))
            if args.format_version == 1 and (args.classes or args.features or args.name):
                raise ConvertError("--format-version 1 has no metadata: drop --name, --classes, "
                                   "--features")
            data = conv.encode(args.format_version or (3 if tflite else None))
            model = anne_format.parse(data)  # the same checks the board makes
            sources = conv.sources
        if args.summary:
            print(summary_text(model, sources, conv))
        if args.estimate and model.dtype != "float32":
            raise ConvertError("--estimate covers float32 networks; int8 ones are not estimated yet")
        if args.estimate and any(l.kind in anne_format.anne_file.IMAGE_KINDS for l in model.layers):
            raise ConvertError("--estimate covers Dense and 1-D networks; 2-D ones are not estimated yet")
        if args.estimate:
            import anne_estimate
            print(anne_estimate.report(anne_estimate.estimate(data, args.batch)))
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


def is_tflite(path):
    """True for a file whose flatbuffer identifier is TFLite's ("TFL3" at
    byte 4), whatever its name."""
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"TFL3"
    except OSError:
        return False


def _names(text):
    return None if text is None else [t.strip() for t in text.split(",")]


def summary_text(model, sources=None, conv=None):
    text = model.summary()
    if sources:
        tflite = conv is not None and not hasattr(conv, "keras_version")
        lines = ["", "TFLite operators behind each board layer:" if tflite
                 else "Keras layers folded into each board layer:"]
        for i, s in enumerate(sources):
            lines.append("  %d: %s" % (i, " + ".join(s)))
        if conv is not None and conv.dropped:
            lines.append("%s: %s" % ("left out (predict quantizes, or they move no values)" if tflite
                                     else "dropped (no effect at inference)", ", ".join(conv.dropped)))
        text += "\n".join(lines)
    return text


if __name__ == "__main__":
    sys.exit(main())
