# files: tests/fixtures/models/conv2d_digits.anne tests/fixtures/models/conv2d_digits.json tests/fixtures/models/conv2d_options.anne tests/fixtures/models/conv2d_options.json tests/fixtures/models/conv2d_reshape.anne tests/fixtures/models/conv2d_reshape.json tests/board/boardcheck.py
# Images end to end (issue 30, float32 inference): Keras CNNs on (h, w,
# channels) inputs (Conv2D, MaxPooling2D, AveragePooling2D, the global 2-D
# poolings, Flatten and Reshape), converted by tools/anne_convert.py
# (tools/make_conv2d_model_fixtures.py), loaded and run on both backends
# within 1e-5 abs + 1e-4 rel of Keras's predictions; a Conv2D and the 2-D
# poolings built at the REPL against their definition written out here;
# saved and loaded back; training refused with a clear error.
import gc
import os
from array import array

import anne_net
from boardcheck import all_close, axis, check, image, json_last, json_rows, keras_close, pad_before, refused, report

NAME = "test_net_conv2d"
MODELS = sorted(n[:-5] for n in os.listdir() if n.startswith("conv2d_") and n.endswith(".anne"))
check(len(MODELS) == 3, "the three conv2d fixtures are here: %r" % MODELS)


def reference(model):
    """The fixture's rows as float32 arrays, read a row at a time (the stock
    Cortex-M0's heap), and Keras's argmax of each."""
    xs = [array("f", x) for x in json_rows(model + ".json", "x")]
    ys = [array("f", y) for y in json_rows(model + ".json", "y")]
    gc.collect()
    return list(zip(xs, ys)), json_last(model + ".json", "argmax")


def test_keras(net, model, rows, argmax):
    worst = 0.0
    for i in range(len(rows)):
        x, want = rows[i]
        out = net.predict(x)
        ok, err = keras_close(out, want)
        worst = max(worst, err)
        check(ok, "%s row %d: %r != %r" % (model, i, list(out), list(want)))
        check(anne_net._anne.argmax(out) == argmax[i], "%s row %d: argmax" % (model, i))
    print("  %s: %d rows, worst error %.3f of the tolerance" % (model, len(rows), worst))
    return net


def conv_by_hand(x, h, w, cin, kernel, bias, ks, strides, dil, same, filters):
    """Keras's Conv2D written out (x[(y * w + x) * cin + c], kernel[((ky * kw + kx) * cin + c) * filters + f])."""
    (kh, kw), (sh, sw), (dh, dw) = ks, strides, dil
    oh, top = pad_before(h, (kh - 1) * dh + 1, sh, same)
    ow, left = pad_before(w, (kw - 1) * dw + 1, sw, same)
    out = []
    for oy in range(oh):
        for ox in range(ow):
            for f in range(filters):
                acc = 0.0
                for ky, iy in axis(oy, sh, dh, top, h, kh):
                    for kx, ix in axis(ox, sw, dw, left, w, kw):
                        for c in range(cin):
                            acc += x[(iy * w + ix) * cin + c] * kernel[((ky * kw + kx) * cin + c) * filters + f]
                out.append(acc + (bias[f] if bias is not None else 0.0))
    return out


def pool_by_hand(x, h, w, c, size, strides, same, is_max):
    oh, top = pad_before(h, size[0], strides[0], same)
    ow, left = pad_before(w, size[1], strides[1], same)
    out = []
    for oy in range(oh):
        for ox in range(ow):
            for j in range(c):
                vals = [x[(iy * w + ix) * c + j] for _, iy in axis(oy, strides[0], 1, top, h, size[0])
                        for _, ix in axis(ox, strides[1], 1, left, w, size[1])]
                out.append(max(vals) if is_max else sum(vals) / len(vals))
    return out


