"""The sanitizer build (`make unix-asan`) sees what issue 26's memory errors
hid in: reads past an allocation inside MicroPython's GC heap (one malloc
block to ASan until tools/gc-asan.patch poisons its free blocks and the bytes
past each allocation), and reads of a moved buffer's old block, done by the
Rust kernels (built -Zsanitizer=address there). Each error aborts the run
(run-on's exit status 2) with ASan's report naming the Rust function; the
same read within bounds runs clean.

Needs build/unix-asan (make test builds the firmware before the host tests):
fails, not skips, without it."""

import os
import subprocess

from conftest import ROOT

RUN_ON = os.path.join(ROOT, "tools", "run-on")
FIRMWARE = os.path.join(ROOT, "build", "unix-asan", "micropython")


def run(tmp_path, code):
    assert os.path.exists(FIRMWARE), "build/unix-asan is missing: run `make unix-asan`"
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run([RUN_ON, "--timeout", "60", "unix-asan", str(script)],
                          capture_output=True, text=True, timeout=120)


# a 4-byte array('f') read as 16 bytes by the Rust argmax kernel
PAST_THE_END = """
import anne, uctypes
from array import array
a = array('f', [3.0])
print(anne.argmax(uctypes.bytearray_at(uctypes.addressof(a), {n})))
"""

# a buffer's old block, read after the buffer grew (and moved)
MOVED = """
import anne, uctypes
from array import array
a = array('f', [1.0, 2.0, 3.0, 4.0])
keep = array('f', [0.0])
addr = uctypes.addressof(a)
a.extend(array('f', [0.0] * 1000))
print(anne.argmax(uctypes.bytearray_at(addr, 16)))
"""


def test_within_bounds_is_clean(tmp_path):
    r = run(tmp_path, PAST_THE_END.format(n=4))
    assert r.returncode == 0 and r.stdout.strip().endswith("0"), r.stdout + r.stderr


def test_a_read_past_an_allocation_is_caught(tmp_path):
    r = run(tmp_path, PAST_THE_END.format(n=16))
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "AddressSanitizer" in out and "argmax" in out, out


def test_a_moved_buffers_old_block_is_caught(tmp_path):
    r = run(tmp_path, MOVED)
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "AddressSanitizer" in out and "argmax" in out, out
