# files: tests/board/boardcheck.py
# anne_fallback: hand-computed activation values, native-module-like errors,
# and (with the native module) every activation within 1e-6 of anne's.
import gc
import math
from array import array

import anne_net
from boardcheck import check, close, all_close, raises, report
from anne_net import Dense, Sequential

NAME = "test_net_fallback"


def test_backends_agree():
    # the same network on both backends: outputs within 1e-6
    anne_net.use_backend("native")
    anne_net.seed(11)
    net = Sequential(5)
    acts = (("selu", {}), ("elu", {"alpha": 0.7}), ("gelu", {"approximate": True}),
            ("squareplus", {"b": 2.0}), ("mish", {}), ("sparsemax", {}))
    for a, p in acts:
        net.add(Dense(6, a, **p))
    x = [0.3, -1.2, 2.0, 0.7, -0.1]
    yn = net.predict(x)
    check(net.backend == "native", "a network made on the native backend says %r" % net.backend)
    net.use_backend("python")
    check(net.backend == "python" and net.predict_into == net._predict_into, "net.use_backend('python')")
    yp = net.predict(x)
    check(all_close(yp, yn, 1e-6), "native %r vs python %r" % (yn, yp))
    anne_net.use_backend("python")
    check(Sequential(2).backend == "python", "the default backend applies to new networks")
    net.use_backend("native")
    check(list(net.predict(x)) == list(yn), "back on native: the same bits")
    import anne
    import anne_fallback
    import anne_ops
    # The Python mirrors of the native name table (id == index) agree with it.
    check(anne_fallback.ACTIVATIONS == anne.ACTIVATIONS, "anne_fallback.ACTIVATIONS differs from anne's")
    check(anne_net.ACTIVATIONS == anne.ACTIVATIONS[:len(anne_net.ACTIVATIONS)]
          and len(anne_net.ACTIVATIONS) == len(anne_ops.ACTIVATIONS), "anne_net.ACTIVATIONS differs from anne's ids")
    for name in anne.ACTIVATIONS:
        p = {"threshold": 0.5, "default_value": -1.0} if name == "threshold" else {}
        check(anne.Activation(name, **p).id == anne_fallback.Activation(name, **p).id, "%s: ids differ" % name)
    # every activation, element by element
    vals = [-7.0, -2.5, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.5, 7.0]
    for name in anne.ACTIVATIONS:
        p = {"threshold": 0.5, "default_value": -1.0} if name == "threshold" else {}
        a = array("f", vals + ([0.0] if name == "glu" and len(vals) % 2 else []))
        b = array("f", a)
        na = anne.activate(a, name, **p)
        nb = anne_fallback.activate(b, name, **p)
        ok = na == nb and all_close(b[:nb], a[:na], 1e-6)
        check(ok, "%s: native %r python %r" % (name, list(a[:na]), list(b[:nb])))


