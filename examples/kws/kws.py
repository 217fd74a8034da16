# Keyword spotting: a DS-CNN trained in Keras (examples/kws/make_kws.py) on
# spectrograms of four synthetic words (rise, fall, hum, silence), 20
# frames x 10 bands, runs on the held-out clips in float32 and in int8,
# each checked against what the PC computed: float32 within 1e-5 + 1e-4
# relative of Keras, int8 identical to LiteRT's. It runs the networks it
# finds (kws.anne with kws_test.jsonl, kws_int8.anne with
# kws_test_int8.jsonl; the emulated Pico gets the int8 ones):
#
#   python3 tools/anne_convert.py examples/kws/kws.keras -o kws.anne --classes rise,fall,hum,silence
#   python3 tools/anne_convert.py examples/kws/kws.tflite -o kws_int8.anne --classes rise,fall,hum,silence
#   tools/run-on cortex-m4f examples/kws/kws.py kws.anne kws_int8.anne \
#       examples/kws/kws_test.jsonl examples/kws/kws_test_int8.jsonl
#   tools/run-on rp2040 examples/kws/kws.py kws_int8.anne examples/kws/kws_test_int8.jsonl
import gc
import json
import os
from array import array

import anne_net

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # the qemu boards have no clock
    ticks_ms = None

def spot(name):
    # the heap a load takes: the second load's (the first also imports
    # the board library's modules for these layers)
    net = anne_net.load(name)
    net = None
    gc.collect()
    free = gc.mem_free()
    net = anne_net.load(name)
    gc.collect()
    heap = free - gc.mem_free()
    int8 = net.dtype == "int8"
    print("\n%s (%s): %d bytes of flash, the activation arena %d bytes of RAM (%d bytes of heap "
          "loaded from the file)" % (name, net.dtype, os.stat(name)[6], net.memory()["arena"], heap))
    net.summary()
    x = array("b" if int8 else "f", bytes(net.n_inputs * (1 if int8 else 4)))
    out = array("b" if int8 else "f", bytes(net.n_outputs * (1 if int8 else 4)))
    # a header line, then one held-out clip a line
    with open("kws_test_int8.jsonl" if int8 else "kws_test.jsonl") as f:
        head = json.loads(f.readline())
        words = net.classes or head["classes"]
        n = right = bad = 0
        worst = 0.0
        ms = 0
        for _ in range(head["rows"]):
            row = json.loads(f.readline())
            src = row["x"]
            for j in range(len(src)):
                x[j] = src[j]
            if ticks_ms:
                t = ticks_ms()
            net.predict_into(x, out)                      # allocates nothing
            if ticks_ms:
                ms += ticks_diff(ticks_ms(), t)
            if int8:
                bad += list(out) != row["litert"]
            else:
                for j, k in enumerate(row["keras"]):
                    worst = max(worst, abs(out[j] - k))
                    bad += abs(out[j] - k) > 1e-5 + 1e-4 * abs(k)
            k = anne_net.argmax(out)
            right += k == row["label"]
            n += 1
            if k != row["label"] or n <= 4:
                print("  clip %2d: %-7s heard as %s" % (n, words[row["label"]], words[k]))
    print("%s: accuracy %.3f on %d clips (%s on the PC: %.3f on %d)%s" % (
        net.dtype, right / n, n, head["by"], head["accuracy"], head["of"],
        "; %d ms a clip" % (ms // n) if ticks_ms else ""))
    if int8:
        print("int8: %d of %d outputs differ from LiteRT's" % (bad, n))
    else:
        print("float32: %d values beyond 1e-5 + 1e-4 relative of Keras; max |anne - keras| = %.2g" % (bad, worst))
    if bad:
        raise AssertionError("the board does not compute what the PC did")


found = [n for n in ("kws.anne", "kws_int8.anne") if n in os.listdir()]
if not found:
    raise OSError("no kws.anne or kws_int8.anne here: convert and copy them first")
for name in found:
    spot(name)
    gc.collect()
