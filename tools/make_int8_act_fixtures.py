#!/usr/bin/env python3
"""Records int8 parity fixtures for the activation kernels (src/activation/s8.rs).

Run by hand, NOT by `make test` (it needs TensorFlow and LiteRT), in the
virtual environment tools/make_int8_fixtures.py describes:

    ../venv-tf/bin/python tools/make_int8_act_fixtures.py [OUT_DIR]

Two kinds of small seeded Keras models, each converted by TensorFlow's
converter to full-integer int8 (tools/make_int8_fixtures.py's `convert`) and
run by LiteRT's REFERENCE kernels (`OpResolverType.BUILTIN_REF`):

- act_<name>: Dense followed by the activation (PReLU: the layer, its
  alpha drawn from [-0.5, 1)), trained briefly on seeded
  random data; 16 rows (tools/make_int8_fixtures.py's `input_rows`: rows like
  the calibration data, wider rows beyond the calibrated range, saturated
  and random ones);
- act_<name>_sweep: the activation alone on an int8 input of 256 values,
  calibrated on seeded random data; its rows hold every int8 value, so the
  operator sees its whole input range (every entry of a lookup table).

Each writes OUT_DIR/act_<name>.tflite and OUT_DIR/act_<name>.json, with the
fields of tools/make_int8_fixtures.py's fixtures ("rows", "outputs",
"tensors", "operators", "tensor_values": every non-constant int8 tensor per
row) and, per operator, the options the activation kernels need
("beta" for SOFTMAX, "alpha" for LEAKY_RELU, "approximate" for GELU).

The converter keeps ELU in float (DEQUANTIZE, ELU, QUANTIZE). For the int8
ELU kernel the act_elu* fixtures are the converter's model with that float
island replaced by one int8 ELU operator (input: the DEQUANTIZE's int8 input;
output: the QUANTIZE's int8 output, with its scale and zero point), run with
`BUILTIN_WITHOUT_DEFAULT_DELEGATES` (the reference resolver has no ELU; LiteRT
has one ELU kernel, the lookup table). Their "edited" field says so.

OUT_DIR/act_converter_ops.txt records what the converter makes of each
Keras activation after a Dense (its operator list), including those it
decomposes (softplus: EXP, ADD, LOG) or keeps in float.
Default OUT_DIR: tests/fixtures/int8.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_int8_fixtures import (  # noqa: E402
    ROOT, convert, dense_model, input_rows, litert, operator_options, schema, tf, train)

import flatbuffers  # noqa: E402  (TensorFlow's dependency)

keras = tf.keras

# name: (activation for dense_model / the sweep, n_in, units)
DENSE = {
    "sigmoid": ("sigmoid", 5, 8),
    "tanh": ("tanh", 5, 8),
    "softmax": ("softmax", 5, 8),
    "hard_swish": ("hard_silu", 5, 8),
    "leaky_relu": ("leaky_relu", 5, 8),
    "elu": ("elu", 5, 8),
    "gelu": ("gelu", 5, 8),
    "silu": ("silu", 5, 8),
    "softplus": ("softplus", 5, 8),
    "prelu": ("prelu_layer", 5, 8),
}

# name: (activation, standard deviation of the calibration data, input shape)
SWEEP = {
    "sigmoid_sweep": ("sigmoid", 3.0, (256,)),
    "tanh_sweep": ("tanh", 1.5, (256,)),
    "softmax_sweep": ("softmax", 2.0, (8, 32)),
    "softmax_coarse_sweep": ("softmax", 10.0, (8, 32)),
    "sigmoid_fine_sweep": ("sigmoid", 0.5, (256,)),
    "tanh_coarse_sweep": ("tanh", 6.0, (256,)),
    "hard_swish_coarse_sweep": ("hard_silu", 12.0, (256,)),
    "hard_swish_sweep": ("hard_silu", 2.0, (256,)),
    "hard_swish_fine_sweep": ("hard_silu", 0.1, (256,)),
    "leaky_relu_sweep": ("leaky_relu_layer:0.3", 2.0, (256,)),
    "leaky_relu_small_sweep": ("leaky_relu_layer:0.01", 1.0, (256,)),
    "elu_sweep": ("elu", 2.0, (256,)),
    "gelu_sweep": ("gelu", 2.0, (256,)),
    "softplus_sweep": ("softplus", 3.0, (256,)),
    "prelu_sweep": ("prelu_layer", 2.0, (256,)),
}

# Keras activations whose conversion is only recorded (act_converter_ops.txt)
SURVEY = ["sigmoid", "tanh", "softmax", "hard_silu", "leaky_relu", "elu", "gelu", "silu",
          "softplus", "selu", "celu", "mish", "softsign", "hard_sigmoid", "log_sigmoid",
          "log_softmax", "exponential", "relu6", "hard_tanh", "tanh_shrink", "sparse_plus"]

OPTIONS = {
    "SOFTMAX": ("SoftmaxOptions", lambda o: {"beta": float(o.Beta())}),
    "LEAKY_RELU": ("LeakyReluOptions", lambda o: {"alpha": float(o.Alpha())}),
    "GELU": ("GeluOptions", lambda o: {"approximate": bool(o.Approximate())}),
}


def activation_options(content):
    """The options of the activation operators, per operator index."""
    m = schema.Model.GetRootAsModel(content, 0)
    g = m.Subgraphs(0)
    out = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = next((k for k, v in vars(schema.BuiltinOperator).items() if v == builtin), None)
        entry = {}
        if name in OPTIONS and op.BuiltinOptions() is not None:
            cls, read = OPTIONS[name]
            o = getattr(schema, cls)()
            tab = op.BuiltinOptions()
            o.Init(tab.Bytes, tab.Pos)
            entry = read(o)
        out.append(entry)
    return out


def sweep_model(act, shape):
    inp = keras.Input(shape)
    if act == "prelu_layer":
        h = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-0.5, 1.0))(inp)
    elif act.startswith("leaky_relu_layer:"):
        h = keras.layers.LeakyReLU(negative_slope=float(act.split(":")[1]))(inp)
    else:
        h = keras.layers.Activation(act)(inp)
    return keras.Model(inp, h)


def sweep_rows(shape, seed):
    """Every int8 value in order, reversed, and (for a vector op) rows of
    random values, equal values and extremes."""
    n = int(np.prod(shape))
    ramp = np.arange(-128, 128, dtype=np.int64)
    rows = [np.resize(ramp, n), np.resize(ramp[::-1], n)]
    rng = np.random.default_rng(seed + 200)
    if len(shape) > 1:
        rows.append(rng.integers(-128, 128, n))
        rows.append(rng.integers(-20, 20, n))
        rows.append(np.full(n, 5))
        rows.append(np.where(rng.random(n) < 0.5, -128, 127))
    return [r.astype(np.int8).reshape(shape) for r in rows]


def replace_float_elu(content):
    """DEQUANTIZE -> ELU (float) -> QUANTIZE becomes one int8 ELU operator."""
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    g = model.subgraphs[0]
    code = {i: max(c.builtinCode, c.deprecatedBuiltinCode) for i, c in enumerate(model.operatorCodes)}
    B = schema.BuiltinOperator
    ops = g.operators
    for k in range(len(ops) - 2):
        a, b, c = ops[k], ops[k + 1], ops[k + 2]
        if (code[a.opcodeIndex], code[b.opcodeIndex], code[c.opcodeIndex]) == \
                (B.DEQUANTIZE, B.ELU, B.QUANTIZE) and \
                list(a.outputs) == list(b.inputs) and list(b.outputs) == list(c.inputs):
            b.inputs = list(a.inputs)
            b.outputs = list(c.outputs)
            g.operators = ops[:k] + [b] + ops[k + 3:]
            builder = flatbuffers.Builder(0)
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
            return bytes(builder.Output())
    raise RuntimeError("no DEQUANTIZE, ELU, QUANTIZE chain")


def record(name, content, rows, out_dir, resolver="BUILTIN_REF", edited=None):
    interp = litert.Interpreter(model_content=content,
                                experimental_op_resolver_type=getattr(litert.OpResolverType, resolver),
                                experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    details = interp.get_tensor_details()
    read = operator_options(content)
    for entry, extra, lop in zip(read["operators"], activation_options(content), interp._get_ops_details()):
        entry.update(extra)
        entry["litert_op_name"] = lop["op_name"]
        assert list(lop["inputs"]) == entry["inputs"] and list(lop["outputs"]) == entry["outputs"], name
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
    in_rows, outputs, values = [], [], []
    for q in rows:
        interp.set_tensor(inp["index"], q.reshape(inp["shape"]))
        interp.invoke()
        in_rows.append(q.reshape(-1).tolist())
        outputs.append(interp.get_tensor(out["index"]).reshape(-1).tolist())
        values.append({str(d["index"]): np.asarray(interp.get_tensor(d["index"])).reshape(-1).tolist()
                       for d in details if d["index"] not in consts and np.dtype(d["dtype"]) == np.int8})
    import ai_edge_litert
    doc = {
        "generator": "tools/make_int8_act_fixtures.py",
        "tensorflow": tf.__version__,
        "litert": getattr(ai_edge_litert, "__version__", "unknown"),
        "resolver": resolver,
        "edited": edited,
        "input": {"index": int(inp["index"]), "shape": [int(s) for s in inp["shape"]],
                  "scale": float(inp["quantization"][0]), "zero_point": int(inp["quantization"][1])},
        "output": {"index": int(out["index"]), "shape": [int(s) for s in out["shape"]],
                   "scale": float(out["quantization"][0]), "zero_point": int(out["quantization"][1])},
        "operators": read["operators"],
        "tensors": tensors,
        "rows": in_rows,
        "outputs": outputs,
        "tensor_values": values,
    }
    with open(os.path.join(out_dir, name + ".tflite"), "wb") as f:
        f.write(content)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(content)} bytes, ops {[o['opcode'] for o in read['operators']]}, "
          f"{len(in_rows)} rows, {resolver}")


def convert_elu_aware(name, content):
    ops = [o["opcode"] for o in operator_options(content)["operators"]]
    if "ELU" in ops and "DEQUANTIZE" in ops:
        return (replace_float_elu(content), "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
                "converter output " + str(ops) + "; the DEQUANTIZE, ELU (float), QUANTIZE chain "
                "replaced by one int8 ELU (tools/make_int8_act_fixtures.py, replace_float_elu)")
    return content, "BUILTIN_REF", None


def float_elu_fixture(out_dir):
    """act_elu_float: Dense(5 -> 8, activation="elu") then Dense(3), as the
    converter writes it (DEQUANTIZE, ELU in float, QUANTIZE: not edited),
    run by LiteRT's built-in kernels (the reference resolver has no float
    ELU): the importer's float island, computed as the int8 ELU's table,
    within one output step."""
    keras.utils.set_random_seed(41)
    inp = keras.Input((5,))
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Dense(8, activation="elu")(inp)))
    calib = train(model, "mse", 41)
    content = convert(model, calib)
    probe = litert.Interpreter(model_content=content)
    probe.allocate_tensors()
    record("act_elu_float", content, input_rows(probe, calib, 41), out_dir, "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
           "not edited: the converter's float ELU island, run by LiteRT's built-in kernels")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "int8")
    os.makedirs(out_dir, exist_ok=True)
    if "--float-elu-only" in sys.argv:
        return float_elu_fixture(out_dir)
    float_elu_fixture(out_dir)
    seed = 10
    for name, (act, n_in, units) in DENSE.items():
        seed += 1
        if act == "prelu_layer":
            keras.utils.set_random_seed(seed)
            inp = keras.Input((n_in,))
            model = keras.Model(inp, sweep_model(act, (units,))(keras.layers.Dense(units)(inp)))
        else:
            model = dense_model(n_in, [(units, act)], seed)
        loss = "sparse_categorical_crossentropy" if act == "softmax" else "mse"
        calib = train(model, loss, seed)
        content = convert(model, calib)
        probe = litert.Interpreter(model_content=content)
        probe.allocate_tensors()
        rows = input_rows(probe, calib, seed)
        content, resolver, edited = convert_elu_aware(name, content)
        record("act_" + name, content, rows, out_dir, resolver, edited)
    for name, (act, std, shape) in SWEEP.items():
        seed += 1
        keras.utils.set_random_seed(seed)
        model = sweep_model(act, shape)
        calib = np.random.default_rng(seed).normal(0.0, std, (64,) + shape).astype(np.float32)
        content = convert(model, calib)
        content, resolver, edited = convert_elu_aware(name, content)
        record("act_" + name, content, sweep_rows(shape, seed), out_dir, resolver, edited)
    survey = {}
    for k, act in enumerate(SURVEY):
        model = dense_model(4, [(6, act)], 100 + k)
        calib = train(model, "mse", 100 + k)
        content = convert(model, calib)
        survey[act] = [o["opcode"] for o in operator_options(content)["operators"]]
        print(f"survey {act}: {survey[act]}")
    with open(os.path.join(out_dir, "act_converter_ops.txt"), "w") as f:
        f.write(f"# tools/make_int8_act_fixtures.py, TensorFlow {tf.__version__}: the operators of\n"
                "# Dense(4 -> 6, activation=A) converted to full-integer int8\n")
        for act, ops in survey.items():
            f.write(f"{act}: {' '.join(ops)}\n")


if __name__ == "__main__":
    main()
