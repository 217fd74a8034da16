"""Imports a full-integer int8 `.tflite` model as an int8 `.anne` file
(format version 3, dtype 1; docs/FORMAT.md, docs/converter.md).

    python3 tools/anne_convert.py model.tflite -o model.anne

No TensorFlow: the flatbuffer is read by tools/anne_tflite.py. This step
takes chains of Dense layers (Conv1D and 1-D pooling too; the 2-D layers:
tools/anne_tflite_conv2d.py), the operators TensorFlow's converter makes of
them: QUANTIZE (at the input of a model with a float32 input), then
FULLY_CONNECTED with a fused NONE, RELU, RELU6 or RELU_N1_TO_1, each
optionally followed by SOFTMAX, LOGISTIC, TANH, GELU, EXP or LEAKY_RELU
(the layer's activation: tools/anne_tflite_act.py), RESHAPEs
that keep the size (and the SHAPE / STRIDED_SLICE / PACK that only compute
a RESHAPE's shape), then DEQUANTIZE (at the output of a model with a float32
output). Each FULLY_CONNECTED becomes an int8 dense layer with what LiteRT's
reference kernel computes from the model: the float64 requantization scales
its Eval requantizes with (anne_format.real_multiplier: the float32 scales'
double product and quotient, stored as float64) and the fused activation's
clamp (its Prepare's CalculateActivationRangeQuantized, in float32). Every operator this step does not take is reported in one message,
each with its index, its name and what to do instead; a model that is not
full-integer (float32 activations: dynamic-range quantization, float16, a
float model) is refused with the converter settings that make one. A model
that is a graph (ADD, SUB, MUL, CONCATENATION, branches) is
tools/anne_tflite_graph.py's.
"""

import math
import os

import numpy as np

import anne_format
import anne_tflite
import anne_tflite_act
import anne_tflite_conv2d
from anne_file import size_of as _size
from anne_keras_layers import ConvertError

FUSED = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
# Operators that only compute a RESHAPE's shape (Keras's Flatten): dropped
# when their outputs feed nothing but a RESHAPE's shape input.
SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")

FULL_INTEGER = """converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset  # yields [x] for ~100 real inputs x of batch 1
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8    # or leave float32: predict quantizes
    converter.inference_output_type = tf.int8
    open("model.tflite", "wb").write(converter.convert())"""

_FLOAT = "convert the float Keras model (.keras) instead, which anne runs in float32"
# What to do instead, per operator this step does not take.
ADVICE = {
    "PRELU": "not supported in int8 yet (a slope per unit): use leaky_relu, relu or relu6, or " + _FLOAT,
    "CONV_2D": "a CONV_2D of height over 1 (Conv2D) is not supported in int8 yet: " + _FLOAT,
    "EXPAND_DIMS": "an EXPAND_DIMS that is not the height 1 of a Conv1D or pooling before its CONV_2D or "
                   "*_POOL_2D: " + _FLOAT,
    "MAX_POOL_2D": "a pooling of height over 1 (MaxPooling2D) is not supported in int8 yet: " + _FLOAT,
    "TILE": "a TILE (Keras's UpSampling1D: its steps repeated) is not supported in int8: " + _FLOAT,
    "AVERAGE_POOL_2D": "a pooling of height over 1 (AveragePooling2D) is not supported in int8 yet: " + _FLOAT,
    "MEAN": "a MEAN over other axes than the steps of a (steps, channels) tensor or the height and width "
            "of an image: " + _FLOAT,
    "REDUCE_MAX": "a REDUCE_MAX over other axes than the steps of a (steps, channels) tensor or the height "
                  "and width of an image: " + _FLOAT,
    "QUANTIZE": "a QUANTIZE inside the model (the converter kept the operator before it in float): use "
                "activations TFLite quantizes (relu, relu6) or " + _FLOAT,
    "SPACE_TO_BATCH_ND": "anne takes it only as TensorFlow's converter writes a dilated convolution (Conv1D, "
                         "Conv2D or DepthwiseConv2D with dilation_rate > 1): SPACE_TO_BATCH_ND, then CONV_2D (of a "
                         "Conv1D: EXPAND_DIMS, CONV_2D, RESHAPE) or DEPTHWISE_CONV_2D, then BATCH_TO_SPACE_ND, each "
                         "read only by the next: " + _FLOAT,
    "BATCH_TO_SPACE_ND": "anne takes it only as the end of a dilated convolution (see SPACE_TO_BATCH_ND): "
                         + _FLOAT,
    "DEQUANTIZE": "a DEQUANTIZE inside the model (the converter kept the operator after it in float, as it "
                  "does Keras's elu, which LiteRT's reference kernels cannot run): use activations TFLite "
                  "quantizes (relu, relu6, tanh, sigmoid, hard_swish) or " + _FLOAT,
}


