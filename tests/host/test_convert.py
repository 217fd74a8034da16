"""Converter tests on real Keras files (made by tools/make_model_fixtures.py).
No TensorFlow needed."""
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

from conftest import IRIS, MODELS, ROOT, TOOLS
import anne_convert
import anne_format

CONVERT = os.path.join(TOOLS, "anne_convert.py")
ATOL = RTOL = 1e-5


def model_files():
    files = sorted(glob.glob(os.path.join(MODELS, "*.keras")) + glob.glob(os.path.join(MODELS, "*.h5")))
    return [f for f in files if os.path.exists(_json_for(f))]


def _json_for(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.endswith("_tfk2"):
        stem = stem[: -len("_tfk2")]
    return os.path.join(MODELS, stem + ".json")


def run(*args):
    return subprocess.run([sys.executable, CONVERT] + list(args), capture_output=True,
                          text=True, cwd=ROOT)


def test_tensorflow_not_imported():
    for name in ("tensorflow", "keras", "tf_keras"):
        assert sys.modules.get(name) is None, name


def test_fixture_set_is_complete():
    names = {os.path.basename(f) for f in model_files()}
    for need in ("iris3.keras", "iris3.h5", "deep_mixed.keras", "nobias_reg.keras",
                 "wide.keras", "functional_chain.keras", "functional_chain.h5",
                 "relu_params.keras", "zoo1.keras"):
        assert need in names
    assert len(names) >= 12


@pytest.mark.parametrize("path", model_files(), ids=os.path.basename)
def test_convert_matches_keras(path):
    ref = json.load(open(_json_for(path)))
    data = anne_convert.convert_file(path)
    model = anne_format.parse(data)
    x = np.array(ref["x"], np.float32)
    y = np.array(ref["y"], np.float32)
    got = model.forward(x)
    assert got.shape == y.shape
    np.testing.assert_allclose(got, y, atol=ATOL, rtol=RTOL)
    assert list(np.argmax(got, -1)) == ref["argmax"]


@pytest.mark.parametrize("path", [p for p in sorted(glob.glob(os.path.join(MODELS, "*.keras"))
                                                    + glob.glob(os.path.join(IRIS, "*.keras")))
                                  if os.path.exists(os.path.splitext(p)[0] + ".anne")],
                         ids=os.path.basename)
def test_committed_anne_is_fresh(path):
    """Each committed .anne is what the converter makes now (with the class
    and feature names of its side file, as tools/make_model_fixtures.py makes it)."""
    anne = os.path.splitext(path)[0] + ".anne"
    side = json.load(open(os.path.splitext(path)[0] + ".json"))
    meta = {k: side[k] for k in ("classes", "features") if k in side}
    assert open(anne, "rb").read() == anne_convert.convert_file(path, **meta)


def test_h5_and_keras_give_identical_files():
    for stem in ("iris3", "deep_mixed", "functional_chain", "zoo1", "norm_tabular", "rescale_batchnorm"):
        k = anne_convert.convert_file(os.path.join(MODELS, stem + ".keras"))
        assert anne_convert.convert_file(os.path.join(MODELS, stem + ".h5")) == k
        tfk2 = os.path.join(MODELS, stem + "_tfk2.h5")
        if os.path.exists(tfk2):
            assert anne_convert.convert_file(tfk2) == k


def test_every_activation_is_covered():
    seen = set()
    for f in glob.glob(os.path.join(MODELS, "*.anne")):
        seen |= {l.activation for l in anne_format.load(f).layers}
    missing = set(anne_format.ACTIVATIONS) - seen - {"threshold"}
    assert not missing


def test_keras_defaults_survive():
    m = anne_format.load(os.path.join(MODELS, "deep_mixed.anne"))
    assert [l.activation for l in m.layers] == ["tanh", "gelu", "leaky_relu", "elu", "softmax"]
    assert m.layers[2].params["negative_slope"] == pytest.approx(0.3)  # LeakyReLU layer
    assert m.layers[3].params["alpha"] == pytest.approx(0.7)
    assert not m.layers[1].approximate
    r = anne_format.load(os.path.join(MODELS, "relu_params.anne"))
    l0 = r.layers[0]
    assert (l0.activation, l0.has_max_value) == ("relu", True)
    assert [l0.params[k] for k in ("negative_slope", "threshold", "max_value")] == \
        pytest.approx([0.1, 0.5, 6.0])
    assert r.layers[2].activation == "leaky_relu"
    assert r.layers[2].params["negative_slope"] == pytest.approx(0.2)  # activation string
    nb = anne_format.load(os.path.join(MODELS, "nobias_reg.anne"))
    assert [l.has_bias for l in nb.layers] == [False, False, True]
    z = anne_format.load(os.path.join(MODELS, "zoo5.anne"))
    assert z.layers[-1].activation == "glu" and z.n_outputs == 4


def test_cli_writes_file_and_summary(tmp_path):
    out = tmp_path / "m.anne"
    r = run(os.path.join(MODELS, "relu_params.keras"), "-o", str(out), "--summary")
    assert r.returncode == 0, r.stderr
    assert "relu(negative_slope=0.1, threshold=0.5, max_value=6)" in r.stdout
    assert "leaky_relu(negative_slope=0.2)" in r.stdout
    assert out.read_bytes() == open(os.path.join(MODELS, "relu_params.anne"), "rb").read()


def test_cli_check(tmp_path):
    ref = json.load(open(os.path.join(MODELS, "iris3.json")))
    np.save(tmp_path / "x.npy", np.array(ref["x"], np.float32))
    np.save(tmp_path / "y.npy", np.array(ref["y"], np.float32))
    r = run(os.path.join(MODELS, "iris3.keras"), "-n", "--check",
            str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "argmax identical" in r.stdout
    np.save(tmp_path / "y.npy", np.array(ref["y"], np.float32) + 0.01)
    r = run(os.path.join(MODELS, "iris3.keras"), "-n", "--check",
            str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert r.returncode == 1


def test_cli_reads_anne_files():
    r = run(os.path.join(IRIS, "ai_anne_8.anne"), "--summary")
    assert r.returncode == 0 and "sigmoid" in r.stdout
    r = run(os.path.join(ROOT, "tests", "fixtures", "bad", "bad_magic.anne"))
    assert r.returncode == 1 and "bad magic" in r.stderr


def test_cli_help():
    r = run("--help")
    assert r.returncode == 0
    for word in ("--summary", "--check", "LeakyReLU", "Dropout", "hard_swish"):
        assert word in r.stdout


# --- errors ------------------------------------------------------------------

def _cli_error(path, *fragments):
    r = run(path, "-n")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in r.stderr, r.stderr
    return r.stderr


def test_every_unsupported_layer_in_one_run():
    """One message names every layer that stops a model, each with its name,
    class and what to do instead; the layers anne takes (Conv1D, pooling,
    Flatten) and those after a refused one are not reported."""
    err = _cli_error(os.path.join(MODELS, "unsupported_many.keras"), "2 problems",
                     "'layer_normalization' (LayerNormalization): it normalises each sample",
                     "'cropping1d' (Cropping1D): not supported")
    assert err.count("anne supports:") == 1
    for taken in ("'conv1d'", "'max_pooling1d'", "'flatten'", "(Dense)", "batch_normalization"):
        assert taken not in err


def test_activation_after_nonlinear_dense():
    _cli_error(os.path.join(MODELS, "act_after_relu.keras"),
               "'extra_sigmoid' (Activation)", "'hidden'", "'relu'")


def test_missing_file():
    _cli_error("/nonexistent/model.keras", "no such file")


def _rewrite_keras(src, dst, config_fn=None, weights_fn=None):
    """Copies a .keras zip, letting the caller edit config.json / model.weights.h5."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json" and config_fn:
                cfg = json.loads(data)
                config_fn(cfg)
                data = json.dumps(cfg).encode()
            if item == "model.weights.h5" and weights_fn:
                bio = io.BytesIO(data)
                with h5py.File(bio, "r+") as f:
                    weights_fn(f)
                data = bio.getvalue()
            zout.writestr(item, data)


def test_non_finite_weights(tmp_path):
    dst = str(tmp_path / "nan.keras")

    def poison(f):
        ds = f["layers/dense/vars/0"]
        a = ds[()]
        a[1, 2] = np.nan
        ds[...] = a
    _rewrite_keras(os.path.join(MODELS, "iris3.keras"), dst, weights_fn=poison)
    _cli_error(dst, "non-finite", "kernel")
    assert not os.path.exists(tmp_path / "nan.anne")


def test_activation_as_dict(tmp_path):
    """Some Keras versions serialize activations as dicts."""
    dst = str(tmp_path / "dict.keras")

    def edit(cfg):
        for l in cfg["config"]["layers"]:
            if l["class_name"] == "Dense":
                name = l["config"]["activation"]
                l["config"]["activation"] = {"module": "keras.activations", "class_name": "function",
                                             "config": name, "registered_name": "function"}
    _rewrite_keras(os.path.join(MODELS, "iris3.keras"), dst, config_fn=edit)
    side = json.load(open(os.path.join(MODELS, "iris3.json")))
    assert anne_convert.convert_file(dst, classes=side["classes"], features=side["features"]) == \
        open(os.path.join(MODELS, "iris3.anne"), "rb").read()


def test_unknown_activation(tmp_path):
    dst = str(tmp_path / "custom.keras")

    def edit(cfg):
        cfg["config"]["layers"][1]["config"]["activation"] = "my_custom_act"
    _rewrite_keras(os.path.join(MODELS, "iris3.keras"), dst, config_fn=edit)
    _cli_error(dst, "unsupported activation 'my_custom_act'")


def test_weights_found_without_name_attrs(tmp_path):
    """Older Keras 3 files have no vars.attrs['name']: fall back to the path."""
    dst = str(tmp_path / "noattr.keras")

    def strip(f):
        for key in f["layers"]:
            if "vars" in f["layers"][key]:
                f["layers"][key]["vars"].attrs.pop("name", None)
    _rewrite_keras(os.path.join(MODELS, "deep_mixed.keras"), dst, weights_fn=strip)
    assert anne_convert.convert_file(dst) == open(os.path.join(MODELS, "deep_mixed.anne"), "rb").read()


def test_keras2_hard_sigmoid_refused(tmp_path):
    src = os.path.join(MODELS, "iris3_tfk2.h5")
    if not os.path.exists(src):
        pytest.skip("no tf.keras 2 fixture")
    dst = str(tmp_path / "hs.h5")
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        for l in cfg["config"]["layers"]:
            if l["class_name"] == "Dense":
                l["config"]["activation"] = "hard_sigmoid"
                break
        f.attrs["model_config"] = json.dumps(cfg)
    _cli_error(dst, "hard_sigmoid", "tf.keras 2")


def test_activation_layer_first(tmp_path):
    dst = str(tmp_path / "first.keras")

    def edit(cfg):
        layers = cfg["config"]["layers"]
        layers.insert(1, {"module": "keras.layers", "class_name": "ReLU",
                          "config": {"name": "early_relu", "max_value": None,
                                     "negative_slope": 0.0, "threshold": 0.0}})
    _rewrite_keras(os.path.join(MODELS, "iris3.keras"), dst, config_fn=edit)
    _cli_error(dst, "'early_relu' (ReLU)", "before any Dense")


def test_weights_only_h5(tmp_path):
    dst = str(tmp_path / "w.h5")
    with h5py.File(dst, "w") as f:
        f.create_group("dense")
    _cli_error(dst, "weights-only")


# --- what a new user hit ------------------------------------------------------

def test_dry_run_says_what_it_would_write(tmp_path):
    out = tmp_path / "m.anne"
    r = run(os.path.join(MODELS, "iris3.keras"), "-n", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "would write (dry run) %s: 2 layers, 4 inputs, 3 outputs" % out in r.stdout
    assert not out.exists()


def test_failed_check_writes_no_file(tmp_path):
    ref = json.load(open(os.path.join(MODELS, "iris3.json")))
    np.save(tmp_path / "x.npy", np.array(ref["x"], np.float32))
    np.save(tmp_path / "y.npy", np.array(ref["y"], np.float32) + 0.01)
    out = tmp_path / "m.anne"
    r = run(os.path.join(MODELS, "iris3.keras"), "-o", str(out), "--check",
            str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert r.returncode == 1
    assert "no file written" in r.stderr
    assert not out.exists()
    np.save(tmp_path / "y.npy", np.array(ref["y"], np.float32))
    r = run(os.path.join(MODELS, "iris3.keras"), "-o", str(out), "--check",
            str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert r.returncode == 0 and out.exists()


def test_savedmodel_directory(tmp_path):
    d = tmp_path / "exported"
    (d / "variables").mkdir(parents=True)
    (d / "saved_model.pb").write_bytes(b"\x08\x01")
    err = _cli_error(str(d), "is a directory (a TensorFlow SavedModel)", 'model.save("model.keras")')
    assert "h5py" not in err and "OSError" not in err


def test_refusals_list_only_what_applies():
    err = _cli_error(os.path.join(MODELS, "unsupported_many.keras"), "anne supports:")
    assert "Activations:" not in err and "sparsemax" not in err


def test_normalization_kept_where_it_cannot_fold():
    """affine_kept: a Normalization before a same-padded Conv1D, a
    BatchNormalization after a relu Conv1D before a max pooling, and one at
    the end are kept as per-channel layers; Keras parity is checked with the
    other fixtures."""
    m = anne_format.parse(open(os.path.join(MODELS, "affine_kept.anne"), "rb").read())
    kinds = [(l.kind_name, l.options_text()) for l in m.layers]
    assert kinds == [("affine", "(normalization)"), ("conv1d", "kernel_size=3 strides=1 padding=same dilation_rate=1"),
                     ("affine", "(batch_normalization)"), ("max_pooling1d", "pool_size=2 strides=2 padding=valid"),
                     ("flatten", ""), ("dense", ""), ("affine", "(batch_normalization)")]
    assert "folded" not in m.metadata
