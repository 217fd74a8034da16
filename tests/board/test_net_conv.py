# files: tests/board/boardcheck.py
# Sensor-window networks at the REPL: Conv1D, pooling, Flatten and Reshape
# built, run (native against the pure-Python backend, and against the
# definition written out here), edited with their shapes rechecked, saved
# and loaded, refused with clear errors, and trained behind frozen layers.
# (Keras parity of these layers: test_net_keras.py with the conv fixtures.)
import gc
import math
import sys
from array import array

import anne_net
from boardcheck import all_close, check, refused, report
from anne_net import (AveragePooling1D, Conv1D, Dense, Flatten, GlobalAveragePooling1D,
                      GlobalMaxPooling1D, Input, MaxPooling1D, Reshape, Sequential)

NAME = "test_net_conv"
NATIVE = anne_net.BACKEND == "native"


def window(steps, channels, seed=1):
    return array("f", [math.sin(0.37 * i + seed) for i in range(steps * channels)])


def conv_by_hand(x, steps, cin, kernel, bias, k, filters, strides, dilation, pad, n_out):
    """Keras's Conv1D written out (x[t * cin + c], kernel[(j * cin + c) * filters + f])."""
    out = []
    for t in range(n_out):
        for f in range(filters):
            acc = 0.0
            for j in range(k):
                s = t * strides + j * dilation - pad
                if 0 <= s < steps:
                    for c in range(cin):
                        acc += x[s * cin + c] * kernel[(j * cin + c) * filters + f]
            out.append(acc + (bias[f] if bias is not None else 0.0))
    return out


def test_window():
    net = har_net()
    w = anne_net.Window(net, hop=4)
    samples = [[math.sin(0.1 * i), math.cos(0.2 * i), 0.01 * i] for i in range(40)]
    outs = []
    for i, s in enumerate(samples):
        y = w.push(s)
        if y is not None:
            outs.append((i, list(y)))
    check([i for i, _ in outs] == [15, 19, 23, 27, 31, 35, 39], "runs when full, then every hop: %r"
          % [i for i, _ in outs])
    ok = True
    for i, y in outs:
        x = array("f", [v for s in samples[i - 15:i + 1] for v in s])
        ok &= list(net.predict(x)) == y
    check(ok, "each output is the network on the last 16 samples, oldest first")
    check(refused(ValueError, "a sample has 2 values", w.push, [1, 2]), "wrong channel count")
    w.reset()
    check(all(w.push(s) is None for s in samples[:15]) and w.push(samples[15]) is not None, "reset")
    one = Sequential([Input(8), Dense(2)])
    w1 = anne_net.Window(one, hop=1)
    got = []
    for i in range(9):
        y = w1.push(float(i))
        got.append(None if y is None else list(y))
    check(got[6] is None and got[7] == list(one.predict(list(range(8))))
          and got[8] == list(one.predict(list(range(1, 9)))), "one channel, plain numbers")
    if NATIVE:
        import gc
        gc.collect()
        before = gc.mem_alloc()
        for s in samples:
            w.push(s)
        check(gc.mem_alloc() == before, "push allocates nothing (%d bytes)" % (gc.mem_alloc() - before))


