"""DepthwiseConv2D, SeparableConv2D and ZeroPadding2D in the converter
(tools/anne_keras_conv2d.py) and the format's numpy reference
(tools/anne_format.py): the Keras fixtures of
tools/make_conv2d_model_fixtures.py --depthwise (their parity with Keras is
also test_convert.py's, as for every fixture), the layers a SeparableConv2D
becomes and the summary that says so, the options refused, and the numpy
reference against the layers' definitions written out as loops."""
import json
import os

import numpy as np
import pytest

import anne_convert
import anne_format
import anne_ops
from conftest import MODELS
from test_convert import _cli_error, _rewrite_keras, run
from test_convert_conv2d import _conv_loops

FIXTURES = ("depthwise_mobile", "depthwise_options", "separable_conv2d", "depthwise_conv1d", "separable_conv1d")


@pytest.mark.parametrize("stem", FIXTURES)
def test_fixture_matches_keras(stem):
    model = anne_format.load(os.path.join(MODELS, stem + ".anne"))
    assert model.version == 3
    ref = json.load(open(os.path.join(MODELS, stem + ".json")))
    got = model.forward(np.array(ref["x"], np.float32).reshape((-1,) + model.input_shape))
    np.testing.assert_allclose(got, np.array(ref["y"], np.float32), atol=1e-5, rtol=1e-4)
    # the converter gives the committed file again
    assert anne_convert.convert_file(os.path.join(MODELS, stem + ".keras")) == \
        open(os.path.join(MODELS, stem + ".anne"), "rb").read()


def test_conv1d_variants_run_on_the_2d_kernels():
    """DepthwiseConv1D, SeparableConv1D and ZeroPadding1D: the 2-D layers on
    (steps, 1, channels) between Reshapes, one Reshape where two 1-D twins
    follow each other; BatchNormalization and ReLU still fold in."""
    model = anne_format.load(os.path.join(MODELS, "depthwise_conv1d.anne"))
    assert [l.kind_name for l in model.layers] == [
        "reshape", "zero_padding2d", "depthwise_conv2d", "depthwise_conv2d", "reshape", "conv1d", "reshape",
        "depthwise_conv2d", "reshape", "global_average_pooling1d", "dense"]
    assert [l.out_shape for l in model.layers][:5] == [(20, 1, 3), (23, 1, 3), (21, 1, 6), (11, 1, 6), (11, 6)]
    assert model.layers[1].kparams[:4] == (2, 1, 0, 0)          # ZeroPadding1D((2, 1))
    dw = model.layers[2]
    assert dw.kparams[:8] == (3, 1, 1, 1, 0, 2, 1, 1) and dw.act == anne_ops.RELU and dw.bias is not None
    assert model.layers[3].kparams[:5] == (3, 1, 2, 1, 1) and model.layers[3].bias is None
    assert model.layers[5].kparams[:4] == (1, 1, 0, 1)          # the pointwise part, a Conv1D
    assert model.layers[7].kparams[6:8] == (2, 1)               # dilation_rate 2 along the steps
    r = run(os.path.join(MODELS, "separable_conv1d.keras"), "-n", "--summary")
    assert r.returncode == 0, r.stderr
    assert "separable_conv1d (SeparableConv1D's depthwise part)" in r.stdout
    assert "separable_conv1d (SeparableConv1D's pointwise part)" in r.stdout


def test_mobile_layers_batch_norm_folded():
    model = anne_format.load(os.path.join(MODELS, "depthwise_mobile.anne"))
    assert [l.kind_name for l in model.layers] == ["zero_padding2d", "conv2d", "depthwise_conv2d", "conv2d",
                                                   "global_average_pooling2d", "dense"]
    assert [l.out_shape for l in model.layers] == [(9, 9, 3), (4, 4, 4), (4, 4, 8), (4, 4, 6), (6,), (3,)]
    dw = model.layers[2]
    assert dw.kparams[:8] == (3, 3, 1, 1, 1, 2, 1, 1) and dw.units == 8
    # BatchNormalization and ReLU folded into the bias-less depthwise layer
    assert dw.bias is not None and dw.act == anne_ops.RELU


def test_separable_is_a_depthwise_and_a_pointwise_conv2d():
    model = anne_format.load(os.path.join(MODELS, "separable_conv2d.anne"))
    kinds = [l.kind_name for l in model.layers]
    assert kinds == ["depthwise_conv2d", "conv2d", "zero_padding2d", "depthwise_conv2d", "conv2d",
                     "depthwise_conv2d", "conv2d", "global_max_pooling2d", "dense"]
    for i in (0, 3, 5):
        assert model.layers[i].bias is None and model.layers[i].act == anne_ops.LINEAR
        assert model.layers[i + 1].kparams[:7] == (1, 1, 1, 1, 0, 1, 1)
    assert model.layers[0].kparams[5] == 2  # depth_multiplier
    assert model.layers[2].kparams[:4] == (1, 1, 2, 2)  # ZeroPadding2D((1, 2))
    r = run(os.path.join(MODELS, "separable_conv2d.keras"), "-n", "--summary")
    assert r.returncode == 0, r.stderr
    assert "0: separable_conv2d (SeparableConv2D's depthwise part)" in r.stdout
    assert "1: separable_conv2d (SeparableConv2D's pointwise part)" in r.stdout
    assert "depth_multiplier=2" in r.stdout and "padding=((1, 1), (2, 2))" in r.stdout
    # the board's summary shows the file's folded text
    meta = model.metadata
    assert "SeparableConv2D's pointwise part" in meta["folded"]
    # Keras's parameter count: 3 x 3 x 2 x 2 + 4 x 4 + 4 for the first
    assert sum(l.n_params for l in model.layers[:2]) == 56


