# The 3-class Iris model in int8 (docs/int8.md): quantized on the PC
# (anne-convert --quantize int8 --calibration iris_train.json) and on the
# board (net.quantize), both with the training rows as calibration data.
#
#   tools/run-on cortex-m3 examples/iris/iris3_int8.py build/demo/iris3.anne build/demo/iris3_int8.anne \
#       examples/iris/iris3.json examples/iris/iris_train.json
import json

import anne_net

with open("iris3.json") as f:
    ref = json.load(f)
with open("iris_train.json") as f:
    train = json.load(f)

net = anne_net.load("iris3.anne")            # float32
pc = anne_net.load("iris3_int8.anne")         # int8, quantized on the PC
board = net.quantize(train["x"])              # int8, quantized here
board.summary()
for name, n in (("float32", net), ("int8 (PC)", pc), ("int8 (board)", board)):
    r = n.evaluate(ref["x"], ref["labels"])
    print("%-13s accuracy %.2f on the 20 held-out rows" % (name, r["accuracy"]))
same = sum(a == b for a, b in zip(pc.classify(ref["x"]), board.classify(ref["x"])))
print("the two int8 networks agree on %d of %d rows" % (same, len(ref["x"])))
