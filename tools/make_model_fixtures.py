#!/usr/bin/env python3
"""Trains small real Keras models and writes the converter's test fixtures.

Needs TensorFlow + Keras 3 (and, optionally, tf_keras for tf.keras-2 `.h5`
files); the converter and the tests do not. Seeded and small: about a minute
on 2 cores. Run from anywhere:

    python3 tools/make_model_fixtures.py

Writes
  tests/fixtures/models/<name>.keras      the Keras 3 model
  tests/fixtures/models/<name>.h5         Keras 3 legacy h5 (some models)
  tests/fixtures/models/<name>_tfk2.h5    tf.keras 2 h5 (if tf_keras imports)
  tests/fixtures/models/<name>.anne       converted by tools/anne_convert.py
  tests/fixtures/models/<name>.json       {"x": rows, "y": Keras's predict,
                                           "argmax": [...], ...} (<= 20 rows)
  tests/fixtures/models/unsupported_many.keras, act_after_relu.keras (error cases)
  examples/iris/ai_anne_8.*, ai_anne_6.*  AI-ANNE's published 2-class nets
  examples/iris/iris3.*                   the 3-class Iris model + scaler
"""
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")
IRIS_DIR = os.path.join(ROOT, "examples", "iris")
sys.path.insert(0, HERE)
import anne_convert  # noqa: E402
import anne_format  # noqa: E402
from ai_anne_data import AI_ANNE_6, AI_ANNE_8, AI_ANNE_X, AI_ANNE_YTRUE  # noqa: E402

SEED = 1234
MAX_ROWS = 20