def test_fallback_hand_values():
    import anne_fallback as af
    e = math.exp
    table = (
        ("relu6", {}, 7.0, 6.0), ("hard_sigmoid", {}, 0.0, 0.5), ("hard_sigmoid", {}, 4.0, 1.0),
        ("softsign", {}, 1.0, 0.5), ("squareplus", {}, 0.0, 1.0), ("squareplus", {"b": 0.0}, -2.0, 0.0),
        ("sparse_plus", {}, 0.0, 0.25), ("sparse_sigmoid", {}, 0.0, 0.5), ("selu", {}, 1.0, 1.05070098),
        ("selu", {}, -1.0, 1.05070098 * 1.67326324 * (e(-1.0) - 1)), ("elu", {}, -1.0, e(-1.0) - 1),
        ("celu", {"alpha": 2.0}, -1.0, 2 * (e(-0.5) - 1)), ("exponential", {}, 1.0, e(1.0)),
        ("tanh_shrink", {}, 1.0, 1 - math.tanh(1.0)),
        ("threshold", {"threshold": 1.0, "default_value": -1.0}, 0.5, -1.0),
        ("hard_shrink", {}, 0.4, 0.0), ("hard_shrink", {}, 0.6, 0.6), ("soft_shrink", {}, 1.0, 0.5),
        ("soft_shrink", {}, -1.0, -0.5), ("log_sigmoid", {}, 0.0, -math.log(2)),
        ("softplus", {}, 0.0, math.log(2)), ("softplus", {}, 100.0, 100.0), ("mish", {}, 1.0, math.tanh(math.log(1 + e(1.0)))),
        ("silu", {}, 1.0, 1 / (1 + e(-1.0))), ("swish", {}, 1.0, 1 / (1 + e(-1.0))),
        ("gelu", {}, 1.0, 0.8413447460685429),
        ("gelu", {"approximate": True}, 1.0, 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * 1.044715))),
        ("hard_silu", {}, 1.0, 4 / 6), ("hard_swish", {}, 1.0, 4 / 6), ("hard_tanh", {}, 2.0, 1.0),
        ("leaky_relu", {}, -1.0, -0.2), ("leaky_relu", {"negative_slope": 0.01}, -1.0, -0.01),
        ("relu", {"negative_slope": 0.1, "threshold": -1.0}, -2.0, -0.1),
        ("relu", {"negative_slope": 0.1, "threshold": -1.0}, -0.5, -0.5),
        ("sigmoid", {}, -100.0, 0.0), ("exponential", {}, 100.0, float("inf")), ("tanh", {}, 0.5, math.tanh(0.5)),
    )
    for name, p, x, want in table:
        b = array("f", [x])
        af.activate(b, name, **p)
        check(close(b[0], want, 2e-6), "%s%r(%r) = %r, want %r" % (name, p, x, b[0], want))
    for name, x, want in (("log_softmax", [0.0, 0.0], [-math.log(2)] * 2), ("sparsemax", [1.0, 0.0], [1.0, 0.0]),
                          ("sparsemax", [0.5, 0.0], [0.75, 0.25]), ("softmax", [1000.0, 1000.0], [0.5, 0.5]),
                          ("glu", [2.0, 4.0, 0.0, 0.0], [1.0, 2.0])):
        b = array("f", x)
        n = af.activate(b, name)
        check(all_close(b[:n], want), "%s(%r) = %r" % (name, x, list(b[:n])))
    # errors as the native module
    check(raises(ValueError, af.Activation, "nope"), "unknown name")
    check(raises(ValueError, af.Activation, "relu", b=1.0), "param not taken")
    check(raises(ValueError, af.Activation, "squareplus", b=-1.0), "squareplus b < 0")
    check(raises(ValueError, af.Activation, "celu", alpha=0.0), "celu alpha 0")
    check(raises(ValueError, af.Activation, "elu", alpha=float("inf")), "non-finite param")
    check(raises(TypeError, af.Activation, "elu", alpha="x"), "param type")
    out = array("f", [0.0, 0.0])
    check(raises(TypeError, af.dense, [1.0], array("f", [1, 2]), None, out), "list x is a TypeError")
    check(raises(ValueError, af.dense, array("f", [1.0]), array("f", [1, 2, 3]), None, out), "kernel size")
    check(raises(ValueError, af.dense, array("f", [1.0]), array("f", [1, 2]), array("f", [1]), out), "bias size")
    check(raises(ValueError, af.activate, array("f", [1, 2, 3]), "glu"), "glu odd")
    check(raises(ValueError, af.activate, out, af.Activation("elu"), alpha=1.0), "params next to Activation")
    af.dense(array("f", [2.0]), bytes(array("f", [1.5, -1.0])), None, out, "relu")
    check(all_close(out, [3.0, 0.0]), "bytes kernel in the fallback")
    check(af.argmax(array("f", [1, 3, 3, 2])) == 1, "argmax first on ties")
    check(af.argmax(array("f", [float("nan"), 1, 2])) == 2, "argmax skips NaN")


def test_shared_messages():
    """Messages of the one table (ops/messages.json) as each backend prints
    them: the same text, hand-written here, and the same type."""
    import sys
    import anne_fallback
    from boardcheck import error_of
    x, out = array("f", [1.0, 2.0, 3.0]), array("f", [0.0, 0.0])
    # a 2 x 2 x 1 image, a 1 x 1 kernel of 2 filters: out 2 x 2 x 2
    spec = (anne_net.anne_ops.LAYER_CONV2D, 2, 2, 1, 1, 1, 1, 1, 0, 1, 1)
    conv = ((array("f", [1.0, 1.0]), None, "glu", None, spec),)
    cases = (
        (lambda m: m.dense(x, array("f", [0.5] * 5), None, out), ValueError,
         "kernel has 5 floats, expected len(x) * len(out) = 3 * 2 = 6"),
        (lambda m: m.dense(x, array("f", [0.5] * 6), None, out, "glu"), ValueError,
         "kernel has 6 floats, expected len(x) * len(out) = 3 * 4 = 12 (glu halves the units)"),
        (lambda m: m.Activation("squareplus", b=-1.0), ValueError, "squareplus needs b >= 0"),
        (lambda m: m.Activation("celu", alpha=0.0), ValueError, "celu needs alpha != 0"),
        (lambda m: m.forward(conv, array("f", [1.0, 2.0, 3.0, 4.0]), array("f", range(8))), ValueError,
         "layer 0: conv2d cannot take glu (it halves the filters)"),
        (lambda m: m.dense([1.0], x, None, out), TypeError,
         "x must be a float32 buffer (array('f'), bytearray), not list"),
        (lambda m: m.dense(array("f"), x, None, out), ValueError, "x is empty"),
        (lambda m: m.Activation("elu", alpha="a"), TypeError, "alpha must be a number, not str"),
    )
    mods = (("python", anne_fallback),) + ((("native", anne_net._native),) if anne_net._native else ())
    for name, m in mods:
        for call, t, want in cases:
            got = error_of(call, m)
            check(got == (t, want), "%s: %r, want %r" % (name, got, (t, want)))
    check("anne_msgs" not in sys.modules, "anne_msgs is let go after an error")


if anne_net._native is not None:
    print("%s test_backends_agree" % NAME)
    test_backends_agree()
else:
    print("%s: no native anne module: backend parity skipped" % NAME)
print("%s test_fallback_hand_values" % NAME)
test_fallback_hand_values()
print("%s test_shared_messages" % NAME)
test_shared_messages()
report(NAME)
