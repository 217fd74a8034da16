"""anne-convert on a .tflite with 2-D layers (tools/anne_tflite_conv2d.py):
CONV_2D, DEPTHWISE_CONV_2D, PAD, MAX/AVERAGE_POOL_2D, MEAN and REDUCE_MAX
over the plane become int8 conv2d, depthwise_conv2d, zero_padding2d and
2-D pooling layers holding what LiteRT reported for the same model
(tests/fixtures/int8/int8_conv2d_*.json, written by
tools/make_int8_conv2d_fixtures.py with TensorFlow's converter and
LiteRT's reference kernels); the numpy reference (tools/anne_int8_ref.py)
gives LiteRT's outputs bit for bit, every row and every layer; bad
models are refused naming each problem. Dilated convolutions as TensorFlow
writes them (SPACE_TO_BATCH_ND, an undilated CONV_2D or DEPTHWISE_CONV_2D,
BATCH_TO_SPACE_ND, then an ADD of the bias; tests/fixtures/int8/*dilated*,
tools/make_int8_fixtures.py) become one dilated convolution and an int8
affine layer."""
import copy
import struct

import numpy as np
import pytest

import anne_format as af
from test_tflite_import import CONV2D, DILATED, _act_range, _model, _quantize_multiplier, _refused, doc, f32, path, run

PADDING = {"VALID": 0, "SAME": 1}
KINDS = {"CONV_2D": "conv2d", "DEPTHWISE_CONV_2D": "depthwise_conv2d", "PAD": "zero_padding2d",
         "MAX_POOL_2D": "max_pooling2d", "AVERAGE_POOL_2D": "average_pooling2d",
         "MEAN": "global_average_pooling2d", "REDUCE_MAX": "global_max_pooling2d", "RESHAPE": "flatten",
         "FULLY_CONNECTED": "dense"}


