# files: tests/fixtures/bad/int8_graph_index.json tests/fixtures/bad/valid_tflite_graph_*.anne tests/fixtures/bad/valid_tflite_residual_add_mul.anne tests/fixtures/bad/valid_tflite_bn_global_max.anne tests/fixtures/bad/valid_tflite_pool1d_mean.anne tests/fixtures/bad/valid_tflite_conv1d_dilated.anne tests/fixtures/bad/valid_tflite_conv2d_dilated_int8.anne tests/fixtures/bad/valid_tflite_conv1d_causal_dilated.anne tests/board/boardcheck.py
# int8 graphs (issues 29, 30): tests/fixtures/int8's .tflite graphs (residual
# Add blocks of Dense and Conv1D layers, branches joined by Concatenate,
# Multiply and Subtract, unfolded BatchNormalizations, dilated and causal convolutions
# with their bias ADDs) converted by
# tools/anne_convert.py (tools/anne_tflite_graph.py; the index written by
# tools/anne_badfiles.py), with the fixtures' rows and LiteRT's recorded
# outputs (reference kernels). Every row's output must equal LiteRT's
# exactly, through predict_into on array('b') buffers and predict on the
# rows dequantized, on the native module and on the pure-Python backend,
# loaded from a path and from bytes; then the arena, summary and what an
# int8 graph refuses.
import gc
import json
from array import array

import anne_net
from boardcheck import check, refused, report

NAME = "test_int8_graph"


def index():
    with open("int8_graph_index.json") as f:
        return json.load(f)["valid"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def same(got, want):
    return len(got) == len(want) and all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(got, want))


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
            check([z, zo] == [entry["input_quantization"][1], entry["output_quantization"][1]],
                  "%s: zero points %d %d" % (tag, z, zo))
            x, out = array("b", bytes(net.n_inputs)), array("b", bytes(net.n_outputs))
            bad = 0
            for r in range(len(rows)):
                for j in range(len(x)):
                    x[j] = rows[r][j]
                if net.predict_into(x, out) is not out or list(out) != recorded[r]:
                    bad += 1
                    print("  row %d: got %r, recorded %r" % (r, list(out), recorded[r]))
            floats = [[(v - z) * s for v in row] for row in rows]
            want = [list(array("f", [(v - zo) * so for v in row])) for row in recorded]
            ys = net.predict(floats)
            for r in range(len(rows)):
                if not same(ys[r], want[r]):
                    bad += 1
                    print("  row %d: predict %r, recorded %r" % (r, list(ys[r]), want[r]))
            check(bad == 0, "%s: %d rows differ from LiteRT's" % (tag, bad))
            del net
            gc.collect()


def test_graph_api(backend):
    anne_net.use_backend(backend)
    net = anne_net.load("valid_tflite_graph_conv1d_resnet.anne")
    check(net.inputs_of(3) == (1, 2) and net.inputs_of(2) == (-1,), "%s: inputs_of %r" % (backend, net.inputs_of(3)))
    m = net.memory()
    check(m["arena"] >= m["lower_bound"] > 0 and m["tensors"] >= 3, "%s: memory %r" % (backend, m))
    check([type(L).__name__ for L in net.layers][:4] == ["Conv1DInt8", "Conv1DInt8", "Conv1DInt8", "AddInt8"],
          "%s: layers %r" % (backend, [type(L).__name__ for L in net.layers]))
    net.summary()
    x, out = array("b", bytes(net.n_inputs)), array("b", bytes(net.n_outputs))
    check(refused(TypeError, "typecode 'b'", net.predict_into, array("f", bytes(4 * net.n_inputs)), out),
          "%s: a float x to an int8 graph" % backend)
    check(refused(ValueError, "x has 3 values", net.predict_into, array("b", bytes(3)), out),
          "%s: a short x" % backend)
    check(refused(ValueError, "out has 1 values", net.predict_into, x, array("b", bytes(1))),
          "%s: a short out" % backend)
    check(refused(ValueError, "int8", net.fit, [[0.0] * net.n_inputs], [[0.0] * net.n_outputs]),
          "%s: fit refused" % backend)
    net = anne_net.load("valid_tflite_graph_bn_unfolded.anne")
    check([type(L).__name__ for L in net.layers][:2] == ["AffineInt8", "AffineInt8"], "%s: affine" % backend)


