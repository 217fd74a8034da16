#!/usr/bin/env python3
"""Records the 2-D kernels' parity fixtures from Keras and LiteRT.

Run by hand, NOT by `make test` (it needs TensorFlow and LiteRT), in the
virtual environment tools/make_int8_fixtures.py describes:

    ../venv-tf/bin/python tools/make_conv2d_fixtures.py [OUT_DIR] [--only NAME,...]

For each small seeded Keras model below (Conv2D, DepthwiseConv2D,
MaxPooling2D and AveragePooling2D with several kernel sizes, strides,
dilations and paddings, odd sizes, with and without bias), trained briefly
on seeded random data, it writes OUT_DIR/<name>.json with two parts:

- "float": Keras's float32 forward pass, layer by layer. "layers": every 2-D
  layer (class, Keras's arguments as its config gives them, input and output
  shapes without the batch, kernel and bias flattened in Keras's layouts, and
  "source": the index of the layer whose output it reads, -1 for the model's
  input); "rows": per input row, "input" and "outputs" (each recorded
  layer's output, flattened row-major NHWC as numpy's reshape(-1));
- "int8": the model's full-integer TFLite conversion (TensorFlow's converter,
  tools/make_int8_fixtures.py's `convert`: representative data set, int8
  input and output), run by LiteRT's REFERENCE kernels
  (`OpResolverType.BUILTIN_REF`) with every tensor kept: the fields of
  tools/make_int8_fixtures.py's fixtures ("tensors", "operators" with the
  options of CONV_2D, DEPTHWISE_CONV_2D and the poolings, "rows",
  "outputs", "tensor_values": every non-constant int8 tensor per row).

and OUT_DIR/<name>.tflite, the converted model. Default OUT_DIR:
tests/fixtures/conv2d.

TensorFlow 2.21 converts a dilated Conv2D or DepthwiseConv2D to
SPACE_TO_BATCH_ND, an undilated CONV_2D / DEPTHWISE_CONV_2D over the
batches it makes (the bias, if any, then added by an ADD) and
BATCH_TO_SPACE_ND: the int8 kernels' dilation is checked by
tests/rust/conv2d_fixtures.rs's random shapes, the float32 kernels' also by
the Keras layers recorded here.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_int8_fixtures import (  # noqa: E402
    ACT_NAMES, ROOT, convert, input_rows, litert, operator_options, schema, tf, train)

keras = tf.keras

# the int8 rows kept of input_rows' 16 (calibration-like, beyond the
# calibrated range, saturated at both ends, random): fixtures stay small
INT8_ROWS = (0, 1, 6, 7, 12, 13, 14, 15)
FLOAT_ROWS = 3


class Builder:
    """A functional model whose 2-D layers are recorded with their source."""

    def __init__(self, shape, seed):
        keras.utils.set_random_seed(seed)
        self.inp = keras.Input(shape)
        self.recorded = []  # (layer, source index)
        self.tensors = []  # each recorded layer's output

    def add(self, layer, src=None):
        """Applies `layer` to the output of recorded layer `src` (None: the
        last one; -1: the model's input)."""
        if src is None:
            src = len(self.recorded) - 1
        x = self.inp if src == -1 else self.tensors[src]
        y = layer(x)
        self.recorded.append((layer, src))
        self.tensors.append(y)
        return len(self.recorded) - 1

    def head(self, srcs, units=2):
        flat = [keras.layers.Flatten()(self.tensors[s]) for s in srcs]
        h = flat[0] if len(flat) == 1 else keras.layers.Concatenate()(flat)
        return keras.Model(self.inp, keras.layers.Dense(units)(h))


def conv2d_model(seed):
    """Conv2D: 3x3 same with a fused RELU; 2x3 valid with strides (2, 1);
    1x1 without bias; 3x3 same with strides 2 (odd sizes, uneven padding)
    and RELU6; 2x2 valid with linear activation."""
    b = Builder((7, 9, 3), seed)
    L = keras.layers
    b.add(L.Conv2D(4, 3, padding="same", activation="relu"), -1)
    b.add(L.Conv2D(5, (2, 3), strides=(2, 1), padding="valid"))
    b.add(L.Conv2D(3, 1, use_bias=False))
    b.add(L.Conv2D(4, 3, strides=2, padding="same", activation="relu6"))
    b.add(L.Conv2D(2, 2, padding="valid"))
    return b


def conv2d_dilated_model(seed):
    """Conv2D with dilation: 3x3 dilation 2 same; (3, 2) dilation (2, 1)
    valid with RELU; an even kernel 2x2 same with strides (1, 2); 4x1 valid
    with strides (2, 1) and no bias."""
    b = Builder((9, 8, 2), seed)
    L = keras.layers
    b.add(L.Conv2D(4, 3, dilation_rate=2, padding="same"), -1)
    b.add(L.Conv2D(3, (3, 2), dilation_rate=(2, 1), padding="valid", activation="relu"))
    b.add(L.Conv2D(3, 2, strides=(1, 2), padding="same"))
    b.add(L.Conv2D(2, (4, 1), strides=(2, 1), use_bias=False))
    return b


def depthwise_model(seed):
    """DepthwiseConv2D: 3x3 same depth_multiplier 1 with RELU; (2, 3) valid
    strides 2 depth_multiplier 2; 3x3 same depth_multiplier 2 without bias;
    2x2 dilation 2 valid; each after a Conv2D so that the channels differ."""
    b = Builder((8, 7, 3), seed)
    L = keras.layers
    b.add(L.DepthwiseConv2D(3, padding="same", activation="relu"), -1)
    b.add(L.DepthwiseConv2D((2, 3), strides=2, depth_multiplier=2, padding="valid"))
    b.add(L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False))
    b.add(L.Conv2D(3, 1))
    b.add(L.DepthwiseConv2D(2, dilation_rate=2, padding="valid"))
    return b


