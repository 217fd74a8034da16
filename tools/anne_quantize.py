"""Our own post-training full-integer quantizer, no TensorFlow:

    python3 tools/anne_convert.py model.keras --quantize int8 --calibration rows.npy -o model.anne

turns a float Dense network (anne_convert.convert()) and calibration rows
(float32, rows x inputs: inputs like the ones the board will see) into the
int8 network TensorFlow's converter makes of the same model with those rows
as its representative data set (TFLITE_BUILTINS_INT8, int8 input and
output), by TFLite's rules:

- each activation tensor (the input, each Dense layer's output: after a
  fused relu/relu6, before any other activation) gets the range its values
  take on the calibration rows, widened to hold 0, and
  scale = (max - min) / 255 in float32, the zero point nudged to the end of
  the range that is nearer (MLIR's getNudgedScaleAndZeroPoint);
- the outputs of softmax and sigmoid get scale 1/256, zero point -128, of
  tanh 1/128 and 0 (LiteRT's kernels require them); of gelu, exponential
  and leaky_relu their calibrated range;
- weights per output channel, symmetric: scale = max|w| / 127 in float32,
  values round(w / scale) in -127..127;
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

import anne_format
import anne_tflite_act
from anne_format import Int8DenseSpec, f32_value
from anne_keras_layers import ConvertError

F32 = np.float32
# anne activation -> the TFLite operator after the FULLY_CONNECTED, and the
# output quantization LiteRT fixes for it (None: calibrated)
POST = {"softmax": ("SOFTMAX", (1.0 / 256, -128)), "sigmoid": ("LOGISTIC", (1.0 / 256, -128)),
        "tanh": ("TANH", (1.0 / 128, 0)), "gelu": ("GELU", None), "exponential": ("EXP", None),
        "leaky_relu": ("LEAKY_RELU", None)}
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


def _weights(kernel):
    """Keras kernel (n_in x units) -> (TFLite layout int8 (units x n_in),
    per-channel scales)."""
    w = np.asarray(kernel, np.float32)
    top = np.abs(w).max(axis=0)
    scales = np.array([F32(t) / F32(127.0) if t > 0 else F32(1.0) for t in top], np.float32)
    q = np.clip(_round(w / scales), -127, 127).astype(np.int64).T
    return q, [float(s) for s in scales]


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


def quantize(conv, rows):
    """anne_convert.Converted (a float network) and calibration rows ->
    anne_tflite_import.Imported: the int8 network, written as format
    version 3. ConvertError for what it cannot quantize, every layer's
    problem in one message."""
    import anne_tflite_import
    problems = []
    if len(conv.input_shape) != 1:
        problems.append("the input is %s: int8 quantization takes (features,) inputs so far"
                        % (conv.input_shape,))
    for i, s in enumerate(conv.specs):
        if s.kind != anne_format.KIND_DENSE:
            problems.append("layer %d is %s: int8 quantization covers Dense networks so far (convert "
                            "without --quantize for float32)" % (i, anne_format.KIND_NAMES[s.kind]))
        elif s.activation not in FUSED and s.activation not in POST:
            problems.append("layer %d: activation %s has no int8 form here (linear, relu, relu6, softmax, "
                            "sigmoid, tanh, gelu, exponential, leaky_relu do)" % (i, s.activation))
        elif s.activation == "relu" and (s.has_max_value or s.params.get("negative_slope")
                                         or s.params.get("threshold")):
            problems.append("layer %d: relu with parameters: only plain relu (and relu6) are fused in int8" % i)
    if problems:
        raise ConvertError("cannot quantize: %s" % "; ".join(problems))
    x = _calibration(rows, conv.n_inputs)
    model = anne_format.parse(conv.encode(version=2))   # the float reference, as the file holds it
    in_q = activation_params(x.min(), x.max())
    specs = []
    for i, (s, layer) in enumerate(zip(conv.specs, model.layers)):
        z = (x @ layer.kernel + (layer.bias if layer.bias is not None else 0)).astype(np.float32)
        y = layer.forward(x)
        fused = s.activation in FUSED
        out_q = activation_params(*((y.min(), y.max()) if fused else (z.min(), z.max())))
        kernel, w_scales = _weights(layer.kernel)
        bias = None
        if layer.bias is not None:
            b_scales = np.array([F32(F32(in_q[0]) * F32(w)) for w in w_scales], np.float64)
            bias = _round(np.asarray(layer.bias, np.float64) / b_scales).astype(np.int64)
            if np.any(np.abs(bias) > 0x7FFFFFFF):
                raise ConvertError("layer %d: a bias does not fit int32 at scale input_scale x weight_scale" % i)
        spec = Int8DenseSpec(kernel, bias, w_scales, in_q, out_q,
                             anne_tflite_import.activation_range(FUSED.get(s.activation, "NONE"), out_q[0], out_q[1]))
        if not fused:
            op, fixed = POST[s.activation]
            act_q = fixed or activation_params(y.min(), y.max())
            act_q = (f32_value(act_q[0]), act_q[1])
            options = {"beta": 1.0, "approximate": s.approximate, "alpha": s.params.get("negative_slope", 0.2)}
            try:
                spec.activation, post = anne_tflite_act.post(op, options, spec.out_q, act_q)
            except ValueError as e:
                raise ConvertError("layer %d (%s): %s" % (i, s.activation, e))
            spec.post, spec.act_q = tuple(post), act_q
            out_q = act_q
        specs.append(spec)
        in_q = (f32_value(out_q[0]), out_q[1])
        x = y
    sources = [["%s (%s)" % (", ".join(src), s.activation)] for src, s in zip(conv.sources, conv.specs)]
    imp = anne_tflite_import.Imported(conv.input_shape, specs, sources, conv.dropped,
                                      conv.metadata.get("name"), "")
    del imp.metadata["tflite_io"]
    imp.keras_version = conv.keras_version   # (its summary names Keras layers)
    imp.metadata["quantized"] = "int8 from %d calibration rows (anne-convert --quantize int8)" % len(rows)
    return imp
