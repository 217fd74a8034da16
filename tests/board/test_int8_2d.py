# files: tests/fixtures/int8_2d/*.anne tests/fixtures/int8_2d/*.json tests/board/boardcheck.py
# int8 2-D networks (issues 29 and 30): the full-integer .tflite models of
# tests/fixtures/int8/int8_conv2d_* (tools/make_int8_conv2d_fixtures.py:
# TensorFlow's converter, LiteRT's reference kernels) converted by
# tools/anne_convert.py (tests/fixtures/int8_2d, tools/make_int8_conv2d_board.py):
# Conv2D, DepthwiseConv2D, ZeroPadding2D, the 2-D poolings, global average
# and max over the plane, Flatten, Dense. Every row's output must equal
# LiteRT's recorded one exactly, on the native module and on the
# pure-Python backend, loaded from a path and from bytes. The files with a
# spoiled int8 2-D record (bad.json) raise ValueError with their fragment.
# Then the int8
# 2-D layer tuples of anne.forward/anne.Plan: hand-checked values and the
# refusals, the same on both.
import gc
import json
from array import array

import anne_net
from boardcheck import check, refused, report

NAME = "test_int8_2d"
MODELS = {
    "int8_conv2d_ds_cnn": ["Conv2DInt8", "DepthwiseConv2DInt8", "Conv2DInt8", "AveragePooling2DInt8", "Flatten",
                           "DenseInt8"],
    "int8_conv2d_mobilenet": ["ZeroPadding2DInt8", "DepthwiseConv2DInt8", "Conv2DInt8", "MaxPooling2DInt8",
                              "GlobalAveragePooling2DInt8", "DenseInt8"],
    "int8_conv2d_global_max": ["Conv2DInt8", "DepthwiseConv2DInt8", "AveragePooling2DInt8", "Conv2DInt8",
                               "GlobalMaxPooling2DInt8", "DenseInt8"],
}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def summary_columns(net, tag):
    """summary() prints, its columns aligned however long a layer's name
    ("GlobalAveragePooling2D int8") or shape is."""
    import anne_int8
    lines = []
    anne_int8.print = lambda *a: lines.append(" ".join(str(v) for v in a))
    try:
        net.summary()
    finally:
        del anne_int8.print
    rows = [ln for ln in lines if " int8 " in ln and "(None, " in ln]
    starts = [ln.index("(None, ") for ln in rows]
    head = [ln for ln in lines if ln.startswith("Layer")]
    check(len(rows) == len(net.layers) and len(head) == 1 and all(c == head[0].index("Output") for c in starts)
          and all(ln[c - 1] == " " and ln.index(" ") < c for ln, c in zip(rows, starts)),
          "%s: summary's columns %r" % (tag, lines))


def test_outputs(backend, name):
    anne_net.use_backend(backend)
    with open(name + ".json") as f:
        doc = json.load(f)
    rows, want = doc["rows"], doc["outputs"]
    for source in (name + ".anne", read(name + ".anne")):
        tag = "%s, %s (%s)" % (name, backend, "path" if isinstance(source, str) else "bytes")
        net = anne_net.load(source)
        check(net.backend == backend and net.dtype == "int8", "%s: %s %s" % (tag, net.backend, net.dtype))
        check([type(L).__name__ for L in net.layers] == MODELS[name], "%s: layers %r" % (
            tag, [type(L).__name__ for L in net.layers]))
        x, out = array("b", bytes(net.n_inputs)), array("b", bytes(net.n_outputs))
        bad = 0
        for r in range(len(rows)):
            for j in range(len(x)):
                x[j] = rows[r][j]
            if net.predict_into(x, out) is not out or list(out) != want[r]:
                bad += 1
                print("  row %d: got %r, recorded %r" % (r, list(out), want[r]))
        check(bad == 0 and len(rows) == 16, "%s: %d of %d rows differ from LiteRT's" % (tag, bad, len(rows)))
        # predict: the first row dequantized, quantized back by predict
        s, z = net.input_quantization
        so, zo = net.output_quantization
        y = net.predict([(v - z) * s for v in rows[0]])
        check(all(abs(y[j] - (want[0][j] - zo) * so) <= 1e-3 * so for j in range(len(y))),
              "%s: predict %r" % (tag, list(y)))
        if isinstance(source, str):
            summary_columns(net, tag)
            conv = [L for L in net.layers if "Conv" in type(L).__name__][0]
            w = conv.get_weights()
            check(len(w) == 2 and len(w[1]) == conv.units and len(w[0]) * len(w[0][0]) == conv.n_params - conv.units,
                  "%s: get_weights" % tag)
            check(refused(ValueError, "not trained or edited", net.fit, [[0.0] * net.n_inputs],
                          [[0.0] * net.n_outputs]), "%s: fit" % tag)
        del net
        gc.collect()


