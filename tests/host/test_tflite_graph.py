"""anne-convert on a .tflite graph (tools/anne_tflite_graph.py): residual
connections, branches, ADD / SUB / MUL / CONCATENATION and the MUL and ADD
of an unfolded BatchNormalization become a version-3 int8 .anne file whose
layers name their inputs. Checked against what LiteRT reported for the same
model (tests/fixtures/int8/graph_*.json, tools/make_int8_graph_fixtures.py;
the older residual_add_mul, bn_global_max and pool1d_mean of
tools/make_int8_fixtures.py): each layer's inputs and quantization against
the fixture's tensors, each merge's outputs against LiteRT's tensor values,
the network's outputs against LiteRT's for every row, bit for bit."""
import copy
import json
import os
import struct

import numpy as np
import pytest

from conftest import FIXTURES
import anne_format as af  # (first: it puts micropython/ on the path)
import anne_file
import anne_file_int8
import anne_ops
import anne_tflite
import anne_tflite_graph as tg
import anne_tflite_import as ti
from anne_format_int8 import quantize_multiplier

INT8 = os.path.join(FIXTURES, "int8")
GRAPHS = ["graph_dense_residual", "graph_conv1d_resnet", "graph_conv2d_resnet", "graph_concat", "graph_mul_sub",
          "graph_bn_unfolded",
          "residual_add_mul", "bn_global_max", "pool1d_mean"]
MERGE_KINDS = {"ADD": "add", "SUB": "subtract", "MUL": "multiply", "CONCATENATION": "concatenate"}


def doc(name):
    with open(os.path.join(INT8, name + ".json")) as f:
        return json.load(f)


def path(name):
    return os.path.join(INT8, name + ".tflite")


def f32(v):
    return float(np.float32(v))


def convert(name, tmp_path):
    out = tmp_path / (name + ".anne")
    out.write_bytes(ti.import_tflite(path(name)).encode())
    return af.load(str(out)), out.read_bytes()


def q_of(tensor):
    return (f32(tensor["scales"][0]), tensor["zero_points"][0])


def test_every_graph_fixture_is_a_graph_and_chains_are_not():
    for name in GRAPHS:
        assert tg.is_graph(anne_tflite.read_tflite(open(path(name), "rb").read())), name
    for name in ("conv1d_dense", "pool1d_chain", "dense_relu_softmax", "dense_float_io"):
        assert not tg.is_graph(anne_tflite.read_tflite(open(path(name), "rb").read())), name


@pytest.mark.parametrize("name", GRAPHS)
def test_graph_outputs_are_litert_s_for_every_row(name, tmp_path):
    m, data = convert(name, tmp_path)
    d = doc(name)
    assert m.version == 3 and m.dtype == "int8"
    assert anne_file.is_graph([L for L in m.layers])
    assert m.forward_int8(np.array(d["rows"])).tolist() == d["outputs"]
    # the file says again what it was written from
    assert af.encode(m.input_shape, [_spec(L) for L in m.layers], metadata=m.metadata, version=3) == data


def _spec(L):
    """The spec a parsed layer was written from (merges and affine included)."""
    if L.kind in anne_file_int8.ELEMENTWISE:
        q = L.quant
        if L.kind == anne_ops.LAYER_AFFINE:
            s = af.Int8AffineSpec(L.kparams[1], L.values, L.in_qs[1], L.in_qs[0], q[2:4], q[5:7], L.kparams[2],
                                  L.kparams[0], L.words)
        else:
            s = af.Int8MergeSpec(L.kind, L.inputs, L.in_qs, q[2:4], q[5:7], L.words)
        return s
    s = L.spec()
    s.inputs = L.inputs
    return s


