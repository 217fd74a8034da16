"""anne-convert on a .tflite (tools/anne_tflite_import.py): full-integer
int8 Dense chains become int8 .anne files (format version 3) holding what
LiteRT reported for the same model (tests/fixtures/int8/*.json, written by
tools/make_int8_fixtures.py and tools/make_int8_dense_fixtures.py with
TensorFlow's converter and LiteRT's reference kernels); everything else is
refused with a message naming each problem, and nothing is written."""
import copy
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, ROOT
import anne_format as af
import anne_tflite
import anne_tflite_import as ti

INT8 = os.path.join(FIXTURES, "int8")
CONVERT = os.path.join(ROOT, "tools", "anne_convert.py")
# fixtures whose every operator this step takes, and those it must refuse
# (with the operators it must name)
SUPPORTED = ["dense_float_io", "dense_linear", "dense_per_tensor", "dense_relu6_chain", "dense_relu_chain",
             "dense_relu_softmax", "dense_relu6_softmax", "act_softmax", "act_sigmoid", "act_tanh", "act_gelu",
             "act_leaky_relu", "act_hard_swish", "act_elu"]
# fixtures with Conv1D layers (EXPAND_DIMS, CONV_2D of height 1, RESHAPE) that convert
CONV1D = ["conv1d_dense", "conv1d_variants"]
# and with 1-D poolings (MAX/AVERAGE_POOL_2D of height 1, MEAN, REDUCE_MAX)
POOLS = ["pool1d_chain", "pool1d_global_max"]
# and 2-D chains (CONV_2D, DEPTHWISE_CONV_2D, PAD, 2-D pooling, MEAN and
# REDUCE_MAX over the plane): tests/host/test_tflite_conv2d.py
CONV2D = ["int8_conv2d_ds_cnn", "int8_conv2d_mobilenet", "int8_conv2d_global_max"]
# and graphs (ADD, SUB, MUL, CONCATENATION, branches: tools/anne_tflite_graph.py,
# tests/host/test_tflite_graph.py)
GRAPHS = ["graph_dense_residual", "graph_conv1d_resnet", "graph_conv2d_resnet", "graph_concat", "graph_mul_sub",
          "graph_bn_unfolded",
          "residual_add_mul", "bn_global_max", "pool1d_mean", "graph_depthwise1d"]
# and dilated convolutions as TensorFlow writes them (SPACE_TO_BATCH_ND, CONV_2D
# or DEPTHWISE_CONV_2D, BATCH_TO_SPACE_ND, an ADD of the bias):
# tests/host/test_tflite_conv2d.py
DILATED = ["conv1d_dilated", "conv1d_dilated_chain", "conv2d_dilated_int8"]
# and Conv1D with padding="causal" (a PAD of the steps before it), ZeroPadding1D, DepthwiseConv1D and
# SeparableConv1D (the steps as an image of height 1): tests/host/test_tflite_conv2d.py
CAUSAL = ["conv1d_causal_dilated", "conv1d_depthwise_pad"]
# and a float island the converter leaves (DEQUANTIZE, ELU in float, QUANTIZE), run by LiteRT's built-in
# kernels: computed as the int8 ELU's table, within one output step (test_float_island_*)
FLOAT_ISLANDS = ["act_elu_float"]
SUPPORTED += CONV1D + POOLS + CONV2D + GRAPHS + DILATED + CAUSAL + FLOAT_ISLANDS
REFUSED = {"act_prelu": ["operator 1 PRELU"], "act_silu": ["operator 2 MUL"]}
SETTINGS = ["representative_dataset", "supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]",
            "inference_input_type = tf.int8", "inference_output_type = tf.int8"]


def f32(v):
    return float(np.float32(v))


def run(*args):
    return subprocess.run([sys.executable, CONVERT] + list(args), capture_output=True, text=True, timeout=120)


def doc(name):
    with open(os.path.join(INT8, name + ".json")) as f:
        return json.load(f)


def path(name):
    return os.path.join(INT8, name + ".tflite")