def test_affine_layers():
    from anne_net import BatchNormalization, Normalization, Rescaling
    net = Sequential([Input((2, 2)), Normalization(mean=[1, 2], variance=[4, 0.25]), Flatten(),
                      Rescaling(2.0, offset=[0, 0, 1, 1]), Dense(2), BatchNormalization()])
    net.layers[3].set_weights([[1, 0], [0, 1], [1, 0], [0, 1]], [0, 0])
    net.layers[4].set_weights([[2, 1], [1, 0], [0, 1], [1, 3]])
    x = array("f", [3, 2, 5, 4])
    # by hand: norm (3-1)/2=1, (2-2)/0.5=0, (5-1)/2=2, (4-2)/0.5=4; x2 +[0,0,1,1]: 2,0,5,9;
    # dense: [7, 9]; batch norm: (7 - 0) / sqrt(1.001) * 2 + 1, (9 - 1) / sqrt(3.001) + 0
    want = [7 / math.sqrt(1.001) * 2 + 1, 8 / math.sqrt(3.001)]
    check(all_close(list(net.predict(x)), want, 1e-5), "affine layers: %r != %r" % (list(net.predict(x)), want))
    net.save("affine.anne")
    back = anne_net.load("affine.anne")
    check([type(L).__name__ for L in back.layers] == [type(L).__name__ for L in net.layers], "affine kinds kept")
    check(all_close(list(back.predict(x)), want, 1e-5), "affine save/load")
    if NATIVE:
        net.use_backend("python")
        check(all_close(list(net.predict(x)), want, 1e-5), "affine on the python backend")
        net.use_backend("native")
    norm = Normalization()
    n2 = Sequential([Input(2), norm])
    norm.adapt([[10, 200], [12, 180], [14, 220]])
    check(all_close(norm.mean, [12, 200]) and all_close(norm.variance, [8 / 3, 800 / 3], 1e-4), "adapt")
    check(all_close(list(n2.predict([12, 200])), [0, 0]), "adapted normalization centres the data")
    check(refused(ValueError, "takes 4 arrays", BatchNormalization().set_weights, [1, 2]), "BN weights")
    check(refused(ValueError, "3 values for 2 channels", Sequential, [Input(2), Rescaling([1, 2, 3])]),
          "per-channel scale of the wrong size")


def test_conv_definition():
    anne_net.seed(3)
    cases = (("valid", 1, 1, 0, 6), ("same", 1, 1, 1, 8), ("causal", 1, 2, 4, 8), ("same", 2, 1, 0, 4),
             ("valid", 3, 1, 0, 2))
    for padding, strides, dilation, pad, n_out in cases:
        net = Sequential([Input((8, 2)), Conv1D(3, 3, strides=strides, padding=padding,
                                                dilation_rate=dilation)])
        L = net.layers[0]
        x = window(8, 2)
        want = conv_by_hand(x, 8, 2, L.kernel, L.bias, 3, 3, strides, dilation, pad, n_out)
        check(net.layers[0].output_shape == (n_out, 3), "%s output shape %r" % (padding, L.output_shape))
        got = net.predict(x)
        check(all_close(got, want, 1e-5), "conv %s strides %d dilation %d: %r != %r"
              % (padding, strides, dilation, list(got), want))


def test_pooling_definition():
    x = array("f", [1, -1, 3, -2, 2, -3, 5, -4, 4, -5])  # 5 steps, 2 channels
    for layer, want in ((MaxPooling1D(2), [3, -1, 5, -3]),
                        (MaxPooling1D(2, padding="same"), [3, -1, 5, -3, 4, -5]),
                        (AveragePooling1D(2, padding="same"), [2, -1.5, 3.5, -3.5, 4, -5]),
                        (AveragePooling1D(3, strides=1), [2, -2, 10 / 3, -3, 11 / 3, -4]),
                        (GlobalAveragePooling1D(), [3, -3]), (GlobalMaxPooling1D(), [5, -1])):
        net = Sequential([Input((5, 2)), layer])
        check(all_close(net.predict(x), want), "%r: %r" % (layer, list(net.predict(x))))


def har_net():
    anne_net.seed(11)
    return Sequential([Input((16, 3)), Conv1D(6, 5, padding="same", activation="relu"), MaxPooling1D(2),
                       Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh"),
                       AveragePooling1D(2, padding="same"), Flatten(), Dense(8, "relu"),
                       Dense(3, "softmax")])


def test_backends_agree():
    net = har_net()
    x = window(16, 3)
    a = list(net.predict(x))
    if NATIVE:
        net.use_backend("python")
        b = list(net.predict(x))
        net.use_backend("native")
        check(all_close(a, b, 1e-5), "native %r != python %r" % (a, b))
    check(abs(sum(a) - 1) < 1e-5 and len(a) == 3, "softmax output %r" % a)
    check(net.output_shape == (3,) and net.n_inputs == 48, "shapes %r %d" % (net.output_shape, net.n_inputs))
    # softmax on a Conv1D works per step (Keras's axis=-1)
    n2 = Sequential([Input((4, 2)), Conv1D(3, 1, activation="softmax")])
    y = n2.predict(window(4, 2))
    check(all(abs(y[3 * t] + y[3 * t + 1] + y[3 * t + 2] - 1) < 1e-5 for t in range(4)), "per-step softmax")