@pytest.mark.parametrize("name", GRAPHS)
def test_merges_hold_litert_s_quantization_and_outputs(name, tmp_path):
    """Each ADD, SUB, MUL, CONCATENATION: the layer it became takes the
    layers computing its inputs, holds their and its output's scale and
    zero point and LiteRT's Prepare's multipliers, and gives LiteRT's values
    for every row from LiteRT's values of its inputs."""
    m, _ = convert(name, tmp_path)
    d = doc(name)
    tensors = d["tensors"]
    merges = [op for op in d["operators"] if op["opcode"] in MERGE_KINDS]
    layers = [L for L in m.layers if L.kind in anne_file_int8.ELEMENTWISE]
    assert len(layers) == len(merges)
    for L, op in zip(layers, merges):
        ins = op["inputs"]
        const = [i for i in ins if "values" in tensors[i]]
        tout = tensors[op["outputs"][0]]
        assert L.quant[2:4] == q_of(tout)
        fused = op.get("options", {}).get("fused_activation", "NONE")
        assert L.quant[5:7] == (ti.activation_range(fused, *q_of(tout)) if op["opcode"] != "CONCATENATION"
                                else (-128, 127))
        if const:
            assert L.kind_name == "affine" and anne_ops.LAYER_NAMES[L.kparams[1]] == MERGE_KINDS[op["opcode"]]
            c = tensors[const[0]]
            assert L.values.tolist() == np.resize(c["values"], L.units).tolist()
            data_in = [i for i in ins if i not in const][0]
            assert L.in_qs == [q_of(tensors[data_in]), q_of(c)]
            assert L.kparams[2] == (ins[0] == const[0])
            ordered = [q_of(tensors[i]) for i in ins]
        else:
            assert L.kind_name == MERGE_KINDS[op["opcode"]]
            assert L.in_qs == [q_of(tensors[i]) for i in ins]
            ordered = L.in_qs
        s1, s2, so = ordered[0][0], ordered[-1][0], L.quant[2]
        if op["opcode"] in ("ADD", "SUB"):       # LiteRT's Prepare written out again
            tm = 2.0 * max(s1, s2)
            want = [20]
            for r in (s1 / tm, s2 / tm, tm / ((1 << 20) * so)):
                want += list(quantize_multiplier(r, single_rounding=False))
            assert L.words == want
        elif op["opcode"] == "MUL":
            assert L.words == list(quantize_multiplier(float(np.float32(np.float32(s1) * np.float32(s2))
                                                             / np.float32(so)), single_rounding=False))
        # the layer on LiteRT's values of its inputs gives LiteRT's values of its output
        for row in d["tensor_values"]:
            xs = [np.array([row[str(i)]]) for i in ins if i not in const]
            got = L.forward_int8(xs if L.kind in anne_file.MERGES else xs[0])
            assert got.reshape(-1).tolist() == row[str(op["outputs"][0])], (name, op["opcode"])


def test_layers_name_their_inputs():
    spec = ti.import_tflite(path("graph_conv1d_resnet")).specs
    assert [s.kind for s in spec][:4] == [anne_ops.LAYER_CONV1D] * 3 + [anne_ops.LAYER_ADD]
    assert [s.inputs for s in spec] == [(255,), (0,), (255,), (1, 2), (3,), (4,), (5,)]
    spec = ti.import_tflite(path("graph_bn_unfolded")).specs
    assert [s.kind for s in spec[:2]] == [anne_ops.LAYER_AFFINE] * 2
    assert [s.kparams[1] for s in spec[:2]] == [anne_ops.LAYER_MULTIPLY, anne_ops.LAYER_ADD]


def test_summary_names_the_merges(capsys):
    imp = ti.import_tflite(path("graph_mul_sub"))
    labels = [" ".join(s) for s in imp.sources]
    assert any("MUL #3" in s for s in labels) and any("SUB #4" in s for s in labels)


# -- bad models: each problem named, nothing written ------------------------

def _model(name):
    return anne_tflite.read_tflite(open(path(name), "rb").read())


def _op(m, name, k=0):
    return [op for op in m["operators"] if op["name"] == name][k]


def _refused(m, *fragments):
    with pytest.raises(ti.ConvertError) as e:
        ti.import_model(m, "bad.tflite")
    for f in fragments:
        assert f in str(e.value), str(e.value)
    return str(e.value)


def test_concatenation_of_other_scales_refused():
    m = _model("graph_concat")
    op = _op(m, "CONCATENATION")
    m["tensors"][op["outputs"][0]]["scales"] = [0.5]
    _refused(m, "operator 5 CONCATENATION", "differ from the output's", "anne does not requantize")


def test_concatenation_of_other_scales_is_refused_as_litert_refuses_it():
    # tests/fixtures/int8_litert_refused/concat_rescaled.tflite: TensorFlow's quant_concat
    # with one CONCATENATION input's quantization changed (the converter
    # never writes one); LiteRT's int8 CONCATENATION refuses it at Prepare
    # with every resolver (its int8 kernel copies, it does not requantize)
    path = os.path.join(FIXTURES, "int8_litert_refused", "concat_rescaled")
    with open(path + ".json") as f:
        d = json.load(f)
    for resolver, error in d["litert_allocate_tensors"].items():
        assert error and "CONCATENATION" in error, resolver
    assert "t->params.scale != output->params.scale" in d["litert_allocate_tensors"]["BUILTIN_REF"]
    with pytest.raises(ti.ConvertError) as e:
        ti.import_tflite(path + ".tflite")
    msg = str(e.value)
    assert "1 problem, nothing written" in msg and "operator 2 CONCATENATION: tensor %d " % d["tensor"] in msg, msg
    assert "(%r, %d) differ from the output's" % tuple(d["quantization"]) in msg, msg
    assert "LiteRT refuses it at Prepare" in msg, msg