# Fisher's Iris data (as in scikit-learn's load_iris): sepal length, sepal
# width, petal length, petal width (cm), class 0 setosa, 1 versicolor,
# 2 virginica. Rows separated by ';'.
IRIS_TEXT = """
5.1,3.5,1.4,0.2,0;4.9,3,1.4,0.2,0;4.7,3.2,1.3,0.2,0;4.6,3.1,1.5,0.2,0;5,3.6,
1.4,0.2,0;5.4,3.9,1.7,0.4,0;4.6,3.4,1.4,0.3,0;5,3.4,1.5,0.2,0;4.4,2.9,1.4,0.
2,0;4.9,3.1,1.5,0.1,0;5.4,3.7,1.5,0.2,0;4.8,3.4,1.6,0.2,0;4.8,3,1.4,0.1,0;4.
3,3,1.1,0.1,0;5.8,4,1.2,0.2,0;5.7,4.4,1.5,0.4,0;5.4,3.9,1.3,0.4,0;5.1,3.5,1.
4,0.3,0;5.7,3.8,1.7,0.3,0;5.1,3.8,1.5,0.3,0;5.4,3.4,1.7,0.2,0;5.1,3.7,1.5,0.
4,0;4.6,3.6,1,0.2,0;5.1,3.3,1.7,0.5,0;4.8,3.4,1.9,0.2,0;5,3,1.6,0.2,0;5,3.4,
1.6,0.4,0;5.2,3.5,1.5,0.2,0;5.2,3.4,1.4,0.2,0;4.7,3.2,1.6,0.2,0;4.8,3.1,1.6,
0.2,0;5.4,3.4,1.5,0.4,0;5.2,4.1,1.5,0.1,0;5.5,4.2,1.4,0.2,0;4.9,3.1,1.5,0.2,
0;5,3.2,1.2,0.2,0;5.5,3.5,1.3,0.2,0;4.9,3.6,1.4,0.1,0;4.4,3,1.3,0.2,0;5.1,3.
4,1.5,0.2,0;5,3.5,1.3,0.3,0;4.5,2.3,1.3,0.3,0;4.4,3.2,1.3,0.2,0;5,3.5,1.6,0.
6,0;5.1,3.8,1.9,0.4,0;4.8,3,1.4,0.3,0;5.1,3.8,1.6,0.2,0;4.6,3.2,1.4,0.2,0;5.
3,3.7,1.5,0.2,0;5,3.3,1.4,0.2,0;7,3.2,4.7,1.4,1;6.4,3.2,4.5,1.5,1;6.9,3.1,4.
9,1.5,1;5.5,2.3,4,1.3,1;6.5,2.8,4.6,1.5,1;5.7,2.8,4.5,1.3,1;6.3,3.3,4.7,1.6,
1;4.9,2.4,3.3,1,1;6.6,2.9,4.6,1.3,1;5.2,2.7,3.9,1.4,1;5,2,3.5,1,1;5.9,3,4.2,
1.5,1;6,2.2,4,1,1;6.1,2.9,4.7,1.4,1;5.6,2.9,3.6,1.3,1;6.7,3.1,4.4,1.4,1;5.6,
3,4.5,1.5,1;5.8,2.7,4.1,1,1;6.2,2.2,4.5,1.5,1;5.6,2.5,3.9,1.1,1;5.9,3.2,4.8,
1.8,1;6.1,2.8,4,1.3,1;6.3,2.5,4.9,1.5,1;6.1,2.8,4.7,1.2,1;6.4,2.9,4.3,1.3,1;
6.6,3,4.4,1.4,1;6.8,2.8,4.8,1.4,1;6.7,3,5,1.7,1;6,2.9,4.5,1.5,1;5.7,2.6,3.5,
1,1;5.5,2.4,3.8,1.1,1;5.5,2.4,3.7,1,1;5.8,2.7,3.9,1.2,1;6,2.7,5.1,1.6,1;5.4,
3,4.5,1.5,1;6,3.4,4.5,1.6,1;6.7,3.1,4.7,1.5,1;6.3,2.3,4.4,1.3,1;5.6,3,4.1,1.
3,1;5.5,2.5,4,1.3,1;5.5,2.6,4.4,1.2,1;6.1,3,4.6,1.4,1;5.8,2.6,4,1.2,1;5,2.3,
3.3,1,1;5.6,2.7,4.2,1.3,1;5.7,3,4.2,1.2,1;5.7,2.9,4.2,1.3,1;6.2,2.9,4.3,1.3,
1;5.1,2.5,3,1.1,1;5.7,2.8,4.1,1.3,1;6.3,3.3,6,2.5,2;5.8,2.7,5.1,1.9,2;7.1,3,
5.9,2.1,2;6.3,2.9,5.6,1.8,2;6.5,3,5.8,2.2,2;7.6,3,6.6,2.1,2;4.9,2.5,4.5,1.7,
2;7.3,2.9,6.3,1.8,2;6.7,2.5,5.8,1.8,2;7.2,3.6,6.1,2.5,2;6.5,3.2,5.1,2,2;6.4,
2.7,5.3,1.9,2;6.8,3,5.5,2.1,2;5.7,2.5,5,2,2;5.8,2.8,5.1,2.4,2;6.4,3.2,5.3,2.
3,2;6.5,3,5.5,1.8,2;7.7,3.8,6.7,2.2,2;7.7,2.6,6.9,2.3,2;6,2.2,5,1.5,2;6.9,3.
2,5.7,2.3,2;5.6,2.8,4.9,2,2;7.7,2.8,6.7,2,2;6.3,2.7,4.9,1.8,2;6.7,3.3,5.7,2.
1,2;7.2,3.2,6,1.8,2;6.2,2.8,4.8,1.8,2;6.1,3,4.9,1.8,2;6.4,2.8,5.6,2.1,2;7.2,
3,5.8,1.6,2;7.4,2.8,6.1,1.9,2;7.9,3.8,6.4,2,2;6.4,2.8,5.6,2.2,2;6.3,2.8,5.1,
1.5,2;6.1,2.6,5.6,1.4,2;7.7,3,6.1,2.3,2;6.3,3.4,5.6,2.4,2;6.4,3.1,5.5,1.8,2;
6,3,4.8,1.8,2;6.9,3.1,5.4,2.1,2;6.7,3.1,5.6,2.4,2;6.9,3.1,5.1,2.3,2;5.8,2.7,
5.1,1.9,2;6.8,3.2,5.9,2.3,2;6.7,3.3,5.7,2.5,2;6.7,3,5.2,2.3,2;6.3,2.5,5,1.9,
2;6.5,3,5.2,2,2;6.2,3.4,5.4,2.3,2;5.9,3,5.1,1.8,2
"""


def iris_data():
    rows = [r.split(",") for r in "".join(IRIS_TEXT.split()).split(";")]
    x = np.array([[float(v) for v in r[:4]] for r in rows], np.float32)
    y = np.array([int(r[4]) for r in rows], np.int64)
    assert x.shape == (150, 4)
    return x, y