def test_merge_kernels():
    """anne.merge's int8 form: the native module and anne_fallback give the
    same values (random inputs, every op, a cyclic constant operand, odd
    sizes), and refuse the same bad calls."""
    import anne_fallback
    mods = [anne_fallback] + ([anne_net._native] if anne_net._native is not None else [])
    seed = [12345]

    def rnd():
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return seed[0]

    def s8(n):
        return array("b", [rnd() % 256 - 128 for _ in range(n)])

    add = [3, -100, 120, -5, 7, 20, 1518500250, -1, 1181116006, -2, 1932735283, -17]
    mul = [-3, -128, 127, 4, -9, 1288490189, -8]
    for n in (1, 5, 12):
        a, b, c = s8(n), s8(n), s8(1 if n == 1 else n // (2 if n % 2 == 0 else n))
        cases = ((17, (a, b), add, 1), (18, (a, b), add, 1), (19, (a, b), mul, 1),
                 (17, (a, c), add, 1), (19, (c, a), mul, 1), (23, (a, b, c), [0, -128, 127, 0, 0, 0], 1))
        for kind, xs, quant, rows in cases:
            got = []
            for m in mods:
                out = array("b", bytes(sum(len(x) for x in xs) if kind == 23 else n))
                m.merge(kind, out, xs, rows, array("i", quant))
                got.append(list(out))
            check(all(g == got[0] for g in got), "merge %d on %d values: %r" % (kind, n, got))
    x, out = array("b", bytes(4)), array("b", bytes(4))
    for m in mods:
        tag = getattr(m, "__name__", "anne")
        check(refused(ValueError, "bad int8 quant", m.merge, 17, out, (x, x), 1, array("i", add[:6])),
              "%s: a short quant" % tag)
        check(refused(ValueError, "bad int8 quant", m.merge, 17, out, (x, x), 1, array("i", add[:5] + [19] + add[6:])),
              "%s: left shift 19" % tag)
        check(refused(ValueError, "sizes do not fit", m.merge, 17, out, (x, array("b", bytes(3))), 1, array("i", add)),
              "%s: 3 values against 4" % tag)
        check(refused(TypeError, "typecode 'b'", m.merge, 17, array("f", bytes(16)), (x, x), 1, array("i", add)),
              "%s: a float out" % tag)
    gc.collect()


def test_allocates_nothing():
    """predict_into on the native backend allocates nothing (a ResNet-style
    Conv2D graph: its merges, its 2-D layers)."""
    anne_net.use_backend("native")
    net = anne_net.load("valid_tflite_graph_conv2d_resnet.anne")
    x, out = array("b", bytes(net.n_inputs)), array("b", bytes(net.n_outputs))
    net.predict_into(x, out)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(3):
        net.predict_into(x, out)
    grew = gc.mem_alloc() - before
    gc.enable()
    check(grew == 0, "predict_into allocated %d bytes" % grew)


valid = index()
check(len(valid) >= 8, "int8_graph_index.json: %d files" % len(valid))
backends = ("native", "python") if anne_net._native is not None else ("python",)
print("%s test_merge_kernels" % NAME)
test_merge_kernels()
for b in backends:
    print("%s test_outputs (%s)" % (NAME, b))
    test_outputs(b, valid)
    print("%s test_graph_api (%s)" % (NAME, b))
    test_graph_api(b)
if anne_net._native is not None:
    print("%s test_allocates_nothing" % NAME)
    test_allocates_nothing()
report(NAME)
