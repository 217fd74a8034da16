# files: tests/board/boardcheck.py
# Reading a network's outputs: anne_net.argmax and anne_net.top_k (issue 28:
# the examples called the private anne_net._anne.argmax), and the README's
# Window example, which picks the class with anne_net.argmax.
from array import array

import anne_net
from boardcheck import check, raises, report

nan = float("nan")
inf = float("inf")

for values in (array("f", [0.1, 0.7, 0.2]), [0.1, 0.7, 0.2], (0.1, 0.7, 0.2)):
    check(anne_net.argmax(values) == 1, "argmax of %r" % (values,))
check(anne_net.argmax([3, 5, 5, 1]) == 1, "argmax: the first on ties")
check(anne_net.argmax([nan, 1.0, nan, 2.0]) == 3, "argmax: NaN never wins")
check(anne_net.argmax([nan, nan]) == 0, "argmax: all NaN gives 0")
check(anne_net.argmax([-inf, -inf, -1e38]) == 2, "argmax of -inf and -1e38")
check(raises(ValueError, anne_net.argmax, []), "argmax of [] raises ValueError")

out = array("f", [0.1, 0.5, 0.05, 0.3, 0.05])
check(anne_net.top_k(out, 3) == [1, 3, 0], "top_k 3: %r" % (anne_net.top_k(out, 3),))
check(anne_net.top_k(out, 1) == [anne_net.argmax(out)], "top_k 1 is argmax")
check(anne_net.top_k(out) == [1, 3, 0], "top_k's default k is 3")
check(anne_net.top_k(out, 5) == [1, 3, 0, 2, 4], "top_k: ties keep the lower index first")
check(anne_net.top_k(out, 9) == [1, 3, 0, 2, 4], "top_k past the length gives every index")
check(anne_net.top_k(out, 0) == [], "top_k 0")
check(anne_net.top_k([nan, 2.0, nan, 1.0], 4) == [1, 3, 0, 2], "top_k: NaN last, in order")
check(raises(TypeError, anne_net.top_k, out, 1.5), "top_k with a float k")
check(raises(ValueError, anne_net.top_k, out, -1), "top_k with k < 0")

# The README's Window example, as written there (a 2-class network on
# 4 steps of 3 channels, every weight set so that class 1 wins).
net = anne_net.Sequential([anne_net.Input((4, 3)), anne_net.Flatten(), anne_net.Dense(2, "softmax")])
net.layers[1].set_weights([[[0.0, 1.0]] * 12, [0.0, 0.0]])
seen = []
samples = [(1.0, 1.0, 1.0)] * 10
w = anne_net.Window(net, hop=2)
for sample in samples:
    out = w.push(sample)
    if out is not None:
        seen.append(["still", "walking"][anne_net.argmax(out)])
check(seen == ["walking"] * 4, "Window and argmax gave %r" % (seen,))

report("net_outputs")
