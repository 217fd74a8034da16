#!/usr/bin/env python3
"""Records what TensorFlow's converter makes of small Keras models (Dense
chains, and convolutional chains: Conv1D, Conv2D, DepthwiseConv2D, pooling,
padding, Flatten)
quantized with a given set of calibration rows, the parity fixtures of our
own quantizer (`anne-convert model.keras --quantize int8 --calibration
rows.npy`, tools/anne_quantize.py).

Run by hand, NOT by `make test`, in the virtual environment
tools/make_int8_fixtures.py describes:

    ../venv-tf/bin/python tools/make_int8_quant_fixtures.py [OUT_DIR]

For each model below (trained briefly on seeded random data, as
tools/make_int8_fixtures.py's models) it writes to OUT_DIR:
- quant_<name>.keras: the float Keras model;
- quant_<name>_calibration.npy: the calibration rows (float32, rows x
  inputs, an image's values in numpy's reshape(-1) order), exactly the ones
  given to the converter's representative data set (in the model's input
  shape), one row per batch;
- quant_<name>.tflite: TensorFlow's full-integer conversion (int8 input and
  output, TFLITE_BUILTINS_INT8);
- quant_<name>.json: int8 rows and LiteRT's outputs for them (reference
  kernels), as tools/make_int8_fixtures.py records them.
Default OUT_DIR: tests/fixtures/quant.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_int8_fixtures import ROOT, convert, dense_model, litert, tf, train  # noqa: E402


def cnn2d_model(seed):
    """Conv2D (same, fused relu), MaxPooling2D, DepthwiseConv2D (relu6),
    a pointwise Conv2D without activation, GlobalAveragePooling2D (MEAN),
    Dense with softmax."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(h)
    h = keras.layers.Conv2D(6, 1)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def cnn2d_pad_model(seed):
    """ZeroPadding2D (PAD), a strided Conv2D with a BatchNormalization and
    a relu after it (folded), AveragePooling2D, Flatten, Dense with
    sigmoid."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6, 6, 2))
    h = keras.layers.ZeroPadding2D(1)(inp)
    h = keras.layers.Conv2D(3, 3, strides=2)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.AveragePooling2D(2, padding="same")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(inp, h)


def cnn1d_model(seed):
    """Conv1D (valid, relu), AveragePooling1D, a strided same Conv1D,
    GlobalMaxPooling1D (REDUCE_MAX), Dense without activation."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 2))
    h = keras.layers.Conv1D(4, 3, activation="relu")(inp)
    h = keras.layers.AveragePooling1D(2)(h)
    h = keras.layers.Conv1D(5, 3, strides=2, padding="same")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def resnet_model(seed):
    """A graph: Conv2D (relu) and Conv2D (linear) branches added, then a
    relu (ADD with a fused RELU); a 1x1 projection subtracted from a
    strided Conv2D of the sum (SUB); GlobalAveragePooling2D, Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    b = keras.layers.Conv2D(4, 3, padding="same")(a)
    h = keras.layers.Activation("relu")(keras.layers.Add()([a, b]))
    c = keras.layers.Conv2D(6, 3, strides=2, padding="same")(h)
    d = keras.layers.Conv2D(6, 1, strides=2)(h)
    h = keras.layers.Subtract()([c, d])
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def concat_model(seed):
    """A graph with Concatenate (CONCATENATION): two Dense branches of
    different ranges (relu, linear) joined, two Dense layers reading the
    join (relu, relu6), joined with a third branch from the input, Dense
    with softmax."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6,))
    a = keras.layers.Dense(5, activation="relu")(inp)
    b = keras.layers.Dense(4)(inp)
    h = keras.layers.Concatenate()([a, b])
    c = keras.layers.Dense(6, activation="relu")(h)
    d = keras.layers.Dense(3, activation="relu6")(h)
    e = keras.layers.Dense(2)(inp)
    h = keras.layers.Concatenate()([c, d, e])
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


# name: (build(seed), loss, calibration rows)
MODELS = {
    "relu_softmax": (lambda s: dense_model(6, [(16, "relu"), (8, "relu"), (4, "softmax")], s),
                     "sparse_categorical_crossentropy", 64),
    "linear": (lambda s: dense_model(5, [(8, None), (3, None)], s), "mse", 32),
    "relu6_sigmoid": (lambda s: dense_model(4, [(12, "relu6"), (1, "sigmoid")], s), "mse", 100),
    "tanh_wide": (lambda s: dense_model(3, [(10, "tanh"), (6, "relu"), (2, None)], s), "mse", 50),
    "cnn2d": (cnn2d_model, "sparse_categorical_crossentropy", 48),
    "cnn2d_pad": (cnn2d_pad_model, "mse", 40),
    "cnn1d": (cnn1d_model, "mse", 40),
    "hard_swish": (lambda s: dense_model(4, [(10, "hard_swish"), (6, "relu"), (3, "softmax")], s),
                   "sparse_categorical_crossentropy", 48),
    "resnet": (resnet_model, "sparse_categorical_crossentropy", 40),
    "concat": (concat_model, "sparse_categorical_crossentropy", 48),
    "tables": (lambda s: dense_model(5, [(8, "gelu"), (8, "leaky_relu"), (6, "exponential"), (3, "tanh")], s),
               "mse", 48),
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "quant")
    only = sys.argv[2:]
    for seed, (name, (build, loss, n_calib)) in enumerate(MODELS.items()):
        if only and name not in only:
            continue
        model = build(40 + seed)
        x = train(model, loss, 40 + seed)
        x = x.reshape(len(x), -1)
        n_in = x.shape[1]
        rng = np.random.default_rng(60 + seed)
        # calibration rows: the training data's distribution, a few wider
        calib = np.concatenate([x[:n_calib - 4], rng.normal(0.0, 2.0, (4, n_in))]).astype(np.float32)
        content = convert(model, calib.reshape((len(calib),) + tuple(model.input_shape[1:])), len(calib))
        base = os.path.join(out_dir, "quant_" + name)
        model.save(base + ".keras")
        np.save(base + "_calibration.npy", calib)
        with open(base + ".tflite", "wb") as f:
            f.write(content)
        interp = litert.Interpreter(model_content=content,
                                    experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        scale, zp = inp["quantization"]
        floats = np.concatenate([calib[:8], rng.normal(0.0, 3.0, (8, n_in)).astype(np.float32)])
        rows = np.clip(np.round(floats / scale) + zp, -128, 127).astype(np.int8)
        outputs = []
        for r in rows:
            interp.set_tensor(inp["index"], r.reshape(inp["shape"]))
            interp.invoke()
            outputs.append(interp.get_tensor(out["index"]).reshape(-1).tolist())
        doc = {"generator": "tools/make_int8_quant_fixtures.py", "tensorflow": tf.__version__,
               "resolver": "BUILTIN_REF", "layers": [layer.__class__.__name__ for layer in model.layers[1:]],
               "calibration_rows": int(len(calib)), "rows": rows.tolist(), "outputs": outputs}
        with open(base + ".json", "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print(f"quant_{name}: {len(content)} bytes, {len(calib)} calibration rows")


if __name__ == "__main__":
    main()
