# Freezes the board-side library into a firmware:
#   make BOARD=... FROZEN_MANIFEST=/path/to/anne/micropython/manifest.py
# (frozen modules cost no RAM for their code and need no filesystem).
# The modules are the ones mip installs, listed once, in package.json
# (this file runs with the current directory set to its own).
import json

with open("package.json") as f:
    for name, _ in json.load(f)["urls"]:
        module(name)  # noqa: F821 - given by MicroPython's manifest tools
