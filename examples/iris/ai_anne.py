# AI-ANNE's two Iris networks (arXiv 2501.03256), run with the activations
# Keras trained them with. Keras's own accuracy for both is 0.90, confusion
# [[8, 2], [0, 10]] (the paper's 95 % came from mismatched activations).
#
#   tools/run-on cortex-m3 examples/iris/ai_anne.py examples/iris/ai_anne_8.anne examples/iris/ai_anne_6.anne examples/iris/ai_anne_8.json
import anne_net

# AI-ANNE's 20 standardized test rows (versicolor = 0, virginica = 1)
with open("ai_anne_8.json") as f:
    import json
    ref = json.load(f)
X, labels = ref["x"], ref["labels"]
ref = None

print("anne_net backend:", anne_net.BACKEND)
for name in ("ai_anne_8", "ai_anne_6"):
    net = anne_net.load(name + ".anne")
    print()
    net.summary()
    preds = net.classify(X)  # one sigmoid output: class 1 if > 0.5; the file's class names
    print("outputs:", " ".join("%.3f" % net.predict(x)[0] for x in X))
    print("predicted:", " ".join(str(net.classes.index(p)) for p in preds))
    print("true:     ", " ".join(str(t) for t in labels))
    r = net.evaluate(X, labels)
    print("%s: accuracy %.2f, binary cross-entropy %.4f (Keras: 0.90)" % (name, r["accuracy"], r["loss"]))
    classes = net.classes  # stored in the file (anne_convert.py --classes)
    m = anne_net.confusion_matrix(labels, preds, classes=classes)
    print("confusion (rows true, columns predicted) %s:" % "/".join(classes))
    for c in range(2):
        print("  %-10s %3d %3d" % (classes[c], m[c][0], m[c][1]))
