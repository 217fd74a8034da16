#!/usr/bin/env python3
"""Records what TensorFlow's converter makes of small Keras Dense models
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
  inputs), exactly the ones given to the converter's representative data
  set, one row per batch;
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

# name: (n_in, [(units, activation)], loss, calibration rows)
MODELS = {
    "relu_softmax": (6, [(16, "relu"), (8, "relu"), (4, "softmax")], "sparse_categorical_crossentropy", 64),
    "linear": (5, [(8, None), (3, None)], "mse", 32),
    "relu6_sigmoid": (4, [(12, "relu6"), (1, "sigmoid")], "mse", 100),
    "tanh_wide": (3, [(10, "tanh"), (6, "relu"), (2, None)], "mse", 50),
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "quant")
    for seed, (name, (n_in, layers, loss, n_calib)) in enumerate(MODELS.items()):
        model = dense_model(n_in, layers, 40 + seed)
        x = train(model, loss, 40 + seed)
        rng = np.random.default_rng(60 + seed)
        # calibration rows: the training data's distribution, a few wider
        calib = np.concatenate([x[:n_calib - 4], rng.normal(0.0, 2.0, (4, n_in))]).astype(np.float32)
        content = convert(model, calib, len(calib))
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
            interp.set_tensor(inp["index"], r[None, :])
            interp.invoke()
            outputs.append(interp.get_tensor(out["index"]).reshape(-1).tolist())
        doc = {"generator": "tools/make_int8_quant_fixtures.py", "tensorflow": tf.__version__,
               "resolver": "BUILTIN_REF", "layers": [[u, a or "linear"] for u, a in layers],
               "calibration_rows": int(len(calib)), "rows": rows.tolist(), "outputs": outputs}
        with open(base + ".json", "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print(f"quant_{name}: {len(content)} bytes, {len(calib)} calibration rows")


if __name__ == "__main__":
    main()
