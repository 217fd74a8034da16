"""Our own post-training full-integer quantizer, no TensorFlow:

    python3 tools/anne_convert.py model.keras --quantize int8 --calibration rows.npy -o model.anne

turns a float chain (anne_convert.convert(): Dense, Conv1D, Conv2D,
DepthwiseConv2D, pooling, ZeroPadding2D, Flatten/Reshape) and calibration
rows (float32, rows x inputs: inputs like the ones the board will see) into
the int8 network TensorFlow's converter makes of the same model with those
rows as its representative data set (TFLITE_BUILTINS_INT8, int8 input and
output), by TFLite's rules:

- each activation tensor (the input, each Dense layer's or convolution's
  output: after a fused relu/relu6, before any other activation; a global
  average's output) gets the range its values take on the calibration
  rows, widened to hold 0, and
  scale = (max - min) / 255 in float32, the zero point nudged to the end of
  the range that is nearer (MLIR's getNudgedScaleAndZeroPoint);
- the outputs of softmax and sigmoid get scale 1/256, zero point -128, of
  tanh 1/128 and 0 (LiteRT's kernels require them); of gelu, exponential,
  and leaky_relu their calibrated range;
- max and average pooling, global max, padding and Flatten/Reshape keep
  their input's scale and zero point (TFLite requires it);
- a Concatenate's output gets the range of the joined values, and each of
  its inputs that same scale and zero point (the converter's same-scale
  rule for CONCATENATION; LiteRT's int8 kernel only copies);
- weights per output channel, symmetric: scale = max|w| / 127 in float32,
  values round(w / scale) in -127..127, in TFLite's filter layouts;
- bias int32, scale input_scale * weight_scale (float32), values
  round(b / scale).

Rounding is half away from zero throughout. Checked against TensorFlow
2.21's converter on the models of tools/make_int8_quant_fixtures.py
(tests/host/test_quantize.py): the same weights, weight scales and zero
points; activation scales within a float32 step or two (TensorFlow computes
the calibration's float values with its own kernels); one rule of
TensorFlow's not followed: of two Dense layers in a row with no activation
between them, it moves the first one's bias into the second (it calibrates
the first one's output without its bias); we keep each bias where Keras has
it, and the outputs stay within an output step.
"""

import numpy as np

import anne_file
import anne_format
import anne_ops
import anne_tflite_act
import anne_tflite_import
from anne_format import Int8Conv1DSpec, Int8Conv2DSpec, Int8DenseSpec, Int8DepthwiseSpec, Int8FlattenSpec, Int8PoolSpec
from anne_format import Int8MergeSpec
from anne_format import f32_value
from anne_keras_layers import ConvertError

F32 = np.float32
# anne activation -> the TFLite operator after the FULLY_CONNECTED, and the
# output quantization LiteRT fixes for it (None: calibrated)
POST = {"softmax": ("SOFTMAX", (1.0 / 256, -128)), "sigmoid": ("LOGISTIC", (1.0 / 256, -128)),
        "tanh": ("TANH", (1.0 / 128, 0)), "gelu": ("GELU", None), "exponential": ("EXP", None),
        "leaky_relu": ("LEAKY_RELU", None), "hard_silu": ("HARD_SWISH", None), "elu": ("ELU", None)}
FUSED = {"linear": "NONE", "relu": "RELU", "relu6": "RELU6"}


