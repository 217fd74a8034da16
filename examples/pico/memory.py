# What a model costs in RAM on the Pico (run it on the board, or on the
# emulated one: tools/run-on rp2040 examples/pico/memory.py MODEL.anne).
# gc.mem_free() after a collection, at each step.
import gc
import os

gc.collect()
start = gc.mem_free()
import anne_net

gc.collect()
after_import = gc.mem_free()
name = [n for n in os.listdir() if n.endswith(".anne")][0]
size = os.stat(name)[6]

# From a littlefs path: read layer by layer into new float arrays.
net = anne_net.load(name)
gc.collect()
path_cost = after_import - gc.mem_free()
del net
gc.collect()

# From a buffer, used in place: here the file's bytes read into RAM (in
# flash, a frozen bytes constant or a ROMFS file, the buffer costs no RAM).
with open(name, "rb") as f:
    data = f.read()
gc.collect()
before = gc.mem_free()
net = anne_net.load(data)
gc.collect()
buffer_cost = before - gc.mem_free()

print("model %s: %d bytes" % (name, size))
print("heap free at boot: %d bytes; after import anne_net: %d (the board library is frozen)" % (start, after_import))
print("load from the littlefs path: %d bytes of heap" % path_cost)
print("load from a buffer in place: %d bytes of heap beyond the buffer" % buffer_cost)

# From a frozen bytes constant (firmware built with make rp2
# RP2_MODEL=MODEL.anne): the buffer is in flash, the weights are used there.
try:
    import anne_model
except ImportError:
    anne_model = None
if anne_model is not None:
    import uctypes
    del net, data
    gc.collect()
    before = gc.mem_free()
    net = anne_net.load(anne_model.DATA)
    gc.collect()
    where = uctypes.addressof(anne_model.DATA)
    print("load from the frozen anne_model.DATA (%d bytes at 0x%08x, %s): %d bytes of heap"
          % (len(anne_model.DATA), where, "flash" if 0x10000000 <= where < 0x20000000 else "RAM",
             before - gc.mem_free()))
    x = [0.5] * net.n_inputs
    print("same outputs as from the path:", list(net.predict(x)) == list(anne_net.load(name).predict(x)))
