# A REPL session as a script: explore a trained network on the board by
# changing activations and neuron counts, watch the accuracy, and train the
# changed network again right there, with Keras's compile() and fit().
#
#   tools/run-on cortex-m3 examples/tuning/tuning.py examples/iris/iris3.anne examples/iris/iris3.json examples/iris/iris_train.json
import json

import anne_net

with open("iris3.json") as f:
    ref = json.load(f)
X, y = ref["x"], ref["labels"]  # the 20 held-out rows
ref = None


def show(what):
    r = net.evaluate(X, y)
    print("%-44s accuracy %.2f  loss %.3f" % (what, r["accuracy"], r["loss"]))


net = anne_net.load("iris3.anne")
net.summary()
show("as trained in Keras (relu, softmax)")

# 1. Another activation in the hidden layer: takes effect at once.
for act in ("tanh", "sigmoid", "elu", "gelu", "leaky_relu", "linear"):
    net.layers[0].activation = act
    show("hidden activation %s" % act)
net.layers[0].set_activation("relu", negative_slope=0.1, max_value=6.0)
show("hidden relu(negative_slope=0.1, max_value=6)")
net.layers[0].activation = "relu"
show("back to relu")

# 2. Unknown names are refused and change nothing.
try:
    net.layers[0].activation = "relu7"
except ValueError as e:
    print("refused:", str(e)[:60], "...")

# 3. The output activation: softmax vs sparsemax vs log_softmax (same argmax).
for act in ("sparsemax", "log_softmax", "softmax"):
    net.layers[1].activation = act
    print("output %-12s" % act, " ".join("%.3f" % v for v in net.predict(X[0])))

# 4. Neuron counts: resizing re-initialises the changed layers (Keras's
#    glorot_uniform), so the accuracy drops to chance...
anne_net.seed(1)
net.resize(0, 4)
show("hidden layer resized to 4 neurons (untrained)")

# 5. ... until the network is trained again, on the board, as in Keras:
#    the 130 rows Keras trained the model on (standardized), 8 epochs.
with open("iris_train.json") as f:
    train = json.load(f)
net.compile(anne_net.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
history = net.fit(train["x"], train["labels"], batch_size=16, epochs=8)
train = None
show("4 neurons, trained on the board")
net.save("iris3_small.anne")
print("saved iris3_small.anne:", anne_net.load("iris3_small.anne"))

# 6. A layer can be kept as it is while the others train (Keras's trainable).
net.insert(1, anne_net.Dense(6, "tanh"))
show("extra Dense(6, tanh) inserted (untrained)")
net.layers[0].trainable = False
with open("iris_train.json") as f:
    train = json.load(f)
net.compile(anne_net.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
net.fit(train["x"], train["labels"], batch_size=16, epochs=8, verbose=0)
train = None
show("... trained, layer 0 frozen")
net.summary()
