# files:
# Every bad call into the native `anne` module must raise the right exception
# with a message naming what was wrong, leave `out` untouched, and never crash
# the board. Runs on unix, the emulated Cortex-M3 and the emulated Cortex-M0.
import gc
from array import array

import anne

passed = failed = 0


def check(name, exc_type, fragment, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        msg = str(e)
        if type(e) is exc_type and fragment in msg:
            passed += 1
            return
        print("FAIL", name, ": got", type(e).__name__, repr(msg), "expected", exc_type.__name__, repr(fragment))
        failed += 1
        return
    print("FAIL", name, ": no exception, expected", exc_type.__name__, repr(fragment))
    failed += 1


x = array("f", [1.0, 2.0, 3.0])
k = array("f", [0.5] * 6)  # 3 inputs x 2 units
b = array("f", [0.25, -0.25])
out = array("f", [7.0, 7.0])

CASES = [
    ("x is a list", TypeError, "x must be a float32 buffer",
     lambda: anne.dense([1.0, 2.0, 3.0], k, b, out)),
    ("x is array('d')", TypeError, "typecode 'd'",
     lambda: anne.dense(array("d", [1, 2, 3]), k, b, out)),
    ("x is array('i')", TypeError, "typecode 'i'",
     lambda: anne.dense(array("i", [1, 2, 3]), k, b, out)),
    ("kernel is a tuple", TypeError, "kernel must be a float32 buffer",
     lambda: anne.dense(x, (0.5,) * 6, b, out)),
    ("kernel too short", ValueError, "kernel has 5 floats, expected len(x) * len(out) = 3 * 2 = 6",
     lambda: anne.dense(x, array("f", [0.5] * 5), b, out)),
    ("kernel too long", ValueError, "kernel has 9 floats",
     lambda: anne.dense(x, array("f", [0.5] * 9), b, out)),
    ("bias too short", ValueError, "bias has 1 floats, expected 2",
     lambda: anne.dense(x, k, array("f", [1.0]), out)),
    ("bias is an int", TypeError, "bias must be a float32 buffer",
     lambda: anne.dense(x, k, 3, out)),
    ("out is read-only bytes", TypeError, "out must be a writable float32 buffer",
     lambda: anne.dense(x, k, b, bytes(8))),
    ("out is empty", ValueError, "out is empty",
     lambda: anne.dense(x, k, b, array("f"))),
    ("x is empty", ValueError, "x is empty",
     lambda: anne.dense(array("f"), k, b, out)),
    ("out is x", ValueError, "must not share memory",
     lambda: anne.dense(x, array("f", [1.0] * 9), None, x)),
    ("bytearray of 6 bytes", ValueError, "6 bytes, not a whole number of float32",
     lambda: anne.dense(bytearray(6), k, b, out)),
    ("misaligned memoryview", ValueError, "not 4-byte aligned",
     lambda: anne.dense(memoryview(bytearray(16))[1:13], k, b, out)),
    ("unknown activation", ValueError, "unknown activation 'rleu'; expected one of: linear, relu,",
     lambda: anne.dense(x, k, b, out, "rleu")),
    ("activation is an int", TypeError, "activation must be a str",
     lambda: anne.dense(x, k, b, out, 3)),
    ("activation given twice", TypeError, "activation given twice",
     lambda: anne.dense(x, k, b, out, "relu", activation="tanh")),
    ("unknown parameter", ValueError, "unknown parameter 'slope'; valid parameters: negative_slope",
     lambda: anne.dense(x, k, b, out, "leaky_relu", slope=0.1)),
    ("parameter of another activation", ValueError, "activation 'sigmoid' takes no parameter 'alpha'",
     lambda: anne.dense(x, k, b, out, "sigmoid", alpha=0.1)),
    ("NaN parameter", ValueError, "negative_slope must be finite",
     lambda: anne.dense(x, k, b, out, "leaky_relu", negative_slope=float("nan"))),
    ("inf parameter", ValueError, "alpha must be finite",
     lambda: anne.dense(x, k, b, out, "elu", alpha=float("inf"))),
    ("parameter too large for float32", ValueError, "threshold must be finite",
     lambda: anne.dense(x, k, b, out, "hard_shrink", threshold=1e39)),
    ("str parameter", TypeError, "alpha must be a number",
     lambda: anne.dense(x, k, b, out, "elu", alpha="1")),
    ("threshold without its parameters", ValueError, "activation 'threshold' needs default_value=",
     lambda: anne.dense(x, k, b, out, "threshold", threshold=0.5)),
    ("squareplus b < 0", ValueError, "squareplus needs b >= 0",
     lambda: anne.dense(x, k, b, out, "squareplus", b=-1)),
    ("relu max_value < 0", ValueError, "relu needs max_value >= 0",
     lambda: anne.Activation("relu", max_value=-1)),
    ("celu alpha 0", ValueError, "celu needs alpha != 0",
     lambda: anne.dense(x, k, b, out, "celu", alpha=0)),
    ("glu kernel for len(out) units", ValueError, "glu halves the units",
     lambda: anne.dense(x, k, b, out, "glu")),
    ("three positional arguments", TypeError, "takes 4 or 5 positional arguments",
     lambda: anne.dense(x, k, b)),
    ("params next to an Activation", ValueError, "parameters go into Activation",
     lambda: anne.dense(x, k, b, out, anne.Activation("elu"), alpha=2.0)),
    ("Activation of unknown name", ValueError, "unknown activation 'gelu2'",
     lambda: anne.Activation("gelu2")),
    ("Activation with a bad parameter", ValueError, "takes no parameter 'b'",
     lambda: anne.Activation("relu", b=1.0)),
    ("activate on odd glu", ValueError, "glu needs an even number of values, got 3",
     lambda: anne.activate(array("f", [1, 2, 3]), "glu")),
    ("activate on a list", TypeError, "buf must be a float32 buffer",
     lambda: anne.activate([1.0, 2.0], "relu")),
    ("activate on None", TypeError, "buf must be a float32 buffer",
     lambda: anne.activate(None, "relu")),
    ("activate on bytes", TypeError, "buf must be a writable float32 buffer",
     lambda: anne.activate(b"\x00" * 8, "relu")),
    ("activate with unknown name", ValueError, "unknown activation 'Relu'",
     lambda: anne.activate(array("f", [1.0]), "Relu")),
    ("argmax of empty", ValueError, "argmax of an empty buffer",
     lambda: anne.argmax(array("f"))),
    ("argmax of a list", TypeError, "buf must be a float32 buffer",
     lambda: anne.argmax([1.0, 2.0])),
    ("argmax of array('h')", TypeError, "typecode 'h'",
     lambda: anne.argmax(array("h", [1, 2]))),
    ("forward with a dict of layers", TypeError, "layers: a tuple of",
     lambda: anne.forward({}, x, out)),
    ("forward with no layers", ValueError, "layers is empty",
     lambda: anne.forward((), x, out)),
    ("forward with a 3-item layer", TypeError, "layer 0 must be (kernel, bias, activation, buf[, spec]), got 3 items",
     lambda: anne.forward(((k, b, "relu"),), x, out)),
    ("forward with a list as layer", TypeError, "layer 0 is not a tuple",
     lambda: anne.forward(([k, b, "relu", None],), x, out)),
    ("forward whose layers do not chain", ValueError, "out has 2 floats; the network gives 3",
     lambda: anne.forward(((k, b, "relu", array("f", [0.0, 0.0])), (k, b, "relu", None)), x, out)),
    ("forward with an unknown activation", ValueError, "unknown activation 'relu2'",
     lambda: anne.forward(((k, b, "relu2", None),), x, out)),
    ("forward writing into its input", ValueError, "layer 0: its output buffer shares memory",
     lambda: anne.forward(((array("f", [1.0] * 9), None, "linear", None),), x, x)),
    ("Plan of a list", TypeError, "layers: a tuple of",
     lambda: anne.Plan([(k, b, "relu", None)])),
    ("Plan of no layers", ValueError, "layers is empty",
     lambda: anne.Plan(())),
    ("Plan with a 3-item layer", TypeError, "layer 0 must be (kernel, bias, activation, buf[, spec]), got 3 items",
     lambda: anne.Plan(((k, b, "relu"),))),
    ("Plan with an unknown activation", ValueError, "unknown activation 'relu2'",
     lambda: anne.Plan(((k, b, "relu2", None),))),
    ("Plan with a second argument", TypeError, "takes 1 positional arguments but 2 were given",
     lambda: anne.Plan(((k, b, "relu", None),), [True])),
    ("Plan called with x too long", ValueError, "x has 4 values; layer 0's kernel (6 floats, 2 units) takes 3",
     lambda: anne.Plan(((k, b, "relu", None),))(array("f", [1.0, 2.0, 3.0, 4.0]), out)),
    ("Plan called with out too long", ValueError, "out has 3 floats; the network gives 2",
     lambda: anne.Plan(((k, b, "relu", None),))(x, array("f", [0.0] * 3))),
    ("Plan whose hidden buf is short", ValueError, "layer 0: buf has 1 floats; the layer gives 2",
     lambda: anne.Plan(((k, b, "relu", array("f", [0.0])), (array("f", [1.0] * 4), None, "linear", None)))(x, out)),
    ("Plan with an empty bias", ValueError, "layer 0: bias has 0 floats, expected 2",
     lambda: anne.Plan(((k, array("f"), "relu", None),))(x, out)),
    ("forward with an empty bytearray bias", ValueError, "layer 0: bias has 0 floats, expected 2",
     lambda: anne.forward(((k, bytearray(), "relu", None),), x, out)),
    ("dense with an empty bias", ValueError, "bias has 0 floats, expected 2",
     lambda: anne.dense(x, k, array("f"), out)),
    ("dense with a str as x", TypeError, "x must be a float32 buffer",
     lambda: anne.dense("abcdefghijkl", k, b, out)),
    ("forward with a str as kernel", TypeError, "kernel must be a float32 buffer",
     lambda: anne.forward((("abcdefghijklmnopqrstuvwx", b, "relu", None),), x, out)),
    ("Plan with glu over odd units", ValueError, "layer 0: glu needs an even number of units, got 3",
     lambda: anne.Plan(((array("f", [1.0] * 9), None, "glu", None),))(x, array("f", [0.0]))),
    ("Plan called with read-only out", TypeError, "out must be a writable float32 buffer",
     lambda: anne.Plan(((k, b, "relu", None),))(x, bytes(8))),
    ("Plan called with one argument", TypeError, "takes 2 positional arguments",
     lambda: anne.Plan(((k, b, "relu", None),))(x)),
    ("Plan whose layers do not chain", ValueError, "out has 2 floats; the network gives 3",
     lambda: anne.Plan(((k, b, "relu", array("f", [0.0, 0.0])), (k, b, "relu", None)))(x, out)),
    ("Plan writing into its input", ValueError, "layer 0: its output buffer shares memory",
     lambda: anne.Plan(((array("f", [1.0] * 9), None, "linear", None),))(x, x)),
]

for name, exc_type, fragment, fn in CASES:
    check(name, exc_type, fragment, fn)
    # A refused call never writes to out.
    if out[0] != 7.0 or out[1] != 7.0:
        print("FAIL", name, ": out was modified:", list(out))
        failed += 1
        out[0] = out[1] = 7.0
    gc.collect()

# The same module still works after all of that.
anne.dense(x, k, b, out, "relu")
expect = [0.5 * 6 + 0.25, 0.5 * 6 - 0.25]
if list(out) == expect:
    passed += 1
else:
    print("FAIL dense after the error table:", list(out), "expected", expect)
    failed += 1

# forward() gives the same bits as the dense() calls it stands for.
k2 = array("f", [1.0, -2.0, 0.5, 0.25])  # 2 inputs x 2 units
h = array("f", [0.0, 0.0])
y1 = array("f", [0.0, 0.0])
anne.dense(x, k, b, h, "tanh")
anne.dense(h, k2, None, y1, "softmax")
y2 = array("f", [0.0, 0.0])
act = anne.Activation("tanh")
got = anne.forward(((k, b, act, array("f", [0.0, 0.0])), (k2, None, "softmax", None)), x, y2)
if got is y2 and bytes(y1) == bytes(y2):
    passed += 1
else:
    print("FAIL forward", list(y2), "differs from dense calls", list(y1))
    failed += 1

# A Plan gives the same bits as forward(); after its buffers change size it
# refuses, it does not crash.
layers = ((k, b, act, array("f", [0.0, 0.0])), (k2, None, "softmax", None))
plan = anne.Plan(layers)
y3 = array("f", [0.0, 0.0])
if plan(x, y3) is y3 and bytes(y3) == bytes(y2):
    passed += 1
else:
    print("FAIL Plan", list(y3), "differs from forward", list(y2))
    failed += 1
k_grow = array("f", k)
grown = anne.Plan(((k_grow, b, "relu", None),))
grown(x, out)
for _ in range(40):
    k_grow.append(1.0)  # the array moves: the plan reads its new address
check("Plan after its kernel grew", ValueError, "kernel (46 floats, 2 units) takes 23", lambda: grown(x, out))
out[0] = out[1] = 7.0

# Deep Python recursion ending in a kernel call: MicroPython's RecursionError
# (a RuntimeError), never a C stack overflow.
big_x = array("f", [0.5] * 64)
big_k = array("f", [0.25] * (64 * 8))
big_out = array("f", [0.0] * 8)


big_plan = anne.Plan(((big_k, None, "relu", None),))


def deep(n, call):
    if n == 0:
        call()
        return 0
    return deep(n - 1, call) + 1


for what, call in (("dense", lambda: anne.dense(big_x, big_k, None, big_out, "relu")),
                   ("Plan", lambda: big_plan(big_x, big_out))):
    depth = 0
    try:
        while True:
            depth += 16
            deep(depth, call)
    except RuntimeError as e:
        if "recursion" in str(e):
            passed += 1
        else:
            print("FAIL deep recursion into", what, ": unexpected", repr(e))
            failed += 1
    print("recursion limit reached at depth", depth, "calling", what)

print("cases:", len(CASES))
print("test_bad_input: %d passed, %d failed" % (passed, failed))
if failed:
    raise SystemExit(1)
