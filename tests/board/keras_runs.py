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
