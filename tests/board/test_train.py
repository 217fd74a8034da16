# files: tests/fixtures/gradients.json tests/board/boardcheck.py
# files: tests/fixtures/training/sgd_cce.* tests/fixtures/training/momentum_sparse.* tests/fixtures/training/nesterov_bce.* tests/board/boardcheck.py
# files: tests/fixtures/training/adam_mse.* tests/fixtures/training/adam_mae.* tests/fixtures/training/adam_cce_mixed.* tests/board/boardcheck.py
# files: tests/fixtures/training/sgd_sparse_b1.* tests/board/boardcheck.py
# files: tests/fixtures/training/conv_adam_sparse.* tests/board/boardcheck.py
# files: tests/fixtures/training/conv_momentum_mse.* tests/fixtures/training/conv_nesterov_bce.* tests/board/boardcheck.py
# files: tests/fixtures/training/upsampling_adam_sparse.* tests/board/boardcheck.py
# Training on the board (anne_net's compile()/fit(), anne_train):
# - every activation's backward pass against TensorFlow's gradient
#   (tests/fixtures/gradients.json, tools/make_training_fixtures.py), and
#   the training kernels' refusals;
# - real Keras training runs (tests/fixtures/training/: the untrained model,
#   the data, Keras's final weights and loss history, shuffle=False)
#   reproduced within 1e-4 abs + 1e-4 rel, Dense networks and Conv1D ones
#   (pooling, UpSampling1D, Flatten, Rescaling between);
# - trainable=False, EarlyStopping, validation_data and validation_split, a
#   flat float32 x;
# - bad input refused before any weight changes; a diverging run stops
#   with finite weights.
import gc
import json
from array import array
from os import listdir

import anne_net
import anne_ops
from anne_net import Dense, Sequential
from boardcheck import allocated, check, kept, refused, report

NAME = "test_train"


def near(a, b, atol=1e-4, rtol=1e-4):
    return abs(a - b) <= atol + rtol * abs(b)


def test_gradients():
    """Each activation's backward pass on this backend (dz = dy . J(z), with
    y from the backend's own forward pass) against TensorFlow's gradient."""
    b = anne_net._anne
    names = set()
    n = 0
    for c in _cases("gradients.json"):
        n += 1
        name = c["name"]
        names.add(name)
        kw = dict(c["params"])
        x = array("f", c["x"])
        w = c["w"]
        n_out = len(x) // 2 if name == "glu" else len(x)
        y = array("f", x)
        b.activate(y, name, **kw)
        dy = array("f", [1.0] * len(x)) if w is None else array("f", w)
        dz = array("f", bytearray(4 * len(x)))
        # element-wise ones: all points in one call
        b.activation_backward(x, memoryview(y)[:n_out], dy, dz, name, **kw)
        bad = [i for i in range(len(x)) if not near(dz[i], c["g"][i], 2e-5, 2e-4)]
        check(not bad, "%s%r: %s" % (name, c["params"], ", ".join(
            "at %r %r (TensorFlow %r)" % (x[i] if w is None else list(x), dz[i], c["g"][i]) for i in bad[:3])))
    check(n >= 60 and len(names) == len(anne_ops.ACTIVATIONS), "%d cases, all %d activations: %d"
          % (n, len(anne_ops.ACTIVATIONS), len(names)))


def test_kernel_refusals():
    """The training kernels refuse bad sizes, naming the argument."""
    b = anne_net._anne
    f = lambda n: array("f", bytearray(4 * n))  # noqa: E731
    check(refused(ValueError, "dz has 2 floats, expected 3", b.activation_backward, f(3), f(3), f(3), f(2), "tanh"),
          "activation_backward dz size")
    check(refused(ValueError, "y has 4 floats, expected 2", b.activation_backward, f(4), f(4), f(4), f(4), "glu"),
          "glu halves")
    check(refused(ValueError, "unknown activation", b.activation_backward, f(1), f(1), f(1), f(1), "relu7"),
          "unknown activation")
    check(refused(ValueError, "kernel has 5 floats, expected 6", b.dense_backward, f(2), f(5), f(3), 1.0, f(6), None,
                  None), "dense_backward kernel size")
    check(refused(ValueError, "gb has 2 floats, expected 3", b.dense_backward, f(2), f(6), f(3), 1.0, f(6), f(2),
                  None), "dense_backward gb size")
    check(refused(ValueError, "m is None but momentum is not 0", b.sgd, f(2), f(2), None, 0.1, 0.9, False),
          "sgd without a slot")
    check(refused(ValueError, "v has 1 floats, expected 2", b.adam, f(2), f(2), f(2), f(1), 0.1, 0.9, 0.99, 1e-7),
          "adam slot size")
    check(refused(TypeError, "gk must be a float32 buffer", b.dense_backward, f(2), f(6), f(3), 1.0, [0.0] * 6, None,
                  None), "a list for gk")
    w = array("f", [1.0, 2.0])
    check(b.sgd(w, array("f", [0.5, 0.5]), None, 0.1, 0.0, False) is True, "a finite step says so")
    check(b.sgd(w, array("f", [float("nan"), 0.0]), None, 0.1, 0.0, False) is False, "a NaN gradient is reported")
    check(b.adam(w, array("f", [1e38, 0.0]), f(2), f(2), 1e38, 0.9, 0.999, 1e-7) is False, "an overflow is reported")
    if b is anne_net._native:
        w = f(4)
        check(refused(ValueError, "shares memory", b.sgd, w, w, None, 0.1, 0.0, False), "sgd overlap")