def _converted(name, tmp_path):
    out = tmp_path / (name + ".anne")
    r = run(path(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return af.load(str(out)), open(str(out), "rb").read()


def _pairs(m, d):
    """(layer, operator) for each layer of m and the operator it came from."""
    ops = [op for op in d["operators"] if op["opcode"] in KINDS and (op["opcode"] != "RESHAPE" or
                                                                    len(d["tensors"][op["outputs"][0]]["shape"]) == 2)]
    assert [L.kind_name for L in m.layers] == [KINDS[op["opcode"]] for op in ops]
    return list(zip(m.layers, ops))


@pytest.mark.parametrize("name", CONV2D)
def test_conv2d_convert_holds_what_litert_reports(name, tmp_path):
    m, data = _converted(name, tmp_path)
    d = doc(name)
    tensors = d["tensors"]
    assert m.version == 3 and m.dtype == "int8" and m.input_shape == tuple(d["input"]["shape"][1:])
    for layer, op in _pairs(m, d):
        tin, tout = tensors[op["inputs"][0]], tensors[op["outputs"][0]]
        s_in, z_in, s_out, z_out, count, lo, hi, act_s, act_z = layer.quant
        assert (s_in, z_in) == (f32(tin["scales"][0]), tin["zero_points"][0])
        assert (s_out, z_out) == (f32(tout["scales"][0]), tout["zero_points"][0])
        code = op["opcode"]
        if code in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            tw = tensors[op["inputs"][1]]
            if code == "CONV_2D":
                filters, kh, kw, cin = tw["shape"]
                assert layer.kernel.shape == (filters, kh, kw, cin)
                assert layer.kparams[:7] == (kh, kw, op["stride_h"], op["stride_w"], PADDING[op["padding"]],
                                             op["dilation_h"], op["dilation_w"])
            else:
                one, kh, kw, cout = tw["shape"]
                assert one == 1 and layer.kernel.shape == (kh, kw, cout) and tw["quantized_dimension"] == 3
                assert layer.kparams == (kh, kw, op["stride_h"], op["stride_w"], PADDING[op["padding"]],
                                         cout // tin["shape"][3], 1, 1)
            assert layer.kernel.reshape(-1).tolist() == tw["values"]
            assert layer.bias.tolist() == tensors[op["inputs"][2]]["values"]
            assert layer.weight_scales == [f32(s) for s in tw["scales"]] and count == len(tw["scales"])
            assert (lo, hi) == _act_range(op["fused_activation"], s_out, z_out) and (act_s, act_z) == (0.0, 0)
            # LiteRT's PopulateConvolutionQuantizationParams: the double product, then QuantizeMultiplier
            want = [_quantize_multiplier(f32(tin["scales"][0]) * f32(ws) / f32(tout["scales"][0]))
                    for ws in tw["scales"]]
            assert list(zip(*layer.mults)) == want
            assert layer.out_shape == tuple(tout["shape"][1:])
        elif code == "MEAN":
            assert count == 1 and layer.mults == _quantize_multiplier(s_in / s_out) and (lo, hi) == (-128, 127)
        elif code in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            assert layer.kparams[:5] == (op["filter_height"], op["filter_width"], op["stride_h"], op["stride_w"],
                                         PADDING[op["padding"]])
            assert (lo, hi) == _act_range(op["fused_activation"], s_out, z_out) and count == 0
            assert layer.out_shape == tuple(tout["shape"][1:])
        elif code == "PAD":
            pads = tensors[op["inputs"][1]]["values"]
            assert layer.kparams[:4] == tuple(pads[2:6]) and layer.out_shape == tuple(tout["shape"][1:])
            assert count == 0 and (s_in, z_in) == (s_out, z_out)
    assert m.input_quantization == (f32(d["input"]["scale"]), d["input"]["zero_point"])
    assert m.output_quantization == (f32(d["output"]["scale"]), d["output"]["zero_point"])
    # the file's layers encode back to the same bytes
    assert af.encode(m.input_shape, [L.spec() for L in m.layers], metadata=m.metadata, version=3) == data


@pytest.mark.parametrize("name", CONV2D)
def test_conv2d_reference_gives_litert_s_outputs_every_row(name, tmp_path):
    m, _ = _converted(name, tmp_path)
    d = doc(name)
    assert len(d["rows"]) == 16
    assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]


@pytest.mark.parametrize("name", CONV2D)
def test_conv2d_each_layer_gives_litert_s_tensor(name, tmp_path):
    """Each layer on LiteRT's own input tensor gives LiteRT's output tensor
    (experimental_preserve_all_tensors), every row."""
    m, _ = _converted(name, tmp_path)
    d = doc(name)
    for layer, op in _pairs(m, d):
        tin, tout = str(op["inputs"][0]), str(op["outputs"][0])
        xs = np.array([v[tin] for v in d["tensor_values"]])
        want = [v[tout] for v in d["tensor_values"]]
        got = layer.forward_int8(xs).reshape(len(xs), -1).tolist()
        if layer.kind_name == "dense" and layer.activation != "linear":
            continue   # (its output tensor is the activation's)
        assert got == want, (name, op["opcode"])


def _first(m, name, k=0):
    return [op for op in m["operators"] if op["name"] == name][k]


def test_conv2d_bad_models_each_named():
    cases = []
    m = _model("int8_conv2d_ds_cnn"); w = m["tensors"][_first(m, "CONV_2D")["inputs"][1]]
    w["scales"] = w["scales"][:3]; w["zero_points"] = w["zero_points"][:3]
    cases.append((m, "operator 0 CONV_2D", "3 filter scales (quantized_dimension 0) for 4 filters"))
    m = _model("int8_conv2d_ds_cnn"); w = m["tensors"][_first(m, "DEPTHWISE_CONV_2D")["inputs"][1]]
    w["quantized_dimension"] = 0
    cases.append((m, "operator 1 DEPTHWISE_CONV_2D", "one per channel along dimension 3"))
    m = _model("int8_conv2d_ds_cnn"); _first(m, "CONV_2D", 1)["options"]["fused_activation"] = "TANH"
    cases.append((m, "operator 2 CONV_2D", "fused activation TANH"))
    m = _model("int8_conv2d_ds_cnn"); w = m["tensors"][_first(m, "CONV_2D")["inputs"][1]]
    w["scales"] = [0.0] + w["scales"][1:]
    cases.append((m, "operator 0 CONV_2D", "filter scale 0.0"))
    m = _model("int8_conv2d_ds_cnn"); m["tensors"][_first(m, "AVERAGE_POOL_2D")["outputs"][0]]["zero_points"] = [5]
    cases.append((m, "operator 3 AVERAGE_POOL_2D", "differ from the input's"))
    m = _model("int8_conv2d_mobilenet"); p = m["tensors"][_first(m, "PAD")["inputs"][1]]
    m["buffers"][p["buffer"]] = struct.pack("<8i", 1, 0, 1, 0, 1, 2, 0, 0)
    cases.append((m, "operator 0 PAD", "paddings [1, 0, 1, 0, 1, 2, 0, 0]"))
    m = _model("int8_conv2d_mobilenet"); a = m["tensors"][_first(m, "MEAN")["inputs"][1]]
    m["buffers"][a["buffer"]] = struct.pack("<2i", 1, 3)
    cases.append((m, "operator 4 MEAN", "axes [1, 3]"))
    m = _model("int8_conv2d_mobilenet"); m["tensors"][_first(m, "DEPTHWISE_CONV_2D")["inputs"][0]]["zero_points"] = [3]
    cases.append((m, "operator 0 PAD", "differ from the input's"))
    m = _model("int8_conv2d_mobilenet"); _first(m, "DEPTHWISE_CONV_2D")["options"]["depth_multiplier"] = 3
    cases.append((m, "operator 1 DEPTHWISE_CONV_2D", "depth_multiplier 3, but 2 channels in and 4 out"))
    m = _model("int8_conv2d_mobilenet"); w = m["tensors"][_first(m, "CONV_2D")["inputs"][1]]
    w["type"] = "int16"
    cases.append((m, "operator 2 CONV_2D", "filters must be int8"))
    m = _model("int8_conv2d_global_max"); m["tensors"][_first(m, "REDUCE_MAX")["outputs"][0]]["scales"] = [0.5]
    cases.append((m, "operator 4 REDUCE_MAX", "differ from the input's"))
    for m, *fragments in cases:
        _refused(m, "bad.tflite: ", *fragments)


def test_conv2d_problems_all_in_one_run():
    m = _model("int8_conv2d_ds_cnn")
    _first(m, "CONV_2D")["options"]["fused_activation"] = "TANH"
    _first(m, "DEPTHWISE_CONV_2D")["options"]["padding"] = "?"
    text = _refused(m, "2 problems", "operator 0 CONV_2D", "operator 1 DEPTHWISE_CONV_2D", "padding ?")
    assert "nothing written" in text


def test_conv2d_summary_names_its_operators(tmp_path):
    r = run(path("int8_conv2d_mobilenet"), "-o", str(tmp_path / "x.anne"), "--summary")
    assert r.returncode == 0, r.stderr
    for what in ("PAD #0", "DEPTHWISE_CONV_2D #1 (RELU)", "MEAN #4"):
        assert what in r.stdout, r.stdout


def test_board_files_are_what_the_converter_writes():
    import os
    import make_int8_conv2d_board
    for name, data in make_int8_conv2d_board.board_files():
        with open(os.path.join(make_int8_conv2d_board.ROOT, "tests", "fixtures", "int8_2d", name), "rb") as f:
            assert f.read() == data, "%s: run tools/make_int8_conv2d_board.py" % name


def test_bad_2d_records_refused_by_the_reader():
    import json
    import os
    import make_int8_conv2d_board
    d = os.path.join(make_int8_conv2d_board.ROOT, "tests", "fixtures", "int8_2d")
    with open(os.path.join(d, "bad.json")) as f:
        bad = json.load(f)
    assert len(bad) == 5
    for entry in bad:
        with pytest.raises(ValueError) as e:
            af.parse(open(os.path.join(d, entry["file"]), "rb").read())
        assert entry["expect"] in str(e.value) and "bad int8 parameters" in str(e.value), str(e.value)


# --- dilated convolutions ---------------------------------------------------------------------------

# What the generator's Keras models have (tools/make_int8_fixtures.py), each
# dilated convolution in order: (anne kind, kernel, dilation, padding).
DILATED_LAYERS = {
    "conv1d_dilated": [("conv1d", (3,), (2,), "same"), ("conv1d", (2,), (3,), "valid"),
                       ("conv1d", (3,), (2,), "valid"), ("conv1d", (2,), (3,), "same")],
    "conv1d_dilated_chain": [("conv1d", (3,), (2,), "same"), ("conv1d", (2,), (3,), "valid")],
    "conv2d_dilated_int8": [("conv2d", (3, 3), (2, 2), "same"), ("depthwise_conv2d", (3, 3), (2, 2), "valid"),
                            ("conv2d", (2, 3), (2, 1), "valid"), ("depthwise_conv2d", (2, 2), (2, 2), "same")],
}


def _dilated_pairs(m, d):
    """(layer, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND) for each dilated
    convolution: the layers of m that are convolutions, in order."""
    ops = d["operators"]
    s2b = [op for op in ops if op["opcode"] == "SPACE_TO_BATCH_ND"]
    b2s = [op for op in ops if op["opcode"] == "BATCH_TO_SPACE_ND"]
    convs = [L for L in m.layers if L.kind_name in ("conv1d", "conv2d", "depthwise_conv2d")]
    assert len(convs) == len(s2b) == len(b2s)
    return list(zip(convs, s2b, b2s))


@pytest.mark.parametrize("name", DILATED)
def test_dilated_convert_gives_litert_s_outputs_every_row(name, tmp_path):
    m, _ = _converted(name, tmp_path)
    d = doc(name)
    assert len(d["rows"]) == 16 and m.dtype == "int8"
    assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]


@pytest.mark.parametrize("name", DILATED)
def test_dilated_layers_hold_the_keras_dilation_and_padding(name, tmp_path):
    m, _ = _converted(name, tmp_path)
    d = doc(name)
    pairs = _dilated_pairs(m, d)
    assert len(pairs) == len(DILATED_LAYERS[name])
    for (L, s2b, b2s), (kind, kernel, dilation, padding) in zip(pairs, DILATED_LAYERS[name]):
        assert L.kind_name == kind
        pad = PADDING[padding.upper()]
        if kind == "conv1d":
            assert L.kparams[:4] == (kernel[0], 1, pad, dilation[0])
        elif kind == "conv2d":
            assert L.kparams[:7] == kernel + (1, 1, pad) + dilation
        else:
            assert L.kparams[:5] == kernel + (1, 1, pad) and L.kparams[6:8] == dilation
        # the SPACE_TO_BATCH_ND's input in, the BATCH_TO_SPACE_ND's output out
        tin, tout = d["tensors"][s2b["inputs"][0]], d["tensors"][b2s["outputs"][0]]
        assert L.in_shape == tuple(tin["shape"][1:]) and L.out_shape == tuple(tout["shape"][1:])
        assert L.quant[0:4] == (f32(tin["scales"][0]), tin["zero_points"][0], f32(tout["scales"][0]),
                                tout["zero_points"][0])


@pytest.mark.parametrize("name", DILATED)
def test_dilated_each_layer_gives_litert_s_tensor(name, tmp_path):
    """Each dilated convolution on LiteRT's SPACE_TO_BATCH_ND input gives
    LiteRT's BATCH_TO_SPACE_ND output, and each bias ADD's affine layer its
    ADD's output, every row."""
    m, _ = _converted(name, tmp_path)
    d = doc(name)
    values = d["tensor_values"]
    checked = 0
    for L, s2b, b2s in _dilated_pairs(m, d):
        xs = np.array([v[str(s2b["inputs"][0])] for v in values])
        assert L.forward_int8(xs).reshape(len(xs), -1).tolist() == [v[str(b2s["outputs"][0])] for v in values]
        checked += 1
    adds = [op for op in d["operators"] if op["opcode"] == "ADD"]
    affine = [L for L in m.layers if L.kind_name == "affine"]
    assert len(adds) == len(affine)
    for L, op in zip(affine, adds):
        xs = np.array([v[str(op["inputs"][0])] for v in values])
        assert L.forward_int8(xs).reshape(len(xs), -1).tolist() == [v[str(op["outputs"][0])] for v in values]
        checked += 1
    assert checked == len(DILATED_LAYERS[name]) * (1 if name == "conv1d_dilated_chain" else 2)


def test_dilated_summary_names_the_operators_it_folds(tmp_path):
    r = run(path("conv2d_dilated_int8"), "-o", str(tmp_path / "x.anne"), "--summary")
    assert r.returncode == 0, r.stderr
    for what in ("CONV_2D #1 (NONE)", "ADD #3 (RELU", "DEPTHWISE_CONV_2D #5 (NONE)",
                 "SPACE_TO_BATCH_ND #0 (a dilated convolution's: CONV_2D #1)",
                 "BATCH_TO_SPACE_ND #6 (a dilated convolution's: DEPTHWISE_CONV_2D #5)"):
        assert what in r.stdout, r.stdout


def _const(m, op, slot, values):
    """Operator op's input `slot` made a new int32 constant (its own tensor
    and buffer: the converter shares them between operators)."""
    t = dict(m["tensors"][op["inputs"][slot]], buffer=len(m["buffers"]), shape=[len(values) // 2, 2]
             if slot == 2 else [len(values)])
    m["buffers"].append(struct.pack("<%di" % len(values), *values))
    m["tensors"].append(t)
    op["inputs"] = list(op["inputs"])
    op["inputs"][slot] = len(m["tensors"]) - 1


def test_dilated_bad_patterns_each_named():
    cases = []
    # crops that make the padding neither VALID nor SAME (conv1d_dilated's first: paddings [2, 3], crops [0, 1])
    m = _model("conv1d_dilated"); _const(m, _first(m, "BATCH_TO_SPACE_ND"), 2, [0, 0])
    cases.append((m, "operator 0 SPACE_TO_BATCH_ND", "paddings [2, 3], crops [0, 0] around a 3 kernel",
                  "not a dilated convolution with VALID or SAME padding (it would pad [2] before and [3] after)"))
    m = _model("conv2d_dilated_int8"); _const(m, _first(m, "SPACE_TO_BATCH_ND"), 2, [1, 3, 2, 2])
    cases.append((m, "operator 0 SPACE_TO_BATCH_ND", "it would pad [1, 2] before and [2, 2] after"))
    # a block of its own for the BATCH_TO_SPACE_ND
    m = _model("conv2d_dilated_int8"); _const(m, _first(m, "BATCH_TO_SPACE_ND", 1), 1, [2, 1])
    cases.append((m, "operator 4 SPACE_TO_BATCH_ND", "block shapes [2, 2] and [2, 1]"))
    # a 2-D block on a Conv1D's steps
    m = _model("conv1d_dilated_chain"); _const(m, _first(m, "SPACE_TO_BATCH_ND"), 1, [2, 2])
    cases.append((m, "operator 0 SPACE_TO_BATCH_ND", "block shapes [2, 2] and [2]", "[1, steps, channels] (a Conv1D)"))
    # the convolution between them strided, or padded itself
    m = _model("conv2d_dilated_int8"); _first(m, "DEPTHWISE_CONV_2D")["options"]["stride_w"] = 2
    cases.append((m, "operator 4 SPACE_TO_BATCH_ND", "DEPTHWISE_CONV_2D #5 between them has padding VALID, "
                  "strides 1x2"))
    m = _model("conv1d_dilated_chain"); _first(m, "CONV_2D", 1)["options"]["padding"] = "SAME"
    cases.append((m, "operator 5 SPACE_TO_BATCH_ND", "CONV_2D #7 between them has padding SAME"))
    # a requantizing SPACE_TO_BATCH_ND
    m = _model("conv1d_dilated_chain"); m["tensors"][_first(m, "SPACE_TO_BATCH_ND")["outputs"][0]]["zero_points"] = [3]
    cases.append((m, "operator 0 SPACE_TO_BATCH_ND", "SPACE_TO_BATCH_ND changes the quantization"))
    # not the converter's pattern: a SPACE_TO_BATCH_ND read by two operators, a BATCH_TO_SPACE_ND alone
    m = _model("conv2d_dilated_int8"); s2b = _first(m, "SPACE_TO_BATCH_ND")
    m["operators"].append(dict(_first(m, "MEAN"), inputs=[s2b["outputs"][0]] + _first(m, "MEAN")["inputs"][1:]))
    cases.append((m, "operator 0 SPACE_TO_BATCH_ND: anne takes it only as TensorFlow's converter writes a dilated "
                  "convolution", "operator 2 BATCH_TO_SPACE_ND: anne takes it only as the end of a dilated"))
    for m, *fragments in cases:
        _refused(m, "bad.tflite: ", *fragments)


def test_dilated_fold_leaves_the_model_as_it_was():
    m = _model("conv2d_dilated_int8")
    before = copy.deepcopy(m)
    import anne_tflite_import
    anne_tflite_import.import_model(m, "x.tflite")
    assert m == before


# --- causal Conv1D ---------------------------------------------------------------------------------
# tools/make_int8_fixtures.py's conv1d_causal_dilated: Keras Conv1D(4, 3, dilation_rate=2), Conv1D(3, 2,
# dilation_rate=3), Conv1D(4, 3, strides=2), each padding="causal": TensorFlow writes a PAD of the steps
# before each (then the dilated pattern, or the plain VALID CONV_2D).
CAUSAL_CONV1D = [(3, 1, 2, 2), (2, 1, 2, 3), (3, 2, 2, 1)]   # (kernel_size, strides, padding causal, dilation)


def test_causal_conv1d_takes_its_pad(tmp_path):
    """Each PAD becomes its Conv1D's causal padding: LiteRT's outputs on
    every row; each Conv1D on LiteRT's PAD input gives LiteRT's tensor
    after the convolution (the BATCH_TO_SPACE_ND's, or the RESHAPE's)."""
    m, _ = _converted("conv1d_causal_dilated", tmp_path)
    d = doc("conv1d_causal_dilated")
    assert len(d["rows"]) == 16 and m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]
    convs = [L for L in m.layers if L.kind_name == "conv1d"]
    assert [L.kparams[:4] for L in convs] == CAUSAL_CONV1D
    ops = d["operators"]
    pads = [op for op in ops if op["opcode"] == "PAD"]
    last_conv = [op for op in ops if op["opcode"] == "CONV_2D"][-1]
    ends = [op["outputs"][0] for op in ops if op["opcode"] == "BATCH_TO_SPACE_ND"] + \
        [op["outputs"][0] for op in ops if op["opcode"] == "RESHAPE" and op["inputs"][0] == last_conv["outputs"][0]]
    values = d["tensor_values"]
    for L, pad, end in zip(convs, pads, ends):
        xs = np.array([v[str(pad["inputs"][0])] for v in values])
        assert L.in_shape == tuple(d["tensors"][pad["inputs"][0]]["shape"][1:])
        assert L.forward_int8(xs).reshape(len(xs), -1).tolist() == [v[str(end)] for v in values]


def test_a_pad_of_more_than_the_steps_is_refused_saying_so():
    m = _model("conv1d_causal_dilated"); _const(m, _first(m, "PAD", 2), 1, [1, 0, 2, 0, 0, 0])
    _refused(m, "bad.tflite: ", "operator 14 PAD: paddings [1, 0, 2, 0, 0, 0] of tensor",
             "anne pads the steps (constant [[0, 0], [before, after], [0, 0]]")


# tools/make_int8_fixtures.py's conv1d_depthwise_pad: ZeroPadding1D((2, 1)), Conv1D(4, 3), DepthwiseConv1D(3,
# padding="same", depth_multiplier=2), SeparableConv1D(5, 3): the steps as an image of height 1.
DEPTHWISE_1D = ["reshape", "zero_padding2d", "reshape", "conv1d", "reshape", "depthwise_conv2d", "reshape",
                "reshape", "depthwise_conv2d", "conv2d", "reshape", "global_average_pooling1d", "dense"]


def test_zero_padding_and_depthwise_1d_run_as_images_of_height_1(tmp_path):
    """LiteRT's outputs on every row; the padding and each depthwise or
    pointwise convolution on LiteRT's input tensor gives LiteRT's output."""
    m, _ = _converted("conv1d_depthwise_pad", tmp_path)
    d = doc("conv1d_depthwise_pad")
    assert len(d["rows"]) == 16 and m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]
    assert [L.kind_name for L in m.layers] == DEPTHWISE_1D
    assert m.layers[1].kparams[:4] == (0, 0, 2, 1) and m.layers[0].in_shape == (12, 3)
    assert m.layers[5].kparams[:6] == (1, 3, 1, 1, 1, 2) and m.layers[8].kparams[:6] == (1, 3, 1, 1, 0, 1)
    ops = [op for op in d["operators"] if op["opcode"] in ("PAD", "DEPTHWISE_CONV_2D", "CONV_2D")]
    values = d["tensor_values"]
    for L, op in zip([m.layers[i] for i in (1, 3, 5, 8, 9)], ops):
        xs = np.array([v[str(op["inputs"][0])] for v in values])
        assert L.forward_int8(xs).reshape(len(xs), -1).tolist() == [v[str(op["outputs"][0])] for v in values]
