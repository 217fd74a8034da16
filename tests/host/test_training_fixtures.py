"""The training fixtures (tools/make_training_fixtures.py, recorded with
TensorFlow) against what the host can check without it: TensorFlow's
gradients against finite differences of the float64 reference activations
(away from kinks), and each run's .anne is what the converter makes of its
untrained .keras model."""

import glob
import json
import os

import numpy as np
import pytest

import anne_convert
from make_activation_fixtures import reference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
CASES = json.load(open(os.path.join(FIXTURES, "gradients.json")))["gradients"]


def _forward(c, x):
    """The float64 reference of tools/make_activation_fixtures.py."""
    return np.asarray(reference(c["name"], np.asarray(x, np.float64), c["params"]), np.float64)


@pytest.mark.parametrize("i", range(len(CASES)), ids=["%d-%s" % (i, c["name"]) for i, c in enumerate(CASES)])
def test_gradient_matches_finite_differences(i):
    c = CASES[i]
    x = np.array(c["x"], np.float64)
    h = 1e-6
    if c["w"] is None:
        checked = 0
        for j, v in enumerate(x):
            if abs(v) > 50:
                continue
            right = (_forward(c, [v + h])[0] - _forward(c, [v])[0]) / h
            left = (_forward(c, [v])[0] - _forward(c, [v - h])[0]) / h
            if abs(right - left) > 1e-2 * (1 + abs(right)):
                continue  # a kink: the convention is TensorFlow's, checked on the boards
            if c["name"] == "celu" and v == 0:
                # smooth, but TensorFlow's max(x, 0) + alpha * expm1(min(x, 0) / alpha)
                # passes the gradient through both branches at 0: 1 + 1
                assert c["g"][j] == 2.0
                continue
            central = (_forward(c, [v + h])[0] - _forward(c, [v - h])[0]) / (2 * h)
            assert c["g"][j] == pytest.approx(central, abs=2e-3, rel=2e-3), (c["name"], c["params"], v)
            checked += 1
        assert checked >= 30
        return
    w = np.array(c["w"], np.float64)
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        up, down = _forward(c, x + e), _forward(c, x - e)
        if c["name"] == "sparsemax" and not np.array_equal(up > 0, down > 0):
            continue  # the support changes within h: a kink
        fd = (w @ up - w @ down) / (2 * h)
        assert c["g"][j] == pytest.approx(fd, abs=2e-3, rel=2e-3), (c["name"], list(x), j)


def test_every_activation_has_gradient_cases():
    import anne_ops
    assert {c["name"] for c in CASES} == set(anne_ops.ACTIVATIONS)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(FIXTURES, "training", "*.keras"))),
                         ids=os.path.basename)
def test_training_run_anne_is_fresh(path):
    run = json.load(open(path[:-6] + ".json"))
    assert open(path[:-6] + ".anne", "rb").read() == anne_convert.convert_file(path)
    assert len(run["weights"]) >= 2 and run["epochs"] >= 2
    assert run["epochs"] * len(run["x"]) >= 80
