# files: tests/board/boardcheck.py tests/fixtures/models/iris3.anne
# anne_net as a Keras user reaches for it, and what a new user hit (issue
# "core v2"), on both backends: Keras's constructors and habits work, the
# rest is refused with a clear error, nothing is silently ignored.
# Runs on unix, the emulated Cortex-M3 and the emulated Cortex-M0.
import gc
from array import array

import anne_net
from anne_net import Dense, Flatten, Input, Sequential
from boardcheck import check, all_close, refused, report

NAME = "test_net_habits"
X = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def test_constructors():
    anne_net.seed(3)
    net = Sequential([Input(4), Dense(8, "relu"), Dense(3, "softmax")])
    check(net.n_inputs == 4 and len(net.layers) == 2 and net.n_outputs == 3, "Sequential([Input(4), ...])")
    check(Sequential([Input(shape=(4,)), Dense(2)]).n_inputs == 4, "Input(shape=(4,))")
    check(Sequential([Dense(2, input_shape=(5,))]).n_inputs == 5, "Dense(..., input_shape=(5,))")
    s = Sequential()
    s.add(Input(3))
    s.add(Dense(2))
    check(s.n_inputs == 3 and s.n_outputs == 2, "Sequential() + add(Input(3))")
    check(refused(ValueError, "needs its input shape", Sequential, [Dense(2)]), "no input shape")
    check(refused(ValueError, "(n,), (steps, channels) or (h, w, channels)", Input, (4, 2, 1, 1)),
          "Input((4, 2, 1, 1))")
    check(Sequential([Input((4, 2, 1)), Flatten(), Dense(2)]).n_inputs == 8, "Input((4, 2, 1)), Flatten")
    check(refused(ValueError, "Dense takes a flat input", Sequential, [Input((4, 2, 1)), Dense(2)]),
          "Dense on (4, 2, 1)")
    for bad in (8.7, "8", True, None):
        check(refused(TypeError, "units must be an int", Dense, bad), "Dense(%r)" % (bad,))
    check(refused(ValueError, "units out of range", Dense, 0), "Dense(0)")
    check(refused(TypeError, "a layer must be one of Dense, Conv1D", net.add, "Dense"), "add('Dense')")
    return net


def test_layer_attributes(net):
    x = X[0]
    y0 = list(net.predict(x))
    L = net.layers[0]
    # units: assigning resizes (as net.resize), it is not silently ignored
    L.units = 5
    check(net.layers[0].units == 5 and net.layers[1].n_in == 5 and len(net.predict(x)) == 3, "layer.units = 5")
    check(refused(TypeError, "units must be an int", setattr, L, "units", 2.5), "layer.units = 2.5")
    # kernel / bias: assigning sets the weights the network uses
    L.kernel = array("f", [0.0] * 20)
    L.bias = array("f", [1.0] * 5)
    h = [1.0] * 5  # relu(0 . x + 1)
    y = list(net.predict(x))
    ref = Sequential(5, [Dense(3, "softmax")])
    ref.layers[0].set_weights(net.layers[1].get_weights())
    check(all_close(y, list(ref.predict(h)), 1e-6), "layer.kernel/bias = ... used by predict: %r" % y)
    check(refused(ValueError, "kernel has 3 floats", setattr, L, "kernel", array("f", [0.0] * 3)), "bad kernel")
    check(len(L.kernel) == 20, "a refused kernel leaves the old one")
    # Keras's layer.set_weights(layer.get_weights())
    w = net.layers[1].get_weights()
    net.layers[1].set_weights(w)
    check(list(net.predict(x)) == y, "layer.set_weights(layer.get_weights())")
    # net.layers: append is add; other list changes are refused with a pointer
    net.layers.append(Dense(2))
    check(len(net.layers) == 3 and net.n_outputs == 2, "net.layers.append(Dense(2))")
    check(refused(TypeError, "use net.add(layer)", net.layers.pop), "net.layers.pop()")
    check(refused(TypeError, "net.remove(i)", net.layers.__setitem__, 0, Dense(3)), "net.layers[0] = ...")
    net.remove(2)
    check(y0 != y, "(the weights did change)")


def test_batches_and_labels(net):
    # predict of a batch returns one output per row, as Keras's predict
    ys = net.predict(X)
    check(isinstance(ys, list) and len(ys) == 3 and all(len(r) == 3 for r in ys), "predict(batch)")
    check(list(ys[1]) == list(net.predict(X[1])), "predict(batch)[1] == predict(row 1)")
    labels = net.classify(X)
    onehot = [[1.0 if j == t else 0.0 for j in range(3)] for t in labels]
    e_int = net.evaluate(X, labels)
    e_hot = net.evaluate(X, onehot)
    e_float = net.evaluate(X, [float(t) for t in labels])
    check("accuracy" in e_hot and e_hot["accuracy"] == 1.0, "one-hot labels are classification: %r" % e_hot)
    check(e_float == e_int and e_int["accuracy"] == 1.0, "float class labels: %r %r" % (e_float, e_int))
    # rows of the wrong length: named, never truncated or a bare IndexError
    long_rows = [X[0] + [9.0]] + X[1:]
    short_rows = [X[0], X[1][:3], X[2]]
    for name, fn in (("evaluate", lambda rows: net.evaluate(rows, labels)), ("classify", net.classify),
                     ("predict", net.predict)):
        check(refused(ValueError, "row 0 has 5 values, the network takes 4", fn, long_rows), name + " long row")
        check(refused(ValueError, "row 1 has 3 values, the network takes 4", fn, short_rows), name + " short row")
    check(refused(ValueError, "label 0 is 7, out of range", net.evaluate, X, [7, 0, 1]), "label out of range")
    # one output: bools and 0.0/1.0 are binary labels
    b = Sequential([Input(4), Dense(1, "sigmoid")])
    p = b.classify(X)
    r = b.evaluate(X, [t == 1 for t in p])
    check(r["accuracy"] == 1.0 and r == b.evaluate(X, [float(t) for t in p]), "binary bools/floats: %r" % r)
    check("mse" in b.evaluate(X, [0.25, 3.5, -1.0]), "float targets on one output: regression")


