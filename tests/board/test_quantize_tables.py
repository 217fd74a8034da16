# files: tests/fixtures/quant/quant_tables_float.anne tests/fixtures/quant/quant_tables_int8.anne tests/fixtures/quant/quant_tables_elu_int8.anne tests/fixtures/quant/quant_tables_calibration.f32 tests/fixtures/quant/quant_tables.json tests/board/test_quantize.py tests/board/boardcheck.py
# net.quantize(rows) on the board for the Dense activations an int8 layer
# applies as a 256-entry table (tests/fixtures/quant/quant_tables_*: gelu,
# leaky_relu, exponential, tanh; then layer 1 edited to elu): the same file
# as `anne-convert --quantize int8` on the PC from the same rows (the
# test_quantize.py checks, and every table byte for byte: leaky_relu's from
# integers on the board, the float functions' from the native module's
# anne.act_table, glibc's results), and LiteRT's outputs for TensorFlow's own
# conversion. Without anne.act_table (the inference-only module) those
# activations are refused, the network unchanged.
import gc

import anne_net
from boardcheck import check, refused, report
from test_quantize import backends, f32_rows, near, test_outputs, test_same_as_the_pc

NAME = "test_quantize_tables"


def tables(q):
    return [bytes(L._quant[-1]) if len(L._quant) == 6 else None for L in q._layers]


def same_tables(q, pc, tag):
    got, want = tables(q), tables(pc)
    check(got == want, "%s: tables %r" % (tag, [a == b for a, b in zip(got, want)]))


def test_tables(backend):
    rows = f32_rows("quant_tables_calibration.f32", 5)
    net, q = test_same_as_the_pc(backend, rows, "quant_tables")
    tag = "quant_tables, " + backend
    check([L.activation for L in q.layers] == ["gelu", "leaky_relu", "exponential", "tanh"], "%s: acts" % tag)
    same_tables(q, anne_net.load("quant_tables_int8.anne"), tag)
    test_outputs(q, tag, "quant_tables", 1)
    del q
    gc.collect()
    net.layers[1].activation = "elu"       # explore: edit the float network, quantize again
    q = net.quantize(rows)
    pc = anne_net.load("quant_tables_elu_int8.anne")
    check(q.layers[1].activation == "elu", "%s: elu" % tag)
    for i, (a, b) in enumerate(zip(q._layers, pc._layers)):
        (sa, za), (sb, zb) = a.output_quantization, b.output_quantization
        check(near(sa, sb) and za == zb, "%s: elu, layer %d output %r %r" % (tag, i, (sa, za), (sb, zb)))
    same_tables(q, pc, tag + ", elu")


def test_refused(backend):
    """The inference-only module has no act_table: refused, unchanged."""
    anne_net.use_backend(backend)
    net = anne_net.load("quant_tables_float.anne")
    rows = f32_rows("quant_tables_calibration.f32", 5)
    before = list(net.predict(rows[0]))
    check(refused(ValueError, "layer 0: gelu's table needs the anne module's act_table", net.quantize, rows),
          "%s: gelu refused" % backend)
    check(list(net.predict(rows[0])) == before, "%s: unchanged" % backend)


try:
    import anne
    native_tables = hasattr(anne, "act_table")
except ImportError:
    native_tables = False
for b in backends:
    print("%s %s (%s)" % (NAME, "test_tables" if native_tables else "test_refused", b))
    (test_tables if native_tables else test_refused)(b)
    gc.collect()
report(NAME)
