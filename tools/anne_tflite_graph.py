"""Imports a full-integer int8 `.tflite` model that is a graph (residual
connections, branches: an operator whose input is not the output of the
operator before it, or a tensor read by several) as a version-3 int8 `.anne`
file whose layers name their inputs (docs/FORMAT.md), as the float graphs
are. tools/anne_tflite_import.py hands such a model here (graph_model()).

Besides the operators a chain takes (FULLY_CONNECTED, CONV_2D of height 1,
1-D pooling, MEAN, REDUCE_MAX, their activations, the RESHAPEs around
them), this step maps:
- ADD, SUB, MUL of two computed tensors of one shape: an int8 add,
  subtract or multiply layer (format kinds 17, 18, 19, dtype int8) with
  LiteRT's Prepare's multipliers and the fused activation as a clamp;
- ADD, SUB, MUL of a computed tensor and a constant one of one value or one
  per channel (an unfolded BatchNormalization's MUL and ADD): an int8
  affine layer holding the constant (kind 9, its kind parameters the
  operation and the operand order);
- CONCATENATION on the last axis, its inputs of the output's scale and zero
  point (TensorFlow's converter gives them so): an int8 concatenate layer.
  Others are refused, as LiteRT refuses them: its int8 CONCATENATION's
  Prepare requires each input's scale and zero point to be the output's
  (its int8 kernel copies; the requantizing ConcatenationWithScaling is its
  uint8 kernel's; LiteRT 2.3's refusal is recorded in
  tests/fixtures/int8_litert_refused/concat_rescaled.json).
Every problem is reported in one message, as for chains.
"""

import numpy as np

import anne_file
import anne_format
import anne_ops
import anne_tflite
import anne_tflite_act
import anne_tflite_conv2d
from anne_file import size_of as _size
from anne_keras_layers import ConvertError
from anne_tflite_import import (ADVICE, FUSED, POOL_OPS, TAKEN, Imported, _FLOAT, _Importer, activation_range,
                                anne_shape)

NET = anne_file.NETWORK_INPUT
ELEMENTWISE_OPS = {"ADD": anne_ops.LAYER_ADD, "SUB": anne_ops.LAYER_SUBTRACT, "MUL": anne_ops.LAYER_MULTIPLY}
GRAPH_OPS = tuple(ELEMENTWISE_OPS) + ("CONCATENATION",)
_BAD = object()     # a tensor computed by an operator that was reported


def is_graph(m):
    """True for a model the chain importer cannot take as a chain: it has
    ADD, SUB, MUL or CONCATENATION, or an operator's data input is not the
    output of the operator before it (a branch or a residual connection)."""
    ops = m["operators"]
    if any(op["name"] in GRAPH_OPS for op in ops):
        return True
    every = {}
    for k, op in enumerate(ops):
        for j, i in enumerate(op["inputs"]):
            every.setdefault(i, []).append((k, j))
    shape_only = _Importer("", m).shape_ops(every)    # (Flatten's SHAPE, STRIDED_SLICE, PACK, RESHAPE)
    consumers = {}
    for k, op in enumerate(ops):
        for i in op["inputs"][:1] if k not in shape_only else ():
            consumers.setdefault(i, []).append(k)
    return any(len(ks) > 1 and m["tensors"][i]["type"] == "int8" for i, ks in consumers.items())


def graph_model(m, path):
    """anne_tflite.read_tflite()'s dict of a graph model -> Imported."""
    return _GraphImporter(path, m).run()


