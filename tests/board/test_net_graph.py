# files: tests/fixtures/graph/graph_concat.anne tests/fixtures/graph/graph_concat.json tests/fixtures/graph/graph_conv1d.anne tests/fixtures/graph/graph_conv1d.json tests/fixtures/graph/graph_dense_residual.anne tests/fixtures/graph/graph_dense_residual.json tests/fixtures/graph/graph_merges.anne tests/fixtures/graph/graph_merges.json tests/fixtures/graph/graph_resnet.anne tests/fixtures/graph/graph_resnet.json tests/board/boardcheck.py
# Graphs end to end (issue 30, float32 inference): Keras functional models
# with residual connections and branches (Add, Subtract, Multiply, Average,
# Maximum, Minimum, Concatenate; Dense, Conv1D, Conv2D and poolings in the
# branches), converted by tools/anne_convert.py
# (tools/make_graph_fixtures.py), loaded and run on both backends within
# 1e-5 abs + 1e-4 rel of Keras's predictions, every recorded row; the
# activation arena against the bytes counted here from the layers' shapes;
# the merge kernel of both backends against its definition; save() writes
# the converter's file again, byte for byte, and the reloaded graph gives the
# same outputs; add, insert, remove refused with a clear error (training:
# test_train_graph; resize: test_graph_edit).
import gc
import os
from array import array

import anne_net
import anne_ops
from boardcheck import all_close, check, error_of, json_last, json_rows, keras_close, refused, report

NAME = "test_net_graph"
MODELS = sorted(n[:-5] for n in os.listdir() if n.startswith("graph_") and n.endswith(".anne"))
check(len(MODELS) == 5, "the five graph fixtures are here: %r" % MODELS)
MOVES = ("flatten", "reshape")   # layers that move no values: their output is their input's


def arena_bytes(layers):
    """The bytes of the tensors live at once, at most, while one layer runs,
    counted from the layers' kinds, inputs and output sizes (the
    fixture's): a tensor is live from the layer that writes it to the last
    layer that reads it; the network's input and output are the caller's."""
    owner = []
    for i, L in enumerate(layers):
        src = L["inputs"][0]
        owner.append((owner[src] if src >= 0 else -1) if L["kind"] in MOVES else i)
    final = owner[-1]
    last = {}
    for i, L in enumerate(layers):
        for j in L["inputs"]:
            if j >= 0:
                last[owner[j]] = i
    most = 0
    for i, L in enumerate(layers):
        if L["kind"] in MOVES:
            continue
        floats = 0
        for t in range(len(layers)):
            if owner[t] == t and t != final and t <= i <= last[t]:
                floats += layers[t]["out"]
        most = max(most, floats)
    return 4 * most


def test_keras(model):
    path = model + ".json"   # (read a row at a time: the stock Cortex-M0's heap)
    rows = list(zip([array("f", x) for x in json_rows(path, "x")], [array("f", y) for y in json_rows(path, "y")]))
    layers = json_last(path, "layers")
    gc.collect()
    net = anne_net.load(model + ".anne")
    worst = 0.0
    out = array("f", bytes(4 * net.n_outputs))
    for i in range(len(rows)):
        x, want = rows[i]
        got = net.predict(x)
        ok, err = keras_close(got, want)
        worst = max(worst, err)
        check(ok, "%s row %d: %r != %r" % (model, i, list(got), list(want)))
        check(net.predict_into(x, out) is out and list(out) == list(got), "%s row %d: predict_into" % (model, i))
    batch = net.predict([list(r[0]) for r in rows[:2]])
    check(len(batch) == 2 and list(batch[1]) == list(net.predict(rows[1][0])), "%s: a batch" % model)
    mem = net.memory()
    want = arena_bytes(layers)
    check(mem["arena"] == want and mem["lower_bound"] == want,
          "%s: arena %r, counted %d bytes" % (model, mem, want))
    print("  %s: %d rows, worst error %.3f of the tolerance, arena %d bytes" % (model, len(rows), worst,
                                                                               mem["arena"]))
    return net, rows