def _cases(path):
    """The cases of a fixture file written one per line (the small boards
    cannot hold the whole file's objects at once)."""
    with open(path) as f:
        for line in f:
            line = line.strip().rstrip(",")
            if line.startswith("{") and line.endswith("}") and '"name"' in line[:12]:
                yield json.loads(line)


def _optimizer(spec):
    o = dict(spec)
    kind = o.pop("name")
    return anne_net.SGD(**o) if kind == "sgd" else anne_net.Adam(**o)


def test_keras_runs():
    names = listdir()
    runs = sorted(f[:-5] for f in names if f.endswith(".json") and f != "gradients.json")
    check(runs and all(r + ".anne" in names for r in runs), "training runs here, each with its .anne: %r" % names)
    for run in runs:
        with open(run + ".json") as f:
            d = json.load(f)
        net = anne_net.load(run + ".anne")
        net.compile(_optimizer(d["optimizer"]), d["loss"], d["metrics"])
        h = net.fit(d["x"], d["y"], batch_size=d["batch_size"], epochs=d["epochs"], shuffle=False, verbose=0)
        i = 0
        worst = 0.0
        for L in net.layers:
            if not L.weighted:  # (pooling, Flatten, Rescaling: nothing trained)
                continue
            for w in (L.kernel, L.bias):
                if w is None:
                    continue
                want = d["weights"][i]
                i += 1
                check(len(w) == len(want), "%s: weight array %d sizes" % (run, i))
                for a, b in zip(w, want):
                    worst = max(worst, abs(a - b) / (1e-4 + 1e-4 * abs(b)))
        check(i == len(d["weights"]), "%s: %d weight arrays" % (run, i))
        check(worst <= 1.0, "%s: weights within 1e-4 of Keras's (worst %.3f of the tolerance)" % (run, worst))
        for k, want in d["history"].items():
            got = h.history.get(k)
            check(got is not None and len(got) == len(want) and all(near(a, b) for a, b in zip(got, want)),
                  "%s: history[%r] %r, Keras %r" % (run, k, got, want))
        print("%s: worst weight %.3f of the tolerance" % (run, worst))
        gc.collect()


def _toy():
    anne_net.seed(3)
    net = Sequential([anne_net.Input(2), Dense(4, "tanh"), Dense(1, "sigmoid")])
    x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 3
    y = [[0.0], [1.0], [1.0], [0.0]] * 3
    return net, x, y


def _weights(net):
    return [list(L.kernel) + (list(L.bias) if L.bias is not None else []) for L in net.layers]


