# files: tests/fixtures/models/depthwise_mobile.anne tests/fixtures/models/depthwise_mobile.json tests/fixtures/models/depthwise_options.anne tests/fixtures/models/depthwise_options.json tests/fixtures/models/separable_conv2d.anne tests/fixtures/models/separable_conv2d.json tests/fixtures/models/depthwise_conv1d.anne tests/fixtures/models/depthwise_conv1d.json tests/fixtures/models/separable_conv1d.anne tests/fixtures/models/separable_conv1d.json tests/board/boardcheck.py
# DepthwiseConv2D, SeparableConv2D (a DepthwiseConv2D and a 1x1 Conv2D on
# the board) and ZeroPadding2D end to end (issue 30, float32 inference),
# and the 1-D twins the converter runs on them (DepthwiseConv1D,
# SeparableConv1D, ZeroPadding1D, between Reshapes):
# real Keras models (tools/make_conv2d_model_fixtures.py --depthwise),
# converted by tools/anne_convert.py, loaded and run on both backends within
# 1e-5 abs + 1e-4 rel of Keras's predictions, every recorded row; the layers
# built at the REPL against their definitions written out here; bad
# arguments refused with clear errors, the network unchanged; saved and
# loaded back; training refused as for Conv2D.
import gc
import os
from array import array

import anne_net
from boardcheck import all_close, axis, check, image, json_last, json_rows, keras_close, pad_before, refused, report

NAME = "test_net_depthwise2d"
MODELS = ("depthwise_mobile", "depthwise_options", "separable_conv2d", "depthwise_conv1d", "separable_conv1d")


def test_keras(model):
    # (the network first, its modules imported, then the rows: the stock
    # Cortex-M0's heap)
    net = anne_net.load(model + ".anne")
    gc.collect()
    path = model + ".json"
    ys, argmax = [array("f", y) for y in json_rows(path, "y")], json_last(path, "argmax")
    worst = 0.0
    first = None
    i = -1
    for row in json_rows(path, "x"):   # (a row at a time: the stock Cortex-M0's heap)
        i += 1
        x, want = array("f", row), ys[i]
        row = None
        first = first or x
        out = net.predict(x)
        ok, err = keras_close(out, want)
        worst = max(worst, err)
        check(ok, "%s row %d: %r != %r" % (model, i, list(out), list(want)))
        check(anne_net._anne.argmax(out) == argmax[i], "%s row %d: argmax" % (model, i))
    print("  %s: %d rows, worst error %.3f of the tolerance" % (model, i + 1, worst))
    return net, first


def depthwise_by_hand(x, h, w, cin, kernel, bias, ks, strides, dil, same, dm):
    """Keras's DepthwiseConv2D written out: output channel c * dm + m reads
    channel c (kernel[((ky * kw + kx) * cin + c) * dm + m])."""
    (kh, kw), (sh, sw), (dh, dw) = ks, strides, dil
    oh, top = pad_before(h, (kh - 1) * dh + 1, sh, same)
    ow, left = pad_before(w, (kw - 1) * dw + 1, sw, same)
    out = []
    for oy in range(oh):
        for ox in range(ow):
            for c in range(cin):
                for m in range(dm):
                    acc = 0.0
                    for ky, iy in axis(oy, sh, dh, top, h, kh):
                        for kx, ix in axis(ox, sw, dw, left, w, kw):
                            acc += x[(iy * w + ix) * cin + c] * kernel[((ky * kw + kx) * cin + c) * dm + m]
                    out.append(acc + (bias[c * dm + m] if bias is not None else 0.0))
    return out


def pad_by_hand(x, h, w, c, top, bottom, left, right):
    out = []
    for y in range(top + h + bottom):
        for xx in range(left + w + right):
            inside = top <= y < top + h and left <= xx < left + w
            for j in range(c):
                out.append(x[((y - top) * w + xx - left) * c + j] if inside else 0.0)
    return out


