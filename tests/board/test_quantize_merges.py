# files: tests/fixtures/quant/quant_merges_float.anne tests/fixtures/quant/quant_merges_int8.anne tests/fixtures/quant/quant_merges_calibration.f32 tests/board/test_quantize.py tests/board/boardcheck.py
# net.quantize(rows) on the board for a graph joined by Add, Subtract,
# Multiply (quant_merges_*, made by tools/make_quant_board_fixtures.py: a
# residual Add of the network's input with a fused relu, a Subtract, a
# Multiply with a fused relu, both read by a Concatenate; weights and rows
# whose float values are exact, so that the board's kernels calibrate the
# PC's ranges): every layer's scale and zero point, weights, bias, and
# every merge's operands' scales and zero points, its clamp and LiteRT's
# ADD / SUB / MUL multipliers and shifts exactly the PC's file's, and the
# same int8 outputs as the PC's network; a merge's activation without an
# int8 form refused. test_quantize_resnet.py: a Conv2D graph (Add,
# Subtract).
import gc
from array import array

import anne_net
from boardcheck import check, refused, report
from test_quantize import backends, f32_rows, ints, near

NAME = "test_quantize_merges"


def same_merges(q, pc, tag, exact=True):
    """Every merge of q as pc's: operands, output, clamp, words (exactly;
    or, exact False, the scales within float32 rounding, the multipliers
    within a relative 1e-6, the rest exactly)."""
    def same(a, b):
        if exact or not isinstance(a, tuple):
            return a == b
        if len(a) == 2 and not isinstance(a[0], tuple):     # (scale, zero point)
            return near(a[0], b[0]) and a[1] == b[1]
        if a and isinstance(a[0], tuple):
            return len(a) == len(b) and all(same(u, v) for u, v in zip(a, b))
        # words: add / subtract: left shift, (multiplier, shift) x 3; multiply: multiplier, shift
        firsts = (0,) if len(a) == 7 else ()
        return len(a) == len(b) and all(a[k] == b[k] if k in firsts or (k % 2 == 0) == (len(a) == 7)
                                        else abs(a[k] - b[k]) <= 1e-6 * abs(b[k]) for k in range(len(a)))
    n = 0
    for i, (a, b) in enumerate(zip(q._layers, pc._layers)):
        if not hasattr(b, "_words"):
            continue
        n += 1
        check(q.inputs_of(i) == pc.inputs_of(i), "%s: layer %d's inputs" % (tag, i))
        for what in ("_qs", "output_quantization", "act_range", "_words"):
            check(same(getattr(a, what), getattr(b, what)), "%s: layer %d's %s %r, the PC's %r" % (
                tag, i, what, getattr(a, what), getattr(b, what)))
    return n


def same_outputs(q, pc, tag, rows=24):
    """q's int8 outputs equal pc's, on int8 rows made in place."""
    x, a, b = array("b", bytes(q.n_inputs)), array("b", bytes(q.n_outputs)), array("b", bytes(q.n_outputs))
    same = 0
    for r in range(rows):
        for j in range(len(x)):
            x[j] = (r * 37 + j * (11 + 2 * r)) % 256 - 128
        q.predict_into(x, a)
        pc.predict_into(x, b)
        same += a == b
    check(same == rows, "%s: %d of %d rows' int8 outputs the PC's" % (tag, same, rows))


def same_as_the_pc(q, pc, tag):
    """Every layer's kind, output quantization, int8 weights, weight
    scales, bias and activation exactly the PC's."""
    check(q.input_quantization == pc.input_quantization, "%s: input" % tag)
    for i, (a, b) in enumerate(zip(q._layers, pc._layers)):
        check(type(a) is type(b) and a.output_quantization == b.output_quantization,
              "%s: layer %d: %r %r, the PC's %r %r" % (tag, i, a, a.output_quantization, b, b.output_quantization))
        if getattr(b, "_kernel", None) is not None:
            check(ints(a._kernel, "b") == ints(b._kernel, "b"), "%s: layer %d's kernel" % (tag, i))
            check(list(a.weight_scales) == list(b.weight_scales) and ints(a._bias, "i") == ints(b._bias, "i"),
                  "%s: layer %d's weight scales and bias" % (tag, i))
            check(a.activation == b.activation and a.act_range == b.act_range, "%s: layer %d's activation"
                  % (tag, i))
        gc.collect()


def test_merge_refusals(net, rows, tag):
    """A merge's activation other than linear, relu, relu6 has no int8 form
    (as on the PC; a file's merge then tanh, set here by hand: a graph's
    layers are not edited); the network unchanged."""
    before = list(net.predict(rows[0]))
    net._layers[5]._name = "tanh"
    check(refused(ValueError, "layer 5: a Subtract's activation tanh has no int8 form (linear, relu, relu6 do)",
                  net.quantize, rows), "%s: a Subtract then tanh" % tag)
    del net._layers[5]._name      # (the class's "linear")
    check(list(net.predict(rows[0])) == before, "%s: unchanged" % tag)


def test_merges(backend):
    """The float network quantized (then refused), then freed; its int8
    network against the PC's (the stock Cortex-M0's heap: the float
    network, the board's int8 one and the PC's not all at once)."""
    anne_net.use_backend(backend)
    rows = f32_rows("quant_merges_calibration.f32", 6)
    tag = "quant_merges, " + backend
    net = anne_net.load("quant_merges_float.anne")
    before = list(net.predict(rows[0]))
    q = net.quantize(rows)
    check(q.dtype == "int8" and list(net.predict(rows[0])) == before, "%s: int8, the float network unchanged"
          % tag)
    test_merge_refusals(net, rows, tag)
    del net, rows, before
    gc.collect()
    pc = anne_net.load("quant_merges_int8.anne")
    same_as_the_pc(q, pc, tag)
    check(same_merges(q, pc, tag) == 4, "%s: four merges" % tag)
    check([type(q._layers[i]).__name__ for i in (2, 5, 6)] == ["AddInt8", "SubtractInt8", "MultiplyInt8"],
          "%s: Add, Subtract, Multiply" % tag)
    same_outputs(q, pc, tag)


def main():
    for b in backends:
        gc.collect()
        if b == "python" and len(backends) > 1 and gc.mem_free() < 80000:
            # (the stock Cortex-M0: its library's bytecode in RAM, the native
            # run's modules loaded, the pure-Python one finds no 2 KB block
            # for the int8 file it writes)
            print("  %s: the python run skipped, %d bytes free" % (NAME, gc.mem_free()))
            continue
        print("%s test_merges (%s, %d bytes free)" % (NAME, b, gc.mem_free()))
        test_merges(b)
    report(NAME)


if __name__ == "__main__":
    main()
