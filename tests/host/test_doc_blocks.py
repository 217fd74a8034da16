"""Every code block of README.md and docs/*.md is run here or says why not.

A block is a fenced block with a language: `text` (a picture, not code),
`sh` (run with bash on the PC, in a scratch folder that sees the repository's
folders) or `python` (run on the unix firmware, build/unix/micropython, in a
scratch folder). An HTML comment on the line before the fence can say more:

    <!-- doc-test: not run here: REASON -->        (physical boards, other ports)
    <!-- doc-test: files: SRC[=NAME] ...; setup: CODE -->

`files` copies repository files into the scratch folder (under NAME), `setup`
(last: the rest of the comment is code) runs before the block, in its
language (it defines what the text leaves to the reader, such as `rows`). A python block written as a REPL session (`>>> ` lines) is
checked like a doctest: each statement's printed value must be the text's
(a line ending in `...` matches any ending). The summary test prints how many
blocks ran and how many are marked not runnable here.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, need_build

UNIX = os.path.join(ROOT, "build", "unix", "micropython")
DOCS = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
FENCE = re.compile(r"(?:^<!-- doc-test: (.*?) -->\n)?^```(\w*)\n(.*?)^```", re.M | re.S)
LANGS = ("text", "sh", "python")
LINKED = ("tools", "examples", "tests", "micropython", "build", "c_glue", "docs")


class Block:
    def __init__(self, path, line, lang, body, directive):
        self.path, self.line, self.lang, self.body = path, line, lang, body
        self.skip = None
        self.files, self.setup = [], ""
        directive = directive or ""
        if directive.startswith("not run here: "):   # the rest is the reason
            self.skip, directive = directive[len("not run here: "):], ""
        directive, _, self.setup = directive.partition("setup: ")   # the rest is code
        for part in directive.rstrip("; ").split("; "):
            if part.startswith("files: "):
                self.files = part[len("files: "):].split()
            elif part:
                raise AssertionError("%s: unknown doc-test directive %r" % (self, part))

    def __str__(self):
        return "%s:%d" % (self.path, self.line)


def blocks():
    found = []
    for path in DOCS:
        text = open(os.path.join(ROOT, path)).read()
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start(2) if m.group(1) is None else m.start()) + 1
            found.append(Block(path, line, m.group(2), m.group(3), m.group(1)))
    return found


BLOCKS = blocks()
CODE = [b for b in BLOCKS if b.lang != "text"]


def scratch(tmp_path, block):
    """A scratch folder that sees the repository's folders (writes stay in
    it) and holds the block's files."""
    for name in LINKED:
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    for spec in block.files:
        src, _, name = spec.partition("=")
        shutil.copy(os.path.join(ROOT, src), tmp_path / (name or os.path.basename(src)))
    return tmp_path


def test_every_block_has_a_language_and_marked_ones_a_reason():
    for b in BLOCKS:
        assert b.lang in LANGS, "%s: a code block needs a language (%s)" % (b, ", ".join(LANGS))
        assert b.skip is None or len(b.skip) > 10, "%s: say why it is not run here" % b
        assert b.lang != "text" or not (b.skip or b.files or b.setup), "%s: a text block is not run" % b


def repl_script(body):
    """The statements of a REPL session (`>>> ` and `... ` lines) and the
    output the text shows after each."""
    steps = []
    for line in body.splitlines():
        if line.startswith(">>> "):
            steps.append([line[4:], []])
        elif line.startswith("... ") and steps and not steps[-1][1]:
            steps[-1][0] += "\n" + line[4:]
        elif steps:
            steps[-1][1].append(line)
    return steps


RUNNER = '''
import sys
def _run(src):
    try:
        try:
            code = compile(src, "<doc>", "eval")
        except SyntaxError:
            exec(src, globals())
            return
        v = eval(code, globals())
        if v is not None:
            print(repr(v))
    except Exception as e:
        print("Traceback (most recent call last):")
        print("%s: %s" % (type(e).__name__, e))
'''


def matches(want, got):
    if want.endswith("..."):
        return got.startswith(want[:-3])
    return want == got


def run_python(block, folder):
    need_build(os.path.exists(UNIX), "make unix")
    steps = repl_script(block.body) if block.body.startswith(">>> ") else None
    if steps is None:
        script = block.setup + "\n" + block.body
    else:
        script = RUNNER + block.setup + "\n" + "".join(
            "print('@@step')\n_run(%r)\n" % src for src, _ in steps)
    (folder / "doc_block.py").write_text(script)
    r = subprocess.run([UNIX, "doc_block.py"], cwd=folder, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, "%s:\n%s" % (block, r.stdout[-3000:])
    if steps is None:
        return
    outputs = r.stdout.split("@@step\n")[1:]
    assert len(outputs) == len(steps), r.stdout
    for (src, want), got in zip(steps, outputs):
        got = got.splitlines()
        if want and want[0].startswith("Traceback"):
            want = [want[0], want[-1]]
        assert len(got) == len(want) and all(matches(w, g) for w, g in zip(want, got)), \
            "%s: >>> %s\n  the text shows %r\n  the board printed %r" % (block, src, want, got)


def run_sh(block, folder):
    r = subprocess.run(["bash", "-e", "-c", block.setup + "\n" + block.body], cwd=folder, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600)
    assert r.returncode == 0, "%s:\n%s" % (block, r.stdout[-3000:])


@pytest.mark.parametrize("block", [b for b in CODE if not b.skip], ids=str)
def test_block_runs(block, tmp_path):
    folder = scratch(tmp_path, block)
    if block.lang == "python":
        run_python(block, folder)
    else:
        run_sh(block, folder)


def test_make_demo():
    """The README's first command, as a newcomer runs it (the firmware it
    needs is built by then under make test)."""
    need_build(os.path.exists(os.path.join(ROOT, "build", "cortex-m3", "firmware.elf")), "make qemu-m3")
    r = subprocess.run(["make", "-s", "demo"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "retrained:" in r.stdout


def test_how_many(capsys):
    """Says how many blocks this file runs and how many are marked."""
    ran = [b for b in CODE if not b.skip]
    with capsys.disabled():
        print("\ndocs: %d code blocks in %d files: %d run (%d python on the unix firmware, %d sh on the PC), "
              "%d marked not runnable here" % (len(CODE), len(DOCS), len(ran),
                                                 sum(b.lang == "python" for b in ran),
                                                 sum(b.lang == "sh" for b in ran), len(CODE) - len(ran)))
