"""Issue 26 on the PC side: the converter stores the normalization it folds
into a layer's inputs (metadata folded_before, for edits on the board), and
the writers refuse what the readers would refuse (anne_file.front)."""
import os

import numpy as np
import pytest

from conftest import MODELS
import anne_convert
import anne_format
import anne_file
import anne_ops


def test_folded_before_is_the_keras_normalization():
    """norm_tabular: Normalization (adapted in Keras) folded into the first
    Dense; folded_before holds 1 / sqrt(variance) and -mean / sqrt(variance)
    per feature, read here from the Keras file's own variables."""
    path = os.path.join(MODELS, "norm_tabular.keras")
    v = anne_convert.KerasFile(path).variables("normalization", "normalization", ("mean", "variance", "count"))
    mean, variance = v["mean"].reshape(-1), v["variance"].reshape(-1)
    meta = anne_format.parse(anne_convert.convert_file(path)).metadata
    assert meta["folded"] == "0: normalization + dense"
    index, rest = meta["folded_before"].split(": ")
    code, scales, offsets = rest.split("|")
    assert (index, code) == ("0", "1")
    sd = np.sqrt(variance.astype(np.float64))
    np.testing.assert_allclose([float(v) for v in scales.split()], 1 / sd, rtol=1e-6)
    np.testing.assert_allclose([float(v) for v in offsets.split()], -mean / sd, rtol=1e-6, atol=1e-7)


def test_files_without_an_input_fold_have_no_folded_before():
    meta = anne_format.parse(anne_convert.convert_file(os.path.join(MODELS, "iris3.keras"))).metadata
    assert "folded_before" not in meta


def test_front_refuses_what_readers_refuse():
    flat = anne_file.Entry(0, 0, (300, 300), 0, (0.0,) * 6, kind=anne_ops.LAYER_FLATTEN)
    with pytest.raises(ValueError, match=r"layer 0's output is \(90000,\); a .anne file holds sizes up to 65535"):
        anne_file.front((300, 300), [flat])
    many = [anne_file.Entry(0, 0, (2,), 0, (0.0,) * 6, kind=anne_ops.LAYER_FLATTEN) for _ in range(256)]
    with pytest.raises(ValueError, match="the network has 256 layers; a .anne file holds 1..255"):
        anne_file.front((2,), many)
    anne_file.front((2,), many[:255])


def test_conv_reach_is_refused_by_writers_and_readers():
    with pytest.raises(ValueError, match=r"\(kernel_size - 1\) \* dilation_rate = \(32770 - 1\) \* 65535"):
        anne_file.Entry(0, 1, (4, 1), 1, (0.0,) * 6, kind=anne_ops.LAYER_CONV1D, kparams=(32770, 1, 2, 65535, 0, 0, 0, 0))
    anne_file.Entry(0, 1, (4, 1), 1, (0.0,) * 6, kind=anne_ops.LAYER_CONV1D, kparams=(32769, 1, 2, 65535, 0, 0, 0, 0))
