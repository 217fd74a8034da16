"""tools/anne_tflite.py, the .tflite reader, against what TensorFlow and
LiteRT reported for the same files (tests/fixtures/int8/*.json, written by
tools/make_int8_fixtures.py: the operators from TensorFlow's own flatbuffer
module, the tensors from LiteRT's interpreter), and on damaged files."""
import glob
import json
import os
import random
import struct

import pytest

from conftest import FIXTURES
import anne_tflite

INT8 = os.path.join(FIXTURES, "int8")
ALL = sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(INT8, "*.tflite")))


def _generator(name):
    with open(os.path.join(INT8, name + ".json")) as f:
        return json.load(f).get("generator")


# The fixtures that record what the reader reads (model version, buffers):
# make_int8_fixtures.py's, make_int8_dense_fixtures.py's and
# make_int8_conv2d_fixtures.py's.
# make_int8_act_fixtures.py's record the activations' tensors only (some
# of its models are edited: a float island replaced by LiteRT's int8 kernel).
NAMES = [n for n in ALL if _generator(n) != "tools/make_int8_act_fixtures.py"]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def load(name):
    with open(os.path.join(INT8, name + ".tflite"), "rb") as f:
        data = f.read()
    with open(os.path.join(INT8, name + ".json")) as f:
        doc = json.load(f)
    return data, doc


def test_fixtures_present():
    assert len(NAMES) >= 12, NAMES
    for name in ALL:
        assert os.path.exists(os.path.join(INT8, name + ".json")), name
    assert all(_generator(n) in ("tools/make_int8_fixtures.py", "tools/make_int8_dense_fixtures.py",
                                 "tools/make_int8_act_fixtures.py", "tools/make_int8_conv2d_fixtures.py")
               for n in ALL)


@pytest.mark.parametrize("name", NAMES)
def test_model_and_operators(name):
    data, doc = load(name)
    m = anne_tflite.read_tflite(data)
    assert m["version"] == doc["model_version"]
    assert len(m["buffers"]) == doc["n_buffers"]
    assert m["inputs"] == [doc["input"]["index"]]
    assert m["outputs"] == [doc["output"]["index"]]
    assert len(m["operators"]) == len(doc["operators"])
    for got, want in zip(m["operators"], doc["operators"]):
        assert got["builtin_code"] == want["builtin_code"]
        assert got["name"] == want["opcode"] == want["litert_op_name"]
        assert got["opcode_index"] == want["opcode_index"]
        assert m["operator_codes"][got["opcode_index"]]["version"] == want["version"]
        assert got["inputs"] == want["inputs"]
        assert got["outputs"] == want["outputs"]
        for key in ("fused_activation", "keep_num_dims", "padding", "stride_w", "stride_h",
                    "dilation_w", "dilation_h", "filter_width", "filter_height"):
            if key in want:
                assert got["options"][key] == want[key], (key, got["options"])


@pytest.mark.parametrize("name", NAMES)
def test_tensors_and_quantization(name):
    data, doc = load(name)
    m = anne_tflite.read_tflite(data)
    assert len(m["tensors"]) == len(doc["tensors"])
    for got, want in zip(m["tensors"], doc["tensors"]):
        i = want["index"]
        assert got["name"] == want["name"], i
        assert got["shape"] == want["shape"], i
        assert got["type"] == want["dtype"], i
        assert got["buffer"] == want["buffer"], i
        assert len(m["buffers"][got["buffer"]]) == want["buffer_bytes"], i
        # LiteRT reports float32 scales widened to Python floats: exact.
        assert got["scales"] == [f32(s) for s in want["scales"]], i
        assert got["zero_points"] == want["zero_points"], i
        assert got["quantized_dimension"] == want["quantized_dimension"], i
        if want.get("values") is not None:
            assert anne_tflite.tensor_values(m, i) == want["values"], i


def test_int8_scheme_seen_in_fixtures():
    """What the reader gives for the fixtures fits TFLite's int8 scheme
    (per-channel int8 weights with zero point 0 along the output axis,
    int32 biases, one scale per activation tensor)."""
    seen_fc = 0
    for name in NAMES:
        data, _ = load(name)
        m = anne_tflite.read_tflite(data)
        for op in m["operators"]:
            if op["name"] != "FULLY_CONNECTED":
                continue
            seen_fc += 1
            x, w, b = (m["tensors"][i] for i in op["inputs"][:3])
            assert w["type"] == "int8" and set(w["zero_points"]) == {0}
            assert len(w["scales"]) in (1, w["shape"][0]) and w["quantized_dimension"] == 0
            assert b["type"] == "int32" and len(b["scales"]) == len(w["scales"])
            assert x["type"] == "int8" and len(x["scales"]) == 1
    assert seen_fc >= 5


def test_truncated_files_raise_valueerror():
    for name in NAMES:
        data, _ = load(name)
        full = anne_tflite.read_tflite(data)
        for n in list(range(0, 64)) + list(range(64, len(data), 5)):
            try:
                got = anne_tflite.read_tflite(data[:n])
            except ValueError as e:
                msg = str(e)
                assert "truncated" in msg or "invalid" in msg or "not a .tflite" in msg, msg
            else:
                # a cut inside trailing bytes nothing points to
                assert got == full, (name, n)


def test_not_a_tflite_file():
    data, _ = load(NAMES[0])
    with pytest.raises(ValueError, match="too short"):
        anne_tflite.read_tflite(b"")
    with pytest.raises(ValueError, match="identifier"):
        anne_tflite.read_tflite(data[:4] + b"TFL2" + data[8:])
    with pytest.raises(ValueError, match="past the end"):
        anne_tflite.read_tflite(struct.pack("<I", 1 << 30) + data[4:])


def test_damaged_bytes_raise_only_valueerror():
    """Seeded byte flips: the reader either reads something or raises
    ValueError, never another exception."""
    rng = random.Random(29)
    for name in NAMES:
        data, _ = load(name)
        for _ in range(300):
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(8, len(b))] = rng.randrange(256)
            try:
                anne_tflite.read_tflite(bytes(b))
            except ValueError:
                pass
