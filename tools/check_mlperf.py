#!/usr/bin/env python3
"""Checks anne end to end on the four MLPerf Tiny reference architectures
(mlcommons/tiny's benchmark/training: the DS-CNN keyword spotter, ResNet-8,
MobileNetV1 0.25 for visual wake words, the dense autoencoder), built in
Keras with random weights and BatchNormalization statistics: the float32
`.keras` through the converter, and (--int8) TensorFlow's full-integer
`.tflite` with LiteRT's reference kernels as the oracle, each run on the
boards given.

Run by hand, NOT by `make test` (it needs TensorFlow and LiteRT, and the
models are up to 1 MB):

    /work/venv-tf/bin/python tools/check_mlperf.py [--out DIR] [--models ds_cnn,...]
        [--targets unix,cortex-m3,cortex-m4f] [--int8]

Float32: every output within 1e-5 + 1e-4 * |Keras's| (the issue's
tolerance); int8: every output equal to LiteRT's. Prints one line per
model, form and target, and exits 1 if any differs or fails to run.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import tensorflow as tf  # noqa: E402
from tensorflow.keras import Input, Model  # noqa: E402
from tensorflow.keras import layers as L  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = 3


def ds_cnn():
    inp = Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = L.Activation("relu")(L.BatchNormalization()(x))
    x = L.Dropout(0.2)(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(depth_multiplier=1, kernel_size=(3, 3), padding="same")(x)
        x = L.Activation("relu")(L.BatchNormalization()(x))
        x = L.Conv2D(64, (1, 1), padding="same")(x)
        x = L.Activation("relu")(L.BatchNormalization()(x))
    x = L.Dropout(0.4)(x)
    x = L.Flatten()(L.AveragePooling2D(pool_size=(24, 5))(x))
    return Model(inp, L.Dense(12, activation="softmax")(x))


def resnet8(f=16):
    def conv(n, k=3, s=1):
        return L.Conv2D(n, k, strides=s, padding="same", kernel_initializer="he_normal")
    inp = Input((32, 32, 3))
    x = L.Activation("relu")(L.BatchNormalization()(conv(f)(inp)))
    y = L.Activation("relu")(L.BatchNormalization()(conv(f)(x)))
    y = L.BatchNormalization()(conv(f)(y))
    x = L.Activation("relu")(L.add([x, y]))
    for n in (2 * f, 4 * f):
        y = L.Activation("relu")(L.BatchNormalization()(conv(n, 3, 2)(x)))
        y = L.BatchNormalization()(conv(n)(y))
        x = L.Activation("relu")(L.add([conv(n, 1, 2)(x), y]))
    x = L.Flatten()(L.AveragePooling2D(pool_size=int(np.amin(x.shape[1:3])))(x))
    return Model(inp, L.Dense(10, activation="softmax", kernel_initializer="he_normal")(x))


def mobilenet_vww():
    inp = Input((96, 96, 3))
    n = 8
    x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(n, 3, strides=2, padding="same")(inp)))
    for s, grow in ((1, 1), (2, 1), (1, 0), (2, 1), (1, 0), (2, 1), (1, 0), (1, 0), (1, 0), (1, 0), (1, 0),
                    (2, 1), (1, 0)):
        x = L.Activation("relu")(L.BatchNormalization()(L.DepthwiseConv2D(3, strides=s, padding="same")(x)))
        n = n * 2 if grow else n
        x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(n, 1, padding="same")(x)))
    x = L.Flatten()(L.AveragePooling2D(pool_size=x.shape[1:3])(x))
    return Model(inp, L.Dense(2, activation="softmax")(x))


def autoencoder(d=640):
    inp = Input((d,))
    h = inp
    for u in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        h = L.Activation("relu")(L.BatchNormalization()(L.Dense(u)(h)))
    return Model(inp, L.Dense(d)(h))


MODELS = {"ds_cnn": ds_cnn, "resnet8": resnet8, "mobilenet_vww": mobilenet_vww, "autoencoder": autoencoder}

BOARD = """
from array import array
import anne_net
code = %(code)r
# (the buffers first, one block each, as an application makes them at boot)
x, out = array(code, range(%(n)d)), array(code, range(%(m)d))
net = anne_net.load(%(file)r)
with open(%(rows)r, "rb") as f:
    while f.readinto(x):
        net.predict_into(x, out)
        print("row", " ".join(repr(v) for v in out))
