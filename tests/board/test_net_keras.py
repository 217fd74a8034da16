# files: tests/fixtures/models/iris3.anne tests/fixtures/models/iris3.json tests/fixtures/models/deep_mixed.anne tests/fixtures/models/deep_mixed.json tests/fixtures/models/nobias_reg.anne tests/fixtures/models/nobias_reg.json tests/fixtures/models/relu_params.anne tests/fixtures/models/relu_params.json tests/board/boardcheck.py
# files: tests/fixtures/models/wide.anne tests/fixtures/models/wide.json tests/board/boardcheck.py
# files: tests/fixtures/models/zoo1.anne tests/fixtures/models/zoo1.json tests/fixtures/models/zoo2.anne tests/fixtures/models/zoo2.json tests/fixtures/models/functional_chain.anne tests/fixtures/models/functional_chain.json tests/board/boardcheck.py
# files: tests/fixtures/models/zoo3.anne tests/fixtures/models/zoo3.json tests/fixtures/models/zoo4.anne tests/fixtures/models/zoo4.json tests/fixtures/models/zoo5.anne tests/fixtures/models/zoo5.json tests/fixtures/models/sparsemax_out.anne tests/fixtures/models/sparsemax_out.json tests/board/boardcheck.py
# files: tests/fixtures/models/norm_tabular.anne tests/fixtures/models/norm_tabular.json tests/fixtures/models/rescale_batchnorm.anne tests/fixtures/models/rescale_batchnorm.json tests/fixtures/models/batchnorm_first.anne tests/fixtures/models/batchnorm_first.json tests/board/boardcheck.py
# files: tests/fixtures/models/conv_har.anne tests/fixtures/models/conv_har.json tests/fixtures/models/affine_kept.anne tests/fixtures/models/affine_kept.json tests/board/boardcheck.py
# files: tests/fixtures/models/conv_norm.anne tests/fixtures/models/conv_norm.json tests/fixtures/models/conv_strides.anne tests/fixtures/models/conv_strides.json tests/fixtures/models/reshape_conv.anne tests/fixtures/models/reshape_conv.json tests/fixtures/models/dense_per_step.anne tests/fixtures/models/dense_per_step.json tests/board/boardcheck.py
# Keras parity: each model of tests/fixtures/models/ (converted by
# tools/anne_convert.py) against Keras's own predictions in <name>.json:
# every output within 1e-5 abs + 1e-5 rel and the same argmax, on both
# backends, loading from a path and from bytes. One run per `# files:` line
# above (a few models at a time, for the boards' small heaps); the script
# tests every model whose files it was given.
import gc
import json
import os
from array import array

import anne_net
from boardcheck import check, report

NAME = "test_net_keras"
MODELS = sorted(n[:-5] for n in os.listdir() if n.endswith(".anne"))
if not MODELS:
    raise AssertionError("no model files were given to the board")


def reference(model):
    """Keras's rows as compact array('f')s (the parsed JSON is freed)."""
    with open(model + ".json") as f:
        ref = json.load(f)
    rows = [(array("f", x), array("f", y)) for x, y in zip(ref["x"], ref["y"])]
    argmax = ref["argmax"]
    ref = None
    gc.collect()
    return rows, argmax


def file_size(path):
    with open(path, "rb") as f:
        return f.seek(0, 2)


def test_model(model, from_bytes, rows, argmax):
    if from_bytes:
        # f.read() plus the RAM filesystem's copy: skip where RAM is short
        need = 3 * file_size(model + ".anne") + 8192
        if gc.mem_free() < need:
            print("  %s bytes: skipped, %d bytes free < %d" % (model, gc.mem_free(), need))
            return
        with open(model + ".anne", "rb") as f:
            net = anne_net.load(f.read())
    else:
        net = anne_net.load(model + ".anne")
    out = array("f", bytearray(4 * net.n_outputs))
    worst = 0.0
    for i in range(len(rows)):
        x, want = rows[i]
        net.predict_into(x, out)
        ok = len(out) == len(want)
        for j in range(len(want)):
            err = abs(out[j] - want[j])
            worst = max(worst, err / (1e-5 + 1e-5 * abs(want[j])))
            ok = ok and err <= 1e-5 + 1e-5 * abs(want[j])
        check(ok, "%s row %d: %r != %r" % (model, i, list(out), list(want)))
        check(anne_net._anne.argmax(out) == argmax[i], "%s row %d: argmax" % (model, i))
    print("  %s %s: %d rows, worst error %.2f of the tolerance" % (model, "bytes" if from_bytes else "path",
                                                                 len(rows), worst))


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    for model in MODELS:
        rows, argmax = reference(model)
        for from_bytes in (False, True):
            print("%s [%s] %s" % (NAME, backend, model))
            test_model(model, from_bytes, rows, argmax)
            gc.collect()
        rows = argmax = None
report(NAME)
