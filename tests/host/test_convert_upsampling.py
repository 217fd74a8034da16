"""UpSampling1D in the converter (tools/anne_keras_conv2d.py), the format
(micropython/anne_file.py: kind up_sampling1d, kparams slot size) and its
numpy reference (tools/anne_format.py): the Keras fixtures of
tools/make_conv2d_model_fixtures.py --upsampling, the layers they become,
the options refused, and the reference against the layer's definition."""
import json
import os

import numpy as np
import pytest

import anne_convert
import anne_file
import anne_format
import anne_ops
from conftest import MODELS
from test_convert import _cli_error, _rewrite_keras

FIXTURES = ("up_sampling1d", "up_sampling1d_size3")


@pytest.mark.parametrize("stem", FIXTURES)
def test_fixture_matches_keras(stem):
    model = anne_format.load(os.path.join(MODELS, stem + ".anne"))
    ref = json.load(open(os.path.join(MODELS, stem + ".json")))
    got = model.forward(np.array(ref["x"], np.float32).reshape((-1,) + model.input_shape))
    np.testing.assert_allclose(got, np.array(ref["y"], np.float32), atol=1e-5, rtol=1e-4)
    assert anne_convert.convert_file(os.path.join(MODELS, stem + ".keras")) == \
        open(os.path.join(MODELS, stem + ".anne"), "rb").read()


def test_layers_and_shapes():
    model = anne_format.load(os.path.join(MODELS, "up_sampling1d.anne"))
    assert [l.kind_name for l in model.layers] == ["conv1d", "up_sampling1d", "conv1d",
                                                   "global_average_pooling1d", "dense"]
    up = model.layers[1]
    assert up.kind == anne_ops.LAYER_UP_SAMPLING1D == 24 and up.kparams == (2, 0, 0, 0, 0, 0, 0, 0)
    assert (up.in_shape, up.out_shape, up.n_params) == ((10, 4), (20, 4), 0)
    model = anne_format.load(os.path.join(MODELS, "up_sampling1d_size3.anne"))
    # the BatchNormalization, kept as an affine layer (a same-padded Conv1D
    # cannot take it), after the UpSampling1D it passes through
    assert [l.kind_name for l in model.layers][:4] == ["conv1d", "up_sampling1d", "affine", "conv1d"]
    assert model.layers[1].kparams[0] == 3 and model.layers[1].out_shape == (24, 4)


def test_reference_is_the_repeat():
    up = anne_format.load(os.path.join(MODELS, "up_sampling1d_size3.anne")).layers[1]
    x = np.arange(2 * 8 * 4, dtype=np.float32).reshape(2, 8, 4) * 0.5 - 7.0
    want = np.array([[[x[b, t, c] for c in range(4)] for t in range(8) for _ in range(3)] for b in range(2)])
    np.testing.assert_array_equal(up.forward(x), want)
    entry = anne_file.Entry(0, 0, (3, 2), 0, (0.0,) * 6, kind=anne_ops.LAYER_UP_SAMPLING1D, kparams=(3,) + (0,) * 7)
    assert entry.out_shape == (9, 2)
    with pytest.raises(ValueError, match=r"\(steps, channels\)"):
        anne_file.Entry(0, 0, (6,), 0, (0.0,) * 6, kind=anne_ops.LAYER_UP_SAMPLING1D, kparams=(3,) + (0,) * 7)


def _edited(tmp_path, stem, **cfg):
    dst = str(tmp_path / "edited.keras")

    def edit(c):
        for l in c["config"]["layers"]:
            if l["class_name"] == "UpSampling1D":
                l["config"].update(cfg)
    _rewrite_keras(os.path.join(MODELS, stem + ".keras"), dst, config_fn=edit)
    return dst


def test_refusals_name_the_option(tmp_path):
    _cli_error(_edited(tmp_path, "up_sampling1d", size=0), "size=0; a size >= 1")
    _cli_error(_edited(tmp_path, "up_sampling1d", size=[2, 2]), "size=[2, 2]; a 1-D layer takes one value")
    _cli_error(_edited(tmp_path, "up_sampling1d", interpolation="bilinear"),
               "option interpolation is not supported (UpSampling1D takes size)")


def test_size_1_is_dropped(tmp_path):
    path = tmp_path / "one.anne"
    path.write_bytes(anne_convert.convert_file(_edited(tmp_path, "up_sampling1d", size=1)))
    model = anne_format.load(str(path))
    assert "up_sampling1d" not in [l.kind_name for l in model.layers]
