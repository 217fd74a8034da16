# files: tests/board/boardcheck.py
# Bugs a new user hit and a reliability run found (issue "core v2"), each
# checked on both backends: the native `anne` module and the pure-Python
# anne_fallback, which must give the same answers and the same errors.
# Runs on unix, the emulated Cortex-M3 and the emulated Cortex-M0.
from array import array

import anne
import anne_fallback
import anne_net
from boardcheck import check, all_close, error_of, raises, report

BACKENDS = (("native", anne), ("python", anne_fallback))


for tag, mod in BACKENDS:
    # sparsemax's support sum overflowed after the shift: [inf, inf, inf].
    buf = array("f", [0.5, 0.2, 3e38])
    mod.activate(buf, "sparsemax")
    check(list(buf) == [0.0, 0.0, 1.0], "%s: sparsemax of [0.5, 0.2, 3e38] gave %r" % (tag, list(buf)))
    buf = array("f", [-3e38, 1.0, 1.5])
    mod.activate(buf, "sparsemax")
    check(all_close(list(buf), [0.0, 0.25, 0.75]), "%s: sparsemax of [-3e38, 1, 1.5] gave %r" % (tag, list(buf)))

    # relu with a negative max_value was accepted, then every call failed.
    t, msg = error_of(mod.Activation, "relu", max_value=-1.0)
    check(t is ValueError and "relu needs max_value >= 0" in msg, "%s: relu max_value=-1: %r %r" % (tag, t, msg))
    check(raises(ValueError, anne_net.Dense, 3, "relu", max_value=-0.5), "%s: Dense relu max_value<0" % tag)
    check(error_of(mod.Activation, "relu", max_value=0.0) == (None, None), "%s: relu max_value=0 is allowed" % tag)

    # An empty buffer (NULL data) raised RuntimeError in the native module.
    t, msg = error_of(mod.activate, array("f"), "softmax")
    check(t is None, "%s: activate of an empty array: %r %r" % (tag, t, msg))
    check(mod.activate(array("f"), "softmax") == 0, "%s: activate of nothing gives 0 outputs" % tag)

    # array('i') / array('H') were read as float32 bit patterns by the
    # python backend; the native one raised TypeError: same API, same error.
    for code in "iHbd":
        t, msg = error_of(mod.dense, array(code, [1, 2, 3]), array("f", [0.5] * 6), None, array("f", [0.0, 0.0]))
        check(t is TypeError and "typecode '%s'" % code in msg, "%s: x as array(%r): %r %r" % (tag, code, t, msg))
    t, msg = error_of(mod.argmax, "abcd")
    check(t is TypeError and "float32 buffer" in msg, "%s: argmax of a str: %r %r" % (tag, t, msg))

    # The version is a version, on both.
    check(mod.__version__ == anne_net.__version__ and mod.__version__.count(".") == 2
          and "_dot_" not in mod.__version__, "%s: __version__ %r" % (tag, mod.__version__))

# The firmware banner names MicroPython's version, not the project's commit.
import sys
v = sys.implementation.version
check("%d.%d.%d" % (v[0], v[1], v[2]) in sys.version, "sys.version %r lacks MicroPython's version" % sys.version)

report("test_regressions")
