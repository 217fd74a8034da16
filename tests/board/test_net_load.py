# files: tests/fixtures/models/iris3.anne tests/fixtures/bad/* tests/board/boardcheck.py
# files: examples/iris/*.anne tests/fixtures/v1/*.anne tests/board/boardcheck.py
# anne_net.load() and net.save() on the board: every file of the bad-file
# table (tests/fixtures/bad/index.json, shared with tools/anne_format.py)
# raises ValueError with its fragment, from a path and from bytes; unusual
# valid files load; path and bytes loads agree; bytes loads are zero-copy on
# the native backend (and copy when misaligned); save -> load round trips;
# the memory check refuses a model that does not fit.
import gc
import json
from os import listdir
from array import array

import anne_net
from boardcheck import check, close, all_close, report
import anne_io
from anne_net import Dense, Sequential

NAME = "test_net_load"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expect_error(source, fragment, what):
    try:
        anne_net.load(source)
    except ValueError as e:
        check(fragment in str(e), "%s: %r lacks %r" % (what, str(e), fragment))
        return
    except Exception as e:
        check(False, "%s: %r instead of ValueError(%r)" % (what, e, fragment))
        return
    check(False, "%s: loaded, expected ValueError(%r)" % (what, fragment))


def test_bad_files():
    with open("index.json") as f:
        table = json.load(f)
    check(len(table) >= 40, "bad-file table has %d entries" % len(table))
    for entry in table:
        name, fragment = entry["file"], entry["expect"]
        expect_error(name, fragment, name + " (path)")
        expect_error(read(name), fragment, name + " (bytes)")
        gc.collect()
    with open("valid_index.json") as f:
        valid = json.load(f)
    for entry in valid:
        for source in (entry["file"], read(entry["file"])):
            net = anne_net.load(source)
            y = net.predict(entry["x"])
            check(all_close(y, entry["y"]), "%s: %r != %r" % (entry["file"], list(y), entry["y"]))
            check(net.metadata == entry["metadata"], "%s: metadata %r" % (entry["file"], net.metadata))


def test_path_bytes_agree():
    a = anne_net.load("iris3.anne")
    data = read("iris3.anne")
    b = anne_net.load(data)
    x = [0.5, -1.0, 1.5, 0.25]
    check(list(a.predict(x)) == list(b.predict(x)), "path and bytes loads agree")
    check([L.activation for L in a.layers] == ["relu", "softmax"], "iris3 activations")
    if anne_net.BACKEND == "native":
        check(isinstance(b.layers[0].kernel, memoryview), "bytes load is zero-copy (memoryview)")
        # a misaligned buffer: copied, same results
        buf = bytearray(len(data) + 1)
        buf[1:] = data
        c = anne_net.load(memoryview(buf)[1:])
        check(list(c.predict(x)) == list(a.predict(x)), "misaligned buffer load agrees")
        check(isinstance(c.layers[0].kernel, array), "misaligned buffer is copied")
    # the memory check (a fake small heap)
    saved = anne_io._free_memory
    anne_io._free_memory = lambda: 100
    try:
        expect_error("iris3.anne", "does not fit in memory", "memory check")
    finally:
        anne_io._free_memory = saved


def test_version_1_examples():
    """The version-1 files of anne 0.1 (tests/fixtures/v1/, the examples as
    they were) give what the version-2 examples give, bit for bit."""
    x = [0.5, -1.0, 1.5, 0.25]
    for name, classes in (("iris3", ["setosa", "versicolor", "virginica"]),
                          ("ai_anne_6", ["versicolor", "virginica"]),
                          ("ai_anne_8", ["versicolor", "virginica"])):
        old_bytes = read(name + "_v1.anne")
        check(old_bytes[4] == 1 and read(name + ".anne")[4] == 2, name + ": versions 1 and 2")
        new = anne_net.load(name + ".anne")
        for old in (anne_net.load(name + "_v1.anne"), anne_net.load(old_bytes)):
            check(list(old.predict(x)) == list(new.predict(x)), name + ": v1 and v2 agree")
            check(old.metadata == {} and old.classes is None, name + ": v1 has no metadata")
        check(new.classes == classes, "%s: classes %r" % (name, new.classes))
        check(new.name == name, "%s: name %r" % (name, new.name))