def test_weights_in_place():
    data = open("iris3.anne", "rb").read()
    net = anne_net.load(data)           # float data used in place (native) or copied (python)
    x = X[1]
    y = list(net.predict(x))
    w = net.get_weights()
    check(all(isinstance(v, float) for v in w[0][0]) and len(w[0]) == 4, "get_weights() gives floats")
    net.set_weights(w)
    check(all_close(list(net.predict(x)), y, 1e-6), "set_weights(get_weights()) keeps the outputs")
    k = net.layers[0].get_weights()
    net.layers[0].set_weights(k)
    check(all_close(list(net.predict(x)), y, 1e-6), "layer round trip on an in-place network")


def test_load_says_what_a_file_is():
    keras = b"PK\x03\x04" + bytes(60)
    check(refused(ValueError, "this is a Keras model (.keras)", anne_net.load, keras), "load(.keras bytes)")
    check(refused(ValueError, "anne_convert.py", anne_net.load, keras), "... says how to convert")
    h5 = b"\x89HDF\r\n\x1a\n" + bytes(60)
    check(refused(ValueError, "Keras .h5 file", anne_net.load, h5), "load(.h5 bytes)")


def _least_kept(f):
    """Bytes of GC heap that f() allocates and its result keeps: the smaller
    of two calls (a conservative collector can keep more through a stale
    stack pointer, never less)."""
    kept = []
    for _ in range(2):
        gc.collect()
        before = gc.mem_alloc()
        r = f()
        gc.collect()
        kept.append(gc.mem_alloc() - before)
        r = None
    return min(kept)


def test_memory_need_is_exact():
    # What load() reserves (the bytes its refusal names) covers what the
    # network keeps, as measured, and not far more (a quarter and 64 bytes:
    # the layer objects are estimated). The parsed metadata exists before
    # load() checks memory, so it is measured apart and left out.
    import anne_file
    import anne_io
    data = open("iris3.anne", "rb").read()
    head = anne_file.parse_head(data, len(data))
    meta = _least_kept(lambda: anne_file.parse_metadata(data, head))
    kept = _least_kept(lambda: anne_net.load("iris3.anne")) - meta
    seen = []
    need = None
    anne_io._free_memory = lambda: (seen.append(1), 0)[1]
    try:
        anne_net.load("iris3.anne")
    except ValueError as e:
        need = int(str(e).split("needs ")[1].split()[0])
    finally:
        anne_io._free_memory = anne_io._mem_free
    check(seen and need is not None, "load() checks free memory before it allocates, and refuses")
    check(need is not None and kept <= need <= kept * 5 // 4 + 64,
          "load keeps %d bytes besides its metadata, reserves %s" % (kept, need))
    # the boundary: need - 1 free is refused, naming both; need free loads
    for free, ok in ((need - 1, False), (need, True)):
        anne_io._free_memory = lambda: free
        try:
            if ok:
                net = anne_net.load("iris3.anne")
                check(len(net.predict(X[0])) == 3, "%d bytes free: loads and predicts" % free)
            else:
                check(refused(ValueError, "needs %d bytes, %d free" % (need, free), anne_net.load, "iris3.anne"),
                      "%d bytes free: refused, naming needed and free bytes" % free)
        finally:
            anne_io._free_memory = anne_io._mem_free


def test_flash_file_in_place():
    # run-on gives the emulated boards their files in ROMFS (as flash):
    # load(path) then uses the weights where they are, as load(bytes) does,
    # instead of reading them into RAM (unix reads them: a real filesystem).
    import sys
    data = open("iris3.anne", "rb").read()
    in_place = _least_kept(lambda: anne_net.load(data))
    by_path = _least_kept(lambda: anne_net.load("iris3.anne"))
    if sys.platform == "qemu":
        check(by_path <= in_place + 64, "a ROMFS file's weights used in place: %d bytes kept, %d from bytes"
              % (by_path, in_place))
    else:
        check(by_path >= in_place + 4 * 43, "a file read into RAM: %d bytes kept, %d from bytes"
              % (by_path, in_place))


backends = ["python"] + (["native"] if anne_net._native is not None else [])
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    net = test_constructors()
    test_layer_attributes(net)
    test_batches_and_labels(Sequential([Input(4), Dense(6, "tanh"), Dense(3, "softmax")]))
    test_weights_in_place()
    test_load_says_what_a_file_is()
    test_memory_need_is_exact()
    if backend == "native":
        test_flash_file_in_place()
    net = None
    gc.collect()
report(NAME)