def test_built():
    from anne_net import DepthwiseConv2D, Dense, Flatten, Input, Sequential, ZeroPadding2D
    anne_net.seed(5)
    dw = DepthwiseConv2D((3, 2), strides=(2, 1), padding="same", depth_multiplier=2)
    net = Sequential([Input((7, 5, 3)), dw])
    x = image(7, 5, 3)
    check(net.output_shape == (4, 5, 6) and dw.units == 6, "DepthwiseConv2D same, strides (2, 1), multiplier 2: %r"
          % (net.output_shape,))
    check(dw.n_params == 3 * 2 * 3 * 2 + 6, "Keras's param count: %d" % dw.n_params)
    want = depthwise_by_hand(x, 7, 5, 3, dw.kernel, dw.bias, (3, 2), (2, 1), (1, 1), True, 2)
    check(all_close(list(net.predict(x)), want), "DepthwiseConv2D against its definition")
    k = dw.get_weights()
    check(len(k[0]) == 3 and len(k[0][0]) == 2 and len(k[0][0][0]) == 3 and len(k[0][0][0][0]) == 2,
          "get_weights: kernel_h x kernel_w x in_channels x depth_multiplier")
    dw.set_weights(k)
    check(all_close(list(net.predict(x)), want), "set_weights(get_weights()) keeps the outputs")
    dil = DepthwiseConv2D(2, dilation_rate=(2, 1), use_bias=False, activation="relu")
    net = Sequential([Input((6, 4, 2)), dil])
    x = image(6, 4, 2, 2)
    want = [max(v, 0.0) for v in depthwise_by_hand(x, 6, 4, 2, dil.kernel, None, (2, 2), (1, 1), (2, 1), False, 1)]
    check(all_close(list(net.predict(x)), want), "DepthwiseConv2D dilated, no bias, relu")
    x = image(3, 4, 2, 4)
    for arg, sides in ((1, (1, 1, 1, 1)), ((2, 0), (2, 2, 0, 0)), (((1, 0), (0, 3)), (1, 0, 0, 3)), (0, (0, 0, 0, 0))):
        pad = ZeroPadding2D(arg)
        net = Sequential([Input((3, 4, 2)), pad])
        check(list(net.predict(x)) == pad_by_hand(x, 3, 4, 2, *sides), "ZeroPadding2D(%r)" % (arg,))
    # Keras's defaults and the summary's count
    dw = DepthwiseConv2D(3)
    check((dw.strides, dw.padding, dw.depth_multiplier, dw.dilation_rate, dw.activation, dw.use_bias)
          == ((1, 1), "valid", 1, (1, 1), "linear", True), "DepthwiseConv2D's defaults are Keras's")
    check(ZeroPadding2D().padding == ((1, 1), (1, 1)), "ZeroPadding2D's default is 1 on every side")
    net = Sequential([Input((8, 8, 2)), ZeroPadding2D(1), dw, Flatten(), Dense(3, activation="softmax")])
    check(net.output_shape == (3,) and dw.n_params == 3 * 3 * 2 + 2, "a small network builds")
    before = net.predict(image(8, 8, 2))
    # bad arguments: clear errors, the network as it was
    check(refused(ValueError, "kernel_size: one or two values", DepthwiseConv2D, (3, 3, 3)), "kernel_size (3, 3, 3)")
    check(refused(ValueError, "depth_multiplier out of range", DepthwiseConv2D, 3, depth_multiplier=0),
          "depth_multiplier 0")
    check(refused(TypeError, "depth_multiplier must be an int", DepthwiseConv2D, 3, depth_multiplier=1.5),
          "depth_multiplier 1.5")
    check(refused(ValueError, "padding must be 'valid' or 'same'", DepthwiseConv2D, 3, padding="causal"),
          "padding causal")
    check(refused(ValueError, "DepthwiseConv2D cannot take glu", DepthwiseConv2D, 3, activation="glu"), "glu")
    check(refused(ValueError, "unknown activation", DepthwiseConv2D, 3, activation="nope"), "an unknown activation")
    check(refused(ValueError, "padding out of range", ZeroPadding2D, -1), "ZeroPadding2D(-1)")
    check(refused(ValueError, "padding must be an int, (rows, columns) or ((top, bottom), (left, right))",
                  ZeroPadding2D, (1, 2, 3)), "ZeroPadding2D((1, 2, 3))")
    check(refused(TypeError, "padding must be an int", ZeroPadding2D, "same"), "ZeroPadding2D('same')")
    check(refused(ValueError, "kernel has 3 floats, expected kernel_h x kernel_w x in_channels x depth_multiplier "
                  "= 3 x 3 x 2 x 1", dw.set_weights, [1.0, 2.0, 3.0], [0.0, 0.0]), "a short kernel")
    check(refused(ValueError, "bias has 1 floats, expected in_channels x depth_multiplier = 2", dw.set_weights,
                  [0.5] * 18, [0.0]), "a short bias")
    check(refused(ValueError, "no units to resize", net.resize, 2, 4), "resize refuses DepthwiseConv2D")
    check(refused(ValueError, "follow its input", setattr, dw, "units", 4), "units follow the input")
    check(refused(ValueError, "layer 3 (DepthwiseConv2D): DepthwiseConv2D takes (height, width, channels)",
                  net.insert, 3, DepthwiseConv2D(3)),
          "DepthwiseConv2D after Flatten is refused, naming the layer")
    check(len(net.layers) == 4 and list(net.predict(image(8, 8, 2))) == list(before), "the network is unchanged")
    net.compile("sgd", "categorical_crossentropy")
    loss = net.fit([image(8, 8, 2)], [[1, 0, 0]], epochs=2, verbose=0).history["loss"]
    check(len(loss) == 2 and loss[1] < loss[0], "fit trains ZeroPadding2D + DepthwiseConv2D: %r" % loss)
    net.remove(0)
    loss = net.fit([image(8, 8, 2)], [[1, 0, 0]], epochs=2, verbose=0).history["loss"]
    check(len(loss) == 2 and loss[1] < loss[0], "fit trains DepthwiseConv2D: %r" % loss)
    check(net.training_memory() > 0, "training_memory sizes it")


