#!/usr/bin/env python3
"""Writes the mip package of one architecture: NATMOD/ARCH/package.json.

    tools/natmod_package.py ARCH NATMOD      (run by `make natmod`)

mip does not choose the architecture itself, so each one has its own
package: anne.mpy (the native module, NATMOD/ARCH/anne.mpy) and the board
library compiled with mpy-cross (NATMOD/lib/*.mpy, the same for every arch,
copied next to it), all installed into the board's /lib. The URLs are file
names relative to the package.json: `mpremote mip install
path/to/package.json` reads them from a local checkout, and from a URL
each is the package's URL with its last part replaced. (mip joins the two
as text: a "../lib/..." URL would reach the web server with its "..",
which it would have to resolve.)
"""

import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def board_library():
    """The board library's modules, in micropython/package.json's order."""
    with open(os.path.join(ROOT, "micropython", "package.json")) as f:
        spec = json.load(f)
    return [dest[:-len(".py")] for dest, _ in spec["urls"]], spec["version"]


def main():
    arch, natmod = sys.argv[1], sys.argv[2]
    modules, version = board_library()
    urls = [[m, m] for m in ["anne.mpy"] + [m + ".mpy" for m in modules]]
    sources = [os.path.join(natmod, arch, "anne.mpy")] + [os.path.join(natmod, "lib", m + ".mpy")
                                                          for m in modules]
    for path in sources:
        if not os.path.isfile(path):
            sys.exit("natmod_package: %s is missing (build it with make natmod-%s)" % (path, arch))
    for path in sources[1:]:
        shutil.copyfile(path, os.path.join(natmod, arch, os.path.basename(path)))
    with open(os.path.join(natmod, arch, "package.json"), "w") as f:
        json.dump({"urls": urls, "version": version}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
