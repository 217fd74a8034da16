"""The 2-D part of the `.tflite` import (tools/anne_tflite_import.py calls
it): a full-integer int8 model's operators on NHWC images ([1, height,
width, channels]) as int8 layers of format version 3 (docs/int8.md):

- CONV_2D (strides, SAME/VALID padding, dilation, a fused NONE, RELU,
  RELU6 or RELU_N1_TO_1 as the clamp) -> conv2d, its filters in TFLite's
  OHWI layout;
- DEPTHWISE_CONV_2D (depth_multiplier: output channels / input channels)
  -> depthwise_conv2d, its filters TFLite's [1, kh, kw, channels];
- MAX_POOL_2D / AVERAGE_POOL_2D -> max_pooling2d / average_pooling2d;
- MEAN and REDUCE_MAX over the axes (1, 2) -> global_average_pooling2d
  (requantized as LiteRT's MEAN) / global_max_pooling2d;
- PAD (and PADV2 with the zero point as its value) of the height and
  width -> zero_padding2d (int8 pads with the zero point).
- SPACE_TO_BATCH_ND, an undilated CONV_2D or DEPTHWISE_CONV_2D (of a
  Conv1D: EXPAND_DIMS, CONV_2D, RESHAPE), BATCH_TO_SPACE_ND: TensorFlow's
  dilated convolution, made one (fold_dilated, before either importer
  looks at the operators; the bias ADD after it is the graph importer's
  affine layer).
- PAD of the steps ([1, steps, channels]) by (kernel_size - 1) *
  dilation before and none after, read by a Conv1D's EXPAND_DIMS, VALID
  CONV_2D (dilated or not), RESHAPE: Keras's padding="causal", made the
  Conv1D's causal padding (fold_causal, after fold_dilated); any other
  PAD of the steps (ZeroPadding1D) -> zero_padding2d on the steps as an
  image of height 1, between two int8 reshapes (anne_tflite_import);
- a DEPTHWISE_CONV_2D of height 1 (DepthwiseConv1D, SeparableConv1D's
  depthwise part) likewise, after a reshape of the steps.

Each convolution's per-channel Q31 multipliers and shifts are those
LiteRT's Prepare computes (PopulateConvolutionQuantizationParams:
QuantizeMultiplier of (double)input_scale * (double)filter_scale /
(double)output_scale, anne_format.Int8Conv1DSpec's). A CONV_2D of height
1 between EXPAND_DIMS and RESHAPE stays a Conv1D (anne_tflite_import)."""

import numpy as np

import anne_format
import anne_tflite
from anne_file import size_of as _size

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "REDUCE_MAX", "PAD", "PADV2")
POOLS = {"MAX_POOL_2D": "max_pooling2d", "AVERAGE_POOL_2D": "average_pooling2d",
         "MEAN": "global_average_pooling2d", "REDUCE_MAX": "global_max_pooling2d"}
ALWAYS_2D = ("DEPTHWISE_CONV_2D", "PAD", "PADV2")


def takes(imp, op, shape):
    """Whether operator op is this module's: one of OPS on a rank-4 tensor
    that is not the height-1 input of a Conv1D or 1-D pooling (shape: the
    current (steps, channels) or (height, width, channels))."""
    name = op["name"]
    if name not in OPS or not op["inputs"]:
        return False
    x = list(imp.t[op["inputs"][0]]["shape"])
    if len(x) != 4:
        return name in ALWAYS_2D
    return name in ALWAYS_2D or len(shape) == 3


def image_shape(imp, i):
    """Tensor i's shape without the batch, (height, width, channels)."""
    return tuple(imp.t[i]["shape"][1:])


def convert(imp, k, op, specs, shape):
    """Operator k (takes() said it is this module's) on the image `shape`
    -> its int8 spec, or None after reporting its problems (imp: the
    anne_tflite_import importer)."""
    name = op["name"]
    steps = name in ("PAD", "PADV2") and len(imp.t[op["inputs"][0]]["shape"]) == 3   # ZeroPadding1D's
    if not steps and (len(shape) != 3 or len(imp.t[op["inputs"][0]]["shape"]) != 4):
        imp.fail(k, "input %s: a 2-D layer takes [1, height, width, channels]"
                 % imp.tensor_text(op["inputs"][0]))
        return None
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        spec = _conv(imp, k, op, specs, shape)
    elif name in ("PAD", "PADV2"):
        spec = _pad(imp, k, op, specs, shape)
    else:
        spec = _pool(imp, k, op, specs, shape)
    if spec is None:
        return None
    got = spec.entry(tuple(shape)).out_shape
    out = op["outputs"][0]
    want = ((1,) if steps else ()) + image_shape(imp, out)
    if got != want and not (name in ("MEAN", "REDUCE_MAX") and _size(want) == _size(got)):
        imp.fail(k, "output %s, anne's %s gives %s" % (list(imp.t[out]["shape"]), POOLS.get(name, name.lower()),
                                                       list(got)))
        return None
    if not specs and not steps:
        imp.in_shape = tuple(shape)
    return spec


