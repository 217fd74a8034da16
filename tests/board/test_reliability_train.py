# files: tests/board/boardcheck.py
# Issue 26 (reliability), the training items, on both backends (the native
# anne module and anne_fallback: the same behaviour, the same errors):
# 6: a refused non-finite step leaves the weights, the optimizer's slots
#    and its iteration count as they were (a later fit gives what a fresh
#    run gives);
# 8: fit/evaluate refuse integer arrays (array('i'), array('h')) rather
#    than read their bits as float32;
# 9: editing the network from a callback while fit() runs is refused;
# 11: networks that start with Flatten train and evaluate; a model used in
#    place evaluates, trains and answers training_memory() after compile;
# 14: errors that name the real cause, before anything changes (NaN in x,
#    empty validation_data, flat x before compile(), batch_size above the
#    rows);
# 15: evaluate() and validation_data read a flat float32 buffer in place;
#    a workspace that does not fit names its size and the largest block.
import gc
from array import array

import anne_net
import anne_train
from anne_net import Dense, Flatten, Input, Sequential
from boardcheck import check, close, error_of, refused, report

NAME = "test_reliability_train"


def weights_of(net):
    out = []
    for L in net.layers:
        for w in (L._kernel, L._bias):
            if w is not None:
                out.extend(array("f", bytes(w)) if not isinstance(w, array) else w)
    return out


def small_net(opt):
    """2 -> 1 linear, fixed weights, compiled with opt (a fresh optimizer)."""
    net = Sequential([Input(2), Dense(1)])
    net.layers[0].set_weights(array("f", [0.5, -0.25]), array("f", [0.125]))
    net.compile(opt, "mse")
    return net


X = [[0.5, 1.0], [1.0, -0.5], [-1.0, 0.25], [0.25, 0.75]]
Y = [[1.0], [0.0], [-0.5], [0.75]]


def fit1(net, x=X, y=Y, **kw):
    return net.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False, **kw)


def test_refused_step_keeps_optimizer(tag):
    """Item 6: after a refused step (Adam's v overflows: g * g is above
    float32's range while w stays finite), a fit on clean data gives
    exactly what a run without the bad fit gives."""
    for make in (lambda: anne_net.Adam(0.01), lambda: anne_net.SGD(0.01, momentum=0.9),
                 lambda: anne_net.SGD(0.01, momentum=0.5, nesterov=True)):
        fresh = small_net(make())
        fit1(fresh)
        fit1(fresh)
        net = small_net(make())
        fit1(net)
        before = weights_of(net)
        it = net._compiled.optimizer.iterations
        # x of 1e11 (Adam: g * g overflows v) or 2e19 (momentum: g
        # overflows): the loss is finite, the step is not
        big = 1e11 if "Adam" in repr(net._compiled.optimizer) else 2e19
        t, msg = error_of(fit1, net, [[big, 0.0]], [[0.0]])
        check(t is ValueError and "non-finite" in str(msg),
              "%s %r: the bad step: %r %r" % (tag, net._compiled.optimizer, t, msg))
        check(weights_of(net) == before, "%s %r: weights changed by a refused step" % (tag, net._compiled.optimizer))
        check(net._compiled.optimizer.iterations == it,
              "%s %r: the refused step was counted (%d, was %d)" % (tag, net._compiled.optimizer,
                                                                    net._compiled.optimizer.iterations, it))
        t, msg = error_of(fit1, net)
        check(t is None, "%s %r: fit on clean data after a refused step: %r %r" % (tag, net._compiled.optimizer,
                                                                                 t, msg))
        check(weights_of(net) == weights_of(fresh), "%s %r: after a refused step %r, a fresh run %r"
              % (tag, net._compiled.optimizer, weights_of(net), weights_of(fresh)))


