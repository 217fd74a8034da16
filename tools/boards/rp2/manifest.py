# The rp2 port's frozen modules with anne's board library (make rp2):
# the port's own _boot.py (it formats and mounts littlefs) and asyncio, as
# the stock firmware has them, without micropython-lib's packages (not in
# Debian's MicroPython source).
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
include("../../../micropython/manifest.py")