def f32_list(a):
    """float32 array -> nested lists of Python floats (repr round-trips)."""
    a = np.asarray(a, np.float32)
    if a.ndim == 0:
        return float(a)
    return [f32_list(v) for v in a]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 50_000, (path, size)


def predict(model, x):
    return np.asarray(model.predict(np.asarray(x, np.float32), verbose=0), np.float32)


def save_fixture(name, model, x_test, extra=None, h5=False, tfk2=None):
    """Saves model as .keras (+ .h5 / _tfk2.h5), converts it to .anne and
    writes Keras's predictions on x_test (in the model's input shape; the
    JSON holds each row flat, row-major, as the board takes it)."""
    x = np.asarray(x_test, np.float32)[:MAX_ROWS]
    y = predict(model, x)
    base = os.path.join(MODELS, name)
    model.save(base + ".keras")
    sources = [name + ".keras"]
    if h5:
        model.save(base + ".h5")
        sources.append(name + ".h5")
    if tfk2 is not None:
        made = save_tfkeras2(tfk2, model, base + "_tfk2.h5", x, y)
        if made:
            sources.append(name + "_tfk2.h5")
    meta = {k: extra[k] for k in ("classes", "features") if k in (extra or {})}
    data = anne_convert.convert_file(base + ".keras", **meta)
    with open(base + ".anne", "wb") as f:
        f.write(data)
    ref = anne_format.parse(data).forward(x)
    err = float(np.max(np.abs(ref - y)))
    assert np.allclose(ref, y, atol=1e-5, rtol=1e-5), (name, err)
    obj = {"name": name, "keras_version": keras.__version__, "sources": sources,
           "x": f32_list(x.reshape(len(x), -1)), "y": f32_list(y),
           "argmax": [int(i) for i in np.argmax(y, axis=-1)]}
    if extra:
        obj.update(extra)
    write_json(base + ".json", obj)
    print("%-16s %-40s max |numpy ref - keras| = %.2g" % (name, " ".join(sources), err))
    return y


def save_tfkeras2(build, k3_model, path, x, y):
    """Rebuilds the model in tf_keras (Keras 2) with the same weights and
    saves a genuine tf.keras-2 h5 file. Skipped if tf_keras is missing."""
    try:
        import tf_keras
    except ImportError:
        print("  (tf_keras not importable: no tf.keras 2 file for %s)" % path)
        return False
    m2 = build(tf_keras)
    m2.set_weights(k3_model.get_weights())
    y2 = np.asarray(m2.predict(x, verbose=0), np.float32)
    assert np.allclose(y2, y, atol=1e-5, rtol=1e-5), np.max(np.abs(y2 - y))
    m2.save(path, save_format="h5")
    return True


def fit(model, x, y, loss, epochs, lr=0.01, batch=16):
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, shuffle=True)


def blobs(rng, n, dim, classes, spread=1.0):
    centers = rng.normal(0, 2.0, (classes, dim))
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.normal(0, spread, (n, dim))
    return x.astype(np.float32), labels


def onehot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


# ---------------------------------------------------------------------------

def make_iris3(rng):
    keras.backend.clear_session()
    x, y = iris_data()
    perm = rng.permutation(150)
    # 20 test rows: 7 setosa, 7 versicolor, 6 virginica
    test = np.concatenate([[i for i in perm if y[i] == c][:n] for c, n in ((0, 7), (1, 7), (2, 6))])
    test = rng.permutation(test)
    train = np.array([i for i in perm if i not in set(test)])
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    xs = (x - mean) / std

    def build(k):
        return k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"),
                             k.layers.Dense(3, activation="softmax")], name="iris3")

    model = build(keras)
    fit(model, xs[train], onehot(y[train], 3), "categorical_crossentropy", 150, lr=0.02)
    pred = predict(model, xs[test])
    acc = float(np.mean(np.argmax(pred, -1) == y[test]))
    extra = {"labels": [int(v) for v in y[test]], "accuracy": acc,
             "classes": ["setosa", "versicolor", "virginica"],
             "features": ["sepal length (cm)", "sepal width (cm)",
                          "petal length (cm)", "petal width (cm)"],
             "scaler": {"mean": f32_list(mean), "std": f32_list(std)},
             "x_raw": f32_list(x[test])}
    save_fixture("iris3", model, xs[test], extra, h5=True, tfk2=build)
    print("  iris3 test accuracy %.2f" % acc)
    return model