def _round(v):
    """Half away from zero, elementwise (C's round)."""
    v = np.asarray(v, np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def activation_params(lo, hi):
    """(scale, zero point) of an int8 activation tensor whose calibrated
    values span lo..hi: TFLite's asymmetric quantization (the range
    widened to hold 0; scale in float32; the zero point from the nearer
    end, rounded, clamped to -128..127). An all-zero range gets scale 1."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi == lo:
        return 1.0, 0
    scale = float(F32(F32(hi) - F32(lo)) / F32(255.0))
    from_min, from_max = -128 - lo / scale, 127 - hi / scale
    z = from_min if 128 + abs(lo / scale) < 127 + abs(hi / scale) else from_max
    return scale, int(min(127, max(-128, _round(z))))


def load_rows(path):
    """Calibration rows from a .npy file or a .json list of rows (or an
    object whose "x" is one)."""
    if path.endswith(".json"):
        import json
        with open(path) as f:
            doc = json.load(f)
        rows = doc.get("x") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise ConvertError("--calibration %s: a list of rows, or an object whose \"x\" is one" % path)
        try:
            return np.array(rows, np.float64)
        except ValueError:
            raise ConvertError("--calibration %s: rows of different lengths" % path)
    return np.load(path)


def _calibration(rows, n_inputs):
    x = np.asarray(rows)
    if x.ndim == 1 and x.size == n_inputs:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n_inputs or x.shape[0] == 0:
        raise ConvertError("--calibration: rows x %d inputs expected, got an array of shape %s"
                           % (n_inputs, x.shape))
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ConvertError("--calibration: the rows must be finite numbers")
    return x.astype(np.float32)


# The layers whose int8 output keeps its input's scale and zero point
# (TFLite's MAX_POOL_2D, AVERAGE_POOL_2D, REDUCE_MAX, PAD, RESHAPE).
SAME_Q = {anne_ops.LAYER_MAX_POOLING1D, anne_ops.LAYER_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_MAX_POOLING1D,
          anne_ops.LAYER_MAX_POOLING2D, anne_ops.LAYER_AVERAGE_POOLING2D, anne_ops.LAYER_GLOBAL_MAX_POOLING2D,
          anne_ops.LAYER_ZERO_PADDING2D}
# The global averages (TFLite's MEAN: an output range of its own).
MEANS = {anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D, anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D}
# The merges of a graph it takes (TFLite's ADD, SUB, MUL: an output range of
# their own; CONCATENATION: its inputs take its output's quantization, see
# _concat_ties)
MERGES = (anne_ops.LAYER_ADD, anne_ops.LAYER_SUBTRACT, anne_ops.LAYER_MULTIPLY)
CAT = anne_ops.LAYER_CONCATENATE
CONVS = {anne_ops.LAYER_CONV1D: Int8Conv1DSpec, anne_ops.LAYER_CONV2D: Int8Conv2DSpec,
         anne_ops.LAYER_DEPTHWISE_CONV2D: Int8DepthwiseSpec}
# A float kernel's axes -> TFLite's filter layout (output channel first;
# a depthwise kernel, kernel_h x kernel_w x channels, is TFLite's already)
TO_TFLITE = {anne_ops.LAYER_DENSE: (1, 0), anne_ops.LAYER_CONV1D: (2, 0, 1), anne_ops.LAYER_CONV2D: (3, 0, 1, 2)}


def _problem(i, s):
    """What keeps layer i (s: an anne_format Layer) from int8, or None."""
    name = anne_ops.LAYER_NAMES[s.kind]
    if s.kind in SAME_Q or s.kind in MEANS or s.kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
        return None
    if s.kind == CAT:
        return None if s.activation == "linear" else "layer %d: a concatenate's activation %s" % (i, s.activation)
    if s.kind in MERGES:
        if s.activation not in FUSED:
            return "layer %d: a %s's activation %s has no int8 form here (linear, relu, relu6 do)" % (
                i, name, s.activation)
        if s.activation == "relu" and (s.has_max_value or s.params.get("negative_slope") or s.params.get("threshold")):
            return "layer %d: relu with parameters: only plain relu (and relu6) are fused in int8" % i
        if len(s.inputs or ()) != 2:
            return "layer %d: a %s of %d inputs has no int8 form (LiteRT's takes 2: join them two at a time)" % (
                i, name, len(s.inputs or ()))
        return None
    if s.kind not in CONVS and s.kind != anne_ops.LAYER_DENSE:
        return ("layer %d is %s: int8 quantization covers Dense, Conv1D, Conv2D, DepthwiseConv2D, pooling, "
                "ZeroPadding2D, Flatten/Reshape and the Add, Subtract, Multiply and Concatenate of graphs so far "
                "(convert "
                "without --quantize for float32)" % (i, name))
    acts = FUSED if s.kind in CONVS else tuple(FUSED) + tuple(POST)
    if s.activation not in acts:
        return "layer %d: activation %s has no int8 form here in a %s (%s do)" % (i, s.activation, name, ", ".join(acts))
    if s.activation == "relu" and (s.has_max_value or s.params.get("negative_slope") or s.params.get("threshold")):
        return "layer %d: relu with parameters: only plain relu (and relu6) are fused in int8" % i
    return None


def _weights(kernel, kind):
    """A float kernel -> (TFLite's layout int8, per-output-channel scales:
    symmetric, max|w| / 127 in float32, values round(w / scale) in
    -127..127)."""
    w = np.asarray(kernel, np.float32)
    w = w.transpose(TO_TFLITE[kind]) if kind in TO_TFLITE else w.transpose((w.ndim - 1,) + tuple(range(w.ndim - 1)))
    top = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scales = np.array([F32(t) / F32(127.0) if t > 0 else F32(1.0) for t in top], np.float32)
    q = np.clip(_round(w / scales.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int64)
    if kind == anne_ops.LAYER_DEPTHWISE_CONV2D:
        q = q.transpose(tuple(range(1, w.ndim)) + (0,))
    return q, [float(s) for s in scales]


def _bias(i, bias, in_q, w_scales):
    """round(b / (input_scale x weight_scale)) as int32, or None."""
    if bias is None:
        return None
    b_scales = np.array([F32(F32(in_q[0]) * F32(w)) for w in w_scales], np.float64)
    q = _round(np.asarray(bias, np.float64) / b_scales).astype(np.int64)
    if np.any(np.abs(q) > 0x7FFFFFFF):
        raise ConvertError("layer %d: a bias does not fit int32 at scale input_scale x weight_scale" % i)
    return q


def _weighted(i, layer, x, y, in_q, tied=None):
    """Dense or convolution layer i (an anne_format Layer): its Int8 spec
    and output quantization (tied: a concatenate's, which it feeds)."""
    fused = layer.activation in FUSED
    if tied:
        out_q = tied
    elif fused:
        out_q = activation_params(y.min(), y.max())
    else:
        z = (x.reshape(len(x), -1) @ layer.kernel + (layer.bias if layer.bias is not None else 0)).astype(np.float32)
        out_q = activation_params(z.min(), z.max())
    kernel, w_scales = _weights(layer.kernel, layer.kind)
    bias = _bias(i, layer.bias, in_q, w_scales)
    act = anne_tflite_import.activation_range(FUSED.get(layer.activation, "NONE"), out_q[0], out_q[1])
    if layer.kind in CONVS:
        return CONVS[layer.kind](kernel, bias, w_scales, in_q, out_q, act, layer.kparams), out_q
    spec = Int8DenseSpec(kernel, bias, w_scales, in_q, out_q, act)
    if not fused:
        op, fixed = POST[layer.activation]
        act_q = fixed or activation_params(y.min(), y.max())
        act_q = (f32_value(act_q[0]), act_q[1])
        options = {"beta": 1.0, "approximate": layer.approximate, "alpha": layer.params.get("negative_slope", 0.2)}
        try:
            spec.activation, post = anne_tflite_act.post(op, options, spec.out_q, act_q)
        except ValueError as e:
            raise ConvertError("layer %d (%s): %s" % (i, layer.activation, e))
        spec.post, spec.act_q = tuple(post), act_q
        out_q = act_q
    return spec, out_q


def _concat_ties(model):
    """TensorFlow's converter gives a CONCATENATION's inputs its output's
    quantization (tfl.concatenation's same-scale rule; LiteRT's int8 kernel
    only copies): the output's range is the concatenated values', and each
    input's producer calibrates to it. -> {producer layer: its concatenate
    layer}, and the problems of the joins it does not take (an input whose
    quantization is another's: the network's input, a layer that keeps its
    input's or has a fixed one, a tensor that two joins read)."""
    ties, problems = {}, []
    for i, layer in enumerate(model.layers):
        if layer.kind != CAT:
            continue
        for j in layer.inputs or (i - 1,):
            src = model.layers[j] if j != anne_file.NETWORK_INPUT and j >= 0 else None
            own = src is not None and (src.kind in MEANS or src.kind in MERGES or (
                (src.kind in CONVS or src.kind == anne_ops.LAYER_DENSE) and src.activation in FUSED))
            if not own:
                what = "the network's input" if src is None else "layer %d (%s, %s)" % (
                    j, anne_ops.LAYER_NAMES[src.kind], src.activation)
                problems.append("layer %d: a concatenate of %s: its inputs must be Dense or convolution "
                                "layers (linear, relu, relu6), Add, Subtract, Multiply or global averages, "
                                "which take the join's quantization" % (i, what))
            elif j in ties:
                problems.append("layer %d: layer %d is joined by two concatenates" % (i, j))
            else:
                ties[j] = i
    return ties, problems


def quantize_file(data, rows):
    """A float network's .anne bytes (a chain, or a graph whose merges are
    Add, Subtract, Multiply or Concatenate) and calibration rows -> the int8
    layers (anne_format Int8 specs; a graph's with their inputs).
    ConvertError for what it cannot quantize, every layer's problem in one
    message."""
    model = anne_format.parse(data)    # the float reference, as the file holds it
    problems = [p for p in (_problem(i, layer) for i, layer in enumerate(model.layers)) if p]
    ties, more = _concat_ties(model)
    if problems or more:
        raise ConvertError("cannot quantize: %s" % "; ".join(problems + more))
    x = _calibration(rows, model.n_inputs)
    x = x.reshape((len(x),) + tuple(model.layers[0].in_shape))
    NET = anne_file.NETWORK_INPUT
    if ties:    # the joins' float outputs first: their ranges are their inputs' quantization
        ys = {NET: x}
        for i, layer in enumerate(model.layers):
            ins = layer.inputs or (i - 1 if i else NET,)
            ys[i] = layer.forward([ys[j] for j in ins] if layer.kind in anne_file.MERGES else ys[ins[0]])
        ties = {j: activation_params(ys[c].min(), ys[c].max()) for j, c in ties.items()}
        del ys
    outs = {NET: (x, activation_params(x.min(), x.max()))}     # layer -> (float outputs, quantization)
    specs = []
    for i, layer in enumerate(model.layers):
        ins = layer.inputs or (i - 1 if i else NET,)
        x, in_q = outs[ins[0]]
        if layer.kind == CAT:
            y = layer.forward([outs[j][0] for j in ins])
            out_q = in_q
            spec = Int8MergeSpec(layer.kind, ins, [outs[j][1] for j in ins], out_q)
        elif layer.kind in MERGES:
            y = layer.forward([outs[j][0] for j in ins])
            out_q = ties.get(i) or activation_params(y.min(), y.max())
            act = anne_tflite_import.activation_range(FUSED[layer.activation], out_q[0], out_q[1])
            spec = Int8MergeSpec(layer.kind, ins, [outs[j][1] for j in ins], out_q, act)
        else:
            y = layer.forward(x)
            if layer.kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
                spec, out_q = Int8FlattenSpec(in_q, layer.out_shape if layer.kind == anne_ops.LAYER_RESHAPE
                                              else None), in_q
            elif layer.kind in SAME_Q:
                spec, out_q = Int8PoolSpec(layer.kind, in_q, in_q, (-128, 127), layer.kparams), in_q
            elif layer.kind in MEANS:
                out_q = ties.get(i) or activation_params(y.min(), y.max())
                spec = Int8PoolSpec(layer.kind, in_q, out_q)
            else:
                spec, out_q = _weighted(i, layer, x, y, in_q, ties.get(i))
            if layer.inputs is not None:
                spec.inputs = tuple(ins)
        specs.append(spec)
        outs[i] = (y, (f32_value(out_q[0]), out_q[1]))
    return specs


def quantize(conv, rows):
    """anne_convert.Converted (a float chain) and calibration rows ->
    anne_tflite_import.Imported: the int8 network, written as format
    version 3 (quantize_file())."""
    specs = quantize_file(conv.encode(), rows)
    sources = [["%s (%s)" % (", ".join(src), s.activation)] for src, s in zip(conv.sources, conv.specs)]
    imp = anne_tflite_import.Imported(conv.input_shape, specs, sources, conv.dropped,
                                      conv.metadata.get("name"), "")
    del imp.metadata["tflite_io"]
    imp.keras_version = conv.keras_version   # (its summary names Keras layers)
    imp.metadata["quantized"] = "int8 from %d calibration rows (anne-convert --quantize int8)" % len(rows)
    return imp
