"""anne-convert --quantize int8 (tools/anne_quantize.py) against
TensorFlow's own converter: tests/fixtures/quant/, written by
tools/make_int8_quant_fixtures.py (TensorFlow 2.21, ai-edge-litert 2.3): per
model the float Keras model, the calibration rows given to the converter as
its representative data set, the converter's full-integer .tflite, and int8
rows with LiteRT's (reference kernels') outputs for that .tflite. Dense
chains, and convolutional chains (Conv1D, Conv2D, DepthwiseConv2D, pooling,
ZeroPadding2D, a folded BatchNormalization, Flatten), and graphs (ADD with
a fused RELU, SUB; CONCATENATION of two and of three Dense branches)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, ROOT
import anne_format as af
import anne_quantize
import anne_tflite_import as ti

QUANT = os.path.join(FIXTURES, "quant")
CONVERT = os.path.join(ROOT, "tools", "anne_convert.py")
MODELS = sorted(n[len("quant_"):-len(".keras")] for n in os.listdir(QUANT) if n.endswith(".keras"))


def base(name):
    return os.path.join(QUANT, "quant_" + name)


def quantized(name, tmp_path):
    out = tmp_path / (name + ".anne")
    r = subprocess.run([sys.executable, CONVERT, base(name) + ".keras", "--quantize", "int8", "--calibration",
                        base(name) + "_calibration.npy", "-o", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return af.load(str(out))


# a graph's layers whose outputs feed an ADD or SUB
FEEDS_A_MERGE = {"resnet": (1, 3)}


def test_the_fixtures_are_there():
    assert MODELS == ["cnn1d", "cnn2d", "cnn2d_pad", "concat", "hard_swish", "linear", "relu6_sigmoid",
                      "relu_softmax", "resnet", "tables", "tanh_wide"]


def test_concatenates_inputs_take_its_quantization(tmp_path):
    # TensorFlow's converter gives each CONCATENATION input the join's own
    # quantization (its calibrated range: the joined values'); so do we
    ours = quantized("concat", tmp_path)
    theirs = ti.import_tflite(base("concat") + ".tflite").specs
    for i in (2, 6):
        cat = ours.layers[i]
        assert cat.kind == af.anne_ops.LAYER_CONCATENATE and theirs[i].kind == af.anne_ops.LAYER_CONCATENATE
        assert [ours.layers[j].quant[2:4] for j in cat.inputs] == [cat.quant[2:4]] * len(cat.inputs), i
        assert cat.quant[2:4] == theirs[i].quant[2:4], i


@pytest.mark.parametrize("name", MODELS)
def test_quantization_is_tensorflows(name, tmp_path):
    ours = quantized(name, tmp_path)
    theirs = ti.import_tflite(base(name) + ".tflite").specs
    assert ours.dtype == "int8" and len(ours.layers) == len(theirs)
    assert ours.input_quantization == theirs[0].quant[0:2]    # the calibration rows themselves: exact
    for i, (a, b) in enumerate(zip(ours.layers, theirs)):
        assert a.kind == b.kind and tuple(a.kparams) == tuple(getattr(b, "kparams", a.kparams)), i
        assert a.quant[5:7] == b.quant[5:7], i
        # activation scales: TensorFlow calibrates with its own float kernels
        # (a float32 step or two apart); its one rule we do not follow (it
        # moves a linear Dense layer's bias into the next layer) moves more
        moved = name == "linear" and i == 0
        # a graph: TensorFlow calibrates a tensor that feeds an ADD or SUB by
        # a rule of its own (the SUB's first input takes the SUB's output
        # quantization; the ADD's second a wider range); ours is the
        # tensor's own range, as for every other tensor
        pairs = [] if i in FEEDS_A_MERGE.get(name, ()) else [(a.quant[2:4], b.quant[2:4])]
        if b.kernel is not None:
            assert a.kernel.tolist() == b.kernel.tolist(), i
            # a folded BatchNormalization: the converter folds it with its
            # own float32 operations (the int8 weights are the same)
            folded = name == "cnn2d_pad" and i == 1
            assert np.allclose(a.weight_scales, b.weight_scales, rtol=3e-7, atol=0) if folded \
                else a.weight_scales == b.weight_scales, i
            if name != "linear":
                assert a.bias.tolist() == b.bias.tolist(), i
        if b.kind == af.KIND_DENSE:
            assert a.activation == b.activation, i
            pairs.append((a.quant[7:9], b.act_q))
        for got, want in pairs:
            assert abs(got[0] - want[0]) <= (3e-3 if moved else 3e-7) * want[0], (i, got, want)
            assert got[1] == want[1] or moved, (i, got, want)


@pytest.mark.parametrize("name", MODELS)
def test_outputs_within_one_step_of_litert(name, tmp_path):
    ours = quantized(name, tmp_path)
    with open(base(name) + ".json") as f:
        d = json.load(f)
    got = ours.forward_int8(np.array(d["rows"]))
    want = np.array(d["outputs"])
    diff = np.abs(got.astype(int) - want)
    if name == "linear":   # TensorFlow moved the first layer's bias: within one step
        assert diff.max() <= 1, diff.max()
    elif name in FEEDS_A_MERGE:   # (the merges' inputs calibrated otherwise: measured)
        assert diff.max() <= 4 and (diff <= 1).mean() >= 0.8, (diff.max(), (diff <= 1).mean())
    else:                  # the same int8 network: LiteRT's outputs exactly
        assert diff.max() == 0, diff.max()


def test_bad_calibration_and_layers(tmp_path):
    import anne_convert
    conv = anne_convert.convert(base("relu_softmax") + ".keras")
    for rows, what in ((np.zeros((3, 5), np.float32), "rows x 6 inputs"),
                       (np.zeros((0, 6), np.float32), "rows x 6 inputs"),
                       (np.full((2, 6), np.nan, np.float32), "finite")):
        with pytest.raises(anne_convert.ConvertError, match=what):
            anne_quantize.quantize(conv, rows)
    r = subprocess.run([sys.executable, CONVERT, base("relu_softmax") + ".keras", "--quantize", "int8",
                        "-o", str(tmp_path / "x.anne")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "go together" in r.stderr
    conv.specs[1].activation = "selu"
    with pytest.raises(anne_convert.ConvertError, match="layer 1: activation selu has no int8 form"):
        anne_quantize.quantize(conv, np.load(base("relu_softmax") + "_calibration.npy"))


def test_layers_without_an_int8_form_are_listed_together():
    import anne_convert
    conv = anne_convert.convert(base("cnn2d") + ".keras")
    rows = np.load(base("cnn2d") + "_calibration.npy")
    conv.specs[0].activation = "tanh"                  # a convolution takes only a clamp in int8
    # an unfolded BatchNormalization (affine) in place of the MaxPooling2D
    conv.specs[1] = af.LayerSpec("linear", np.ones(4, np.float32), np.zeros(4, np.float32), kind="affine",
                                 kparams=(0,))
    with pytest.raises(anne_convert.ConvertError) as e:
        anne_quantize.quantize(conv, rows)
    msg = str(e.value)
    assert "layer 0: activation tanh has no int8 form here in a conv2d (linear, relu, relu6 do)" in msg, msg
    assert "layer 1 is affine: int8 quantization covers Dense, Conv1D, Conv2D" in msg, msg
    with pytest.raises(anne_convert.ConvertError, match="rows x 64 inputs"):
        anne_quantize.quantize(anne_convert.convert(base("cnn2d") + ".keras"), rows.reshape(-1, 8, 8))
    # Bad input from the PC tools is a ValueError, as on the board.
    with pytest.raises(ValueError, match="rows x 64 inputs"):
        anne_quantize.quantize(anne_convert.convert(base("cnn2d") + ".keras"), rows.reshape(-1, 8, 8))


@pytest.mark.parametrize("name", ["relu_softmax", "tanh_wide", "cnn2d", "hard_swish", "concat", "tables", "resnet",
                                  "merges"])
def test_board_fixtures_are_up_to_date(name):
    # tests/board/test_quantize*.py compare net.quantize(rows) on the board
    # with these (tools/make_quant_board_fixtures.py): the float file as
    # anne-convert writes it, the rows, and the PC quantizer's int8 file
    import make_quant_board_fixtures as mk
    want = mk.files(name)
    assert len(want) >= 2
    for fname, data in want.items():
        with open(os.path.join(QUANT, fname), "rb") as f:
            assert f.read() == data, fname


def test_merges_board_fixture():
    # quant_merges (made from numpy weights, no Keras model): each int8
    # merge; every float value exact (multiples of powers of two, sums far
    # below 2**24 of them): any order of the sums calibrates the same ranges
    import make_quant_board_fixtures as mk
    K = af.anne_ops
    m = af.load(base("merges") + "_int8.anne")
    kinds = [layer.kind for layer in m.layers]
    assert kinds[2] == K.LAYER_ADD and kinds[5] == K.LAYER_SUBTRACT and kinds[6] == K.LAYER_MULTIPLY
    assert kinds[7] == K.LAYER_CONCATENATE
    assert m.layers[2].inputs == (255, 1) and m.layers[6].inputs == (3, 4)
    # the merges a join reads take its quantization
    assert m.layers[5].quant[2:4] == m.layers[6].quant[2:4] == m.layers[7].quant[2:4]
    # the Add's and the Multiply's fused relu: act_min the zero point
    assert m.layers[2].quant[5:7] == (m.layers[2].quant[3], 127)
    assert m.layers[6].quant[5:7] == (m.layers[6].quant[3], 127)
    conv, x = mk.build_merges()
    f = af.parse(conv.encode())
    assert mk._exact(conv.specs, x)
    # (a rough int8 network: the join's one scale spans the Multiply's wide range)
    a, b = m.forward(x), f.forward(x)
    assert np.abs(a - b).mean() < 0.06 and (a.argmax(1) == b.argmax(1)).mean() >= 0.75


def test_merges_the_quantizer_does_not_take():
    # LiteRT's ADD, SUB, MUL take two inputs; a relu with parameters is no
    # fused clamp: refused (the board's net.quantize refuses them too)
    import anne_convert
    import make_quant_board_fixtures as mk
    conv, rows = mk.build_merges()
    conv.specs[2].inputs = (255, 1, 1)
    conv.specs[5].params = dict(conv.specs[5].params)
    conv.specs[5].activation, conv.specs[5].has_max_value = "relu", True
    with pytest.raises(anne_convert.ConvertError) as e:
        anne_quantize.quantize(conv, rows)
    msg = str(e.value)
    assert "layer 2: a add of 3 inputs has no int8 form (LiteRT's takes 2" in msg, msg
    assert "layer 5: relu with parameters" in msg, msg


def test_calibration_rows_from_json(tmp_path):
    rows = np.load(base("relu_softmax") + "_calibration.npy")
    for doc in ([r.tolist() for r in rows], {"x": [r.tolist() for r in rows], "labels": []}):
        p = tmp_path / "rows.json"
        p.write_text(json.dumps(doc))
        np.testing.assert_array_equal(anne_quantize.load_rows(str(p)), rows.astype(np.float64))
    p.write_text(json.dumps({"y": 1}))
    with pytest.raises(Exception, match="list of rows"):
        anne_quantize.load_rows(str(p))


def test_concatenates_the_quantizer_does_not_take():
    # a join whose input cannot take its quantization: the network's input,
    # a pooling that keeps its input's, a softmax's fixed one, another
    # join's input; all named in one run
    from types import SimpleNamespace as L
    K = af.anne_ops
    layers = [L(kind=K.LAYER_DENSE, activation="relu", inputs=None),
              L(kind=K.LAYER_DENSE, activation="softmax", inputs=(255,)),
              L(kind=K.LAYER_CONCATENATE, activation="linear", inputs=(0, 1, 255)),
              L(kind=K.LAYER_CONCATENATE, activation="linear", inputs=(0, 2))]
    ties, problems = anne_quantize._concat_ties(L(layers=layers))
    assert ties == {0: 2}
    assert [p.split(":")[0] for p in problems] == ["layer 2", "layer 2", "layer 3", "layer 3"], problems
    assert "a concatenate of layer 1 (dense, softmax)" in problems[0]
    assert "a concatenate of the network's input" in problems[1]
    assert "layer 0 is joined by two concatenates" in problems[2]
    assert "a concatenate of layer 2 (concatenate, linear)" in problems[3]