def make_deep_mixed(rng):
    keras.backend.clear_session()
    x, lab = blobs(rng, 400, 6, 4)

    def build(k):
        L = k.layers
        leaky = L.LeakyReLU() if k is keras else L.LeakyReLU(alpha=0.3)
        return k.Sequential([
            k.Input((6,)), L.Dense(16, activation="tanh"),
            L.Dense(12), L.Activation("gelu"), L.Dropout(0.2),
            L.Dense(10), leaky,
            L.Dense(8), L.ELU(alpha=0.7),
            L.Dense(4), L.Softmax()], name="deep_mixed")

    model = build(keras)
    fit(model, x, onehot(lab, 4), "categorical_crossentropy", 20)
    save_fixture("deep_mixed", model, x[:MAX_ROWS], h5=True, tfk2=build)


def make_nobias_reg(rng):
    keras.backend.clear_session()
    x = rng.uniform(-2, 2, (300, 5)).astype(np.float32)
    t = np.stack([np.sin(x[:, 0]) + x[:, 1] * x[:, 2], np.cos(x[:, 3]) - 0.5 * x[:, 4]], 1)
    model = keras.Sequential([
        keras.Input((5,)), layers.Dense(12, activation="selu", use_bias=False),
        layers.Dense(8, activation="softplus", use_bias=False),
        layers.Dense(2, activation="linear")], name="nobias_reg")
    fit(model, x, t, "mse", 30)
    save_fixture("nobias_reg", model, x[:MAX_ROWS])


def make_wide(rng):
    keras.backend.clear_session()
    x, lab = blobs(rng, 600, 32, 10, spread=2.0)
    model = keras.Sequential([
        keras.Input((32,)), layers.Dense(64, activation="sigmoid"),
        layers.Dense(32, activation="swish"),
        layers.Dense(10, activation="log_softmax")], name="wide")
    # log_softmax outputs are valid logits: softmax(log_softmax(z)) = softmax(z)
    fit(model, x, onehot(lab, 10), keras.losses.CategoricalCrossentropy(from_logits=True), 10)
    save_fixture("wide", model, x[:MAX_ROWS])


def make_functional_chain(rng):
    keras.backend.clear_session()
    x, lab = blobs(rng, 300, 7, 3)
    inp = keras.Input((7,), name="features")
    h = layers.Dense(16, activation="hard_swish", name="h1")(inp)
    h = layers.Dropout(0.1)(h)
    h = layers.Dense(12, activation="mish", name="h2")(h)
    h = layers.Dense(10, name="h3")(h)
    h = layers.Activation("celu")(h)
    h = layers.Dense(6, activation="softsign", name="h4")(h)
    out = layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inp, out, name="functional_chain")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 20)
    save_fixture("functional_chain", model, x[:MAX_ROWS], h5=True)


def make_sparsemax(rng):
    """sparsemax output layer. Keras 3.15's sparsemax is wrong when the
    support has more than one element (keras-team/keras#23425); anne
    implements the correct one, so only rows whose support is one element
    (where both agree) can be compared with Keras."""
    keras.backend.clear_session()
    x, lab = blobs(rng, 300, 5, 3)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="sparsemax")], name="sparsemax_out")
    fit(model, x, onehot(lab, 3), "mse", 20)
    y = predict(model, x)
    single = [i for i in range(len(x)) if np.count_nonzero(y[i]) == 1
              and np.allclose(y[i].sum(), 1.0)]
    rows = x[single[:MAX_ROWS]]
    save_fixture("sparsemax_out", model, rows, {
        "note": "rows where sparsemax's support is one element; Keras 3.15 sparsemax "
                "differs from the correct one otherwise (keras-team/keras#23425)"})


def make_relu_params(rng):
    keras.backend.clear_session()
    x = rng.uniform(-3, 3, (300, 4)).astype(np.float32)
    t = np.stack([np.abs(x[:, 0]) - x[:, 1], np.maximum(x[:, 2], 0) * x[:, 3], x.sum(1)], 1)
    model = keras.Sequential([
        keras.Input((4,)), layers.Dense(10),
        layers.ReLU(max_value=6, negative_slope=0.1, threshold=0.5),
        layers.Dense(8), layers.ReLU(max_value=2.5),
        layers.Dense(8, activation="leaky_relu"),
        layers.Dense(6, activation="relu6"),
        layers.Dense(5), layers.ReLU(negative_slope=0.05),
        layers.Dense(3)], name="relu_params")
    fit(model, x, t, "mse", 30)
    save_fixture("relu_params", model, x[:MAX_ROWS])


