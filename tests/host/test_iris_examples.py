"""examples/iris: AI-ANNE's published nets and the 3-class Iris model."""
import json
import os

import numpy as np
import pytest

from conftest import IRIS
import anne_convert
import anne_format


@pytest.mark.parametrize("name,acts", [
    ("ai_anne_8", ["relu", "sigmoid", "relu", "sigmoid"]),
    ("ai_anne_6", ["relu", "sigmoid", "sigmoid"]),
])
def test_ai_anne_reproduces_keras(name, acts):
    ref = json.load(open(os.path.join(IRIS, name + ".json")))
    m = anne_format.load(os.path.join(IRIS, name + ".anne"))
    assert [l.activation for l in m.layers] == acts
    y = m.forward(np.array(ref["x"], np.float32))
    np.testing.assert_allclose(y, ref["y"], atol=1e-5, rtol=1e-5)
    # Our own predictions against the true labels: the accuracy and the
    # confusion matrix Keras reported on its run (ref), computed here.
    pred = [int(v > 0.5) for v in y[:, 0]]
    assert pred == ref["pred"]
    accuracy = sum(p == t for p, t in zip(pred, ref["labels"])) / len(pred)
    confusion = [[sum(1 for p, t in zip(pred, ref["labels"]) if t == i and p == j) for j in (0, 1)]
                 for i in (0, 1)]
    assert accuracy == pytest.approx(ref["accuracy"]) and confusion == ref["confusion"]
    assert accuracy == pytest.approx(0.90)  # AI-ANNE's paper reports 90 % on these rows


def test_ai_anne_8_weights_are_the_published_ones():
    m = anne_format.load(os.path.join(IRIS, "ai_anne_8.anne"))
    assert m.layers[0].kernel[2, 0] == np.float32(2.1273055)
    assert m.layers[3].bias[0] == np.float32(-1.2177287)
    assert [l.units for l in m.layers] == [2, 3, 2, 1]


def test_iris3_example():
    ref = json.load(open(os.path.join(IRIS, "iris3.json")))
    m = anne_format.load(os.path.join(IRIS, "iris3.anne"))
    mean = np.array(ref["scaler"]["mean"], np.float32)
    std = np.array(ref["scaler"]["std"], np.float32)
    x = (np.array(ref["x_raw"], np.float32) - mean) / std
    np.testing.assert_allclose(x, ref["x"], atol=1e-6)
    y = m.forward(np.array(ref["x"], np.float32))
    np.testing.assert_allclose(y, ref["y"], atol=1e-5, rtol=1e-5)
    acc = np.mean(np.argmax(y, -1) == np.array(ref["labels"]))
    assert acc == pytest.approx(ref["accuracy"]) and acc >= 0.85
    assert open(os.path.join(IRIS, "iris3.anne"), "rb").read() == \
        anne_convert.convert_file(os.path.join(IRIS, "iris3.keras"), classes=ref["classes"],
                                  features=ref["features"])
