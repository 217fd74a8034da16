"""examples/digits and examples/kws: the two CNN examples as a user runs
them. Their .keras and .tflite (committed, made by make_digits.py and
make_kws.py with TensorFlow) are converted into build/examples/ as
docs/cnn-examples.md says, the results must be the committed .anne files,
and the board scripts run on unix, the emulated Cortex-M3, M0 and M4F: each
checks float32 against Keras (1e-5 + 1e-4 relative) and int8 against
LiteRT (identical) on the held-out rows it is given, and raises if not.
The keyword spotter's int8 also runs on the emulated Pico: make
test-rp2040 (the Makefile).
"""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import REQUIRE_BUILDS, ROOT, need_build
import anne_convert
import anne_format

RUN_ON = os.path.join(ROOT, "tools", "run-on")
OUT = os.path.join(ROOT, "build", "examples")
EXAMPLES = {
    # name: (class names, held-out rows)
    "digits": ([str(c) for c in range(10)], 40),
    "kws": (["rise", "fall", "hum", "silence"], 24),
}
FIRMWARE = {
    "unix": os.path.join(ROOT, "build", "unix", "micropython"),
    "cortex-m3": os.path.join(ROOT, "build", "cortex-m3", "firmware.elf"),
    "cortex-m0": os.path.join(ROOT, "build", "cortex-m0", "firmware.elf"),
    "cortex-m4f": os.path.join(ROOT, "build", "cortex-m4f", "firmware.elf"),
}


def folder(name):
    return os.path.join(ROOT, "examples", name)


def rows(name, suffix=""):
    """The header and the rows of NAME_test.jsonl (suffix "_int8": NAME_test_int8.jsonl)."""
    with open(os.path.join(folder(name), name + "_test%s.jsonl" % suffix)) as f:
        lines = [json.loads(line) for line in f]
    return lines[0], lines[1:]


def converted(name):
    """build/examples/NAME.anne and NAME_int8.anne, converted as the docs say."""
    os.makedirs(OUT, exist_ok=True)
    classes = ",".join(EXAMPLES[name][0])
    paths = []
    for src, dst in ((name + ".keras", name + ".anne"), (name + ".tflite", name + "_int8.anne")):
        path = os.path.join(OUT, dst)
        assert anne_convert.main([os.path.join(folder(name), src), "-o", path, "--classes", classes, "-q"]) == 0
        paths.append(path)
    return paths


@pytest.mark.parametrize("name", EXAMPLES)
def test_committed_files_are_the_converters(name):
    for path in converted(name):
        with open(path, "rb") as f, open(os.path.join(folder(name), os.path.basename(path)), "rb") as g:
            assert f.read() == g.read(), "%s: the committed file is not the converter's" % path


@pytest.mark.parametrize("name", EXAMPLES)
def test_held_out_rows(name):
    """The rows the board checks: as many as the header says, Keras's
    probabilities and LiteRT's int8 outputs for each; the float32 file on
    the PC (the converter's own forward) gives Keras's."""
    head, body = rows(name)
    head8, body8 = rows(name, "_int8")
    classes, n = EXAMPLES[name]
    for h, b in ((head, body), (head8, body8)):
        assert h["rows"] == len(b) == n and h["classes"] == classes
        # the accuracy the generator measured on the whole held-out set
        assert h["accuracy"] >= 0.95 and h["by"] == {"float32": "Keras", "int8": "LiteRT"}[h["dtype"]]
    assert [r["label"] for r in body] == [r["label"] for r in body8]
    m = anne_format.load(os.path.join(folder(name), name + ".anne"))
    assert m.dtype == "float32"
    x = np.array([r["x"] for r in body], np.float32)
    keras = np.array([r["keras"] for r in body], np.float32)
    np.testing.assert_allclose(m.forward(x), keras, atol=1e-5, rtol=1e-4)
    assert all(len(r["litert"]) == len(classes) for r in body8)
    scale, zp = head8["input_quantization"]
    q = np.clip(np.round(x / np.float32(scale)) + zp, -128, 127)
    assert (q == np.array([r["x"] for r in body8])).all()


TARGETS = [t for t, fw in FIRMWARE.items() if os.path.exists(fw)]


@pytest.mark.parametrize("target", TARGETS or [pytest.param(None, marks=pytest.mark.skip("no firmware"))])
@pytest.mark.parametrize("name", EXAMPLES)
def test_board_script(name, target):
    need_build(len(TARGETS) == len(FIRMWARE) or not REQUIRE_BUILDS,
               "make unix qemu-m3 qemu-m0 qemu-m4f")
    files = converted(name) + [os.path.join(folder(name), name + s) for s in ("_test.jsonl", "_test_int8.jsonl")]
    r = subprocess.run([RUN_ON, "--timeout", "300", target, os.path.join(folder(name), name + ".py")] + files,
                       capture_output=True, text=True, timeout=420)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    n = EXAMPLES[name][1]
    assert "int8: 0 of %d outputs differ from LiteRT's" % n in r.stdout
    assert "float32: 0 values beyond 1e-5 + 1e-4 relative of Keras" in r.stdout


@pytest.mark.parametrize("target", [t for t in ("unix", "cortex-m4f") if t in TARGETS]
                         or [pytest.param(None, marks=pytest.mark.skip("no firmware"))])
def test_digits_retrained_on_the_board(target):
    """examples/digits/retrain.py: the second Conv2D made narrower (its
    weights and the Dense layer's new: chance accuracy), fit() on 240
    images on the board brings the held-out accuracy back to 0.85 or more
    (the script raises if not), and the saved network loads with it. (On
    unix and the M4F: on the FPU-less cores the 12 epochs take minutes.)"""
    need_build(len(TARGETS) == len(FIRMWARE) or not REQUIRE_BUILDS, "make unix qemu-m3 qemu-m0 qemu-m4f")
    files = converted("digits")[:1] + [os.path.join(folder("digits"), "digits_%s.jsonl" % s) for s in ("train", "test")]
    r = subprocess.run([RUN_ON, "--timeout", "300", target, os.path.join(folder("digits"), "retrain.py")] + files,
                       capture_output=True, text=True, timeout=420)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    acc = [float(line.split("accuracy")[1].split()[0]) for line in r.stdout.splitlines()
           if line.startswith(("retrained:", "saved and loaded:"))]
    assert len(acc) == 2 and acc[0] >= 0.85 and acc[1] == acc[0], r.stdout[-2000:]
    assert "filters 16 -> 8:  accuracy" in r.stdout and "Conv2D                 2, 2, 8" in r.stdout
