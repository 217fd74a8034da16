"""The code's shape, as docs/architecture.md states it (issue 27's done-when):

- the Rust crate's modules import one way: the graph of `crate::` references
  between top-level modules has no circle, and each module imports only what
  the architecture allows it;
- no product source file is over 800 lines (Rust test modules, generated
  files and tests not counted).

Pure: reads the sources, builds nothing.
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")

# What each top-level module may import (docs/architecture.md, "Rust modules
# import one way"). lib.rs re-exports and is left out.
ALLOWED = {
    "status": set(),
    "abi": {"status"},
    "ops_table": {"abi"},
    "math": {"status"},
    "activation": {"math", "status", "ops_table"},
    "argmax": {"status"},
    "layers": {"activation", "math", "status", "ops_table"},
    "train": {"layers", "activation", "math", "argmax", "status"},
    "ffi": {"abi", "ops_table", "status", "math", "activation", "layers", "train", "argmax"},
}

GENERATED = {"src/ops_table.rs", "micropython/anne_ops.py", "c_glue/anne_ops.h"}
LIMIT = 800


def _rust_files():
    for dirpath, _, files in os.walk(SRC):
        for f in sorted(files):
            if f.endswith(".rs"):
                yield os.path.join(dirpath, f)


def _module_of(path):
    rel = os.path.relpath(path, SRC).replace(os.sep, "/")
    top = rel.split("/")[0]
    return top[:-3] if top.endswith(".rs") else top


def _strip_tests(text):
    """The text before the file's `#[cfg(test)]` module (tests may import
    anything), without comments."""
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod ", text, re.M)
    if m:
        text = text[:m.start()]
    return re.sub(r"//[^\n]*", "", text)


def _crate_imports(text):
    """Top-level modules a file names through `crate::`, directly or in a
    `use crate::{a, b::c}` group."""
    found = set(re.findall(r"\bcrate::([a-z_0-9]+)", text))
    for group in re.findall(r"\buse\s+crate::\{([^;]*)\};", text, re.S):
        found.update(re.findall(r"(?:^|[,{\s])([a-z_0-9]+)(?=::|\s*[,}]|\s*$)", group))
    return found


def rust_graph():
    graph = {}
    for path in _rust_files():
        mod = _module_of(path)
        if mod == "lib":
            continue
        text = _strip_tests(open(path, encoding="utf-8").read())
        deps = {d for d in _crate_imports(text) if d != mod and d in ALLOWED}
        graph.setdefault(mod, {})
        for d in deps:
            graph[mod].setdefault(d, []).append(os.path.relpath(path, ROOT))
    return graph


def test_every_module_is_known():
    mods = {_module_of(p) for p in _rust_files()} - {"lib"}
    assert mods == set(ALLOWED), "src/ has modules the architecture does not list: %s" % (
        sorted(mods ^ set(ALLOWED)),)


def test_rust_modules_import_only_what_the_architecture_allows():
    bad = []
    for mod, deps in sorted(rust_graph().items()):
        for d, files in sorted(deps.items()):
            if d not in ALLOWED[mod]:
                bad.append("%s imports %s (%s)" % (mod, d, ", ".join(sorted(set(files)))))
    assert not bad, "\n".join(bad)


def test_rust_modules_have_no_cycle():
    graph = {m: set(d) for m, d in rust_graph().items()}
    state = {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [m, d]))
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_the_checker_sees_a_cycle_and_a_forbidden_import():
    # The parser is what the tests above stand on: it must find these.
    assert _crate_imports("use crate::{math::exp, layers::dense::X, status};\nfn f() { crate::train::go() }") == {
        "math", "layers", "status", "train"}
    assert _crate_imports(_strip_tests("use crate::math;\n#[cfg(test)]\nmod tests {\n use crate::ffi;\n}")) == {"math"}


def _product_files():
    for folder, exts in (("src", (".rs",)), ("c_glue", (".c", ".h")), ("micropython", (".py",)),
                         ("tools", (".py",))):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            if "/boards" in dirpath.replace(os.sep, "/"):
                continue
            for f in sorted(files):
                if f.endswith(exts):
                    yield os.path.join(dirpath, f)
    yield os.path.join(ROOT, "tools", "run-on")


def test_no_product_file_is_over_800_lines():
    long = []
    for path in _product_files():
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        if rel in GENERATED or not os.path.exists(path):
            continue
        text = open(path, encoding="utf-8").read()
        if rel.endswith(".rs"):
            m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod ", text, re.M)
            if m:
                text = text[:m.start()]
            if rel.startswith("src/") and "/tests" in "/" + rel.split("/", 1)[1]:
                continue  # a test module of its own (src/train/tests.rs)
        n = text.count("\n")
        if n > LIMIT:
            long.append("%s: %d lines" % (rel, n))
    assert not long, "over %d lines:\n%s" % (LIMIT, "\n".join(long))
