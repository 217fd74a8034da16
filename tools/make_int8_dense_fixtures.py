#!/usr/bin/env python3
"""Records int8 Dense-chain fixtures whose every operator anne's int8 step
runs (no SOFTMAX): end-to-end models for the converter
(tools/anne_tflite_import.py) and the board. Run by hand, like
tools/make_int8_fixtures.py (whose models, training, conversion and
recording it reuses), with TensorFlow and LiteRT in a virtual environment
outside the project:

    ../venv-tf/bin/python tools/make_int8_dense_fixtures.py [OUT_DIR]

Writes OUT_DIR/dense_<name>.tflite and .json (default tests/fixtures/int8),
the JSON as make_int8_fixtures.py records it (LiteRT's reference kernels),
with "generator" naming this file. The float-I/O model (QUANTIZE at the
input, DEQUANTIZE at the output) records float32 "rows" and "outputs"
(LiteRT's, from float inputs) and "io": "float32"; its "tensor_values" hold
the int8 tensors as for the others.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_int8_fixtures as mif  # noqa: E402
from make_int8_fixtures import dense_model, litert, tf  # noqa: E402

GENERATOR = "tools/make_int8_dense_fixtures.py"


def convert_with(per_tensor=False, int8_io=True):
    """TensorFlow's full-integer conversion as make_int8_fixtures.convert
    does it, with one weight scale per Dense layer (per_tensor) instead of
    one per unit, or with float32 input and output (int8_io False: the
    converter adds QUANTIZE and DEQUANTIZE)."""
    def convert(model, calib):
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([row[None, ...]] for row in calib[:64])
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        if per_tensor:
            conv._experimental_disable_per_channel_quantization_for_dense_layers = True
        return conv.convert()
    return convert


convert_per_tensor = convert_with(per_tensor=True)
convert_float_io = convert_with(int8_io=False)


# name: (builder, loss, converter)
MODELS = {
    "dense_relu_chain": (lambda: dense_model(5, [(8, "relu"), (6, "relu"), (4, None)], 11), "mse", mif.convert),
    "dense_relu6_chain": (lambda: dense_model(4, [(12, "relu6"), (6, "relu6"), (3, None)], 12), "mse",
                          mif.convert),
    "dense_per_tensor": (lambda: dense_model(6, [(9, "relu"), (4, None)], 13), "mse", convert_per_tensor),
    "dense_float_io": (lambda: dense_model(3, [(10, "relu"), (2, None)], 14), "mse", convert_float_io),
}


def record_float_io(name, build, loss, out_dir, seed):
    """A float-I/O model: float32 rows (calibration-like, beyond the range,
    zeros) and LiteRT's float32 outputs; the int8 tensors per row."""
    model = build()
    calib = mif.train(model, loss, seed)
    content = convert_float_io(model, calib)
    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
                                experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    read = mif.operator_options(content)
    for entry, lop in zip(read["operators"], interp._get_ops_details()):
        entry["litert_op_name"] = lop["op_name"]
        assert list(lop["inputs"]) == entry["inputs"] and list(lop["outputs"]) == entry["outputs"], name
    details = interp.get_tensor_details()
    consts = {i for i, b in enumerate(read["tensor_buffers"]) if read["buffer_bytes"][b] > 0}
    tensors = []
    for d in details:
        qp = d["quantization_parameters"]
        t = {"index": int(d["index"]), "name": d["name"], "shape": [int(s) for s in d["shape"]],
             "dtype": np.dtype(d["dtype"]).name, "scales": [float(s) for s in qp["scales"]],
             "zero_points": [int(z) for z in qp["zero_points"]],
             "quantized_dimension": int(qp["quantized_dimension"]),
             "buffer": read["tensor_buffers"][d["index"]],
             "buffer_bytes": read["buffer_bytes"][read["tensor_buffers"][d["index"]]]}
        if d["index"] in consts:
            t["values"] = np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
        tensors.append(t)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    rng = np.random.default_rng(seed + 100)
    shape = tuple(inp["shape"][1:])
    rows_f = [calib[k] for k in range(6)] + [rng.normal(0.0, 4.0, shape).astype(np.float32) for _ in range(6)]
    rows_f += [np.zeros(shape, np.float32), np.full(shape, 1e3, np.float32), np.full(shape, -1e3, np.float32)]
    rows, outputs, values = [], [], []
    for x in rows_f:
        interp.set_tensor(inp["index"], x[None, ...].astype(np.float32))
        interp.invoke()
        rows.append([float(v) for v in x.reshape(-1)])
        outputs.append([float(v) for v in interp.get_tensor(out["index"]).reshape(-1)])
        values.append({str(d["index"]): np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
                       for d in details if d["index"] not in consts and np.dtype(d["dtype"]) == np.int8})
    import ai_edge_litert
    doc = {
        "generator": GENERATOR, "tensorflow": tf.__version__,
        "litert": getattr(ai_edge_litert, "__version__", "unknown"), "resolver": "BUILTIN_REF",
        "io": "float32", "model_version": read["version"], "n_buffers": read["n_buffers"],
        "input": {"index": int(inp["index"]), "shape": [int(s) for s in inp["shape"]], "dtype": "float32"},
        "output": {"index": int(out["index"]), "shape": [int(s) for s in out["shape"]], "dtype": "float32"},
        "operators": read["operators"], "tensors": tensors, "rows": rows, "outputs": outputs,
        "tensor_values": values,
    }
    with open(os.path.join(out_dir, name + ".tflite"), "wb") as f:
        f.write(content)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(content)} bytes, ops {[o['opcode'] for o in read['operators']]}, {len(rows)} rows")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(mif.ROOT, "tests", "fixtures", "int8")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (build, loss, converter)) in enumerate(MODELS.items(), start=20):
        if converter is convert_float_io:
            record_float_io(name, build, loss, out_dir, seed)
            continue
        saved = mif.convert
        mif.convert = converter
        try:
            mif.record(name, build, loss, out_dir, seed)
        finally:
            mif.convert = saved
        path = os.path.join(out_dir, name + ".json")
        with open(path) as f:
            doc = json.load(f)
        doc["generator"] = GENERATOR
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
