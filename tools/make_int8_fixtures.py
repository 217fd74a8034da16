#!/usr/bin/env python3
"""Records int8 parity fixtures from TensorFlow's converter and LiteRT.

Run by hand, NOT by `make test` (it needs TensorFlow and LiteRT, which the
project does not depend on), in a virtual environment outside the project:

    python3 -m venv ../venv-tf
    ../venv-tf/bin/pip install tensorflow ai-edge-litert numpy
    ../venv-tf/bin/python tools/make_int8_fixtures.py [OUT_DIR] [--only NAME,...]

For each small Keras model below (trained briefly on seeded random data) it
writes OUT_DIR/<name>.tflite, TensorFlow's full-integer int8 conversion
(representative data set, int8 input and output), and OUT_DIR/<name>.json:

- "rows": int8 input rows, some beyond the calibrated range (saturated
  at -128/127 and values the calibration never reached);
- "outputs": LiteRT's int8 outputs for them, from its REFERENCE kernels
  (`OpResolverType.BUILTIN_REF`);
- "tensors": every tensor as LiteRT reports it (name, shape, dtype, scales,
  zero points, quantized dimension) and, for constant tensors, its values;
  the shape is the file's (TensorFlow's schema module), and "litert_shape"
  LiteRT's where they differ (a dilated convolution's tensors between
  SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND: batch 1 in the file);
- "operators": every operator (LiteRT's op name; inputs, outputs; the fused
  activation and options from TensorFlow's own flatbuffer module,
  tensorflow.lite.python.schema_py_generated, not from tools/anne_tflite.py);
- "tensor_values": per row, every non-constant tensor's int8 values
  (LiteRT's experimental_preserve_all_tensors), so each operator can be
  checked on its own.
Default OUT_DIR: tests/fixtures/int8.
"""
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from ai_edge_litert import interpreter as litert  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
OPCODE_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def dense_model(n_in, layers, seed):
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((n_in,))
    h = inp
    for units, act in layers:
        h = keras.layers.Dense(units, activation=act)(h)
    return keras.Model(inp, h)


