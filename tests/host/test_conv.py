"""Conv1D, pooling, Flatten and Reshape on the host: the numpy reference
of tools/anne_format.py against the definitions written out as loops (and,
through tests/fixtures/models/conv_*.json, against Keras in test_convert),
the codec's shape rules, and the converter's refusals for these layers."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import anne_badfiles  # noqa: E402
import anne_format as af  # noqa: E402

VALID, SAME, CAUSAL = 0, 1, 2


def conv_loops(x, kernel, bias, k, strides, padding, dilation):
    """Keras's Conv1D, term by term (x: steps x channels)."""
    steps = x.shape[0]
    window = (k - 1) * dilation + 1
    if padding == VALID:
        n, before = (steps - window) // strides + 1, 0
    elif padding == SAME:
        n = -(-steps // strides)
        before = max((n - 1) * strides + window - steps, 0) // 2
    else:
        n, before = (steps - 1) // strides + 1, window - 1
    out = np.zeros((n, kernel.shape[2]))
    for t in range(n):
        for f in range(kernel.shape[2]):
            acc = 0.0
            for j in range(k):
                s = t * strides + j * dilation - before
                if 0 <= s < steps:
                    acc += float(np.dot(x[s].astype(np.float64), kernel[j, :, f]))
            out[t, f] = acc + (bias[f] if bias is not None else 0.0)
    return out


@pytest.mark.parametrize("padding", [VALID, SAME, CAUSAL])
@pytest.mark.parametrize("k,strides,dilation", [(1, 1, 1), (3, 1, 1), (3, 2, 1), (2, 1, 3), (4, 3, 1)])
def test_conv_reference_is_the_definition(padding, k, strides, dilation):
    rng = np.random.default_rng(k * 100 + strides * 10 + dilation + padding)
    x = rng.normal(size=(11, 3)).astype(np.float32)
    kernel = rng.normal(size=(k, 3, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    spec = af.LayerSpec("linear", kernel, bias, kind="conv1d", kparams=(k, strides, padding, dilation))
    m = af.parse(af.encode((11, 3), [spec]))
    want = conv_loops(x, kernel, bias, k, strides, padding, dilation)
    assert m.layers[0].out_shape == want.shape
    np.testing.assert_allclose(m.forward(x.reshape(-1)), want.reshape(-1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["max_pooling1d", "average_pooling1d"])
@pytest.mark.parametrize("size,strides,padding", [(2, 2, VALID), (3, 1, VALID), (2, 2, SAME), (3, 2, SAME)])
def test_pool_reference_is_the_definition(kind, size, strides, padding):
    x = np.arange(14, dtype=np.float32).reshape(7, 2) * np.array([1, -1], np.float32)
    spec = af.LayerSpec("linear", kind=kind, kparams=(size, strides, padding))
    m = af.parse(af.encode((7, 2), [spec]))
    n = (7 - size) // strides + 1 if padding == VALID else -(-7 // strides)
    before = 0 if padding == VALID else max((n - 1) * strides + size - 7, 0) // 2
    want = []
    for t in range(n):
        rows = [x[s] for s in range(t * strides - before, t * strides - before + size) if 0 <= s < 7]
        want.append(np.max(rows, 0) if kind == "max_pooling1d" else np.mean(rows, 0))
    np.testing.assert_allclose(m.forward(x.reshape(-1)), np.array(want).reshape(-1), rtol=1e-6)


def test_global_pooling_flatten_reshape():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    for kind, want in (("global_average_pooling1d", x.mean(0)), ("global_max_pooling1d", x.max(0))):
        m = af.parse(af.encode((4, 3), [af.LayerSpec("linear", kind=kind)]))
        np.testing.assert_allclose(m.forward(x.reshape(-1)), want)
    m = af.parse(af.encode((4, 3), [af.LayerSpec("linear", kind="reshape", out_shape=(6, 2)),
                                    af.LayerSpec("linear", kind="flatten")]))
    assert [l.out_shape for l in m.layers] == [(6, 2), (12,)]
    np.testing.assert_array_equal(m.forward(x.reshape(-1)), x.reshape(-1))


def test_shapes_are_checked_when_encoding():
    k = np.zeros((3, 2, 4), np.float32)
    with pytest.raises(ValueError, match="takes \\(steps, channels\\)"):
        af.encode(12, [af.LayerSpec("relu", k, kind="conv1d", kparams=(3, 1, 0, 1))])
    with pytest.raises(ValueError, match="longer than its input"):
        af.encode((2, 2), [af.LayerSpec("relu", k, kind="conv1d", kparams=(3, 1, 0, 1))])
    with pytest.raises(ValueError, match="dense takes a flat input"):
        af.encode((2, 2), [af.LayerSpec("relu", np.zeros((4, 2), np.float32))])


def test_the_conv_bad_files_cover_every_new_check():
    names = [n for n, _, _ in anne_badfiles.bad_files() if n.startswith(("conv_", "pool_", "flatten", "reshape"))]
    assert len(names) >= 15
    good = af.parse(anne_badfiles.conv_good_file())
    assert [l.kind_name for l in good.layers] == ["conv1d", "max_pooling1d", "flatten", "dense"]
