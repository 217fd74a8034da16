# anne_shape: the layer kinds' shape rules, from the layer registry
# (ops/ops.json, anne_ops): the input a kind takes, the output it gives,
# its kernel's shape. The file codec (anne_file) checks files with them and
# the pure-Python training loop (anne_train_python) sizes its buffers with
# them, under MicroPython and CPython alike.

import anne_ops
from anne_core import _out_steps, _shape_text, _size as size_of

MAX_REACH = 0x7FFFFFFF           # conv1d's (kernel_size - 1) * dilation_rate
KIND_NAMES = anne_ops.LAYER_NAMES
# The kinds by shape rule: the 1-D poolings, the global ones (1-D and 2-D).
POOLS = tuple(k for k, rule in anne_ops.LAYER_SHAPE.items() if rule == "pool")
GLOBAL_POOLS = tuple(k for k, rule in anne_ops.LAYER_SHAPE.items() if rule == "global")
# The kinds that take (height, width, channels); files with them are version 3.
IMAGE_RULES = ("conv2d", "pool2d", "depthwise2d", "pad2d")
# (sorted: a board's dict is not in insertion order)
IMAGE_KINDS = tuple(sorted(k for k, rule in anne_ops.LAYER_SHAPE.items() if rule in IMAGE_RULES)) + (
    anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D, anne_ops.LAYER_GLOBAL_MAX_POOLING2D)
IMAGE_GLOBAL_POOLS = IMAGE_KINDS[-2:]


def kernel_shape(kind, in_shape, units, kp):
    """The shape of a layer's kernel as the file stores it, from the
    registry's weights (anne_ops.LAYER_KERNEL); () for the kinds without."""
    return tuple(kp[a] if a >= 0 else size_of(in_shape) if a == -1 else in_shape[-1] if a == -2 else units
                 for a in anne_ops.LAYER_KERNEL.get(kind, ()))


def input_rank(kind):
    """The rank of the input a layer of kind takes: 1 flat (dense), 2
    (steps, channels), 3 (height, width, channels); None: any."""
    rule = anne_ops.LAYER_SHAPE[kind]
    if rule in ("flatten", "stored", "same", "merge", "concat"):
        return None
    return 1 if rule == "dense" else 3 if rule in IMAGE_RULES or kind in IMAGE_GLOBAL_POOLS else 2


def merge_shape(kind, shapes):
    """The output shape of a merge of `kind` on its inputs' shapes: the
    element-wise ones (add, ...) take one shape, concatenate sums the last
    axis of shapes equal but for it. ValueError saying why not."""
    lo, hi = anne_ops.LAYER_INPUTS[kind]
    name, first, texts = KIND_NAMES[kind], shapes[0], ", ".join(_shape_text(t) for t in shapes)
    if not lo <= len(shapes) <= hi:
        raise ValueError("%s takes %d..%d inputs, got %d" % (name, lo, hi, len(shapes)))
    if anne_ops.LAYER_SHAPE[kind] == "merge":
        if any(t != first for t in shapes):
            raise ValueError("%s needs inputs of one shape, got %s" % (name, texts))
        return first
    if any(len(t) != len(first) or t[:-1] != first[:-1] for t in shapes):
        raise ValueError("concatenate joins the last axis of inputs equal but for it, got %s" % texts)
    return first[:-1] + (sum(t[-1] for t in shapes),)


