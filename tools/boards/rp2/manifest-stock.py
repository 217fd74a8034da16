# The rp2 port's own frozen modules, for the stock firmware without anne
# (make rp2-stock): _boot.py (it formats and mounts littlefs) and asyncio.
# The port's manifest also requires four micropython-lib drivers (onewire,
# ds18x20, dht, neopixel), which Debian's MicroPython source does not hold.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
