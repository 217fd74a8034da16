# files: tests/board/boardcheck.py
# anne_net on the board: hand-built networks against hand-computed values,
# activation changes taking effect, predict_batch/evaluate/classify, and
# predict_into() allocating nothing (native backend).
import gc
import math
from array import array

import anne_net
from boardcheck import check, close, all_close, raises, report
from anne_net import Dense, Sequential

NAME = "test_net_build"


def small_net():
    # 2 -> Dense(2, relu) -> Dense(1): weights chosen to be checked by hand
    net = Sequential(2)
    net.add(Dense(2, "relu"))
    net.add(Dense(1))
    net.layers[0].set_weights([[1, -1], [2, 0.5]], [0.5, -0.25])
    net.layers[1].set_weights([[1.5], [-2]], [0.1])
    return net


def test_hand_values():
    net = small_net()
    x = [1.0, 2.0]
    # z1 = [1*1 + 2*2 + 0.5, 1*-1 + 2*0.5 - 0.25] = [5.5, -0.25]
    # relu -> [5.5, 0]; out = 1.5*5.5 - 2*0 + 0.1 = 8.35
    y = net.predict(x)
    check(isinstance(y, array) and len(y) == 1, "predict returns array('f') of 1")
    check(close(y[0], 8.35), "relu net: %r != 8.35" % y[0])
    check(close(net.predict(array("f", x))[0], 8.35), "predict(array)")
    net.layers[0].activation = "linear"  # h = [5.5, -0.25] -> 8.25 + 0.5 + 0.1
    check(close(net.predict(x)[0], 8.85), "linear: %r != 8.85" % net.predict(x)[0])
    net.layers[0].activation = "leaky_relu"  # slope 0.2: h = [5.5, -0.05]
    check(close(net.predict(x)[0], 8.45), "leaky_relu: %r != 8.45" % net.predict(x)[0])
    # Keras ReLU(negative_slope=0.5, max_value=5): clip(relu(x), 0, 5) - 0.5*relu(-x)
    # h = [5, -0.125] -> 7.5 + 0.25 + 0.1
    net.layers[0].set_activation("relu", negative_slope=0.5, max_value=5.0)
    check(close(net.predict(x)[0], 7.85), "relu(ns=0.5, max=5): %r != 7.85" % net.predict(x)[0])
    check(net.layers[0].params == {"negative_slope": 0.5, "max_value": 5.0}, "params %r" % net.layers[0].params)
    # relu threshold=1: x if x > 1 else 0 -> h = [5.5, 0]
    net.layers[0].set_activation("relu", threshold=1.0)
    check(close(net.predict(x)[0], 8.35), "relu(threshold=1)")
    # sigmoid output: bias -8.25 makes z = 0 -> 0.5
    net.layers[0].activation = "relu"
    net.layers[1].set_weights([[1.5], [-2]], [-8.25])
    net.layers[1].activation = "sigmoid"
    check(close(net.predict(x)[0], 0.5), "sigmoid(0) = 0.5")
    net.layers[1].activation = "tanh"
    check(abs(net.predict(x)[0]) < 1e-5, "tanh(0) = 0")
    # an unknown name raises and leaves the layer as it was
    check(raises(ValueError, setattr, net.layers[1], "activation", "swishy"), "unknown activation raises")
    check(net.layers[1].activation == "tanh", "activation unchanged after error")
    check(raises(ValueError, net.layers[0].set_activation, "relu", alpha=1.0), "relu takes no alpha")
    check(net.layers[0].activation == "relu" and net.layers[0].params == {}, "unchanged after bad param")
    check(raises(ValueError, net.layers[0].set_activation, "threshold", threshold=1.0),
          "threshold needs default_value")
    # a wrong-length input: ValueError naming both lengths, on both backends
    try:
        net.predict_into(array("f", [1.0] * (net.n_inputs + 1)), array("f", [0.0]))
        check(False, "a wrong-length x raises")
    except ValueError as e:
        check("x has %d values" % (net.n_inputs + 1) in str(e), "message: %s" % e)