def test_save_load(net, x):
    path = "depthwise_saved.anne"
    net.save(path)
    back = anne_net.load(path)
    os.remove(path)
    check(list(back.predict(x)) == list(net.predict(x)), "saved and loaded: the same outputs")
    check([type(L).__name__ for L in back.layers] == [type(L).__name__ for L in net.layers], "the same layers")


def error_text(mod, spec, n, out, kernel):
    bias = None
    buf = array("f", bytes(4 * out))
    try:
        mod.forward(((kernel, bias, mod.Activation("linear"), buf, spec),), array("f", range(n)),
                    array("f", bytes(4 * out)))
        return "ok"
    except ValueError as e:
        return str(e)


def test_same_errors():
    """The native module and anne_fallback refuse these layers alike."""
    import anne_fallback
    k = array("f", [1.0, 0.0, 0.0, -1.0])
    dw = (15, 3, 3, 1, 2, 2, 1, 1)  # h, w, c, kh, kw, sh, sw, then padding, multiplier, dh, dw
    cases = (
        (dw + (0, 1, 1, 1), 9, 4, k, "ok"),
        (dw + (2, 1, 1, 1), 9, 4, k, "layer 0: bad 2-D spec: sizes, strides, dilation >= 1; padding 0..1"),
        (dw + (0, 0, 1, 1), 9, 4, k, "layer 0: bad 2-D spec: sizes, strides, dilation >= 1; padding 0..1"),
        (dw + (1, 1, 1, 1), 9, 4, k, "layer 0: output buffer has 4 floats, not out_h x out_w x channels"),
        (dw + (0, 1, 1, 1), 8, 4, k, "layer 0: 8 inputs are not 3 x 3 x 1, or too few"),
        (dw + (0, 2, 1, 1), 9, 8, k, "layer 0: depthwise kernel has 4 floats, not 2 x 2 x 1 x 2"),
        ((16, 2, 2, 1, 1, 0, 0, 1), 4, 9, None, "ok"),  # h, w, c, top, bottom, left, right
        ((16, 2, 2, 1, 1, 0, 0, 1), 4, 8, None, "layer 0: output buffer has 8 floats, not out_h x out_w x channels"),
        ((16, 2, 2, 1, 1, 0, 0, 1), 3, 9, None, "layer 0: 3 inputs are not 2 x 2 x 1, or too few"),
        ((16, 0, 2, 1, 1, 0, 0, 1), 4, 9, None, "layer 0: bad zero_padding2d spec: height, width, channels >= 1"),
    )
    for spec, n, out, kernel, want in cases:
        got = [error_text(mod, spec, n, out, kernel) for mod in (anne_net._native, anne_fallback)]
        check(got == [want, want], "spec %r: %r" % (spec, got))


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    for model in MODELS:
        net, x = test_keras(model)
        if model == "depthwise_options":
            test_save_load(net, x)
        net = x = None
        gc.collect()
    test_built()
    gc.collect()
if anne_net._native is not None:
    test_same_errors()

report(NAME)
