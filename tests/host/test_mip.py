"""The README's `mpremote mip install build/natmod/ARCH/package.json`, run as
written against stock firmware on an emulated board.

qemu serves the board's UART on a pseudo-terminal, which mpremote opens as
it opens a board's USB serial port. The board gets a writable RAM filesystem
at "/" (tools/run-on's, with directories) and "/lib" on sys.path, as the
rp2, esp32 and stm32 ports have it; mip then makes /lib and writes the
package's files there, and `import anne_net` runs on what it wrote.

Needs the stock firmware and the native module (`make stock natmod`; `make
test` builds them first) and mpremote (tools/deps.sh installs it).
"""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import ROOT, load_run_on, need_build

NATMOD = os.path.join(ROOT, "build", "natmod")
DIST = os.path.join(ROOT, "build", "dist")


run_on = load_run_on()

# Keras's own prediction for the model's first test row (the fixture).
with open(os.path.join(ROOT, "tests", "fixtures", "models", "iris3.json")) as f:
    IRIS3 = json.load(f)
CHECK = """import sys, os, anne, anne_net
print('files', sorted(os.listdir('/lib')))
print('module', anne.__file__)
net = anne_net.load('iris3.anne')
got = net.predict(%r)
print('worst', max(abs(a - b) for a, b in zip(got, %r)) < 1e-5)
""" % (IRIS3["x"][0], IRIS3["y"][0])


# (Not the Cortex-M0: the RAM filesystem holds the files in its 192 KB heap;
# its anne.mpy runs from /lib in the TARGET-stock board tests.)
@pytest.mark.parametrize("target", ["cortex-m3", "cortex-m4f"])
def test_mip_install_from_a_checkout(tmp_path, target):
    arch = run_on.TARGETS[target]["arch"]
    install(tmp_path, target, os.path.join("build", "natmod", arch, "package.json"))


def test_mip_install_from_a_url(tmp_path):
    """The same package from a URL, as from the published release folder
    (`make dist`'s build/dist; github:OWNER/REPO/... is such a URL on
    GitHub's raw file host): a web server on this machine serves build/dist,
    and mpremote fetches every file over HTTP from the package's URL."""
    import functools
    import http.server
    import threading
    need_build(os.path.isfile(os.path.join(DIST, "armv7m", "package.json")), "needs `make dist`")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=DIST)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        install(tmp_path, "cortex-m3", "http://127.0.0.1:%d/armv7m/package.json" % server.server_port)
    finally:
        server.shutdown()
        server.server_close()


def install(tmp_path, target, package):
    """`mpremote mip install PACKAGE` on the target's stock firmware, then
    the model through what it installed."""
    firmware = run_on.stock_firmware(target)
    arch = run_on.TARGETS[target]["arch"]
    need_build(os.path.exists(firmware) and os.path.exists(os.path.join(NATMOD, arch, "package.json")),
               "needs `make stock natmod`")
    pytest.importorskip("mpremote")
    model = os.path.join(ROOT, "tests", "fixtures", "models", "iris3.anne")
    images = run_on.Images(target, [model], (), str(tmp_path), firmware)
    setup = "\n".join(["import uctypes"] + images.setup + ["del uctypes", "import sys", "sys.path.append('/lib')"])
    cmd = (["qemu-system-arm"] + run_on.TARGETS[target]["qemu"] + images.qemu_args +
           ["-nographic", "-monitor", "none", "-semihosting", "-serial", "pty", "-kernel", firmware])
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = qemu.stdout.readline().decode()
        pty = re.search(r"(/dev/pts/\d+)", line)
        assert pty, "qemu did not give a pty: %r" % line
        time.sleep(0.5)  # the board's banner
        r = subprocess.run(["mpremote", "connect", pty.group(1), "resume", "exec", setup,
                            "mip", "install", package, "+", "exec", CHECK],
                           cwd=ROOT, capture_output=True, text=True, timeout=240)
    finally:
        qemu.kill()
        qemu.wait()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Installing: /lib/anne.mpy" in r.stdout, r.stdout
    assert "module /lib/anne.mpy" in r.stdout, r.stdout
    names = ["anne.mpy"] + sorted(n[:-3] + ".mpy" for n in os.listdir(os.path.join(ROOT, "micropython"))
                                  if n.startswith("anne_") and n.endswith(".py"))
    assert "files %r" % sorted(names) in r.stdout, r.stdout
    assert "worst True" in r.stdout, r.stdout  # Keras's outputs, within 1e-5
