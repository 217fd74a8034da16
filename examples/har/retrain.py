# The exploration workflow on a Conv1D network, all on the board: load the
# human-activity model (Keras-trained), make its first Conv1D narrower (new
# random weights: the accuracy drops), train the changed network right there
# with Keras's compile()/fit() through both Conv1D layers and the poolings,
# and watch the accuracy come back.
#
#   tools/run-on cortex-m3 examples/har/retrain.py examples/har/har.anne examples/har/har_stream.json
import gc
import json
from array import array

import anne_net

net = anne_net.load("har.anne")
with open("har_stream.json") as f:
    rec = json.load(f)
samples, truth = rec["samples"], rec["truth"]
rec = None
gc.collect()

# Windows of the stream (the model's 32 steps x 3 axes, every 4 samples),
# labelled with the activity at their last sample; even ones to train on,
# odd ones to check.
steps = net.layers[0].input_shape[0]
xs, ys = [], []
for end in range(steps, len(samples) + 1, 4):
    xs.append(array("f", [v for s in samples[end - steps:end] for v in s]))
    ys.append(truth[end - 1])
samples = truth = None
gc.collect()
x_fit, y_fit, x_val, y_val = xs[::2], ys[::2], xs[1::2], ys[1::2]
net.compile(anne_net.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
print("Keras's model:   accuracy %.3f on %d held-out windows" % (net.evaluate(x_val, y_val)["accuracy"], len(x_val)))

anne_net.seed(1)
net.layers[0].filters = 4  # 8 -> 4 filters: this layer and the next get new weights
print("filters 8 -> 4:  accuracy %.3f" % net.evaluate(x_val, y_val)["accuracy"])
print("training memory: %d bytes" % net.training_memory(8))
history = net.fit(x_fit, y_fit, batch_size=8, epochs=12, validation_data=(x_val, y_val), verbose=1)
acc = history.history["val_accuracy"][-1]
print("retrained:       accuracy %.3f" % acc)
if acc < 0.85:
    raise AssertionError("the accuracy did not come back")
