# files: tests/fixtures/quant/quant_relu_softmax_float.anne tests/fixtures/quant/quant_relu_softmax_int8.anne tests/fixtures/quant/quant_relu_softmax_calibration.json tests/fixtures/quant/quant_relu_softmax.json tests/fixtures/quant/quant_tanh_wide_float.anne tests/fixtures/quant/quant_tanh_wide_calibration.json tests/board/boardcheck.py tests/fixtures/quant/quant_hard_swish_float.anne tests/fixtures/quant/quant_hard_swish_int8.anne tests/fixtures/quant/quant_hard_swish_calibration.f32 tests/fixtures/quant/quant_hard_swish.json
# net.quantize(rows) on the board (micropython/anne_quant.py): a float Dense
# network (tests/fixtures/quant's relu/softmax model, converted from Keras)
# and its calibration rows give the int8 network `anne-convert --quantize
# int8` makes on the PC from the same rows (quant_*_int8.anne): the same
# int8 weights and weight scales, the input's quantization exactly, the
# other scales within float32 rounding (the board sums the calibration's
# floats in its own order), biases within one step; and outputs within one
# output step of LiteRT's for TensorFlow's own conversion (quant_*.json) on
# 99 % of the values. The float network is unchanged; the int8 one saves
# and loads; refusals leave everything as it was; an edited float network
# quantizes again (the exploration loop). test_quantize_cnn.py does the
# same for a CNN with this script's checks.
import gc
import json
from array import array

import anne_net
from boardcheck import check, json_rows, refused, report

NAME = "test_quantize"
FLOAT = "quant_relu_softmax_float.anne"


def rows_of(path):
    with open(path) as f:
        return json.load(f)


