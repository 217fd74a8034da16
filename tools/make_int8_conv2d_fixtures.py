#!/usr/bin/env python3
"""Records int8 parity fixtures of 2-D convolutional chains (issue 29):
Conv2D, DepthwiseConv2D, ZeroPadding2D (PAD), the 2-D poolings,
GlobalAveragePooling2D (MEAN over the plane), GlobalMaxPooling2D
(REDUCE_MAX), Flatten and Dense, as TensorFlow's converter makes them and
LiteRT's reference kernels run them.

Run by hand, as tools/make_int8_fixtures.py (whose helpers it uses: the
training, the conversion and the JSON it writes, described there):

    ../venv-tf/bin/python tools/make_int8_conv2d_fixtures.py [OUT_DIR] [--only NAME,...]

Default OUT_DIR: tests/fixtures/int8 (files int8_conv2d_*.tflite and .json).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_int8_fixtures as base  # noqa: E402
from make_int8_fixtures import ACT_NAMES, schema, tf  # noqa: E402


def ds_cnn_model(seed):
    """A DS-CNN-like keyword-spotter chain: Conv2D (strides 2, same) +
    BatchNormalization + ReLU, DepthwiseConv2D + BN + ReLU, a 1x1 Conv2D +
    BN + ReLU, AveragePooling2D, Flatten, Dense softmax."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 6, 1))
    h = keras.layers.Conv2D(4, (3, 3), strides=2, padding="same", use_bias=False)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(6, 1, use_bias=False)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.AveragePooling2D((3, 3))(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def mobilenet_model(seed):
    """A MobileNet-like chain: ZeroPadding2D (uneven), DepthwiseConv2D
    (strides 2, valid, depth_multiplier 2), a Conv2D (same, uneven
    strides), MaxPooling2D (same, odd plane), GlobalAveragePooling2D,
    Dense. (Not dilation: TensorFlow 2.21 converts a dilated Conv2D or
    DepthwiseConv2D to SPACE_TO_BATCH_ND, an undilated one and
    BATCH_TO_SPACE_ND; src/layers/conv2d_s8.rs's unit tests and
    tests/rust/int8_2d_abi.rs cover dilation.)"""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((10, 9, 2))
    h = keras.layers.ZeroPadding2D(((1, 0), (1, 2)))(inp)
    h = keras.layers.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2, activation="relu")(h)
    h = keras.layers.Conv2D(5, (3, 2), strides=(1, 2), padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D(2, padding="same")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(3)(h)
    return keras.Model(inp, h)


def global_max_model(seed):
    """ReLU6 (fused into the CONV_2D and DEPTHWISE_CONV_2D), a
    DepthwiseConv2D (same), AveragePooling2D (same, uneven), GlobalMaxPooling2D
    (REDUCE_MAX), Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 7, 3))
    h = keras.layers.Conv2D(4, (3, 2), activation="relu6")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(h)
    h = keras.layers.AveragePooling2D((2, 3), strides=(2, 2), padding="same")(h)
    h = keras.layers.Conv2D(5, 1, activation="relu6")(h)
    h = keras.layers.GlobalMaxPooling2D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def depthwise_options(content, ops):
    """Adds each DEPTHWISE_CONV_2D's options (which make_int8_fixtures'
    operator_options does not read), read with TensorFlow's own module."""
    m = schema.Model.GetRootAsModel(content, 0)
    g = m.Subgraphs(0)
    for i, entry in enumerate(ops):
        op = g.Operators(i)
        if op.BuiltinOptionsType() != schema.BuiltinOptions.DepthwiseConv2DOptions:
            continue
        o = schema.DepthwiseConv2DOptions()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        entry.update(fused_activation=ACT_NAMES[o.FusedActivationFunction()],
                     padding=["SAME", "VALID"][o.Padding()], stride_w=o.StrideW(), stride_h=o.StrideH(),
                     depth_multiplier=o.DepthMultiplier(), dilation_w=o.DilationWFactor(),
                     dilation_h=o.DilationHFactor())


MODELS = {
    "int8_conv2d_ds_cnn": (lambda: ds_cnn_model(21), "sparse_categorical_crossentropy"),
    "int8_conv2d_mobilenet": (lambda: mobilenet_model(22), "mse"),
    "int8_conv2d_global_max": (lambda: global_max_model(23), "mse"),
}


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        k = args.index("--only")
        only = set(args[k + 1].split(","))
        del args[k:k + 2]
    out_dir = args[0] if args else os.path.join(base.ROOT, "tests", "fixtures", "int8")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (build, loss)) in enumerate(MODELS.items()):
        if only is None or name in only:
            base.record(name, build, loss, out_dir, 20 + seed)
            path = os.path.join(out_dir, name + ".json")
            with open(path) as f:
                doc = json.load(f)
            doc["generator"] = "tools/make_int8_conv2d_fixtures.py"
            with open(os.path.join(out_dir, name + ".tflite"), "rb") as f:
                depthwise_options(f.read(), doc["operators"])
            with open(path, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
                f.write("\n")


if __name__ == "__main__":
    main()
