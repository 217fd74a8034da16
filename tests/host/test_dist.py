"""The release folder `make dist` writes (build/dist, tools/make_dist.py):
every architecture's package with the files it names, the firmware, the
checksums, and an index naming each package's install line.

Needs `make dist` (make test builds it first)."""

import hashlib
import json
import os

import pytest

from conftest import ROOT, need_build

DIST = os.path.join(ROOT, "build", "dist")
ARCHS = ["armv6m", "armv7m", "armv7emsp", "rv32imc", "x64"]

need_build(os.path.isfile(os.path.join(DIST, "SHA256SUMS")), "needs `make dist`", module_level=True)


@pytest.mark.parametrize("folder", ARCHS + [a + "-lite" for a in ARCHS])
def test_every_package_holds_what_it_names(folder):
    with open(os.path.join(DIST, folder, "package.json")) as f:
        package = json.load(f)
    names = sorted(url for _, url in package["urls"])
    assert names == sorted(n for n in os.listdir(os.path.join(DIST, folder)) if n != "package.json")
    assert "anne.mpy" in names and "anne_net.mpy" in names
    with open(os.path.join(ROOT, "micropython", "package.json")) as f:
        assert package["version"] == json.load(f)["version"]


def test_checksums_cover_every_file():
    with open(os.path.join(DIST, "SHA256SUMS")) as f:
        sums = dict(line.split()[::-1] for line in f if line.strip())
    files = {os.path.relpath(os.path.join(top, n), DIST) for top, _, names in os.walk(DIST) for n in names}
    assert set(sums) == files - {"SHA256SUMS"}
    for name, digest in sums.items():
        with open(os.path.join(DIST, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def test_the_index_names_every_install_line_and_firmware():
    with open(os.path.join(DIST, "README.md")) as f:
        index = f.read()
    for arch in ARCHS:
        assert "`mpremote mip install %s/package.json`" % arch in index
        assert "`mpremote mip install %s-lite/package.json`" % arch in index
    for uf2 in ("RPI_PICO.uf2", "RPI_PICO2.uf2"):
        assert "firmware/" + uf2 in index
        with open(os.path.join(DIST, "firmware", uf2), "rb") as f:
            assert f.read(4) == b"UF2\n"  # the UF2 block's first magic number
