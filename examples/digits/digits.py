# Handwritten digits (8x8 pixels, scikit-learn's set): a small CNN trained
# in Keras (examples/digits/make_digits.py) runs on the held-out images in
# float32 and in int8, each checked against what the PC computed: float32
# within 1e-5 + 1e-4 relative of Keras, int8 identical to LiteRT's.
# It runs the networks it finds (digits.anne with digits_test.jsonl,
# digits_int8.anne with digits_test_int8.jsonl):
#
#   python3 tools/anne_convert.py examples/digits/digits.keras -o digits.anne --classes 0,1,2,3,4,5,6,7,8,9
#   python3 tools/anne_convert.py examples/digits/digits.tflite -o digits_int8.anne --classes 0,1,2,3,4,5,6,7,8,9
#   tools/run-on cortex-m0 examples/digits/digits.py digits.anne digits_int8.anne \
#       examples/digits/digits_test.jsonl examples/digits/digits_test_int8.jsonl
import gc
import json
import os
from array import array

import anne_net


def load(name):
    """The network, and what it needs in flash and RAM."""
    net = anne_net.load(name)   # (the first load also imports the board library's modules for these layers)
    net = None
    gc.collect()
    free = gc.mem_free()
    net = anne_net.load(name)
    gc.collect()
    print("\n%s: %s, %d bytes in flash; %d bytes of heap loaded from the file" % (
        name, net.dtype, os.stat(name)[6], free - gc.mem_free()))
    net.summary()
    m = net.memory()
    print("RAM when the weights stay in flash (frozen or ROMFS): the %d-byte activation arena" % m["arena"])
    return net


def run(net, int8):
    x = array("b" if int8 else "f", bytes(net.n_inputs * (1 if int8 else 4)))
    out = array("b" if int8 else "f", bytes(net.n_outputs * (1 if int8 else 4)))
    n = right = bad = 0
    worst = 0.0
    # a header line, then one held-out image a line
    with open("digits_test_int8.jsonl" if int8 else "digits_test.jsonl") as f:
        head = json.loads(f.readline())
        for _ in range(head["rows"]):
            row = json.loads(f.readline())
            src = row["x"]
            for j in range(len(src)):
                x[j] = src[j]
            net.predict_into(x, out)
            if int8:
                bad += list(out) != row["litert"]
            else:
                for j, k in enumerate(row["keras"]):
                    d = abs(out[j] - k)
                    worst = max(worst, d)
                    bad += d > 1e-5 + 1e-4 * abs(k)
            right += anne_net.argmax(out) == row["label"]
            n += 1
            if n <= 3:
                print("  image %d: a %d, read as %s" % (n, row["label"], net.classes[anne_net.argmax(out)]))
    print("%s: accuracy %.3f on %d held-out images (%s on the PC: %.3f on %d)" % (
        net.dtype, right / n, n, head["by"], head["accuracy"], head["of"]))
    if int8:
        print("int8: %d of %d outputs differ from LiteRT's" % (bad, n))
    else:
        print("float32: %d values beyond 1e-5 + 1e-4 relative of Keras; max |anne - keras| = %.2g" % (bad, worst))
    if bad:
        raise AssertionError("the board does not compute what the PC did")


found = [n for n in ("digits.anne", "digits_int8.anne") if n in os.listdir()]
if not found:
    raise OSError("no digits.anne or digits_int8.anne here: convert and copy them first")
for name in found:
    net = load(name)
    if net.classes is None:
        net.classes = [str(c) for c in range(10)]
    run(net, net.dtype == "int8")
    net = None