def pool2d_model(seed):
    """MaxPooling2D and AveragePooling2D, valid and same, odd sizes (same
    pads unevenly), non-square windows and strides."""
    b = Builder((9, 11, 3), seed)
    L = keras.layers
    c = b.add(L.Conv2D(4, 1), -1)
    b.add(L.MaxPooling2D(3, strides=2, padding="same"), c)
    p1 = b.add(L.AveragePooling2D(2, padding="valid"))
    b.add(L.AveragePooling2D(3, strides=2, padding="same"), c)
    p2 = b.add(L.MaxPooling2D((2, 3), strides=(1, 2), padding="valid"))
    b.add(L.AveragePooling2D((3, 2), strides=(2, 3), padding="same"), c)
    p3 = b.add(L.MaxPooling2D(2, padding="same"))
    b.heads = [p1, p2, p3]
    return b


MODELS = {
    "conv2d": conv2d_model,
    "conv2d_dilated": conv2d_dilated_model,
    "depthwise2d": depthwise_model,
    "pool2d": pool2d_model,
}

CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "dilation_rate", "use_bias",
               "activation", "depth_multiplier", "pool_size")


def f32s(a):
    """float32 values as the shortest decimals that read back as the same
    float32 (numpy's repr of a float32)."""
    return [float(str(v)) for v in np.asarray(a, np.float32).reshape(-1)]


