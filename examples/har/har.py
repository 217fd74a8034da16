# Human activity from a 3-axis accelerometer, sample by sample: a Conv1D
# network trained in Keras (examples/har/make_har.py) runs on the last 32
# samples every 8 samples, through anne_net.Window, allocation-free.
#
#   tools/run-on cortex-m3 examples/har/har.py examples/har/har.anne examples/har/har_stream.json
import gc
import json

import anne_net

net = anne_net.load("har.anne")
net.summary()
with open("har_stream.json") as f:
    rec = json.load(f)
samples, truth, keras = rec["samples"], rec["truth"], rec["keras"]
rec = None
gc.collect()


w = anne_net.Window(net, hop=8)
print("window: %d steps x %d channels, every %d samples" % (w.steps, w.channels, w.hop))
worst = 0.0
agree = right = n = 0
last = None
for i, s in enumerate(samples):
    out = w.push(s)                 # None until a window is due
    if out is None:
        continue
    want = keras[n]
    for j in range(len(out)):
        worst = max(worst, abs(out[j] - want[j]))
    k = anne_net.argmax(out)
    agree += k == anne_net.argmax(want)
    right += k == truth[i]
    n += 1
    if net.classes[k] != last:
        last = net.classes[k]
        print("t = %5.2f s  %-8s (p = %.3f)" % ((i + 1) / 25, last, out[k]))
print("%d windows: %d as Keras, %d right; max |anne - keras| = %.2g" % (n, agree, right, worst))
if agree != n or worst > 1e-5:
    raise AssertionError("the board does not predict what Keras predicts")
