# keras_runs: reading the training runs Keras recorded
# (tools/make_training_fixtures.py: <run>.json and <run>.anne) for the
# training tests (test_train_2d.py, test_train_graph.py).
import gc
import json
from array import array
from os import listdir

import anne_net
from boardcheck import check


def near(a, b, atol=1e-4, rtol=1e-4):
    return abs(a - b) <= atol + rtol * abs(b)


def _optimizer(spec):
    o = dict(spec)
    kind = o.pop("name")
    return anne_net.SGD(**o) if kind == "sgd" else anne_net.Adam(**o)


def _weights(net):
    return [list(w) for L in net.layers if L.weighted for w in (L.kernel, L.bias) if w is not None]


def _runs():
    names = listdir()
    runs = sorted(f[:-5] for f in names if f.endswith(".json"))
    check(runs and all(r + ".anne" in names for r in runs), "training runs here, each with its .anne: %r" % names)
    return runs


def _flat(rows):
    """Rows of numbers as one flat float32 array (fit reads it in place; a
    small board's heap holds it, not a float object per value)."""
    n = len(rows[0])
    out = array("f", bytearray(4 * n * len(rows)))
    for i, r in enumerate(rows):
        out[i * n:(i + 1) * n] = array("f", r)
    return out


def _load(run):
    """A run's record (x, and y unless class indices, as flat float32) and
    its untrained network, compiled as Keras's was."""
    with open(run + ".json") as f:
        d = json.load(f)
    d["x"] = _flat(d["x"])
    if not isinstance(d["y"][0], int):
        d["y"] = _flat(d["y"])
    gc.collect()
    net = anne_net.load(run + ".anne")
    net.compile(_optimizer(d["optimizer"]), d["loss"], d["metrics"])
    return d, net


def fit_like_keras(run):
    """Loads run, fits it as Keras did and checks the result against
    Keras's record: the weights moved, within 1e-4 of Keras's, and the
    history -> (the record, the trained network)."""
    d, net = _load(run)
    before = _weights(net)
    h = net.fit(d["x"], d["y"], batch_size=d["batch_size"], epochs=d["epochs"], shuffle=False, verbose=0)
    got = _weights(net)
    check(len(got) == len(d["weights"]), "%s: %d weight arrays, Keras %d" % (run, len(got), len(d["weights"])))
    moved = max(abs(a - b) for w, v in zip(got, before) for a, b in zip(w, v))
    check(moved > 1e-3, "%s: training moved the weights (by %r at most)" % (run, moved))
    worst = 0.0
    for i, (w, want) in enumerate(zip(got, d["weights"])):
        check(len(w) == len(want), "%s: weight array %d sizes" % (run, i))
        for a, b in zip(w, want):
            worst = max(worst, abs(a - b) / (1e-4 + 1e-4 * abs(b)))
    check(worst <= 1.0, "%s: weights within 1e-4 of Keras's (worst %.3f of the tolerance)" % (run, worst))
    for k, want in d["history"].items():
        got = h.history.get(k)
        check(got is not None and len(got) == len(want) and all(near(a, b) for a, b in zip(got, want)),
              "%s: history[%r] %r, Keras %r" % (run, k, got, want))
    print("%s: worst weight %.3f of the tolerance, moved %.4f" % (run, worst, moved))
    return d, net