def test_integer_arrays(tag):
    """Item 8: array('i') / array('h') data is refused (TypeError naming
    the argument), not trained on as float32 bits."""
    net = small_net("sgd")
    before = weights_of(net)
    xs = [1, 2, 3, 4, 5, 6, 7, 8]
    for code in "ih":
        check(refused(TypeError, "x holds", net.fit, array(code, xs), array("f", [0.0] * 4), verbose=0),
              "%s: fit x array(%r)" % (tag, code))
        check(refused(TypeError, "y holds", net.fit, array("f", xs), array(code, [0, 1, 0, 1]), verbose=0),
              "%s: fit y array(%r)" % (tag, code))
        check(refused(TypeError, "x holds", net.evaluate, array(code, xs), array("f", [0.0] * 4)),
              "%s: evaluate x array(%r)" % (tag, code))
        check(refused(TypeError, "validation x holds", net.fit, X, Y, verbose=0,
                      validation_data=(array(code, xs), array("f", [0.0] * 4))),
              "%s: validation x array(%r)" % (tag, code))
    check(weights_of(net) == before, "%s: weights changed by refused integer data" % tag)
    # the bytes of float32 values are still taken
    flat = array("f", [v for r in X for v in r])
    fit1(net, bytearray(flat), array("f", [r[0] for r in Y]))
    check(weights_of(net) != before, "%s: float32 bytes train" % tag)


class EditingStop(anne_train.EarlyStopping):
    """An EarlyStopping that edits the network at the end of an epoch."""

    def __init__(self, net, edit):
        anne_train.EarlyStopping.__init__(self, monitor="loss", patience=10)
        self.net = net
        self.edit = edit
        self.error = None

    def _end_epoch(self, epoch, logs, weights):
        try:
            self.edit(self.net)
        except Exception as e:  # noqa: BLE001 - the type is what is checked
            self.error = e
        return anne_train.EarlyStopping._end_epoch(self, epoch, logs, weights)


def test_edit_during_fit(tag):
    """Item 9: resize/set_weights/activation from a callback while fit()
    runs: RuntimeError, the network as it was; after fit() they work."""
    edits = (("resize", lambda n: n.resize(0, 3)),
             ("set_weights", lambda n: n.set_weights([array("f", [1.0, 1.0]), array("f", [0.0])])),
             ("layer.set_weights", lambda n: n.layers[0].set_weights(array("f", [1.0, 1.0]), array("f", [0.0]))),
             ("activation", lambda n: setattr(n.layers[0], "activation", "tanh")),
             ("insert", lambda n: n.insert(0, Dense(2))))
    for name, edit in edits:
        net = small_net("sgd")
        cb = EditingStop(net, edit)
        fit1(net, callbacks=[cb])
        ok = isinstance(cb.error, RuntimeError) and "fit() is running" in str(cb.error)
        check(ok, "%s: %s from a callback during fit: %r" % (tag, name, cb.error))
        check(len(net.layers) == 1 and net.layers[0].units == 1 and net.layers[0].activation == "linear",
              "%s: %s changed the network from a callback" % (tag, name))
        trained = weights_of(net)
        fit1(net)  # the network, not a detached copy, was trained: it trains on
        check(weights_of(net) != trained, "%s: %s: training goes on after the refused edit" % (tag, name))
        edit(net)  # allowed once fit() has returned
    net = small_net("sgd")
    net.resize(0, 2)
    check(net.layers[0].units == 2, "%s: resize outside fit" % tag)


