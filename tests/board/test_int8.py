# files: tests/fixtures/bad/int8_index.json tests/fixtures/bad/valid_tflite_*.anne tests/fixtures/bad/valid_int8*.anne tests/fixtures/bad/int8_*.anne tests/board/boardcheck.py
# int8 networks (issue 29): the int8 .anne files of the bad-file table's
# int8 index (tests/fixtures/bad/int8_index.json, written by
# tools/anne_badfiles.py): valid_tflite_* are tests/fixtures/int8's
# full-integer .tflite models converted by tools/anne_convert.py, with the
# fixtures' rows and LiteRT's (reference kernels') recorded outputs;
# valid_int8* are written by the codec, with anne_format's numpy reference.
# Every row's output must equal the recorded one exactly: int8 rows through
# predict_into on array('b') buffers (and through predict on the rows
# dequantized), float rows ("io": "float32") through predict (TFLite's
# QUANTIZE and DEQUANTIZE around the model); on the native module and on the
# pure-Python backend, loaded from a path and from bytes. The int8 files a
# reader must refuse raise ValueError with their fragment. Then what an
# int8 network refuses: float buffers (and the reverse), wrong lengths, fit,
# compile and edits; and the int8 layer tuples of anne.forward/anne.Plan.
import gc
import json
from array import array

import anne_net
from boardcheck import check, refused, report

NAME = "test_int8"
REFUSAL = "int8 networks are not trained or edited"
LINEAR = "valid_tflite_dense_linear.anne"


def index():
    with open("int8_index.json") as f:
        return json.load(f)


def f32(values):
    return list(array("f", values))


def same(got, want):
    """Equal but for the last bit of float32 (a board with float32 floats
    parses the JSON's decimals to a neighbour now and then); one int8 step
    apart is a relative difference of 1/256 at least, so float outputs
    that pass are LiteRT's int8 outputs dequantized."""
    return len(got) == len(want) and all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(got, want))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_outputs(backend, valid):
    anne_net.use_backend(backend)
    for entry in valid:
        name, rows, recorded = entry["file"], entry["x"], entry["y"]
        for source in (name, read(name)):
            tag = "%s, %s (%s)" % (name, backend, "path" if isinstance(source, str) else "bytes")
            net = anne_net.load(source)
            check(net.backend == backend and net.dtype == "int8", "%s: %s %s" % (tag, net.backend, net.dtype))
            s, z = net.input_quantization
            so, zo = net.output_quantization
            check(same([s, so], [entry["input_quantization"][0], entry["output_quantization"][0]])
                  and [z, zo] == [entry["input_quantization"][1], entry["output_quantization"][1]],
                  "%s: quantization %r %r" % (tag, net.input_quantization, net.output_quantization))
            check(net.metadata == entry["metadata"], "%s: metadata %r" % (tag, net.metadata))
            bad = 0
            want = recorded
            if entry["io"] == "int8":
                x, out = array("b", bytes(net.n_inputs)), array("b", bytes(net.n_outputs))
                for r in range(len(rows)):
                    for j in range(len(x)):
                        x[j] = rows[r][j]
                    if net.predict_into(x, out) is not out or list(out) != want[r]:
                        bad += 1
                        print("  row %d: got %r, recorded %r" % (r, list(out), want[r]))
                # floats: each row dequantized, so that QUANTIZE gives it back
                floats = [[(v - z) * s for v in row] for row in rows]
                want = [f32([(v - zo) * so for v in row]) for row in want]
            else:
                floats, want = rows, [f32(row) for row in want]
            ys = net.predict(floats)
            for r in range(len(rows)):
                y = net.predict(floats[r])
                if not isinstance(y, array) or not same(y, want[r]) or not same(ys[r], want[r]):
                    bad += 1
                    print("  row %d: predict %r, recorded %r" % (r, list(y), want[r]))
            check(bad == 0, "%s: %d rows differ from the recorded outputs" % (tag, bad))
            del net
            gc.collect()


def test_bad_files(bad):
    for entry in bad:
        name, fragment = entry["file"], entry["expect"]
        for source in (name, read(name)):
            what = "%s (%s)" % (name, "path" if isinstance(source, str) else "bytes")
            check(refused(ValueError, fragment, anne_net.load, source), what)
        gc.collect()
    import anne_int8
    q = array("b", bytes(4))
    anne_int8.quantize([1e9, -1e9, 0.25, -0.25], 0.1, 0, q)
    check(list(q) == [127, -128, 3, -3], "QUANTIZE clamps and rounds half away from zero: %r" % list(q))