def test_concatenation_on_another_axis_refused():
    m = _model("graph_concat")
    _op(m, "CONCATENATION")["options"]["axis"] = 1
    _refused(m, "operator 5 CONCATENATION", "axis 1", "last axis")


def test_add_of_two_shapes_refused():
    m = _model("graph_dense_residual")
    op = _op(m, "ADD")
    m["tensors"][op["inputs"][1]]["shape"] = [1, 4, 2]
    _refused(m, "operator 3 ADD")


def test_bad_fused_activation_and_constant_refused_in_one_run():
    m = _model("graph_bn_unfolded")
    _op(m, "ADD", 1)["options"]["fused_activation"] = "TANH"
    c = [i for i in _op(m, "MUL")["inputs"] if "buffer" in m["tensors"][i] and
         anne_tflite.tensor_values(m, i) is not None][0]
    m["tensors"][c]["shape"] = [2]
    text = _refused(m, "2 problems", "operator 0 MUL", "one per channel", "operator 5 ADD", "fused activation TANH")
    assert "nothing written" in text


def test_unsupported_operator_in_a_graph_named_and_what_it_feeds():
    m = _model("graph_dense_residual")
    op = _op(m, "FULLY_CONNECTED", 2)
    code = dict(m["operator_codes"][op["opcode_index"]])
    m["operator_codes"].append(dict(code, builtin_code=200, name="PRELU"))
    op["opcode_index"] = len(m["operator_codes"]) - 1
    op["name"] = "PRELU"
    assert "1 problem," in _refused(m, "operator 2 PRELU")


def test_silu_reported_once_at_its_mul():
    text = _refused(_model("act_silu"), "operator 2 MUL", "silu")
    assert text.count("\n  operator ") == 1


# -- the format: bad int8 merge records refused --------------------------------

def _file(name="graph_mul_sub"):
    return bytearray(ti.import_tflite(path(name)).encode())


def _fix_crc(data):
    import binascii
    struct.pack_into("<I", data, len(data) - 4, binascii.crc32(bytes(data[:-4])) & 0xFFFFFFFF)
    return data


def test_bad_merge_records_refused(tmp_path):
    good = _file()
    p = tmp_path / "g.anne"
    p.write_bytes(bytes(good))
    m = af.load(str(p))
    sub = [L for L in m.layers if L.kind == anne_ops.LAYER_SUBTRACT][0]
    mul = [L for L in m.layers if L.kind == anne_ops.LAYER_MULTIPLY][0]
    cases = []
    bad = bytearray(good)       # an operand's zero point out of range
    struct.pack_into("<i", bad, sub.data_offset + 28 + 12, 300)
    cases.append((bad, "operand 1"))
    bad = bytearray(good)       # add's left shift not 20
    struct.pack_into("<i", bad, sub.data_offset, 19)
    cases.append((bad, "left shift 19"))
    bad = bytearray(good)       # a negative multiplier
    struct.pack_into("<i", bad, mul.data_offset, -5)
    cases.append((bad, "multiply: multiplier -5"))
    bad = bytearray(good)       # operand 0 not the block's input
    struct.pack_into("<f", bad, sub.data_offset + 28, 0.5)
    cases.append((bad, "operand 0"))
    for data, frag in cases:
        q = tmp_path / "b.anne"
        q.write_bytes(bytes(_fix_crc(data)))
        with pytest.raises(ValueError, match=frag):
            af.load(str(q))


def test_encoder_refuses_mismatched_merges():
    spec = ti.import_tflite(path("graph_mul_sub")).specs
    bad = copy.deepcopy(spec)
    bad[4].in_qs[1] = (0.25, 0)     # the subtract's second input is not layer 1's output
    with pytest.raises(ValueError, match="input 1"):
        af.encode((6,), bad, version=3)
    bad = copy.deepcopy(spec)
    bad[3].inputs = (0, 2, 2)       # a multiply of three inputs
    bad[3].in_qs = bad[3].in_qs + [bad[3].in_qs[1]]
    with pytest.raises(ValueError, match="count 3 for 3 inputs"):
        af.encode((6,), bad, version=3)
    spec = ti.import_tflite(path("graph_concat")).specs
    bad = copy.deepcopy(spec)
    bad[6].in_qs[1] = (bad[6].in_qs[1][0] * 2, bad[6].in_qs[1][1])
    with pytest.raises(ValueError):
        af.encode((8, 2), bad, version=3)