ZOO_GROUPS = [
    ["elu", "selu", "exponential", "hard_shrink", "hard_sigmoid"],
    ["hard_silu", "hard_tanh", "log_sigmoid", "relu6", "soft_shrink"],
    ["softsign", "sparse_plus", "sparse_sigmoid", "squareplus", "tanh_shrink"],
    ["celu", "gelu", "silu", "softplus", "sigmoid"],
    ["tanh", "leaky_relu", "mish", "swish", "hard_swish"],
]


def make_zoo(rng):
    """zoo1..zoo5: chains of Dense(8) layers, one per activation, initialized
    wide enough that every branch of every activation is used; zoo5 ends in
    glu. With wide's log_softmax this covers every id except threshold (which
    Keras cannot use by name). glu must come last: Keras 3.15's shape
    inference gives Dense(8, "glu") 8 outputs although it computes 4, so a
    layer after it fails to build."""
    for i, group in enumerate(ZOO_GROUPS, 1):
        keras.backend.clear_session()
        x = rng.normal(0, 1, (200, 6)).astype(np.float32)
        last = (layers.Dense(8, activation="glu", name="out_glu") if i == len(ZOO_GROUPS)
                else layers.Dense(4, name="out"))
        t = np.tanh(x[:, :4] * x[:, 2:])
        init = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.7, seed=SEED + i),
                    bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=SEED + i))
        model = keras.Sequential(
            [keras.Input((6,))]
            + [layers.Dense(8, activation=a, name="d_" + a, **init) for a in group]
            + [last], name="zoo%d" % i)
        fit(model, x, t, "mse", 5, lr=0.003)
        y = save_fixture("zoo%d" % i, model, x[:MAX_ROWS], h5=(i == 1))
        assert np.min(np.std(y, axis=0)) > 1e-3, ("degenerate outputs", group, y)


def make_error_models():
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu", name="hidden"),
                          layers.Activation("sigmoid", name="extra_sigmoid"),
                          layers.Dense(2)], name="act_after_relu")
    m.save(os.path.join(MODELS, "act_after_relu.keras"))
    print("error models: act_after_relu")


def make_ai_anne(name, spec):
    keras.backend.clear_session()
    acts = spec["activations"]
    w = [np.array(v, np.float32) for v in spec["weights"]]
    model = keras.Sequential(
        [keras.Input((4,))]
        + [layers.Dense(w[2 * i].shape[1], activation=a) for i, a in enumerate(acts)],
        name=name)
    model.set_weights(w)
    x = np.array(AI_ANNE_X, np.float32)
    y = predict(model, x)
    pred = [int(p > 0.5) for p in y[:, 0]]
    yt = AI_ANNE_YTRUE
    conf = [[sum(1 for t, p in zip(yt, pred) if t == a and p == b) for b in (0, 1)]
            for a in (0, 1)]
    acc = sum(1 for t, p in zip(yt, pred) if t == p) / len(yt)
    base = os.path.join(IRIS_DIR, name)
    model.save(base + ".keras")
    data = anne_convert.convert_file(base + ".keras", classes=["versicolor", "virginica"])
    with open(base + ".anne", "wb") as f:
        f.write(data)
    ref = anne_format.parse(data).forward(x)
    write_json(base + ".json", {
        "name": name, "source": "AI-ANNE (arXiv 2501.03256) published Keras weights",
        "classes": ["versicolor", "virginica"], "threshold": 0.5,
        "activations": acts, "x": f32_list(x), "y": f32_list(y),
        "labels": yt, "pred": pred, "accuracy": acc, "confusion": conf})
    print("%-16s accuracy %.2f confusion %s  max |numpy ref - keras| = %.2g"
          % (name, acc, conf, float(np.max(np.abs(ref - y)))))
    if abs(acc - 0.90) > 1e-9 or conf != [[8, 2], [0, 10]]:
        print("  WARNING: expected accuracy 0.90 and confusion [[8, 2], [0, 10]]")
    return acc, conf