def _edited(tmp_path, stem, cls, **cfg):
    dst = str(tmp_path / "edited.keras")

    def edit(c):
        for l in c["config"]["layers"]:
            if l["class_name"] == cls:
                l["config"].update(cfg)
    _rewrite_keras(os.path.join(MODELS, stem + ".keras"), dst, config_fn=edit)
    return dst


def test_refusals_name_the_option(tmp_path):
    _cli_error(_edited(tmp_path, "depthwise_options", "DepthwiseConv2D", data_format="channels_first"),
               "data_format='channels_first'")
    _cli_error(_edited(tmp_path, "depthwise_options", "DepthwiseConv2D", activation="glu"), "glu halves the channels")
    _cli_error(_edited(tmp_path, "separable_conv2d", "SeparableConv2D", activation="glu"), "glu halves the filters")
    _cli_error(_edited(tmp_path, "depthwise_options", "ZeroPadding2D", padding=[[1, -1], [0, 0]]), "sizes >= 0")
    _cli_error(_edited(tmp_path, "depthwise_options", "ZeroPadding2D", padding="same"),
               "an int, (rows, columns) or ((top, bottom), (left, right))")
    _cli_error(_edited(tmp_path, "depthwise_conv1d", "DepthwiseConv1D", padding="causal"),
               "padding='causal' is not supported here")
    _cli_error(_edited(tmp_path, "separable_conv1d", "ZeroPadding1D", padding=[1, -2]), "an int or (left, right)")


def _depthwise_loops(x, k, kp, oh, ow):
    """DepthwiseConv2D as a Conv2D whose kernel joins channel c to outputs
    c * m .. c * m + m - 1 only."""
    kh, kw, sh, sw, same, m, dh, dw = kp
    cin = x.shape[2]
    full = np.zeros((kh, kw, cin, cin * m))
    for c in range(cin):
        full[:, :, c, c * m:(c + 1) * m] = k[:, :, c, :]
    return _conv_loops(x, full, (kh, kw, sh, sw, same, dh, dw), oh, ow)


@pytest.mark.parametrize("seed", range(12))
def test_numpy_reference_against_loops(seed):
    rng = np.random.default_rng(100 + seed)
    h, w, cin = (int(v) for v in rng.integers(1, 7, 3))
    m = int(rng.integers(1, 4))
    kp = (int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3)),
          int(rng.integers(0, 2)), m, int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    x = rng.normal(size=(2, h, w, cin)).astype(np.float32)
    k = rng.normal(size=kp[:2] + (cin, m)).astype(np.float32)
    spec = anne_format.LayerSpec("linear", k.reshape(kp[0], kp[1], cin * m), None, kind="depthwise_conv2d",
                                 kparams=kp)
    sides = tuple(int(v) for v in rng.integers(0, 3, 4))
    pad = anne_format.parse(anne_format.encode((h, w, cin), [anne_format.LayerSpec(
        "linear", kind="zero_padding2d", kparams=sides)], version=3))
    got = pad.forward(x)
    t, b, l, r = sides
    want = np.zeros((2, t + h + b, l + w + r, cin), np.float32)
    for yy in range(h):
        for xx in range(w):
            want[:, t + yy, l + xx] = x[:, yy, xx]
    np.testing.assert_array_equal(got, want.reshape(2, -1))
    try:
        data = anne_format.encode((h, w, cin), [spec], version=3)
    except ValueError:
        assert kp[4] == 0  # a valid window that does not fit
        return
    model = anne_format.parse(data)
    oh, ow, units = model.layers[0].out_shape
    assert units == cin * m
    got = model.forward(x)
    for i in range(2):
        np.testing.assert_allclose(got[i].reshape(oh, ow, units), _depthwise_loops(x[i], k, kp, oh, ow),
                                   atol=1e-5, rtol=1e-5)


def test_units_must_be_channels_times_multiplier():
    k = np.ones((2, 2, 4), np.float32)
    spec = anne_format.LayerSpec("linear", k, None, kind="depthwise_conv2d", kparams=(2, 2, 1, 1, 0, 3, 1, 1))
    with pytest.raises(ValueError, match="depthwise_conv2d has 4 channels, not in_channels x depth_multiplier = 2 x 3"):
        anne_format.encode((3, 3, 2), [spec], version=3)


def test_registry_slots():
    dw = [s[0] for s in anne_ops.LAYER_PARAMS[anne_ops.LAYER_DEPTHWISE_CONV2D]]
    assert dw == ["kernel_size_h", "kernel_size_w", "strides_h", "strides_w", "padding", "depth_multiplier",
                  "dilation_rate_h", "dilation_rate_w"]
    pad = [s[0] for s in anne_ops.LAYER_PARAMS[anne_ops.LAYER_ZERO_PADDING2D]]
    assert pad == ["padding_top", "padding_bottom", "padding_left", "padding_right"]
