"""Graphs (issue 30): Keras functional models whose layers take several
inputs, through the converter to version-3 .anne files whose layers name
their inputs, and the codec's rules for them (tests/fixtures/graph/, made
by tools/make_graph_fixtures.py). No TensorFlow needed."""
import glob
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import ROOT, TOOLS
import anne_convert
import anne_file
import anne_format
from anne_format import LayerSpec, encode, parse

GRAPH = os.path.join(ROOT, "tests", "fixtures", "graph")
CONVERT = os.path.join(TOOLS, "anne_convert.py")
NAMES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(GRAPH, "*.json")))


def fixture(name):
    return json.load(open(os.path.join(GRAPH, name + ".json")))


def test_fixture_set_is_complete():
    assert NAMES == ["graph_concat", "graph_conv1d", "graph_dense_residual", "graph_merges", "graph_resnet"]
    kinds = {l["kind"] for n in NAMES for l in fixture(n)["layers"]}
    for kind in ("add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate",
                 "dense", "conv1d", "conv2d", "max_pooling1d", "average_pooling1d", "max_pooling2d",
                 "flatten", "global_average_pooling1d", "global_average_pooling2d"):
        assert kind in kinds, kind


@pytest.mark.parametrize("name", NAMES)
def test_converter_writes_the_committed_file(name):
    """Both forms of the Keras model convert to the committed .anne, byte for byte."""
    want = open(os.path.join(GRAPH, name + ".anne"), "rb").read()
    for src in fixture(name)["sources"]:
        assert anne_convert.convert_file(os.path.join(GRAPH, src)) == want, src


@pytest.mark.parametrize("name", NAMES)
def test_numpy_reference_matches_keras(name):
    """The host codec's float32 reference of the graph within 1e-5 abs +
    1e-4 rel of Keras's recorded outputs, every row."""
    f = fixture(name)
    m = parse(open(os.path.join(GRAPH, name + ".anne"), "rb").read())
    assert m.version == 3 and anne_file.is_graph([_entry(l) for l in m.layers])
    y = m.forward(np.array(f["x"], np.float32))
    assert np.allclose(y, np.array(f["y"], np.float32), atol=1e-5, rtol=1e-4)


def _entry(layer):
    class E:
        inputs = layer.inputs
    return E


def test_resnet_folds_normalization_and_relu():
    """Conv2D + BatchNormalization + ReLU fold into one layer; the ReLU
    after each Add folds into the Add; the shortcut is a 1x1 conv."""
    m = parse(open(os.path.join(GRAPH, "graph_resnet.anne"), "rb").read())
    kinds = [(l.kind_name, l.activation) for l in m.layers]
    assert kinds == [("conv2d", "relu"), ("conv2d", "relu"), ("conv2d", "linear"), ("add", "relu"),
                     ("conv2d", "relu"), ("conv2d", "linear"), ("conv2d", "linear"), ("add", "relu"),
                     ("global_average_pooling2d", "linear"), ("dense", "softmax")]
    assert [l.inputs for l in m.layers][3] == (0, 2)
    assert [l.inputs for l in m.layers][6:8] == [(3,), (5, 6)]


