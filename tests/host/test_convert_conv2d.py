"""Conv2D and the 2-D poolings in the converter (tools/anne_keras_conv2d.py)
and the format's numpy reference (tools/anne_format.py): the Keras fixtures
of tools/make_conv2d_model_fixtures.py (their parity with Keras is
test_convert.py's, as for every fixture), the file version, the options the
converter reads and refuses, and the numpy reference against the layers'
definitions written out as loops."""
import json
import os

import numpy as np
import pytest

import anne_convert
import anne_format
import anne_file
import anne_ops
from conftest import MODELS
from test_convert import _cli_error, _rewrite_keras, run

CNNS = ("conv2d_digits", "conv2d_options", "conv2d_reshape")


@pytest.mark.parametrize("stem", CNNS)
def test_cnn_fixture_is_version_3_with_2d_layers(stem):
    model = anne_format.load(os.path.join(MODELS, stem + ".anne"))
    assert model.version == 3
    assert any(l.kind in anne_file.IMAGE_KINDS for l in model.layers)
    ref = json.load(open(os.path.join(MODELS, stem + ".json")))
    got = model.forward(np.array(ref["x"], np.float32).reshape((-1,) + model.input_shape))
    np.testing.assert_allclose(got, np.array(ref["y"], np.float32), atol=1e-5, rtol=1e-4)


def test_digits_layers_and_summary():
    model = anne_format.load(os.path.join(MODELS, "conv2d_digits.anne"))
    assert model.input_shape == (8, 8, 1)
    assert [l.kind_name for l in model.layers] == ["conv2d", "max_pooling2d", "flatten", "dense"]
    assert [l.out_shape for l in model.layers] == [(6, 6, 4), (3, 3, 4), (36,), (10,)]
    r = run(os.path.join(MODELS, "conv2d_options.keras"), "-n", "--summary")
    assert r.returncode == 0, r.stderr
    assert "kernel_size=3x2 strides=2x1 padding=same dilation_rate=1x1" in r.stdout
    assert "pool_size=2x3 strides=1x1 padding=same" in r.stdout
    assert "(version 3)" in r.stdout


def test_version_2_cannot_hold_images(tmp_path):
    r = run(os.path.join(MODELS, "conv2d_digits.keras"), "-o", str(tmp_path / "x.anne"), "--format-version", "2")
    assert r.returncode != 0 and "n_inputs out of range: (8, 8, 1)" in r.stderr, r.stderr


def _edited(tmp_path, cls, **cfg):
    dst = str(tmp_path / "edited.keras")

    def edit(c):
        for l in c["config"]["layers"]:
            if l["class_name"] == cls:
                l["config"].update(cfg)
    _rewrite_keras(os.path.join(MODELS, "conv2d_digits.keras"), dst, config_fn=edit)
    return dst


def test_refusals_name_the_option(tmp_path):
    _cli_error(_edited(tmp_path, "Conv2D", data_format="channels_first"), "'conv2d' (Conv2D)",
               "data_format='channels_first'")
    _cli_error(_edited(tmp_path, "Conv2D", groups=2), "groups=2 is not supported")
    _cli_error(_edited(tmp_path, "MaxPooling2D", padding="full"), "padding='full' (valid or same)")
    _cli_error(_edited(tmp_path, "Conv2D", activation="glu"), "glu halves the filters")


def test_kernel_size_as_a_pair_or_an_int(tmp_path):
    """kernel_size=3 and [3, 3] are the same layer."""
    a = anne_convert.convert_file(_edited(tmp_path, "Conv2D", kernel_size=3))
    assert a == open(os.path.join(MODELS, "conv2d_digits.anne"), "rb").read()


def _conv_loops(x, k, kp, oh, ow):
    kh, kw, sh, sw, same, dh, dw = kp[:7]
    h, w, cin = x.shape
    top = max((oh - 1) * sh + (kh - 1) * dh + 1 - h, 0) // 2 if same else 0
    left = max((ow - 1) * sw + (kw - 1) * dw + 1 - w, 0) // 2 if same else 0
    out = np.zeros((oh, ow, k.shape[3]))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
                    if 0 <= iy < h and 0 <= ix < w:
                        out[oy, ox] += x[iy, ix].astype(np.float64) @ k[ky, kx].astype(np.float64)
    return out


def _pool_loops(x, kp, oh, ow, is_max):
    ph, pw, sh, sw, same = kp[:5]
    h, w, c = x.shape
    top = max((oh - 1) * sh + ph - h, 0) // 2 if same else 0
    left = max((ow - 1) * sw + pw - w, 0) // 2 if same else 0
    out = np.zeros((oh, ow, c))
    for oy in range(oh):
        for ox in range(ow):
            win = x[max(oy * sh - top, 0):oy * sh - top + ph, max(ox * sw - left, 0):ox * sw - left + pw]
            out[oy, ox] = win.reshape(-1, c).max(0) if is_max else win.reshape(-1, c).astype(np.float64).mean(0)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_numpy_reference_against_loops(seed):
    rng = np.random.default_rng(seed)
    h, w, cin, f = (int(v) for v in rng.integers(1, 7, 4))
    kp = (int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3)),
          int(rng.integers(0, 2)), int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    x = rng.normal(size=(2, h, w, cin)).astype(np.float32)
    k = rng.normal(size=kp[:2] + (cin, f)).astype(np.float32)
    spec = anne_format.LayerSpec("linear", k, None, kind="conv2d", kparams=kp)
    try:
        data = anne_format.encode((h, w, cin), [spec], version=3)
    except ValueError:
        assert kp[4] == 0  # a valid window that does not fit
        return
    model = anne_format.parse(data)
    oh, ow, _ = model.layers[0].out_shape
    got = model.forward(x)
    for b in range(2):
        np.testing.assert_allclose(got[b].reshape(oh, ow, f), _conv_loops(x[b], k, kp, oh, ow), atol=1e-5, rtol=1e-5)
    pk = kp[:5]
    for kind in ("max_pooling2d", "average_pooling2d"):
        try:
            m = anne_format.parse(anne_format.encode((h, w, cin), [anne_format.LayerSpec(
                "linear", kind=kind, kparams=pk)], version=3))
        except ValueError:
            continue
        oh, ow, _ = m.layers[0].out_shape
        got = m.forward(x)
        for b in range(2):
            np.testing.assert_allclose(got[b].reshape(oh, ow, cin), _pool_loops(x[b], pk, oh, ow, kind.startswith("max")),
                                       atol=1e-6, rtol=1e-6)


def test_registry_pairs_are_two_slots():
    slots = [s[0] for s in anne_ops.LAYER_PARAMS[anne_ops.LAYER_CONV2D]]
    assert slots == ["kernel_size_h", "kernel_size_w", "strides_h", "strides_w", "padding",
                     "dilation_rate_h", "dilation_rate_w"]