def make_affine_models(rng):
    """Normalization, Rescaling and BatchNormalization where users put them,
    trained so that the moving statistics are not the initial ones."""
    keras.backend.clear_session()
    x, lab = blobs(rng, 400, 5, 3)
    x = (x * np.array([10.0, 0.1, 1.0, 50.0, 3.0]) + np.array([100.0, 0.0, -5.0, 20.0, 1.0])).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((5,)), norm, layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")], name="norm_tabular")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 40)
    save_fixture("norm_tabular", model, x, h5=True)

    keras.backend.clear_session()
    x, lab = blobs(rng, 400, 4, 2)
    model = keras.Sequential([
        keras.Input((4,)), layers.Rescaling(0.5, offset=-0.25),
        layers.Dense(8), layers.BatchNormalization(), layers.ReLU(), layers.Dropout(0.1),
        layers.Dense(6, use_bias=False), layers.BatchNormalization(center=False, epsilon=0.01),
        layers.Activation("tanh"),
        layers.BatchNormalization(),
        layers.Dense(1, activation="sigmoid")], name="rescale_batchnorm")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 40)
    save_fixture("rescale_batchnorm", model, x, h5=True)

    keras.backend.clear_session()
    x, lab = blobs(rng, 400, 6, 4)
    model = keras.Sequential([
        keras.Input((6,)), layers.BatchNormalization(), layers.BatchNormalization(scale=False),
        layers.Dense(5, activation="elu"), layers.Dense(4)], name="batchnorm_first")
    fit(model, x, onehot(lab, 4), "mse", 40)
    save_fixture("batchnorm_first", model, x)

    # refused, with every problem in one message
    keras.backend.clear_session()
    model = keras.Sequential([
        keras.Input((16, 3)), layers.Conv1D(4, 3), layers.LayerNormalization(), layers.MaxPooling1D(2),
        layers.Cropping1D(1), layers.Flatten(), layers.Dense(8, activation="relu"), layers.Dense(2),
        layers.Activation("relu"), layers.BatchNormalization()], name="many_unsupported")
    model.save(os.path.join(MODELS, "unsupported_many.keras"))


def windows(rng, n, steps, channels, classes):
    """Synthetic sensor windows: each class a different mix of sines
    (frequency, phase per channel) plus noise, as accelerometer axes."""
    labels = rng.integers(0, classes, n)
    t = np.arange(steps, dtype=np.float32)[None, :, None]
    freq = rng.uniform(0.05, 0.4, (classes, 1, channels))
    phase = rng.uniform(0, 6.28, (classes, 1, channels))
    x = np.sin(2 * np.pi * freq[labels] * t + phase[labels]) + rng.normal(0, 0.3, (n, steps, channels))
    return x.astype(np.float32), labels