def test_metadata():
    """Metadata set on the board is saved and loaded back; bad metadata is
    refused at save(), naming what is wrong, and leaves no file."""
    net = Sequential([anne_net.Input(2), Dense(3, "softmax")])
    check(net.metadata == {} and net.name is None and net.classes is None, "a new net has none")
    net.name = "weather"
    net.classes = ("dry", "rain", "snow")
    net.features = ["t", "rh"]
    net.metadata["units"] = "\u00b0C, %"
    net.save("meta.anne")
    for source in ("meta.anne", read("meta.anne")):
        m = anne_net.load(source)
        check(m.name == "weather" and m.classes == ["dry", "rain", "snow"] and m.features == ["t", "rh"],
              "metadata round trip %r" % m.metadata)
        check(m.metadata["units"] == "\u00b0C, %", "free key round trip")
    x = [[0.5, -1.0], [-2.0, 3.0]]
    idx = Sequential([anne_net.Input(2), Dense(3, "softmax")])
    idx.set_weights(net.get_weights())
    want = [m.classes[i] for i in idx.classify(x)]
    check(m.classify(x) == want, "classify gives class names: %r" % m.classify(x))
    check(anne_net.confusion_matrix(["dry", "snow"], want, classes=m.classes) ==
          anne_net.confusion_matrix([0, 2], idx.classify(x), 3), "confusion_matrix takes names")
    try:
        anne_net.confusion_matrix(["hail"], want[:1], classes=m.classes)
        check(False, "an unknown class name is refused")
    except ValueError as e:
        check("'hail' is not a class name" in str(e), "unknown name: %s" % e)
    net.classes = None
    check("classes" not in net.metadata, "classes = None removes them")
    for key, value, fragment in (("", "x", "key"), ("k" * 65, "x", "key"), ("n", 5, "str"),
                                 ("features", ["a\nb"], "newline"), ("big", "x" * 5000, "at most")):
        bad = Sequential([anne_net.Input(2), Dense(3)])
        bad.metadata[key] = value
        try:
            bad.save("bad_meta.anne")
            check(False, "metadata %r saved" % key)
        except ValueError as e:
            check(fragment in str(e), "metadata %r: %s" % (key[:8], e))


def test_round_trip():
    anne_net.seed(5)
    net = Sequential(3)
    net.add(Dense(6, "relu", negative_slope=0.1, max_value=6.0, threshold=0.5))
    net.add(Dense(4, "gelu", use_bias=False, approximate=True))
    net.add(Dense(4, "threshold", threshold=0.1, default_value=-0.5))
    net.add(Dense(4, "swish"))
    net.add(Dense(4, "glu"))
    x = [0.3, -0.7, 1.1]
    y = net.predict(x)
    net.save("rt.anne")
    for source in ("rt.anne", read("rt.anne")):
        m = anne_net.load(source)
        check(list(m.predict(x)) == list(y), "round trip predictions %r %r" % (list(m.predict(x)), list(y)))
        check([L.activation for L in m.layers] == ["relu", "gelu", "threshold", "silu", "glu"],
              "round trip activations %r" % [L.activation for L in m.layers])
        check(m.layers[0].params == {"negative_slope": 0.1, "threshold": 0.5, "max_value": 6.0}
              or all(close(m.layers[0].params[k], v) for k, v in
                     (("negative_slope", 0.1), ("threshold", 0.5), ("max_value", 6.0))), "relu params")
        check(m.layers[1].params == {"approximate": True} and m.layers[1].bias is None, "gelu layer")
        check(m.n_outputs == 2, "glu output size")
    # a saved file loads again after changes
    net.layers[0].activation = "tanh"
    net.resize(1, 5)
    net.save("rt.anne")
    m = anne_net.load("rt.anne")
    check(list(m.predict(x)) == list(net.predict(x)), "changed net round trip")


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    if "index.json" in listdir():
        tests = (test_bad_files, test_path_bytes_agree, test_metadata, test_round_trip)
    else:
        tests = (test_version_1_examples,)
    for test in tests:
        print("%s [%s] %s" % (NAME, backend, test.__name__))
        test()
        gc.collect()
report(NAME)
