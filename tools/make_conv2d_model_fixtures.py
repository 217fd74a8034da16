#!/usr/bin/env python3
"""Trains small real Keras CNNs on (height, width, channels) inputs and
writes the converter's and the board's end-to-end fixtures for Conv2D and
the 2-D poolings.

Run by hand, NOT by `make test` (it needs TensorFlow and Keras 3):

    /work/venv-tf/bin/python tools/make_conv2d_model_fixtures.py

Writes, as tools/make_model_fixtures.py's save_fixture does (whose helper it
uses: the converter's numpy reference is checked against Keras there too):
  tests/fixtures/models/<name>.keras   the Keras 3 model
  tests/fixtures/models/<name>.anne    converted by tools/anne_convert.py (version 3)
  tests/fixtures/models/<name>.json    {"x": rows flat (numpy's reshape(-1)),
                                        "y": Keras's predict, "argmax": [...]}
for conv2d_digits (8 x 8 x 1 digits-like images: Conv2D -> MaxPooling2D ->
Flatten -> Dense softmax), conv2d_options (kernel sizes and strides per axis,
same padding, dilation, no bias, AveragePooling2D with same padding,
GlobalAveragePooling2D) and conv2d_reshape (a flat input reshaped to an
image, MaxPooling2D with strides and same padding, a vector activation on
each position, GlobalMaxPooling2D); then depthwise_mobile (asymmetric
ZeroPadding2D, a strided Conv2D, DepthwiseConv2D with depth_multiplier 2,
no bias, BatchNormalization and ReLU folded in, a 1x1 Conv2D),
depthwise_options (dilation, strides per axis, same padding, multiplier 3,
ZeroPadding2D int and (rows, columns)) and separable_conv2d
(SeparableConv2D: same padding, multiplier 2, strides, dilation, no bias, a
folded activation). `--depthwise` makes only those three and the next two:
depthwise_conv1d (ZeroPadding1D (left, right), DepthwiseConv1D with
multiplier 2, no bias, BatchNormalization and ReLU folded in, a strided
same-padded SeparableConv1D, a dilated one, GlobalAveragePooling1D) and
separable_conv1d (SeparableConv1D multiplier 2, no bias, a swish layer
folded in, ZeroPadding1D, dilation, MaxPooling1D); `--conv1d` makes only
these two; `--upsampling` only up_sampling1d (Conv1D -> UpSampling1D(2) ->
Conv1D same -> GlobalAveragePooling1D -> Dense softmax) and
up_sampling1d_size3 (Conv1D, BatchNormalization (kept as an affine layer
past the UpSampling1D: a same-padded Conv1D cannot take it), UpSampling1D(3), a strided same-padded
Conv1D, MaxPooling1D, Flatten, Dense sigmoid).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import MAX_ROWS, fit, keras, layers, onehot, save_fixture  # noqa: E402

SEED = 2026


def images(rng, n, h, w, c, classes):
    """Seeded digit-like images: per class a fixed random stroke pattern,
    shifted by up to a pixel, plus noise, in 0..16 as sklearn's digits."""
    labels = rng.integers(0, classes, n)
    patterns = (rng.random((classes, h + 2, w + 2, c)) > 0.6).astype(np.float32) * 16.0
    x = np.empty((n, h, w, c), np.float32)
    for i, lab in enumerate(labels):
        dy, dx = rng.integers(0, 3, 2)
        x[i] = patterns[lab, dy:dy + h, dx:dx + w]
    x += rng.normal(0, 1.5, x.shape).astype(np.float32)
    return np.clip(x, 0, 16).astype(np.float32), labels