def test_batch_and_vector_outputs():
    net = Sequential(2)
    net.add(Dense(2, "softmax", use_bias=False))
    net.layers[0].set_weights([[1, 0], [0, 1]])  # identity
    y = net.predict([1.0, 1.0])
    check(all_close(y, [0.5, 0.5]), "softmax of equal logits: %r" % y)
    e = math.exp(2.0)
    y = net.predict([2.0, 0.0])
    check(all_close(y, [e / (e + 1), 1 / (e + 1)]), "softmax [2, 0]: %r" % y)
    rows = net.predict_batch([[2.0, 0.0], [0.0, 2.0]])
    check(len(rows) == 2 and all_close(rows[1], [1 / (e + 1), e / (e + 1)]), "predict_batch")
    # evaluate: preds [0, 1, 0] vs labels [0, 1, 1]: accuracy 2/3,
    # loss mean(-ln(e/(e+1)) x2, -ln(1/(e+1)))
    r = net.evaluate([[2, 0], [0, 2], [2, 0]], [0, 1, 1])
    want = (2 * math.log(1 + 1 / e) + math.log(e + 1)) / 3
    check(close(r["accuracy"], 2 / 3), "evaluate accuracy %r" % r)
    check(close(r["loss"], want, 1e-4), "evaluate loss %r != %r" % (r["loss"], want))
    check(net.classify([[2, 0], [0, 2]]) == [0, 1], "classify")
    # glu on the last layer halves the outputs: a * sigmoid(b), b = 0 -> a / 2
    net.layers[0].activation = "glu"
    check(net.n_outputs == 1, "glu halves the outputs")
    check(close(net.predict([3.0, 0.0])[0], 1.5), "glu: %r != 1.5" % net.predict([3.0, 0.0])[0])
    net.layers[0].activation = "linear"
    check(net.n_outputs == 2, "back to 2 outputs")
    # binary: one sigmoid unit, threshold 0.5
    b = Sequential(1)
    b.add(Dense(1, "sigmoid"))
    b.layers[0].set_weights([[1.0]], [0.0])
    r = b.evaluate([[2.0], [-2.0], [1.0]], [1, 0, 0])
    s2 = 1 / (1 + math.exp(-2.0))
    s1 = 1 / (1 + math.exp(-1.0))
    want = (-math.log(s2) - math.log(s2) - math.log(1 - s1)) / 3
    check(close(r["accuracy"], 2 / 3) and close(r["loss"], want, 1e-4), "binary evaluate %r" % r)
    # regression: MSE
    r = small_net().evaluate([[1, 2], [0, 0]], [[8.35], [0.0]])
    # second row: h = relu([0.5, -0.25]) = [0.5, 0] -> 0.75 + 0.1 = 0.85
    check(close(r["mse"], 0.85 * 0.85 / 2, 1e-4), "regression mse %r" % r)


def test_predict_into_allocates_nothing():
    net = Sequential(4)
    for u, a in ((8, "relu"), (6, "gelu"), (3, "softmax")):
        net.add(Dense(u, a))
    net.layers[1].set_activation("relu", negative_slope=0.1, max_value=6.0)
    x = array("f", [0.1, -0.2, 0.3, 0.4])
    out = array("f", [0.0, 0.0, 0.0])
    net.predict_into(x, out)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(20):
            net.predict_into(x, out)
        after = gc.mem_alloc()
    finally:
        gc.enable()
    check(after == before, "predict_into allocated %d bytes" % (after - before))
    check(close(sum(out), 1.0), "softmax output sums to 1")


def forward_by_hand(net, x):
    """The network's outputs from its get_weights(), in Python floats."""
    for L in net.layers:
        k, b = L.get_weights()
        z = [sum(x[i] * k[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
        x = [max(v, 0.0) for v in z] if L.activation == "relu" else z
    return x


def test_chain_arena():
    # hidden outputs 10, 1, 1, 10: the lower bound is 11 floats (a layer's
    # input and output); two buffers, one for odd and one for even layers,
    # would take 20
    net = Sequential(3)
    for u in (10, 1, 1, 10, 2):
        net.add(Dense(u, "relu" if u != 2 else "linear"))
    x = [0.5, -1.0, 2.0]
    for what, edit, hidden in (("built", None, [10, 1, 1, 10]),
                               ("layer 1 removed", lambda: net.remove(1), [10, 1, 10]),
                               ("layer 0 resized", lambda: net.resize(0, 20), [20, 1, 10])):
        if edit:
            edit()
        want = max([hidden[i] + hidden[i + 1] for i in range(len(hidden) - 1)]) * 4
        m = net.memory()
        check(m["arena"] == want and m["lower_bound"] == want and m["tensors"] == len(hidden),
              "%s: memory %r, want %d bytes" % (what, m, want))
        check(all_close(list(net.predict(x)), forward_by_hand(net, x), 1e-5), "%s: outputs" % what)


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    for test in (test_hand_values, test_batch_and_vector_outputs, test_chain_arena):
        print("%s [%s] %s" % (NAME, backend, test.__name__))
        test()
        gc.collect()
if anne_net._native is not None:
    anne_net.use_backend("native")
    print("%s [native] test_predict_into_allocates_nothing" % NAME)
    test_predict_into_allocates_nothing()
else:
    print("%s: no native anne module: the allocation check is skipped" % NAME)
report(NAME)
