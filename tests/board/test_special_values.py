# files:
# NaN and ±inf through the native kernels: anne.dense, anne.forward and
# anne.Plan, with the common activations (linear, relu, sigmoid: applied as
# each output is computed) and another one (elu: applied afterwards). The
# expected values come from MicroPython's own float arithmetic on the same
# inputs, so the IEEE rules (0 * inf = NaN, inf - inf = NaN, NaN spreads)
# are checked against the interpreter, not against the kernels' code.
# Runs on unix, the emulated Cortex-M3 and the emulated Cortex-M0.
import math
from array import array

import anne

INF = float("inf")
NAN = float("nan")
passed = failed = 0


def act_value(name, v):
    if name == "linear":
        return v
    if name == "relu":
        return v if (v != v or v > 0) else 0.0
    if name == "sigmoid":
        if v != v:
            return v
        if v >= 0:
            return 1.0 / (1.0 + math.exp(-v))
        return math.exp(v) / (1.0 + math.exp(v))
    if name == "elu":
        return v if (v != v or v > 0) else math.exp(v) - 1.0
    raise ValueError(name)


def expected(x, kernel, bias, units, name):
    out = []
    for j in range(units):
        acc = 0.0
        for i in range(len(x)):
            acc += x[i] * kernel[i * units + j]
        if bias is not None:
            acc += bias[j]
        # (The unix port computes in double: round to float32 as the board.)
        out.append(act_value(name, array("f", [acc])[0]))
    return out


def same(got, want):
    if want != want:
        return got != got
    if want in (INF, -INF):
        return got == want
    return abs(got - want) <= 1e-5 + 1e-5 * abs(want)


def check(label, got, want):
    global passed, failed
    bad = [j for j in range(len(want)) if not same(got[j], want[j])]
    if bad:
        failed += 1
        print("FAIL %s: got %r, expected %r" % (label, list(got), want))
    else:
        passed += 1


# (label, x, kernel (2 units), bias)
CASES = (
    ("NaN input", [1.0, NAN], [1.0, 2.0, 3.0, 4.0], [0.5, -0.5]),
    ("+inf input", [INF, 1.0], [1.0, -2.0, 3.0, 4.0], None),
    ("inf input, zero weight", [INF, 1.0], [0.0, 1.0, 3.0, 4.0], [0.0, 0.0]),
    ("zero input, inf weight in its row", [0.0, 2.0], [INF, 1.0, 3.0, 4.0], [0.1, 0.2]),
    ("zero input, NaN weight in its row", [-0.0, 2.0], [1.0, NAN, 3.0, 4.0], None),
    ("inf weight in one column", [1.0, 2.0], [1.0, 2.0, -INF, 4.0], [0.0, 1.0]),
    ("inf - inf in one column", [1.0, 1.0], [INF, 2.0, -INF, 4.0], None),
    ("NaN bias", [1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [NAN, 1.0]),
    ("inf bias", [1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [0.0, -INF]),
    ("overflow to inf", [3e38, 3e38], [1.0, 1.0, 1.0, -1.0], None),
    ("subnormal input", [1e-40, 1.0], [1.0, 2.0, 3.0, 4.0], [0.0, 0.0]),
)

for label, xv, kv, bv in CASES:
    x = array("f", xv)
    kernel = array("f", kv)
    bias = None if bv is None else array("f", bv)
    for name in ("linear", "relu", "sigmoid", "elu"):
        want = expected(x, kernel, bias, 2, name)
        out = array("f", [7.0, 7.0])
        anne.dense(x, kernel, bias, out, name)
        check("dense %s, %s" % (label, name), out, want)
        out2 = array("f", [7.0, 7.0])
        anne.Plan(((kernel, bias, name, None),))(x, out2)
        check("Plan %s, %s" % (label, name), out2, want)

# Two layers: the special values of the first reach the second.
x = array("f", [1.0, 2.0])
k1 = array("f", [1.0, INF, 3.0, 4.0])
k2 = array("f", [1.0, 0.0, 0.0, 1.0])
h = expected(x, k1, None, 2, "relu")
want = expected(h, k2, None, 2, "sigmoid")
out = array("f", [7.0, 7.0])
anne.forward(((k1, None, "relu", array("f", [0.0, 0.0])), (k2, None, "sigmoid", None)), x, out)
check("forward inf through two layers", out, want)

print("test_special_values: %d passed, %d failed" % (passed, failed))
if failed:
    raise SystemExit(1)
