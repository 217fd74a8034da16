"""Every exception message of the C module fits MicroPython's own limit.

MicroPython 1.25 decompresses an MP_ERROR_TEXT message into a buffer sized
for the longest message of the firmware; anne's 100-character `dense(...)`
message became that longest one and made the buffer one byte short (a stack
overflow under AddressSanitizer): its buffer has no room for the longest
message's terminating zero. So every message of ours must be shorter than
MicroPython's own longest (73 characters in 1.25): one as long overflows too.
"""
import glob
import os
import re

from conftest import ROOT

MICROPY_LONGEST = 73
TEXT = re.compile(r'MP_ERROR_TEXT\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


def messages(paths):
    for path in paths:
        with open(path) as f:
            for text in TEXT.findall(f.read()):
                yield path, text


def test_glue_messages_fit_micropythons_longest():
    found = list(messages(glob.glob(os.path.join(ROOT, "c_glue", "*.c"))))
    assert len(found) > 40  # the parser sees the module's messages
    long = [(len(t), t) for _, t in found if len(t) >= MICROPY_LONGEST]
    assert not long, long


def test_the_limit_is_micropythons_own():
    """Where the MicroPython source is at hand, 73 is indeed its longest."""
    py = os.path.join(os.environ.get("MICROPY_DIR", os.path.join(ROOT, "build", "micropython")), "py")
    paths = glob.glob(os.path.join(py, "*.c"))
    assert paths, "no MicroPython source at %s (make deps fetches it)" % py
    assert max(len(t) for _, t in messages(paths)) == MICROPY_LONGEST
