"""The layer registry (ops/ops.json "layers") against the code that follows it:
the board library's classes, the file format's documentation, and the rules
tools/gen_ops.py holds the registry to."""
import ast
import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

REGISTRY = json.load(open(os.path.join(ROOT, "ops", "ops.json")))["layers"]


def board_classes():
    """class name -> its __init__'s (parameter names, defaults) in every
    board-library file (micropython/anne_*.py), read from the source."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, "micropython", "anne_*.py")):
        for node in ast.walk(ast.parse(open(path).read())):
            if not isinstance(node, ast.ClassDef):
                continue
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and f.name == "__init__":
                    args = [a.arg for a in f.args.args[1:]]
                    defaults = [ast.literal_eval(d) if isinstance(d, ast.Constant) else d
                                for d in f.args.defaults]
                    found[node.name] = (args, dict(zip(args[len(args) - len(defaults):], defaults)))
    return found


def inherited(cls_name, classes, source):
    """The __init__ a class uses (its own, or its first base's with one)."""
    for node in ast.walk(source):
        if isinstance(node, ast.ClassDef) and node.name == cls_name:
            if cls_name in classes:
                return classes[cls_name]
            for base in node.bases:
                if isinstance(base, ast.Name):
                    got = inherited(base.id, classes, source)
                    if got:
                        return got
    return None


@pytest.mark.parametrize("kind", [L for L in REGISTRY if L["name"] != "affine"], ids=lambda L: L["name"])
def test_board_class_takes_the_slots_in_order(kind):
    """Each kind's board class (named as its Keras class) takes units first
    when the kind has them, then the parameter slots in the registry's order
    with the registry's defaults: one order for the file, the ABI and Python
    (that the ABI's spec follows it: tests/board/test_layer_specs.py)."""
    source = ast.parse("\n".join(open(p).read() for p in
                                 glob.glob(os.path.join(ROOT, "micropython", "anne_*.py"))))
    classes = board_classes()
    for keras in kind["keras"]:
        got = inherited(keras, classes, source)
        assert got, "no board class %s for layer kind %s" % (keras, kind["name"])
        args, defaults = got
        # (units "channels": the input's, not an argument: DepthwiseConv2D's)
        want = ([kind["units"]] if kind.get("units", "channels") != "channels" else []) + [
            s["name"] for s in kind["params"]]
        assert args[:len(want)] == want, (keras, args)
        for s in kind["params"]:
            if "default" in s:
                assert defaults.get(s["name"]) == s["default"], (keras, s["name"])
            else:
                assert s["name"] not in defaults, (keras, s["name"], "is required")


def test_format_doc_lists_the_registry():
    """docs/FORMAT.md's layer-entry row names every kind by its id."""
    doc = open(os.path.join(ROOT, "docs", "FORMAT.md")).read()
    listed = ", ".join("%d %s" % (L["id"], L["name"]) for L in REGISTRY)
    assert listed in doc


def run_gen(tmp_path, edit):
    root = tmp_path / "repo"
    for rel in ("ops/ops.json", "ops/messages.json", "tools/gen_ops.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(open(os.path.join(ROOT, rel)).read())
    table = json.loads((root / "ops/ops.json").read_text())
    edit(table["layers"])
    (root / "ops/ops.json").write_text(json.dumps(table))
    return subprocess.run([sys.executable, str(root / "tools/gen_ops.py"), "--check"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("edit, says", [
    (lambda L: L[1].update(id=7), "id 7, expected 2"),
    (lambda L: L[1]["params"][2].update(default="full"), "default 'full' out of its range"),
    (lambda L: L[1]["params"][0].update(values=["a"]), "a size has min, a choice values"),
    (lambda L: L[0].pop("units"), "a kind with weights has units"),
    (lambda L: L[2].update(shape="wide"), "shape one of"),
    (lambda L: L[2]["params"][1].pop("none"), "a null default says what it means"),
    (lambda L: L[0].update(stateful=True), "keys"),
    (lambda L: L[1]["words"].update(kernel=["CONV1D_KERNEL", "kernel_size"]), "takes 4 values, the words give 3"),
    (lambda L: L[1]["words"].update(kernel=["CONV1D_KERNEL", "kernel_size", "height"]), "unknown params ['height']"),
    (lambda L: L[1]["words"].update(spec=["NO_SUCH_MESSAGE"]), "a messages.json name"),
    (lambda L: L[1]["weights"][0].__setitem__(1, "kernel_size x heads x filters"), "kernel axes ['heads']"),
    (lambda L: L[1]["weights"][1].__setitem__(1, "kernel_size"), "the bias holds filters values"),
])
def test_gen_ops_refuses_a_bad_registry(tmp_path, edit, says):
    r = run_gen(tmp_path, edit)
    assert r.returncode != 0 and says in r.stdout, r.stdout


def test_an_unknown_kind_is_refused_not_defaulted():
    """The reader knows exactly the registry's kinds, and refuses the id one
    past the last (and 0) by name, rather than taking it for another kind."""
    import anne_format as af
    import anne_badfiles
    import anne_file
    assert set(anne_file.KIND_NAMES) == {L["id"] for L in REGISTRY}
    good = anne_badfiles.base_good_file(2)
    assert af.parse(good)
    for kind in [0, len(REGISTRY) + 1]:
        bad = anne_badfiles._patch(good, "<B", 32, kind)   # layer 0's kind byte
        with pytest.raises(ValueError, match="layer 0: unknown layer kind %d" % kind):
            af.parse(bad)


def module_names(path):
    """The top-level names a board-library module defines (functions,
    classes, assignments), read from its source."""
    names = set()
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("kind", REGISTRY, ids=lambda L: L["name"])
def test_each_kind_has_its_board_modules(kind):
    """anne_net.load makes a file's layer with make_layer(entry) of the
    module the registry names for its kind and dtype (board, board_int8),
    and anne_net.<Keras class> imports it from the board module: each of
    them defines make_layer, the board module its Keras classes too."""
    board = module_names(os.path.join(ROOT, "micropython", kind["board"] + ".py"))
    assert "make_layer" in board and "LAYER_TYPES" in board, kind["board"]
    for keras in kind["keras"]:
        assert keras in board, (kind["board"], keras)
    if "board_int8" in kind:
        assert "make_layer" in module_names(os.path.join(ROOT, "micropython", kind["board_int8"] + ".py"))


def test_every_registered_keras_class_has_a_converter_function():
    """The converter has one function per Keras layer kind: every Keras class
    the registry names is one of them."""
    import anne_keras_layers
    for L in REGISTRY:
        for keras in L["keras"]:
            assert keras in anne_keras_layers.LAYER_KINDS, (L["name"], keras)


def test_converter_writes_version_3(tmp_path):
    """--format-version 3: the same model, read back with the same outputs."""
    import numpy as np
    import anne_format as af
    out = {}
    for version in (2, 3):
        path = tmp_path / ("v%d.anne" % version)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "anne_convert.py"),
                            os.path.join(ROOT, "tests", "fixtures", "models", "conv_har.keras"),
                            "-o", str(path), "--format-version", str(version)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert r.returncode == 0, r.stdout
        out[version] = af.load(str(path))
    assert out[3].version == 3 and out[2].version == 2
    x = np.linspace(-1, 1, out[2].n_inputs).astype(np.float32)
    np.testing.assert_array_equal(out[2].forward(x), out[3].forward(x))