def test_bad_files():
    with open("bad.json") as f:
        bad = json.load(f)
    check(len(bad) == 5, "bad.json: %d files" % len(bad))
    for entry in bad:
        for source in (entry["file"], read(entry["file"])):
            check(refused(ValueError, entry["expect"], anne_net.load, source), "%s (%s)" % (
                entry["file"], "path" if isinstance(source, str) else "bytes"))
        gc.collect()


def test_module(m, tag):
    """int8 2-D layer tuples, hand-checked (spec as the float layers';
    quant (input_offset, output_offset, act_min, act_max, words))."""
    none = array("i")
    x4 = array("b", [1, 2, 3, 4])           # 2 x 2 x 1
    x9 = array("b", range(1, 10))            # 3 x 3 x 1
    # ZeroPadding2D, zero point 5: (1, 0) rows, (0, 1) columns
    y9 = array("b", bytes(9))
    pad = (None, None, None, y9, (16, 2, 2, 1, 1, 0, 0, 1), (-5, 5, -128, 127, none))
    check(list(m.forward((pad,), x4, y9)) == [5, 5, 5, 1, 2, 5, 3, 4, 5], "%s: pad %r" % (tag, list(y9)))
    y4 = array("b", bytes(4))
    pool = (None, None, None, y4, (11, 3, 3, 1, 2, 2, 1, 1, 0), (0, 0, -128, 127, none))
    check(list(m.forward((pool,), x9, y4)) == [5, 6, 8, 9], "%s: max pooling %r" % (tag, list(y4)))
    # same, strides 2: windows of 4, 2, 2 and 1 positions (halves away from zero)
    pool = (None, None, None, y4, (12, 3, 3, 1, 2, 2, 2, 2, 1), (0, 0, -128, 127, none))
    check(list(m.Plan((pool,))(x9, y4)) == [3, 5, 8, 9], "%s: average pooling %r" % (tag, list(y4)))
    pool = (None, None, None, y4, (12, 3, 3, 1, 2, 2, 2, 2, 1), (0, 0, -128, 7, none))
    check(list(m.forward((pool,), x9, y4)) == [3, 5, 7, 7], "%s: average pooling, clamped %r" % (tag, list(y4)))
    # Conv2D 2 x 2, 2 filters, per-channel (2**30, 1) = 1.0 and (2**30, 0) = 0.5: 10, 3.5 -> 4
    y2 = array("b", bytes(2))
    k = array("b", [1, 1, 1, 1, 1, -1, 0, 2])
    per = array("i", [1 << 30, 1 << 30, 1, 0])
    conv = (k, array("i", [0, 0]), None, y2, (10, 2, 2, 1, 2, 2, 1, 1, 0, 1, 1), (0, 0, -128, 127, per))
    check(list(m.forward((conv,), x4, y2)) == [10, 4], "%s: conv2d %r" % (tag, list(y2)))
    # DepthwiseConv2D, depth_multiplier 2, per tensor 1.0
    dk = array("b", [1, 0, 1, 1, 1, 0, 1, -1])
    one = array("i", [1 << 30, 1])
    dw = (dk, None, None, y2, (15, 2, 2, 1, 2, 2, 1, 1, 0, 2, 1, 1), (0, 0, -128, 127, one))
    check(list(m.forward((dw,), x4, y2)) == [10, -2], "%s: depthwise %r" % (tag, list(y2)))
    # MEAN over the plane (scale ratio 1.0: 10 / 4 -> 3), REDUCE_MAX
    y1 = array("b", bytes(1))
    check(list(m.forward(((None, None, None, y1, (13, 1), (0, 0, -128, 127, one)),), x4, y1)) == [3],
          "%s: global average %r" % (tag, list(y1)))
    check(list(m.forward(((None, None, None, y1, (14, 1), (0, 0, -128, 127, none)),), x4, y1)) == [4],
          "%s: global max %r" % (tag, list(y1)))
    # a chain: pad (zero point 0), depthwise on the 3 x 3 plane (valid: 2 x 2 x 2), global max
    h9, h8 = array("b", bytes(9)), array("b", bytes(8))
    chain = ((None, None, None, h9, (16, 2, 2, 1, 1, 0, 1, 0), (0, 0, -128, 127, none)),
             (dk, None, None, h8, (15, 3, 3, 1, 2, 2, 1, 1, 0, 2, 1, 1), (0, 0, -128, 127, one)),
             (None, None, None, None, (14, 2), (0, 0, -128, 127, none)))
    check(list(m.Plan(chain)(x4, y2)) == [10, -1] and list(h9) == [0, 0, 0, 0, 1, 2, 0, 3, 4],
          "%s: pad, depthwise, global max %r" % (tag, list(y2)))
    for what, frag, layer, x, out in (
            ("an activation", "no activation",
             (k, None, "relu", y2, (10, 2, 2, 1, 2, 2, 1, 1, 0, 1, 1), (0, 0, -128, 127, per)), x4, y2),
            ("a kernel of 7 values", "int8 2-D kernel has 7 values",
             (k[:7], None, None, y2, (10, 2, 2, 1, 2, 2, 1, 1, 0, 1, 1), (0, 0, -128, 127, per)), x4, y2),
            ("a shift of 32", "quantization",
             (dk, None, None, y2, (15, 2, 2, 1, 2, 2, 1, 1, 0, 2, 1, 1), (0, 0, -128, 127, array("i", [1, 32]))),
             x4, y2),
            ("3 multipliers for 2 filters", "quantization",
             (k, None, None, y2, (10, 2, 2, 1, 2, 2, 1, 1, 0, 1, 1), (0, 0, -128, 127, array("i", [1, 1, 1, 0, 0, 0]))),
             x4, y2),
            ("a pad that changes the zero point", "quantization",
             (None, None, None, y9, (16, 2, 2, 1, 1, 0, 0, 1), (-5, 4, -128, 127, none)), x4, y9),
            ("a pooling that changes the zero point", "quantization",
             (None, None, None, y4, (11, 3, 3, 1, 2, 2, 1, 1, 0), (0, 1, -128, 127, none)), x9, y4),
            ("a bias of 1 value", "bias",
             (k, array("i", [0]), None, y2, (10, 2, 2, 1, 2, 2, 1, 1, 0, 1, 1), (0, 0, -128, 127, per)), x4, y2),
            ("an out of 3", "out has 3 values",
             (None, None, None, y4, (11, 3, 3, 1, 2, 2, 1, 1, 0), (0, 0, -128, 127, none)), x9,
             array("b", bytes(3)))):
        check(refused(ValueError, frag, m.forward, (layer,), x, out), "%s: %s" % (tag, what))


print("%s test_bad_files" % NAME)
test_bad_files()
import anne_fallback
print("%s test_module (anne_fallback)" % NAME)
test_module(anne_fallback, "anne_fallback")
if anne_net._native is not None:
    print("%s test_module (anne)" % NAME)
    test_module(anne_net._native, "anne")
backends = ("native", "python") if anne_net._native is not None else ("python",)
for b in backends:
    for name in MODELS:
        print("%s test_outputs (%s, %s)" % (NAME, b, name))
        test_outputs(b, name)
        gc.collect()
report(NAME)
