"""The board library's layout (micropython/): imports flow one way."""
import ast
import glob
import os

from conftest import ROOT


def imports():
    """module -> the board-library modules it imports (anywhere in it)."""
    paths = glob.glob(os.path.join(ROOT, "micropython", "*.py"))
    ours = {os.path.basename(p)[:-3] for p in paths} - {"manifest"}
    graph = {}
    for p in paths:
        name = os.path.basename(p)[:-3]
        if name not in ours:
            continue
        found = set()
        for node in ast.walk(ast.parse(open(p).read())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
        graph[name] = found & ours
    return graph


def test_no_import_cycle():
    graph = imports()
    assert {"anne_net", "anne_io", "anne_core", "anne_ops", "anne_fallback"} <= set(graph)
    state = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", "import cycle: " + " -> ".join(path + [m])
        state[m] = "open"
        for n in graph[m]:
            visit(n, path + [m])
        state[m] = "done"

    for m in graph:
        visit(m, [])
    # the generated tables import nothing but anne_msgs (err() reads it when it raises)
    assert "anne_net" not in graph["anne_io"] and graph["anne_ops"] == {"anne_msgs"} and graph["anne_msgs"] == set()
