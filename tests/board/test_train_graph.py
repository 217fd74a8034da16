# files: tests/fixtures/training/graph_dense_add.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/fixtures/training/graph_concat.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/fixtures/training/graph_mul_sub.* tests/board/boardcheck.py tests/board/keras_runs.py
# files: tests/fixtures/training/graph_conv_residual.* tests/board/boardcheck.py tests/board/keras_runs.py
# Training graphs on the board (issue 30; anne_net's compile()/fit() on a
# network whose layers name their inputs, anne_train_graph): real Keras
# training runs of small functional models (tests/fixtures/training/graph_*,
# tools/make_training_fixtures.py graph: a Dense residual with Add; a branch
# with Concatenate of two Dense layers and the input; Multiply, Subtract,
# Average of three and Maximum; a Conv2D residual block, Add then ReLU,
# max and average pooling joined by Concatenate on the channels) reproduced
# within 1e-4 abs + 1e-4 rel, the weights and the loss history, on both
# backends (the native module's fused loop, fit_epoch; anne_fallback's:
# the same contract, anne_train_python's per-sample loop); evaluate after
# fit; training_memory() is, on both backends, what fit() keeps to the
# byte, natively a step allocating nothing; a saved, reloaded trained
# graph predicts the same; the native layer_backward of the 2-D kinds gives
# the fallback's gradients.
import gc
from array import array
from os import listdir

import anne_net
from boardcheck import allocated, check, kept, report
from keras_runs import _load, _runs, fit_like_keras, near

NAME = "test_train_graph"


def test_keras_run(run):
    d, net = fit_like_keras(run)
    e = net.evaluate(d["x"], d["y"])
    check(e["n"] == len(d["x"]) // net.n_inputs and e["loss"] == e["loss"], "%s: evaluate %r" % (run, e))
    return d, net


def test_memory(run, native):
    """The loop (fit_epoch: the native module's, or anne_fallback's):
    training_memory(batch_size) is what fit keeps, to the byte (the
    smaller of two runs, each on a fresh network: a conservative collector
    can keep more, never less), the next fit reuses it, and natively a
    step allocates nothing (2 steps allocate what 8 do;
    not for class indices, whose list fit copies, row by row). (The
    weights are copied to RAM first, as fit does with a file used in place
    (the qemu boards map it): training_memory counts those copies, not the
    small view objects that then die.)"""
    import anne_train
    import anne_train_base
    held = []
    for _ in range(2):
        d = net = None
        gc.collect()
        d, net = _load(run)
        if anne_train._writable(net._layers, lambda need, why: None):
            net._build_plan()
        check(anne_train_base._fused(net), "%s: the backend's fit_epoch trains the graph" % run)
        want = net.training_memory(2)
        held.append(kept(lambda: net.fit(d["x"], d["y"], batch_size=2, epochs=1, verbose=0, shuffle=False)))
    check(min(held) == want, "%s: fit keeps %d bytes, training_memory(2) says %d" % (run, min(held), want))
    # (the smallest of three: a conservative collector can keep more on a
    # run, never less; on RISC-V the first two after the loads above can)
    again = [kept(lambda: net.fit(d["x"], d["y"], batch_size=2, epochs=1, verbose=0, shuffle=False))
             for _ in range(3)]
    check(min(again) == 0, "%s: the next fit reuses what the first one kept: %r" % (run, again))
    x, y = d["x"], d["y"]
    if isinstance(y, list) or not native:
        return
    short = (x[:4 * net.n_inputs], y[:4 * net.n_outputs])
    steps = [allocated(lambda: net.fit(xs, ys, batch_size=2, epochs=1, verbose=0, shuffle=False))
             for xs, ys in (short, (x, y))]
    check(steps[0] == steps[1], "%s: fit allocates %d bytes for 2 steps, %d for 8" % (run, steps[0], steps[1]))


def test_save(run, net):
    x = [0.1 * ((i * 7) % 11) - 0.5 for i in range(net.n_inputs)]
    want = list(net.predict(x))
    net.save("trained.anne")
    again = anne_net.load("trained.anne")
    check(list(again.predict(x)) == want, "%s: the trained graph saved and reloaded predicts the same" % run)


def test_native_layer_backward():
    """The native layer_backward of the 2-D kinds (the graph loop's, on the
    native backend) against anne_fallback's: the same gradients."""
    import anne_fallback
    mod = anne_net._anne
    anne_net.seed(3)
    net = anne_net.Sequential([anne_net.Input((5, 5, 2)), anne_net.Conv2D(3, 3, strides=2, padding="same"),
                               anne_net.ZeroPadding2D(1), anne_net.DepthwiseConv2D(2, depth_multiplier=2),
                               anne_net.MaxPooling2D(2, strides=1), anne_net.AveragePooling2D(2, padding="same"),
                               anne_net.Flatten(), anne_net.Dense(2)])
    for i, L in enumerate(net.layers[:5]):
        step = (L._kernel, L._bias, mod.Activation("linear"), None, L._step(None)[4])
        x = array("f", [((k * 7 + i) % 13) / 13.0 - 0.4 for k in range(L.n_in)])
        dy = array("f", [((k * 5 + i) % 11) / 11.0 - 0.5 for k in range(L.n_out)])
        got, want = [], []
        for m, out in ((mod, got), (anne_fallback, want)):
            gk = array("f", bytes(4 * len(L._kernel))) if L._kernel is not None else None
            gb = array("f", bytes(4 * len(L._bias))) if L._bias is not None else None
            dx = array("f", bytes(4 * L.n_in))
            m.layer_backward(step, x, dy, 0.5, gk, gb, dx)
            out.extend(list(dx) + (list(gk) if gk else []) + (list(gb) if gb else []))
        check(len(got) == len(want) and all(near(a, b, 1e-5, 1e-5) for a, b in zip(got, want)),
              "%s: native layer_backward %r, the fallback's %r" % (type(L).__name__, got[:6], want[:6]))


def test_past_16(run):
    """A graph of more than 16 layers that compute is past the native fused
    loop's: fit() runs anne_train_python's fit_epoch on the native kernels
    (anne_train_native._loop). That path, taken here for this graph, gives
    Keras's weights and history too."""
    import anne_train_native
    fused = anne_train_native._fused
    anne_train_native._fused = lambda net: False
    try:
        d, net = fit_like_keras(run)
        check(type(anne_train_native._loop(net)).__name__ == "Loop", "%s: the Python loop on native kernels" % run)
    finally:
        anne_train_native._fused = fused


# (the native backend first: its workspace is one block, which the Cortex-M0's
# heap has before the Python loop's many small arrays have come and gone)
backends = (["native"] if anne_net._native is not None else []) + ["python"]
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    for run in _runs():
        d, net = test_keras_run(run)
        test_save(run, net)
        d = net = None
        gc.collect()
        if hasattr(anne_net._anne, "fit_epoch"):
            test_memory(run, backend == "native")
            gc.collect()
        if backend == "native" and hasattr(anne_net._anne, "layer_backward"):
            test_past_16(run)
            gc.collect()
if anne_net._native is not None and hasattr(anne_net._anne, "layer_backward") and "graph_dense_add.json" in listdir():
    test_native_layer_backward()
check(len([f for f in listdir() if f.endswith(".json")]) == 1, "one run a script")
report(NAME)
