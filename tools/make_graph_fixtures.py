#!/usr/bin/env python3
"""Trains small real Keras functional models whose layers take several
inputs (residual connections, branches, every merge anne runs) and writes
the converter's and the board's end-to-end fixtures for graphs.

Run by hand, NOT by `make test` (it needs TensorFlow and Keras 3):

    /work/venv-tf/bin/python tools/make_graph_fixtures.py

Writes, for each model below, into tests/fixtures/graph/:
  <name>.keras (and <name>.h5 for some)   the Keras 3 model
  <name>.anne    converted by tools/anne_convert.py (a version-3 graph)
  <name>.json    {"x": rows flat (numpy's reshape(-1)), "y": Keras's
                  predict, "layers": the .anne's layers as the host codec
                  reads them: kind, inputs (-1: the network's input),
                  output size; for the board test's own count of the arena}

Models: graph_dense_residual (x + Dense(Dense(x)), then Dense softmax),
graph_resnet (a Conv2D stem, an identity block and a strided block with a
1x1 projection shortcut, each conv followed by BatchNormalization and ReLU
as ResNet-8's, Add then ReLU, GlobalAveragePooling2D, Dense), graph_concat
(two Conv2D branches, one through MaxPooling2D and a Flatten, joined by
Concatenate on the channels, then a Dense branch pair joined again),
graph_merges (Add, Subtract, Multiply, Average, Maximum, Minimum and
Concatenate of Dense branches, with three inputs where Keras allows it) and
graph_conv1d (Conv1D, two pooling branches, Add, an activation layer after
it, GlobalAveragePooling1D, Dense).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import (  # noqa: E402
    ROOT, f32_list, fit, keras, layers, onehot, predict, write_json)
import anne_convert  # noqa: E402
import anne_format  # noqa: E402

SEED = 2030
OUT = os.path.join(ROOT, "tests", "fixtures", "graph")
ROWS = 8


def save(name, model, x, h5=False):
    """The model as .keras (and .h5), converted to .anne (and each form
    checked: the same file), Keras's predictions on x and the layers."""
    x = np.asarray(x, np.float32)[:ROWS]
    y = predict(model, x)
    base = os.path.join(OUT, name)
    model.save(base + ".keras")
    data = anne_convert.convert_file(base + ".keras")
    sources = [name + ".keras"]
    if h5:
        model.save(base + ".h5")
        assert anne_convert.convert_file(base + ".h5") == data, name
        sources.append(name + ".h5")
    with open(base + ".anne", "wb") as f:
        f.write(data)
    m = anne_format.parse(data)
    ref = m.forward(x)
    err = float(np.max(np.abs(ref - y)))
    assert np.allclose(ref, y, atol=1e-5, rtol=1e-4), (name, err)
    net = [{"kind": l.kind_name, "inputs": [-1 if j == 255 else j for j in
                                            (l.inputs or ((l.index - 1 if l.index else 255),))],
            "out": int(l.n_out)} for l in m.layers]
    write_json(base + ".json", {"name": name, "keras_version": keras.__version__, "sources": sources,
                                "input_shape": list(m.input_shape), "x": f32_list(x.reshape(len(x), -1)),
                                "y": f32_list(y), "layers": net})
    print("%-22s %-40s %2d board layers, max |numpy ref - keras| = %.2g" % (name, " ".join(sources),
                                                                          len(m.layers), err))


def dense_residual(rng):
    keras.backend.clear_session()
    x = rng.normal(0, 1, (300, 6)).astype(np.float32)
    lab = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int) + (x[:, 3] > 0.5)
    inp = keras.Input((6,))
    h = layers.Dense(16, activation="relu")(inp)
    h = layers.Dense(6)(h)
    h = layers.Add()([inp, h])
    out = layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inp, out, name="graph_dense_residual")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 8)
    save("graph_dense_residual", model, x, h5=True)


def conv_bn(h, filters, kernel, strides=1, relu=True):
    h = layers.Conv2D(filters, kernel, strides=strides, padding="same")(h)
    h = layers.BatchNormalization()(h)
    return layers.Activation("relu")(h) if relu else h