def main():
    rng = np.random.default_rng(SEED)
    keras.utils.set_random_seed(SEED)

    keras.backend.clear_session()
    x, lab = images(rng, 400, 8, 8, 1, 10)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(10, activation="softmax")], name="conv2d_digits")
    fit(model, x / 16.0, onehot(lab, 10), "categorical_crossentropy", 10)
    save_fixture("conv2d_digits", model, x[:MAX_ROWS] / 16.0)

    keras.backend.clear_session()
    x, lab = images(rng, 300, 9, 7, 2, 3)
    x /= 16.0
    model = keras.Sequential([
        keras.Input((9, 7, 2)),
        layers.Conv2D(3, (3, 2), strides=(2, 1), padding="same", use_bias=False, activation="tanh"),
        layers.AveragePooling2D((2, 3), strides=1, padding="same"),
        layers.Conv2D(4, 2, dilation_rate=(2, 1), activation="elu"),
        layers.GlobalAveragePooling2D(), layers.Dense(3)], name="conv2d_options")
    fit(model, x, onehot(lab, 3), "mse", 10)
    save_fixture("conv2d_options", model, x[:MAX_ROWS])

    keras.backend.clear_session()
    x, lab = images(rng, 300, 6, 6, 3, 2)
    x = (x / 16.0).reshape(300, 108)
    model = keras.Sequential([
        keras.Input((108,)), layers.Reshape((6, 6, 3)),
        layers.Conv2D(5, 3, padding="same", activation="softmax"),
        layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.Conv2D(3, 1, activation="tanh"), layers.GlobalMaxPooling2D(),
        layers.Dense(1, activation="sigmoid")], name="conv2d_reshape")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 20)
    save_fixture("conv2d_reshape", model, x[:MAX_ROWS])


def depthwise_models():
    """The DepthwiseConv2D, SeparableConv2D and ZeroPadding2D fixtures (their
    own seed: the models above are not made again)."""
    rng = np.random.default_rng(SEED + 1)
    keras.utils.set_random_seed(SEED + 1)

    keras.backend.clear_session()
    x, lab = images(rng, 300, 8, 8, 3, 3)
    x /= 16.0
    # a MobileNet-like block: asymmetric zero padding, a strided Conv2D, a
    # depthwise 3x3 (multiplier 2, no bias) with BatchNormalization and
    # ReLU folded into it, a pointwise Conv2D
    model = keras.Sequential([
        keras.Input((8, 8, 3)), layers.ZeroPadding2D(((1, 0), (0, 1))),
        layers.Conv2D(4, 3, strides=2, activation="relu6"),
        layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False),
        layers.BatchNormalization(), layers.ReLU(),
        layers.Conv2D(6, 1, activation="relu"), layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax")], name="depthwise_mobile")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 10)
    # (fewer rows than the others: the stock Cortex-M0's heap holds them
    # as boxed floats)
    save_fixture("depthwise_mobile", model, x[:8])

    keras.backend.clear_session()
    x, lab = images(rng, 300, 9, 8, 2, 2)
    x /= 16.0
    model = keras.Sequential([
        keras.Input((9, 8, 2)),
        layers.DepthwiseConv2D(3, dilation_rate=(2, 1), activation="tanh"),
        layers.ZeroPadding2D(2),
        layers.DepthwiseConv2D((2, 3), strides=(2, 1), padding="same", depth_multiplier=3, activation="elu"),
        layers.ZeroPadding2D((1, 0)),
        layers.DepthwiseConv2D(2, strides=2),
        layers.Flatten(), layers.Dense(2)], name="depthwise_options")
    fit(model, x, onehot(lab, 2), "mse", 10)
    save_fixture("depthwise_options", model, x[:10])

    keras.backend.clear_session()
    x, lab = images(rng, 300, 8, 8, 2, 2)
    x /= 16.0
    model = keras.Sequential([
        keras.Input((8, 8, 2)),
        layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="relu"),
        layers.ZeroPadding2D((1, 2)),
        layers.SeparableConv2D(3, (2, 3), strides=2, use_bias=False),
        layers.Activation("swish"),
        layers.SeparableConv2D(2, 2, dilation_rate=2, activation="sigmoid"),
        layers.GlobalMaxPooling2D(), layers.Dense(1, activation="sigmoid")], name="separable_conv2d")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 10)
    save_fixture("separable_conv2d", model, x[:10])