def test_api():
    net, x, y = _toy()
    before = _weights(net)
    check(refused(ValueError, "compile(optimizer, loss) first", net.fit, x, y), "fit before compile")
    check(refused(ValueError, "unknown optimizer 'rmsprop'", net.compile, "rmsprop", "mse"), "unknown optimizer")
    check(refused(ValueError, "anne knows mean_squared_error", net.compile, "sgd", "hinge"), "unknown loss")
    check(refused(ValueError, "unknown metric 'auc'", net.compile, "sgd", "mse", ["auc"]), "unknown metric")
    net.compile("adam", "binary_crossentropy", ["accuracy"])
    check(refused(ValueError, "batch_size must be at least 1", net.fit, x, y, batch_size=0), "batch_size 0")
    check(refused(ValueError, "x is empty", net.fit, [], []), "empty data")
    check(refused(ValueError, "x has 12 rows but y has 11", net.fit, x, y[:11]), "x and y lengths")
    check(refused(ValueError, "y[0] has 2 values, expected 1", net.fit, x, [[0.0, 1.0]] * 12), "y rows")
    check(refused(ValueError, "x[1] has 3 values, expected 2", net.fit, [[0.0, 0.0], [1.0, 2.0, 3.0]], [[0.0]] * 2),
          "x rows")
    sparse = Sequential([anne_net.Input(2), Dense(3, "softmax")])
    sparse.compile("sgd", "sparse_categorical_crossentropy")
    check(refused(ValueError, "out of range: the network has 3 classes", sparse.fit, x[:2], [0, 3]),
          "label out of range")
    check(refused(ValueError, "takes class indices", sparse.fit, x[:2], [0, 1.5]), "fractional label")
    check(_weights(net) == before, "refusals changed no weight")
    # training works, and the loss goes down (XOR-like toy data)
    net.compile(anne_net.Adam(0.05), "binary_crossentropy", ["accuracy"])
    h = net.fit(x, y, batch_size=4, epochs=60, verbose=0)
    loss = h.history["loss"]
    check(len(loss) == 60 and loss[-1] < loss[0] * 0.7, "loss falls: %.4f -> %.4f" % (loss[0], loss[-1]))
    check(sorted(h.history) == ["accuracy", "loss"] and h.epoch == list(range(60)), "history keys, epochs")
    check(net.backend == anne_net.BACKEND, "fit leaves the network on its backend: %s" % net.backend)
    r = net.evaluate(x, y)
    check(near(r["loss"], net.evaluate(x, y)["loss"]) and r["n"] == 12 and "accuracy" in r,
          "evaluate after compile: %r" % r)
    # a flat float32 buffer for x and y gives the same as rows
    a, b = _toy()[0], _toy()[0]
    for n, xs, ys in ((a, x, y), (b, array("f", [v for r in x for v in r]), array("f", [r[0] for r in y]))):
        n.compile(anne_net.SGD(0.5, momentum=0.9), "mse")
        n.fit(xs, ys, batch_size=5, epochs=3, verbose=0, shuffle=False)
    check(_weights(a) == _weights(b), "flat buffers train as rows do")


def test_freeze_and_callbacks():
    net, x, y = _toy()
    net.layers[0].trainable = False
    first = list(net.layers[0].kernel)
    second = list(net.layers[1].kernel)
    net.compile("sgd", "mse")
    net.fit(x, y, epochs=2, verbose=0)
    check(list(net.layers[0].kernel) == first, "a frozen layer keeps its weights")
    check(list(net.layers[1].kernel) != second, "the other layer trains")
    # validation data and early stopping on a rising val_loss (labels flipped)
    net, x, y = _toy()
    flipped = [[1.0 - r[0]] for r in y]
    net.compile(anne_net.Adam(0.05), "binary_crossentropy")
    stop = anne_net.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = net.fit(x, y, epochs=50, verbose=0, validation_data=(x, flipped), callbacks=[stop])
    val = h.history["val_loss"]
    check(len(val) < 50 and stop.stopped_epoch == len(val) - 1, "early stopping after %d epochs" % len(val))
    best = min(val)
    check(near(net.evaluate(x, flipped)["loss"], best, 1e-5, 1e-5), "best weights restored (val_loss %.5f)" % best)
    check(refused(ValueError, "monitors 'val_accuracy'", net.fit, x, y, epochs=1, verbose=0,
                  callbacks=[anne_net.EarlyStopping("val_accuracy")]), "monitor that fit does not report")
    # validation_split: Keras's split (the rows after floor(n * (1 - v))) gives
    # what validation_data of those rows does; rows and flat buffers alike
    x[9] = [0.5, 0.25]
    flat_x, flat_y = array("f", [v for r in x for v in r]), array("f", [r[0] for r in y])
    runs = []
    for kw in ({"validation_split": 0.25}, {"validation_data": (x[9:], y[9:]), "rows": 9},
               {"validation_split": 0.25, "flat": True}):
        net = _toy()[0]
        net.compile(anne_net.SGD(0.5), "mse")
        n = kw.pop("rows", 12)
        xs, ys = (flat_x, flat_y) if kw.pop("flat", False) else (x[:n], y[:n])
        h = net.fit(xs, ys, batch_size=4, epochs=3, verbose=0, shuffle=False, **kw)
        runs.append((h.history, _weights(net)))
    check(runs[0] == runs[1] == runs[2] and len(runs[0][0]["val_loss"]) == 3,
          "validation_split=0.25 keeps the last 3 of 12 rows: %r" % [r[0] for r in runs])
    check(runs[0][0]["val_loss"] != runs[0][0]["loss"], "(the validation rows differ from the training ones)")
    for v, what in ((1.0, "between 0 and 1"), (-0.5, "between 0 and 1"), (0.95, "12 rows: too few to split")):
        check(refused(ValueError, what, net.fit, x, y, verbose=0, validation_split=v), "validation_split=%r" % v)


