#!/usr/bin/env python3
"""Records int8 parity fixtures of graphs (residual connections, branches,
an unfolded BatchNormalization) from TensorFlow's converter and LiteRT.

Run by hand, NOT by `make test` (it needs TensorFlow and LiteRT), as
tools/make_int8_fixtures.py is, whose helpers (training, conversion,
recording with LiteRT's reference kernels) it uses:

    ../venv-tf/bin/python tools/make_int8_graph_fixtures.py [OUT_DIR] [--only NAME,...]

Each model uses only layers anne's int8 import takes (Dense, Conv1D,
pooling, activations) and the merges (Add, Subtract, Multiply,
Concatenate), plus BatchNormalizations the converter leaves as MUL and ADD
of constant vectors. Writes OUT_DIR/<name>.tflite and OUT_DIR/<name>.json
(the fields make_int8_fixtures.py documents). Default OUT_DIR:
tests/fixtures/int8.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_int8_fixtures as base  # noqa: E402
from make_int8_fixtures import tf  # noqa: E402


def dense_residual_model(seed):
    """A Dense residual block: Add of a block's input and its second Dense,
    then ReLU (the converter fuses it into the ADD)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    r = keras.layers.Dense(8, activation="relu")(h)
    r = keras.layers.Dense(8)(r)
    h = keras.layers.Add()([h, r])
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, h)


def conv1d_resnet_model(seed):
    """A ResNet-style Conv1D block: two Conv1D (same) on the main path, a
    1x1 Conv1D projection on the shortcut, Add, ReLU; then pooling."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((9, 3))
    a = keras.layers.Conv1D(4, 3, padding="same", activation="relu")(inp)
    a = keras.layers.Conv1D(4, 3, padding="same")(a)
    s = keras.layers.Conv1D(4, 1)(inp)
    h = keras.layers.Add()([a, s])
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def concat_branches_model(seed):
    """Two branches joined on the channels (CONCATENATION), then Flatten and
    Dense; and two Dense branches joined likewise."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 2))
    a = keras.layers.Conv1D(3, 3, padding="same", activation="relu")(inp)
    b = keras.layers.Conv1D(2, 1)(inp)
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.Flatten()(h)
    c = keras.layers.Dense(4, activation="relu")(h)
    d = keras.layers.Dense(3)(h)
    h = keras.layers.Concatenate()([c, d])
    h = keras.layers.Dense(3)(h)
    return keras.Model(inp, h)


def mul_sub_model(seed):
    """Multiply of two Dense branches (MUL), Subtract (SUB) of another."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6,))
    a = keras.layers.Dense(5, activation="relu")(inp)
    b = keras.layers.Dense(5)(inp)
    m = keras.layers.Multiply()([a, b])
    c = keras.layers.Dense(5)(a)
    h = keras.layers.Subtract()([m, c])
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def bn_unfolded_model(seed):
    """BatchNormalizations the converter cannot fold into a weighted layer:
    on the input (MUL, ADD of constant vectors on the quantized input) and
    after an Add; a Conv1D residual between them."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((7, 3))
    x = keras.layers.BatchNormalization()(inp)
    a = keras.layers.Conv1D(3, 3, padding="same", activation="relu")(x)
    h = keras.layers.Add()([x, a])
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(2)(h)
    return keras.Model(inp, h)