def pad_steps(imp, k, op, specs, shape):
    """A PAD of the steps (ZeroPadding1D) operator k on the (steps,
    channels) `shape` -> its three int8 layers [(spec, out_shape, what)]:
    a reshape to the steps as an image of height 1, zero_padding2d, a
    reshape back; None after reporting its problems."""
    image = (1,) + tuple(shape)
    spec = convert(imp, k, op, specs, image)
    if spec is None:
        return None
    padded = spec.entry(image).out_shape
    return [(anne_format.Int8FlattenSpec(spec.q, image), image, " (reshape: the steps as an image of height 1)"),
            (spec, padded, ""), (anne_format.Int8FlattenSpec(spec.out_q, padded[1:]), padded[1:],
                                 " (reshape: back to steps)")]


def next_shape(imp, op, spec, shape):
    """The shape after operator op: its spec's output on `shape`, or (spec
    None: it was refused) its output tensor's, so that the operators after
    it are checked on what they take; then the layer before's output
    quantization is that tensor's, when it has one."""
    if spec is not None:
        return spec.entry(tuple(shape)).out_shape
    out = imp.t[op["outputs"][0]]
    if len(out["scales"]) == 1 and len(out["zero_points"]) == 1:
        imp.prev_out = (float(np.float32(out["scales"][0])), int(out["zero_points"][0]))
    s = image_shape(imp, op["outputs"][0])
    return s if len(s) == 3 else (_size(s),)


def _fused(imp, k, op, what):
    fused = op["options"].get("fused_activation", "NONE")
    if fused not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        imp.fail(k, "fused activation %s: anne's int8 %s clamps only NONE, RELU, RELU6, RELU_N1_TO_1"
                 % (fused, what))
    return fused


def _window(imp, k, opts, sizes):
    """(strides_h, strides_w, padding code) from opts, each checked;
    sizes: the window's (height, width) for the message."""
    import anne_tflite_import
    padding = anne_tflite_import.PADDING_CODES.get(opts.get("padding"))
    if padding is None:
        imp.fail(k, "padding %s: VALID or SAME" % opts.get("padding"))
        padding = 0
    strides = (opts.get("stride_h", 1), opts.get("stride_w", 1))
    if min(sizes + strides) < 1 or max(sizes + strides) > 65535:
        imp.fail(k, "window %dx%d, strides %dx%d: 1..65535" % (sizes + strides))
    return strides + (padding,)