def out_shape_of(kind, in_shape, units, act, kp, stored_out=None):
    """The output shape of a layer of `kind` on in_shape (units: dense's
    units or conv1d's filters; act: the activation id; kp: the eight kind
    parameters, conv1d: kernel_size, strides, padding, dilation; pooling:
    pool_size, strides, padding); reshape's is stored_out. ValueError (its
    text says why) when the layer cannot take in_shape."""
    if kind == anne_ops.LAYER_DENSE:
        if len(in_shape) != 1:
            raise ValueError("dense takes a flat input, got %s (add a Flatten)" % _shape_text(in_shape))
        return (units // 2 if act in anne_ops.HALVES else units,)
    if kind == anne_ops.LAYER_AFFINE:
        if units != in_shape[-1]:
            raise ValueError("affine has %d channels, its input %s has %d" % (units, _shape_text(in_shape),
                                                                            in_shape[-1]))
        return in_shape
    if kind in (anne_ops.LAYER_FLATTEN, anne_ops.LAYER_RESHAPE):
        if kind == anne_ops.LAYER_FLATTEN:
            return (size_of(in_shape),)
        if size_of(stored_out) != size_of(in_shape):
            raise ValueError("reshape to %s needs %d values, its input %s has %d" % (
                _shape_text(stored_out), size_of(stored_out), _shape_text(in_shape), size_of(in_shape)))
        return stored_out
    rule = anne_ops.LAYER_SHAPE[kind]
    image = input_rank(kind) == 3
    if len(in_shape) != (3 if image else 2):
        raise ValueError("%s takes %s, got %s" % (KIND_NAMES[kind], "(height, width, channels)" if image
                                                  else "(steps, channels)", _shape_text(in_shape)))
    if kind in GLOBAL_POOLS:
        return (in_shape[-1],)
    if rule == "upsample":  # size
        return (in_shape[0] * kp[0], in_shape[1])
    if rule == "pad2d":  # top, bottom, left, right
        return (in_shape[0] + kp[0] + kp[1], in_shape[1] + kp[2] + kp[3], in_shape[2])
    if rule == "depthwise2d" and units != in_shape[2] * kp[5]:
        raise ValueError("depthwise_conv2d has %d channels, not in_channels x depth_multiplier = %d x %d"
                         % (units, in_shape[2], kp[5]))
    if image:
        # conv2d: kernel_h, kernel_w, strides_h, strides_w, padding,
        # dilation_h, dilation_w; depthwise2d: the same with
        # depth_multiplier before the dilation; pool2d: pool_h, pool_w,
        # strides_h, strides_w, padding
        conv = rule != "pool2d"
        dil = kp[5:7] if rule == "conv2d" else kp[6:8] if conv else (1, 1)
        oh, _ = _out_steps(in_shape[0], (kp[0] - 1) * dil[0] + 1, kp[2], kp[4])
        ow, _ = _out_steps(in_shape[1], (kp[1] - 1) * dil[1] + 1, kp[3], kp[4])
        return (oh, ow, units if conv else in_shape[2])
    steps, channels = in_shape
    if kind == anne_ops.LAYER_CONV1D and (kp[0] - 1) * kp[3] > MAX_REACH:
        raise ValueError("conv1d's (kernel_size - 1) * dilation_rate = (%d - 1) * %d, at most %d"
                         % (kp[0], kp[3], MAX_REACH))
    window = (kp[0] - 1) * kp[3] + 1 if kind == anne_ops.LAYER_CONV1D else kp[0]
    n, _ = _out_steps(steps, window, kp[1], kp[2])
    return (n, units if kind == anne_ops.LAYER_CONV1D else channels)


def spec_shapes(spec, n_in, n_kernel):
    """A layer's ABI spec (kind, its input's dims, then its slots when the
    ABI holds them) on n_in values with a kernel of n_kernel floats: its
    output shape and its units (0 for the kinds without weights)."""
    kind = spec[0]
    rank = input_rank(kind)
    n_slots = len(anne_ops.LAYER_PARAMS.get(kind, ())) if rank else 0   # (affine's one slot is the file's)
    cut = len(spec) - n_slots
    dims, kp = tuple(spec[1:cut]), tuple(spec[cut:]) + (0,) * (8 - n_slots)
    c = dims[-1]
    in_shape = dims if len(dims) == 3 else (n_in // c, 1, c) if rank == 3 else (n_in // c, c)
    units = 0
    if kind in anne_ops.LAYER_KERNEL:
        per = size_of(kernel_shape(kind, in_shape, 1, kp))
        units = n_kernel // per if per else 0
    return out_shape_of(kind, in_shape, units, anne_ops.LINEAR, kp), units
