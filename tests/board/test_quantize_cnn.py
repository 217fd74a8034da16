# files: tests/fixtures/quant/quant_cnn2d_float.anne tests/fixtures/quant/quant_cnn2d_int8.anne tests/fixtures/quant/quant_cnn2d_calibration.f32 tests/fixtures/quant/quant_cnn2d.json tests/board/test_quantize.py tests/board/boardcheck.py
# net.quantize(rows) on the board for a CNN (Conv2D relu, MaxPooling2D,
# DepthwiseConv2D relu6, pointwise Conv2D, GlobalAveragePooling2D, Dense
# softmax; tests/fixtures/quant/quant_cnn2d_*), with test_quantize.py's
# checks: the int8 network `anne-convert --quantize int8` makes on the PC
# from the same rows (the same int8 weights and weight scales, the input's
# quantization exactly, the other scales within float32 rounding, biases
# within one step), and LiteRT's outputs for TensorFlow's own conversion
# exactly. A convolution's activation without an int8 form is refused, the
# network unchanged.
import gc

import anne_net
from boardcheck import check, refused, report
from test_quantize import backends, f32_rows, test_outputs, test_same_as_the_pc

NAME = "test_quantize_cnn"


def test_cnn(backend):
    """A CNN: the PC's int8 network from the same rows, LiteRT's outputs
    exactly; a convolution's activation without an int8 form is refused."""
    # (the rows as float32 bytes: a float32 port's decimal parsing may
    # differ from the PC's in a last bit, and so would the input's scale)
    # (a row at a time: no 12 KB block in the stock Cortex-M0's heap)
    rows = f32_rows("quant_cnn2d_calibration.f32", 64)
    net, q = test_same_as_the_pc(backend, rows, "quant_cnn2d")
    tag = "quant_cnn2d, " + backend
    test_outputs(q, tag, "quant_cnn2d", 0)
    del q
    gc.collect()
    before = list(net.predict(rows[0]))
    net.layers[2].activation = "tanh"
    check(refused(ValueError, "layer 2: tanh: quantize on the board takes linear, relu, relu6;", net.quantize,
                  rows), "%s: tanh after a convolution" % tag)
    net.layers[2].activation = "relu6"
    check(list(net.predict(rows[0])) == before, "%s: unchanged" % tag)


for b in backends:
    print("%s test_cnn (%s)" % (NAME, b))
    test_cnn(b)
    gc.collect()
report(NAME)
