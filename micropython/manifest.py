# Freezes the board-side library into a firmware:
#   make BOARD=... FROZEN_MANIFEST=/path/to/anne/micropython/manifest.py
# (frozen modules cost no RAM for their code and need no filesystem).
module("anne_ops.py")
module("anne_core.py")
module("anne_file.py")
module("anne_net.py")
module("anne_io.py")
module("anne_fallback.py")
module("anne_train.py")
