# files: tests/board/boardcheck.py tests/fixtures/models/norm_tabular.anne tests/fixtures/models/norm_tabular.json tests/fixtures/models/iris3.anne tests/fixtures/models/conv_norm.anne
# Issue 26, the network's part (items 3, 7, 8, 10, 12, 13, 14): a model
# used in place from a bytearray that grows, Conv1D reaches that wrapped on
# 32-bit boards, len(x) unchecked behind a global or covering pooling, files
# save() wrote and load() refused, edits that dropped a folded normalization
# or kept stale statistics and class names, misleading errors. Each check on
# both backends (the native `anne` module, the pure-Python anne_fallback).
import gc
import json
import os
import struct
from array import array

import anne_fallback
import anne_net
from boardcheck import all_close, check, error_of, refused, report
from anne_net import (BatchNormalization, Conv1D, Dense, Flatten, GlobalAveragePooling1D, Input,
                      MaxPooling1D, Normalization, Sequential)

NAME = "test_reliability_net"
BACKENDS = [b for b in ("native", "python") if b == "python" or anne_net._native is not None]
MODULES = {"native": anne_net._native, "python": anne_fallback}


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


with open("norm_tabular.json") as f:
    REF = json.load(f)
ROWS, LABELS = REF["x"], REF["argmax"]
KERAS = REF["y"]
REF = None
gc.collect()

# ---------------------------------------------------------------------------
# 3. A model used in place from a bytearray read freed memory once the
# bytearray grew (a memoryview does not pin it): predictions became nan.
# Writable buffers are copied; bytes (and read-only views) are used in place.

with open("norm_tabular.anne", "rb") as f:
    DATA = f.read()
for backend in BACKENDS:
    anne_net.use_backend(backend)
    ba = bytearray(DATA)
    net = anne_net.load(ba)
    want = [list(net.predict(r)) for r in ROWS[:3]]
    check(all_close(want[0], KERAS[0], 1e-4), "%s: bytearray model predicts %r, Keras %r" % (backend, want[0], KERAS[0]))
    ba.extend(bytes(4096))  # moves its bytes; the old block is freed
    junk = [bytearray(b"\xff" * len(DATA)) for _ in range(4)]  # reuse the freed block (NaN bits)
    ba[:] = b"\xff" * len(ba)
    got = [list(net.predict(r)) for r in ROWS[:3]]
    check(got == want, "%s: after the bytearray grew: %r, before %r" % (backend, got[0], want[0]))
    junk = ba = None
    mv = memoryview(bytearray(DATA))
    net = anne_net.load(mv)
    mv[:] = b"\xff" * len(mv)
    check(list(net.predict(ROWS[0])) == want[0], "%s: writable memoryview changed the model" % backend)
    # bytes: still used in place on the native backend (no copy)
    net = anne_net.load(DATA)
    check(list(net.predict(ROWS[0])) == want[0], "%s: bytes model predicts %r" % (backend, list(net.predict(ROWS[0]))))
    if backend == "native":
        check(isinstance(net.layers[0].kernel, memoryview), "native: bytes are used in place, got %r"
              % type(net.layers[0].kernel))
    mv = net = None
    gc.collect()

# ---------------------------------------------------------------------------
# 7. A causal Conv1D reaching (kernel_size - 1) * dilation_rate >= 2**31
# steps back wrapped on 32-bit boards ([0, 0, 0, 0] on the M3, [2, 4, 6, 8]
# in Python): refused where it is set and where it is read.

check(refused(ValueError, "(kernel_size - 1) * dilation_rate", Conv1D, 1, 65535, padding="causal",
              dilation_rate=65535), "Conv1D(1, 65535, dilation_rate=65535) is refused")
check(refused(ValueError, "(kernel_size - 1) * dilation_rate", Conv1D, 1, 32770, dilation_rate=65535),
      "Conv1D(1, 32770, dilation_rate=65535) is refused")
check(error_of(Conv1D, 1, 32769, padding="causal", dilation_rate=65535) == (None, None),
      "Conv1D(1, 32769, dilation_rate=65535) reaches 2**31 - 65536: allowed")
conv = Conv1D(1, 40000, padding="causal")
check(refused(ValueError, "(kernel_size - 1) * dilation_rate", setattr, conv, "dilation_rate", 65535)
      and conv.dilation_rate == 1, "setting dilation_rate to reach 2**31 is refused, the layer unchanged")