# The operators this step maps (activations: anne_tflite_act.ACTIVATIONS).
POOL_OPS = {"MAX_POOL_2D": "max_pooling1d", "AVERAGE_POOL_2D": "average_pooling1d",
            "MEAN": "global_average_pooling1d", "REDUCE_MAX": "global_max_pooling1d"}
TAKEN = ("QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONV_2D") + tuple(POOL_OPS) \
    + anne_tflite_conv2d.OPS
PADDING_CODES = {"VALID": 0, "SAME": 1, "CAUSAL": 2}   # (CAUSAL: anne_tflite_conv2d.fold_causal's)


def anne_shape(shape):
    """A tensor's shape without its batch, a height of 1 dropped ([1, 1, w,
    c] -> (w, c): a Conv1D's tensors between EXPAND_DIMS and RESHAPE)."""
    shape = tuple(shape[1:])
    return shape[1:] if len(shape) == 3 and shape[0] == 1 else shape


def _f32(v):
    return float(np.float32(v))


def activation_range(fused, scale, zero_point):
    """LiteRT's CalculateActivationRangeQuantized for an int8 output:
    quantize(f) = zero_point + (int)round(f / scale) with f / scale in
    float32 and round half away from zero (TfLiteRound), clamped to
    -128..127."""
    def q(f):
        v = float(np.float32(f) / np.float32(scale))
        r = math.floor(abs(v))
        r += 1 if abs(v) - r >= 0.5 else 0     # exact: no second rounding
        return zero_point + int(math.copysign(r, v))
    lo, hi = -128, 127
    if fused == "RELU":
        return max(lo, q(0.0)), hi
    if fused == "RELU6":
        return max(lo, q(0.0)), min(hi, q(6.0))
    if fused == "RELU_N1_TO_1":
        return max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


class Imported:
    """What import_tflite() gives anne_convert: the int8 layers, the board
    layer each operator became, the operators left out; encode() writes
    format version 3 (anne_convert.Converted's interface)."""

    def __init__(self, input_shape, specs, sources, dropped, name, io):
        self.input_shape = input_shape
        self.n_inputs = _size(input_shape)
        self.specs = specs
        self.sources = sources
        self.dropped = dropped
        self.metadata = {"name": name} if name else {}
        self.metadata["tflite_io"] = io

    @property
    def n_outputs(self):
        return self.specs[-1].units

    def set_metadata(self, name=None, classes=None, features=None):
        import anne_convert
        anne_convert.Converted.set_metadata(self, name, classes, features)

    def encode(self, version=3):
        if version != 3:
            raise ConvertError("an int8 model is written as format version 3 (docs/FORMAT.md); "
                               "drop --format-version %d" % version)
        return anne_format.encode(self.input_shape, self.specs, metadata=self.metadata, version=3)


def import_tflite(path, data=None):
    """Reads a .tflite file (or its bytes, data) -> Imported; ConvertError
    with every problem found, one per line."""
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    try:
        m = anne_tflite.read_tflite(data)
    except ValueError as e:
        raise ConvertError("%s: %s" % (path, e))
    return import_model(m, path)


def import_model(m, path="model.tflite"):
    """anne_tflite.read_tflite()'s dict of a model -> Imported (path: the
    name in messages and the model's default name). A graph (merges,
    branches) is tools/anne_tflite_graph.py's."""
    import anne_tflite_graph
    if anne_tflite_graph.is_graph(m):
        return anne_tflite_graph.graph_model(m, path)
    return _Importer(path, m).run()


