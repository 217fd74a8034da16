"""`pip install .` (pyproject.toml): a fresh virtual environment under
build/pip-venv gets the `anne-convert` command and `python -m anne_tools`,
which write byte for byte the files tools/anne_convert.py writes, run from
outside the checkout. The venv sees the system's numpy and h5py (no
download: --no-index, --no-build-isolation; `make deps` installs setuptools'
`wheel`), and the package asks for nothing else."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BUILD = os.path.join(ROOT, "build")
VENV = os.path.join(BUILD, "pip-venv")
SRC = os.path.join(BUILD, "pip-src")
MODELS = [("examples/iris/iris3.keras", ["--classes", "setosa,versicolor,virginica"]),
          ("examples/har/har.keras", []),
          ("tests/fixtures/models/affine_kept.h5", [])]


@pytest.fixture(scope="module")
def venv():
    pytest.importorskip("wheel", reason="setuptools needs `wheel` to build offline (make deps installs it)")
    for d in (VENV, SRC):
        shutil.rmtree(d, ignore_errors=True)
    # A copy of what the package is built from, so that the build leaves
    # nothing (build/lib, *.egg-info) in the checkout.
    os.makedirs(SRC)
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), SRC)
    for d in ("anne_tools", "tools", "micropython", "docs"):
        shutil.copytree(os.path.join(ROOT, d), os.path.join(SRC, d),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.png"))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", VENV], check=True)
    py = os.path.join(VENV, "bin", "python")
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", SRC],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return py


def test_converts_byte_identical_to_the_tool(venv, tmp_path):
    cmd = os.path.join(VENV, "bin", "anne-convert")
    for model, extra in MODELS:
        src = os.path.join(ROOT, model)
        name = os.path.basename(model).rsplit(".", 1)[0]
        want = tmp_path / (name + ".tool.anne")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "anne_convert.py"), src, "-o", str(want)]
                       + extra, check=True, capture_output=True)
        for how, argv in (("command", [cmd]), ("module", [venv, "-m", "anne_tools"])):
            got = tmp_path / ("%s.%s.anne" % (name, how))
            # run outside the checkout: the installed code, not the repository's
            r = subprocess.run(argv + [src, "-o", str(got)] + extra, cwd=str(tmp_path), capture_output=True,
                               text=True)
            assert r.returncode == 0, (how, model, r.stderr)
            assert got.read_bytes() == want.read_bytes(), (how, model)


def test_installed_code_not_the_checkout(venv, tmp_path):
    r = subprocess.run([venv, "-c", "import anne_tools, anne_convert, anne_keras_layers, anne_file; "
                        "print(anne_tools.__file__); print(anne_convert.__file__); "
                        "print(anne_keras_layers.__file__); print(anne_file.__file__)"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    # anne_tools puts its own folders on sys.path when imported
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) == 4, r.stdout
    for path in r.stdout.split():
        assert path.startswith(VENV), path


def test_refusal_exit_status_and_help(venv, tmp_path):
    cmd = os.path.join(VENV, "bin", "anne-convert")
    bad = tmp_path / "not_a_model.keras"
    bad.write_bytes(b"not a zip")
    r = subprocess.run([cmd, str(bad)], cwd=str(tmp_path), capture_output=True, text=True)
    r2 = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "anne_convert.py"), str(bad)],
                        cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == r2.returncode != 0
    assert r.stderr == r2.stderr
    r = subprocess.run([cmd, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--classes" in r.stdout


def test_program_name(venv, tmp_path):
    """--help and usage errors name the command as it was typed, not the
    script inside the package."""
    cmd = os.path.join(VENV, "bin", "anne-convert")
    for argv, prog in (([cmd], "anne-convert"), ([venv, "-m", "anne_tools"], "python -m anne_tools")):
        r = subprocess.run(argv + ["--help"], cwd=str(tmp_path), capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("usage: %s [-h]" % prog), r.stdout[:200]
        assert "anne_convert.py" not in r.stdout and "__main__" not in r.stdout
        r = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, text=True)  # no model: usage error
        assert r.returncode == 2 and r.stderr.startswith("usage: %s [-h]" % prog), r.stderr[:200]
        assert ("%s: error:" % prog) in r.stderr
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "anne_convert.py"), "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: anne_convert.py [-h]")


def test_depends_on_numpy_and_h5py_only_and_one_version(venv):
    r = subprocess.run([venv, "-m", "pip", "show", "anne"], capture_output=True, text=True, check=True)
    requires = re.search(r"^Requires: (.*)$", r.stdout, re.M).group(1)
    assert sorted(x.strip() for x in requires.split(",")) == ["h5py", "numpy"]
    version = re.search(r"^Version: (.*)$", r.stdout, re.M).group(1)
    with open(os.path.join(ROOT, "ops", "ops.json")) as f:
        assert version == json.load(f)["version"]