class _GraphImporter(_Importer):
    def __init__(self, path, m):
        _Importer.__init__(self, path, m)
        self.node = {}       # tensor -> the layer computing it (NET: the network's input; _BAD: reported)
        self.shapes = {}     # layer -> its output shape (anne's terms)
        self.outq = {}       # layer -> its output's (scale, zero point)

    def add(self, specs, sources, spec, inputs, shape, q, label):
        """Appends a layer taking inputs (layer indices or NET)."""
        spec.inputs = tuple(inputs)
        specs.append(spec)
        sources.append([label])
        n = len(specs) - 1
        self.shapes[n] = tuple(shape)
        self.outq[n] = q
        return n

    def source(self, k, i):
        """The layer computing tensor i for operator k; None (reported, or
        an operator already reported) if none."""
        n = self.node.get(i)
        if n is _BAD:       # (what it feeds is left unchecked)
            return None
        if n is None:
            self.fail(k, "takes %s, which no operator anne runs computes" % self.tensor_text(i))
            return None
        return n

    def run(self):
        self.consumers, shape_only, graph_in, graph_out, io = self.begin()
        t = self.t
        self.silu = self.silu_ops()
        self.in_shape = anne_shape(t[graph_in]["shape"])
        self.node[graph_in] = NET
        self.shapes[NET] = self.in_shape
        self.outq[NET] = None if t[graph_in]["type"] != "int8" else self.activation_q(-1, graph_in)
        specs, sources, dropped = [], [], []
        for k, op in enumerate(self.ops):
            name = op["name"]
            label = "%s #%d" % (name, k)
            if k in shape_only or k in self.folded:
                dropped.append(label + self.folded.get(k, " (a RESHAPE's shape)"))
                continue
            n_problems = len(self.problems)
            try:
                self.operator(k, op, label, specs, sources, dropped)
            finally:
                if len(self.problems) > n_problems or any(o not in self.node for o in op["outputs"]):
                    for o in op["outputs"]:
                        self.node.setdefault(o, _BAD)
        out = self.node.get(graph_out)
        if not self.problems and out is not _BAD and (out is None or out != len(specs) - 1):
            self.problems.append("the model's output %s is not computed by the last layer"
                                 % self.tensor_text(graph_out))
        if not self.problems and not specs:
            self.problems.append("no operator anne computes: nothing to run")
        self.refuse()
        used = set(j for s in specs for j in s.inputs)
        unused = [n for n in range(len(specs) - 1) if n not in used]
        if unused:
            raise ConvertError("%s: layer%s %s computed but never read (a model with several outputs?)"
                               % (self.path, "s" if len(unused) > 1 else "", ", ".join(map(str, unused))))
        import os
        name = os.path.splitext(os.path.basename(self.path))[0]
        return Imported(self.in_shape, specs, sources, dropped, name, ", ".join(io))

    def silu_ops(self):
        """{LOGISTIC operator: the MUL operator} of each x * sigmoid(x)
        (Keras's silu / swish), which is reported once, at its MUL."""
        made = {o: k for k, op in enumerate(self.ops) for o in op["outputs"]}
        out = {}
        for k, op in enumerate(self.ops):
            if op["name"] == "MUL" and len(op["inputs"]) == 2:
                for a, b in (op["inputs"], op["inputs"][::-1]):
                    s = made.get(b)
                    if s is not None and self.ops[s]["name"] == "LOGISTIC" and self.ops[s]["inputs"][:1] == [a]:
                        out[s] = k
        return out

    def fail(self, k, text):
        if k < 0:
            self.problems.append("the model's input: %s" % text)
        else:
            _Importer.fail(self, k, text)

    def operator(self, k, op, label, specs, sources, dropped):
        t = self.t
        name = op["name"]
        ins, outs = op["inputs"], op["outputs"]
        if name not in TAKEN + GRAPH_OPS + tuple(anne_tflite_act.ACTIVATIONS):
            if name == "CUSTOM":
                custom = self.m["operator_codes"][op["opcode_index"]]["custom_code"]
                self.fail(k, "custom operator %r: not supported: %s" % (custom, _FLOAT))
            else:
                self.fail(k, ADVICE.get(name, "not supported in int8 yet: " + _FLOAT))
            return
        if k in self.silu.values():
            self.fail(k, "not supported in int8 yet: x * sigmoid(x) (Keras's silu or swish): use relu or relu6, "
                         "or " + _FLOAT)
            return
        if k in self.silu:
            return     # (reported at its MUL)
        if name in GRAPH_OPS:
            self.merge(k, op, label, specs, sources)
            return
        if not ins:
            self.fail(k, "no input")
            return
        src = self.source(k, ins[0])
        if src is None:
            return
        if name == "QUANTIZE":
            if src != NET or t[ins[0]]["type"] != "float32" or t[outs[0]]["type"] != "int8":
                self.fail(k, ADVICE["QUANTIZE"] if t[ins[0]]["type"] != "uint8" else
                          "a uint8 input: convert with inference_input_type = tf.int8 (or leave it float32)")
                return
            q = self.activation_q(k, outs[0])
            if q is None:
                return
            self.outq[NET] = q
            self.node[outs[0]] = NET
            dropped.append(label + " (the input's quantization: predict does it)")
            return
        if name == "DEQUANTIZE":
            if outs[0] != self.m["outputs"][0] or t[ins[0]]["type"] != "int8":
                self.fail(k, ADVICE["DEQUANTIZE"])
                return
            self.node[outs[0]] = src
            dropped.append(label + " (the output's dequantization: predict does it)")
            return
        if name in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
            self.reshape(k, op, label, src, specs, sources, dropped)
            return
        if name in anne_tflite_act.ACTIVATIONS:
            self.fuse_activation(k, op, label, src, specs, sources)
            return
        shape, q = self.shapes[src], self.outq[src]
        self.prev_out = q            # the chain importer's check: the input's quantization is src's output's
        if name in ("PAD", "PADV2") and len(shape) == 2 and len(t[ins[0]]["shape"]) == 3:    # ZeroPadding1D
            for spec, out_shape, what in anne_tflite_conv2d.pad_steps(self, k, op, specs or [None], shape) or ():
                src = self.add(specs, sources, spec, (src,), out_shape, spec.out_q if what == "" else spec.q,
                               label + what)
                self.node[outs[0]] = src
            return
        if anne_tflite_conv2d.takes(self, op, shape):    # the 2-D layers, as in a chain
            spec = anne_tflite_conv2d.convert(self, k, op, specs or [None], shape)
            if spec is not None:
                fused = op["options"].get("fused_activation")
                self.node[outs[0]] = self.add(specs, sources, spec, (src,), spec.entry(tuple(shape)).out_shape,
                                              spec.out_q, "%s (%s)" % (label, fused) if fused else label)
            return
        if name in POOL_OPS:
            spec = self.pool1d(k, op, specs or [None], shape)
            if spec is not None:
                self.node[outs[0]] = self.add(specs, sources, spec, (src,), spec.entry(tuple(shape)).out_shape,
                                              spec.out_q, "%s (%s)" % (label, op["options"].get(
                                                  "fused_activation", "NONE")) if "POOL" in name else label)
            return
        if name == "CONV_2D":
            spec = self.conv1d(k, op, specs or [None], shape)
            if spec is not None:
                self.node[outs[0]] = self.add(specs, sources, spec, (src,), anne_shape(t[outs[0]]["shape"]),
                                              spec.out_q, "%s (%s)" % (label, op["options"].get(
                                                  "fused_activation", "NONE")))
            return
        # FULLY_CONNECTED: a flatten of a (steps, channels) input first
        if len(shape) > 1:
            src = self.add(specs, sources, anne_format.Int8FlattenSpec(q), (src,), (_size(shape),), q,
                           "%s (flatten of its input)" % label)
        spec = self.dense(k, op, specs or [None])
        if spec is not None:
            self.node[outs[0]] = self.add(specs, sources, spec, (src,), (spec.units,), spec.out_q,
                                          "%s (%s)" % (label, op["options"].get("fused_activation", "NONE")))

    def reshape(self, k, op, label, src, specs, sources, dropped):
        t = self.t
        ins, outs = op["inputs"], op["outputs"]
        name = op["name"]
        if _size(t[ins[0]]["shape"]) != _size(t[outs[0]]["shape"]):
            self.fail(k, "changes the size from %s to %s" % (list(t[ins[0]]["shape"]), list(t[outs[0]]["shape"])))
            return
        if self.activation_q(k, ins[0]) != self.activation_q(k, outs[0]):
            self.fail(k, "changes the quantization (%s -> %s)" % (self.tensor_text(ins[0]), self.tensor_text(outs[0])))
            return
        new_shape = anne_shape(t[outs[0]]["shape"])
        if name == "EXPAND_DIMS" and len(self.shapes[src]) == 2 and self.before_depthwise(self.consumers, outs[0]):
            image = (1,) + tuple(self.shapes[src])    # a DepthwiseConv1D's steps as an image of height 1
            self.node[outs[0]] = self.add(specs, sources, anne_format.Int8FlattenSpec(self.outq[src], image), (src,),
                                          image, self.outq[src],
                                          label + " (reshape: the steps as an image of height 1)")
            return
        if name == "EXPAND_DIMS" and not self.height_one(k, self.consumers, outs[0]):
            return
        if new_shape == self.shapes[src] or name == "EXPAND_DIMS":
            self.node[outs[0]] = src
            dropped.append(label + (" (the height 1 of the operator after it)" if name == "EXPAND_DIMS"
                                    else " (keeps the values in order)"))
            return
        if len(new_shape) > 2:
            self.fail(k, "a reshape to %s: anne's int8 layers take (n,) or (steps, channels)"
                      % list(t[outs[0]]["shape"]))
            return
        q = self.outq[src]
        spec = anne_format.Int8FlattenSpec(q, None if len(new_shape) == 1 else new_shape)
        self.node[outs[0]] = self.add(specs, sources, spec, (src,), new_shape, q, "%s (%s)" % (
            label, "flatten" if len(new_shape) == 1 else "reshape"))

    def fuse_activation(self, k, op, label, src, specs, sources):
        """An activation operator on the output of an int8 dense layer read
        by nothing else: the layer's activation."""
        ins, outs = op["inputs"], op["outputs"]
        last = specs[src] if src != NET else None
        alone = len([u for u in self.consumers.get(ins[0], [])]) == 1
        if not isinstance(last, anne_format.Int8DenseSpec) or isinstance(last, anne_format.Int8Conv1DSpec) \
                or not alone:
            self.fail(k, "follows %s: anne's int8 layers take an activation right after a FULLY_CONNECTED "
                         "whose output nothing else reads" % ("another operator" if alone else
                                                             "a tensor other operators also read"))
            return
        self.dense_out = ins[0]
        self.prev_out = self.outq[src]
        if self.activation(k, op, [last]):
            sources[src].append("%s (%s)" % (label, last.activation))
            self.outq[src] = last.act_q
            self.node[outs[0]] = src

    def merge(self, k, op, label, specs, sources):
        """ADD, SUB, MUL (two inputs, or one and a constant) and
        CONCATENATION -> an int8 merge or affine layer."""
        t, name = self.t, op["name"]
        ins, outs = op["inputs"], op["outputs"]
        opts = op["options"]
        fused = opts.get("fused_activation", "NONE")
        out_q = self.activation_q(k, outs[0])
        if fused not in FUSED:
            self.fail(k, "fused activation %s: anne's int8 merges clamp only NONE, RELU, RELU6, RELU_N1_TO_1" % fused)
            return
        computed = [i for i in ins if i in self.node]
        consts = [i for i in ins if i not in self.node]
        srcs = [self.source(k, i) for i in computed]
        if None in srcs:
            return
        qs = [self.activation_q(k, i) for i in ins]
        if out_q is None or None in qs:
            return
        for i, s in zip(computed, srcs):
            if anne_shape(t[i]["shape"]) != self.shapes[s]:
                self.fail(k, "%s: its layer gives %s" % (self.tensor_text(i), list(self.shapes[s])))
                return
            if self.outq[s] is not None and qs[ins.index(i)] != self.outq[s]:
                self.fail(k, "%s: scale and zero point %r, its layer gives %r" % (self.tensor_text(i), qs[ins.index(i)],
                                                                                   self.outq[s]))
                return
        act_range = activation_range(fused, out_q[0], out_q[1])
        if name == "CONCATENATION":
            self.concatenate(k, op, label, specs, sources, srcs, qs, out_q, fused)
            return
        if len(ins) != 2:
            self.fail(k, "%d inputs (2)" % len(ins))
            return
        kind = ELEMENTWISE_OPS[name]
        if len(consts) == 0:
            shapes = [self.shapes[s] for s in srcs]
            if shapes[0] != shapes[1] or anne_shape(t[outs[0]]["shape"]) != shapes[0]:
                self.fail(k, "inputs of shapes %s and %s: anne's int8 %s takes two of one shape (no broadcasting "
                             "between computed tensors)" % (list(t[ins[0]]["shape"]), list(t[ins[1]]["shape"]),
                                                            name))
                return
            try:
                spec = anne_format.Int8MergeSpec(kind, srcs, qs, out_q, act_range)
            except ValueError as e:
                self.fail(k, str(e))
                return
            self.node[outs[0]] = self.add(specs, sources, spec, srcs, shapes[0], out_q, "%s (%s)" % (label, fused))
            return
        if len(consts) == 2:
            self.fail(k, "both inputs are constant: nothing to compute")
            return
        src, c = srcs[0], consts[0]
        values = anne_tflite.tensor_values(self.m, c)
        shape = self.shapes[src]
        channels = shape[-1]
        c_shape = [d for d in t[c]["shape"]]
        while c_shape and c_shape[0] == 1 and len(c_shape) > 1:
            c_shape = c_shape[1:]
        if values is None or len(values) not in (1, channels) or (len(values) == channels and c_shape != [channels]):
            self.fail(k, "%s: a constant operand must be one value or one per channel (%d), a "
                         "BatchNormalization's" % (self.tensor_text(c), channels))
            return
        if anne_shape(t[outs[0]]["shape"]) != tuple(shape):
            self.fail(k, "output %s, its input gives %s" % (list(t[outs[0]]["shape"]), list(shape)))
            return
        values = list(values) * (channels if len(values) == 1 else 1)
        c_q = qs[ins.index(c)]
        try:
            spec = anne_format.Int8AffineSpec(kind, values, c_q, qs[ins.index(computed[0])], out_q, act_range,
                                              const_first=ins[0] == c)
        except ValueError as e:
            self.fail(k, str(e))
            return
        self.node[outs[0]] = self.add(specs, sources, spec, (src,), shape, out_q,
                                      "%s (%s, constant %s)" % (label, fused, self.tensor_text(c)))

    def concatenate(self, k, op, label, specs, sources, srcs, qs, out_q, fused):
        t = self.t
        ins, outs = op["inputs"], op["outputs"]
        if len(srcs) != len(ins):
            self.fail(k, "a constant input: anne's int8 concatenate joins computed tensors")
            return
        rank = len(t[outs[0]]["shape"])
        axis = op["options"].get("axis", -1)
        if axis % rank != rank - 1:
            self.fail(k, "axis %d of %s: anne's int8 concatenate joins the last axis (the channels)"
                      % (axis, self.tensor_text(outs[0])))
            return
        if fused != "NONE":
            self.fail(k, "fused activation %s: anne's int8 concatenate has none" % fused)
            return
        bad = [i for i, q in zip(ins, qs) if q != out_q]
        if bad:
            self.fail(k, "%s: scale and zero point %r differ from the output's %r: LiteRT's int8 "
                         "CONCATENATION takes inputs of the output's quantization (anne does not requantize; "
                         "LiteRT refuses it at Prepare)"
                      % (self.tensor_text(bad[0]), qs[ins.index(bad[0])], out_q))
            return
        shapes = [self.shapes[s] for s in srcs]
        try:
            out_shape = anne_file.merge_shape(anne_ops.LAYER_CONCATENATE, shapes)
        except ValueError as e:
            self.fail(k, str(e))
            return
        if out_shape != anne_shape(t[outs[0]]["shape"]):
            self.fail(k, "output %s, anne's concatenate gives %s" % (list(t[outs[0]]["shape"]), list(out_shape)))
            return
        if len(srcs) > anne_file.MAX_INPUTS:
            self.fail(k, "%d inputs (at most %d)" % (len(srcs), anne_file.MAX_INPUTS))
            return
        spec = anne_format.Int8MergeSpec(anne_ops.LAYER_CONCATENATE, srcs, qs, out_q)
        self.node[outs[0]] = self.add(specs, sources, spec, srcs, out_shape, out_q, label)