conv = None
for backend in BACKENDS:
    mod = MODULES[backend]
    # a crafted spec: kind conv1d, 1 channel, kernel_size 65535, strides 1, dilation 65535, causal
    spec = (anne_net.anne_ops.LAYER_CONV1D, 1, 65535, 1, 2, 65535)
    t, msg = error_of(mod.forward, ((array("f", [1.0, 2.0]), None, "linear", None, spec),),
                      array("f", [1, 2, 3, 4]), array("f", [0.0] * 4))
    check(t is ValueError and "bad spec" in msg, "%s: forward with a 2**32-step reach: %r %r" % (backend, t, msg))
    anne_net.use_backend(backend)
    net = Sequential([Input((4, 1)), Conv1D(1, 2, padding="causal", dilation_rate=3)])
    net.set_weights([[[[1.0]], [[2.0]]], [0.0]])
    check(list(net.predict([1, 2, 3, 4])) == [2.0, 4.0, 6.0, 9.0], "%s: causal conv" % backend)
    net.layers[0].dilation_rate = 2
    check(list(net.predict([1, 2, 3, 4])) == [2.0, 4.0, 7.0, 10.0] and net.layers[0].dilation_rate == 2,
          "%s: dilation_rate edit keeps the weights" % backend)
    net.save("reach.anne")
    with open("reach.anne", "rb") as f:
        good = bytearray(f.read())
    struct.pack_into("<HHHH", good, 32 + 32, 65535, 1, 2, 65535)  # entry 0's kind parameters
    check(refused(ValueError, "(kernel_size - 1) * dilation_rate = (65535 - 1) * 65535", anne_net.load,
                  bytes(good)), "%s: a file with a 2**32-step reach is refused" % backend)
    with open("reach.anne", "wb") as f:
        f.write(good)
    check(refused(ValueError, "(kernel_size - 1) * dilation_rate", anne_net.load, "reach.anne"),
          "%s: the same file by its path" % backend)
    remove("reach.anne")
    net = good = None
    gc.collect()

# ---------------------------------------------------------------------------
# 8. Native predict did not check len(x) when the network starts with a
# global pooling or a pooling that covers a step more: it answered.