def test_arena_by_hand():
    """graph_dense_residual: Dense 16 (0), Dense 6 (1), Add(input, 1) (2),
    Dense 3 (3), the network's output. While layer 1 runs, layer 0's 16
    floats and its own 6 are live; then 1's 6 and 2's 6; 22 floats."""
    net = anne_net.load("graph_dense_residual.anne")
    check(net.memory()["arena"] == 88, "dense residual's arena: %r" % (net.memory(),))
    net.summary()   # (prints each layer, its inputs and the arena)
    x = [0.25 * i for i in range(6)]
    check(net.evaluate([x, x], [0, 2])["n"] == 2, "evaluate runs on a graph")
    check(net.inputs_of(2) == (-1, 1), "layer 2 takes the input and layer 1: %r" % (net.inputs_of(2),))


def test_refusals(net, x):
    why = "graph"
    check(refused(ValueError, why, net.remove, 0), "remove refused")
    check(refused(ValueError, why, net.insert, 0, anne_net.Dense(2)), "insert refused")
    # graph_merges: its Multiply of three inputs has no int8 form (LiteRT's MUL
    # takes two; test_quantize_graph: the merges quantize takes), its tanh
    # layer 0 none without the module's act_table (the inference-only module)
    import anne_quant
    why = "layer 4: a Multiply of 3 inputs has no int8 form" if anne_quant._native_tables() else "quantize on the PC"
    check(refused(ValueError, why, net.quantize, [x]), "quantize refused: %s" % why)
    check(refused(ValueError, "x has", net.predict, array("f", [0.0] * (len(x) + 1))), "a longer x")


def test_save(model):
    """save() writes the graph back: the converter's file byte for byte,
    and the reloaded graph gives the same outputs, bit for bit (a file over
    4 KB not where less than 100 KB is free: the inference-only stock M0)."""
    with open(model + ".anne", "rb") as f:
        size = f.seek(0, 2)
    gc.collect()
    if size > 4096 and gc.mem_free() < 100000:   # (the RAM filesystem holds a file twice while it closes)
        print("  %s: save skipped, %d bytes free for a %d-byte file" % (model, gc.mem_free(), size))
        return
    net = anne_net.load(model + ".anne")
    net.save("graph_saved.anne")
    same = True   # (compared 256 bytes at a time: the stock Cortex-M0's heap)
    n = 0
    with open(model + ".anne", "rb") as f, open("graph_saved.anne", "rb") as g:
        while same:
            want, got = f.read(256), g.read(256)
            same = want == got
            n += len(got)
            if not want:
                break
    check(same, "%s: the saved file differs from the converter's after %d bytes" % (model, n))
    again = anne_net.load("graph_saved.anne")
    check(again.inputs_of(len(again.layers) - 1) == net.inputs_of(len(net.layers) - 1), "%s: inputs kept" % model)
    for r in range(3):
        x = array("f", [((i * 7 + r * 3) % 11) / 5.0 - 1.0 for i in range(net.n_inputs)])
        check(list(again.predict(x)) == list(net.predict(x)), "%s: the reloaded graph's outputs" % model)
    net = again = None
    os.remove("graph_saved.anne")


def test_merge_kernel(mod):
    """mod.merge against Keras's definitions written out."""
    a, b, c = array("f", [1.0, -2.0, 3.0, 0.5]), array("f", [0.5, 4.0, -1.0, 0.5]), array("f", [2.0] * 4)
    out = array("f", bytes(16))
    cases = ((17, (a, b, c), [3.5, 4.0, 4.0, 3.0]), (18, (a, b), [0.5, -6.0, 4.0, 0.0]),
             (19, (a, b, c), [1.0, -16.0, -6.0, 0.5]), (20, (a, b), [0.75, 1.0, 1.0, 0.5]),
             (21, (a, b, c), [2.0, 4.0, 3.0, 2.0]), (22, (a, b, c), [0.5, -2.0, -1.0, 0.5]))
    for kind, xs, want in cases:
        check(mod.merge(kind, out, xs, 1) is out and all_close(list(out), want), "merge %d: %r" % (kind, list(out)))
    av = array("f", bytes(16))
    mod.merge(20, av, (a, b, c), 1)
    check(all_close(list(av), [(a[j] + b[j] + c[j]) / 3 for j in range(4)]), "average of three")
    cat = array("f", bytes(24))
    mod.merge(23, cat, (array("f", [1.0, 2.0]), a), 2)   # two positions: 1 channel, then 2
    check(list(cat) == [1.0, 1.0, -2.0, 2.0, 3.0, 0.5], "concatenate: %r" % list(cat))
    check(mod.merge(17, out, [a, b], 1) is out and all_close(list(out), [1.5, 2.0, 2.0, 1.0]), "a list of inputs")
    for args, frag in (((18, out, (a, b, c), 1), "sizes do not fit"), ((17, out, (a,), 1), "2..7 inputs"),
                       ((17, out, (a, array("f", [1.0])), 1), "sizes do not fit"),
                       ((23, cat, (a, a), 2), "sizes do not fit"), ((9, out, (a, b), 1), "unknown layer kind"),
                       ((17, out, a, 1), "tuple or list")):
        exc = TypeError if frag == "tuple or list" else ValueError
        check(refused(exc, frag, mod.merge, *args), "merge%r refused" % (args[:1],))