def conv2d_resnet_model(seed):
    """ResNet-8's shape, small: an identity block of two Conv2D (same) and
    a strided block with a 1x1 strided projection shortcut, each Add then
    ReLU; AveragePooling2D over the plane, Flatten, Dense."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(4, 3, padding="same")(y)
    x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    y = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(6, 3, padding="same")(y)
    s = keras.layers.Conv2D(6, 1, strides=2, padding="same")(x)
    x = keras.layers.Activation("relu")(keras.layers.Add()([s, y]))
    x = keras.layers.Flatten()(keras.layers.AveragePooling2D(3)(x))
    return keras.Model(inp, keras.layers.Dense(3)(x))


MODELS = {
    # name: (builder, loss)
    "graph_dense_residual": (lambda: dense_residual_model(21), "sparse_categorical_crossentropy"),
    "graph_conv1d_resnet": (lambda: conv1d_resnet_model(22), "mse"),
    "graph_concat": (lambda: concat_branches_model(23), "mse"),
    "graph_mul_sub": (lambda: mul_sub_model(24), "mse"),
    "graph_bn_unfolded": (lambda: bn_unfolded_model(25), "mse"),
    "graph_conv2d_resnet": (lambda: conv2d_resnet_model(26), "mse"),
}


def concat_rescaled(out_dir):
    """A CONCATENATION whose inputs have other quantizations than its output:
    TensorFlow's converter never writes one (it gives the inputs the
    output's), so this takes its quant_concat model (tests/fixtures/quant,
    tools/make_int8_quant_fixtures.py) and gives the first join's second
    input (the FULLY_CONNECTED's output that feeds it) 1.5 times the scale
    and a zero point 3 higher; LiteRT's int8 CONCATENATION refuses it at
    Prepare (its int8 kernel only copies; ConcatenationWithScaling is the
    uint8 kernel's). Writes concat_rescaled.tflite and .json (the tensor
    changed, the operators, LiteRT's error for each resolver) to out_dir
    (default tests/fixtures/int8_litert_refused: not a parity fixture)."""
    import json
    from tensorflow.lite.tools import flatbuffer_utils
    path = os.path.join(base.ROOT, "tests", "fixtures", "quant", "quant_concat.tflite")
    model = flatbuffer_utils.read_model(path)
    sub = model.subgraphs[0]
    cat = next(op for op in sub.operators if max(model.operatorCodes[op.opcodeIndex].builtinCode,
                                                  model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == 2)
    t = int(cat.inputs[1])
    q = sub.tensors[t].quantization
    q.scale = [float(base.np.float32(q.scale[0] * 1.5))]
    q.zeroPoint = [int(q.zeroPoint[0]) + 3]
    out = os.path.join(out_dir, "concat_rescaled.tflite")
    flatbuffer_utils.write_model(model, out)
    with open(out, "rb") as f:
        content = f.read()
    errors = {}
    for resolver in ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN"):
        try:
            interp = base.litert.Interpreter(model_content=content, experimental_op_resolver_type=getattr(
                base.litert.OpResolverType, resolver))
            interp.allocate_tensors()
            errors[resolver] = None
        except RuntimeError as e:
            errors[resolver] = str(e)
    names = {v: k for k, v in vars(base.schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    doc = {"generator": "tools/make_int8_graph_fixtures.py", "tensorflow": base.tf.__version__,
           "from": "tests/fixtures/quant/quant_concat.tflite", "tensor": t,
           "operators": [{"opcode": names[codes[op.opcodeIndex]]} for op in sub.operators],
           "quantization": [q.scale[0], q.zeroPoint[0]], "litert_allocate_tensors": errors}
    with open(os.path.join(out_dir, "concat_rescaled.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("concat_rescaled:", errors)


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        k = args.index("--only")
        only = set(args[k + 1].split(","))
        del args[k:k + 2]
        unknown = only - set(MODELS) - {"concat_rescaled"}
        if unknown:
            sys.exit(f"unknown models: {sorted(unknown)}")
    out_dir = args[0] if args else os.path.join(base.ROOT, "tests", "fixtures", "int8")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (build, loss)) in enumerate(MODELS.items()):
        if only is None or name in only:
            base.record(name, build, loss, out_dir, 20 + seed)
    if only is None or "concat_rescaled" in only:
        refused = os.path.join(base.ROOT, "tests", "fixtures", "int8_litert_refused") if not args else out_dir
        os.makedirs(refused, exist_ok=True)
        concat_rescaled(refused)


if __name__ == "__main__":
    main()