# Operators a Dense chain's conversion may hold (the rest are refused).
ACTIVATION_OPS = {"SOFTMAX", "LOGISTIC", "TANH", "GELU", "EXP", "LEAKY_RELU", "HARD_SWISH", "ELU"}
CHAIN_OPS = {"QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "RESHAPE", "SHAPE", "STRIDED_SLICE", "PACK",
             "EXPAND_DIMS", "CONV_2D", "SQUEEZE", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN",
             "REDUCE_MAX", "DEPTHWISE_CONV_2D", "PAD"} | ACTIVATION_OPS
# Operators a graph's conversion may also hold
TAKEN_OPS = CHAIN_OPS | {"ADD", "SUB", "MUL", "CONCATENATION", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"}


def _fixtures():
    return sorted(os.path.splitext(n)[0] for n in os.listdir(INT8) if n.endswith(".tflite"))


def test_fixture_lists_cover_the_directory():
    assert set(SUPPORTED) <= set(_fixtures()) and set(REFUSED) <= set(_fixtures())


@pytest.mark.parametrize("name", [n for n in _fixtures() if n not in SUPPORTED])
def test_every_other_fixture_is_refused_naming_its_operators(name, tmp_path):
    # The operators as TensorFlow's own schema module recorded them (the
    # fixture's JSON), not as tools/anne_tflite.py reads them.
    with open(os.path.join(INT8, name + ".json")) as f:
        ops = [o["opcode"] for o in json.load(f)["operators"]]
    out = tmp_path / "x.anne"
    r = run(path(name), "-o", str(out))
    assert r.returncode == 1 and not out.exists(), r.stderr
    for i, op in enumerate(ops):
        if op not in TAKEN_OPS:
            assert "operator %d %s" % (i, op) in r.stderr, (op, r.stderr)


def _round_away(v):
    r = math.floor(abs(v))
    return math.copysign(r + (1 if abs(v) - r >= 0.5 else 0), v)


def _act_range(fused, scale, zp):
    """CalculateActivationRangeQuantized written out again (float32 f / scale)."""
    q = lambda f: zp + int(_round_away(float(np.float32(f) / np.float32(scale))))  # noqa: E731
    return {"NONE": (-128, 127), "RELU": (max(-128, q(0.0)), 127),
            "RELU6": (max(-128, q(0.0)), min(127, q(6.0))),
            "RELU_N1_TO_1": (max(-128, q(-1.0)), min(127, q(1.0)))}[fused]


@pytest.mark.parametrize("name", [n for n in SUPPORTED
                                  if n not in CONV1D + POOLS + CONV2D + GRAPHS + DILATED + CAUSAL + FLOAT_ISLANDS])
def test_convert_holds_what_litert_reports(name, tmp_path):
    out = tmp_path / (name + ".anne")
    r = run(path(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    m = af.load(str(out))
    d = doc(name)
    tensors = d["tensors"]
    fcs = [op for op in d["operators"] if op["opcode"] == "FULLY_CONNECTED"]
    assert m.version == 3 and m.dtype == "int8" and len(m.layers) == len(fcs)
    for layer, op in zip(m.layers, fcs):
        tin, tw, tout = (tensors[i] for i in (op["inputs"][0], op["inputs"][1], op["outputs"][0]))
        units, n_in = tw["shape"]
        assert layer.kernel.shape == (units, n_in)
        assert layer.kernel.reshape(-1).tolist() == tw["values"]
        bias = tensors[op["inputs"][2]]["values"] if len(op["inputs"]) > 2 and op["inputs"][2] >= 0 else [0] * units
        assert layer.bias.tolist() == bias
        s_in, z_in, s_out, z_out, count, lo, hi, act_s, act_z = layer.quant
        assert (s_in, z_in) == (f32(tin["scales"][0]), tin["zero_points"][0])
        assert (s_out, z_out) == (f32(tout["scales"][0]), tout["zero_points"][0])
        assert layer.weight_scales == [f32(s) for s in tw["scales"]] and count == len(tw["scales"])
        assert (lo, hi) == _act_range(op["fused_activation"], s_out, z_out)
        after = [o for o in d["operators"] if o["inputs"][0] == op["outputs"][0] and o["opcode"] in ACTIVATION_OPS]
        if after:    # the activation operator after it: its output's quantization
            t_act = tensors[after[0]["outputs"][0]]
            assert layer.activation != "linear"
            assert (act_s, act_z) == (f32(t_act["scales"][0]), t_act["zero_points"][0])
        else:
            assert layer.activation == "linear" and (act_s, act_z) == (0.0, 0)
        for j, ws in enumerate(tw["scales"]):   # LiteRT's reference Eval, in double (per tensor too)
            real = f32(tin["scales"][0]) * f32(ws) / f32(tout["scales"][0])
            assert struct.pack("<d", layer.scales[j]) == struct.pack("<d", real)
    if d.get("io") == "float32":
        # QUANTIZE, the int8 chain and DEQUANTIZE: LiteRT's float outputs exactly
        got = m.forward(np.array(d["rows"], np.float32))
        np.testing.assert_array_equal(got, np.array(d["outputs"], np.float32))
        assert "input float32" in m.metadata["tflite_io"]
    else:
        assert m.input_quantization == (f32(d["input"]["scale"]), d["input"]["zero_point"])
        assert m.output_quantization == (f32(d["output"]["scale"]), d["output"]["zero_point"])
        assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]


@pytest.mark.parametrize("name", FLOAT_ISLANDS)
def test_float_island_is_its_int8_table_within_one_step(name, tmp_path):
    """DEQUANTIZE, ELU (float32), QUANTIZE after a FULLY_CONNECTED: the
    Dense layer's elu, its output quantization the QUANTIZE's; on each
    value the FULLY_CONNECTED gave in LiteRT, and on every output, within
    one output step of LiteRT's float kernels (identical on these rows)."""
    out = tmp_path / (name + ".anne")
    r = run(path(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "DEQUANTIZE #1 (a float ELU's" in run(path(name), "-n", "--summary").stdout
    m = af.load(str(out))
    d = doc(name)
    ops = {op["opcode"]: op for op in d["operators"] if op["opcode"] != "FULLY_CONNECTED"}
    fc_out, q_out = ops["DEQUANTIZE"]["inputs"][0], ops["QUANTIZE"]["outputs"][0]
    t_q = d["tensors"][q_out]
    assert m.layers[0].activation == "elu" and m.layers[0].quant[7:9] == (f32(t_q["scales"][0]), t_q["zero_points"][0])
    values = d["tensor_values"]
    xs = np.array(d["rows"])
    got = m.layers[0].forward_int8(xs).reshape(len(xs), -1)
    want = np.array([v[str(q_out)] for v in values])
    assert np.abs(got - want).max() <= 1 and len(set(v for row in values for v in row[str(fc_out)])) > 20
    final = m.forward_int8(xs)
    assert np.abs(final - np.array(d["outputs"])).max() <= 1
    assert (final == np.array(d["outputs"])).all()   # (these rows: identical)


def _quantize_multiplier(real):
    """TFLite's QuantizeMultiplier (double-rounding build) written out
    again: real = q * 2**(shift - 31), q in [2**30, 2**31) rounded half away
    from zero."""
    q, shift = math.frexp(real)
    q_fixed = int(_round_away(q * 2.0**31))
    if q_fixed == 2**31:
        q_fixed, shift = q_fixed // 2, shift + 1
    return (0, 0) if shift < -31 else (q_fixed, shift)


@pytest.mark.parametrize("name", CONV1D)
def test_conv1d_convert_holds_what_litert_reports(name, tmp_path):
    out = tmp_path / (name + ".anne")
    r = run(path(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    m = af.load(str(out))
    d = doc(name)
    tensors = d["tensors"]
    convs = [op for op in d["operators"] if op["opcode"] == "CONV_2D"]
    layers = [L for L in m.layers if L.kind_name == "conv1d"]
    assert m.version == 3 and m.dtype == "int8" and len(layers) == len(convs)
    assert [L.kind_name for L in m.layers[len(convs):]] == ["flatten", "dense"]
    assert m.input_shape == tuple(d["input"]["shape"][1:])
    for layer, op in zip(layers, convs):
        tin, tw, tout = (tensors[i] for i in (op["inputs"][0], op["inputs"][1], op["outputs"][0]))
        filters, one, ks, cin = tw["shape"]
        assert one == 1 and tin["shape"][1] == 1
        assert layer.kernel.shape == (filters, ks, cin) and layer.kernel.reshape(-1).tolist() == tw["values"]
        assert layer.bias.tolist() == tensors[op["inputs"][2]]["values"]
        assert layer.kparams[:4] == (ks, op["stride_w"], {"VALID": 0, "SAME": 1}[op["padding"]], op["dilation_w"])
        assert layer.in_shape == tuple(tin["shape"][2:]) and layer.out_shape == tuple(tout["shape"][2:])
        s_in, z_in, s_out, z_out, count, lo, hi, act_s, act_z = layer.quant
        assert (s_in, z_in) == (f32(tin["scales"][0]), tin["zero_points"][0])
        assert (s_out, z_out) == (f32(tout["scales"][0]), tout["zero_points"][0])
        assert layer.weight_scales == [f32(s) for s in tw["scales"]] and count == len(tw["scales"])
        assert (lo, hi) == _act_range(op["fused_activation"], s_out, z_out) and (act_s, act_z) == (0.0, 0)
        # LiteRT's PopulateConvolutionQuantizationParams: the double product, then QuantizeMultiplier
        want = [_quantize_multiplier(f32(tin["scales"][0]) * f32(ws) / f32(tout["scales"][0]))
                for ws in tw["scales"]]
        assert list(zip(*layer.mults)) == want
    assert m.input_quantization == (f32(d["input"]["scale"]), d["input"]["zero_point"])
    assert m.output_quantization == (f32(d["output"]["scale"]), d["output"]["zero_point"])
    assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]
    # the file's layers encode back to the same bytes
    data = open(str(out), "rb").read()
    assert af.encode(m.input_shape, [L.spec() for L in m.layers], metadata=m.metadata, version=3) == data


POOL_KINDS = {"MAX_POOL_2D": "max_pooling1d", "AVERAGE_POOL_2D": "average_pooling1d",
              "MEAN": "global_average_pooling1d", "REDUCE_MAX": "global_max_pooling1d"}


@pytest.mark.parametrize("name", POOLS)
def test_pooling_convert_holds_what_litert_reports(name, tmp_path):
    out = tmp_path / (name + ".anne")
    r = run(path(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    m = af.load(str(out))
    d = doc(name)
    tensors = d["tensors"]
    ops = [op for op in d["operators"] if op["opcode"] in ("CONV_2D", "FULLY_CONNECTED") or op["opcode"] in POOL_KINDS]
    kinds = dict(POOL_KINDS, CONV_2D="conv1d", FULLY_CONNECTED="dense")
    assert [L.kind_name for L in m.layers] == [kinds[op["opcode"]] for op in ops]
    for layer, op in zip(m.layers, ops):
        if op["opcode"] not in POOL_KINDS:
            continue
        tin, tout = tensors[op["inputs"][0]], tensors[op["outputs"][0]]
        s_in, z_in, s_out, z_out, count, lo, hi = layer.quant[:7]
        assert (s_in, z_in) == (f32(tin["scales"][0]), tin["zero_points"][0])
        assert (s_out, z_out) == (f32(tout["scales"][0]), tout["zero_points"][0])
        if op["opcode"] == "MEAN":     # LiteRT's PrepareMeanOrSum: QuantizeMultiplier of the scale ratio
            assert count == 1 and layer.mults == _quantize_multiplier(s_in / s_out) and (lo, hi) == (-128, 127)
        else:
            assert count == 0 and (s_in, z_in) == (s_out, z_out)
        if op["opcode"] in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            assert layer.kparams[:3] == (op["filter_width"], op["stride_w"], {"VALID": 0, "SAME": 1}[op["padding"]])
            assert (lo, hi) == _act_range(op["fused_activation"], s_out, z_out)
            assert layer.out_shape == tuple(tout["shape"][2:])
        else:
            assert layer.out_shape == (tout["shape"][-1],)
    assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]
    data = open(str(out), "rb").read()
    assert af.encode(m.input_shape, [L.spec() for L in m.layers], metadata=m.metadata, version=3) == data


def _op(m, name, k=0):
    return [op for op in m["operators"] if op["name"] == name][k]


def test_pooling_bad_models_each_named():
    cases = []
    m = _model("pool1d_chain"); m["tensors"][_op(m, "MAX_POOL_2D")["outputs"][0]]["zero_points"] = [5]
    cases.append((m, "operator 4 MAX_POOL_2D", "differ from the input's"))
    m = _model("pool1d_chain"); _op(m, "AVERAGE_POOL_2D")["options"]["filter_height"] = 2
    cases.append((m, "operator 7 AVERAGE_POOL_2D", "AveragePooling2D"))
    m = _model("pool1d_chain"); _op(m, "AVERAGE_POOL_2D")["options"]["fused_activation"] = "TANH"
    cases.append((m, "operator 7 AVERAGE_POOL_2D", "fused activation TANH"))
    m = _model("pool1d_chain"); m["buffers"][m["tensors"][_op(m, "MEAN")["inputs"][1]]["buffer"]] = struct.pack("<i", 2)
    cases.append((m, "operator 9 MEAN", "axes [2]"))
    m = _model("pool1d_global_max"); m["tensors"][_op(m, "REDUCE_MAX")["outputs"][0]]["scales"] = [0.5]
    cases.append((m, "operator 9 REDUCE_MAX", "differ from the input's"))
    for m, *fragments in cases:
        _refused(m, "bad.tflite: ", *fragments)


def _conv(m, k=0):
    return [op for op in m["operators"] if op["name"] == "CONV_2D"][k]


def test_conv1d_bad_models_each_named():
    cases = []
    m = _model("conv1d_variants"); _conv(m, 1)["options"]["dilation_h"] = 2
    cases.append((m, "operator 4 CONV_2D", "dilation_h 2"))
    m = _model("conv1d_variants"); _conv(m)["options"]["fused_activation"] = "TANH"
    cases.append((m, "operator 1 CONV_2D", "fused activation TANH"))
    m = _model("conv1d_variants"); w = m["tensors"][_conv(m, 2)["inputs"][1]]
    w["zero_points"] = [1] + w["zero_points"][1:]
    cases.append((m, "operator 7 CONV_2D", "symmetric"))
    m = _model("conv1d_variants"); w = m["tensors"][_conv(m, 3)["inputs"][1]]
    w["scales"], w["zero_points"] = w["scales"] * 2, w["zero_points"] * 2
    cases.append((m, "operator 10 CONV_2D", "4 filter scales", "for 2 filters"))
    m = _model("conv1d_dense"); m["tensors"][_conv(m)["inputs"][1]]["shape"] = [4, 3, 1, 2]
    cases.append((m, "operator 1 CONV_2D", "filters must be int8 [filters, 1, kernel_size, 2]"))
    m = _model("conv1d_dense"); m["tensors"][_conv(m)["inputs"][0]]["shape"] = [1, 2, 4, 2]
    cases.append((m, "operator 0 EXPAND_DIMS", "height 1", "operator 1 CONV_2D", "Conv2D"))
    m = _model("conv1d_dense"); m["tensors"][_conv(m)["outputs"][0]]["zero_points"] = [300]
    cases.append((m, "operator 1 CONV_2D", "zero point 300"))
    for m, *fragments in cases:
        _refused(m, "bad.tflite: ", *fragments)


def test_conv1d_summary_names_its_operators():
    r = run(path("conv1d_dense"), "--summary", "-n")
    assert r.returncode == 0, r.stderr
    assert "CONV_2D #1 (RELU)" in r.stdout and "RESHAPE #6 (flatten)" in r.stdout
    assert "EXPAND_DIMS #0 (the height 1 of the operator after it)" in r.stdout
    assert "conv1d kernel_size=3 strides=1 padding=valid dilation_rate=1" in r.stdout


def test_per_tensor_fixture_is_per_tensor():
    m = ti.import_tflite(path("dense_per_tensor"))
    assert [s.quant[4] for s in m.specs] == [1, 1]
    assert all(len(s.weight_scales) > 1 for s in ti.import_tflite(path("dense_relu_chain")).specs)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_operators_all_named_in_one_run(name, tmp_path):
    out = tmp_path / "x.anne"
    r = run(path(name), "-o", str(out))
    assert r.returncode == 1 and not out.exists()
    for what in REFUSED[name]:
        assert what in r.stderr, r.stderr
    assert "not supported in int8 yet" in r.stderr and "nothing written" in r.stderr
    assert r.stderr.count("\n  operator ") == len(REFUSED[name])
    if "SOFTMAX" in r.stderr:
        assert "remove the final Softmax" in r.stderr


def test_summary_shows_int8_and_scales():
    r = run(path("dense_relu_chain"), "--summary", "-n")
    assert r.returncode == 0, r.stderr
    assert "dtype int8: input scale" in r.stdout and "per channel" in r.stdout
    assert "TFLite operators behind each board layer" in r.stdout and "FULLY_CONNECTED #0 (RELU)" in r.stdout
    r = run(path("dense_float_io"), "--summary", "-n")
    assert "QUANTIZE #0" in r.stdout and "DEQUANTIZE #3" in r.stdout


def test_format_versions_other_than_3_refused(tmp_path):
    r = run(path("dense_linear"), "-o", str(tmp_path / "x.anne"), "--format-version", "2")
    assert r.returncode == 1 and "format version 3" in r.stderr and not (tmp_path / "x.anne").exists()


def test_truncated_flatbuffer(tmp_path):
    data = open(path("dense_linear"), "rb").read()
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(data[:len(data) // 2])
    out = tmp_path / "cut.anne"
    r = run(str(bad), "-o", str(out))
    assert r.returncode == 1 and "truncated" in r.stderr and not out.exists()


def test_activation_range_by_hand():
    assert ti.activation_range("NONE", 0.05, -10) == (-128, 127)
    assert ti.activation_range("RELU", 0.05, -10) == (-10, 127)
    assert ti.activation_range("RELU6", 0.05, -10) == (-10, 110)
    assert ti.activation_range("RELU_N1_TO_1", 0.05, -10) == (-30, 10)
    assert ti.activation_range("RELU6", 0.01, -128) == (-128, 127)      # 6 / 0.01 saturates
    assert ti.activation_range("RELU_N1_TO_1", 0.4, 0) == (-3, 3)        # 2.5 rounds away from zero


# --- bad models: the reader's dict of a good model, changed -------------------------------------

def _model(name="dense_linear"):
    return anne_tflite.read_tflite(open(path(name), "rb").read())


def _fc(m, k=0):
    return [op for op in m["operators"] if op["name"] == "FULLY_CONNECTED"][k]


def _refused(m, *fragments):
    with pytest.raises(ti.ConvertError) as e:
        ti.import_model(m, "bad.tflite")
    for f in fragments:
        assert f in str(e.value), str(e.value)
    return str(e.value)


def test_dynamic_range_model_refused_with_settings():
    m = _model()
    for op in m["operators"]:
        for i in op["inputs"][:1] + op["outputs"]:
            m["tensors"][i]["type"] = "float32"
    text = _refused(m, "dynamic-range", "float32 activations, int8 weights", *SETTINGS)
    assert "optimizations = [tf.lite.Optimize.DEFAULT]" in text


def test_float_and_float16_models_refused():
    m = _model()
    for op in m["operators"]:
        for i in op["inputs"][:2] + op["outputs"]:
            m["tensors"][i]["type"] = "float32"
    _refused(m, "a float model", *SETTINGS)
    m = _model()
    m["tensors"][_fc(m)["inputs"][1]]["type"] = "float16"
    m["tensors"][_fc(m)["inputs"][0]]["type"] = "float32"
    _refused(m, "float16", *SETTINGS)


def test_int16_activations_refused():
    m = _model()
    m["tensors"][_fc(m)["inputs"][0]]["type"] = "int16"
    _refused(m, "int16 activations", "TFLITE_BUILTINS_INT8")


def test_bad_quantization_each_named():
    cases = []
    m = _model(); m["tensors"][_fc(m)["inputs"][0]]["scales"] = [0.0]
    cases.append((m, "operator 0 FULLY_CONNECTED", "scale 0.0 (> 0 and finite)"))
    m = _model(); m["tensors"][_fc(m)["inputs"][0]]["scales"] = [-0.5]
    cases.append((m, "scale -0.5"))
    m = _model(); m["tensors"][_fc(m)["inputs"][0]]["zero_points"] = [200]
    cases.append((m, "zero point 200 (-128..127)"))
    m = _model(); w = m["tensors"][_fc(m, 1)["inputs"][1]]; w["scales"] = w["scales"][:2]
    w["zero_points"] = w["zero_points"][:2]
    cases.append((m, "operator 1 FULLY_CONNECTED", "2 weight scales", "for 5 units"))
    m = _model(); w = m["tensors"][_fc(m, 2)["inputs"][1]]; w["scales"] = [w["scales"][0], -1.0, w["scales"][2]]
    cases.append((m, "operator 2 FULLY_CONNECTED", "weight scale -1.0"))
    m = _model(); w = m["tensors"][_fc(m)["inputs"][1]]; w["zero_points"] = [3] + w["zero_points"][1:]
    cases.append((m, "symmetric"))
    m = _model(); _fc(m, 1)["options"]["fused_activation"] = "TANH"
    cases.append((m, "fused activation TANH"))
    m = _model(); m["tensors"][_fc(m)["inputs"][0]]["type"] = "uint8"
    cases.append((m, "uint8 [1, 6]", "take int8 activations"))
    for m, *fragments in cases:
        _refused(m, "bad.tflite: ", *fragments)


def test_several_problems_in_one_message():
    m = _model()
    m["tensors"][_fc(m)["inputs"][0]]["scales"] = [0.0]
    _fc(m, 2)["options"]["fused_activation"] = "SIGN_BIT"
    text = _refused(m, "2 problems", "operator 0 FULLY_CONNECTED", "operator 2 FULLY_CONNECTED")
    assert text.count("\n  ") == 2


def test_custom_and_unknown_operators_named():
    m = _model("dense_relu_softmax")
    m2 = copy.deepcopy(m)
    sm = [op for op in m2["operators"] if op["name"] == "SOFTMAX"][0]
    sm["name"] = "BUILTIN_200"
    _refused(m2, "operator 3 BUILTIN_200: not supported in int8 yet")


# --- bad files through the command line: a fixture's bytes, patched -----------------------------

def _patched(tmp_path, name, old, new, what):
    data = open(path(name), "rb").read()
    assert data.count(old) == 1, what
    bad = tmp_path / (what + ".tflite")
    bad.write_bytes(data.replace(old, new))
    out = tmp_path / (what + ".anne")
    r = run(str(bad), "-o", str(out))
    assert r.returncode == 1 and not out.exists(), r.stderr
    return r.stderr


def test_cli_bad_quantization(tmp_path):
    import struct
    d = doc("dense_linear")
    t_in = d["tensors"][d["operators"][0]["inputs"][0]]
    t_w = d["tensors"][d["operators"][1]["inputs"][1]]
    f = lambda v: struct.pack("<f", v)  # noqa: E731
    err = _patched(tmp_path, "dense_linear", f(t_in["scales"][0]), f(0.0), "scale_0")
    assert "operator 0 FULLY_CONNECTED" in err and "scale 0.0 (> 0 and finite)" in err
    err = _patched(tmp_path, "dense_linear", f(t_w["scales"][2]), f(-t_w["scales"][2]), "weight_scale_negative")
    assert "operator 1 FULLY_CONNECTED" in err and "weight scale -" in err
    err = _patched(tmp_path, "dense_linear", struct.pack("<q", t_in["zero_points"][0]), struct.pack("<q", 200),
                   "zero_point_200")
    assert "zero point 200 (-128..127)" in err
    # the weight-scale vector's length 5 -> 2 (the u32 before its first float)
    n = len(t_w["scales"])
    err = _patched(tmp_path, "dense_linear", struct.pack("<I", n) + f(t_w["scales"][0]),
                   struct.pack("<I", 2) + f(t_w["scales"][0]), "scale_count")
    assert "2 weight scales" in err and "for %d units" % n in err


def test_estimate_refuses_int8(tmp_path):
    r = run(path("dense_relu_chain"), "-o", str(tmp_path / "x.anne"), "--estimate")
    assert r.returncode == 1 and "int8 ones are not estimated yet" in r.stderr


# dense_per_tensor.tflite with its first layer's output scale (float32 bytes)
# replaced, a row, a unit, and what LiteRT 2.3.0's reference kernels
# (BUILTIN_REF) gave for that unit of the first layer's output: rows whose
# accumulator the float32-product multiplier (older TFLite's
# GetQuantizedConvolutionMultipler) rounds one step higher than the
# double-product one. LiteRT computes the double product.
PER_TENSOR_CASES = [
    ("faf75d3c", [107, 16, -60, -107, -92, 22], 2, -3),
    ("06f85d3c", [-110, -98, -32, -78, 81, 61], 1, -11),
    ("14f85d3c", [-108, -104, -123, 67, -52, -95], 2, -92),
    ("24f85d3c", [-78, 90, -19, 4, -97, 44], 4, -27),
]


@pytest.mark.parametrize("scale_hex,row,unit,litert", PER_TENSOR_CASES)
def test_per_tensor_multiplier_is_litert_s(scale_hex, row, unit, litert):
    import struct
    data = open(path("dense_per_tensor"), "rb").read()
    d = doc("dense_per_tensor")
    t_out = d["tensors"][d["operators"][0]["outputs"][0]]
    old = struct.pack("<f", t_out["scales"][0])
    assert data.count(old) == 1
    m = ti.import_model(anne_tflite.read_tflite(data.replace(old, bytes.fromhex(scale_hex))))
    layer = af.parse(m.encode()).layers[0]
    assert layer.quant[4] == 1
    assert layer.forward_int8(np.array([row]))[0, unit] == litert
    # and the float32 product would not have given it
    s_in, _, s_out, z_out = layer.quant[:4]
    sf = float(np.float32(s_in) * np.float32(layer.weight_scales[0])) / s_out
    assert sf != layer.scales[0]
    layer.scales = [sf]
    assert layer.forward_int8(np.array([row]))[0, unit] == litert + 1


SWEEPS = {"act_sigmoid_sweep": "LOGISTIC", "act_sigmoid_fine_sweep": "LOGISTIC", "act_tanh_sweep": "TANH",
          "act_tanh_coarse_sweep": "TANH", "act_gelu_sweep": "GELU", "act_leaky_relu_sweep": "LEAKY_RELU",
          "act_leaky_relu_small_sweep": "LEAKY_RELU", "act_softmax_sweep": "SOFTMAX",
          "act_softmax_coarse_sweep": "SOFTMAX", "act_hard_swish_sweep": "HARD_SWISH",
          "act_hard_swish_coarse_sweep": "HARD_SWISH", "act_hard_swish_fine_sweep": "HARD_SWISH",
          "act_elu_sweep": "ELU"}


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_activation_data_gives_litert_outputs_for_every_int8_input(name):
    # The sweeps run the operator alone on every int8 value (LiteRT's
    # reference kernels, recorded): the table (or softmax's parameters) the
    # converter stores must give each recorded output.
    import anne_int8_act
    import anne_tflite_act
    d = doc(name)
    op, t = d["operators"][0], d["tensors"]
    assert op["opcode"] == SWEEPS[name]
    i, o = op["inputs"][0], op["outputs"][0]
    q = lambda k: (t[k]["scales"][0], t[k]["zero_points"][0])  # noqa: E731
    _, data = anne_tflite_act.post(op["opcode"], op, q(i), q(o))
    depth = t[i]["shape"][-1]
    seen = set()
    for row in d["tensor_values"]:
        x, y = np.array(row[str(i)]).reshape(-1), np.array(row[str(o)]).reshape(-1)
        seen |= set(x.tolist())
        if op["opcode"] == "SOFTMAX":
            got = sum((anne_int8_act.softmax(x[k:k + depth].tolist(), data) for k in range(0, len(x), depth)), [])
        else:
            got = anne_int8_act.lookup(x.tolist(), data)
        assert got == y.tolist()
    assert seen == set(range(-128, 128))


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_an_activation_that_follows_no_dense_is_refused(name, tmp_path):
    r = run(path(name), "-o", str(tmp_path / "x.anne"))
    assert r.returncode == 1 and "right after a FULLY_CONNECTED" in r.stderr, r.stderr