def test_editing():
    net = har_net()
    x = window(16, 3)
    k2 = net.layers[2].kernel
    k5 = net.layers[5].kernel
    net.layers[0].activation = "elu"
    check(net.layers[0].activation == "elu" and net.layers[2].kernel is k2, "activation change keeps weights")
    net.resize(0, 5)  # filters: the next Conv1D (5 input channels now) gets new weights
    check(net.layers[0].filters == 5 and net.layers[0].output_shape == (16, 5), "resized filters")
    check(net.layers[2].kernel is not k2 and len(net.layers[2].kernel) == 3 * 5 * 4, "next conv re-initialised")
    check(net.layers[5].kernel is k5, "the Dense after the flatten keeps its weights (its input did not change)")
    net.layers[2].filters = 2  # the Dense after Flatten now gets 4 x 2 inputs
    check(net.layers[5].n_in == 8 and len(net.layers[5].kernel) == 8 * 8, "Dense re-initialised for its new input")
    before = [list(net.predict(x)), [L.output_shape for L in net.layers]]
    check(refused(ValueError, "layer 2 (MaxPooling1D)", net.insert, 1, MaxPooling1D(16)),
          "insert that leaves no steps for a later layer")
    check(refused(ValueError, "layer 4 (Dense): Dense takes a flat input", net.remove, 4), "remove the Flatten")
    check([list(net.predict(x)), [L.output_shape for L in net.layers]] == before, "refusals change nothing")
    net.insert(1, AveragePooling1D(2))  # 8 steps: the Dense after Flatten re-initialised again
    check([L.output_shape for L in net.layers] == [(16, 5), (8, 5), (4, 5), (4, 2), (2, 2), (4,), (8,), (3,)]
          and net.layers[6].n_in == 4, "shapes follow an insert: %r" % [L.output_shape for L in net.layers])
    removed = net.remove(1)
    check(isinstance(removed, AveragePooling1D) and removed._net is None, "remove returns the layer")
    check(refused(ValueError, "has no units to resize", net.resize, 1, 4), "resize a pooling layer")
    check(refused(ValueError, "Conv1D cannot take glu", net.layers[0].set_activation, "glu"), "glu on Conv1D")


def test_weights_round_trip():
    net = har_net()
    x = window(16, 3)
    y = list(net.predict(x))
    w = net.get_weights()
    check(len(w) == 8, "four layers with weights: %d arrays" % len(w))
    check(len(w[0]) == 5 and len(w[0][0]) == 3 and len(w[0][0][0]) == 6, "Keras layout kernel_size x in x filters")
    anne_net.seed(99)
    other = har_net()
    other.set_weights(w)
    check(all_close(list(other.predict(x)), y, 1e-6), "set_weights(get_weights())")
    c = Conv1D(2, 2)
    c.set_weights([[[1, 0], [0, 1]], [[0.5, 0], [0, 0.5]]], [0.0, 1.0])  # nested before joining
    n2 = Sequential([Input((3, 2)), c])
    check(all_close(list(n2.predict(array("f", [1, 2, 3, 4, 5, 6]))), [2.5, 5, 5.5, 8]), "given conv weights")
    d = Conv1D(2, 2)
    d.set_weights([[[1, 0], [0, 1]], [[0.5, 0], [0, 0.5]]], [0.0, 1.0])
    check(refused(ValueError, "the layer's weights take", Sequential, [Input((3, 3)), d]),
          "weights for 2 channels on a 3-channel input")
    check(refused(ValueError, "taps", Conv1D(2, 3).set_weights, [[[1, 0]], [[0, 1]]], [0, 0]), "wrong taps")


def test_save_load():
    net = har_net()
    net.name = "har"
    x = window(16, 3)
    net.save("har.anne")
    back = anne_net.load("har.anne")
    check([type(L).__name__ for L in back.layers] == [type(L).__name__ for L in net.layers], "same layer kinds")
    check([L.output_shape for L in back.layers] == [L.output_shape for L in net.layers], "same shapes")
    check(list(back.predict(x)) == list(net.predict(x)), "same outputs after save/load")
    check(back.input_shape == (16, 3) and back.name == "har", "input shape and name")
    with open("har.anne", "rb") as f:
        inplace = anne_net.load(f.read())
    check(list(inplace.predict(x)) == list(net.predict(x)), "bytes load")
    r = Sequential([Input(12), Reshape((4, 3)), Conv1D(2, 2), Reshape((-1,)), Dense(2)])
    r.save("reshape.anne")
    r2 = anne_net.load("reshape.anne")
    xr = window(4, 3)
    check(list(r2.predict(xr)) == list(r.predict(xr)) and r2.layers[0].output_shape == (4, 3), "Reshape round trip")