def _conv(imp, k, op, specs, shape):
    """CONV_2D or DEPTHWISE_CONV_2D operator k -> Int8Conv2DSpec or
    Int8DepthwiseSpec, or None after reporting its problems."""
    import anne_tflite_import
    t, name = imp.t, op["name"]
    ins, outs = op["inputs"], op["outputs"]
    opts = op["options"]
    depthwise = name == "DEPTHWISE_CONV_2D"
    n_problems = len(imp.problems)
    fused = _fused(imp, k, op, "depthwise_conv2d" if depthwise else "conv2d")
    if len(ins) < 2 or ins[1] < 0:
        imp.fail(k, "no filter tensor")
        return None
    in_q = imp.activation_q(k, ins[0])
    out_q = imp.activation_q(k, outs[0])
    w = t[ins[1]]
    cin = shape[2]
    ws = list(w["shape"])
    if depthwise:
        ok = w["type"] == "int8" and len(ws) == 4 and ws[0] == 1 and ws[3] % cin == 0
        layout = "[1, kernel_h, kernel_w, %d x depth_multiplier]" % cin
    else:
        ok = w["type"] == "int8" and len(ws) == 4 and ws[3] == cin
        layout = "[filters, kernel_h, kernel_w, %d] (grouped convolutions are not supported)" % cin
    if not ok:
        imp.fail(k, "%s: filters must be int8 %s" % (imp.tensor_text(ins[1]), layout))
        return None
    units = ws[3] if depthwise else ws[0]
    kh, kw = ws[1], ws[2]
    values = anne_tflite.tensor_values(imp.m, ins[1])
    if values is None or len(values) != _size(ws):
        imp.fail(k, "%s: constant filters expected" % imp.tensor_text(ins[1]))
        return None
    scales = w["scales"]
    bias = imp.weight_quantization(k, ins, units, ("filter", "channel" if depthwise else "filter"),
                                   dim=3 if depthwise else 0)
    strides_h, strides_w, padding = _window(imp, k, opts, (kh, kw))
    dil = (opts.get("dilation_h", 1), opts.get("dilation_w", 1))
    if min(dil) < 1 or max(dil) > 65535:
        imp.fail(k, "dilation %dx%d: 1..65535" % dil)
    if depthwise and opts.get("depth_multiplier", 0) not in (0, units // cin):
        imp.fail(k, "depth_multiplier %d, but %d channels in and %d out"
                 % (opts["depth_multiplier"], cin, units))
    if not imp.chained(k, in_q, out_q, n_problems):
        return None
    for size, n, d, axis in ((shape[0], kh, dil[0], "rows"), (shape[1], kw, dil[1], "columns")):
        if padding == 0 and size < (n - 1) * d + 1:
            imp.fail(k, "a VALID window of %d %s on %d" % ((n - 1) * d + 1, axis, size))
            return None
    act = anne_tflite_import.activation_range(fused, out_q[0], out_q[1])
    scales = [anne_tflite_import._f32(v) for v in scales]
    if depthwise:
        kernel = np.array(values, np.int64).reshape(kh, kw, units)
        return anne_format.Int8DepthwiseSpec(kernel, bias, scales, in_q, out_q, act,
                                             (kh, kw, strides_h, strides_w, padding, units // cin) + dil)
    kernel = np.array(values, np.int64).reshape(units, kh, kw, cin)
    return anne_format.Int8Conv2DSpec(kernel, bias, scales, in_q, out_q, act,
                                      (kh, kw, strides_h, strides_w, padding) + dil)


def _pool(imp, k, op, specs, shape):
    """MAX_POOL_2D / AVERAGE_POOL_2D, or MEAN / REDUCE_MAX over the height
    and width, operator k -> Int8PoolSpec, or None after reporting."""
    import anne_tflite_import
    t, name = imp.t, op["name"]
    ins, outs = op["inputs"], op["outputs"]
    opts = op["options"]
    n_problems = len(imp.problems)
    in_q = imp.activation_q(k, ins[0])
    out_q = imp.activation_q(k, outs[0])
    fused, kparams = "NONE", ()
    if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        fused = _fused(imp, k, op, "pooling")
        size = (opts.get("filter_height", 0), opts.get("filter_width", 0))
        kparams = size + _window(imp, k, opts, size)
        if kparams[4] == 0 and (shape[0] < size[0] or shape[1] < size[1]):
            imp.fail(k, "a VALID window of %dx%d on %dx%d" % (size + tuple(shape[:2])))
    else:
        axes = anne_tflite.tensor_values(imp.m, ins[1]) if len(ins) > 1 and ins[1] >= 0 else None
        if axes is None or sorted(a % 4 for a in axes) != [1, 2]:
            imp.fail(k, "axes %s: anne's int8 global pooling takes the height and width (1, 2); %s"
                     % (axes, anne_tflite_import.ADVICE[name]))
    if in_q is not None and out_q is not None and name != "MEAN" and in_q != out_q:
        imp.fail(k, "output scale and zero point %r differ from the input's %r: TFLite keeps them" % (out_q, in_q))
    if not imp.chained(k, in_q, out_q, n_problems):
        return None
    return anne_format.Int8PoolSpec(POOLS[name], in_q, out_q,
                                    anne_tflite_import.activation_range(fused, out_q[0], out_q[1]), kparams)


def _pad(imp, k, op, specs, shape):
    """PAD (PADV2 with the zero point as its value) of the height and width
    operator k -> an Int8PoolSpec of kind zero_padding2d, or None after
    reporting."""
    ins, outs = op["inputs"], op["outputs"]
    n_problems = len(imp.problems)
    in_q = imp.activation_q(k, ins[0])
    out_q = imp.activation_q(k, outs[0])
    pads = anne_tflite.tensor_values(imp.m, ins[1]) if len(ins) > 1 and ins[1] >= 0 else None
    if pads is not None and len(imp.t[ins[0]]["shape"]) == 3:    # ZeroPadding1D: [1, steps, channels]
        if len(pads) != 6 or pads[0:2] != [0, 0] or pads[4:6] != [0, 0] or min(pads) < 0 or max(pads) > 65535:
            imp.fail(k, "paddings %s of %s: anne pads the steps (constant [[0, 0], [before, after], [0, 0]]; a "
                        "causal Conv1D's PAD read by the Conv1D alone)" % (pads, imp.tensor_text(ins[0])))
        pads = [0, 0, 0, 0] + list(pads[2:4]) + [0, 0]    # (the steps as an image of height 1)
    if pads is None or len(pads) != 8 or pads[0:2] != [0, 0] or pads[6:8] != [0, 0] or min(pads) < 0 \
            or max(pads) > 65535:
        imp.fail(k, "paddings %s: anne's int8 zero_padding2d pads the height and width (constant "
                    "[[0, 0], [top, bottom], [left, right], [0, 0]])" % (pads,))
    if in_q is not None and out_q is not None and in_q != out_q:
        imp.fail(k, "output scale and zero point %r differ from the input's %r: TFLite keeps them" % (out_q, in_q))
    if op["name"] == "PADV2" and in_q is not None:
        value = anne_tflite.tensor_values(imp.m, ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        if value is None or list(value) != [in_q[1]]:
            imp.fail(k, "pads with %s, anne's zero_padding2d with the zero point %d" % (value, in_q[1]))
    if not imp.chained(k, in_q, out_q, n_problems):
        return None
    return anne_format.Int8PoolSpec("zero_padding2d", in_q, out_q, (-128, 127), tuple(pads[2:6]))


DILATED_OPS = ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
_BETWEEN = ("EXPAND_DIMS", "RESHAPE")     # a Conv1D's height of 1, added and dropped inside the pattern


def fold_dilated(imp):
    """TensorFlow's converter writes a dilated convolution (Conv1D, Conv2D,
    DepthwiseConv2D with dilation_rate > 1) as SPACE_TO_BATCH_ND (block
    shape b, paddings), an undilated VALID CONV_2D or DEPTHWISE_CONV_2D of
    stride 1 over the b batches (for a Conv1D between EXPAND_DIMS and
    RESHAPE), then BATCH_TO_SPACE_ND (block shape b, crops), and the bias
    as an ADD after it. Each such pattern becomes the one convolution, its
    dilation b, on the SPACE_TO_BATCH_ND's input and giving the
    BATCH_TO_SPACE_ND's output, in a copy of imp's model; the padding is
    read from the paddings and crops: output i of every batch reads input
    i + crop_before - pad_before + j * b, so the convolution pads
    pad_before - crop_before before and pad_after - crop_after after, which
    must be 0 and 0 (VALID) or TFLite's SAME for stride 1 ((k - 1) * b
    split with the smaller half before). LiteRT's int8 SPACE_TO_BATCH_ND
    pads with the zero point, as the convolution's SAME does. Anything else
    is reported at the SPACE_TO_BATCH_ND (or, outside this pattern, by the
    importer as an operator it does not take). Sets imp.m, imp.t, imp.ops (the
    model is not changed) and returns {operator: why it is dropped}."""
    ops, t = imp.ops, imp.t
    readers = {}
    for k, op in enumerate(ops):
        for i in op["inputs"]:
            readers.setdefault(i, []).append(k)
    new_ops, new_t, folded = list(ops), list(t), {}
    for k, op in enumerate(ops):
        if op["name"] != "SPACE_TO_BATCH_ND":
            continue
        chain = [k]
        while len(chain) < 5:     # SPACE_TO_BATCH_ND, [EXPAND_DIMS], conv, [RESHAPE], BATCH_TO_SPACE_ND
            outs = ops[chain[-1]]["outputs"]
            nxt = readers.get(outs[0], []) if outs else []
            if len(nxt) != 1 or ops[nxt[0]]["inputs"][0] != outs[0] or outs[0] in imp.m["outputs"]:
                break
            chain.append(nxt[0])
            if ops[nxt[0]]["name"] == "BATCH_TO_SPACE_ND":
                break
        names = [ops[c]["name"] for c in chain]
        if names[-1] != "BATCH_TO_SPACE_ND" or names[1:-1] not in (
                ["CONV_2D"], ["DEPTHWISE_CONV_2D"], ["EXPAND_DIMS", "CONV_2D", "RESHAPE"]):
            continue     # (the importer reports it: anne_tflite_import.ADVICE)
        problem = _dilation(imp, chain)
        conv_k = chain[len(chain) // 2]
        conv = dict(ops[conv_k], options=dict(ops[conv_k]["options"]))
        b2s = ops[chain[-1]]
        x, y = op["inputs"][0], b2s["outputs"][0]
        if isinstance(problem, str):
            imp.fail(k, problem)
            problem = ((1, 1), "VALID")
        (conv["options"]["dilation_h"], conv["options"]["dilation_w"]), conv["options"]["padding"] = problem
        first, last = chain[1], chain[-2]
        new_ops[conv_k] = conv
        new_ops[first] = dict(new_ops[first], inputs=[x] + list(ops[first]["inputs"][1:]))
        new_ops[last] = dict(new_ops[last], outputs=[y] + list(ops[last]["outputs"][1:]))
        if len(chain) == 5:     # a Conv1D: its height-1 tensors with the batch of 1 and the full steps
            xs, ys = list(t[x]["shape"]), list(t[y]["shape"])
            e, c = ops[chain[1]]["outputs"][0], ops[conv_k]["outputs"][0]
            new_t[e] = dict(t[e], shape=[1, 1] + xs[1:])
            new_t[c] = dict(t[c], shape=[1, 1] + ys[1:])
        folded[k] = " (a dilated convolution's: %s #%d)" % (ops[conv_k]["name"], conv_k)
        folded[chain[-1]] = folded[k]
    if folded:
        imp.m = dict(imp.m, operators=new_ops, tensors=new_t)
        imp.t, imp.ops = new_t, new_ops
    return folded


def _dilation(imp, chain):
    """The SPACE_TO_BATCH_ND ... BATCH_TO_SPACE_ND operators `chain` ->
    ((dilation_h, dilation_w), padding) of the one convolution they are, or
    a message saying why they are not one."""
    ops, t = imp.ops, imp.t
    s2b, b2s, conv = ops[chain[0]], ops[chain[-1]], ops[chain[len(chain) // 2]]
    const = [anne_tflite.tensor_values(imp.m, i) if i >= 0 and imp.t[i]["type"] == "int32" else None
             for i in list(s2b["inputs"][1:3]) + list(b2s["inputs"][1:3])]
    block, pads, block2, crops = const + [None] * (4 - len(const))
    x = list(t[s2b["inputs"][0]]["shape"])
    n = len(x) - 2     # spatial dimensions: 1 (steps, a Conv1D's EXPAND_DIMS, CONV_2D, RESHAPE) or 2
    if None in (block, pads, block2, crops) or n != (1 if len(chain) == 5 else 2) or len(block) != n \
            or list(block2) != list(block) or len(pads) != 2 * n or len(crops) != 2 * n:
        return ("block shapes %s and %s, paddings %s, crops %s on %s: a dilated convolution's are constant int32, "
                "the same block for both, on [1, steps, channels] (a Conv1D) or [1, height, width, channels]"
                % (block, block2, pads, crops, imp.tensor_text(s2b["inputs"][0])))
    for op in (s2b, b2s):
        i, o = t[op["inputs"][0]], t[op["outputs"][0]]
        if (i["scales"], i["zero_points"]) != (o["scales"], o["zero_points"]):
            return "%s changes the quantization (%s -> %s)" % (op["name"], imp.tensor_text(op["inputs"][0]),
                                                                imp.tensor_text(op["outputs"][0]))
    opts = conv["options"]
    w = list(t[conv["inputs"][1]]["shape"]) if len(conv["inputs"]) > 1 else []
    kernel = w[1:3] if len(w) == 4 else []
    if n == 1:
        kernel = kernel[1:]
    if opts.get("padding") != "VALID" or opts.get("stride_h", 1) != 1 or opts.get("stride_w", 1) != 1 \
            or opts.get("dilation_h", 1) != 1 or opts.get("dilation_w", 1) != 1 or len(kernel) != n:
        return ("%s #%d between them has padding %s, strides %dx%d, dilation %dx%d: a dilated convolution's is "
                "VALID, 1x1, 1x1" % (conv["name"], chain[len(chain) // 2], opts.get("padding"),
                                     opts.get("stride_h", 1), opts.get("stride_w", 1), opts.get("dilation_h", 1),
                                     opts.get("dilation_w", 1)))
    same = True
    valid = True
    for d in range(n):
        before, after = pads[2 * d] - crops[2 * d], pads[2 * d + 1] - crops[2 * d + 1]
        total = (kernel[d] - 1) * block[d]
        valid = valid and before == 0 and after == 0
        same = same and before == total // 2 and after == total - total // 2
        if block[d] < 1 or min(pads[2 * d:2 * d + 2] + crops[2 * d:2 * d + 2]) < 0:
            same = valid = False
    if not (valid or same):
        return ("block shape %s, paddings %s, crops %s around a %s kernel: not a dilated convolution with "
                "VALID or SAME padding (it would pad %s before and %s after)"
                % (list(block), list(pads), list(crops), "x".join(map(str, kernel)),
                   [pads[2 * d] - crops[2 * d] for d in range(n)],
                   [pads[2 * d + 1] - crops[2 * d + 1] for d in range(n)]))
    dilation = (1, block[0]) if n == 1 else tuple(block)
    return dilation, "VALID" if valid else "SAME"


def fold_causal(imp):
    """TensorFlow's converter writes a Conv1D with padding="causal" as a
    PAD of the steps by (kernel_size - 1) * dilation before and none after,
    then the VALID convolution (EXPAND_DIMS, CONV_2D, RESHAPE; a dilated
    one as fold_dilated left it). Each such PAD, read by that Conv1D alone
    and keeping its quantization (LiteRT pads with the zero point, as
    anne's causal int8 Conv1D does), becomes the CONV_2D's causal padding,
    in a copy of imp's model, its EXPAND_DIMS reading the PAD's input. Any
    other PAD of the steps is reported by convert(). Sets imp.m, imp.t,
    imp.ops and returns {operator: why it is dropped}; the operators in
    imp.folded (fold_dilated's) read nothing any more."""
    ops, t = imp.ops, imp.t
    readers = {}
    for k, op in enumerate(ops):
        for i in op["inputs"] if k not in imp.folded else ():
            readers.setdefault(i, []).append(k)

    def only_reader(k, name):
        outs = ops[k]["outputs"]
        nxt = readers.get(outs[0], []) if outs else []
        if len(nxt) != 1 or outs[0] in imp.m["outputs"] or ops[nxt[0]]["name"] != name \
                or ops[nxt[0]]["inputs"][0] != outs[0]:
            return None
        return nxt[0]

    new_ops, new_t, folded = list(ops), list(t), {}
    for k, op in enumerate(ops):
        ins = op["inputs"]
        if op["name"] not in ("PAD", "PADV2") or len(ins) < 2 or len(t[ins[0]]["shape"]) != 3:
            continue
        e = only_reader(k, "EXPAND_DIMS")
        c = only_reader(e, "CONV_2D") if e is not None else None
        if c is None or only_reader(c, "RESHAPE") is None:
            continue
        opts, w = ops[c]["options"], list(t[ops[c]["inputs"][1]]["shape"]) if len(ops[c]["inputs"]) > 1 else []
        pads = anne_tflite.tensor_values(imp.m, ins[1]) if ins[1] >= 0 else None
        x, y = t[ins[0]], t[op["outputs"][0]]
        value = anne_tflite.tensor_values(imp.m, ins[2]) if op["name"] == "PADV2" and len(ins) > 2 else None
        if len(w) != 4 or opts.get("padding") != "VALID" or opts.get("stride_h", 1) != 1 or pads is None \
                or list(pads) != [0, 0, (w[2] - 1) * opts.get("dilation_w", 1), 0, 0, 0] \
                or (x["scales"], x["zero_points"]) != (y["scales"], y["zero_points"]) \
                or (op["name"] == "PADV2" and (value is None or list(value) != list(x["zero_points"]))):
            continue
        new_ops[c] = dict(ops[c], options=dict(opts, padding="CAUSAL"))
        new_ops[e] = dict(ops[e], inputs=[ins[0]] + list(ops[e]["inputs"][1:]))
        eo = ops[e]["outputs"][0]
        new_t[eo] = dict(t[eo], shape=[1, 1] + list(x["shape"][1:]))
        folded[k] = " (a causal Conv1D's padding: CONV_2D #%d)" % c
    if folded:
        imp.m = dict(imp.m, operators=new_ops, tensors=new_t)
        imp.t, imp.ops = new_t, new_ops
    return folded
