# files: tests/fixtures/graph/graph_resnet.anne tests/fixtures/graph/graph_resnet.json tests/fixtures/graph/graph_conv1d.anne tests/fixtures/graph/graph_concat.anne tests/fixtures/graph/graph_dense_residual.anne tests/fixtures/bad/valid_tflite_graph_bn_unfolded.anne tests/board/boardcheck.py
# Editing graphs (issue 30 item 4; anne_graph_edit): net.resize(i, units) on
# Keras functional models converted by tools/anne_convert.py
# (tools/make_graph_fixtures.py). graph_resnet: the identity block's first
# Conv2D made wider, the shapes against those of the Keras model's
# structure (written out here from make_graph_fixtures.py's layers), the
# other layers' weights kept byte for byte, the new ones Keras's
# initialisers' (glorot_uniform's limit, zero bias), the arena's bytes
# counted here, predict, save then load (the same outputs), fit lowers the
# loss, quantize runs; the block's last conv (feeding the Add with the
# shortcut) refused with a ValueError naming the Add, the predictions bit
# for bit as before. graph_conv1d: the first Conv1D, whose change reaches
# both inputs of the Add (through two poolings), then a Conv1D's
# kernel_size. graph_concat: a Conv2D and a Dense feeding Concatenate
# (which grows). add, insert and remove still refused; an int8 graph's
# resize too.
import gc
import math
import os
from array import array

import anne_net
from boardcheck import check, json_rows, refused, report

NAME = "test_graph_edit"


def snapshot(net, idx):
    """Copies of the weights of layers idx (bytes)."""
    return [(bytes(net.layers[i]._kernel), None if net.layers[i]._bias is None else bytes(net.layers[i]._bias))
            for i in idx]


def image(n, r):
    x = array("f", range(n))
    for i in range(n):
        x[i] = ((i * 7 + r * 3) % 11) / 5.0 - 1.0
    return x


def floats(k):
    """The floats of a kernel: an array('f'), or the file's bytes used in place."""
    return None if k is None else len(bytes(k)) // 4


def check_shapes(net, want, model):
    """want: per layer (input shape, output shape, kernel floats or None)."""
    check(len(net.layers) == len(want), "%s: %d layers" % (model, len(net.layers)))
    for i, (a, b, k) in enumerate(want):
        L = net.layers[i]
        got = (L.input_shape, L.output_shape, floats(L._kernel))
        check(got == (a, b, k), "%s layer %d: %r, expected %r" % (model, i, got, (a, b, k)))


