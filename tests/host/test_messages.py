"""Every exception message of the C module fits MicroPython's own limit.

MicroPython 1.25 decompresses an MP_ERROR_TEXT message into a buffer sized
for the longest message of the firmware; anne's 100-character `dense(...)`
message became that longest one and made the buffer one byte short (a stack
overflow under AddressSanitizer): its buffer has no room for the longest
message's terminating zero. So every message of ours must be shorter than
MicroPython's own longest (73 characters in 1.25): one as long overflows too.

The messages the glue shares with the Python backend live in one table,
ops/messages.json (c_glue/anne_msgs.h and micropython/anne_msgs.py are made
from it by tools/gen_ops.py): each is used on both sides, as the table's
exception type, and neither side types its text again.
"""
import ast
import json
import glob
import os
import re
import sys

from conftest import ROOT

MICROPY_LONGEST = 73
TEXT = re.compile(r'MP_ERROR_TEXT\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


def messages(paths):
    for path in paths:
        with open(path) as f:
            for text in TEXT.findall(f.read()):
                yield path, text


def test_glue_messages_fit_micropythons_longest():
    found = list(messages(glob.glob(os.path.join(ROOT, "c_glue", "*.[ch]"))))
    assert len(found) > 40  # the parser sees the module's messages
    long = [(len(t), t) for _, t in found if len(t) >= MICROPY_LONGEST]
    assert not long, long


def test_the_limit_is_micropythons_own():
    """Where the MicroPython source is at hand, 73 is indeed its longest."""
    py = os.path.join(os.environ.get("MICROPY_DIR", os.path.join(ROOT, "build", "micropython")), "py")
    paths = glob.glob(os.path.join(py, "*.c"))
    assert paths, "no MicroPython source at %s (make deps fetches it)" % py
    assert max(len(t) for _, t in messages(paths)) == MICROPY_LONGEST


# ---------------------------------------------------------------------------
# The shared table (ops/messages.json)

def table():
    with open(os.path.join(ROOT, "ops", "messages.json")) as f:
        return json.load(f)["messages"]


def sources(folder, pattern, skip=()):
    for path in sorted(glob.glob(os.path.join(ROOT, folder, pattern))):
        if os.path.basename(path) not in skip:
            with open(path) as f:
                yield os.path.basename(path), f.read()


def glue():
    """The glue's C, and the part of anne_msgs.h that raises (each kind's
    words, generated from ops/ops.json), not the #defines of the texts."""
    words = "".join(l for l in open(os.path.join(ROOT, "c_glue", "anne_msgs.h")).readlines()
                    if not l.startswith("#define ANNE_MSG_"))
    return list(sources("c_glue", "*.c")) + [("anne_msgs.h (the kinds' words)", words)]


def board_library():
    """micropython/'s modules but the generated ones."""
    return list(sources("micropython", "anne_*.py", skip=("anne_ops.py", "anne_msgs.py")))


# C: ANNE_MSG_<NAME>, raised as mp_raise_<Type>(ANNE_MSG_...) or
# mp_raise_msg_varg(&mp_type_<Type>, ANNE_MSG_...).
C_USE = re.compile(r"ANNE_MSG_([A-Z0-9_]+)")
C_RAISE = re.compile(r"(?:mp_raise_(ValueError|TypeError)\(|&mp_type_(ValueError|TypeError),)\s*ANNE_MSG_([A-Z0-9_]+)")


def py_used(path, text):
    """The names a module raises: anne_ops.err(n, ...) (or _ops.err, the
    module's alias), n the message's number in the table (or a choice of
    numbers), each named in a comment on the call's first line, checked."""
    names = [m["name"] for m in table()]
    lines = text.split("\n")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "err":
            nums = [c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, int)]
            assert nums, "%s:%d: err's first argument is not a message number" % (path, node.lineno)
            said = re.findall(r"#\s*(.*)$", lines[node.lineno - 1])
            said = [w.strip() for w in said[0].split(",")] if said else []
            assert sorted(said) == sorted(names[n] for n in nums if n < len(names)), \
                "%s:%d: err(%s) says %s" % (path, node.lineno, nums, said)
            for n in nums:
                yield names[n]


def test_every_message_is_used_on_both_sides():
    names = {m["name"] for m in table()}
    c_used = {n for _, text in glue() for n in C_USE.findall(text)}
    py = {n for path, text in board_library() for n in py_used(path, text)}
    assert not names - c_used, "not raised by the glue: %s" % sorted(names - c_used)
    assert not names - py, "not raised by the Python backend: %s" % sorted(names - py)
    assert not c_used - names, "the glue names messages the table lacks: %s" % sorted(c_used - names)
    assert not py - names, "the board library names messages the table lacks: %s" % sorted(py - names)


def test_the_glue_raises_each_as_its_table_type():
    types = {m["name"]: m["type"] for m in table()}
    for path, text in glue():
        raised = C_RAISE.findall(text)
        assert len(raised) == len(C_USE.findall(text)), "%s: an ANNE_MSG_ not right after its type" % path
        for a, b, name in raised:
            assert (a or b) == types[name], "%s: %s raised as %s, the table says %s" % (path, name, a or b,
                                                                                    types[name])


def test_no_glue_literal_repeats_a_table_text():
    """The drift check: a message the table holds is not typed again in C."""
    texts = {m["text"]: m["name"] for m in table()}
    again = [(path, t, texts[t]) for path, t in messages(glob.glob(os.path.join(ROOT, "c_glue", "*.c")))
             if t in texts]
    assert not again, again


def test_no_python_literal_repeats_a_table_text():
    """Nor in the board library (as Python's format, or with its placeholders
    filled in: a literal that starts like a table text, up to its first
    placeholder, is suspect too when it is that long)."""
    import gen_ops
    formats = {gen_ops.py_format(m["text"]): m["name"] for m in table()}
    heads = {f.split("%")[0]: n for f, n in formats.items() if len(f.split("%")[0]) >= 20}
    again = []
    for path, text in board_library():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                v = node.value
                if v in formats or any(v.startswith(h) for h in heads):
                    again.append((path, node.lineno, v))
    assert not again, again


def test_python_formats_are_the_c_ones():
    """micropython/anne_msgs.py holds each text with C's placeholders as
    Python's, the same count, and err() raises the table's type."""
    import gen_ops
    sys.path.insert(0, os.path.join(ROOT, "micropython"))
    try:
        import anne_ops
        for n, m in enumerate(table()):
            args = []
            for p in gen_ops.PLACEHOLDER.findall(m["text"]):
                args.append(7 if p in ("d", "u") else "w")
            e = anne_ops.err(n, *args)
            assert type(e).__name__ == m["type"], m["name"]
            want = gen_ops.PLACEHOLDER.sub(lambda p: "7" if p.group(1) in ("d", "u") else "w", m["text"])
            assert str(e) == want, (m["name"], str(e), want)
        assert "anne_msgs" not in sys.modules  # let go again
    finally:
        sys.path.remove(os.path.join(ROOT, "micropython"))
