# files: tests/fixtures/quant/quant_concat_float.anne tests/fixtures/quant/quant_concat_int8.anne tests/fixtures/quant/quant_concat_calibration.f32 tests/fixtures/quant/quant_concat.json tests/board/test_quantize.py tests/board/boardcheck.py
# net.quantize(rows) on the board for a graph joined by Concatenates
# (tests/fixtures/quant/quant_concat_*: two Dense branches joined, two Dense
# layers reading the join, a join of three, Dense softmax), with
# test_quantize.py's checks: the int8 network `anne-convert --quantize int8`
# makes on the PC from the same rows (the same int8 weights and weight
# scales, every join's inputs at the join's scale and zero point as
# TensorFlow's converter gives them, the scales within float32 rounding),
# the same inputs per layer, and LiteRT's outputs for TensorFlow's own
# conversion. test_quantize_merges.py: graphs joined by Add, Subtract,
# Multiply.
import gc

import anne_net
from boardcheck import check, report
from test_quantize import backends, f32_rows, near, test_outputs, test_same_as_the_pc

NAME = "test_quantize_graph"


def test_concat(backend):
    rows = f32_rows("quant_concat_calibration.f32", 6)
    net, q = test_same_as_the_pc(backend, rows, "quant_concat")
    tag = "quant_concat, " + backend
    pc = anne_net.load("quant_concat_int8.anne")
    n = len(pc.layers)
    check([q.inputs_of(i) for i in range(n)] == [pc.inputs_of(i) for i in range(n)], "%s: inputs" % tag)
    for i in (2, 6):
        want = q._layers[i].output_quantization
        got = [q._layers[j].output_quantization for j in q.inputs_of(i)]
        check(got == [want] * len(got), "%s: join %d's inputs %r, its own %r" % (tag, i, got, want))
        (sa, za), (sb, zb) = want, pc._layers[i].output_quantization
        check(near(sa, sb) and za == zb, "%s: join %d %r" % (tag, i, want))
    del pc
    test_outputs(q, tag, "quant_concat", 0)


def main():
    for b in backends:
        print("%s test_concat (%s)" % (NAME, b))
        test_concat(b)
        gc.collect()
    report(NAME)


if __name__ == "__main__":
    main()