class _Importer:
    def __init__(self, path, m):
        self.path = path
        self.m = m
        self.t = m["tensors"]
        self.ops = m["operators"]
        self.problems = []
        self.prev_out = None     # the last layer's output (scale, zero point)
        self.dense_out = None    # the last FULLY_CONNECTED's output tensor

    def fail(self, k, text):
        op = self.ops[k]
        self.problems.append("operator %d %s: %s" % (k, op["name"], text))

    def tensor_text(self, i):
        t = self.t[i]
        name = t["name"] if len(t["name"]) <= 40 else t["name"][:37] + "..."
        return "tensor %d (%s, %s %s)" % (i, name, t["type"], list(t["shape"]))

    def begin(self):
        """The checks of the model as a whole (one input and output, full
        integer) -> (each tensor's consumers [(operator, input slot)], the
        operators that only compute a shape, the input tensor, the output
        tensor, the metadata's words on the input and output)."""
        m, t = self.m, self.t
        if len(m["inputs"]) != 1 or len(m["outputs"]) != 1:
            raise ConvertError("%s: the model has %d inputs and %d outputs; anne runs one input, one output"
                               % (self.path, len(m["inputs"]), len(m["outputs"])))
        self.check_full_integer()
        self.folded = anne_tflite_conv2d.fold_dilated(self)   # (a dilated convolution's operators as one)
        self.folded.update(anne_tflite_conv2d.fold_causal(self))   # (a causal Conv1D's PAD)
        self.folded.update(anne_tflite_act.fold_float_islands(self))   # (DEQUANTIZE, ELU, QUANTIZE)
        m, t = self.m, self.t
        consumers = {}
        for k, op in enumerate(self.ops):
            for j, i in enumerate(op["inputs"]):
                consumers.setdefault(i, []).append((k, j))
        graph_in, graph_out = m["inputs"][0], m["outputs"][0]
        io = ["input %s" % t[graph_in]["type"], "output %s" % t[graph_out]["type"]]
        if t[graph_in]["type"] == "float32":
            io[0] += " (predict quantizes it: QUANTIZE)"
        if t[graph_out]["type"] == "float32":
            io[1] += " (dequantized: DEQUANTIZE)"
        return consumers, self.shape_ops(consumers), graph_in, graph_out, io

    def refuse(self):
        """ConvertError with every problem reported, if any."""
        if self.problems:
            raise ConvertError("%s: %d problem%s, nothing written:\n  %s" % (
                self.path, len(self.problems), "" if len(self.problems) == 1 else "s",
                "\n  ".join(self.problems)))

    def run(self):
        consumers, shape_only, graph_in, graph_out, io = self.begin()
        m, t = self.m, self.t
        current = graph_in
        specs, sources, dropped = [], [], []
        shape = anne_shape(t[graph_in]["shape"])   # the current tensor's, in anne's terms
        for k, op in enumerate(self.ops):
            name = op["name"]
            label = "%s #%d" % (name, k)
            if k in shape_only or k in self.folded:
                dropped.append(label + self.folded.get(k, " (a RESHAPE's shape)"))
                continue
            ins, outs = op["inputs"], op["outputs"]
            if name not in TAKEN + tuple(anne_tflite_act.ACTIVATIONS):
                if name == "CUSTOM":
                    custom = m["operator_codes"][op["opcode_index"]]["custom_code"]
                    self.fail(k, "custom operator %r: not supported: %s" % (custom, _FLOAT))
                else:
                    self.fail(k, ADVICE.get(name, "not supported in int8 yet: " + _FLOAT))
                if ins and ins[0] == current and outs:
                    current = outs[0]
                continue
            if not ins or ins[0] != current:
                self.fail(k, "takes %s, not the output of the operator before it: anne runs chains"
                          % (self.tensor_text(ins[0]) if ins else "no input"))
                continue
            if outs:
                current = outs[0]   # the chain goes on, so that every operator is looked at
            if name == "QUANTIZE":
                if k == 0 and t[ins[0]]["type"] == "uint8":
                    self.fail(k, "a uint8 input: convert with inference_input_type = tf.int8 (or leave it float32)")
                    continue
                if k != 0 or t[ins[0]]["type"] != "float32" or t[outs[0]]["type"] != "int8":
                    self.fail(k, ADVICE["QUANTIZE"])
                    continue
                if not self.activation_q(k, outs[0]):
                    continue
                dropped.append(label + " (the input's quantization: predict does it)")
            elif name == "DEQUANTIZE":
                if outs[0] != graph_out or t[ins[0]]["type"] != "int8":
                    self.fail(k, ADVICE["DEQUANTIZE"])
                    continue
                dropped.append(label + " (the output's dequantization: predict does it)")
            elif name in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
                if _size(t[ins[0]]["shape"]) != _size(t[outs[0]]["shape"]):
                    self.fail(k, "changes the size from %s to %s" % (list(t[ins[0]]["shape"]),
                                                                    list(t[outs[0]]["shape"])))
                    continue
                if t[ins[0]]["type"] == "int8" and self.activation_q(k, ins[0]) != self.activation_q(k, outs[0]):
                    self.fail(k, "changes the quantization (%s -> %s)" % (self.tensor_text(ins[0]),
                                                                         self.tensor_text(outs[0])))
                    continue
                new_shape = anne_shape(t[outs[0]]["shape"])
                if name == "EXPAND_DIMS" and len(shape) == 2 and self.before_depthwise(consumers, outs[0]):
                    # a DepthwiseConv1D's (SeparableConv1D's) steps as an image of height 1
                    new_shape = (1,) + tuple(shape)
                    if not specs:
                        self.in_shape = tuple(shape)
                    specs.append(anne_format.Int8FlattenSpec(self.prev_out, new_shape))
                    sources.append(["%s (reshape: the steps as an image of height 1)" % label])
                elif name == "EXPAND_DIMS":
                    if not self.height_one(k, consumers, outs[0]):
                        continue
                    dropped.append(label + " (the height 1 of the operator after it)")
                elif new_shape == shape or (not specs and len(new_shape) <= 2):
                    dropped.append(label + " (keeps the values in order)")
                elif len(new_shape) > 2:
                    self.fail(k, "a reshape to %s: anne's int8 layers take (n,) or (steps, channels)"
                              % list(t[outs[0]]["shape"]))
                    continue
                else:
                    specs.append(anne_format.Int8FlattenSpec(self.prev_out, None if len(new_shape) == 1
                                                             else new_shape))
                    sources.append(["%s (%s)" % (label, "flatten" if len(new_shape) == 1 else "reshape")])
                shape = new_shape
            elif name in anne_tflite_act.ACTIVATIONS:
                if self.activation(k, op, specs):
                    sources[-1].append("%s (%s)" % (label, specs[-1].activation))
            elif name in ("PAD", "PADV2") and len(shape) == 2 and len(t[ins[0]]["shape"]) == 3:
                # ZeroPadding1D: the steps as an image of height 1, padded, and back
                layers = anne_tflite_conv2d.pad_steps(self, k, op, specs, shape)
                if layers is None:
                    continue
                if not specs:
                    self.in_shape = tuple(shape)
                for spec, shape, what in layers:
                    specs.append(spec)
                    sources.append([label + what])
            elif anne_tflite_conv2d.takes(self, op, shape):    # the 2-D layers
                spec = anne_tflite_conv2d.convert(self, k, op, specs, shape)
                shape = anne_tflite_conv2d.next_shape(self, op, spec, shape)
                if spec is None:
                    continue
                specs.append(spec)
                sources.append(["%s (%s)" % (label, op["options"].get("fused_activation", "NONE"))
                                if "fused_activation" in op["options"] else label])
            elif name in POOL_OPS:
                spec = self.pool1d(k, op, specs, shape)
                if spec is None:
                    continue
                specs.append(spec)
                sources.append(["%s (%s)" % (label, op["options"].get("fused_activation", "NONE"))
                                if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D") else label])
                shape = spec.entry(shape).out_shape
            elif name == "CONV_2D":
                spec = self.conv1d(k, op, specs, shape)
                if spec is None:
                    continue
                specs.append(spec)
                sources.append(["%s (%s)" % (label, op["options"].get("fused_activation", "NONE"))])
                shape = anne_shape(t[outs[0]]["shape"])
            else:
                if len(shape) > 1 and specs:    # a FULLY_CONNECTED flattens its input
                    specs.append(anne_format.Int8FlattenSpec(self.prev_out))
                    sources.append(["%s (flatten of its input)" % label])
                spec = self.dense(k, op, specs)
                if spec is None:
                    continue
                specs.append(spec)
                sources.append(["%s (%s)" % (label, op["options"].get("fused_activation", "NONE"))])
                shape = (spec.units,)
        if not self.problems and current != graph_out:
            self.problems.append("the chain ends at %s, not at the model's output %s"
                                 % (self.tensor_text(current), self.tensor_text(graph_out)))
        if not self.problems and not specs:
            self.problems.append("no FULLY_CONNECTED or CONV_2D operator: nothing to run")
        self.refuse()
        name = os.path.splitext(os.path.basename(self.path))[0]
        return Imported(self.in_shape, specs, sources, dropped, name, ", ".join(io))

    def check_full_integer(self):
        """A model whose operators compute in float32 (dynamic-range
        quantization, float16 weights, a float model) or in int16 is
        refused at once, with the settings that make a full-integer one."""
        t = self.t
        types = set(x["type"] for x in t)
        kinds, weights = set(), set()
        for op in self.ops:
            ins = op["inputs"]
            if op["name"] in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "BATCH_MATMUL") and len(ins) > 1:
                kinds.add(t[ins[0]]["type"])
                weights.add(t[ins[1]]["type"])
        if "int16" in kinds:
            raise ConvertError(
                "%s: int16 activations (16x8 quantization, OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_"
                "WEIGHTS_INT8): anne runs int8 activations. Convert with:\n    %s" % (self.path, FULL_INTEGER))
        if "float32" in kinds or "float16" in types:
            what = ("a float16 model (Optimize.DEFAULT with supported_types [tf.float16])" if "float16" in types
                    else "a dynamic-range model (float32 activations, int8 weights)" if "int8" in weights
                    else "a float model")
            raise ConvertError(
                "%s is %s: anne runs full-integer int8 models. Convert the Keras model with:\n    %s\n"
                "or convert the float model (.keras) for a float32 .anne file" % (self.path, what, FULL_INTEGER))

    def shape_ops(self, consumers):
        """Indices of SHAPE_OPS (and RESHAPE) operators whose outputs only
        compute a RESHAPE's shape (its input 1), directly or through each
        other (Keras's Flatten: RESHAPE, SHAPE, STRIDED_SLICE, PACK)."""
        shape = set()
        changed = True
        while changed:
            changed = False
            for k, op in enumerate(self.ops):
                if k in shape or op["name"] not in SHAPE_OPS + ("RESHAPE",):
                    continue
                uses = [u for o in op["outputs"] for u in consumers.get(o, [])]
                if uses and all((self.ops[c]["name"] == "RESHAPE" and j == 1) or c in shape for c, j in uses) \
                        and not any(o in self.m["outputs"] for o in op["outputs"]):
                    shape.add(k)
                    changed = True
        return shape

    def activation_q(self, k, i):
        """(scale, zero point) of an int8 activation tensor i, or None after
        reporting what is wrong with it."""
        t = self.t[i]
        if t["type"] != "int8":
            self.fail(k, "%s: anne's int8 layers take int8 activations (set inference_input_type and "
                         "inference_output_type to tf.int8 or leave them float32)" % self.tensor_text(i))
            return None
        if len(t["scales"]) != 1 or len(t["zero_points"]) != 1:
            self.fail(k, "%s has %d scales and %d zero points; an activation has one of each"
                      % (self.tensor_text(i), len(t["scales"]), len(t["zero_points"])))
            return None
        scale, zp = t["scales"][0], t["zero_points"][0]
        if not (math.isfinite(scale) and scale > 0):
            self.fail(k, "%s: scale %r (> 0 and finite)" % (self.tensor_text(i), scale))
            return None
        if not -128 <= zp <= 127:
            self.fail(k, "%s: zero point %d (-128..127)" % (self.tensor_text(i), zp))
            return None
        return _f32(scale), int(zp)

    def activation(self, k, op, specs):
        """Activation operator k (SOFTMAX, LOGISTIC, ...) into the int8
        dense layer before it (specs[-1]); False after reporting why not."""
        ins, outs = op["inputs"], op["outputs"]
        last = specs[-1] if specs else None
        if last is None or self.dense_out != ins[0] or getattr(last, "activation", None) != "linear":
            self.fail(k, "follows %s: anne's int8 layers take an activation right after a FULLY_CONNECTED"
                      % ("no FULLY_CONNECTED" if last is None else "another operator"))
            return False
        in_q, out_q = self.activation_q(k, ins[0]), self.activation_q(k, outs[0])
        if in_q is None or out_q is None:
            return False
        if _size(self.t[ins[0]]["shape"]) != _size(self.t[outs[0]]["shape"]):
            self.fail(k, "changes the size")
            return False
        try:
            last.activation, last.post = anne_tflite_act.post(op["name"], op["options"], in_q, out_q)
        except ValueError as e:
            self.fail(k, str(e))
            return False
        last.post = tuple(last.post)
        last.act_q = out_q
        self.prev_out = out_q
        return True

    def dense(self, k, op, specs):
        """FULLY_CONNECTED operator k -> anne_format.Int8DenseSpec, or None
        after reporting its problems."""
        t = self.t
        ins, outs = op["inputs"], op["outputs"]
        opts = op["options"]
        fused = opts.get("fused_activation", "NONE")
        n_problems = len(self.problems)
        if fused not in FUSED:
            self.fail(k, "fused activation %s: anne's int8 dense clamps only NONE, RELU, RELU6, RELU_N1_TO_1" % fused)
        if opts.get("weights_format", 0) != 0:
            self.fail(k, "shuffled weights (weights_format %d): not supported" % opts["weights_format"])
        if len(ins) < 2 or ins[1] < 0:
            self.fail(k, "no weights tensor")
            return None
        in_q = self.activation_q(k, ins[0])
        out_q = self.activation_q(k, outs[0])
        w = t[ins[1]]
        if w["type"] != "int8":
            self.fail(k, "%s: weights must be int8" % self.tensor_text(ins[1]))
            return None
        if len(w["shape"]) != 2:
            self.fail(k, "%s: weights of rank %d, (units, inputs) expected" % (self.tensor_text(ins[1]),
                                                                            len(w["shape"])))
            return None
        units, n_in = w["shape"]
        values = anne_tflite.tensor_values(self.m, ins[1])
        if values is None or len(values) != units * n_in:
            self.fail(k, "%s: %s weights, %d expected (constant weights)"
                      % (self.tensor_text(ins[1]), "no" if values is None else len(values), units * n_in))
            return None
        scales = w["scales"]
        bias = self.weight_quantization(k, ins, units, ("weight", "unit"))
        n_flat = _size(t[ins[0]]["shape"])
        if n_flat != n_in:
            self.fail(k, "input %s has %d values, the weights take %d: a Dense applied to each step of a "
                         "sequence is not supported in int8 yet: %s" % (self.tensor_text(ins[0]), n_flat, n_in,
                                                                        _FLOAT))
        prev, self.prev_out = self.prev_out, out_q
        self.dense_out = outs[0]
        if prev is not None and in_q is not None and in_q != prev:
            self.fail(k, "input scale and zero point %r differ from the layer before's output %r" % (in_q, prev))
        if len(self.problems) > n_problems or in_q is None or out_q is None:
            return None
        if not specs:
            self.in_shape = (n_in,)
        kernel = np.array(values, np.int64).reshape(units, n_in)
        return anne_format.Int8DenseSpec(kernel, bias, [_f32(s) for s in scales], in_q, out_q,
                                         activation_range(fused, out_q[0], out_q[1]))

    def before_depthwise(self, consumers, out):
        """Whether tensor out ([1, 1, w, c]: an EXPAND_DIMS's) is read by a
        DEPTHWISE_CONV_2D alone (a DepthwiseConv1D or SeparableConv1D)."""
        shape = list(self.t[out]["shape"])
        uses = consumers.get(out, [])
        return len(shape) == 4 and shape[1] == 1 and len(uses) == 1 and uses[0][1] == 0 \
            and self.ops[uses[0][0]]["name"] == "DEPTHWISE_CONV_2D"

    def height_one(self, k, consumers, out):
        """An EXPAND_DIMS (operator k) that adds a CONV_2D's height of 1:
        [1, w, c] -> [1, 1, w, c], read only by CONV_2D operators; False
        after reporting it."""
        shape = list(self.t[out]["shape"])
        uses = consumers.get(out, [])
        if len(shape) != 4 or shape[1] != 1 or not uses or any(
                self.ops[c]["name"] not in ("CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D") for c, _ in uses):
            self.fail(k, ADVICE["EXPAND_DIMS"])
            return False
        return True

    def conv1d(self, k, op, specs, shape):
        """CONV_2D operator k of height 1 on the (steps, channels) values
        `shape` -> anne_format.Int8Conv1DSpec, or None after reporting its
        problems."""
        t = self.t
        ins, outs = op["inputs"], op["outputs"]
        opts = op["options"]
        fused = opts.get("fused_activation", "NONE")
        n_problems = len(self.problems)
        x_shape = list(t[ins[0]]["shape"])
        if len(x_shape) != 4 or x_shape[1] != 1 or len(shape) != 2:
            self.fail(k, ADVICE["CONV_2D"])
            return None
        if fused not in FUSED:
            self.fail(k, "fused activation %s: anne's int8 conv1d clamps only NONE, RELU, RELU6, RELU_N1_TO_1"
                      % fused)
        if opts.get("stride_h", 1) != 1 or opts.get("dilation_h", 1) != 1:
            self.fail(k, "stride_h %d, dilation_h %d: a height of 1 takes 1 and 1"
                      % (opts.get("stride_h", 1), opts.get("dilation_h", 1)))
        if opts.get("padding") not in PADDING_CODES:
            self.fail(k, "padding %s: VALID or SAME" % opts.get("padding"))
        if len(ins) < 2 or ins[1] < 0:
            self.fail(k, "no filter tensor")
            return None
        in_q = self.activation_q(k, ins[0])
        out_q = self.activation_q(k, outs[0])
        w = t[ins[1]]
        if w["type"] != "int8" or len(w["shape"]) != 4 or w["shape"][1] != 1 or w["shape"][3] != shape[1]:
            self.fail(k, "%s: filters must be int8 [filters, 1, kernel_size, %d] (grouped or "
                         "depthwise convolutions are not supported)" % (self.tensor_text(ins[1]), shape[1]))
            return None
        filters, _, ks, cin = w["shape"]
        values = anne_tflite.tensor_values(self.m, ins[1])
        if values is None or len(values) != filters * ks * cin:
            self.fail(k, "%s: constant filters expected" % self.tensor_text(ins[1]))
            return None
        scales = w["scales"]
        bias = self.weight_quantization(k, ins, filters, ("filter", "filter"))
        kparams = (ks, opts.get("stride_w", 1), PADDING_CODES.get(opts.get("padding"), 0), opts.get("dilation_w", 1))
        if min(kparams[0], kparams[1], kparams[3]) < 1 or max(kparams) > 65535:
            self.fail(k, "kernel size %d, stride %d, dilation %d: 1..65535" % (ks, kparams[1], kparams[3]))
        if not self.chained(k, in_q, out_q, n_problems):
            return None
        steps = shape[0]
        window = (ks - 1) * kparams[3] + 1
        if kparams[2] == 0 and steps < window:
            self.fail(k, "a VALID window of %d steps on %d steps" % (window, steps))
            return None
        if not specs:
            self.in_shape = tuple(shape)
        kernel = np.array(values, np.int64).reshape(filters, ks, cin)
        spec = anne_format.Int8Conv1DSpec(kernel, bias, [_f32(v) for v in scales], in_q, out_q,
                                          activation_range(fused, out_q[0], out_q[1]), kparams)
        want = anne_shape(t[outs[0]]["shape"])
        got = spec.entry(tuple(shape)).out_shape
        if want != got:
            self.fail(k, "output %s, anne's Conv1D gives %s" % (list(t[outs[0]]["shape"]), list(got)))
            return None
        return spec

    def weight_quantization(self, k, ins, units, words, dim=0):
        """Operator k's weight scales and zero points (its input 1: 1 or
        `units` scales along dimension dim, > 0 and finite, zero points 0)
        and its bias (input 2: `units` constant int32 values, or none),
        each problem reported (words: what the weights and the units are
        called); returns the bias values (None without one)."""
        t, w, text = self.t, self.t[ins[1]], self.tensor_text(ins[1])
        scales, zps = w["scales"], w["zero_points"]
        if len(scales) not in (1, units) or (len(scales) > 1 and w["quantized_dimension"] != dim):
            self.fail(k, "%s: %d %s scales (quantized_dimension %d) for %d %ss: 1, or one per %s along dimension %d"
                      % (text, len(scales), words[0], w["quantized_dimension"], units, words[1], words[1], dim))
        if len(zps) != len(scales):
            self.fail(k, "%s: %d %s scales but %d zero points" % (text, len(scales), words[0], len(zps)))
        elif any(z != 0 for z in zps):
            self.fail(k, "%s: %s zero points %s: TFLite's int8 weights are symmetric (all 0)"
                      % (text, words[0], list(zps)[:8]))
        bad = [v for v in scales if not (math.isfinite(v) and v > 0)]
        if bad:
            self.fail(k, "%s: %s scale %r (> 0 and finite)" % (text, words[0], bad[0]))
        bias = None
        if len(ins) > 2 and ins[2] >= 0:
            b = t[ins[2]]
            bias = anne_tflite.tensor_values(self.m, ins[2]) if b["type"] == "int32" else None
            if b["type"] != "int32" or bias is None or len(bias) != units:
                self.fail(k, "%s: the bias must be %d constant int32 values" % (self.tensor_text(ins[2]), units))
        return bias

    def pool1d(self, k, op, specs, shape):
        """MAX_POOL_2D / AVERAGE_POOL_2D of height 1, or MEAN / REDUCE_MAX
        over the steps, operator k on the (steps, channels) values `shape`
        -> anne_format.Int8PoolSpec, or None after reporting its problems."""
        t, name = self.t, op["name"]
        ins, outs = op["inputs"], op["outputs"]
        opts = op["options"]
        n_problems = len(self.problems)
        x_shape = list(t[ins[0]]["shape"])
        pooling = name in ("MAX_POOL_2D", "AVERAGE_POOL_2D")
        if len(shape) != 2 or (pooling and (len(x_shape) != 4 or x_shape[1] != 1)):
            self.fail(k, ADVICE[name])
            return None
        in_q = self.activation_q(k, ins[0])
        out_q = self.activation_q(k, outs[0])
        fused = opts.get("fused_activation", "NONE")
        kparams = ()
        if pooling:
            if fused not in FUSED:
                self.fail(k, "fused activation %s: anne's int8 pooling clamps only NONE, RELU, RELU6, "
                             "RELU_N1_TO_1" % fused)
            if opts.get("filter_height", 1) != 1 or opts.get("stride_h", 1) != 1:
                self.fail(k, ADVICE[name])
            if opts.get("padding") not in PADDING_CODES:
                self.fail(k, "padding %s: VALID or SAME" % opts.get("padding"))
            kparams = (opts.get("filter_width", 0), opts.get("stride_w", 0), PADDING_CODES.get(opts.get("padding"), 0))
            if not (1 <= kparams[0] <= 65535 and 1 <= kparams[1] <= 65535):
                self.fail(k, "filter width %d, stride %d: 1..65535" % kparams[:2])
        else:
            axes = anne_tflite.tensor_values(self.m, ins[1]) if len(ins) > 1 and ins[1] >= 0 else None
            if axes is None or [a % 3 for a in axes] != [1] or _size(t[outs[0]]["shape"]) != shape[1]:
                self.fail(k, "%s (axes %s): %s" % (self.tensor_text(outs[0]), axes, ADVICE[name]))
        if in_q is not None and out_q is not None and name != "MEAN" and in_q != out_q:
            self.fail(k, "output scale and zero point %r differ from the input's %r: TFLite keeps them"
                      % (out_q, in_q))
        if not self.chained(k, in_q, out_q, n_problems):
            return None
        if pooling and kparams[2] == 0 and shape[0] < kparams[0]:
            self.fail(k, "a VALID window of %d steps on %d steps" % (kparams[0], shape[0]))
            return None
        if not specs:
            self.in_shape = tuple(shape)
        spec = anne_format.Int8PoolSpec(POOL_OPS[name], in_q, out_q, activation_range(fused, out_q[0], out_q[1]),
                                        kparams)
        if pooling and spec.entry(tuple(shape)).out_shape != anne_shape(t[outs[0]]["shape"]):
            self.fail(k, "output %s, anne's pooling gives %s" % (list(t[outs[0]]["shape"]),
                                                                list(spec.entry(tuple(shape)).out_shape)))
            return None
        return spec

    def chained(self, k, in_q, out_q, n_problems):
        """Operator k (not a FULLY_CONNECTED) as the next layer: its input
        quantization the layer before's output one, reported if not; False
        when it or anything since n_problems was reported."""
        prev, self.prev_out = self.prev_out, out_q
        self.dense_out = None
        if prev is not None and in_q is not None and in_q != prev:
            self.fail(k, "input scale and zero point %r differ from the layer before's output %r" % (in_q, prev))
        return len(self.problems) == n_problems and in_q is not None and out_q is not None