def test_refusals(backend):
    anne_net.use_backend(backend)
    net = anne_net.load(LINEAR)
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
    anne.h example of tests/rust/abi_test.c: hand-checked values; 1.5
    rounds to 2, half away from zero)."""
    # scales 0.5 and (0.5, 1.0): float64 bits as int32 words, low first
    x, k, b = array("b", [1, -2]), array("b", [1, 1, 2, -1]), array("i", [3, 0])
    s1 = array("i", [0, 0x3FE00000])
    s2 = array("i", [0, 0x3FE00000, 0, 0x3FF00000])
    h, y = array("b", bytes(2)), array("b", bytes(2))
    second = (k, None, None, None, (1,), (0, -1, -128, 2, s2))
    layers = ((k, b, None, h, (1,), (0, 0, -128, 127, s1)), second)
    check(list(m.forward(layers, x, y)) == [1, -1] and list(h) == [1, 2], "%s: forward %r" % (tag, list(y)))
    y[0] = 9
    check(list(m.Plan(layers)(x, y)) == [1, -1], "%s: Plan" % tag)
    # a loaded file's parts: kernel, bias and scales as bytes
    first = (bytes(k), bytes(b), None, h, (1,), (0, 0, -128, 127, bytes(s1)))
    y[0] = 9
    check(list(m.Plan((first, second))(x, y)) == [1, -1], "%s: bytes weights" % tag)
    nan = (k, b, None, h, (1,), (0, 0, -128, 127, array("i", [0, 0x7FF80000])))
    check(refused(ValueError, "quantization", m.Plan((nan,)), x, h), "%s: a NaN scale" % tag)
    inf = (k, b, None, h, (1,), (0, 0, -128, 127, array("i", [0, 0x3FE00000, 0, 0x7FF00000])))
    check(refused(ValueError, "quantization", m.Plan((inf,)), x, h), "%s: an inf scale" % tag)
    odd = (k, b, None, h, (1,), (0, 0, -128, 127, array("i", [0, 0x3FE00000, 0])))
    check(refused(ValueError, "quantization", m.Plan((odd,)), x, h), "%s: an odd number of words" % tag)
    check(refused(ValueError, "mixed", m.Plan, (layers[0], (array("f", [1, 2, 3, 4]), None, "linear", None))),
          "%s: int8 and float32 layers in one plan" % tag)
    check(refused(TypeError, "typecode 'b'", m.Plan(layers), array("f", [1, 2]), y), "%s: float x" % tag)
    # an activation after the clamp (the first layer gives [1, 2]): a table
    # (here q -> -q), softmax (diff_min 0: only the row's maximum counts,
    # as 1.0, so 256 steps above -128, clamped to 127; the rest -128)
    neg = array("b", bytes(256))
    for q in range(-128, 128):
        neg[q & 0xFF] = min(127, -q)
    table = (k, b, "tanh", h, (1,), (0, 0, -128, 127, s1, neg))
    check(list(m.forward((table,), x, h)) == [-1, -2], "%s: a table %r" % (tag, list(h)))
    sm = array("i", [1456759680, 21, 0])
    soft = (k, b, "softmax", h, (1,), (0, 0, -128, 127, s1, sm))
    check(list(m.forward((soft,), x, h)) == [-128, 127], "%s: softmax %r" % (tag, list(h)))
    for what, layer in (("no post", (k, b, "softmax", h, (1,), (0, 0, -128, 127, s1))),
                        ("a post for linear", (k, b, None, h, (1,), (0, 0, -128, 127, s1, neg))),
                        ("a 255-entry table", (k, b, "tanh", h, (1,), (0, 0, -128, 127, s1, neg[:255]))),
                        ("left shift 32", (k, b, "softmax", h, (1,), (0, 0, -128, 127, s1, array("i", [1, 32, 0]))))):
        check(refused(ValueError, "quantization", m.forward, (layer,), x, h), "%s: %s" % (tag, what))
    glu = (k, b, "glu", h, (1,), (0, 0, -128, 127, s1, neg))
    check(refused(ValueError, "element-wise", m.forward, (glu,), x, h), "%s: glu" % tag)
    check(refused(ValueError, "unknown activation", m.forward, ((k, b, "nope", h, (1,), (0, 0, -128, 127, s1, neg)),),
                  x, h), "%s: an unknown activation" % tag)


def test_conv_module(m, tag):
    """int8 Conv1D layer tuples (spec (2, in_channels, kernel_size,
    strides, padding, dilation); quant's scale words: the Q31 multipliers,
    then the shifts): hand-checked values."""
    # 4 steps of 1 channel, 2 filters of 2 taps ([1, 1] and [1, -1]),
    # multiplier 1.0 = (2**30, shift 1) and 0.5 = (2**30, 0)
    x = array("b", [1, 2, 3, -4])
    k, b = array("b", [1, 1, 1, -1]), array("i", [0, 10])
    one = array("i", [1 << 30, 1])
    two = array("i", [1 << 30, 1 << 30, 1, 0])
    y = array("b", bytes(6))
    conv = (k, b, None, y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127, one))
    check(list(m.forward((conv,), x, y)) == [3, 9, 5, 9, -1, 17], "%s: conv1d valid %r" % (tag, list(y)))
    # per filter (the second halved: 9 / 2 = 4.5 -> 5, half away from zero), input zero point 1, clamp
    conv = (k, b, None, y, (2, 1, 2, 1, 0, 1), (-1, 0, -128, 6, two))
    check(list(m.Plan((conv,))(x, y)) == [1, 5, 3, 5, -3, 6], "%s: conv1d per filter %r" % (tag, list(y)))
    # same padding, strides 2: steps 0-1 and 2-3; dilation 2, causal: taps t-2 and t
    y2 = array("b", bytes(4))
    conv = (bytes(k), bytes(b), None, y2, (2, 1, 2, 2, 1, 1), (0, 0, -128, 127, bytes(one)))
    check(list(m.forward((conv,), x, y2)) == [3, 9, -1, 17], "%s: conv1d same %r" % (tag, list(y2)))
    y8 = array("b", bytes(8))
    conv = (k, b, None, y8, (2, 1, 2, 1, 2, 2), (0, 0, -128, 127, one))
    check(list(m.forward((conv,), x, y8)) == [1, 9, 2, 8, 4, 8, -2, 16], "%s: conv1d causal %r" % (tag, list(y8)))
    # a chain: conv1d, then a dense layer on its 6 outputs (scale 0.5: float64 bits)
    dk = array("b", [1, 0, 0, 0, 0, 1])
    out = array("b", bytes(1))
    chain = ((k, b, None, y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127, one)),
             (dk, None, None, None, (1,), (0, 0, -128, 127, array("i", [0, 0x3FE00000]))))
    check(list(m.Plan(chain)(x, out)) == [10], "%s: conv1d then dense %r" % (tag, list(out)))
    for what, frag, layer in (
            ("an activation", "no activation", (k, b, "relu", y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127, one))),
            ("a shift of 32", "quantization", (k, b, None, y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127,
                                                                               array("i", [1 << 30, 32])))),
            ("3 multipliers for 2 filters", "quantization",
             (k, b, None, y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127, array("i", [1, 1, 1, 0, 0, 0])))),
            ("a kernel of 3 values", "conv1d kernel", (k[:3], b, None, y, (2, 1, 2, 1, 0, 1),
                                                        (0, 0, -128, 127, one))),
            ("a bias of 1 value", "bias", (k, b[:1], None, y, (2, 1, 2, 1, 0, 1), (0, 0, -128, 127, one))),
            ("strides 0", "spec", (k, b, None, y, (2, 1, 2, 0, 0, 1), (0, 0, -128, 127, one))),
            ("an affine kind", "int8 layers are Dense", (k, b, None, y, (9, 2), (0, 0, -128, 127, one)))):
        check(refused(ValueError, frag, m.forward, (layer,), x, y), "%s: conv1d with %s" % (tag, what))
    check(refused(ValueError, "out has 5 values", m.forward, ((k, b, None, y, (2, 1, 2, 1, 0, 1),
                                                              (0, 0, -128, 127, one)),),
                  x, array("b", bytes(5))), "%s: conv1d out of 5 values" % tag)


def test_pool_module(m, tag):
    """int8 1-D pooling layer tuples (kernel and bias None; quant's scale
    words empty, or the MEAN's Q31 multiplier and shift): hand-checked
    values. x: 4 steps of 2 channels, [1, 3, -2, 4] and [-1, 5, 7, 0]."""
    x = array("b", [1, -1, 3, 5, -2, 7, 4, 0])
    none = array("i")
    y4, y8, y2 = array("b", bytes(4)), array("b", bytes(8)), array("b", bytes(2))
    pool = (None, None, None, y4, (3, 2, 2, 2, 0), (0, 0, -128, 127, none))
    check(list(m.forward((pool,), x, y4)) == [3, 5, 4, 7], "%s: max pooling %r" % (tag, list(y4)))
    pool = (None, None, None, y4, (3, 2, 2, 2, 0), (0, 0, -128, 4, none))
    check(list(m.Plan((pool,))(x, y4)) == [3, 4, 4, 4], "%s: max pooling, clamped %r" % (tag, list(y4)))
    # same: one padded step before, left out of the average (halves away from zero)
    pool = (None, None, None, y8, (4, 2, 3, 1, 1), (0, 0, -128, 127, none))
    check(list(m.forward((pool,), x, y8)) == [2, 2, 1, 4, 2, 4, 1, 4], "%s: average pooling %r" % (tag, list(y8)))
    pool = (None, None, None, y2, (6, 2), (0, 0, -128, 127, none))
    check(list(m.forward((pool,), x, y2)) == [4, 7], "%s: global max %r" % (tag, list(y2)))
    # MEAN, scale ratio 1.0 = (2**30, 1): 6 / 4 = 1.5 -> 2, 11 / 4 -> 3
    mean = (None, None, None, y2, (5, 2), (0, 0, -128, 127, array("i", [1 << 30, 1])))
    check(list(m.forward((mean,), x, y2)) == [2, 3], "%s: MEAN %r" % (tag, list(y2)))
    for what, frag, layer, out in (
            ("an activation", "no activation", (None, None, "relu", y4, (3, 2, 2, 2, 0), (0, 0, -128, 127, none)), y4),
            ("a MEAN without its multiplier", "quantization", (None, None, None, y2, (5, 2), (0, 0, -128, 127, none)),
             y2),
            ("a zero point changed", "quantization", (None, None, None, y4, (3, 2, 2, 2, 0), (0, 1, -128, 127, none)),
             y4),
            ("causal padding", "spec", (None, None, None, y4, (3, 2, 2, 2, 2), (0, 0, -128, 127, none)), y4),
            ("3 channels", "whole steps", (None, None, None, y4, (3, 3, 2, 2, 0), (0, 0, -128, 127, none)), y4),
            ("an out of 3", "out has 3 values", (None, None, None, y4, (3, 2, 2, 2, 0), (0, 0, -128, 127, none)),
             array("b", bytes(3)))):
        check(refused(ValueError, frag, m.forward, (layer,), x, out), "%s: pooling with %s" % (tag, what))


def test_conv_network(backend):
    anne_net.use_backend(backend)
    net = anne_net.load("valid_tflite_conv1d_variants.anne")
    check([type(L).__name__ for L in net.layers] == ["Conv1DInt8"] * 4 + ["Flatten", "DenseInt8"]
          and net.n_inputs == 33 and net.n_outputs == 2, "%s: the conv1d network's layers" % backend)
    net.summary()
    check(refused(ValueError, REFUSAL, net.layers[0].set_activation, "relu"), "%s: conv set_activation" % backend)
    check(refused(ValueError, REFUSAL, net.fit, [[0.0] * 33], [[0.0] * 2]), "%s: conv fit" % backend)
    w = net.layers[1].get_weights()
    check(len(w[0]) == 5 and len(w[0][0]) == 8 and len(w[1]) == 5, "%s: conv get_weights" % backend)
    net = anne_net.load("valid_tflite_pool1d_chain.anne")
    check([type(L).__name__ for L in net.layers] == ["Conv1DInt8", "MaxPooling1DInt8", "AveragePooling1DInt8",
                                                     "GlobalAveragePooling1DInt8", "DenseInt8"],
          "%s: the pooling network's layers" % backend)
    net.summary()


table = index()
check(len(table["valid"]) >= 7 and len(table["bad"]) >= 5, "int8_index.json: %d valid, %d bad files"
      % (len(table["valid"]), len(table["bad"])))
import anne_fallback
print("%s test_module (anne_fallback)" % NAME)
test_module(anne_fallback, "anne_fallback")
if anne_net._native is not None:
    print("%s test_module (anne)" % NAME)
    test_module(anne_net._native, "anne")
print("%s test_conv_module (anne_fallback)" % NAME)
test_conv_module(anne_fallback, "anne_fallback")
if anne_net._native is not None:
    print("%s test_conv_module (anne)" % NAME)
    test_conv_module(anne_net._native, "anne")
print("%s test_pool_module (anne_fallback)" % NAME)
test_pool_module(anne_fallback, "anne_fallback")
if anne_net._native is not None:
    print("%s test_pool_module (anne)" % NAME)
    test_pool_module(anne_net._native, "anne")
print("%s test_bad_files" % NAME)
test_bad_files(table["bad"])
backends = ("native", "python") if anne_net._native is not None else ("python",)
for b in backends:
    print("%s test_outputs (%s)" % (NAME, b))
    test_outputs(b, table["valid"])
    print("%s test_refusals (%s)" % (NAME, b))
    test_refusals(b)
    print("%s test_conv_network (%s)" % (NAME, b))
    test_conv_network(b)
report(NAME)
