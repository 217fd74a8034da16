# files: tests/board/boardcheck.py
# The int8 Dense kernel's fast path on the board (issue 29 item 1): the
# native module's anne.Plan (the target's own path: Thumb-1 or Thumb-2
# assembly, SXTAB16/SMLAD on the M4F, the portable four-row loop on the
# unix port and RISC-V) against the pure-Python anne_fallback.Plan, which
# computes the same layer tuple as LiteRT's reference loop does, on random
# layers: n_in from 1 (every size up to 24, then 31, 63, 64, 65), units
# from 1 to 9 (every remainder of the four-row groups), inputs and weights
# uniform or only -128 and 127, input offsets -127..128 with both ends,
# per-tensor and per-channel float64 scales, with and without bias, the
# full range or a relu clamp. (tests/rust/int8_fast.rs checks every path
# against the reference loop on the host.)
from array import array

import anne_fallback
import anne_net
from boardcheck import check, report

NAME = "test_int8_fast"
_state = [0x2929]


def rnd(n):
    """0..n-1 from a 31-bit LCG (deterministic, no random module needed)."""
    _state[0] = (_state[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return (_state[0] >> 8) % n


def s8(n, extreme):
    a = array("b", bytes(n))
    for i in range(n):
        a[i] = (127 if rnd(2) else -128) if extreme else rnd(256) - 128
    return a


def word(v):
    """An unsigned 32-bit value as array('i') holds it."""
    return v - (1 << 32) if v >= 1 << 31 else v


def scales(count, n_in):
    """count float64 scales as their bits, two int32 words each (low
    first): a random significand and an exponent that keeps most outputs
    inside int8 for sums of n_in products."""
    w = array("i", bytes(8 * count))
    e = 1023 - 13 - (len(bin(n_in)) - 3) // 2
    for j in range(count):
        hi = ((e + rnd(3)) << 20) | rnd(1 << 20)
        w[2 * j] = word((rnd(1 << 16) << 16) | rnd(1 << 16))
        w[2 * j + 1] = word(hi)
    return w


def test_random_layers(native):
    sizes = list(range(1, 25)) + [31, 63, 64, 65]
    bad = cases = inside = 0
    for n_in in sizes:
        for r in range(4):
            units = 1 + rnd(9)
            extreme = r == 3
            x, kernel = s8(n_in, extreme), s8(n_in * units, extreme)
            bias = None if r == 1 else array("i", [rnd(1 << 14) - (1 << 13) for _ in range(units)])
            in_off = (-127, 128, rnd(256) - 127, rnd(256) - 127)[r]
            out_off = rnd(256) - 128
            lo = out_off if r == 2 else -128
            w = scales(1 if r % 2 == 0 else units, n_in)
            q = (in_off, out_off, lo, 127, w)
            got, want = array("b", bytes(units)), array("b", bytes(units))
            native.Plan(((kernel, bias, None, got, (1,), q),))(x, got)
            anne_fallback.Plan(((kernel, bias, None, want, (1,), q),))(x, want)
            cases += 1
            inside += sum(1 for v in want if lo < v < 127)
            if list(got) != list(want):
                bad += 1
                print("  n_in %d units %d r %d: got %r, reference %r" % (n_in, units, r, list(got), list(want)))
    check(bad == 0, "%d of %d random int8 layers differ" % (bad, cases))
    check(inside > cases, "outputs mostly clamped (%d inside)" % inside)
    print("%s: %d random layers, %d outputs inside the clamp" % (NAME, cases, inside))


if anne_net._native is not None:
    test_random_layers(anne_net._native)
else:
    print("%s: no native module (nothing to compare)" % NAME)
report(NAME)