def test_bad_input():
    check(refused(ValueError, "Conv1D takes (steps, channels)", Sequential, [Input(8), Conv1D(2, 3)]),
          "Conv1D on a flat input")
    check(refused(ValueError, "padding must be", Conv1D, 2, 3, padding="full"), "unknown padding")
    check(refused(ValueError, "padding must be", MaxPooling1D, 2, padding="causal"), "causal pooling")
    check(refused(TypeError, "kernel_size must be an int", Conv1D, 2, 2.5), "float kernel size")
    check(refused(ValueError, "kernel_size out of range", Conv1D, 2, 0), "kernel size 0")
    check(refused(ValueError, "longer than its input", Sequential, [Input((2, 1)), Conv1D(1, 3)]),
          "window longer than the input")
    check(refused(ValueError, "cannot reshape", Sequential, [Input(10), Reshape((3, 3))]), "bad reshape")
    check(refused(ValueError, "at most one -1", Reshape, (-1, -1)), "two -1")
    net = har_net()
    check(refused(ValueError, "47", net.predict_into, array("f", range(47)), array("f", [0, 0, 0])), "short window")
    check(refused(ValueError, "layer 0: output buffer has 5 floats", anne_net._anne.forward,
                  ((net.layers[0].kernel, net.layers[0].bias, "relu", None, (2, 3, 5, 1, 1, 1)),),
                  window(16, 3), array("f", [0] * 5)), "forward with a wrong out")


