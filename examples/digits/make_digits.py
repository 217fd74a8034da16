#!/usr/bin/env python3
"""Trains the handwritten-digits example, a small CNN on 8x8 images, and
writes what the board needs. Run by hand (TensorFlow, LiteRT and
scikit-learn, whose bundled digits need no download; the board and the
tests only need the files it writes, which are committed):

    ../venv-tf/bin/python examples/digits/make_digits.py

Writes, next to this file:
  digits.keras        the Keras model: Rescaling, Conv2D 3x3, MaxPooling2D,
                      Conv2D 3x3, Flatten, Dense softmax
  digits.tflite       TensorFlow's full-integer conversion (int8 in and out,
                      the training images as the representative data set)
  digits_test.jsonl   held-out images for the float32 network, one JSON
                      object a line (the board reads one at a time): a
                      header (rows, shape, classes, Keras's accuracy on the
                      whole held-out set), then each image's "x" (the 64
                      pixels, 0..16, row by row as reshape(-1) gives them),
                      "label" and "keras" (Keras's probabilities for it)
  digits_test_int8.jsonl
                      the same images for the int8 network: "x" quantized
                      with the .tflite's input scale and zero point (in the
                      header, with LiteRT's accuracy) and "litert" (LiteRT's
                      int8 outputs, its reference kernels)
  digits.anne, digits_int8.anne
                      the two converted by tools/anne_convert.py, with the
                      class names (the board converts nothing; docs/cnn-examples.md)
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
import anne_convert  # noqa: E402
HELD_OUT = 40        # rows the board checks
SEED = 30


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    from ai_edge_litert import interpreter as litert
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
        layers.Rescaling(1 / 16),                          # pixels 0..16 -> 0..1, folded by the converter
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),                            # 8x8 -> 4x4
        layers.Conv2D(16, 3, activation="relu"),        # 4x4 -> 2x2
        layers.Flatten(),
        layers.Dense(10, activation="softmax")], name="digits")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
    acc = model.evaluate(x_test, y_test, verbose=0)[1]
    print("digits: Keras accuracy %.3f on %d held-out images, %d parameters" % (acc, n_test, model.count_params()))
    # saved without the optimizer's state (the file is a third of the size)
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    model = plain
    model.save(os.path.join(HERE, "digits.keras"))

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([row[None]] for row in x_train[:200])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    content = conv.convert()
    with open(os.path.join(HERE, "digits.tflite"), "wb") as f:
        f.write(content)
    for src, dst in (("digits.keras", "digits.anne"), ("digits.tflite", "digits_int8.anne")):   # as on the command line
        if anne_convert.main([os.path.join(HERE, src), "-o", os.path.join(HERE, dst), "--quiet",
                              "--classes", ",".join(str(c) for c in range(10))]):
            raise SystemExit("the conversion of %s failed" % src)
    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zp = inp["quantization"]

    def quantized(img):
        return np.clip(np.round(img / scale) + zp, -128, 127).astype(np.int8)

    def litert_out(q):
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        return interp.get_tensor(out["index"])[0]

    right = sum(int(np.argmax(litert_out(quantized(img)))) == t for img, t in zip(x_test, y_test))
    print("digits: LiteRT int8 accuracy %.3f on the same images" % (right / n_test))

    probs = model.predict(x_test[:HELD_OUT], verbose=0)
    head = {"rows": HELD_OUT, "shape": [8, 8, 1], "classes": [str(c) for c in range(10)], "of": n_test, "tensorflow": tf.__version__}
    with open(os.path.join(HERE, "digits_test.jsonl"), "w") as f, \
            open(os.path.join(HERE, "digits_test_int8.jsonl"), "w") as g:
        f.write(json.dumps(dict(head, dtype="float32", by="Keras", accuracy=round(float(acc), 4))) + "\n")
        g.write(json.dumps(dict(head, dtype="int8", by="LiteRT", accuracy=round(right / n_test, 4),
                                input_quantization=[float(scale), int(zp)])) + "\n")
        for img, t, p in zip(x_test[:HELD_OUT], y_test[:HELD_OUT], probs):
            q = quantized(img)
            f.write(json.dumps({"x": [int(v) for v in img.reshape(-1)], "label": int(t), "keras": [float(v) for v in p]}) + "\n")
            g.write(json.dumps({"x": q.reshape(-1).tolist(), "label": int(t), "litert": litert_out(q).tolist()})
                    + "\n")
    print("digits: %d rows written, .tflite %d bytes" % (HELD_OUT, len(content)))


if __name__ == "__main__":
    main()
