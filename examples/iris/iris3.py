# The 3-class Iris model (4 -> Dense(8, relu) -> Dense(3, softmax)), trained
# in Keras by tools/make_model_fixtures.py, on its 20 held-out rows.
#
#   tools/run-on cortex-m3 examples/iris/iris3.py examples/iris/iris3.anne examples/iris/iris3.json
import json

import anne_net

with open("iris3.json") as f:
    ref = json.load(f)
net = anne_net.load("iris3.anne")
net.summary()

# raw measurements (cm) -> the training set's standardization -> the net
mean, std = ref["scaler"]["mean"], ref["scaler"]["std"]
classes = net.classes  # stored in the file (anne_convert.py --classes)


def classify_flower(cm):
    x = [(cm[i] - mean[i]) / std[i] for i in range(4)]
    p = net.predict(x)
    return classes[anne_net.argmax(p)], p


for cm, label in zip(ref["x_raw"][:5], ref["labels"]):
    name, p = classify_flower(cm)
    print("%s -> %-10s (%s) true %s" % (cm, name, " ".join("%.3f" % v for v in p), classes[label]))

r = net.evaluate(ref["x"], ref["labels"])
print("accuracy %.2f (Keras %.2f), categorical cross-entropy %.4f" % (r["accuracy"], ref["accuracy"], r["loss"]))
# classify() gives the class names the file stores
m = anne_net.confusion_matrix(ref["labels"], net.classify(ref["x"]), classes=classes)
print("confusion (rows true, columns predicted):")
for c in range(3):
    print("  %-10s %s" % (classes[c], " ".join("%3d" % v for v in m[c])))