def _trained(net, xs, labels, epochs=6):
    net.compile(anne_net.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    h = net.fit(xs, labels, batch_size=4, epochs=epochs, verbose=0, shuffle=False)
    return h.history["loss"], [list(w) for L in net.layers if L.weighted for w in (L.kernel, L.bias)]


def test_fit_through_conv():
    """fit() trains Conv1D layers, through pooling and Flatten (test_train
    checks the numbers against Keras's runs); the backends train alike; a
    frozen Conv1D stays as it is."""
    # A smaller run on the emulated Pico (3-4 million instructions a second)
    # and where the heap is short (the stock M0: anne.mpy and this script
    # leave about 55 KB): there the Python backend is not compared.
    gc.collect()
    small = sys.platform == "rp2" or gc.mem_free() < 100000
    n, epochs = (6, 3) if small else (12, 6)
    xs = [window(16, 3, seed=s) for s in range(n)]
    labels = [s % 3 for s in range(n)]
    net = har_net()
    k0 = array("f", net.layers[0].kernel)
    loss, weights = _trained(net, xs, labels, epochs)
    check(loss[-1] < loss[0], "a network of Conv1D layers learns: %r" % loss)
    check(list(net.layers[0].kernel) != list(k0), "the first Conv1D is trained")
    e = net.evaluate(xs, labels)
    check(abs(e["loss"] - loss[-1]) < 0.5 and 0 <= e["accuracy"] <= 1, "evaluate %r" % e)
    net = e = None
    gc.collect()
    if NATIVE and not small:
        net = har_net()
        net.use_backend("python")
        py_loss, py_weights = _trained(net, xs, labels, epochs)
        check(all_close(py_loss, loss, 1e-4) and all(all_close(a, b, 1e-4) for a, b in zip(py_weights, weights)),
              "the Python backend trains as the native one: %r, %r" % (py_loss, loss))
    net = py_weights = weights = None
    gc.collect()
    net = har_net()
    net.compile(anne_net.Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"])
    stop = anne_net.EarlyStopping("val_loss", patience=1, restore_best_weights=True)
    h = net.fit(xs, labels, batch_size=4, epochs=epochs - 2, verbose=0, validation_data=(xs[:6], labels[:6]),
                callbacks=[stop])
    best = min(h.history["val_loss"])
    check(abs(net.evaluate(xs[:6], labels[:6])["loss"] - best) < 1e-5 and "val_accuracy" in h.history,
          "EarlyStopping restores a Conv1D network's best weights: %r" % h.history["val_loss"])
    net = stop = h = None
    gc.collect()
    net = har_net()
    for i in (0, 2):
        net.layers[i].trainable = False
    loss, _ = _trained(net, xs, labels, 2 * epochs)
    check(loss[-1] < loss[0], "the Dense layers behind frozen convolutions learn: %r" % loss[::3])
    check(list(net.layers[0].kernel) == list(k0), "frozen Conv1D unchanged")
    net = None
    gc.collect()
    mid = Sequential([Input(4), Dense(6, "tanh"), Reshape((3, 2)), MaxPooling1D(1), Flatten(), Dense(2)])
    mid.compile("sgd", "mse")
    h = mid.fit([[1, 2, 3, 4], [0, 1, 0, 1]] * 4, [[0, 1], [1, 0]] * 4, epochs=8, verbose=0)
    check(h.history["loss"][-1] < h.history["loss"][0], "a Dense before a pooling learns %r" % h.history["loss"])
    tail = Sequential([Input((4, 2)), Conv1D(2, 2), GlobalMaxPooling1D()])
    tail.compile("sgd", "mse")
    check(refused(ValueError, "end with a Dense layer: this one ends with GlobalMaxPooling1D", tail.fit,
                  [[0.0] * 8], [[0.0, 0.0]], verbose=0), "a network that does not end with Dense")


def test_backward_kernels():
    """layer_backward's refusals name the argument; a pooling's gradient
    goes where TensorFlow's does."""
    # (the inference-only native module has no training kernels)
    for name in (["native"] if NATIVE and hasattr(anne_net._native, "layer_backward") else []) + ["python"]:
        _backward_kernels(anne_net._backend_module(name))


def _backward_kernels(b):
    f = lambda n: array("f", bytearray(4 * n))  # noqa: E731
    pool = (None, None, None, None, (anne_net.anne_ops.LAYER_MAX_POOLING1D, 1, 2, 2, 0))
    dx = f(4)
    b.layer_backward(pool, array("f", [1, 3, 2, 2]), array("f", [5, 7]), 1.0, None, None, dx)
    check(list(dx) == [0, 5, 7, 0], "max pooling: the first max of each window: %r" % list(dx))
    check(refused(ValueError, "dy has 3 floats", b.layer_backward, pool, f(4), f(3), 1.0, None, None, dx),
          "a dy of the wrong size")
    check(refused(ValueError, "dx has 3 floats, expected 4", b.layer_backward, pool, f(4), f(2), 1.0, None, None,
                  f(3)), "a dx of the wrong size")
    check(refused(ValueError, "gk and gb must be None", b.layer_backward, pool, f(4), f(2), 1.0, f(1), None, dx),
          "a gradient for a layer without weights")
    conv = (f(6), None, "linear", None, (anne_net.anne_ops.LAYER_CONV1D, 1, 3, 1, 0, 1))  # 2 filters
    check(refused(ValueError, "gk has 5 floats, expected 6", b.layer_backward, conv, f(4), f(4), 1.0, f(5), None,
                  None), "a gk of the wrong size")
    check(refused(ValueError, "gb has 3 floats, expected 2", b.layer_backward, conv, f(4), f(4), 1.0, f(6), f(3),
                  None), "a gb of the wrong size")
    check(refused(ValueError, "use dense_backward", b.layer_backward, (f(6), None, "linear", None),
                  f(2), f(3), 1.0, f(6), None, None), "a dense layer")
    check(refused(TypeError, "gk must be a float32 buffer", b.layer_backward, conv, f(4), f(4), 1.0, [0.0] * 6,
                  None, None), "a list for gk")
    if b is anne_net._native:
        x = f(4)
        check(refused(ValueError, "shares memory", b.layer_backward, pool, x, f(2), 1.0, None, None, x), "overlap")


# (training first, while the heap is least fragmented: the stock boards,
# whose RAM also holds anne.mpy and the board library, have least of it)
test_fit_through_conv()
test_backward_kernels()
test_conv_definition()
test_pooling_definition()
test_backends_agree()
test_editing()
test_weights_round_trip()
test_save_load()
test_bad_input()
test_window()
test_affine_layers()
report(NAME)