def waves(rng, n, steps, channels, classes):
    """Seeded sensor-like windows: per class a frequency and phase per
    channel, plus noise."""
    labels = rng.integers(0, classes, n)
    freq = rng.uniform(0.2, 1.2, (classes, channels))
    phase = rng.uniform(0, 6.28, (classes, channels))
    t = np.arange(steps, dtype=np.float32)[:, None]
    x = np.stack([np.sin(freq[c] * t + phase[c]) for c in labels]).astype(np.float32)
    return (x + rng.normal(0, 0.3, x.shape)).astype(np.float32), labels


def conv1d_variant_models():
    """DepthwiseConv1D, SeparableConv1D and ZeroPadding1D (which the
    converter runs on the 2-D kernels between Reshapes)."""
    rng = np.random.default_rng(SEED + 2)
    keras.utils.set_random_seed(SEED + 2)

    keras.backend.clear_session()
    x, lab = waves(rng, 300, 20, 3, 3)
    model = keras.Sequential([
        keras.Input((20, 3)), layers.ZeroPadding1D((2, 1)),
        layers.DepthwiseConv1D(3, depth_multiplier=2, use_bias=False),
        layers.BatchNormalization(), layers.ReLU(),
        layers.SeparableConv1D(4, 3, strides=2, padding="same", activation="relu"),
        layers.DepthwiseConv1D(2, dilation_rate=2, activation="tanh"),
        layers.GlobalAveragePooling1D(), layers.Dense(3, activation="softmax")], name="depthwise_conv1d")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 10)
    save_fixture("depthwise_conv1d", model, x[:10])

    keras.backend.clear_session()
    x, lab = waves(rng, 300, 16, 2, 2)
    model = keras.Sequential([
        keras.Input((16, 2)),
        layers.SeparableConv1D(4, 5, depth_multiplier=2, padding="same", use_bias=False),
        layers.Activation("swish"), layers.ZeroPadding1D(1),
        layers.SeparableConv1D(3, 3, dilation_rate=2),
        layers.MaxPooling1D(2), layers.Flatten(), layers.Dense(1, activation="sigmoid")], name="separable_conv1d")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 10)
    save_fixture("separable_conv1d", model, x[:10])


def upsampling_models():
    """UpSampling1D (a board layer of its own, kind up_sampling1d)."""
    rng = np.random.default_rng(SEED + 3)
    keras.utils.set_random_seed(SEED + 3)

    keras.backend.clear_session()
    x, lab = waves(rng, 300, 12, 2, 3)
    model = keras.Sequential([
        keras.Input((12, 2)), layers.Conv1D(4, 3, activation="relu"), layers.UpSampling1D(2),
        layers.Conv1D(3, 3, padding="same", activation="tanh"),
        layers.GlobalAveragePooling1D(), layers.Dense(3, activation="softmax")], name="up_sampling1d")
    fit(model, x, onehot(lab, 3), "categorical_crossentropy", 10)
    save_fixture("up_sampling1d", model, x[:10])

    keras.backend.clear_session()
    x, lab = waves(rng, 300, 10, 3, 2)
    model = keras.Sequential([
        keras.Input((10, 3)), layers.Conv1D(4, 3, activation="relu"), layers.BatchNormalization(),
        layers.UpSampling1D(3), layers.Conv1D(2, 5, strides=2, padding="same", activation="elu"),
        layers.MaxPooling1D(2), layers.Flatten(), layers.Dense(1, activation="sigmoid")],
        name="up_sampling1d_size3")
    fit(model, x, lab.astype(np.float32), "binary_crossentropy", 10)
    save_fixture("up_sampling1d_size3", model, x[:10])


if __name__ == "__main__":
    # (--depthwise: only the DepthwiseConv2D, SeparableConv2D and
    # ZeroPadding2D fixtures; --conv1d: only the DepthwiseConv1D,
    # SeparableConv1D and ZeroPadding1D ones)
    if "--upsampling" in sys.argv:
        upsampling_models()
    elif "--conv1d" in sys.argv:
        conv1d_variant_models()
    else:
        if "--depthwise" not in sys.argv:
            main()
        depthwise_models()
        conv1d_variant_models()
        upsampling_models()
