# files: tests/fixtures/int8/dense_linear.anne tests/fixtures/int8/dense_linear.json tests/board/boardcheck.py
# int8 networks (issue 29): a dtype-1 .anne file of int8 Dense layers,
# made from tests/fixtures/int8/dense_linear.tflite (a Keras model that
# TensorFlow's converter quantized to full-integer int8), run on the board:
# every row's int8 output must equal LiteRT's (the reference kernels')
# recorded output exactly ("outputs" in the fixture's JSON), through
# predict_into on int8 buffers and through predict on floats (TFLite's
# QUANTIZE and DEQUANTIZE around the model), on the native module and on
# the pure-Python backend, loaded from a path and from bytes. Then what an
# int8 network refuses: float buffers (and the reverse), wrong lengths,
# fit, compile and edits.
import gc
import json
from array import array

import anne_net
from boardcheck import check, refused, report

NAME = "test_int8"
REFUSAL = "int8 networks are not trained or edited"


def fixture():
    with open("dense_linear.json") as f:
        d = json.load(f)
    return d["rows"], d["outputs"], d["input"], d["output"]


def dequantized(q, scale, zero_point):
    """TFLite's DEQUANTIZE, computed here (float32, as the board stores it)."""
    return list(array("f", [(v - zero_point) * scale for v in q]))


def test_outputs(backend, rows, outputs, inp, outp):
    anne_net.use_backend(backend)
    with open("dense_linear.anne", "rb") as f:
        data = f.read()
    for source in ("dense_linear.anne", data):
        tag = "%s, %s" % (backend, "path" if isinstance(source, str) else "bytes")
        net = anne_net.load(source)
        check(net.backend == backend, "%s: backend %r" % (tag, net.backend))
        check(net.dtype == "int8", "%s: dtype %r" % (tag, net.dtype))
        check(net.n_inputs == 6 and net.n_outputs == 3, "%s: %d -> %d" % (tag, net.n_inputs, net.n_outputs))
        s, z = net.input_quantization
        check(z == inp["zero_point"] and abs(s - inp["scale"]) <= 1e-7 * inp["scale"],
              "%s: input_quantization %r" % (tag, net.input_quantization))
        so, zo = net.output_quantization
        check(zo == outp["zero_point"] and abs(so - outp["scale"]) <= 1e-7 * outp["scale"],
              "%s: output_quantization %r" % (tag, net.output_quantization))
        x = array("b", bytes(6))
        out = array("b", bytes(3))
        bad = 0
        for r in range(len(rows)):
            for j in range(6):
                x[j] = rows[r][j]
            got = net.predict_into(x, out)
            if got is not out or list(out) != outputs[r]:
                bad += 1
                print("  row %d: got %r, LiteRT %r" % (r, list(out), outputs[r]))
        check(bad == 0, "%s: predict_into: %d of %d rows differ from LiteRT" % (tag, bad, len(rows)))
        # floats in and out: each row's input dequantized, so that QUANTIZE
        # gives the row back; the outputs LiteRT's, dequantized
        bad = 0
        batch = [[(v - z) * s for v in row] for row in rows]
        ys = net.predict(batch)
        for r in range(len(rows)):
            y = net.predict(batch[r])
            want = dequantized(outputs[r], so, zo)
            if not isinstance(y, array) or list(y) != want or list(ys[r]) != want:
                bad += 1
                print("  row %d: predict %r, LiteRT dequantized %r" % (r, list(y), want))
        check(bad == 0, "%s: predict: %d of %d rows differ" % (tag, bad, len(rows)))
        # QUANTIZE clamps and rounds half away from zero
        q = array("b", bytes(4))
        import anne_int8
        anne_int8.quantize([1e9, -1e9, 2.5 * s + z * 0, -2.5 * s], s, 0, q)
        check(list(q) == [127, -128, 3, -3], "QUANTIZE clamps and rounds half away: %r" % list(q))
        del net
        gc.collect()


