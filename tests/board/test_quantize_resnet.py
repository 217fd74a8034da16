# files: tests/fixtures/quant/quant_resnet_float.anne tests/fixtures/quant/quant_resnet_int8.anne tests/fixtures/quant/quant_resnet_calibration.f32 tests/fixtures/quant/quant_resnet.json tests/board/test_quantize.py tests/board/test_quantize_merges.py tests/board/boardcheck.py
# net.quantize(rows) on the board for a Conv2D graph (tests/fixtures/quant/
# quant_resnet_*, tools/make_int8_quant_fixtures.py's Keras model: Conv2D
# relu and Conv2D linear branches joined by an Add then a relu, as ResNet's
# identity block; a strided Conv2D less a 1x1 projection, a Subtract;
# GlobalAveragePooling2D, Dense softmax), with test_quantize.py's checks:
# the int8 network `anne-convert --quantize int8` makes on the PC from the
# same rows (the same int8 weights and weight scales, the other scales
# within float32 rounding: the board's float kernels sum in their own
# order); the Add's and the Subtract's operands' quantization the layers'
# they read, LiteRT's multipliers for them, the PC's outputs on int8 rows;
# LiteRT's outputs for TensorFlow's own conversion within 4 steps
# (TensorFlow calibrates the tensors that feed an ADD or SUB by rules of its
# own: tests/host/test_quantize.py).
import gc

import anne_net
from boardcheck import check, report
from test_quantize import backends, f32_rows, test_outputs, test_same_as_the_pc
from test_quantize_merges import same_merges, same_outputs

NAME = "test_quantize_resnet"


def test_resnet(backend):
    rows = f32_rows("quant_resnet_calibration.f32", 128)
    net, q = test_same_as_the_pc(backend, rows, "quant_resnet")
    del net, rows
    gc.collect()
    tag = "quant_resnet, " + backend
    pc = anne_net.load("quant_resnet_int8.anne")
    check([type(L).__name__ for L in q._layers if hasattr(L, "_words")] == ["AddInt8", "SubtractInt8"],
          "%s: Add, Subtract" % tag)
    for i, L in enumerate(q._layers):
        if hasattr(L, "_words"):    # its operands: the outputs of the layers it reads
            check(list(L._qs) == [q._layers[j].output_quantization for j in q.inputs_of(i)],
                  "%s: layer %d's operands" % (tag, i))
    check(same_merges(q, pc, tag, False) == 2, "%s: two merges" % tag)
    same_outputs(q, pc, tag, 8)
    del pc
    gc.collect()
    test_outputs(q, tag, "quant_resnet", 4)


for b in backends:
    gc.collect()
    if b == "python" and len(backends) > 1 and gc.mem_free() < 80000:
        # (cortex-m0-lite: the library's bytecode in RAM, the native run's
        # modules loaded, the pure-Python plan finds no block; it runs on
        # cortex-m0 and every other target)
        print("  %s: the python run skipped, %d bytes free" % (NAME, gc.mem_free()))
        continue
    print("%s test_resnet (%s, %d bytes free)" % (NAME, b, gc.mem_free()))
    test_resnet(b)
report(NAME)