def test_summary_names_the_inputs():
    r = subprocess.run([sys.executable, CONVERT, os.path.join(GRAPH, "graph_resnet.keras"), "--summary", "-n"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "layer 3 takes 0, 2" in r.stdout and "layer 7 takes 5, 6" in r.stdout


# ---------------------------------------------------------------------------
# The converter's refusals

def _edited(tmp_path, name, edit):
    """The fixture's .keras with its config edited by edit(layers by name)."""
    dst = str(tmp_path / (name + "_edited.keras"))
    with zipfile.ZipFile(os.path.join(GRAPH, name + ".keras")) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                cfg = json.loads(data)
                edit({l["name"]: l for l in cfg["config"]["layers"]}, cfg)
                data = json.dumps(cfg).encode()
            zout.writestr(item, data)
    return dst


def _error(path):
    r = subprocess.run([sys.executable, CONVERT, path, "-n"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    return r.stderr


def test_every_unsupported_layer_of_a_graph_in_one_run(tmp_path):
    def edit(layers, cfg):
        layers["dense"]["class_name"] = "LSTM"
        layers["dense_2"]["class_name"] = "LayerNormalization"
    err = _error(_edited(tmp_path, "graph_merges", edit))
    assert "2 problems" in err
    assert "'dense' (LSTM): recurrent layers are not supported" in err
    assert "'dense_2' (LayerNormalization)" in err


def test_concatenate_on_another_axis_is_refused(tmp_path):
    def edit(layers, cfg):
        layers["concatenate"]["config"]["axis"] = 1
    err = _error(_edited(tmp_path, "graph_concat", edit))
    assert "'concatenate' (Concatenate): axis=1; anne concatenates the last axis (-1) only" in err


def test_add_of_different_shapes_is_refused(tmp_path):
    def edit(layers, cfg):   # add the network's input (6) to the hidden Dense (16)
        node = layers["add"]["inbound_nodes"][0]["args"][0]
        node[0]["config"]["keras_history"][0] = "dense"
        node[0]["config"]["shape"] = [None, 16]
    err = _error(_edited(tmp_path, "graph_dense_residual", edit))
    assert "'add' (Add): add needs inputs of one shape, got (16,), (6,)" in err


def test_a_layer_that_does_not_lead_to_the_output_is_refused(tmp_path):
    def edit(layers, cfg):
        cfg["config"]["output_layers"] = [["add", 0, 0]]
    assert "layers that do not lead to its output: dense_2" in _error(_edited(tmp_path, "graph_dense_residual", edit))


def test_a_shared_layer_is_refused(tmp_path):
    def edit(layers, cfg):
        layers["dense"]["inbound_nodes"].append(layers["dense"]["inbound_nodes"][0])
    assert "is called 2 times" in _error(_edited(tmp_path, "graph_merges", edit))


def test_softmax_after_a_merge_is_refused(tmp_path):
    def edit(layers, cfg):   # the ReLU after the first Add becomes a softmax
        layers["activation_2"]["config"]["activation"] = "softmax"
    assert "softmax after add 'add'; anne's merges take element-wise activations" in \
        _error(_edited(tmp_path, "graph_resnet", edit))


# ---------------------------------------------------------------------------
# The writer and the codec

def _graph_specs(rng, kind="add", act="linear", second=(-1,)):
    w = lambda *s: rng.uniform(-1, 1, s).astype(np.float32)
    return [LayerSpec("relu", w(4, 4), w(4)), LayerSpec(act, kind=kind, inputs=tuple(second) + (0,)),
            LayerSpec("linear", w(4 if kind != "concatenate" else 8, 2), w(2))]


def test_roundtrip_and_reference():
    rng = np.random.default_rng(1)
    specs = _graph_specs(rng, act="relu")
    m = parse(encode(4, specs, version=3))
    assert [l.inputs for l in m.layers] == [(255,), (255, 0), (1,)]
    x = rng.normal(0, 1, (5, 4)).astype(np.float32)
    h = np.maximum(x @ specs[0].kernel + specs[0].bias, 0)
    want = np.maximum(x + h, 0) @ specs[2].kernel + specs[2].bias
    assert np.allclose(m.forward(x), want, atol=1e-6)
    cat = parse(encode(4, _graph_specs(rng, "concatenate"), version=3))
    assert cat.layers[1].out_shape == (8,)


def test_the_writer_refuses_what_readers_refuse():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="graphs|version 3"):
        encode(4, _graph_specs(rng), version=2)
    with pytest.raises(ValueError, match="bad inputs"):   # a later layer
        encode(4, _graph_specs(rng, second=(2,)), version=3)
    with pytest.raises(ValueError, match="needs inputs of one shape"):
        w = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
        encode(4, [LayerSpec("relu", w, None), LayerSpec("linear", kind="add", inputs=(-1, 0))], version=3)
    with pytest.raises(ValueError, match="bad inputs.*read by no later layer"):
        w = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
        encode(4, [LayerSpec("relu", w, None), LayerSpec("relu", w, None, inputs=(-1,)),
                   LayerSpec("linear", kind="add", inputs=(-1, 1))], version=3)
    with pytest.raises(ValueError, match="subtract takes 2..2 inputs"):
        w = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
        encode(4, [LayerSpec("relu", w, None), LayerSpec("linear", kind="subtract", inputs=(-1, 0, 0))],
               version=3)


def test_a_merge_holds_no_bias_and_an_element_wise_activation():
    rng = np.random.default_rng(3)
    good = encode(4, _graph_specs(rng, act="relu"), version=3)
    m = parse(good)
    e1 = m.header_size + m.entry_size
    import anne_badfiles
    for flags_act, frag in (((1, 0), "has no units or bias"), ((0, anne_format.ACTIVATION_IDS["softmax"]),
                                                              "element-wise")):
        bad = anne_badfiles._patch(good, "<BB", e1 + 1, flags_act[1], flags_act[0])
        with pytest.raises(ValueError, match=frag):
            parse(bad)


def test_int8_networks_may_be_graphs_inputs_still_checked():
    # int8 graphs (issue 29: .tflite graphs, tests/host/test_tflite_graph.py): a layer may take the
    # network's input or any earlier layer, never a later one, and a dense still takes one input
    assert anne_file._check_inputs("layer 1: ", 1, anne_file.KIND_DENSE, anne_file.DTYPE_INT8,
                                   (1, 255, 0, 0, 0, 0, 0, 0)) == (255,)
    with pytest.raises(ValueError, match="an input is an earlier layer"):
        anne_file._check_inputs("layer 1: ", 1, anne_file.KIND_DENSE, anne_file.DTYPE_INT8,
                                (1, 2, 0, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="dense takes one input"):
        anne_file._check_inputs("layer 2: ", 2, anne_file.KIND_DENSE, anne_file.DTYPE_INT8,
                                (2, 0, 1, 0, 0, 0, 0, 0))
