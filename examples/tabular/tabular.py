# Raw sensor readings in, classes out: a Keras model that starts with a
# Normalization layer (adapted on the raw data in Keras) takes the readings
# as they come; the converter folded the normalization into the first Dense.
# Then the same idea built at the REPL: a Normalization adapted on the board.
#
#   tools/run-on cortex-m3 examples/tabular/tabular.py tests/fixtures/models/norm_tabular.anne tests/fixtures/models/norm_tabular.json
import json

import anne_net
from anne_net import Dense, Input, Normalization, Sequential

net = anne_net.load("norm_tabular.anne")
net.summary()
with open("norm_tabular.json") as f:
    ref = json.load(f)
rows, keras = ref["x"], ref["y"]
ref = None
worst = 0.0
for x, want in zip(rows, keras):
    y = net.predict(x)
    worst = max(worst, max(abs(y[j] - want[j]) for j in range(len(want))))
print("raw reading %s -> %s" % (["%.3g" % v for v in rows[0]], ["%.3f" % v for v in net.predict(rows[0])]))
print("%d raw rows: classes %s; max |anne - keras| = %.2g" % (len(rows), net.classify(rows)[:10], worst))
if worst > 1e-5:
    raise AssertionError("the board does not predict what Keras predicts")

# On the board: a Normalization adapted on raw readings, in front of a new Dense.
anne_net.seed(1)
norm = Normalization()
net2 = Sequential([Input(5), norm, Dense(3, "softmax")])
norm.adapt(rows)
print("adapted on the board: mean %s" % ["%.3g" % v for v in norm.mean])
print("a normalized reading: %s" % ["%.3f" % v for v in Sequential([Input(5), Normalization(
    mean=norm.mean, variance=norm.variance)]).predict(rows[0])])
net2.summary()
