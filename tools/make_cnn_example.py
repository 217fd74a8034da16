"""What examples/digits/make_digits.py and examples/kws/make_kws.py write
once their Keras model is trained (run by hand with TensorFlow, LiteRT and
numpy; see those scripts):

  NAME.keras               the model, without the optimizer's state
  NAME.tflite              TensorFlow's full-integer conversion (int8 in and
                           out, training rows as the representative data set)
  NAME.anne, NAME_int8.anne
                           both converted by tools/anne_convert.py with the
                           class names, as on the command line
  NAME_test.jsonl          held-out rows for the float32 network, one JSON
                           object a line (a board reads one at a time): a
                           header (rows, shape, classes, dtype, "by" and the
                           "accuracy" it measured on the whole held-out
                           set, "of" rows), then each row's "x" (H x W x C
                           values as reshape(-1) gives them), "label" and
                           "keras" (Keras's probabilities)
  NAME_test_int8.jsonl     the same rows for the int8 network: the header
                           also has the input's "input_quantization" (scale,
                           zero point); each row's "x" quantized with it and
                           "litert" (LiteRT's int8 outputs, its reference
                           kernels, OpResolverType.BUILTIN_REF)
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_convert  # noqa: E402


def write(folder, name, model, classes, x_train, x_test, y_test, held_out, value=float):
    """Writes the files above; x_test[:held_out] are the rows the board
    checks (their values written as value(v)). Returns (Keras's accuracy,
    LiteRT's) on the whole of x_test."""
    import keras
    import tensorflow as tf
    from ai_edge_litert import interpreter as litert

    def path(suffix):
        return os.path.join(folder, name + suffix)

    acc = float(model.evaluate(x_test, y_test, verbose=0)[1])
    plain = keras.models.clone_model(model)   # saved without the optimizer's state
    plain.set_weights(model.get_weights())
    plain.save(path(".keras"))

    conv = tf.lite.TFLiteConverter.from_keras_model(plain)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([row[None]] for row in x_train[:200])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    content = conv.convert()
    with open(path(".tflite"), "wb") as f:
        f.write(content)
    for src, dst in ((".keras", ".anne"), (".tflite", "_int8.anne")):
        if anne_convert.main([path(src), "-o", path(dst), "--quiet", "--classes", ",".join(classes)]):
            raise SystemExit("the conversion of %s failed" % path(src))

    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zp = inp["quantization"]

    def quantized(x):
        return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)

    def litert_out(q):
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        return interp.get_tensor(out["index"])[0]

    acc8 = sum(int(np.argmax(litert_out(quantized(x)))) == t for x, t in zip(x_test, y_test)) / len(x_test)
    probs = plain.predict(x_test[:held_out], verbose=0)
    head = {"rows": held_out, "shape": list(x_test.shape[1:]), "classes": classes, "of": len(x_test),
            "tensorflow": tf.__version__}
    with open(path("_test.jsonl"), "w") as f, open(path("_test_int8.jsonl"), "w") as g:
        f.write(json.dumps(dict(head, dtype="float32", by="Keras", accuracy=round(acc, 4))) + "\n")
        g.write(json.dumps(dict(head, dtype="int8", by="LiteRT", accuracy=round(acc8, 4),
                                input_quantization=[float(scale), int(zp)])) + "\n")
        for x, t, p in zip(x_test[:held_out], y_test[:held_out], probs):
            q = quantized(x)
            f.write(json.dumps({"x": [value(v) for v in x.reshape(-1)], "label": int(t),
                                "keras": [float(v) for v in p]}) + "\n")
            g.write(json.dumps({"x": q.reshape(-1).tolist(), "label": int(t),
                                "litert": litert_out(q).tolist()}) + "\n")
    print("%s: %d parameters; accuracy on %d held-out rows: Keras %.3f, LiteRT int8 %.3f; "
          "%d rows written; .tflite %d bytes" % (name, model.count_params(), len(x_test), acc, acc8, held_out,
                                                 len(content)))
    return acc, acc8