def test_refusals(backend):
    anne_net.use_backend(backend)
    net = anne_net.load("dense_linear.anne")
    x, out = array("b", bytes(6)), array("b", bytes(3))
    tag = backend
    check(refused(TypeError, "typecode 'b'", net.predict_into, array("f", bytes(24)), out),
          "%s: a float x to an int8 network" % tag)
    check(refused(TypeError, "typecode 'b'", net.predict_into, x, array("f", bytes(12))),
          "%s: a float out from an int8 network" % tag)
    check(refused(ValueError, "6", net.predict_into, array("b", bytes(5)), out), "%s: x of 5 values" % tag)
    check(refused(ValueError, "3", net.predict_into, x, array("b", bytes(4))), "%s: out of 4 values" % tag)
    check(refused(ValueError, "6", net.predict, [0.0] * 5), "%s: predict of 5 values" % tag)
    check(refused(ValueError, REFUSAL, net.compile, "sgd", "mse"), "%s: compile" % tag)
    check(refused(ValueError, REFUSAL, net.fit, [[0.0] * 6], [[0.0] * 3]), "%s: fit" % tag)
    check(refused(ValueError, REFUSAL, net.resize, 0, 4), "%s: resize" % tag)
    check(refused(ValueError, REFUSAL, net.remove, 0), "%s: remove" % tag)
    check(refused(ValueError, REFUSAL, net.add, anne_net.Dense(2)), "%s: add" % tag)
    check(refused(ValueError, REFUSAL, net.layers[0].set_activation, "relu"), "%s: set_activation" % tag)
    check(refused(ValueError, REFUSAL, net.set_weights, net.get_weights()), "%s: set_weights" % tag)
    net.predict_into(x, out)  # still runs after the refusals
    # and the reverse: int8 buffers to a float network
    fnet = anne_net.Sequential([anne_net.Input(6), anne_net.Dense(3)])
    check(fnet.dtype == "float32" and fnet.input_quantization is None, "a float network's dtype")
    check(refused(TypeError, "typecode 'f'", fnet.predict_into, x, array("f", bytes(12))),
          "%s: an int8 x to a float network" % tag)


def test_module(m, tag):
    """The layer tuples anne.forward and anne.Plan take for int8 (the
    anne.h example of tests/rust/abi_test.c: hand-checked values)."""
    x, k, b = array("b", [1, -2]), array("b", [1, 1, 2, -1]), array("i", [3, 0])
    m1, s1 = array("i", [1 << 30]), array("i", [0])
    m2, s2 = array("i", [1 << 30, 1 << 30]), array("i", [0, 1])
    h, y = array("b", bytes(2)), array("b", bytes(2))
    second = (k, None, None, None, (1,), (0, -1, -128, 2, m2, s2))
    layers = ((k, b, None, h, (1,), (0, 0, -128, 127, m1, s1)), second)
    check(list(m.forward(layers, x, y)) == [1, -1] and list(h) == [1, 2], "%s: forward %r" % (tag, list(y)))
    y[0] = 9
    check(list(m.Plan(layers)(x, y)) == [1, -1], "%s: Plan" % tag)
    # a loaded file's parts: kernel, bias, multipliers and shifts as bytes
    first = (bytes(k), bytes(b), None, h, (1,), (0, 0, -128, 127, bytes(m1), bytes(s1)))
    y[0] = 9
    check(list(m.Plan((first, second))(x, y)) == [1, -1], "%s: bytes weights" % tag)
    shift31 = (k, b, None, h, (1,), (0, 0, -128, 127, m1, array("i", [31])))
    check(refused(ValueError, "quantization", m.Plan((shift31,)), x, h), "%s: shift 31" % tag)
    check(refused(ValueError, "mixed", m.Plan, (layers[0], (array("f", [1, 2, 3, 4]), None, "linear", None))),
          "%s: int8 and float32 layers in one plan" % tag)
    check(refused(TypeError, "typecode 'b'", m.Plan(layers), array("f", [1, 2]), y), "%s: float x" % tag)


rows, outputs, inp, outp = fixture()
import anne_fallback
print("%s test_module (anne_fallback)" % NAME)
test_module(anne_fallback, "anne_fallback")
if anne_net._native is not None:
    print("%s test_module (anne)" % NAME)
    test_module(anne_net._native, "anne")
backends = ("native", "python") if anne_net._native is not None else ("python",)
for b in backends:
    print("%s test_outputs (%s)" % (NAME, b))
    test_outputs(b, rows, outputs, inp, outp)
    print("%s test_refusals (%s)" % (NAME, b))
    test_refusals(b)
report(NAME)