def test_arena_refused():
    """A graph whose arena cannot fit: Concatenates of 7 inputs each
    (weightless: the file is its layer table alone, written here with the
    codec) take a (1000, 1) input to (1000, 2401), then a global average:
    about 10 MB of activations. load() refuses it with the bytes needed and
    free, and keeps nothing (the message and the last exception's traceback
    aside: under 1 KB)."""
    import binascii
    import struct
    import anne_file as af
    entries, shape = [], (1000, 1)
    for i in range(4):
        ins = (af.NETWORK_INPUT if i == 0 else i - 1,) * 7
        out = (1000, shape[1] * 7)
        entries.append(af.Entry(0, 0, shape, 0, (0.0,) * 6, kind=anne_ops.LAYER_CONCATENATE, out_shape=out,
                                inputs=ins, in_shapes=[shape] * 7))
        shape = out
    entries.append(af.Entry(0, 0, shape, 0, (0.0,) * 6, kind=anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D,
                            out_shape=(shape[1],)))
    data = af.front((1000, 1), entries, version=3)
    data += struct.pack("<I", binascii.crc32(data) & 0xFFFFFFFF)
    entries = None
    error_of(anne_net.load, data)   # (the modules a first load imports stay)
    gc.collect()
    free = gc.mem_free()
    kind, text = error_of(anne_net.load, data)
    need = int(text.split("needs ")[1].split()[0]) if kind is ValueError and "needs " in text else 0
    check(need >= 4 * 1000 * 2401 and "free" in text, "a 10 MB arena: %s %s" % (kind, text))
    gc.collect()
    check(gc.mem_free() >= free - 1024, "nothing kept: %d bytes free, %d before" % (gc.mem_free(), free))


def test_allocates_nothing(model):
    """predict_into allocates nothing on the native backend: a ResNet
    block's merges, a merge that takes the network's input."""
    net = anne_net.load(model)
    x, out = array("f", bytes(4 * net.n_inputs)), array("f", bytes(4 * net.n_outputs))
    net.predict_into(x, out)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(3):
        net.predict_into(x, out)
    grew = gc.mem_alloc() - before
    gc.enable()
    check(grew == 0, "%s: predict_into allocated %d bytes" % (model, grew))


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    print("%s [%s]" % (NAME, backend))
    for model in MODELS:   # (first: a small board's RAM filesystem holds the saved file)
        test_save(model)
        gc.collect()
    for model in MODELS:
        net, rows = test_keras(model)
        if model == "graph_merges":
            test_refusals(net, rows[0][0])
        net = rows = None
        gc.collect()
    test_arena_by_hand()
    test_arena_refused()
    test_merge_kernel(anne_net._anne)
    gc.collect()
net = anne_net.load("graph_conv1d.anne")
if anne_net._native is not None:
    net.use_backend("python")
    x = array("f", [0.1 * i for i in range(net.n_inputs)])
    py = list(net.predict(x))
    net.use_backend("native")
    check(all_close(list(net.predict(x), ), py), "use_backend on a graph: the same outputs")
    for model in ("graph_resnet.anne", "graph_dense_residual.anne", "graph_conv1d.anne"):
        test_allocates_nothing(model)

report(NAME)
