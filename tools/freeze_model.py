#!/usr/bin/env python3
"""Freezes a .anne model into rp2 firmware (make rp2 RP2_MODEL=MODEL.anne).

    tools/freeze_model.py MODEL.anne DIR            write DIR/anne_model.py, DIR/manifest.py
    tools/freeze_model.py --align ELF MODEL.anne DIR

The first form writes DIR/anne_model.py, a module whose DATA is a read-only
memoryview of the file's bytes, and DIR/manifest.py: the rp2 manifest
(tools/boards/rp2/manifest.py) plus that module (a module that already
holds this model, with the padding an earlier build found, is kept).
Frozen, the bytes are a constant in flash, and
`anne_net.load(anne_model.DATA)` uses the weights there: no heap for them.
The file is checked first by the host's reader.

The float data must be 4-byte aligned to be used in place, and the
compiler aligns a frozen bytes constant to 1 byte only. So the constant
holds up to 3 bytes of padding before the file, and DATA starts after
them. --align reads where the built firmware (ELF) put the file; if it is
not 4-byte aligned it rewrites DIR/anne_model.py with the padding that
aligns it and exits 3 (build again: the constant stays where it was).
Exit 0 when it is aligned.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def module(data, model, pad):
    return ("# %s, frozen by tools/freeze_model.py: anne_net.load(anne_model.DATA)\n"
            "# (the first %d bytes align the file's float data to 4 bytes in flash)\n"
            "_B = %r\nDATA = memoryview(_B)[%d:]\n"
            % (os.path.basename(model), pad, b"\0" * pad + data, pad))


def write(data, model, out, pad=None):
    """DIR/anne_model.py and DIR/manifest.py; without pad, the module is
    left as it is if it holds this model already (with the padding an
    earlier build found), else written unpadded."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "anne_model.py")
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if pad is None:
        pad = next((p for p in range(4) if old == module(data, model, p)), 0)
    text = module(data, model, pad)
    if old != text:
        with open(path, "w") as f:
            f.write(text)
    with open(os.path.join(out, "manifest.py"), "w") as f:
        f.write('include(%r)\nfreeze(%r, "anne_model.py")\n'
                % (os.path.join(ROOT, "tools", "boards", "rp2", "manifest.py"), os.path.abspath(out)))


def flash_address(elf, data):
    """Where the ELF's loaded sections hold data (its one occurrence)."""
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        found = []
        for s in ELFFile(f).iter_sections():
            if s["sh_type"] != "SHT_PROGBITS" or not s["sh_flags"] & 2:  # SHF_ALLOC
                continue
            blob = s.data()
            i = blob.find(data)
            while i >= 0:
                found.append(s["sh_addr"] + i)
                i = blob.find(data, i + 1)
    if len(found) != 1:
        sys.exit("freeze_model: %s holds the model %d times, not once" % (elf, len(found)))
    return found[0]


def main():
    args = sys.argv[1:]
    elf = None
    if args[:1] == ["--align"] and len(args) == 4:
        elf, args = args[1], args[2:]
    if len(args) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    model, out = args
    with open(model, "rb") as f:
        data = f.read()
    import anne_format
    try:
        anne_format.parse(data)
    except Exception as e:  # the reader's ValueError (or a bad header)
        sys.exit("freeze_model: %s: not a model anne_net.load takes: %s" % (model, e))
    if elf is None:
        write(data, model, out)
        return 0
    with open(os.path.join(out, "anne_model.py")) as f:
        pad = int(f.read().split("the first ", 1)[1].split(" ", 1)[0])
    at = flash_address(elf, data)
    if at % 4 == 0:
        print("freeze_model: the model is at 0x%08x in flash, aligned" % at)
        return 0
    write(data, model, out, (pad - at) % 4)
    print("freeze_model: the model was at 0x%08x, not 4-byte aligned: building again with %d bytes"
          " of padding before it" % (at, (pad - at) % 4))
    return 3


if __name__ == "__main__":
    sys.exit(main())