def test_diverging_run_stops():
    anne_net.seed(4)
    net = Sequential([anne_net.Input(2), Dense(4, "relu"), Dense(1)])
    x = [[1.0, 2.0], [3.0, -1.0]] * 4
    net.compile(anne_net.SGD(1e15), "mse")
    try:
        net.fit(x, [[1.0]] * 8, epochs=20, batch_size=2, verbose=0)
        check(False, "a diverging run raised nothing")
    except ValueError as e:
        check("at epoch" in str(e) and "batch" in str(e) and "last finite step" in str(e),
              "diverging run: %s" % e)
    check(all(v - v == 0.0 for w in _weights(net) for v in w), "weights stay finite")


def _flat_toy(rows):
    """A 4-8-3 network and `rows` rows of flat float32 data for it."""
    anne_net.seed(5)
    net = Sequential([anne_net.Input(4), Dense(8, "relu"), Dense(3, "softmax")])
    x = array("f", [((i * 7) % 11) / 11.0 for i in range(4 * rows)])
    y = array("f", [1.0 if i % 3 == (i // 3) % 3 else 0.0 for i in range(3 * rows)])
    return net, x, y


def _conv_toy(rows):
    """A Conv1D network (16 steps x 3 channels: Conv1D, max pooling, Conv1D
    with softmax per step, global average pooling, Dense) and `rows` rows
    of flat float32 data for it."""
    anne_net.seed(5)
    net = Sequential([anne_net.Input((16, 3)), anne_net.Conv1D(4, 3, activation="relu", padding="same"),
                      anne_net.MaxPooling1D(2), anne_net.Conv1D(4, 3, activation="softmax"),
                      anne_net.GlobalAveragePooling1D(), Dense(3, "softmax")])
    x = array("f", [((i * 7) % 11) / 11.0 for i in range(48 * rows)])
    y = array("f", [1.0 if i % 3 == (i // 3) % 3 else 0.0 for i in range(3 * rows)])
    return net, x, y


def test_memory(native):
    """training_memory(batch_size) is what fit keeps, to the byte (the
    smaller of two runs), on both backends' fit_epoch, and natively a step
    allocates nothing (the same bytes for 2 steps as for 8), for Dense
    networks and Conv1D ones."""
    for toy, opt in ((t, o) for t in (_flat_toy, _conv_toy)
                     for o in (anne_net.SGD(0.1), anne_net.SGD(0.1, momentum=0.9), anne_net.Adam(0.01))):
        # Twice, each on a fresh network: a conservative collector can keep
        # more than fit keeps (a stale pointer left on the stack by the
        # calls before, as on the RISC-V board's first run), never less.
        held = []
        for _ in range(2):
            net = x = y = None
            gc.collect()
            net, x, y = toy(32)
            net.compile(opt, "categorical_crossentropy", ["accuracy"])
            want = net.training_memory(4)
            held.append(kept(lambda: net.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)))
        held = min(held)
        check(held == want, "%s %r: fit keeps %d bytes, training_memory(4) says %d" % (toy.__name__, opt, held, want))
        again = [kept(lambda: net.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)) for _ in range(3)]
        check(min(again) == 0, "the next fit reuses what the first one kept: %r" % again)
        if not native:  # (the Python loop's buffers hold one sample: no bigger for a bigger batch)
            net = x = y = None
            gc.collect()
            continue
        check(net.training_memory(16) > want, "a bigger batch needs more")
        short = (x[:len(x) // 4], y[:3 * 8])
        steps = [allocated(lambda: net.fit(xs, ys, batch_size=4, epochs=1, verbose=0, shuffle=False))
                 for xs, ys in (short, (x, y))]
        check(steps[0] == steps[1], "%s %r: fit allocates %d bytes for 2 steps, %d for 8"
              % (toy.__name__, opt, steps[0], steps[1]))
        net = x = y = short = None
        gc.collect()
    check(refused(ValueError, "needs compile", _flat_toy(1)[0].training_memory), "training_memory before compile")


backends = ["python"] + (["native"] if anne_net._native is not None else [])
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    # (the inference-only module has no training kernels: fit() trains on
    # the Python backend, then predicts natively again)
    kernels = hasattr(anne_net._anne, "sgd")
    check(kernels or not hasattr(anne_net._anne, "fit_epoch"), "no training kernels, no native loop")
    if "gradients.json" in listdir():
        if kernels:
            test_gradients()
            gc.collect()
            test_kernel_refusals()
        test_api()
        gc.collect()
        test_freeze_and_callbacks()
        gc.collect()
        test_diverging_run_stops()
        if kernels and hasattr(anne_net._anne, "fit_epoch"):
            gc.collect()
            test_memory(backend == "native")
    else:
        test_keras_runs()
    gc.collect()
report(NAME)