def float_part(b, model, seed):
    layers = []
    for layer, src in b.recorded:
        cfg = layer.get_config()
        entry = {"class": type(layer).__name__, "source": src,
                 "input_shape": [int(d) for d in layer.input.shape[1:]],
                 "output_shape": [int(d) for d in layer.output.shape[1:]]}
        entry["config"] = {k: cfg[k] for k in CONFIG_KEYS if k in cfg}
        w = layer.get_weights()
        if w:
            entry["kernel"] = f32s(w[0])
            entry["kernel_shape"] = list(w[0].shape)
            if len(w) > 1:
                entry["bias"] = f32s(w[1])
        layers.append(entry)
    probe = keras.Model(b.inp, b.tensors)
    rng = np.random.default_rng(seed + 200)
    x = rng.normal(0.0, 1.0, (FLOAT_ROWS,) + tuple(model.input_shape[1:])).astype(np.float32)
    outs = probe.predict(x, verbose=0)
    rows = [{"input": f32s(x[r]), "outputs": [f32s(o[r]) for o in outs]} for r in range(FLOAT_ROWS)]
    return {"layers": layers, "rows": rows}


def depthwise_options(content, ops):
    """DEPTHWISE_CONV_2D's options (tools/make_int8_fixtures.py's
    operator_options reads CONV_2D's and the poolings')."""
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
                     dilation_w=o.DilationWFactor(), dilation_h=o.DilationHFactor(),
                     depth_multiplier=o.DepthMultiplier())


def int8_part(content, calib, seed):
    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
                                experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    read = operator_options(content)
    depthwise_options(content, read["operators"])
    details = [d for d in interp.get_tensor_details() if d["index"] < len(read["tensor_buffers"])]
    for entry, lop in zip(read["operators"], interp._get_ops_details()):
        entry["litert_op_name"] = lop["op_name"]
    consts = {i for i, b in enumerate(read["tensor_buffers"]) if read["buffer_bytes"][b] > 0}
    tensors = []
    for d in details:
        qp = d["quantization_parameters"]
        t = {"index": int(d["index"]), "name": d["name"], "shape": [int(s) for s in d["shape"]],
             "dtype": np.dtype(d["dtype"]).name, "scales": [float(s) for s in qp["scales"]],
             "zero_points": [int(z) for z in qp["zero_points"]],
             "quantized_dimension": int(qp["quantized_dimension"])}
        if d["index"] in consts:
            try:
                t["values"] = np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
            except ValueError:
                t["values"] = None
        tensors.append(t)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    all_rows = input_rows(interp, calib, seed)
    rows, outputs, values = [], [], []
    for q in (all_rows[k] for k in INT8_ROWS):
        interp.set_tensor(inp["index"], q[None, ...])
        interp.invoke()
        rows.append(q.reshape(-1).tolist())
        outputs.append(interp.get_tensor(out["index"]).reshape(-1).tolist())
        values.append({str(d["index"]): np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
                       for d in details if d["index"] not in consts and np.dtype(d["dtype"]) == np.int8})
    return {"resolver": "BUILTIN_REF", "operators": read["operators"], "tensors": tensors,
            "input": {"index": int(inp["index"]), "shape": [int(s) for s in inp["shape"]]},
            "output": {"index": int(out["index"]), "shape": [int(s) for s in out["shape"]]},
            "rows": rows, "outputs": outputs, "tensor_values": values}


def record(name, build, out_dir, seed):
    b = build(seed)
    model = b.head(getattr(b, "heads", [len(b.recorded) - 1]))
    calib = train(model, "mse", seed)
    content = convert(model, calib)
    doc = {"generator": "tools/make_conv2d_fixtures.py", "tensorflow": tf.__version__,
           "float": float_part(b, model, seed), "int8": int8_part(content, calib, seed)}
    with open(os.path.join(out_dir, name + ".tflite"), "wb") as f:
        f.write(content)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(content)} bytes, ops {[o['opcode'] for o in doc['int8']['operators']]}")


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        k = args.index("--only")
        only = set(args[k + 1].split(","))
        del args[k:k + 2]
        unknown = only - set(MODELS)
        if unknown:
            sys.exit(f"unknown models: {sorted(unknown)}")
    out_dir = args[0] if args else os.path.join(ROOT, "tests", "fixtures", "conv2d")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, build) in enumerate(MODELS.items()):
        if only is None or name in only:
            record(name, build, out_dir, 40 + seed)


if __name__ == "__main__":
    main()