for backend in BACKENDS:
    anne_net.use_backend(backend)
    nets = (Sequential([Input((32, 2)), GlobalAveragePooling1D(), Dense(2)]),
            Sequential([Input((32, 1)), MaxPooling1D(32), Flatten(), Dense(1)]),
            Sequential([Input((32, 1)), Conv1D(2, 3, strides=2, padding="same"), Flatten(), Dense(1)]),
            Sequential([Input((8, 1)), Conv1D(2, 3), Flatten(), Dense(1)]))
    for net in nets:
        n = net.n_inputs
        c = net.input_shape[1]
        for steps in (n // c - 1, n // c + 1):
            x = array("f", [0.5] * (steps * c))
            t, msg = error_of(net.predict, x)
            if net is nets[-1]:  # (the plan's sizes refuse it: its own message)
                check(t is ValueError, "%s: %r: %d values: %r %r" % (backend, net, len(x), t, msg))
            else:
                check(t is ValueError and msg == "x has %d values, the network takes %d" % (len(x), n),
                      "%s: %r given %d values: %r %r" % (backend, net, len(x), t, msg))
        check(len(net.predict(array("f", [0.5] * n))) == net.n_outputs, "%s: %r runs" % (backend, net))
    nets = net = None
    gc.collect()

# ---------------------------------------------------------------------------
# 10. save() wrote files load() refuses: a Flatten over more than 65,535
# values (its 16-bit shape truncated under a valid CRC), more than 255
# layers. Refused, naming the limit, before anything is written.

remove("big.anne")
net = Sequential([Input((300, 300)), Flatten()])
check(refused(ValueError, "layer 0's output is (90000,); a .anne file holds sizes up to 65535", net.save,
              "big.anne") and not exists("big.anne"), "a Flatten over 90,000 values is refused, no file")
net = Sequential(2, [Flatten() for _ in range(256)])
check(refused(ValueError, "the network has 256 layers; a .anne file holds 1..255", net.save, "big.anne")
      and not exists("big.anne"), "256 layers are refused, no file")
net.remove(0)
gc.collect()
if gc.mem_free() > 150000:  # (the M0's heap holds the 255 layers, not their 20 KB table as well)
    net.save("big.anne")
    net = None
    check(len(anne_net.load("big.anne").layers) == 255, "255 layers are saved and loaded")
    remove("big.anne")
net = None
gc.collect()

# ---------------------------------------------------------------------------
# 12. Resizing the first Dense of the wine-like model (raw readings, the
# converter folded a Normalization into it) dropped the normalization:
# accuracy 0.5 after fit, and summary() still said "normalization + dense".
# The file stores it (folded_before): it becomes a layer of its own.

for backend in BACKENDS:
    anne_net.use_backend(backend)
    anne_net.seed(1)
    net = anne_net.load("norm_tabular.anne")
    net.resize(0, 6)
    kinds = [type(L).__name__ for L in net.layers]
    check(kinds == ["Normalization", "Dense", "Dense"] and net.layers[1].units == 6,
          "%s: after resize(0, 6): %r" % (backend, kinds))
    # the inputs the new Dense gets are normalized (raw readings span -99..153)
    if kinds[0] == "Normalization":
        norm = Sequential(5, [Normalization(mean=net.layers[0].mean, variance=net.layers[0].variance)])
        cols = [[norm.predict(r)[j] for r in ROWS] for j in range(5)]
        check(all(abs(sum(c) / len(c)) < 1.5 and 0.2 < max(c) - min(c) < 8 for c in cols),
              "%s: the normalization is kept: %r" % (backend, [(min(c), max(c)) for c in cols]))
    net.compile(anne_net.Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"])
    net.fit(ROWS, LABELS, epochs=60, batch_size=8, verbose=0)
    acc = net.evaluate(ROWS, LABELS)["accuracy"]
    check(acc >= 0.9, "%s: retrained after resize: accuracy %.2f" % (backend, acc))
    net.save("resized.anne")
    with open("resized.anne", "rb") as f:
        saved = f.read()
    check(b"normalization + dense" not in saved and b"folded" not in saved,
          "%s: the saved file still says the normalization is folded into layer 0" % backend)
    back = anne_net.load("resized.anne")
    check([type(L).__name__ for L in back.layers] == kinds and all_close(
        list(back.predict(ROWS[0])), list(net.predict(ROWS[0])), 1e-5), "%s: saved and loaded" % backend)
    remove("resized.anne")
    # a file as it was: load and save keep what was folded (and the numbers)
    net = anne_net.load("norm_tabular.anne")
    net.save("same.anne")
    back = anne_net.load("same.anne")
    check(getattr(back.layers[0], "_before", 0) == getattr(net.layers[0], "_before", 1)
          and getattr(back.layers[0], "_folded", 0) == "normalization + dense",
          "%s: load+save keeps folded and folded_before" % backend)
    remove("same.anne")
    # conv_norm: a Normalization folded into its first Conv1D
    net = anne_net.load("conv_norm.anne")
    net.resize(0, 4)
    check([type(L).__name__ for L in net.layers][:2] == ["Normalization", "Conv1D"] and net.layers[1].filters == 4,
          "%s: conv_norm after resize(0, 4): %r" % (backend, net.layers))
    net = back = saved = cols = norm = None
    gc.collect()

# ---------------------------------------------------------------------------
# 13. Resizing a Conv1D with a BatchNormalization after it failed ("gamma has
# 8 values for 4 channels"): the new channels get fresh statistics, as a new
# Keras layer has. Resizing the output layer kept 3 class names for 5
# outputs, even in the saved file.

for backend in BACKENDS:
    anne_net.use_backend(backend)
    anne_net.seed(2)
    bn = BatchNormalization(epsilon=0.0)
    net = Sequential([Input((6, 2)), Conv1D(3, 2), bn, Flatten(), Dense(2)])
    bn.set_weights([[2.0, 3.0, 4.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [4.0, 4.0, 4.0]])
    t, msg = error_of(net.resize, 0, 4)
    check(t is None, "%s: resize of the conv before a BatchNormalization: %r %r" % (backend, t, msg))
    check(bn.get_weights() == [[1.0] * 4, [0.0] * 4, [0.0] * 4, [1.0] * 4],
          "%s: fresh statistics: %r" % (backend, bn.get_weights()))
    if t is None:
        conv_out = Sequential([Input((6, 2)), Conv1D(4, 2)])
        conv_out.set_weights(net.layers[0].get_weights())
        x = array("f", [0.1 * i for i in range(12)])
        # the network's BatchNormalization now passes the conv's outputs as they are
        probe = Sequential([Input((6, 2)), Conv1D(4, 2), BatchNormalization(epsilon=0.0)])
        probe.layers[0].set_weights(net.layers[0].get_weights())
        probe.layers[1].set_weights(bn.get_weights())
        check(all_close(list(probe.predict(x)), list(conv_out.predict(x))), "%s: fresh BN is the identity" % backend)
    net = conv_out = probe = None

    net = anne_net.load("iris3.anne")
    net.classes = ["setosa", "versicolor", "virginica"]
    net.resize(len(net.layers) - 1, 5)
    check(net.classes is None and net.n_outputs == 5, "%s: 5 outputs keep class names %r" % (backend, net.classes))
    check(all(isinstance(k, int) for k in net.classify([[5.1, 3.5, 1.4, 0.2]])), "%s: classify gives indices" % backend)
    net.save("five.anne")
    with open("five.anne", "rb") as f:
        check(b"setosa" not in f.read(), "%s: the saved file keeps 3 class names for 5 outputs" % backend)
    remove("five.anne")
    net = None
    gc.collect()

# ---------------------------------------------------------------------------
# 14. Misleading errors: the Python backend's predict_into with a wrong-size
# out blamed the kernel; a valid file with a large gap before its metadata
# gave a bare MemoryError loaded from a path.

for backend in BACKENDS:
    anne_net.use_backend(backend)
    net = Sequential([Input(4), Dense(8, "relu"), Dense(3)])
    t, msg = error_of(net.predict_into, array("f", [1, 2, 3, 4]), array("f", [0.0] * 4))
    check(t is ValueError and msg == "out has 4 floats; the network gives 3", "%s: predict_into(x, out of 4): %r %r"
          % (backend, t, msg))
    t, msg = error_of(net.predict_into, array("f", [1, 2, 3, 4, 5]), array("f", [0.0] * 3))
    check(t is ValueError and msg.startswith("x has 5 values"), "%s: predict_into(x of 5): %r %r"
          % (backend, t, msg))
    net = None


def with_gap(data, gap):
    """data (a version 2 file with metadata right after its layer table) with
    gap bytes before the metadata: moved, as are the layers' data."""
    count = struct.unpack_from("<H", data, 8)[0]
    meta_offset, meta_size = struct.unpack_from("<II", data, 24)
    out = bytearray(data[:meta_offset])
    struct.pack_into("<I", out, 24, meta_offset + gap)
    for i in range(count):
        e = 32 + 80 * i
        struct.pack_into("<I", out, e + 24, struct.unpack_from("<I", out, e + 24)[0] + gap)
    return out, data[meta_offset:len(data) - 4]


def write_gapped(path, data, gap):
    import binascii
    head, rest = with_gap(data, gap)
    zeros = bytes(min(gap, 1024))  # (small blocks: the stock Cortex-M0's fragmented heap)
    crc = binascii.crc32(head)
    with open(path, "wb") as f:
        f.write(head)
        n = gap
        while n > 0:
            k = min(n, len(zeros))
            f.write(zeros[:k])
            crc = binascii.crc32(zeros[:k], crc)
            n -= k
        f.write(rest)
        crc = binascii.crc32(rest, crc)
        f.write(struct.pack("<I", crc & 0xFFFFFFFF))


for backend in BACKENDS:
    anne_net.use_backend(backend)
    want = list(anne_net.load(DATA).predict(ROWS[1]))
    write_gapped("gap.anne", DATA, 1000)
    net = anne_net.load("gap.anne")
    check(list(net.predict(ROWS[1])) == want and net.name == "norm_tabular", "%s: a 1000-byte gap" % backend)
    remove("gap.anne")
    net = None
    gc.collect()
    # a gap larger than the free heap, where the filesystem can hold it
    gap = gc.mem_free() + 65536
    try:
        write_gapped("gap.anne", DATA, gap)
    except (OSError, MemoryError):
        print("(%s: no room for a %d-byte file here: the large gap is checked on unix)" % (backend, gap))
        remove("gap.anne")
        continue
    t, msg = error_of(anne_net.load, "gap.anne")
    check(t is None, "%s: a %d-byte gap before the metadata: %r %r" % (backend, gap, t, msg))
    remove("gap.anne")
    gc.collect()

anne_net.use_backend(BACKENDS[0])
report(NAME)
