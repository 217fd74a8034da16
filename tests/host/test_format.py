"""The .anne reader/writer (tools/anne_format.py) against docs/FORMAT.md."""
import binascii
import json
import math
import os
import re
import struct
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from conftest import BAD, ROOT
import anne_format as af
import anne_badfiles
import anne_reference


def test_generated_op_tables_are_fresh():
    """c_glue/anne_ops.h, src/ops_table.rs and micropython/anne_ops.py are
    what tools/gen_ops.py makes of ops/ops.json now, c_glue/anne_msgs.h and
    micropython/anne_msgs.py what it makes of ops/messages.json."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_ops.py"), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, r.stdout


def test_one_version_everywhere():
    """ops/ops.json's version is Cargo's and mip's package.json's."""
    import anne_ops
    cargo = open(os.path.join(ROOT, "Cargo.toml")).read()
    assert re.search(r'^version = "([^"]+)"', cargo, re.M).group(1) == anne_ops.VERSION
    package = json.load(open(os.path.join(ROOT, "micropython", "package.json")))
    assert package["version"] == anne_ops.VERSION


def test_gen_ops_check_catches_a_stale_file(tmp_path):
    """--check fails, naming the file, when a generated file differs."""
    import shutil
    root = tmp_path / "repo"
    for rel in ("ops/ops.json", "ops/messages.json", "tools/gen_ops.py", "c_glue/anne_ops.h", "src/ops_table.rs",
                "micropython/anne_ops.py", "c_glue/anne_msgs.h", "micropython/anne_msgs.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), root / rel)
    table = json.loads((root / "ops/ops.json").read_text())
    table["activations"][5]["params"]["negative_slope"] = 0.3
    (root / "ops/ops.json").write_text(json.dumps(table))
    r = subprocess.run([sys.executable, str(root / "tools/gen_ops.py"), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 1
    assert "c_glue/anne_ops.h" not in r.stdout  # the header holds no defaults
    assert "anne_msgs" not in r.stdout
    assert "src/ops_table.rs" in r.stdout and "micropython/anne_ops.py" in r.stdout


def test_layout_by_hand():
    k = np.array([[1, 2], [3, 4], [5, 6]], np.float32)
    b = np.array([0.5, -0.5], np.float32)
    data = af.encode(3, [af.LayerSpec("leaky_relu", k, b)], version=1)
    assert data[:4] == b"ANNE"
    assert struct.unpack_from("<HHHHI", data, 4) == (1, 16, 1, 0, 3)
    kind, act, flags, dtype, units, off, res = struct.unpack_from("<BBBBIII", data, 16)
    assert (kind, act, flags, dtype, units, off, res) == (1, 5, 1, 0, 2, 56, 0)
    assert struct.unpack_from("<6f", data, 32) == pytest.approx((0.2, 1.0, 0.0, 0.0, 0.0, 4.0))
    assert struct.unpack_from("<8f", data, 56) == (1, 2, 3, 4, 5, 6, 0.5, -0.5)
    assert len(data) == 56 + 32 + 4
    assert struct.unpack("<I", data[-4:])[0] == binascii.crc32(data[:-4])
    # version 2, with a name: header 32, entry 80, metadata, data at 4-aligned
    data = af.encode(3, [af.LayerSpec("leaky_relu", k, b)], metadata={"name": "xy"})
    assert struct.unpack_from("<4sHHHHHHHHHHII", data, 0) == (
        b"ANNE", 2, 32, 1, 0, 80, 0, 1, 3, 0, 0, 112, 12)
    assert struct.unpack_from("<BBBBHHHHHHHHIII", data, 32) == (
        1, 5, 1, 0, 1, 3, 0, 0, 1, 2, 0, 0, 2, 124, 32)
    assert data[64:80] == bytes(16) and data[104:112] == bytes(8)
    assert struct.unpack_from("<6f", data, 80) == pytest.approx((0.2, 1.0, 0.0, 0.0, 0.0, 4.0))
    assert data[112:124] == b"\x01\x00\x04\x00name\x02\x00xy"
    assert struct.unpack_from("<8f", data, 124) == (1, 2, 3, 4, 5, 6, 0.5, -0.5)
    assert len(data) == 124 + 32 + 4
    assert struct.unpack("<I", data[-4:])[0] == binascii.crc32(data[:-4])


def test_roundtrip_and_forward():
    rng = np.random.default_rng(0)
    specs = [af.LayerSpec("relu", rng.normal(size=(5, 7)), rng.normal(size=7),
                          {"negative_slope": 0.1, "threshold": 0.2, "max_value": 1.5},
                          has_max_value=True),
             af.LayerSpec("glu", rng.normal(size=(7, 6)), None),
             af.LayerSpec("gelu", rng.normal(size=(3, 4)), rng.normal(size=4), approximate=True)]
    m = af.parse(af.encode(5, specs))
    assert [(l.n_in, l.units, l.n_out) for l in m.layers] == [(5, 7, 7), (7, 6, 3), (3, 4, 4)]
    assert m.layers[0].has_max_value and m.layers[2].approximate and not m.layers[1].has_bias
    assert af.encode(5, [l.spec() for l in m.layers]) == af.encode(5, specs)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    y = m.forward(x)
    assert y.shape == (4, 4) and y.dtype == np.float32
    # The same network written out by hand in float64 from the specs (Keras
    # 3's formulas), not through anne_format's own activation code.
    z = x.astype(np.float64) @ specs[0].kernel.astype(np.float32) + specs[0].bias.astype(np.float32)
    h = np.where(z > 0.2, z, 0.0)             # relu: threshold 0.2 ...
    h = np.minimum(np.maximum(h, 0.0), 1.5)   # ... max_value 1.5 ...
    h = h - 0.1 * np.maximum(0.2 - z, 0.0)    # ... negative_slope 0.1 below the threshold
    z = h @ specs[1].kernel.astype(np.float32)
    h = z[:, :3] / (1.0 + np.exp(-z[:, 3:]))  # glu: a * sigmoid(b)
    z = h @ specs[2].kernel.astype(np.float32) + specs[2].bias.astype(np.float32)
    want = 0.5 * z * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))  # gelu, tanh form
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_encode_refuses():
    k = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="glu needs even units"):
        af.encode(2, [af.LayerSpec("glu", k)])
    with pytest.raises(ValueError, match="kernel shape"):
        af.encode(3, [af.LayerSpec("relu", k)])
    with pytest.raises(ValueError, match="not finite"):
        af.encode(2, [af.LayerSpec("relu", k * np.nan)])
    with pytest.raises(ValueError, match="unknown activation"):
        af.LayerSpec("nope", k)


BAD_TABLE = anne_badfiles.bad_files()


def test_bad_table_is_big_enough():
    assert len(BAD_TABLE) >= 20
    assert len({n for n, _, _ in BAD_TABLE}) == len(BAD_TABLE)
    assert set(f for _, _, f in BAD_TABLE) <= set(af.FRAGMENTS.values())
    # every refusal the format lists is exercised
    assert set(af.FRAGMENTS.values()) == set(f for _, _, f in BAD_TABLE)


@pytest.mark.parametrize("name,data,fragment", BAD_TABLE, ids=[b[0] for b in BAD_TABLE])
def test_bad_file_refused(name, data, fragment):
    with pytest.raises(ValueError) as e:
        af.parse(data)
    assert fragment in str(e.value)


def test_bad_dir_is_up_to_date():
    index = json.load(open(os.path.join(BAD, "index.json")))
    assert [(e["file"], e["expect"]) for e in index] == \
        [(n + ".anne", f) for n, _, f in BAD_TABLE]
    for (name, data, fragment) in BAD_TABLE:
        assert open(os.path.join(BAD, name + ".anne"), "rb").read() == data, name


def test_valid_odd_files():
    """Files that are odd but valid (a longer header, padding between layers)
    give what the plain file gives; that one is checked by hand: its
    weights, read straight from the bytes at the offsets docs/FORMAT.md
    gives, through numpy (not through anne_format's forward)."""
    valid = json.load(open(os.path.join(BAD, "valid_index.json")))
    assert len(valid) >= 3
    base = open(os.path.join(BAD, "base_good.anne"), "rb").read()
    n_in = struct.unpack_from("<I", base, 12)[0]
    count = struct.unpack_from("<H", base, 8)[0]
    h = np.array(valid[0]["x"], np.float64)
    assert valid[0]["file"] == "base_good.anne" and len(h) == n_in
    acts = []
    for i in range(count):
        kind, act, flags, _, units, offset, _ = struct.unpack_from("<BBBBIII", base, 16 + 40 * i)
        kernel = np.frombuffer(base, "<f4", len(h) * units, offset).reshape(len(h), units)
        z = h @ kernel
        if flags & 1:
            z = z + np.frombuffer(base, "<f4", units, offset + 4 * kernel.size)
        acts.append(af.ACTIVATIONS[act])
        if acts[-1] == "relu":
            h = np.maximum(z, 0.0)
        elif acts[-1] == "softmax":
            h = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        else:
            raise AssertionError("extend this reference for %s" % acts[-1])
    by_file = {entry["file"]: entry for entry in valid}
    for entry in valid:
        if entry["file"] == "valid_v3_conv.anne":   # version 3 of the conv file: the same outputs
            assert entry["x"] == by_file["valid_conv.anne"]["x"]
            np.testing.assert_array_equal(entry["y"], by_file["valid_conv.anne"]["y"])
            continue
        if entry["file"] == "valid_conv.anne":
            continue  # another model: tests/host/test_conv.py checks it
        m = af.load(os.path.join(BAD, entry["file"]))
        np.testing.assert_allclose(m.forward(np.array(entry["x"], np.float32)), h, rtol=1e-6)
        np.testing.assert_allclose(entry["y"], h, rtol=1e-6)
        assert entry["metadata"] == m.metadata
        assert m.metadata in ({}, anne_badfiles.META), entry["file"]


def test_v2_layout_by_hand():
    """The version-2 base file read at the offsets docs/FORMAT.md gives, by
    hand: the same weights as the version-1 one, and its metadata."""
    v1 = af.parse(open(os.path.join(BAD, "base_good.anne"), "rb").read())
    data = open(os.path.join(BAD, "valid_v2.anne"), "rb").read()
    assert data[:4] == b"ANNE" and struct.unpack_from("<HHHHHH", data, 4) == (2, 32, 2, 0, 80, 0)
    assert struct.unpack_from("<HHHH", data, 16) == (1, 3, 0, 0)
    meta_offset, meta_size = struct.unpack_from("<II", data, 24)
    assert meta_offset == 32 + 2 * 80
    items = {}
    p = meta_offset + 2
    for _ in range(struct.unpack_from("<H", data, meta_offset)[0]):
        k = struct.unpack_from("<H", data, p)[0]
        key = data[p + 2:p + 2 + k].decode()
        p += 2 + k
        v = struct.unpack_from("<H", data, p)[0]
        items[key] = data[p + 2:p + 2 + v].decode()
        p += 2 + v
    assert p == meta_offset + meta_size
    assert items == {"name": "base", "unit": "\u00b0C", "classes": "low\nmid\nhigh"}
    n_in = 3
    for i, l in enumerate(v1.layers):
        e = 32 + 80 * i
        kind, act, flags, dtype = struct.unpack_from("<BBBB", data, e)
        assert (kind, act, flags, dtype) == (1, l.activation_id, l.flags, 0)
        assert struct.unpack_from("<HHHH", data, e + 4) == (1, n_in, 0, 0)
        assert struct.unpack_from("<HHHH", data, e + 12) == (1, l.n_out, 0, 0)
        units, offset, size = struct.unpack_from("<III", data, e + 20)
        assert units == l.units and size == 4 * (n_in * units + units) and offset % 4 == 0
        assert struct.unpack_from("<6f", data, e + 48) == struct.unpack_from("<6f", open(
            os.path.join(BAD, "base_good.anne"), "rb").read(), 16 + 40 * i + 16)
        kernel = np.frombuffer(data, "<f4", n_in * units, offset).reshape(n_in, units)
        np.testing.assert_array_equal(kernel, l.kernel)
        np.testing.assert_array_equal(np.frombuffer(data, "<f4", units, offset + 4 * kernel.size), l.bias)
        n_in = l.n_out
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == binascii.crc32(data[:-4])


def test_v3_layout_by_hand():
    """The version-3 base file at the offsets docs/FORMAT.md gives: the
    version-2 fields where they were, 16 kind-parameter slots, the activation
    parameters at 64, each layer's inputs (a chain) at 88, the int8 block 0."""
    v2 = open(os.path.join(BAD, "valid_v2.anne"), "rb").read()
    data = open(os.path.join(BAD, "valid_v3.anne"), "rb").read()
    assert struct.unpack_from("<4sHHHHHH", data, 0) == (b"ANNE", 3, 32, 2, 0, 128, 0)
    assert struct.unpack_from("<HHHH", data, 16) == (1, 3, 0, 0)
    meta_offset, meta_size = struct.unpack_from("<II", data, 24)
    assert meta_offset == 32 + 2 * 128
    assert data[meta_offset:meta_offset + meta_size] == v2[32 + 2 * 80:32 + 2 * 80 + meta_size]
    for i in range(2):
        e, e2 = 32 + 128 * i, 32 + 80 * i
        assert data[e:e + 24] == v2[e2:e2 + 24]             # kind .. units
        assert struct.unpack_from("<16H", data, e + 32) == (0,) * 16
        assert data[e + 64:e + 88] == v2[e2 + 48:e2 + 72]   # the activation parameters
        assert struct.unpack_from("<8B", data, e + 88) == (1, 255 if i == 0 else 0, 0, 0, 0, 0, 0, 0)
        assert data[e + 96:e + 128] == bytes(32)
        offset, size = struct.unpack_from("<II", data, e + 24)
        offset2, size2 = struct.unpack_from("<II", v2, e2 + 24)
        assert size == size2 and data[offset:offset + size] == v2[offset2:offset2 + size2]
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == binascii.crc32(data[:-4])
    rank3 = open(os.path.join(BAD, "valid_v3_rank3_input.anne"), "rb").read()
    assert struct.unpack_from("<HHHH", rank3, 16) == (3, 3, 1, 1)


def test_bad_files_from_other_models():
    path = os.path.join(ROOT, "tests", "fixtures", "models", "deep_mixed.anne")
    table = anne_badfiles.bad_files(open(path, "rb").read())
    for name, data, fragment in table:
        with pytest.raises(ValueError, match=re.escape(fragment)):
            af.parse(data)


# --- activations against scalar reference formulas (Keras 3 definitions) -----

def _sig(v):
    return 1 / (1 + math.exp(-v))


def _softplus(v):
    return math.log1p(math.exp(-abs(v))) + max(v, 0)


SCALAR = {
    "linear": lambda v: v,
    "relu": lambda v: max(v, 0),
    "sigmoid": _sig,
    "tanh": math.tanh,
    "leaky_relu": lambda v: v if v >= 0 else 0.2 * v,
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * math.expm1(v)),
    "celu": lambda v: max(v, 0) + math.expm1(min(v, 0)),
    "exponential": math.exp,
    "gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "hard_shrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "hard_sigmoid": lambda v: min(max(v + 3, 0), 6) / 6,
    "hard_silu": lambda v: v * min(max(v + 3, 0), 6) / 6,
    "hard_tanh": lambda v: min(max(v, -1), 1),
    "log_sigmoid": lambda v: -_softplus(-v),
    "mish": lambda v: v * math.tanh(_softplus(v)),
    "relu6": lambda v: min(max(v, 0), 6),
    "silu": lambda v: v * _sig(v),
    "soft_shrink": lambda v: v - 0.5 if v > 0.5 else (v + 0.5 if v < -0.5 else 0.0),
    "softplus": _softplus,
    "softsign": lambda v: v / (1 + abs(v)),
    "sparse_plus": lambda v: 0.0 if v <= -1 else (0.25 * (v + 1) ** 2 if v < 1 else v),
    "sparse_sigmoid": lambda v: 0.0 if v <= -1 else (1.0 if v >= 1 else 0.5 * (v + 1)),
    "squareplus": lambda v: (v + math.sqrt(v * v + 4)) / 2,
    "tanh_shrink": lambda v: v - math.tanh(v),
}
XS = np.array([-7.5, -3.0, -1.0, -0.7, -0.5, -0.2, 0.0, 0.3, 0.5, 0.9, 1.0, 2.5, 6.0, 9.0],
              np.float32)


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_elementwise_activation(name):
    got = anne_reference.activate(name, XS)
    want = [SCALAR[name](float(v)) for v in XS]
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_relu_with_parameters_like_keras():
    p = {"negative_slope": 0.1, "threshold": 0.5, "max_value": 6.0}
    got = anne_reference.activate("relu", XS, p, has_max_value=True)
    want = [min(v, 6.0) if v > 0.5 else 0.1 * (v - 0.5) for v in XS.astype(float)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_threshold_and_vector_activations():
    y = anne_reference.activate("threshold", XS, {"threshold": 0.4, "default_value": -2.0})
    assert list(y) == [-2.0 if v <= 0.4 else v for v in XS]
    x = np.array([[1.0, 2.0, 0.5, 2.2]], np.float32)
    e = np.exp(x - x.max())
    np.testing.assert_allclose(anne_reference.activate("softmax", x), e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(anne_reference.activate("log_softmax", x), np.log(e / e.sum()), rtol=1e-6)
    # the correct sparsemax (Keras 3.15 gives all zeros here: keras-team/keras#23425)
    sm = anne_reference.activate("sparsemax", x)
    np.testing.assert_allclose(sm, [[0.0, 0.4, 0.0, 0.6]], atol=1e-6)
    np.testing.assert_allclose(anne_reference.activate("sparsemax", [0.0, 0.5, 1.0]), [0, 0.25, 0.75])
    np.testing.assert_allclose(anne_reference.activate("sparsemax", [3.0] * 4), [0.25] * 4)
    np.testing.assert_allclose(anne_reference.activate("sparsemax", [1e4, -1e4, 0.0]), [1, 0, 0])
    g = anne_reference.activate("glu", x)
    np.testing.assert_allclose(g, [[1.0 * _sig(0.5), 2.0 * _sig(2.2)]], rtol=1e-6)
    assert anne_reference.activate("swish", XS).tolist() == anne_reference.activate("silu", XS).tolist()


# --- int8 (format version 3, dtype 1) -----------------------------------------

INT8_DATA_TABLE = anne_badfiles.bad_int8_data_files()


def test_int8_fragments_exercised():
    names = [n for n, _, _ in BAD_TABLE + INT8_DATA_TABLE]
    assert len(set(names)) == len(names)
    assert {"int8", "dtype_mix"} <= {k for k, v in af.FRAGMENTS.items()
                                     if v in {f for _, _, f in BAD_TABLE}}


@pytest.mark.parametrize("name,data,fragment", INT8_DATA_TABLE, ids=[b[0] for b in INT8_DATA_TABLE])
def test_int8_data_file_refused(name, data, fragment):
    """Bad requantization scales (float64) and weight scales: refused when the data is read."""
    with pytest.raises(ValueError) as e:
        af.parse(data)
    assert fragment in str(e.value) and str(e.value).startswith("layer ")


def test_int8_dir_is_up_to_date():
    index = json.load(open(os.path.join(BAD, "int8_index.json")))
    assert [(e["file"], e["expect"]) for e in index["bad"]] == [(n + ".anne", f) for n, _, f in INT8_DATA_TABLE]
    for name, data, _ in INT8_DATA_TABLE:
        assert open(os.path.join(BAD, name + ".anne"), "rb").read() == data, name
    valid = dict(anne_badfiles.valid_int8_files())
    valid.update(("tflite_" + n, d) for n, d, _ in anne_badfiles.tflite_int8_files())
    assert [e["file"] for e in index["valid"]] == ["valid_%s.anne" % n for n in valid]
    for e in index["valid"]:
        assert open(os.path.join(BAD, e["file"]), "rb").read() == valid[e["file"][6:-5]]
        m = af.load(os.path.join(BAD, e["file"]))
        if e["io"] == "int8":
            assert m.forward_int8(np.array(e["x"])).tolist() == e["y"], e["file"]
        else:
            np.testing.assert_array_equal(m.forward(np.array(e["x"], np.float32)), np.array(e["y"], np.float32))


def _quantize_multiplier_exact(real):
    """QuantizeMultiplier (single-rounding build) with exact fractions: an
    independent computation of what anne_format.quantize_multiplier gives."""
    from fractions import Fraction
    if real == 0:
        return 0, 0
    r = Fraction(real)
    shift = 0
    while abs(r) >= 1:
        r /= 2
        shift += 1
    while abs(r) < Fraction(1, 2):
        r *= 2
        shift -= 1
    x = abs(r) * 2 ** 31
    q = int(x) + (1 if x - int(x) >= Fraction(1, 2) else 0)
    q = q if r > 0 else -q
    if abs(q) == 2 ** 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return 2 ** 31 - 1, 30
    return q, shift


def test_quantize_multiplier():
    """LiteRT's quantization_util_test.cc values (as src/math/requant.rs's
    tests have them), and the exact computation on many reals."""
    cases = [(-4.0, -1073741824, 3), (-0.125, -1073741824, -2), (0.0, 0, 0), (0.125, 1073741824, -2),
             (0.5, 1073741824, 0), (1.0, 1073741824, 1), (4.0, 1073741824, 3),
             (math.ldexp(1.0, -31), 1073741824, -30), (math.ldexp(1.0, -32), 1073741824, -31),
             (math.ldexp(float(np.float32(0.99)), -32), 0, 0), (math.ldexp(1.0, -33), 0, 0),
             (0.50 - 5e-9, 2147483627, -1), (0.50 - 1e-10, 1073741824, 0), (0.75, 1610612736, 0),
             (1.0 - 1e-9, 2147483646, 0), (1.0 + 1e-11, 1073741824, 1), (1.25, 1342177280, 1),
             (2.0 - 1e-9, 2147483647, 1), (2.0 - 1e-11, 1073741824, 2),
             (2.0 ** 31, 2147483647, 30), (2.0 ** 40, 2147483647, 30)]
    for real, q, s in cases:
        assert af.quantize_multiplier(real) == (q, s), real
        assert _quantize_multiplier_exact(real) == (q, s), real
    rng = np.random.default_rng(29)
    for real in np.exp(rng.uniform(-30, 10, 2000)):
        assert af.quantize_multiplier(float(real)) == _quantize_multiplier_exact(float(real)), real
    with pytest.raises(ValueError):
        af.quantize_multiplier(float("nan"))


def test_int8_layout_by_hand():
    """valid_int8.anne at the offsets docs/FORMAT.md gives, read with
    struct, run as LiteRT's reference FULLY_CONNECTED (Python's float
    product, then round() half away from zero with exact fractions):
    int8_index.json's outputs, and the float64 scales are the ones
    LiteRT's Eval computes (the float32 scales' double product and
    quotient), bit for bit."""
    data = open(os.path.join(BAD, "valid_int8.anne"), "rb").read()
    index = json.load(open(os.path.join(BAD, "int8_index.json")))
    entry = [e for e in index["valid"] if e["file"] == "valid_int8.anne"][0]
    assert struct.unpack_from("<4sHHH", data, 0) == (b"ANNE", 3, 32, 2)
    n_in = struct.unpack_from("<HHHH", data, 16)[1]
    layers = []
    prev_out = None
    for i in range(2):
        e = 32 + 128 * i
        kind, act, flags, dtype = struct.unpack_from("<BBBB", data, e)
        assert (kind, act, dtype) == (1, 0, 1)
        units, offset, size = struct.unpack_from("<III", data, e + 20)
        s_in, z_in, s_out, z_out, count, lo, hi = struct.unpack_from("<fifiIbb", data, e + 96)
        assert data[e + 118:e + 128] == bytes(10) and count in (1, units)
        if prev_out:
            assert (s_in, z_in) == prev_out
        prev_out = (s_out, z_out)
        p = offset
        kernel = struct.unpack_from("<%db" % (units * n_in), data, p)
        p += (units * n_in + 3) // 4 * 4
        bias = struct.unpack_from("<%di" % units, data, p)
        p += 4 * units
        scale = struct.unpack_from("<%dd" % count, data, p)
        ws = struct.unpack_from("<%df" % count, data, p + 8 * count)
        assert p + 12 * count - offset == size
        for j in range(count):
            assert scale[j] == float(s_in) * float(ws[j]) / float(s_out)
        layers.append((n_in, units, kernel, bias, scale, z_in, z_out, lo, hi))
        n_in = units
    assert (entry["input_quantization"], entry["output_quantization"]) == (
        [struct.unpack_from("<f", data, 32 + 96)[0], struct.unpack_from("<i", data, 32 + 100)[0]], list(prev_out))
    for x, y in zip(entry["x"], entry["y"]):
        h = list(x)
        for n, units, kernel, bias, scale, z_in, z_out, lo, hi in layers:
            out = []
            for j in range(units):
                acc = bias[j] + sum(kernel[j * n + i] * (h[i] - z_in) for i in range(n))
                v = Fraction(acc * scale[j if len(scale) > 1 else 0])     # the double product, exactly
                acc = int(abs(v) + Fraction(1, 2)) * (1 if v >= 0 else -1)   # round(): half away from zero
                out.append(min(max(acc + z_out, lo), hi))
            h = out
        assert h == y


def test_int8_writer_refuses():
    """What the readers refuse, the writer refuses before writing."""
    n, layers = anne_badfiles._int8_model()
    with pytest.raises(ValueError, match="version-3"):
        af.encode(n, layers)
    with pytest.raises(ValueError, match="bad dtype"):
        af.encode(n, layers[:1] + [af.LayerSpec("relu", np.ones((4, 2), np.float32), None)], version=3)
    bad = af.Int8DenseSpec(layers[1].kernel, None, [0.01], (0.036, -128), (0.1, 0))
    with pytest.raises(ValueError, match="layer 1: bad int8 parameters: input scale"):
        af.encode(n, layers[:1] + [bad], version=3)
    bad = af.Int8DenseSpec(layers[1].kernel, None, [0.01, 0.02], (0.035, -128), (0.1, 0))
    with pytest.raises(ValueError, match="count of weight scales 2"):
        af.encode(n, layers[:1] + [bad], version=3)
    bad = af.Int8DenseSpec(layers[1].kernel, None, [0.01], (0.035, -128), (0.1, 0), (5, 4))
    with pytest.raises(ValueError, match="act_min 5 > act_max 4"):
        af.encode(n, layers[:1] + [bad], version=3)
    for scale in (float("nan"), float("inf"), 0.0, -0.0, -0.5, 0x7FF0000000000001):
        bad = af.Int8DenseSpec(layers[1].kernel, None, [0.01], (0.035, -128), (0.1, 0), scales=[scale])
        with pytest.raises(ValueError, match="layer 1: bad int8 parameters: requantization scale 0x"):
            af.encode(n, layers[:1] + [bad], version=3)
    bad = af.Int8DenseSpec(layers[1].kernel, None, [0.01], (0.035, -128), (0.1, 0), scales=[0.5, 0.5])
    with pytest.raises(ValueError, match="2 requantization scales for 1 weight scales"):
        af.encode(n, layers[:1] + [bad], version=3)


def test_int8_round_trip_and_summary():
    good = open(os.path.join(BAD, "valid_int8.anne"), "rb").read()
    m = af.parse(good)
    assert m.dtype == "int8" and m.layers[0].quant[4] == 4 and m.layers[1].quant[4] == 1
    assert af.encode(m.input_shape, [l.spec() for l in m.layers], metadata=m.metadata, version=3) == good
    text = m.summary()
    assert "dtype int8: input scale 0.0199999996 zero point -9" in text
    assert "4 per channel" in text and "(per tensor)" in text
