# files: tests/board/boardcheck.py
# Bugs a new user hit and a reliability run found (issue "core v2"), each
# checked on both backends: the native `anne` module and the pure-Python
# anne_fallback, which must give the same answers and the same errors.
# Runs on unix, the emulated Cortex-M3 and the emulated Cortex-M0.
from array import array

import anne
import anne_fallback
import anne_net
from boardcheck import check, all_close, raises, report

BACKENDS = (("native", anne), ("python", anne_fallback))


def error_of(fn, *args, **kw):
    """(exception type, message) of fn(*args), or (None, None)."""
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        return type(e), str(e)
    return None, None


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

report("test_regressions")
