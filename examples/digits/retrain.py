# The exploration workflow on a CNN, all on the board: load the digits
# model (Keras-trained, examples/digits/make_digits.py), make its second
# Conv2D narrower (16 -> 8 filters: it and the Dense layer after it get new
# random weights, and the accuracy drops to chance), train the changed
# network right there with Keras's compile()/fit() through both Conv2D
# layers, the pooling and the Flatten, watch the accuracy come back, save.
#
#   python3 tools/anne_convert.py examples/digits/digits.keras -o digits.anne --classes 0,1,2,3,4,5,6,7,8,9
#   tools/run-on cortex-m4f examples/digits/retrain.py digits.anne \
#       examples/digits/digits_train.jsonl examples/digits/digits_test.jsonl
import gc
import json
from array import array

import anne_net


def rows(path):
    """A header line, then one image a line: its 64 pixels (0..16) and label."""
    xs, ys = [], []
    with open(path) as f:
        head = json.loads(f.readline())
        for _ in range(head["rows"]):
            row = json.loads(f.readline())
            xs.append(array("f", row["x"]))
            ys.append(row["label"])
    return xs, ys


net = anne_net.load("digits.anne")
x_fit, y_fit = rows("digits_train.jsonl")
x_val, y_val = rows("digits_test.jsonl")
gc.collect()
net.compile(anne_net.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
print("Keras's model:    accuracy %.3f on %d held-out images" % (net.evaluate(x_val, y_val)["accuracy"], len(x_val)))

anne_net.seed(1)
conv = net.layers[3]
print("changing", conv)
conv.filters = 8    # 16 -> 8 filters: this layer and the Dense after it get new weights
print("filters 16 -> 8:  accuracy %.3f" % net.evaluate(x_val, y_val)["accuracy"])
print("training memory: %d bytes" % net.training_memory(16))
history = net.fit(x_fit, y_fit, batch_size=16, epochs=12, validation_data=(x_val, y_val), verbose=1)
acc = history.history["val_accuracy"][-1]
print("retrained:        accuracy %.3f (%d training images on the board)" % (acc, len(x_fit)))
if acc < 0.85:
    raise AssertionError("the accuracy did not come back")
net.save("digits_narrow.anne")
back = anne_net.load("digits_narrow.anne")
print("saved and loaded: accuracy %.3f" % back.evaluate(x_val, y_val)["accuracy"])
net.summary()