def test_flatten_first(tag):
    """Item 11: a network that starts with Flatten trains on rows and on a
    flat buffer, and evaluates, as one without the Flatten does."""
    def make(flatten):
        net = Sequential([Input((2, 2)), Flatten(), Dense(2, "tanh"), Dense(1)] if flatten
                         else [Input(4), Dense(2, "tanh"), Dense(1)])
        w = 1 if flatten else 0
        net.layers[w].set_weights(array("f", [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8]), array("f", [0.0, 0.1]))
        net.layers[w + 1].set_weights(array("f", [0.5, -0.5]), array("f", [0.25]))
        net.compile("sgd", "mse")
        return net
    x = [[0.5, 1.0, -0.5, 0.25], [1.0, 0.0, 0.5, -1.0], [0.0, 0.5, 1.0, 0.5]]
    y = [[1.0], [0.0], [0.5]]
    for data in ("rows", "flat"):
        xs = x if data == "rows" else array("f", [v for r in x for v in r])
        a, b = make(True), make(False)
        t, msg = error_of(a.fit, xs, y, epochs=2, verbose=0, shuffle=False)
        check(t is None, "%s: fit Flatten-first on %s: %r %r" % (tag, data, t, msg))
        b.fit(xs, y, epochs=2, verbose=0, shuffle=False)
        check(weights_of(a) == weights_of(b), "%s: Flatten-first trains as without it (%s)" % (tag, data))
        t, msg = error_of(a.evaluate, xs, y)
        check(t is None and close(a.evaluate(xs, y)["loss"], b.evaluate(xs, y)["loss"], 1e-6),
              "%s: evaluate Flatten-first (%s): %r %r" % (tag, data, t, msg))


