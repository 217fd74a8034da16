# files: tests/fixtures/training/cnn_momentum_sparse.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/fixtures/training/cnn_adam_depthwise.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/fixtures/training/cnn_sgd_separable.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/board/boardcheck.py tests/board/keras_runs.py
# Training 2-D networks on the board (issue 30; anne_net's compile()/fit()):
# - real Keras training runs of small CNNs (tests/fixtures/training/cnn_*,
#   tools/make_training_fixtures.py cnn: Conv2D, DepthwiseConv2D,
#   SeparableConv2D as the converter's DepthwiseConv2D and 1x1 Conv2D, max
#   and average pooling, ZeroPadding2D, the global poolings, Flatten; SGD
#   with momentum, plain SGD, Adam) reproduced within 1e-4 abs + 1e-4 rel:
#   the weights and the loss history,
#   on both backends (the native loop, and the Python one over
#   anne_fallback2d's backward kernels);
# - x of the wrong length refused, the network unchanged; (native)
#   training_memory is what fit keeps, to the byte, and a step allocates
#   nothing.
import gc
from array import array
from os import listdir

import anne_net
from anne_net import Dense, Sequential
from boardcheck import allocated, check, kept, refused, report
from keras_runs import _runs, _weights, fit_like_keras

NAME = "test_train_2d"


def test_keras_runs():
    for run in _runs():
        fit_like_keras(run)
        gc.collect()


def _cnn(rows):
    """A small CNN on 6x6x1 images (Conv2D, ZeroPadding2D, DepthwiseConv2D,
    max pooling, Flatten, Dense) and `rows` rows of flat float32 data."""
    anne_net.seed(7)
    net = Sequential([anne_net.Input((6, 6, 1)), anne_net.Conv2D(2, 3, activation="relu"),
                      anne_net.ZeroPadding2D(1), anne_net.DepthwiseConv2D(3, activation="tanh"),
                      anne_net.MaxPooling2D(2), anne_net.Flatten(), Dense(3, "softmax")])
    # (filled in place: a list of floats first needs blocks a stock
    # Cortex-M0's fragmented heap may not have)
    x = array("f", range(36 * rows))
    for i in range(len(x)):
        x[i] = ((i * 7) % 11) / 11.0
    y = array("f", range(3 * rows))
    for i in range(len(y)):
        y[i] = 1.0 if i % 3 == (i // 3) % 3 else 0.0
    return net, x, y


def test_bad_input():
    net, x, y = _cnn(8)
    net.compile("adam", "categorical_crossentropy", ["accuracy"])
    before = _weights(net)
    check(refused(ValueError, "x has 289 values, not a multiple of the 36 per row", net.fit,
                  array("f", list(x) + [0.0]), y, verbose=0), "flat x of the wrong length")
    check(refused(ValueError, "x[1] has 35 values, expected 36", net.fit,
                  [[0.0] * 36, [0.0] * 35], [[1.0, 0.0, 0.0]] * 2, verbose=0), "a row of the wrong length")
    check(refused(ValueError, "x has 2 rows but y has 1", net.fit, [[0.0] * 36] * 2, [[1.0, 0.0, 0.0]], verbose=0),
          "y of another length")
    check(_weights(net) == before, "refused calls change nothing")
    h = net.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    loss = h.history["loss"]
    check(len(loss) == 3 and loss[-1] < loss[0], "a CNN trains: loss %r" % loss)
    e = net.evaluate(x, y)
    check(abs(e["loss"] - net.evaluate(x, y)["loss"]) == 0.0 and e["n"] == 8, "evaluate: %r" % e)


def test_memory():
    """training_memory(batch_size) is what fit keeps, to the byte, and a
    step allocates nothing (the same bytes for 2 steps as for 8)."""
    for opt in (anne_net.SGD(0.1), anne_net.SGD(0.1, momentum=0.9), anne_net.Adam(0.01)):
        held = []
        for _ in range(2):
            net = x = y = None
            gc.collect()
            net, x, y = _cnn(32)
            net.compile(opt, "categorical_crossentropy", ["accuracy"])
            want = net.training_memory(4)
            held.append(kept(lambda: net.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)))
        held = min(held)
        check(held == want, "%r: fit keeps %d bytes, training_memory(4) says %d" % (opt, held, want))
        check(net.training_memory(16) > want, "a bigger batch needs more")
        short = (x[:len(x) // 4], y[:3 * 8])
        steps = [allocated(lambda: net.fit(xs, ys, batch_size=4, epochs=1, verbose=0, shuffle=False))
                 for xs, ys in (short, (x, y))]
        check(steps[0] == steps[1], "%r: fit allocates %d bytes for 2 steps, %d for 8" % (opt, steps[0], steps[1]))
        net = x = y = short = None
        gc.collect()


backends = ["python"] + (["native"] if anne_net._native is not None else [])
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    # (the inference-only module has no fit_epoch: fit() runs the Python loop)
    native = backend == "native" and hasattr(anne_net._anne, "fit_epoch")
    if [f for f in listdir() if f.endswith(".json")]:
        test_keras_runs()
    else:
        test_bad_input()
        if native:
            gc.collect()
            test_memory()
    gc.collect()
report(NAME)