def fresh_weights(L, fan_in, fan_out, what):
    """Keras's glorot_uniform kernel (|w| <= sqrt(6 / (fan_in + fan_out)), not all
    equal) and zero bias."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    k = L._kernel
    check(max(abs(v) for v in k) <= limit and max(k) != min(k), "%s: kernel within glorot's %.3f" % (what, limit))
    check(L._bias is not None and all(v == 0.0 for v in L._bias), "%s: zero bias" % what)


# graph_resnet (make_graph_fixtures.resnet): Input (8, 8, 3); stem Conv2D 6 3x3
# same (0); identity block: Conv2D 6 3x3 same (1), Conv2D 6 3x3 same (2), Add
# of 0 and 2 (3); strided block: Conv2D 8 3x3 stride 2 same (4), Conv2D 8 3x3
# same (5), shortcut Conv2D 8 1x1 stride 2 (6) of 3, Add of 5 and 6 (7);
# GlobalAveragePooling2D (8); Dense 4 softmax (9). Layer 1 resized to 10:
RESNET_WIDE = [((8, 8, 3), (8, 8, 6), 3 * 3 * 3 * 6), ((8, 8, 6), (8, 8, 10), 3 * 3 * 6 * 10),
               ((8, 8, 10), (8, 8, 6), 3 * 3 * 10 * 6), ((8, 8, 6), (8, 8, 6), None),
               ((8, 8, 6), (4, 4, 8), 3 * 3 * 6 * 8), ((4, 4, 8), (4, 4, 8), 3 * 3 * 8 * 8),
               ((8, 8, 6), (4, 4, 8), 1 * 1 * 6 * 8), ((4, 4, 8), (4, 4, 8), None),
               ((4, 4, 8), (8,), None), ((8,), (4,), 8 * 4)]
KEPT = (0, 4, 5, 6, 9)


def test_resnet():
    net = anne_net.load("graph_resnet.anne")
    x0 = image(net.n_inputs, 0)
    before = list(net.predict(x0))
    kept = snapshot(net, KEPT)
    anne_net.seed(7)
    net.resize(1, 10)
    check_shapes(net, RESNET_WIDE, "graph_resnet resized")
    check(net.layers[1].units == 10 and net.layers[2].units == 6, "graph_resnet: units 10 and 6")
    check(snapshot(net, KEPT) == kept, "graph_resnet: layers %r keep their weights byte for byte" % (KEPT,))
    fresh_weights(net.layers[1], 3 * 3 * 6, 3 * 3 * 10, "layer 1")
    fresh_weights(net.layers[2], 3 * 3 * 10, 3 * 3 * 6, "layer 2")
    # the arena: the most floats live while one layer runs, layer 2's: the
    # stem's output (read by the Add), layer 1's (8 x 8 x 10) and its own
    mem = net.memory()
    want = 4 * (8 * 8 * 6 + 8 * 8 * 10 + 8 * 8 * 6)
    check(mem["lower_bound"] == want and mem["arena"] == want, "graph_resnet: arena %r, counted %d" % (mem, want))
    out = net.predict(x0)
    check(len(out) == 4 and abs(sum(out) - 1.0) < 1e-5 and list(out) != before,
          "graph_resnet: predict gives 4 probabilities: %r" % list(out))
    net.summary()
    return net


def test_refused():
    """The identity block's last conv feeds the Add with the stem's output
    (the shortcut): a new number of filters there is refused, nothing
    changes."""
    net = anne_net.load("graph_resnet.anne")
    xs = [image(net.n_inputs, r) for r in range(2)]
    before = [list(net.predict(x)) for x in xs]
    kept = snapshot(net, (0, 1, 2, 4, 5, 6, 9))
    mem = net.memory()
    for i, frag in ((2, "layer 3 (Add) takes inputs of one shape; the change of layer 2 would give it "
                        "layer 0 (8, 8, 6), layer 2 (8, 8, 10)"),
                    (0, "layer 3 (Add)"), (5, "layer 7 (Add)"), (6, "layer 7 (Add)")):
        check(refused(ValueError, frag, net.resize, i, 10), "graph_resnet: resize(%d, 10) refused" % i)
    check([L.output_shape for L in net.layers] == [(8, 8, 6)] * 4 + [(4, 4, 8)] * 4 + [(8,), (4,)],
          "graph_resnet: shapes unchanged")
    check(snapshot(net, (0, 1, 2, 4, 5, 6, 9)) == kept and net.memory() == mem, "graph_resnet: weights unchanged")
    check([list(net.predict(x)) for x in xs] == before, "graph_resnet: the same predictions after the refusals")
    check(refused(ValueError, "layer 3 (Add)", setattr, net.layers[2], "units", 7), "units = 7 refused too")
    check(refused(ValueError, "(resize works", net.insert, 1, anne_net.Dense(3)), "insert refused")
    check(refused(ValueError, "(resize works", net.remove, 1), "remove refused")
    check(refused(ValueError, "(resize works", net.add, anne_net.Dense(3)), "add refused")
    check(refused(ValueError, "layer 8 (GlobalAveragePooling2D) has no units", net.resize, 8, 3), "pooling")
    check(refused(ValueError, "units out of range", net.resize, 1, 0), "0 units")
    check([list(net.predict(x)) for x in xs] == before, "graph_resnet: the same predictions at the end")
    net = anne_net.load("graph_dense_residual.anne")   # x + Dense(Dense(x)): the input is the shortcut
    check(refused(ValueError, "layer 2 (Add) takes inputs of one shape; the change of layer 1 would give it "
                  "the input (6,), layer 1 (5,)", net.resize, 1, 5), "graph_dense_residual: resize(1, 5) refused")
    net.resize(0, 9)   # the first Dense: the second one takes 9 inputs
    check([L.output_shape for L in net.layers] == [(9,), (6,), (6,), (3,)] and floats(net.layers[1]._kernel) == 9 * 6,
          "graph_dense_residual: resize(0, 9)")
    net = anne_net.load("valid_tflite_graph_bn_unfolded.anne")   # an int8 graph (from a .tflite)
    check(refused(ValueError, "int8 networks are not trained or edited", net.resize, 2, 3), "int8: resize refused")


def fit_lowers_loss(net, rows, labels, model):
    """fit's loss falls from its first epoch to its last, and evaluate after
    it (no evaluate before: its workspace of one row, where the M0's heap
    has no such block left, would be dropped for fit's)."""
    net.compile("adam", "sparse_categorical_crossentropy")
    anne_net.seed(3)
    losses = net.fit(rows, labels, batch_size=4, epochs=8, verbose=0).history["loss"]
    loss1 = net.evaluate(rows, labels)["loss"]
    check(losses[-1] < losses[0] and loss1 < losses[0], "%s: fit lowers the loss: %r, then %.4f" % (model, losses, loss1))
    print("  fit on the resized %s: loss %.4f (first epoch) -> %.4f (last), evaluate %.4f"
          % (model, losses[0], losses[-1], loss1))


def test_save_fit_quantize(net):
    path = "graph_resnet.json"
    rows = [array("f", x) for x in json_rows(path, "x")]
    labels = []
    for y in json_rows(path, "y"):   # (Keras's classes of the rows)
        labels.append(max(range(len(y)), key=lambda j: y[j]))
    net.compile("adam", "sparse_categorical_crossentropy")
    gc.collect()
    need = net.training_memory(4)
    small = gc.mem_free() + gc.mem_alloc() < 300000
    try:
        fit_lowers_loss(net, rows, labels, "graph_resnet")
        check_shapes(net, RESNET_WIDE, "graph_resnet after fit")
    except MemoryError as e:
        # (the Cortex-M0's 192 KB heap: fit's workspace, training_memory(4)
        # bytes, is one block, which this script's objects leave no room for;
        # the resized graph_conv1d trains in test_conv1d on every board)
        if not small:
            raise
        print("  fit on graph_resnet skipped: training_memory(4) %d: %s" % (need, e))
        net.compile("adam", "sparse_categorical_crossentropy")   # (lets go of fit's workspace)
    outs = [list(net.predict(x)) for x in rows[:3]]
    gc.collect()
    if gc.mem_free() > 60000:   # (the RAM filesystem holds a file twice while it closes)
        net.save("gedit.anne")
        again = anne_net.load("gedit.anne")
        check_shapes(again, RESNET_WIDE, "graph_resnet saved and loaded")
        check([again.inputs_of(i) for i in range(10)] == [net.inputs_of(i) for i in range(10)], "the inputs kept")
        check([list(again.predict(x)) for x in rows[:3]] == outs, "the reloaded graph predicts the same")
        again = None
        os.remove("gedit.anne")
    else:
        print("  save skipped: %d bytes free" % gc.mem_free())
    import anne_quant
    if anne_quant._native_tables():
        q = net.quantize(rows)
        worst = 0.0
        for x in rows:
            f, g = net.predict(x), q.predict(x)
            worst = max(worst, max(abs(f[j] - g[j]) for j in range(4)))
        check(len(q.predict(rows[0])) == 4 and worst < 0.05, "int8: the float outputs within 0.05: %.4f" % worst)
        print("  quantized: worst |int8 - float| %.4f" % worst)


def test_conv1d():
    """graph_conv1d: Conv1D 4 3 same (0); MaxPooling1D 2 (1) and
    AveragePooling1D 2 (2) of it; Add (3) then LeakyReLU; Conv1D 3 3 (4);
    GlobalAveragePooling1D (5); Dense 2 softmax (6). Layer 0 to 6 filters
    reaches both of the Add's inputs: allowed."""
    net = anne_net.load("graph_conv1d.anne")
    kept = snapshot(net, (6,))
    net.resize(0, 6)
    check_shapes(net, [((16, 2), (16, 6), 3 * 2 * 6), ((16, 6), (8, 6), None), ((16, 6), (8, 6), None),
                       ((8, 6), (8, 6), None), ((8, 6), (6, 3), 3 * 6 * 3), ((6, 3), (3,), None),
                       ((3,), (2,), 3 * 2)], "graph_conv1d resized")
    check(snapshot(net, (6,)) == kept, "graph_conv1d: the Dense keeps its weights")
    check(len(net.predict(image(32, 1))) == 2, "graph_conv1d: predict")
    net.layers[4].kernel_size = 5   # (a Conv1D's kernel_size: as in a chain)
    check_shapes(net, [((16, 2), (16, 6), 3 * 2 * 6), ((16, 6), (8, 6), None), ((16, 6), (8, 6), None),
                       ((8, 6), (8, 6), None), ((8, 6), (4, 3), 5 * 6 * 3), ((4, 3), (3,), None),
                       ((3,), (2,), 3 * 2)], "graph_conv1d kernel_size 5")
    check(snapshot(net, (6,)) == kept, "graph_conv1d: the Dense still keeps its weights")
    check(refused(ValueError, "layer 4 (Conv1D)", setattr, net.layers[4], "kernel_size", 9), "kernel_size 9")
    check(net.layers[4].kernel_size == 5 and len(net.predict(image(32, 2))) == 2, "kernel_size 9 changed nothing")
    rows = [image(32, r) for r in range(8)]
    fit_lowers_loss(net, rows, [r % 2 for r in range(8)], "graph_conv1d")
    check(floats(net.layers[4]._kernel) == 5 * 6 * 3 and len(net.predict(rows[0])) == 2, "graph_conv1d after fit")


def test_concat():
    """graph_concat: Conv2D 3 1x1 (0) and Conv2D 2 3x3 same (1) of the
    input (6, 6, 2); Concatenate of 0, 1 and the input (2); Conv2D 4 3x3
    stride 2 (3); MaxPooling2D 2 (4); Flatten (5); Dense 5 (6) and Dense 3
    (7) of it; Concatenate (8); Dense 2 (9)."""
    net = anne_net.load("graph_concat.anne")
    kept = snapshot(net, (1, 6, 7, 9))
    net.resize(0, 5)
    check_shapes(net, [((6, 6, 2), (6, 6, 5), 2 * 5), ((6, 6, 2), (6, 6, 2), 3 * 3 * 2 * 2),
                       ((6, 6, 5), (6, 6, 9), None), ((6, 6, 9), (2, 2, 4), 3 * 3 * 9 * 4),
                       ((2, 2, 4), (1, 1, 4), None), ((1, 1, 4), (4,), None), ((4,), (5,), 4 * 5),
                       ((4,), (3,), 4 * 3), ((5,), (8,), None), ((8,), (2,), 8 * 2)], "graph_concat resize(0, 5)")
    check(snapshot(net, (1, 6, 7, 9)) == kept, "graph_concat: layers 1, 6, 7, 9 keep their weights")
    kept = snapshot(net, (0, 1, 3, 7))
    net.resize(6, 7)
    check([L.output_shape for L in net.layers[6:]] == [(7,), (3,), (10,), (2,)] and floats(net.layers[9]._kernel) == 20,
          "graph_concat resize(6, 7): the Concatenate gives 10")
    check(snapshot(net, (0, 1, 3, 7)) == kept, "graph_concat: layers 0, 1, 3, 7 keep their weights")
    check(len(net.predict(image(72, 0))) == 2, "graph_concat: predict")


net = test_resnet()
gc.collect()
test_save_fit_quantize(net)
net = None
gc.collect()
test_refused()
gc.collect()
test_conv1d()
gc.collect()
test_concat()
report(NAME)