def test_in_place(tag):
    """Item 11: a model used in place (weights viewing the file's bytes)
    evaluates, answers training_memory() and trains after compile()."""
    net = Sequential([Input(4), Dense(3, "relu"), Dense(2, "softmax")])
    net.save("inplace.anne")
    with open("inplace.anne", "rb") as f:
        data = f.read()
    ram = anne_net.load("inplace.anne")
    mod = anne_net.load(data)
    mod.use_backend(tag)
    ram.use_backend(tag)
    x = [[0.5, 1.0, -0.5, 0.25], [1.0, 0.0, 0.5, -1.0], [0.0, 0.5, 1.0, 0.5]]
    y = [0, 1, 1]
    for n in (mod, ram):
        n.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    t, msg = error_of(mod.evaluate, x, y)
    check(t is None, "%s: evaluate in place after compile: %r %r" % (tag, t, msg))
    if t is None:
        got, want = mod.evaluate(x, y), ram.evaluate(x, y)
        check(close(got["loss"], want["loss"], 1e-5) and got["accuracy"] == want["accuracy"],
              "%s: evaluate in place %r, in RAM %r" % (tag, got, want))
    t, msg = error_of(mod.training_memory, 3)
    check(t is None, "%s: training_memory in place: %r %r" % (tag, t, msg))
    if t is None:
        copies = sum(16 + ((4 * len(w) + 15) // 16) * 16 for w in weights_of_arrays(ram))
        check(mod.training_memory(3) >= ram.training_memory(3) + copies - 64 * 4,
              "%s: training_memory in place %d counts the copies (RAM %d)"
              % (tag, mod.training_memory(3), ram.training_memory(3)))
    if not hasattr(anne_net._anne, "fit_epoch"):
        return  # (the inference-only module: fit() switches to the Python backend)
    mod.fit(x, y, batch_size=3, epochs=1, verbose=0, shuffle=False)
    ram.fit(x, y, batch_size=3, epochs=1, verbose=0, shuffle=False)
    check(weights_of(mod) == weights_of(ram), "%s: trained in place as in RAM" % tag)


def weights_of_arrays(net):
    return [w for L in net.layers for w in (L._kernel, L._bias) if w is not None]


def test_errors(tag):
    """Item 14: each refusal names its cause, before anything changes."""
    net = small_net("sgd")
    before = weights_of(net)
    bad = [X[0], [float("nan"), 1.0], X[2]]
    check(refused(ValueError, "x[1] holds nan", fit1, net, bad, Y[:3]), "%s: NaN in x" % tag)
    check(refused(ValueError, "x[1] holds inf", fit1, net, array("f", [0.0, 1.0, float("inf"), 0.0]), Y[:2]),
          "%s: inf in a flat x" % tag)
    check(refused(ValueError, "y[0] holds nan", fit1, net, X[:2], [[float("nan")], [0.0]]), "%s: NaN in y" % tag)
    check(refused(ValueError, "x[1] holds nan", net.evaluate, bad, Y[:3]), "%s: evaluate NaN in x" % tag)
    check(refused(ValueError, "validation_data's x is empty", fit1, net, validation_data=([], [])),
          "%s: empty validation_data" % tag)
    check(weights_of(net) == before, "%s: weights changed by refused data" % tag)
    # batch_size above the rows: one batch of all of them (as Keras)
    a, b = small_net("adam"), small_net("adam")
    t, msg = error_of(a.fit, X, Y, batch_size=1000000, epochs=2, verbose=0, shuffle=False)
    check(t is None, "%s: batch_size 1000000 for 4 rows: %r %r" % (tag, t, msg))
    b.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    check(weights_of(a) == weights_of(b), "%s: batch_size above the rows trains as one batch" % tag)
    # evaluate(flat float32 x, y) before compile(), as after and as rows
    u = Sequential([Input(2), Dense(1)])
    u.layers[0].set_weights(array("f", [0.5, -0.25]), array("f", [0.125]))
    flat = array("f", [v for r in X for v in r])
    t, msg = error_of(u.evaluate, flat, [r[0] for r in Y])
    check(t is None, "%s: evaluate(flat x) before compile: %r %r" % (tag, t, msg))
    if t is None:
        check(u.evaluate(flat, [r[0] for r in Y]) == u.evaluate(X, [r[0] for r in Y]),
              "%s: evaluate(flat x) before compile gives what rows give" % tag)


def test_in_place_data(tag):
    """Item 15: evaluate() and validation_data read a flat float32 x in
    place: with half of x's size free, a copy (or a view per row) of it
    cannot fit."""
    net = Sequential([Input(8), Dense(1)])
    net.compile("sgd", "mse")
    gc.collect()
    # (x is made through a bytearray of its size: both must fit, in a heap
    # earlier tests left fragmented)
    n = min(int(gc.mem_free() * 0.25) // 4 // 8 * 8, 8 * 3000)  # (the Python backend's per-row loop)
    while True:   # (in a fragmented heap the free bytes are not one block: fewer rows then)
        try:
            x = array("f", bytearray(4 * n))
            y = array("f", bytearray(n // 2))
            break
        except MemoryError:
            x = y = None
            gc.collect()
            if n <= 8 * 64:
                raise
            n = n // 2 // 8 * 8
    xs = [[0.5] * 8, [1.0] * 8]
    gc.collect()
    hog = []  # (a copy of x needs 4 * n bytes: leave 2 * n free)
    try:
        while gc.mem_free() > 2 * n + 8192 + 64:
            hog.append(bytearray(min(4096, gc.mem_free() - 2 * n - 8192)))
    except MemoryError:  # (unix-asan's heap holds freed blocks back until a collection)
        pass
    t, msg = error_of(net.evaluate, x, y)
    check(t is None, "%s: evaluate %d rows in place: %r %r" % (tag, n // 8, t, msg))
    t, msg = error_of(net.fit, xs, [[1.0], [0.0]], epochs=1, verbose=0, validation_data=(x, y))
    check(t is None, "%s: validation_data of %d rows in place: %r %r" % (tag, n // 8, t, msg))
    hog = x = y = None
    gc.collect()


def test_memory_message():
    """Item 15: a workspace that cannot be allocated: MemoryError with the
    bytes it needs and the heap's largest free block."""
    import anne_train
    t, msg = error_of(anne_train._alloc, 1 << 28, "fit(batch_size=9)'s workspace")
    check(t is MemoryError and "needs %d bytes" % (4 << 28) in msg and "largest free block is" in msg,
          "workspace MemoryError: %r %r" % (t, msg))


def run(fn, *args):
    """fn(*args); an exception it lets out is a failed check (the next
    test still runs)."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        check(False, "%s%r raised %r" % (fn.__name__, args, e))
    gc.collect()


backends = ["python"] + (["native"] if anne_net._native is not None else [])
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    run(test_refused_step_keeps_optimizer, backend)
    run(test_integer_arrays, backend)
    run(test_edit_during_fit, backend)
    run(test_flatten_first, backend)
    if backend == "native":
        run(test_in_place, backend)
    run(test_errors, backend)
    run(test_in_place_data, backend)
run(test_memory_message)
report(NAME)