def resnet(rng):
    keras.backend.clear_session()
    x = rng.normal(0, 1, (200, 8, 8, 3)).astype(np.float32)
    lab = (x[:, :4, :, 0].mean(axis=(1, 2)) > x[:, 4:, :, 1].mean(axis=(1, 2))).astype(int) * 2 \
        + (x[:, :, :, 2].mean(axis=(1, 2)) > 0)
    inp = keras.Input((8, 8, 3))
    stem = conv_bn(inp, 6, 3)
    # identity block
    h = conv_bn(stem, 6, 3)
    h = conv_bn(h, 6, 3, relu=False)
    h = layers.Activation("relu")(layers.Add()([stem, h]))
    # strided block, 1x1 projection shortcut (ResNet-8's second and third stacks)
    y = conv_bn(h, 8, 3, strides=2)
    y = conv_bn(y, 8, 3, relu=False)
    s = layers.Conv2D(8, 1, strides=2)(h)
    h = layers.ReLU()(layers.Add()([y, s]))
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(4, activation="softmax")(h)
    model = keras.Model(inp, out, name="graph_resnet")
    fit(model, x, onehot(lab, 4), "categorical_crossentropy", 6)
    # BatchNormalization's statistics moved away from 0/1, as after real training
    for L in model.layers:
        if isinstance(L, layers.BatchNormalization):
            c = L.gamma.shape[0]
            L.moving_mean.assign(rng.normal(0, 0.3, c).astype(np.float32))
            L.moving_variance.assign(rng.uniform(0.5, 2.0, c).astype(np.float32))
            L.gamma.assign(rng.uniform(0.7, 1.3, c).astype(np.float32))
    save("graph_resnet", model, x, h5=True)


def concat(rng):
    keras.backend.clear_session()
    x = rng.normal(0, 1, (200, 6, 6, 2)).astype(np.float32)
    lab = (x[..., 0].mean(axis=(1, 2)) > 0).astype(int)
    inp = keras.Input((6, 6, 2))
    a = layers.Conv2D(3, 1, activation="relu")(inp)
    b = layers.Conv2D(2, 3, padding="same", activation="tanh")(inp)
    h = layers.Concatenate()([a, b, inp])
    h = layers.Conv2D(4, 3, strides=2)(h)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    c = layers.Dense(5, activation="elu")(h)
    d = layers.Dense(3, activation="sigmoid")(h)
    h = layers.Concatenate(axis=-1)([c, d])
    out = layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inp, out, name="graph_concat")
    fit(model, x, onehot(lab, 2), "categorical_crossentropy", 6)
    save("graph_concat", model, x)


def merges(rng):
    keras.backend.clear_session()
    x = rng.normal(0, 1, (300, 5)).astype(np.float32)
    t = np.stack([x[:, 0] * x[:, 1], np.maximum(x[:, 2], x[:, 3]), x[:, 4] - x[:, 0]], axis=1)
    inp = keras.Input((5,))
    a = layers.Dense(6, activation="tanh")(inp)
    b = layers.Dense(6, activation="sigmoid")(inp)
    c = layers.Dense(6)(inp)
    s = layers.Subtract()([a, b])
    m = layers.Multiply()([a, b, c])
    av = layers.Average()([a, b, c])
    mx = layers.Maximum()([s, m, c])
    mn = layers.Minimum()([av, c])
    ad = layers.Add()([a, b, c])
    h = layers.Concatenate()([mx, mn, ad, inp])
    out = layers.Dense(3)(h)
    model = keras.Model(inp, out, name="graph_merges")
    fit(model, x, t, "mse", 8)
    save("graph_merges", model, x)


def conv1d(rng):
    keras.backend.clear_session()
    x = rng.normal(0, 1, (200, 16, 2)).astype(np.float32)
    lab = (x[:, :8, 0].mean(axis=1) > x[:, 8:, 1].mean(axis=1)).astype(int)
    inp = keras.Input((16, 2))
    h = layers.Conv1D(4, 3, padding="same", activation="relu")(inp)
    p = layers.MaxPooling1D(2)(h)
    q = layers.AveragePooling1D(2)(h)
    h = layers.Add()([p, q])
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv1D(3, 3)(h)
    h = layers.GlobalAveragePooling1D()(h)
    out = layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inp, out, name="graph_conv1d")
    fit(model, x, onehot(lab, 2), "categorical_crossentropy", 6)
    save("graph_conv1d", model, x)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    keras.utils.set_random_seed(SEED)
    for make in (dense_residual, resnet, concat, merges, conv1d):
        make(rng)


if __name__ == "__main__":
    main()
