#!/usr/bin/env python3
"""Trains the handwritten-digits example, a small CNN on 8x8 images, and
writes what the board needs. Run by hand (TensorFlow, LiteRT and
scikit-learn, whose bundled digits need no download; the board and the
tests only need the files it writes, which are committed):

    ../venv-tf/bin/python examples/digits/make_digits.py

Writes, next to this file (tools/make_cnn_example.py describes them):
digits.keras (Rescaling, Conv2D 3x3, MaxPooling2D, Conv2D 3x3, Flatten,
Dense softmax), digits.tflite (TensorFlow's full-integer conversion),
digits.anne and digits_int8.anne (both converted), digits_test.jsonl and
digits_test_int8.jsonl (40 held-out images: their 64 pixels, 0..16, row by
row, with Keras's probabilities; quantized, with LiteRT's int8 outputs),
digits_train.jsonl (the first 240 training images and their labels, for
retrain.py: the network changed and retrained on the board).
See docs/cnn-examples.md.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
import make_cnn_example  # noqa: E402

HELD_OUT = 40        # rows the board checks
TRAIN = 240          # training images the board retrains on (retrain.py)
SEED = 30


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from keras import layers
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(SEED)
    digits = load_digits()
    x = digits.images.astype(np.float32)[..., None]  # (1797, 8, 8, 1), values 0..16
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    n_test = 360
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]

    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Rescaling(1 / 16),                       # pixels 0..16 -> 0..1 (int8: in the input's scale)
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),                         # 8x8 -> 4x4
        layers.Conv2D(16, 3, activation="relu"),        # 4x4 -> 2x2
        layers.Flatten(),
        layers.Dense(10, activation="softmax")], name="digits")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
    make_cnn_example.write(HERE, "digits", model, [str(c) for c in range(10)], x_train, x_test, y_test, HELD_OUT,
                           value=int)
    write_train(x_train, y_train)


def write_train(x_train, y_train):
    """digits_train.jsonl: a header line, then one training image a line."""
    import json
    with open(os.path.join(HERE, "digits_train.jsonl"), "w") as f:
        f.write(json.dumps({"rows": TRAIN, "shape": [8, 8, 1], "of": int(len(x_train)),
                            "by": "scikit-learn's digits, the first training images"}) + "\n")
        for i in range(TRAIN):
            f.write(json.dumps({"x": [int(v) for v in x_train[i].reshape(-1)], "label": int(y_train[i])},
                               separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
