# files: tests/board/boardcheck.py
# anne_net on the board: resize/insert/remove/set_weights keep shapes
# consistent, invalid calls leave the network unchanged, glorot init, seed().
import gc
import math
from array import array

import anne_net
from boardcheck import check, close, all_close, raises, report
from anne_net import Dense, Sequential

NAME = "test_net_edit"


def shapes(net):
    return [(L.n_in, L.units, len(L.kernel), None if L.bias is None else len(L.bias)) for L in net.layers]


def test_structure():
    anne_net.seed(7)
    net = Sequential(4)
    for u, a in ((8, "relu"), (6, "tanh"), (3, "softmax")):
        net.add(Dense(u, a))
    check(shapes(net) == [(4, 8, 32, 8), (8, 6, 48, 6), (6, 3, 18, 3)], "built shapes %r" % shapes(net))
    # glorot_uniform: |w| <= sqrt(6 / (fan_in + fan_out)); zero biases
    lim = math.sqrt(6 / (4 + 8))
    check(all(abs(v) <= lim + 1e-6 for v in net.layers[0].kernel), "glorot limit")
    check(all(v == 0 for v in net.layers[0].bias), "zero bias")
    check(max(abs(v) for v in net.layers[0].kernel) > lim / 4, "glorot not degenerate")
    k2 = net.layers[2].kernel
    net.resize(0, 5)
    check(shapes(net) == [(4, 5, 20, 5), (5, 6, 30, 6), (6, 3, 18, 3)], "resize shapes %r" % shapes(net))
    check(net.layers[2].kernel is k2, "resize keeps layer i + 2")
    check(len(net.predict([1, 2, 3, 4])) == 3, "predict after resize")
    # determinism of seed()
    anne_net.seed(3)
    net.resize(1, 4)
    first = list(net.layers[1].kernel)
    anne_net.seed(3)
    net.resize(1, 4)
    check(list(net.layers[1].kernel) == first, "seed() makes resize deterministic")
    check(shapes(net)[2] == (4, 3, 12, 3), "resize re-initialises the next layer")
    # invalid calls leave everything as it was
    before = shapes(net)
    kernels = [L.kernel for L in net.layers]
    for fn, args in ((net.resize, (0, 0)), (net.resize, (0, 70000)), (net.resize, (3, 2)),
                     (net.insert, (9, Dense(2))), (net.remove, (5,)),
                     (net.layers[0].set_weights, ([[1, 2]], [0] * 5)),
                     (net.layers[0].set_weights, ([0.0] * 19, [0] * 5)),
                     (net.layers[0].set_weights, ([0.0] * 20, [0] * 4)),
                     (net.layers[0].set_weights, ([0.0] * 20, None)),
                     (net.set_weights, ([[0.0] * 5] * 4,)),
                     (net.layers[1].set_activation, ("glu",))):
        check(raises(ValueError, fn, *args), "%s%r raises ValueError" % (fn, args))
        check(shapes(net) == before and all(a is b.kernel for a, b in zip(kernels, net.layers)),
              "unchanged after %r" % (args,))
    # insert / remove
    net.insert(1, Dense(7, "sigmoid"))
    check([L.units for L in net.layers] == [5, 7, 4, 3], "insert units")
    check(shapes(net)[2] == (7, 4, 28, 4), "insert re-initialises the next layer")
    check(len(net.predict([1, 2, 3, 4])) == 3, "predict after insert")
    k0 = net.layers[0].kernel
    removed = net.remove(1)
    check(removed.units == 7 and [L.units for L in net.layers] == [5, 4, 3], "remove")
    check(shapes(net)[1] == (5, 4, 20, 4) and net.layers[0].kernel is k0, "remove shapes")
    net.insert(3, Dense(2, "softmax"))  # append at the end
    check(net.n_outputs == 2 and len(net.predict([1, 2, 3, 4])) == 2, "insert at end")
    one = Sequential(3)
    one.add(Dense(2))
    check(raises(ValueError, one.remove, 0), "cannot remove the only layer")
    # net.set_weights / get_weights round trip (Keras layout, nested lists)
    w = net.get_weights()
    check(len(w) == 8 and len(w[0]) == 4 and len(w[0][0]) == 5, "get_weights shapes")
    x = [0.5, -1.0, 2.0, 0.25]
    y = net.predict(x)
    net.resize(0, 5)
    net.set_weights(w)
    check(all_close(net.predict(x), y, 1e-6), "set_weights restores predictions")
    # a layer's own weights are kept when it joins a network and they fit
    d = Dense(2, "linear")
    d.set_weights([[1, 0], [0, 1], [1, 1]], [0, 0])
    s = Sequential(3, [d])
    check(all_close(s.predict([1, 2, 3]), [4, 5]), "Dense with weights joins a net")
    check(raises(ValueError, Sequential(4).add, d), "a layer already in a network cannot join another")


backends = ["python"] + (["native"] if anne_net._native is not None else [])
print("%s: backends %s" % (NAME, backends))
for backend in backends:
    anne_net.use_backend(backend)
    for test in (test_structure,):
        print("%s [%s] %s" % (NAME, backend, test.__name__))
        test()
        gc.collect()
report(NAME)