def test_built():
    from anne_net import (AveragePooling2D, Conv2D, Dense, Flatten, GlobalAveragePooling2D,
                          GlobalMaxPooling2D, Input, MaxPooling2D, Sequential)
    anne_net.seed(3)
    conv = Conv2D(3, (3, 2), strides=(2, 1), padding="same", dilation_rate=1)
    net = Sequential([Input((7, 5, 2)), conv])
    x = image(7, 5, 2)
    kernel = conv.kernel
    bias = conv.bias
    want = conv_by_hand(x, 7, 5, 2, kernel, bias, (3, 2), (2, 1), (1, 1), True, 3)
    check(net.output_shape == (4, 5, 3), "Conv2D same, strides (2, 1): %r" % (net.output_shape,))
    check(all_close(list(net.predict(x)), want), "Conv2D against its definition")
    w = conv.get_weights()
    check(len(w[0]) == 3 and len(w[0][0]) == 2 and len(w[0][0][0]) == 2 and len(w[0][0][0][0]) == 3,
          "get_weights: kernel_h x kernel_w x in_channels x filters")
    dil = Conv2D(2, 2, dilation_rate=(2, 1), use_bias=False, activation="relu")
    net = Sequential([Input((6, 4, 1)), dil])
    x = image(6, 4, 1, 2)
    want = [max(v, 0.0) for v in conv_by_hand(x, 6, 4, 1, dil.kernel, None, (2, 2), (1, 1), (2, 1), False, 2)]
    check(all_close(list(net.predict(x)), want), "Conv2D dilated, no bias, relu")
    for cls, is_max in ((MaxPooling2D, True), (AveragePooling2D, False)):
        for args, same in ((((2, 2), None, "valid"), False), (((3, 2), (2, 1), "same"), True)):
            layer = cls(args[0], args[1], args[2])
            net = Sequential([Input((5, 5, 2)), layer])
            x = image(5, 5, 2, 3)
            want = pool_by_hand(x, 5, 5, 2, args[0], args[1] or args[0], same, is_max)
            check(all_close(list(net.predict(x)), want), "%s %r" % (cls.__name__, args))
    x = image(3, 4, 2, 4)
    for cls, fn in ((GlobalAveragePooling2D, lambda v: sum(v) / len(v)), (GlobalMaxPooling2D, max)):
        net = Sequential([Input((3, 4, 2)), cls()])
        want = [fn([x[i * 2 + j] for i in range(12)]) for j in range(2)]
        check(all_close(list(net.predict(x)), want), cls.__name__)
    net = Sequential([Input((8, 8, 1)), Conv2D(2, 3, activation="relu"), MaxPooling2D(2), Flatten(),
                      Dense(3, activation="softmax")])
    check(net.output_shape == (3,), "a small CNN builds: %r" % (net.output_shape,))
    net.compile("sgd", "categorical_crossentropy")
    loss = net.fit([image(8, 8, 1)], [[1, 0, 0]], epochs=2, verbose=0).history["loss"]
    check(len(loss) == 2 and loss[1] < loss[0], "fit trains a small CNN: %r" % loss)
    check(net.training_memory() > 0, "training_memory sizes it")
    check(refused(ValueError, "takes (height, width, channels)", Sequential, [Input((8, 2)), Conv2D(2, 3)]),
          "Conv2D on (steps, channels) is refused")


def test_save_load(net, model, rows):
    path = "conv2d_saved.anne"
    net.save(path)
    back = anne_net.load(path)
    os.remove(path)
    x = rows[0][0]
    check(list(back.predict(x)) == list(net.predict(x)), "%s saved and loaded: the same outputs" % model)


def error_text(mod, spec, n, out, kernel):
    bias = array("f", [10.0])
    buf = array("f", bytes(4 * out))
    try:
        mod.forward(((kernel, bias, mod.Activation("linear"), buf, spec),), array("f", range(n)),
                    array("f", bytes(4 * out)))
        return "ok"
    except ValueError as e:
        return str(e)


def test_same_errors():
    """The native module and anne_fallback refuse a 2-D layer alike."""
    import anne_fallback
    k = array("f", [1.0, 0.0, 0.0, -1.0])
    conv = (10, 3, 3, 1, 2, 2, 1, 1)  # conv2d: h, w, c, kh, kw, sh, sw, then padding, dh, dw
    cases = (
        (conv + (0, 1, 1), 9, 4, k, "ok"),
        (conv + (2, 1, 1), 9, 4, k, "layer 0: bad 2-D spec: sizes, strides, dilation >= 1; padding 0..1"),
        (conv + (1, 1, 1), 9, 4, k, "layer 0: output buffer has 4 floats, not out_h x out_w x channels"),
        (conv + (0, 1, 1), 8, 4, k, "layer 0: 8 inputs are not 3 x 3 x 1, or too few"),
        (conv + (0, 1, 1), 9, 4, array("f", [1.0, 2.0, 3.0]), "layer 0: conv2d kernel has 3 floats, not 2 x 2 x 1 x filters"),
        ((11, 3, 3, 1, 2, 2, 1, 1, 0), 9, 4, None, "ok"),  # max pooling: h, w, c, ph, pw, sh, sw, padding
        ((12, 3, 3, 1, 2, 2, 0, 1, 0), 9, 4, None, "layer 0: bad 2-D spec: sizes, strides, dilation >= 1; padding 0..1"),
        ((13, 1), 9, 1, None, "ok"),
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
        # (the network first, its modules imported, then the rows: the
        # stock Cortex-M0's heap)
        net = anne_net.load(model + ".anne")
        gc.collect()
        rows, argmax = reference(model)
        net = test_keras(net, model, rows, argmax)
        if model == "conv2d_options":
            test_save_load(net, model, rows)
        net = rows = None
        gc.collect()
    test_built()
    gc.collect()
if anne_net._native is not None:
    test_same_errors()

report(NAME)
