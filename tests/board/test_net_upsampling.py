# files: tests/fixtures/models/up_sampling1d.anne tests/fixtures/models/up_sampling1d.json tests/fixtures/models/up_sampling1d_size3.anne tests/fixtures/models/up_sampling1d_size3.json tests/board/boardcheck.py
# UpSampling1D end to end (issue 30, float32): real Keras models
# (tools/make_conv2d_model_fixtures.py --upsampling), converted by
# tools/anne_convert.py, loaded and run on both backends within 1e-5 abs +
# 1e-4 rel of Keras's predictions, every recorded row; the layer built at
# the REPL against its definition written out here (each step repeated
# size times), its backward pass (each step's copies' gradients summed);
# bad arguments refused with clear errors; saved and loaded back; the
# native module and anne_fallback refusing bad specs alike. (fit() through
# it: test_train.py's upsampling_adam_sparse run.)
import gc
import os
from array import array

import anne_net
from boardcheck import check, json_last, json_rows, keras_close, refused, report

NAME = "test_net_upsampling"
MODELS = ("up_sampling1d", "up_sampling1d_size3")


def test_keras(model):
    net = anne_net.load(model + ".anne")
    gc.collect()
    path = model + ".json"
    ys, argmax = [array("f", y) for y in json_rows(path, "y")], json_last(path, "argmax")
    check(any(type(L).__name__ == "UpSampling1D" for L in net.layers), "%s: an UpSampling1D layer" % model)
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


def repeat_by_hand(x, steps, channels, size):
    out = []
    for t in range(steps):
        for _ in range(size):
            for c in range(channels):
                out.append(x[t * channels + c])
    return out


def test_built():
    from anne_net import Conv1D, Dense, Flatten, Input, Sequential, UpSampling1D
    up = UpSampling1D(3)
    net = Sequential([Input((4, 2)), up])
    check(net.output_shape == (12, 2) and up.size == 3 and up.n_params == 0, "UpSampling1D(3) on (4, 2): %r"
          % (net.output_shape,))
    check(repr(up) == "UpSampling1D(size=3)" and repr(UpSampling1D()) == "UpSampling1D(size=2)", repr(up))
    x = array("f", [0.5 * v - 1.25 for v in range(8)])
    check(list(net.predict(x)) == repeat_by_hand(x, 4, 2, 3), "each step repeated 3 times")
    check(list(Sequential([Input((3, 1)), UpSampling1D((1,))]).predict(array("f", [1, 2, 3]))) == [1, 2, 3],
          "size (1,): the input as it is")
    # bad arguments, the network unchanged
    check(refused(ValueError, "size", UpSampling1D, 0), "size 0 refused")
    check(refused(ValueError, "size", UpSampling1D, (2, 2)), "size (2, 2) refused")
    check(refused(ValueError, "(steps, channels)", Sequential, [Input((6,)), UpSampling1D(2)]),
          "a flat input refused")
    anne_net.seed(3)
    net = Sequential([Input((5, 2)), Conv1D(3, 2, activation="relu"), UpSampling1D(2), Flatten(), Dense(2)])
    check(net.layers[0].output_shape == (4, 3) and net.layers[1].output_shape == (8, 3), "shapes %r"
          % ([L.output_shape for L in net.layers],))
    return net


def test_backward():
    """layer_backward: dx[t, c] is the sum of dy over the size copies of step t."""
    mod = anne_net._anne
    if not hasattr(mod, "layer_backward"):  # (the inference-only module)
        return
    spec = (anne_net.UpSampling1D.kind, 2, 3)   # channels 2, size 3
    layer = (None, None, None, array("f", bytes(4 * 18)), spec)
    x = array("f", range(6))
    dy = array("f", [0.25 * v - 2.0 for v in range(18)])
    dx = array("f", bytes(4 * 6))
    mod.layer_backward(layer, x, dy, 1.0, None, None, dx)
    want = [sum(dy[(t * 3 + r) * 2 + c] for r in range(3)) for t in range(3) for c in range(2)]
    check(list(dx) == want, "dx %r != %r" % (list(dx), want))


def test_save_load(net, x):
    path = "upsampling_saved.anne"
    net.save(path)
    back = anne_net.load(path)
    os.remove(path)
    check(list(back.predict(x)) == list(net.predict(x)), "saved and loaded: the same outputs")
    check([type(L).__name__ for L in back.layers] == [type(L).__name__ for L in net.layers], "the same layers")
    check([L.size for L in back.layers if type(L).__name__ == "UpSampling1D"] == [3], "size 3 kept")


def error_text(mod, spec, n, out):
    try:
        mod.forward(((None, None, None, array("f", bytes(4 * out)), spec),), array("f", range(n)),
                    array("f", bytes(4 * out)))
        return "ok"
    except ValueError as e:
        return str(e)


def test_same_errors():
    """The native module and anne_fallback refuse these layers alike."""
    import anne_fallback
    kind = anne_net.UpSampling1D.kind
    cases = (
        ((kind, 2, 3), 4, 12, "ok"),
        ((kind, 2, 3), 4, 10, "layer 0: output buffer has 10 floats, not out_steps x channels"),
        ((kind, 2, 3), 5, 15, "layer 0: 5 inputs are not whole steps of 2 channels, or too few"),
        ((kind, 2, 0), 4, 4, "layer 0: bad up_sampling1d spec: channels, size >= 1"),
        ((kind, 0, 2), 4, 8, "layer 0: bad up_sampling1d spec: channels, size >= 1"),
        ((kind, 2, 2, 1), 4, 8, "layer 0: bad up_sampling1d spec: channels, size >= 1"),
    )
    for spec, n, out, want in cases:
        got = [error_text(mod, spec, n, out) for mod in (anne_net._native, anne_fallback)]
        check(got == [want, want], "spec %r: %r" % (spec, got))


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    for model in MODELS:
        net, x = test_keras(model)
        if model == "up_sampling1d_size3":
            test_save_load(net, x)
        net = x = None
        gc.collect()
    test_built()
    test_backward()
    gc.collect()
if anne_net._native is not None:
    test_same_errors()

report(NAME)
