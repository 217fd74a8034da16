# files: tests/board/boardcheck.py
# The one parameter order: each board layer's spec, the tuple the C ABI's
# anne_layer_t params are read from, is its kind, its input's dims (a 1-D
# kind's channels; a 2-D kind's height, width and channels), then its
# parameter slots in the layer registry's order (anne_ops.LAYER_PARAMS,
# generated from ops/ops.json) with the values given to its constructor,
# a choice as its index. The expected tuple is built here from the
# registry and the arguments, not by the layers' code.
import anne_ops
from boardcheck import check, report
from anne_net import (AveragePooling1D, AveragePooling2D, Conv1D, Conv2D, DepthwiseConv2D, Input,
                      MaxPooling1D, MaxPooling2D, Sequential, UpSampling1D, ZeroPadding2D)

NAME = "test_layer_specs"

STEPS = (40, 5)
IMAGE = (20, 18, 3)
CASES = (
    (STEPS, Conv1D, (3,), {"kernel_size": 2, "strides": 3, "padding": "causal", "dilation_rate": 4}),
    (STEPS, MaxPooling1D, (), {"pool_size": 3, "strides": 2, "padding": "same"}),
    (STEPS, AveragePooling1D, (), {"pool_size": 4, "strides": 3, "padding": "valid"}),
    (STEPS, UpSampling1D, (), {"size": 3}),
    (IMAGE, Conv2D, (4,), {"kernel_size": (3, 2), "strides": (2, 3), "padding": "same", "dilation_rate": (1, 2)}),
    (IMAGE, MaxPooling2D, (), {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}),
    (IMAGE, AveragePooling2D, (), {"pool_size": (2, 3), "strides": (1, 2), "padding": "valid"}),
    (IMAGE, DepthwiseConv2D, (), {"kernel_size": (3, 2), "strides": (2, 1), "padding": "same",
                                  "depth_multiplier": 2, "dilation_rate": (1, 2)}),
    (IMAGE, ZeroPadding2D, (), {"padding": ((1, 2), (3, 4))}),
)
SIDES = {"top": (0, 0), "bottom": (0, 1), "left": (1, 0), "right": (1, 1)}


def slot_value(kw, name, values):
    """The value the registry's slot `name` holds for constructor arguments
    kw: a pair's axis (<arg>_h, <arg>_w), a side (<arg>_top ...), a choice's
    index in its values."""
    base, _, axis = name.rpartition("_")
    if name in kw:
        v = kw[name]
    elif axis in ("h", "w"):
        v = kw[base][axis == "w"]
    else:
        i, j = SIDES[axis]
        v = kw[base][i][j]
    return values.index(v) if values else v


def test_specs():
    for shape, cls, args, kw in CASES:
        net = Sequential([Input(shape), cls(*args, **kw)])
        layer = net.layers[-1]
        slots = anne_ops.LAYER_PARAMS[layer.kind]
        want = (layer.kind, shape[-1]) if len(shape) == 2 else (layer.kind,) + shape
        want += tuple(slot_value(kw, s[0], s[3]) for s in slots)
        got = tuple(layer._step(None)[4])
        check(got == want, "%s%r: spec %r, expected %r" % (cls.__name__, kw, got, want))


test_specs()
report(NAME)
