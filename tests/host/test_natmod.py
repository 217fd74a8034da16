"""The native module (anne.mpy) and its mip packages, on stock firmware.

Needs `make natmod` and `make stock` (`make test` runs both first). The
board tests themselves run on the stock targets too (tests/run_board_tests.py
TARGET-stock); these check what is particular to the install: the files
each architecture's package names, the .mpy headers, the same API as the
built-in module, and MicroPython's own error for the wrong architecture.
"""

import json
import os
import subprocess

import pytest

from conftest import ROOT, need_build

RUN_ON = os.path.join(ROOT, "tools", "run-on")
NATMOD = os.path.join(ROOT, "build", "natmod")
# .mpy header byte 2 is (arch << 2) | sub-version (py/persistentcode.h)
ARCH_CODES = {"x64": 2, "armv6m": 4, "armv7m": 5, "armv7emsp": 7}
# (built and run by make test too, on the stock riscv32 board)
RISCV_ARCH_CODES = {"rv32imc": 11}
STOCK = {"unix": os.path.join(ROOT, "build", "unix-stock", "micropython"),
         "cortex-m3": os.path.join(ROOT, "build", "cortex-m3-stock", "firmware.elf"),
         "cortex-m0": os.path.join(ROOT, "build", "cortex-m0-stock", "firmware.elf"),
         "cortex-m4f": os.path.join(ROOT, "build", "cortex-m4f-stock", "firmware.elf"),
         "riscv32": os.path.join(ROOT, "build", "riscv32-stock", "firmware.elf")}

need_build(all(os.path.exists(os.path.join(NATMOD, a, "anne.mpy")) for a in ARCH_CODES),
           "the native module is not built (run `make natmod`)", module_level=True)


def run_on(args, tmp_path, code, *files):
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run([RUN_ON, "--timeout", "60"] + args + [str(script)] + [str(f) for f in files],
                          capture_output=True, text=True, timeout=120)


# The inference-only modules make test builds (make natmod builds every arch's).
LITE = ["x64-lite", "armv6m-lite"]


@pytest.mark.parametrize("arch", sorted(ARCH_CODES) + sorted(RISCV_ARCH_CODES) + LITE)
def test_package_names_every_file(arch):
    need_build(os.path.exists(os.path.join(NATMOD, arch, "package.json")), "make natmod-%s first" % arch)
    with open(os.path.join(NATMOD, arch, "package.json")) as f:
        package = json.load(f)
    with open(os.path.join(ROOT, "micropython", "package.json")) as f:
        library = json.load(f)
    dests = [dest for dest, _ in package["urls"]]
    assert dests == ["anne.mpy"] + [d[:-len(".py")] + ".mpy" for d, _ in library["urls"]]
    assert package["version"] == library["version"]
    for _, url in package["urls"]:
        assert os.path.isfile(os.path.join(NATMOD, arch, url)), url
    with open(os.path.join(NATMOD, arch, "anne.mpy"), "rb") as f:
        header = f.read(4)
    assert header[:2] == b"M\x06"
    assert header[2] >> 2 == dict(ARCH_CODES, **RISCV_ARCH_CODES)[arch.replace("-lite", "")]


API = "import anne\nprint(sorted(n for n in dir(anne) if not n.startswith('__')), anne.__version__)\n"


def test_same_api_as_the_built_in_module(tmp_path):
    built_in = run_on(["unix"], tmp_path, API)
    native = run_on(["--stock", "unix"], tmp_path, API)
    assert built_in.returncode == 0 and native.returncode == 0, built_in.stderr + native.stderr
    assert native.stdout == built_in.stdout
    assert "Plan" in native.stdout and "dense" in native.stdout


def test_inference_only_module_lacks_exactly_the_training_functions(tmp_path):
    """The lite anne.mpy: the built-in module's API less the training
    kernels and the native training loop, and the same version."""
    need_build(os.path.exists(os.path.join(NATMOD, "x64-lite", "anne.mpy")), "make natmod-x64-lite first")
    full = run_on(["unix"], tmp_path, API)
    lite = run_on(["--stock", "--lite", "unix"], tmp_path, API)
    assert full.returncode == 0 and lite.returncode == 0, full.stderr + lite.stderr
    (names, version), (lite_names, lite_version) = (
        (eval(r.stdout[:r.stdout.rindex("]") + 1]), r.stdout[r.stdout.rindex("]") + 1:].strip()) for r in (full, lite))
    assert sorted(set(names) - set(lite_names)) == ["act_table", "activation_backward", "adam", "dense_backward",
                                                    "fit_epoch", "fit_workspace", "layer_backward", "sgd"]
    assert set(lite_names) < set(names) and lite_version == version


def test_stock_firmware_has_no_anne_inside(tmp_path):
    """Without /lib (plain stock firmware), `import anne` finds nothing: the
    board tests on the stock targets do use the installed anne.mpy."""
    code = ("import sys\nsys.path[:] = ['']\ntry:\n    import anne\n    print('found', anne)\n"
            "except ImportError as e:\n    print('ImportError', e)\n")
    r = run_on(["--stock", "cortex-m3"], tmp_path, code)
    assert "ImportError" in r.stdout, r.stdout + r.stderr
    r = run_on(["--stock", "cortex-m3"], tmp_path, "import anne, anne_net\nprint(anne.__file__, anne_net.__file__)\n")
    assert r.stdout.split() == ["/lib/anne.mpy", "/lib/anne_net.mpy"], r.stdout + r.stderr


@pytest.mark.parametrize("target,wrong", [("unix", "armv6m"), ("cortex-m3", "armv7emsp"),
                                          ("cortex-m0", "armv7m"), ("riscv32", "armv7m")])
def test_wrong_arch_gives_micropythons_error(tmp_path, target, wrong):
    need_build(os.path.exists(STOCK[target]), "no stock %s firmware (run `make stock`)" % target)
    module = tmp_path / "anne_wrong.mpy"
    module.write_bytes(open(os.path.join(NATMOD, wrong, "anne.mpy"), "rb").read())
    code = "try:\n    import anne_wrong\nexcept ValueError as e:\n    print('ValueError:', e)\n"
    r = run_on(["--stock", target], tmp_path, code, module)
    assert r.returncode == 0, r.stderr
    assert "ValueError: incompatible .mpy arch" in r.stdout, r.stdout