def conv1d_model(seed):
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 2))
    h = keras.layers.Conv1D(4, 3, activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def conv1d_variants_model(seed):
    """Conv1D as CONV_2D with height 1: same padding with strides 2 (odd
    steps, so the padding is uneven), valid with strides 2, an even kernel
    with same padding; with and without a fused RELU. (Not dilation:
    TensorFlow 2.21 converts a dilated Conv1D to SPACE_TO_BATCH_ND, an
    undilated CONV_2D over two batches, BATCH_TO_SPACE_ND and an ADD of the
    bias; src/layers/conv1d_s8.rs's unit tests cover dilation.)"""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((11, 3))
    h = keras.layers.Conv1D(4, 3, strides=2, padding="same", activation="relu")(inp)
    h = keras.layers.Conv1D(5, 2, strides=2, padding="valid")(h)
    h = keras.layers.Conv1D(3, 2, padding="same", activation="relu")(h)
    h = keras.layers.Conv1D(2, 3, padding="same")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def pool1d_model(seed):
    """MAX_POOL_2D and AVERAGE_POOL_2D with height 1 (valid and same, odd
    steps so that same pads unevenly), then GlobalAveragePooling1D (MEAN)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((13, 2))
    h = keras.layers.Conv1D(4, 2, padding="same")(inp)
    a = keras.layers.MaxPooling1D(3, strides=2, padding="same")(h)
    a = keras.layers.AveragePooling1D(2, padding="valid")(a)
    b = keras.layers.AveragePooling1D(3, strides=2, padding="same")(h)
    b = keras.layers.MaxPooling1D(2, padding="valid")(b)
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def bn_global_max_model(seed):
    """A BatchNormalization the converter cannot fold (after a pooling:
    MUL by a constant vector, then ADD), GlobalMaxPooling1D (REDUCE_MAX)
    and GlobalAveragePooling1D (MEAN)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((10, 3))
    h = keras.layers.Conv1D(4, 3, activation="relu")(inp)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.BatchNormalization()(h)
    a = keras.layers.GlobalMaxPooling1D()(h)
    b = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def residual_model(seed):
    """Add of two branches (ADD, then a RELU the converter may fuse into
    it) and Multiply of two branches (MUL without broadcasting)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((7, 3))
    a = keras.layers.Conv1D(4, 3, padding="same", activation="relu")(inp)
    b = keras.layers.Conv1D(4, 1)(inp)
    h = keras.layers.Add()([a, b])
    h = keras.layers.Activation("relu")(h)
    c = keras.layers.Conv1D(4, 1)(h)
    h = keras.layers.Multiply()([h, c])
    h = keras.layers.Add()([h, b])
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def pool1d_chain_model(seed):
    """A chain anne's int8 layers take: Conv1D, MaxPooling1D (same, odd
    steps), AveragePooling1D (valid), GlobalAveragePooling1D (MEAN), Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((13, 2))
    h = keras.layers.Conv1D(4, 2, padding="same", activation="relu")(inp)
    h = keras.layers.MaxPooling1D(3, strides=2, padding="same")(h)
    h = keras.layers.AveragePooling1D(2, padding="valid")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def pool1d_global_max_model(seed):
    """A chain: Conv1D, AveragePooling1D (same: the padded steps left out
    of the average), MaxPooling1D (valid), GlobalMaxPooling1D (REDUCE_MAX),
    Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 3))
    h = keras.layers.Conv1D(5, 3, activation="relu")(inp)
    h = keras.layers.AveragePooling1D(3, strides=2, padding="same")(h)
    h = keras.layers.MaxPooling1D(2, padding="valid")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def conv1d_dilated_model(seed):
    """Dilated Conv1D: TensorFlow 2.21 converts each to SPACE_TO_BATCH_ND,
    an undilated CONV_2D over `dilation` batches, BATCH_TO_SPACE_ND and an
    ADD of the bias (anne_tflite_conv2d.fold_dilated maps them back to one
    dilated convolution and an affine layer). Dilation 2 and 3, same and
    valid padding, relu and none, then GlobalAveragePooling1D and Flatten
    into Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((17, 3))
    h = keras.layers.Conv1D(4, 3, dilation_rate=2, padding="same", activation="relu")(inp)
    h = keras.layers.Conv1D(5, 2, dilation_rate=3, padding="valid")(h)
    h = keras.layers.Conv1D(3, 3, dilation_rate=2, padding="valid", activation="relu")(h)
    h = keras.layers.Conv1D(4, 2, dilation_rate=3, padding="same")(h)
    a = keras.layers.GlobalAveragePooling1D()(h)
    b = keras.layers.Dense(2)(keras.layers.Flatten()(h))
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def conv1d_dilated_chain_model(seed):
    """A chain of dilated Conv1D layers without bias or activation (so no
    ADD: a chain, not a graph; a relu would be a RELU of its own that
    requantizes), then Flatten and Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 2))
    h = keras.layers.Conv1D(4, 3, dilation_rate=2, padding="same", use_bias=False)(inp)
    h = keras.layers.Conv1D(3, 2, dilation_rate=3, padding="valid", use_bias=False)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(5, activation="relu")(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def conv1d_causal_model(seed):
    """Conv1D with padding="causal": TensorFlow 2.21 writes a PAD of the
    steps ((kernel_size - 1) * dilation before) then the VALID convolution
    (dilated as conv1d_dilated_model's; anne_tflite_conv2d.fold_causal
    makes the PAD the convolution's causal padding). Dilation 2 and 3 with
    bias ADDs, then an undilated one with strides 2, relu and the bias in
    its CONV_2D, then GlobalAveragePooling1D and Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 3))
    h = keras.layers.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="relu")(inp)
    h = keras.layers.Conv1D(3, 2, dilation_rate=3, padding="causal")(h)
    h = keras.layers.Conv1D(4, 3, strides=2, padding="causal", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def conv1d_depthwise_model(seed):
    """ZeroPadding1D, DepthwiseConv1D and SeparableConv1D: TensorFlow 2.21
    writes a PAD of the steps, and a DEPTHWISE_CONV_2D of height 1 between
    EXPAND_DIMS and RESHAPE (the separable one's pointwise CONV_2D before
    its RESHAPE); anne_tflite_import runs them on the steps as an image of
    height 1, between int8 reshapes."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 3))
    h = keras.layers.ZeroPadding1D((2, 1))(inp)
    h = keras.layers.Conv1D(4, 3, activation="relu")(h)
    h = keras.layers.DepthwiseConv1D(3, padding="same", depth_multiplier=2)(h)
    h = keras.layers.SeparableConv1D(5, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def graph_depthwise1d_model(seed):
    """A DepthwiseConv1D in a residual Add, then ZeroPadding1D and a
    SeparableConv1D (the graph importer's 1-D depthwise and padding)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 4))
    h = keras.layers.DepthwiseConv1D(3, padding="same", activation="relu")(inp)
    h = keras.layers.Add()([h, inp])
    h = keras.layers.ZeroPadding1D(1)(h)
    h = keras.layers.SeparableConv1D(5, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def conv2d_dilated_model(seed):
    """Dilated Conv2D and DepthwiseConv2D (dilation 2, same and valid;
    (2, 1) too), then GlobalAveragePooling2D and Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((9, 8, 2))
    h = keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="relu")(inp)
    h = keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="valid")(h)
    h = keras.layers.Conv2D(3, (2, 3), dilation_rate=(2, 1), padding="valid", activation="relu")(h)
    h = keras.layers.DepthwiseConv2D(2, dilation_rate=2, padding="same", depth_multiplier=2)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(3)(h)
    return keras.Model(inp, h)


MODELS = {
    # name: (builder, loss)
    "dense_relu_softmax": (lambda: dense_model(5, [(8, "relu"), (6, "relu6"), (4, "softmax")], 1), "sparse_categorical_crossentropy"),
    "dense_linear": (lambda: dense_model(6, [(7, None), (5, "relu"), (3, None)], 2), "mse"),
    "dense_relu6_softmax": (lambda: dense_model(4, [(16, "relu6"), (3, "softmax")], 3), "sparse_categorical_crossentropy"),
    "conv1d_dense": (lambda: conv1d_model(4), "sparse_categorical_crossentropy"),
    "conv1d_variants": (lambda: conv1d_variants_model(5), "mse"),
    "pool1d_mean": (lambda: pool1d_model(6), "sparse_categorical_crossentropy"),
    "bn_global_max": (lambda: bn_global_max_model(7), "mse"),
    "residual_add_mul": (lambda: residual_model(8), "mse"),
    "pool1d_chain": (lambda: pool1d_chain_model(9), "sparse_categorical_crossentropy"),
    "pool1d_global_max": (lambda: pool1d_global_max_model(10), "mse"),
    "conv1d_dilated": (lambda: conv1d_dilated_model(11), "mse"),
    "conv1d_dilated_chain": (lambda: conv1d_dilated_chain_model(12), "sparse_categorical_crossentropy"),
    "conv2d_dilated_int8": (lambda: conv2d_dilated_model(13), "mse"),
    "conv1d_causal_dilated": (lambda: conv1d_causal_model(14), "mse"),
    "conv1d_depthwise_pad": (lambda: conv1d_depthwise_model(16), "mse"),
    "graph_depthwise1d": (lambda: graph_depthwise1d_model(18), "mse"),
}


def train(model, loss, seed):
    rng = np.random.default_rng(seed)
    shape = (256,) + tuple(model.input_shape[1:])
    x = rng.normal(0.0, 1.0, shape).astype(np.float32)
    n_out = model.output_shape[-1]
    if loss == "mse":
        y = rng.normal(0.0, 1.0, (shape[0], n_out)).astype(np.float32)
    else:
        y = (x.reshape(shape[0], -1).sum(axis=1) > 0).astype(np.int64) % n_out
    model.compile(optimizer="adam", loss=loss)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    return x


def convert(model, calib, n_rows=64):
    """TensorFlow's full-integer conversion, int8 in and out, with the
    first n_rows rows of calib as the representative data set."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep():
        for row in calib[:n_rows]:
            yield [row[None, ...]]

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def operator_options(content):
    """Each operator's builtin options, read with TensorFlow's own module."""
    m = schema.Model.GetRootAsModel(content, 0)
    g = m.Subgraphs(0)
    ops = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        entry = {"builtin_code": builtin, "opcode": OPCODE_NAMES.get(builtin, str(builtin)),
                 "opcode_index": op.OpcodeIndex(), "version": code.Version(),
                 "inputs": op.InputsAsNumpy().tolist() if op.InputsLength() else [],
                 "outputs": op.OutputsAsNumpy().tolist() if op.OutputsLength() else [],
                 "builtin_options_type": op.BuiltinOptionsType()}
        t = op.BuiltinOptionsType()
        tab = op.BuiltinOptions()
        if t == schema.BuiltinOptions.FullyConnectedOptions:
            o = schema.FullyConnectedOptions()
            o.Init(tab.Bytes, tab.Pos)
            entry["fused_activation"] = ACT_NAMES[o.FusedActivationFunction()]
            entry["keep_num_dims"] = bool(o.KeepNumDims())
        elif t == schema.BuiltinOptions.Conv2DOptions:
            o = schema.Conv2DOptions()
            o.Init(tab.Bytes, tab.Pos)
            entry.update(fused_activation=ACT_NAMES[o.FusedActivationFunction()],
                         padding=["SAME", "VALID"][o.Padding()], stride_w=o.StrideW(), stride_h=o.StrideH(),
                         dilation_w=o.DilationWFactor(), dilation_h=o.DilationHFactor())
        elif t == schema.BuiltinOptions.Pool2DOptions:
            o = schema.Pool2DOptions()
            o.Init(tab.Bytes, tab.Pos)
            entry.update(fused_activation=ACT_NAMES[o.FusedActivationFunction()],
                         padding=["SAME", "VALID"][o.Padding()], stride_w=o.StrideW(), stride_h=o.StrideH(),
                         filter_width=o.FilterWidth(), filter_height=o.FilterHeight())
        elif t in (schema.BuiltinOptions.AddOptions, schema.BuiltinOptions.MulOptions):
            o = schema.AddOptions() if t == schema.BuiltinOptions.AddOptions else schema.MulOptions()
            o.Init(tab.Bytes, tab.Pos)
            # under "options": tools/anne_tflite.py does not read these
            # (tests/host/test_tflite_reader.py compares the top-level keys)
            entry["options"] = {"fused_activation": ACT_NAMES[o.FusedActivationFunction()]}
        elif t == schema.BuiltinOptions.ReducerOptions:
            o = schema.ReducerOptions()
            o.Init(tab.Bytes, tab.Pos)
            entry["options"] = {"keep_dims": bool(o.KeepDims())}
        ops.append(entry)
    buffer_bytes = [m.Buffers(b).DataLength() for b in range(m.BuffersLength())]
    return {"version": m.Version(), "n_buffers": m.BuffersLength(), "buffer_bytes": buffer_bytes,
            "tensor_buffers": [g.Tensors(i).Buffer() for i in range(g.TensorsLength())],
            "tensor_shapes": [[int(v) for v in g.Tensors(i).ShapeAsNumpy()] if g.Tensors(i).ShapeLength() else []
                              for i in range(g.TensorsLength())], "operators": ops}


def input_rows(interp, calib, seed):
    """int8 rows: quantized calibration-like rows, wider ones (beyond the
    calibrated range, saturating) and a few fixed patterns."""
    d = interp.get_input_details()[0]
    scale, zp = d["quantization"]
    shape = tuple(d["shape"][1:])
    rng = np.random.default_rng(seed + 100)
    rows = []
    for k in range(6):
        rows.append(calib[k])
    for k in range(6):
        rows.append(rng.normal(0.0, 4.0, shape).astype(np.float32))  # beyond the calibrated range
    q = [np.clip(np.round(r / scale) + zp, -128, 127).astype(np.int8) for r in rows]
    q.append(np.full(shape, -128, np.int8))
    q.append(np.full(shape, 127, np.int8))
    q.append(np.full(shape, zp, np.int8))
    q.append(rng.integers(-128, 128, shape).astype(np.int8))
    return q


def record(name, build, loss, out_dir, seed):
    model = build()
    calib = train(model, loss, seed)
    content = convert(model, calib)
    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
                                experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    read = operator_options(content)
    # LiteRT lists the model's tensors, then the scratch tensors some
    # kernels add (MEAN: four): only the model's are recorded
    details = [d for d in interp.get_tensor_details() if d["index"] < len(read["tensor_buffers"])]
    ops_litert = interp._get_ops_details()
    for entry, lop in zip(read["operators"], ops_litert):
        entry["litert_op_name"] = lop["op_name"]
        assert list(lop["inputs"]) == entry["inputs"] and list(lop["outputs"]) == entry["outputs"], name
    # constant tensors: those whose buffer holds data (every tensor may
    # name a buffer of its own, an empty one if it is computed)
    consts = {i for i, b in enumerate(read["tensor_buffers"]) if read["buffer_bytes"][b] > 0}
    tensors = []
    for d in details:
        qp = d["quantization_parameters"]
        t = {"index": int(d["index"]), "name": d["name"], "shape": read["tensor_shapes"][d["index"]],
             "dtype": np.dtype(d["dtype"]).name, "scales": [float(s) for s in qp["scales"]],
             "zero_points": [int(z) for z in qp["zero_points"]],
             "quantized_dimension": int(qp["quantized_dimension"]),
             "buffer": read["tensor_buffers"][d["index"]],
             "buffer_bytes": read["buffer_bytes"][read["tensor_buffers"][d["index"]]]}
        if [int(s) for s in d["shape"]] != t["shape"]:
            # the tensors between a dilated convolution's SPACE_TO_BATCH_ND and
            # BATCH_TO_SPACE_ND: the file says batch 1, LiteRT's Prepare the blocks
            t["litert_shape"] = [int(s) for s in d["shape"]]
        if d["index"] in consts:
            try:
                t["values"] = np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
            except ValueError:  # a constant LiteRT folded away (no data at run time)
                t["values"] = None
        tensors.append(t)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    rows, outputs, values = [], [], []
    for q in input_rows(interp, calib, seed):
        interp.set_tensor(inp["index"], q[None, ...])
        interp.invoke()
        rows.append(q.reshape(-1).tolist())
        outputs.append(interp.get_tensor(out["index"]).reshape(-1).tolist())
        values.append({str(d["index"]): np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
                       for d in details if d["index"] not in consts and np.dtype(d["dtype"]) == np.int8})
    doc = {
        "generator": "tools/make_int8_fixtures.py",
        "tensorflow": tf.__version__,
        "litert": getattr(litert, "__version__", None) or __import__("ai_edge_litert").__version__
        if hasattr(__import__("ai_edge_litert"), "__version__") else "unknown",
        "resolver": "BUILTIN_REF",
        "model_version": read["version"],
        "n_buffers": read["n_buffers"],
        "input": {"index": int(inp["index"]), "shape": [int(s) for s in inp["shape"]],
                  "scale": float(inp["quantization"][0]), "zero_point": int(inp["quantization"][1])},
        "output": {"index": int(out["index"]), "shape": [int(s) for s in out["shape"]],
                   "scale": float(out["quantization"][0]), "zero_point": int(out["quantization"][1])},
        "operators": read["operators"],
        "tensors": tensors,
        "rows": rows,
        "outputs": outputs,
        "tensor_values": values,
    }
    with open(os.path.join(out_dir, name + ".tflite"), "wb") as f:
        f.write(content)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(content)} bytes, ops {[o['opcode'] for o in read['operators']]}, {len(rows)} rows")


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:  # --only NAME[,NAME...]: record just these models
        k = args.index("--only")
        only = set(args[k + 1].split(","))
        del args[k:k + 2]
        unknown = only - set(MODELS)
        if unknown:
            sys.exit(f"unknown models: {sorted(unknown)}")
    out_dir = args[0] if args else os.path.join(ROOT, "tests", "fixtures", "int8")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (build, loss)) in enumerate(MODELS.items()):
        if only is None or name in only:
            record(name, build, loss, out_dir, seed)


if __name__ == "__main__":
    main()
