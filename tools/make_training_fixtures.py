#!/usr/bin/env python3
"""Records what Keras (TensorFlow backend) computes when it trains, for the
board's training to be checked against. Not run by `make test`; needs
TensorFlow 2.x with Keras 3 (checked with TF 2.21, Keras 3.15.1):

    python3 tools/make_training_fixtures.py [conv|cnn|graph|upsampling]
        (conv: the Conv1D runs only; cnn: the 2-D ones only; graph: the
        functional models with merges only; upsampling: the Conv1D runs
        through UpSampling1D only)

Writes:

  tests/fixtures/gradients.json
    {"generator", "keras", "tensorflow",
     "gradients": [{"name": keras name, "params": {...},
                    "x": [inputs], "w": [weights on the outputs] or null (all 1),
                    "g": [d sum(w * f(x)) / dx from tf.GradientTape],
                    "keras": [what Keras gave] where "g" is not it (sparsemax)}, ...]}
    Element-wise activations on the finite points of the activation fixtures
    (kinks included: 0, the thresholds, max_value), the vector ones (softmax,
    log_softmax, sparsemax, glu) on a few vectors with random w.

  tests/fixtures/training/<name>.anne + <name>.json, one per training run:
    the untrained model converted by tools/anne_convert.py, and
    {"name", "optimizer": {"name": "sgd"|"adam", Keras's arguments},
     "loss": Keras name, "metrics": [...], "batch_size", "epochs",
     "x": [rows], "y": [rows or class indices],
     "history": Keras's History.history (shuffle=False),
     "weights": Keras's get_weights() after fit, each flattened}
    (the .keras file is kept as <name>.keras). The graph runs' (graph_*)
    weights are in the .anne file's layer order (its layers as the
    converter orders a functional model's).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the same sums on every machine

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import anne_convert  # noqa: E402
import anne_reference  # noqa: E402
from make_activation_fixtures import ELEMENTWISE, ELEMENTWISE_X  # noqa: E402

GRADIENTS = os.path.join(ROOT, "tests", "fixtures", "gradients.json")
TRAINING = os.path.join(ROOT, "tests", "fixtures", "training")


def f32(a):
    return [float(v) for v in np.asarray(a, np.float32).ravel()]


def gradient(tf, keras, name, params, x, w):
    xt = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = getattr(keras.activations, name)(xt, **params)
        s = tf.reduce_sum(y if w is None else y * tf.constant(np.asarray(w, np.float32)))
    return tape.gradient(s, xt).numpy()


def gradient_cases(tf, keras):
    x = ELEMENTWISE_X[np.isfinite(ELEMENTWISE_X)]
    cases = []
    for name, params in ELEMENTWISE:
        g = gradient(tf, keras, name, params, x, None)
        keep = np.isfinite(g)
        cases.append({"name": name, "params": params, "x": f32(x[keep]), "w": None, "g": f32(g[keep])})
    rng = np.random.default_rng(11)
    vectors = [[0.0], [0.0, 0.5, 1.0], [1.0, 1.2], [3.0, 3.0, 3.0, 3.0], [0.1, 0.2, 0.3, 0.4, 0.5],
               np.round(rng.normal(0, 2, 9), 3), np.round(rng.normal(0, 0.3, 9), 3)]
    for name in ("softmax", "log_softmax", "sparsemax"):
        for v in vectors:
            w = np.round(rng.normal(0, 1, len(v)), 3)
            case = {"name": name, "params": {}, "x": f32(v), "w": f32(w),
                    "g": f32(gradient(tf, keras, name, {}, v, w))}
            if name == "sparsemax":
                # Keras 3.15's sparsemax is not the projection onto the simplex
                # when more than one output is non-zero (keras-team/keras#23425;
                # see make_activation_fixtures.py), so neither is its gradient:
                # the Jacobian of the true sparsemax (Martins & Astudillo 2016)
                # is diag(s) - s s^T / |S|, s the support's indicator.
                y = anne_reference.activate("sparsemax", np.asarray(v, np.float64), {}, False, False)
                supp = (np.asarray(y) > 0).astype(np.float64)
                g = supp * (w - (supp @ w) / supp.sum())
                if not np.allclose(g, case["g"], atol=1e-6):
                    case["keras"] = case["g"]
                    case["g"] = f32(g)
            cases.append(case)
    for v in ([1.0, 0.0], [3.0, 4.0, 0.0, -2.0], np.round(rng.normal(0, 2, 10), 3)):
        w = np.round(rng.normal(0, 1, len(v) // 2), 3)
        cases.append({"name": "glu", "params": {}, "x": f32(v), "w": f32(w),
                      "g": f32(gradient(tf, keras, "glu", {}, v, w))})
    return cases


def blobs(rng, n, dim, classes):
    centers = rng.normal(0, 1.5, (classes, dim))
    labels = rng.integers(0, classes, n)
    return (centers[labels] + rng.normal(0, 1.0, (n, dim))).astype(np.float32), labels


# (name, layers as (units, activation, params, use_bias), n_in, optimizer,
#  loss, metrics, batch_size, epochs, task): every optimizer form, every
#  loss, partial last batches, use_bias=False, a spread of activations.
RUNS = [
    ("sgd_cce", [(8, "relu", {}, True), (3, "softmax", {}, True)], 4,
     {"name": "sgd", "learning_rate": 0.1}, "categorical_crossentropy", ["accuracy"], 8, 3, "onehot"),
    ("momentum_sparse", [(6, "tanh", {}, True), (3, "softmax", {}, True)], 4,
     {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, "sparse_categorical_crossentropy",
     ["accuracy"], 7, 3, "sparse"),
    ("nesterov_bce", [(5, "elu", {}, False), (4, "gelu", {}, True), (1, "sigmoid", {}, True)], 3,
     {"name": "sgd", "learning_rate": 0.05, "momentum": 0.5, "nesterov": True}, "binary_crossentropy",
     ["accuracy"], 10, 3, "binary"),
    ("adam_mse", [(8, "leaky_relu", {}, True), (6, "silu", {}, True), (2, "linear", {}, True)], 3,
     {"name": "adam", "learning_rate": 0.01}, "mse", ["mae"], 6, 4, "regression"),
    ("adam_mae", [(7, "softplus", {}, True), (2, "tanh", {}, False)], 2,
     {"name": "adam", "learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5}, "mae",
     ["mse"], 9, 3, "regression"),
    ("adam_cce_mixed", [(6, "selu", {}, True), (6, "hard_silu", {}, True), (6, "mish", {}, True),
                        (3, "softmax", {}, True)], 5,
     {"name": "adam", "learning_rate": 0.01}, "categorical_crossentropy", ["accuracy"], 16, 2, "onehot"),
    # AI-ANNE's way, per-sample SGD, on the bench's Iris-sized net
    ("sgd_sparse_b1", [(8, "relu", {}, True), (3, "softmax", {}, True)], 4,
     {"name": "sgd", "learning_rate": 0.05}, "sparse_categorical_crossentropy", ["accuracy"], 1, 2,
     "sparse"),
]


# Conv1D networks (issue 10's Conv1D backward): (name, input (steps,
# channels), layers as keras.layers constructor calls, optimizer, loss,
# metrics, batch_size, epochs, task). Every kind of layer fit() trains
# through: strides, dilation, same and causal padding, use_bias=False, a
# vector activation per step, both poolings and the global ones, Flatten,
# and a Rescaling the converter cannot fold (before a same-padded Conv1D).
CONV_RUNS = [
    ("conv_adam_sparse", (16, 3), [
        ("Conv1D", (4, 3), {"activation": "relu"}),
        ("MaxPooling1D", (2,), {}),
        ("Conv1D", (5, 3), {"padding": "same", "activation": "tanh"}),
        ("GlobalAveragePooling1D", (), {}),
        ("Dense", (3,), {"activation": "softmax"})],
     {"name": "adam", "learning_rate": 0.01}, "sparse_categorical_crossentropy", ["accuracy"], 5, 4, "sparse"),
    ("conv_momentum_mse", (12, 2), [
        ("Conv1D", (3, 2), {"strides": 2, "padding": "causal", "activation": "elu", "use_bias": False}),
        ("Conv1D", (4, 2), {"dilation_rate": 2, "padding": "causal", "activation": "softmax"}),
        ("AveragePooling1D", (2,), {"padding": "same"}),
        ("Flatten", (), {}),
        ("Dense", (2,), {})],
     {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, "mse", ["mae"], 4, 4, "regression"),
    ("conv_nesterov_bce", (10, 2), [
        ("Rescaling", (0.5,), {"offset": -0.25}),
        ("Conv1D", (3, 3), {"padding": "same", "activation": "swish"}),
        ("MaxPooling1D", (3,), {"strides": 2, "padding": "same"}),
        ("Conv1D", (2, 2), {"activation": "sigmoid"}),
        ("GlobalMaxPooling1D", (), {}),
        ("Dense", (1,), {"activation": "sigmoid"})],
     {"name": "sgd", "learning_rate": 0.1, "momentum": 0.5, "nesterov": True}, "binary_crossentropy",
     ["accuracy"], 7, 4, "binary"),
]


# Conv1D networks through UpSampling1D (sizes 2 and 3, then a pooling and
# Flatten), the same tuple as CONV_RUNS.
UPSAMPLING_RUNS = [
    ("upsampling_adam_sparse", (8, 2), [
        ("Conv1D", (3, 3), {"activation": "relu"}),
        ("UpSampling1D", (2,), {}),
        ("Conv1D", (4, 3), {"padding": "same", "activation": "tanh"}),
        ("UpSampling1D", (3,), {}),
        ("MaxPooling1D", (2,), {}),
        ("Flatten", (), {}),
        ("Dense", (3,), {"activation": "softmax"})],
     {"name": "adam", "learning_rate": 0.01}, "sparse_categorical_crossentropy", ["accuracy"], 5, 4, "sparse"),
]


# 2-D networks (issue 30: Conv2D, DepthwiseConv2D and SeparableConv2D,
# which the converter splits into a DepthwiseConv2D and a 1x1 Conv2D, through
# 2-D pooling, ZeroPadding2D, the global poolings and Flatten): small images
# of bars (the board's heap holds the data), the same tuple as CONV_RUNS.
CNN_RUNS = [
    ("cnn_momentum_sparse", (6, 6, 1), [
        ("Conv2D", (3, 3), {"activation": "relu"}),
        ("MaxPooling2D", (2,), {}),
        ("Flatten", (), {}),
        ("Dense", (3,), {"activation": "softmax"})],
     {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9}, "sparse_categorical_crossentropy", ["accuracy"], 4, 5,
     "sparse"),
    ("cnn_adam_depthwise", (6, 6, 2), [
        ("ZeroPadding2D", (((1, 0), (0, 1)),), {}),
        ("DepthwiseConv2D", (3,), {"depth_multiplier": 2, "activation": "tanh"}),
        ("Conv2D", (4, (2, 1)), {"strides": (1, 2), "padding": "same", "activation": "elu", "use_bias": False}),
        ("AveragePooling2D", (2,), {"strides": 1}),
        ("GlobalAveragePooling2D", (), {}),
        ("Dense", (1,), {"activation": "sigmoid"})],
     {"name": "adam", "learning_rate": 0.01}, "binary_crossentropy", ["accuracy"], 5, 5, "binary"),
    ("cnn_sgd_separable", (8, 8, 1), [
        ("Conv2D", (2, 3), {"padding": "same", "dilation_rate": 2, "activation": "swish"}),
        ("SeparableConv2D", (3, 3), {"strides": 2, "activation": "relu"}),
        ("MaxPooling2D", (2,), {"padding": "same"}),
        ("GlobalMaxPooling2D", (), {}),
        ("Dense", (3,), {"activation": "softmax"})],
     {"name": "sgd", "learning_rate": 0.05}, "categorical_crossentropy", ["accuracy"], 6, 5, "onehot"),
]


def cnn_run(keras, rng, spec):
    name, shape, layer_specs, opt, loss, metrics, batch, epochs, task = spec
    keras.utils.set_random_seed(sum(name.encode()))
    n = 16
    classes = 3
    lab = rng.integers(0, classes, n)
    h, w, c = shape
    x = rng.normal(0, 0.3, (n, h, w, c)).astype(np.float32)
    for i in range(n):  # a horizontal bar, a vertical one, a diagonal
        k = rng.integers(1, min(h, w) - 1)
        if lab[i] == 0:
            x[i, k, :, :] += 1.0
        elif lab[i] == 1:
            x[i, :, k, :] += 1.0
        else:
            x[i, np.arange(min(h, w)), np.arange(min(h, w)), :] += 1.0
    if task == "sparse":
        y = lab.astype(np.int64)
    elif task == "binary":
        y = (lab == 2).astype(np.float32)[:, None]
    else:
        y = np.eye(classes, dtype=np.float32)[lab]
    model = keras.Sequential([keras.Input(shape)] + [
        getattr(keras.layers, kind)(*args, **kw) for kind, args, kw in layer_specs], name=name)
    _record(keras, model, name, x.reshape(n, -1), y, opt, loss, metrics, batch, epochs, task)


def conv_run(keras, rng, spec):
    name, shape, layer_specs, opt, loss, metrics, batch, epochs, task = spec
    keras.utils.set_random_seed(sum(name.encode()))
    n = 24
    n_out = layer_specs[-1][1][0]
    classes = max(n_out, 2)
    lab = rng.integers(0, classes, n)
    t = np.arange(shape[0], dtype=np.float32)[:, None]
    phase = rng.normal(0, 0.3, (n, 1, shape[1]))
    x = (np.sin(t[None] * (0.4 + 0.3 * lab[:, None, None]) + phase)
         + rng.normal(0, 0.3, (n,) + shape)).astype(np.float32)
    if task == "sparse":
        y = lab.astype(np.int64)
    elif task == "binary":
        y = (lab % 2).astype(np.float32)[:, None]
    else:
        y = np.stack([x[:, :, 0].mean(1), x[:, -1, :].max(1)], 1).astype(np.float32)
    model = keras.Sequential([keras.Input(shape)] + [
        getattr(keras.layers, kind)(*args, **kw) for kind, args, kw in layer_specs], name=name)
    _record(keras, model, name, x.reshape(n, -1), y, opt, loss, metrics, batch, epochs, task)


# Graphs (issue 30: functional models whose layers take several inputs):
# (name, input shape, build(keras, input) -> output, optimizer, loss,
# metrics, batch_size, epochs, task). A Dense residual with Add, a branch
# with Concatenate, Multiply, Subtract, Average and Maximum, a small
# Conv2D residual block (Add then ReLU, which the converter folds).
def _dense_residual(k, x):
    a = k.layers.Dense(6, activation="relu")(x)
    b = k.layers.Dense(6, activation="tanh")(a)
    c = k.layers.Add()([a, b])
    return k.layers.Dense(3, activation="softmax")(c)


def _concat_branch(k, x):
    a = k.layers.Dense(4, activation="relu")(x)
    b = k.layers.Dense(3, activation="tanh")(x)
    c = k.layers.Concatenate()([a, b, x])
    d = k.layers.Dense(5, activation="elu")(c)
    return k.layers.Dense(2)(d)


def _mul_sub(k, x):
    a = k.layers.Dense(5, activation="sigmoid")(x)
    b = k.layers.Dense(5, activation="tanh")(x)
    m = k.layers.Multiply()([a, b])
    s = k.layers.Subtract()([a, m])
    v = k.layers.Average()([s, b, m])
    w = k.layers.Maximum()([v, a])
    return k.layers.Dense(1, activation="sigmoid")(w)


def _conv_residual(k, x):
    a = k.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    b = k.layers.Conv2D(4, 3, padding="same")(a)
    c = k.layers.Activation("relu")(k.layers.Add()([a, b]))
    d = k.layers.MaxPooling2D(2)(c)
    e = k.layers.Concatenate()([d, k.layers.AveragePooling2D(2)(a)])
    return k.layers.Dense(3, activation="softmax")(k.layers.Flatten()(e))


GRAPH_RUNS = [
    ("graph_dense_add", (4,), _dense_residual, {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9},
     "categorical_crossentropy", ["accuracy"], 5, 5, "onehot"),
    ("graph_concat", (5,), _concat_branch, {"name": "adam", "learning_rate": 0.01}, "mse", ["mae"], 6, 5,
     "regression"),
    ("graph_mul_sub", (4,), _mul_sub, {"name": "sgd", "learning_rate": 0.2}, "binary_crossentropy",
     ["accuracy"], 4, 5, "binary"),
    ("graph_conv_residual", (6, 6, 2), _conv_residual, {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
     "sparse_categorical_crossentropy", ["accuracy"], 4, 5, "sparse"),
]


def graph_run(keras, rng, spec):
    name, shape, build, opt, loss, metrics, batch, epochs, task = spec
    keras.utils.set_random_seed(sum(name.encode()))
    n = 16
    if len(shape) == 3:
        x, lab = blobs(rng, n, int(np.prod(shape)), 3)
    else:
        x, lab = blobs(rng, n, shape[0], 3)
    if task == "onehot":
        y = np.eye(3, dtype=np.float32)[lab]
    elif task == "sparse":
        y = lab.astype(np.int64)
    elif task == "binary":
        y = (lab % 2).astype(np.float32)[:, None]
    else:
        y = np.stack([np.sin(x[:, 0]) + 0.1 * x[:, -1], np.cos(x[:, 1])], 1).astype(np.float32)
    inp = keras.Input(shape)
    model = keras.Model(inp, build(keras, inp), name=name)
    _record(keras, model, name, x, y, opt, loss, metrics, batch, epochs, task, graph=True)


def _anne_order(keras, model, data):
    """The model's weighted layers in the .anne file's layer order: each
    file layer's kernel is one Keras layer's untrained kernel, bit for bit."""
    import anne_format
    kernels = [(L, L.get_weights()[0].reshape(-1)) for L in model.layers if L.get_weights()]
    order = []
    for layer in anne_format.parse(data).layers:
        if layer.kernel is None:
            continue
        k = np.asarray(layer.kernel, np.float32).reshape(-1)
        match = [L for L, w in kernels if w.shape == k.shape and np.array_equal(w, k)]
        if len(match) != 1:
            raise SystemExit("%s: a file layer matches %d Keras layers" % (model.name, len(match)))
        order.append(match[0])
    return order


def _record(keras, model, name, x, y, opt, loss, metrics, batch, epochs, task, graph=False):
    """Saves the untrained model (.keras, .anne), trains it as Keras does
    and writes the .json: the data, Keras's history and the weights of
    every Dense and convolution after fit (get_weights' order: a
    SeparableConv2D's depthwise kernel, pointwise kernel, bias, as the
    converter's DepthwiseConv2D and 1x1 Conv2D hold them)."""
    os.makedirs(TRAINING, exist_ok=True)
    base = os.path.join(TRAINING, name)
    model.save(base + ".keras")
    data = anne_convert.convert_file(base + ".keras")
    with open(base + ".anne", "wb") as f:
        f.write(data)
    layers = _anne_order(keras, model, data) if graph else model.layers
    args = {k: v for k, v in opt.items() if k != "name"}
    optimizer = keras.optimizers.SGD(**args) if opt["name"] == "sgd" else keras.optimizers.Adam(**args)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    xs = x.reshape((len(x),) + tuple(model.input_shape[1:]))
    hist = model.fit(xs, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    weighted = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
                keras.layers.SeparableConv2D)
    out = {"name": name, "optimizer": opt, "loss": loss, "metrics": metrics, "batch_size": batch,
           "epochs": epochs, "x": [f32(r) for r in x],
           "y": [int(v) for v in y] if task == "sparse" else [f32(r) for r in y],
           "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
           "weights": [f32(w) for L in layers if isinstance(L, weighted) for w in L.get_weights()]}
    with open(base + ".json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("%-18s %s" % (name, {k: round(v[-1], 5) for k, v in hist.history.items()}))


def training_run(keras, rng, spec):
    name, layer_specs, n_in, opt, loss, metrics, batch, epochs, task = spec
    keras.utils.set_random_seed(sum(name.encode()))
    n = 40
    n_out = layer_specs[-1][0]
    x, lab = blobs(rng, n, n_in, max(n_out, 2))
    if task == "onehot":
        y = np.eye(n_out, dtype=np.float32)[lab]
    elif task == "sparse":
        y = lab.astype(np.int64)
    elif task == "binary":
        y = (lab % 2).astype(np.float32)[:, None]
    else:
        y = np.stack([np.sin(x[:, 0]) + 0.1 * x[:, -1], np.cos(x[:, 1])][:n_out], 1).astype(np.float32)
    model = keras.Sequential([keras.Input((n_in,))] + [
        keras.layers.Dense(u, activation=a, use_bias=b) for u, a, _, b in layer_specs],
        name=name)
    _record(keras, model, name, x, y, opt, loss, metrics, batch, epochs, task)


def main():
    import keras
    import tensorflow as tf
    head = {"generator": "tools/make_training_fixtures.py", "keras": keras.__version__,
            "tensorflow": tf.__version__}
    if sys.argv[1:] == ["conv"]:  # the Conv1D runs only
        rng = np.random.default_rng(2027)
        for spec in CONV_RUNS:
            conv_run(keras, rng, spec)
        return
    if sys.argv[1:] == ["cnn"]:  # the 2-D runs only
        rng = np.random.default_rng(2030)
        for spec in CNN_RUNS:
            cnn_run(keras, rng, spec)
        return
    if sys.argv[1:] == ["upsampling"]:  # the UpSampling1D runs only
        rng = np.random.default_rng(2032)
        for spec in UPSAMPLING_RUNS:
            conv_run(keras, rng, spec)
        return
    if sys.argv[1:] == ["graph"]:  # the functional models only
        rng = np.random.default_rng(2031)
        for spec in GRAPH_RUNS:
            graph_run(keras, rng, spec)
        return
    cases = gradient_cases(tf, keras)
    lines = [json.dumps(c, separators=(",", ":")) for c in cases]
    with open(GRADIENTS, "w") as f:
        f.write(json.dumps(head, separators=(", ", ": "))[:-1] + ', "gradients": [\n'
                + ",\n".join(lines) + "\n]}\n")
    print("wrote %s (%d cases)" % (os.path.relpath(GRADIENTS, ROOT), len(cases)))
    rng = np.random.default_rng(2026)
    for spec in RUNS:
        training_run(keras, rng, spec)
    rng = np.random.default_rng(2027)
    for spec in CONV_RUNS:
        conv_run(keras, rng, spec)
    rng = np.random.default_rng(2030)
    for spec in CNN_RUNS:
        cnn_run(keras, rng, spec)
    rng = np.random.default_rng(2031)
    for spec in GRAPH_RUNS:
        graph_run(keras, rng, spec)
    rng = np.random.default_rng(2032)
    for spec in UPSAMPLING_RUNS:
        conv_run(keras, rng, spec)


if __name__ == "__main__":
    main()