"""


def run_board(target, out, stem, anne, rows, code, n_out):
    """The model's outputs on target for each row of rows (numpy, written
    as the buffer's type) -> an array, or the run's error text."""
    rows_path = os.path.join(out, stem + "_rows.bin")
    rows.astype("<f4" if code == "f" else "i1").tofile(rows_path)
    script = os.path.join(out, stem + "_run.py")
    with open(script, "w") as f:
        f.write(BOARD % {"file": os.path.basename(anne), "code": code, "n": rows.shape[1], "m": n_out,
                         "rows": os.path.basename(rows_path)})
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run-on"), "--timeout", "1200", target, script,
                        anne, rows_path], capture_output=True, text=True)
    got = [[float(v) for v in line.split()[1:]] for line in p.stdout.splitlines() if line.startswith("row ")]
    if p.returncode or len(got) != len(rows):
        return (p.stdout + p.stderr).strip().splitlines()[-1:]
    return np.array(got)


def randomize_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, mu, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.1, b.shape),
                               rng.normal(0, 0.1, mu.shape), rng.uniform(0.5, 2, var.shape)])


def tflite_int8(model, calib):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([row[None, ...]] for row in calib)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def litert_outputs(content, xq):
    from ai_edge_litert import interpreter as litert
    it = litert.Interpreter(model_content=content, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for row in xq:
        it.set_tensor(inp["index"], row.reshape(inp["shape"]))
        it.invoke()
        ys.append(it.get_tensor(outp["index"]).reshape(-1))
    return np.array(ys), inp["quantization"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "build", "mlperf"))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--targets", default="unix,cortex-m3,cortex-m4f")
    p.add_argument("--int8", action="store_true", help="also the full-integer .tflite against LiteRT")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import anne_convert
    failed = 0
    for name in a.models.split(","):
        tf.keras.utils.set_random_seed(1)
        model = MODELS[name]()
        rng = np.random.default_rng(2)
        randomize_bn(model, rng)
        x = rng.normal(0, 1, (ROWS,) + tuple(model.input_shape[1:])).astype(np.float32)
        y = model.predict(x, verbose=0).reshape(ROWS, -1)
        keras_path = os.path.join(a.out, name + ".keras")
        model.save(keras_path)
        anne = os.path.join(a.out, name + ".anne")
        with open(anne, "wb") as f:
            f.write(anne_convert.convert_file(keras_path))
        forms = [("float32", anne, x.reshape(ROWS, -1), "f", y)]
        if a.int8:
            content = tflite_int8(model, rng.normal(0, 1, (32,) + x.shape[1:]).astype(np.float32))
            tfl = os.path.join(a.out, name + ".tflite")
            with open(tfl, "wb") as f:
                f.write(content)
            _, (scale, zp) = litert_outputs(content, np.zeros((1,) + x.shape[1:], np.int8))
            xq = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
            yq, _ = litert_outputs(content, xq)
            anne8 = os.path.join(a.out, name + "_int8.anne")
            try:
                import anne_tflite_import
                data = anne_tflite_import.import_tflite(tfl).encode(3)
                with open(anne8, "wb") as f:
                    f.write(data)
                forms.append(("int8", anne8, xq.reshape(ROWS, -1), "b", yq))
            except Exception as e:  # noqa: BLE001 - reported as the check's result
                print("%-14s int8     converter: %s" % (name, str(e).splitlines()[-1][:300]))
                failed += 1
        for form, path, rows, code, want in forms:
            for target in a.targets.split(","):
                got = run_board(target, a.out, "%s_%s_%s" % (name, form, target), path, rows, code,
                                want.reshape(ROWS, -1).shape[1])
                if not isinstance(got, np.ndarray):
                    print("%-14s %-8s %-11s did not run: %s" % (name, form, target, got))
                    failed += 1
                    continue
                if code == "b":
                    bad = int(np.sum(got != want))
                    text = "%d of %d outputs differ from LiteRT's" % (bad, want.size)
                else:
                    bad = int(np.sum(np.abs(got - want) > 1e-5 + 1e-4 * np.abs(want)))
                    text = "max |diff| %.3g, %d outside 1e-5 + 1e-4 rel" % (np.abs(got - want).max(), bad)
                failed += bad > 0
                print("%-14s %-8s %-11s %s" % (name, form, target, text), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