def make_conv_models(rng):
    """Conv1D, pooling, Flatten and Reshape models: every option of issue 11."""
    keras.backend.clear_session()
    x, lab = windows(rng, 300, 32, 3, 4)
    model = keras.Sequential([
        keras.Input((32, 3)), layers.Conv1D(8, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(2), layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="tanh"),
        layers.GlobalAveragePooling1D(), layers.Dense(4, activation="softmax")], name="conv_har")
    fit(model, x, onehot(lab, 4), "categorical_crossentropy", 15)
    save_fixture("conv_har", model, x[:MAX_ROWS], h5=True)

    keras.backend.clear_session()
    x, lab = windows(rng, 300, 20, 2, 3)
    model = keras.Sequential([
        keras.Input((20, 2)), layers.Conv1D(4, 3, strides=2, use_bias=False, activation="elu"),
        layers.AveragePooling1D(3, strides=2, padding="same"),
        layers.Conv1D(3, 2, strides=2, padding="same", activation="softmax"),
        layers.Flatten(), layers.Dense(3)], name="conv_strides")
    fit(model, x, onehot(lab, 3), "mse", 15)
    save_fixture("conv_strides", model, x[:MAX_ROWS], h5=True)

    keras.backend.clear_session()
    x, lab = windows(rng, 300, 16, 3, 2)
    x = x * np.array([2.0, 0.5, 10.0], np.float32) + np.array([1.0, -3.0, 9.8], np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([
        keras.Input((16, 3)), norm, layers.Conv1D(6, 3), layers.BatchNormalization(), layers.ReLU(),
        layers.MaxPooling1D(2, padding="same"), layers.Conv1D(4, 2, activation="gelu"),
        layers.AveragePooling1D(2), layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")],
        name="conv_norm")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 15)
    save_fixture("conv_norm", model, x[:MAX_ROWS])

    keras.backend.clear_session()
    x, lab = windows(rng, 300, 16, 3, 3)
    x = x * np.array([3.0, 1.0, 0.2], np.float32) + np.array([0.0, 5.0, -1.0], np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([
        keras.Input((16, 3)), norm,  # before a same-padded Conv1D: kept as a layer
        layers.Conv1D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),  # after relu, before a max pooling: kept
        layers.MaxPooling1D(2), layers.Flatten(), layers.Dense(6, activation="tanh"),
        layers.BatchNormalization()], name="affine_kept")  # last: kept
    fit(model, x, onehot(lab, 3)[:, :2].repeat(3, axis=1), "mse", 10)
    save_fixture("affine_kept", model, x[:MAX_ROWS], h5=True)

    keras.backend.clear_session()
    x, lab = windows(rng, 300, 8, 3, 2)
    x = x.reshape(300, 24)
    model = keras.Sequential([
        keras.Input((24,)), layers.Reshape((8, 3)), layers.Conv1D(4, 3, activation="silu"),
        layers.Reshape((-1,)), layers.Dense(5, activation="relu"), layers.Dense(2, activation="softmax")],
        name="reshape_conv")
    fit(model, x, onehot(lab, 2), "categorical_crossentropy", 15)
    save_fixture("reshape_conv", model, x[:MAX_ROWS])

    # Keras's Dense on a (steps, channels) input acts on each step: a Conv1D
    # with kernel_size 1 on the board; SpatialDropout1D is dropped
    keras.backend.clear_session()
    x, lab = windows(rng, 300, 10, 3, 2)
    model = keras.Sequential([
        keras.Input((10, 3)), layers.Conv1D(4, 3, padding="same"), layers.SpatialDropout1D(0.2),
        layers.Dense(5, activation="softmax"), layers.GlobalAveragePooling1D(), layers.Dense(2)],
        name="dense_per_step")
    fit(model, x, onehot(lab, 2), "mse", 10)
    save_fixture("dense_per_step", model, x[:MAX_ROWS], h5=True)


def write_iris_train():
    """examples/iris/iris_train.json: the 130 Iris rows iris3 was trained on
    (all but its 20 test rows), standardized with its scaler, and their
    labels: what examples/tuning retrains a changed network with."""
    ref = json.load(open(os.path.join(IRIS_DIR, "iris3.json")))
    x, y = iris_data()
    test = {tuple(np.float32(v) for v in r) for r in ref["x_raw"]}
    keep = [i for i in range(150) if tuple(x[i]) not in test]
    assert len(keep) == 130, len(keep)
    mean = np.array(ref["scaler"]["mean"], np.float32)
    std = np.array(ref["scaler"]["std"], np.float32)
    xs = (x[keep] - mean) / std
    write_json(os.path.join(IRIS_DIR, "iris_train.json"),
               {"x": [[round(float(v), 4) for v in r] for r in xs], "labels": [int(v) for v in y[keep]],
                "classes": ref["classes"]})


def copy_iris3():
    for ext in (".keras", ".anne", ".json"):
        shutil.copyfile(os.path.join(MODELS, "iris3" + ext),
                        os.path.join(IRIS_DIR, "iris3" + ext))


def main():
    if sys.argv[1:] == ["--iris-train"]:
        write_iris_train()
        return
    if sys.argv[1:] == ["--conv"]:  # only the models of make_conv_models
        keras.utils.set_random_seed(SEED + 2)
        make_conv_models(np.random.default_rng(SEED + 2))
        return
    if sys.argv[1:] == ["--affine"]:  # only the models of make_affine_models
        keras.utils.set_random_seed(SEED + 1)
        make_affine_models(np.random.default_rng(SEED + 1))
        return
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(IRIS_DIR, exist_ok=True)
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    make_iris3(rng)
    make_deep_mixed(rng)
    make_nobias_reg(rng)
    make_wide(rng)
    make_functional_chain(rng)
    make_relu_params(rng)
    make_sparsemax(rng)
    make_zoo(rng)
    make_error_models()
    make_conv_models(rng)
    make_ai_anne("ai_anne_8", AI_ANNE_8)
    make_ai_anne("ai_anne_6", AI_ANNE_6)
    copy_iris3()
    write_iris_train()


if __name__ == "__main__":
    main()
