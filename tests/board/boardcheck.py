# Shared by the tests/board scripts (uploaded next to them): counts checks
# and prints the summary line that tests/run_board_tests.py reads.

import gc
import math
from array import array

_count = [0, 0]


def check(cond, what):
    if cond:
        _count[0] += 1
    else:
        _count[1] += 1
        print("FAIL:", what)


def close(a, b, tol=1e-5):
    return a == b or abs(a - b) <= tol + tol * abs(b)


def all_close(got, want, tol=1e-5):
    return len(got) == len(want) and all(close(got[i], want[i], tol) for i in range(len(want)))


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc:
        return True
    except Exception as e:
        print("  (raised %r instead of %s)" % (e, exc.__name__))
        return False
    return False


def error_of(fn, *args, **kw):
    """(exception type, message) of fn(*args, **kw), or (None, None)."""
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        return type(e), str(e)
    return None, None


def refused(exc, fragment, fn, *args, **kw):
    """True if fn(*args, **kw) raises exactly exc with fragment in its
    message (else prints what it got)."""
    t, msg = error_of(fn, *args, **kw)
    ok = t is exc and fragment in msg
    if not ok:
        print("  got %r %r, expected %s %r" % (t, msg, exc.__name__, fragment))
    return ok


def kept(f):
    """Bytes of GC heap that f() allocates and keeps. (In a function of its
    own: its frame starts zeroed, so that no stale pointer on the stack
    keeps garbage alive for one measurement and not the other.)"""
    gc.collect()
    before = gc.mem_free()
    f()
    gc.collect()
    return before - gc.mem_free()


def allocated(f):
    """Bytes of GC heap that f() allocates (the collector off meanwhile)."""
    gc.collect()
    gc.disable()
    before = gc.mem_free()
    f()
    used = before - gc.mem_free()
    gc.enable()
    return used


def report(name):
    """Prints `name: N passed, M failed`; raises if anything failed."""
    print("%s: %d passed, %d failed" % (name, _count[0], _count[1]))
    if _count[1]:
        raise AssertionError("%s: %d failed" % (name, _count[1]))


# -- shared by the 2-D and graph tests --------------------------------------

def keras_close(got, want):
    """(every value within 1e-5 + 1e-4 * |want| of Keras's, the worst error
    as a fraction of that tolerance)."""
    ok, worst = len(got) == len(want), 0.0
    for j in range(min(len(got), len(want))):
        tol = 1e-5 + 1e-4 * abs(want[j])
        err = abs(got[j] - want[j])
        worst = max(worst, err / tol)
        ok = ok and err <= tol
    return ok, worst


def image(h, w, c, seed=1):
    """An h x w x c input of float32 values in -1..1."""
    return array("f", [math.sin(0.37 * i + seed) for i in range(h * w * c)])


def axis(o, stride, dil, pad, size, k):
    """The (tap, input position) pairs of output position o along one axis
    of a window (padding pad before), those inside the input."""
    return [(t, o * stride - pad + t * dil) for t in range(k) if 0 <= o * stride - pad + t * dil < size]


def pad_before(size, window, stride, same):
    """(output positions, padding before) along one axis, as Keras's
    valid and same paddings give them."""
    if not same:
        return (size - window) // stride + 1, 0
    n = -(-size // stride)
    return n, max((n - 1) * stride + window - size, 0) // 2


def _after(f, path, marker):
    """Reads f up to marker; returns what was read after it."""
    buf = ""
    while True:
        chunk = f.read(256)
        if not chunk:
            raise ValueError("%s: no %s" % (path, marker))
        buf += chunk
        i = buf.find(marker)
        if i >= 0:
            return buf[i + len(marker):]
        buf = buf[-len(marker):]


def json_last(path, key):
    """The value of a fixture's last top-level key, parsed alone."""
    import json
    with open(path) as f:
        rest = _after(f, path, '"%s":' % key) + f.read()
    return json.loads(rest.rstrip()[:-1])


def json_rows(path, key):
    """The rows of a fixture's top-level list of number lists (e.g. "x"),
    each as an array('f'), the numbers parsed one at a time from small
    chunks: the whole file parsed at once (boxed floats), or a row's text,
    does not fit the stock Cortex-M0's heap next to the native module. The
    key must appear once, before its list."""
    marker = '"%s":' % key
    with open(path) as f:
        buf = _after(f, path, marker)
        depth, token, row = 0, "", None
        while True:
            for ch in buf:
                if ch == "[":
                    depth += 1
                    row = array("f") if depth == 2 else row
                elif ch in ",]":
                    if token.strip():
                        row.append(float(token))
                    token = ""
                    if ch == "]":
                        depth -= 1
                        if depth == 0:
                            return
                        yield row
                elif depth == 2:
                    token += ch
            buf = f.read(128)
            if not buf:
                raise ValueError("%s: %s ends early" % (path, marker))