def ints(buf, code):
    """A loaded layer's int8 / int32 part as ints (bytes views decoded)."""
    import struct
    b = bytes(buf)
    return list(struct.unpack("<%d%s" % (len(b) // (1 if code == "b" else 4), code), b))


def near(a, b):
    """Within float32 rounding: a scale from a range that the board's float
    kernels and the PC's numpy sum in another order (two or three units in
    the last place)."""
    return abs(a - b) <= 4e-7 * abs(b)


def test_same_as_the_pc(backend, rows, name="quant_relu_softmax"):
    anne_net.use_backend(backend)
    net = anne_net.load(name + "_float.anne")
    before = list(net.predict(rows[0]))
    q = net.quantize(rows)
    pc = anne_net.load(name + "_int8.anne")
    tag = "%s, %s" % (name, backend)
    check(q.dtype == "int8" and net.dtype == "float32", "%s: dtypes %s %s" % (tag, q.dtype, net.dtype))
    check(list(net.predict(rows[0])) == before, "%s: the float network changed" % tag)
    check(q.input_quantization == pc.input_quantization, "%s: input %r %r" % (tag, q.input_quantization,
                                                                           pc.input_quantization))
    check([type(L).__name__ for L in q._layers] == [type(L).__name__ for L in pc._layers], "%s: layers" % tag)
    for i, (a, b) in enumerate(zip(q._layers, pc._layers)):
        (sa, za), (sb, zb) = a.output_quantization, b.output_quantization
        check(near(sa, sb) and za == zb, "%s: layer %d output %r %r" % (tag, i, (sa, za), (sb, zb)))
        if getattr(b, "_kernel", None) is None:
            continue
        check(ints(a._kernel, "b") == ints(b._kernel, "b"), "%s: layer %d kernel" % (tag, i))
        check(list(a.weight_scales) == list(b.weight_scales), "%s: layer %d weight scales" % (tag, i))
        check(a.activation == b.activation and a.act_range == b.act_range, "%s: layer %d activation" % (tag, i))
        ba, bb = ints(a._bias, "i"), ints(b._bias, "i")
        check(max(abs(x - y) for x, y in zip(ba, bb)) <= 1, "%s: layer %d bias %r %r" % (tag, i, ba, bb))
    return net, q


def test_outputs(q, tag, name="quant_relu_softmax", steps=1):
    """Within `steps` output steps of LiteRT on TensorFlow's own conversion
    (on 99 % of the values; 0: every value exactly)."""
    x, out = array("b", bytes(q.n_inputs)), array("b", bytes(q.n_outputs))
    n = near1 = worst = 0
    for row, want in zip(json_rows(name + ".json", "rows"), json_rows(name + ".json", "outputs")):
        for j in range(len(x)):
            x[j] = int(row[j])
        q.predict_into(x, out)
        for j in range(len(out)):
            diff = abs(out[j] - int(want[j]))
            worst = max(worst, diff)
            near1 += diff <= steps
            n += 1
    check(n > 0 and near1 >= 0.99 * n and worst <= 2 * steps, "%s: %d of %d within %d step of LiteRT, worst %d"
          % (tag, near1, n, steps, worst))


def f32_rows(path, n):
    """Calibration rows of n floats from a file of float32 bytes (exact: a
    float32 port's decimal parsing may differ from the PC's in a last bit,
    and so would the input's scale), a row at a time."""
    rows = []
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * n)
            if not b:
                return rows
            rows.append(array("f", b))


def test_hard_swish(backend):
    """hard_silu (Keras's hard_swish) after a Dense layer: its table made on
    the board from integers, as the PC's; LiteRT's outputs for TensorFlow's
    own conversion."""
    rows = f32_rows("quant_hard_swish_calibration.f32", 4)
    net, q = test_same_as_the_pc(backend, rows, "quant_hard_swish")
    tag = "quant_hard_swish, " + backend
    check(q.layers[0].activation == "hard_silu", "%s: hard_silu" % tag)
    test_outputs(q, tag, "quant_hard_swish", 0)


def test_save(q, tag):
    q.save("q.anne")
    back = anne_net.load("q.anne")
    x = [0.1, -0.2, 0.3, 0.5, -1.0, 2.0]
    check(list(back.predict(x)) == list(q.predict(x)), "%s: saved and loaded" % tag)


def test_refusals(net, rows, tag):
    before = list(net.predict(rows[0]))
    check(refused(ValueError, "row 2 has 5 values", net.quantize, rows[:2] + [rows[2][:5]]), "%s: short row" % tag)
    check(refused(ValueError, "calibration rows", net.quantize, []), "%s: no rows" % tag)
    check(refused(ValueError, "not finite", net.quantize, [[float("nan")] * 6]), "%s: NaN" % tag)
    tanh = anne_net.load("quant_tanh_wide_float.anne")
    tanh.layers[0].activation = "softplus"     # (tanh's table the board makes: test_quantize_tables.py)
    check(refused(ValueError, "quantize on the PC", tanh.quantize, rows_of("quant_tanh_wide_calibration.json")),
          "%s: softplus" % tag)
    check(list(net.predict(rows[0])) == before and net.dtype == "float32", "%s: unchanged" % tag)


def test_edit_and_quantize_again(net, rows, tag):
    """The exploration loop: change a layer, quantize again, run in int8."""
    net.layers[1].activation = "relu6"
    q = net.quantize(rows)
    check(q.layers[1].act_range[1] < 127 or q.layers[1].output_quantization[0] * 255 <= 6.01,
          "%s: relu6's clamp %r" % (tag, q.layers[1].act_range))
    agree = 0
    for row in rows:
        f, g = list(net.predict(row)), list(q.predict(row))
        agree += f.index(max(f)) == g.index(max(g))
    check(agree >= 0.9 * len(rows), "%s: the same class on %d of %d rows" % (tag, agree, len(rows)))
    # evaluate and classify on the int8 network (floats quantized on the way)
    labels = q.classify(rows[:8])
    want = []
    for row in rows[:8]:
        g = list(q.predict(row))
        want.append(g.index(max(g)))
    check(labels == want, "%s: classify %r %r" % (tag, labels, want))
    r = q.evaluate(rows[:8], want)
    check(r["accuracy"] == 1.0 and r["n"] == 8, "%s: evaluate %r" % (tag, r))


def main():
    rows = rows_of("quant_relu_softmax_calibration.json")
    for b in backends:
        print("%s test_same_as_the_pc (%s)" % (NAME, b))
        net, q = test_same_as_the_pc(b, rows)
        test_outputs(q, b)
        test_save(q, b)
        del q      # (the stock Cortex-M0's heap: one int8 network at a time)
        gc.collect()
        test_refusals(net, rows, b)
        gc.collect()
        test_edit_and_quantize_again(net, rows, b)
        del net
        gc.collect()
        print("%s test_hard_swish (%s)" % (NAME, b))
        test_hard_swish(b)
        gc.collect()
    report(NAME)


backends = ("native", "python") if anne_net._native is not None else ("python",)
if __name__ == "__main__":
    main()
