# files: tests/board/boardcheck.py
# The int8 convolutions' fast loops on the board (issue 30): the native
# module's anne.Plan of one int8 Conv2D or DepthwiseConv2D layer tuple (the
# target's own path: the four-filter dot products in Thumb-1 or Thumb-2
# assembly, SXTAB16/SMLAD on the M4F, the portable loop on the unix port
# and RISC-V; the depthwise loop four channels at a time) against the
# pure-Python anne_fallback.Plan, which computes the same tuple as
# LiteRT's reference loops do, on random layers: sizes from 1, odd
# channel and filter counts (every remainder of the groups of four),
# strides, dilation, valid and same padding, depth multipliers 1 to 3,
# inputs and weights uniform or only -128 and 127, input offsets -127 and
# 128 among others, per-tensor and per-channel Q31 multipliers, with and
# without bias. (tests/rust/int8_conv_fast.rs checks the fast loops
# against the reference loops on the host.)
from array import array

import anne_fallback
import anne_net
from boardcheck import check, report

NAME = "test_int8_conv_fast"
_state = [0x3030]


def rnd(n):
    """0..n-1 from a 31-bit LCG (deterministic, no random module needed)."""
    _state[0] = (_state[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return (_state[0] >> 8) % n


def s8(n, extreme):
    a = array("b", bytes(n))
    for i in range(n):
        a[i] = (127 if rnd(2) else -128) if extreme else rnd(256) - 128
    return a


def out_steps(n, k, s, d, same):
    """Keras's output steps (0: a valid window that does not fit)."""
    if same:
        return (n + s - 1) // s
    e = (k - 1) * d + 1
    return (n - e) // s + 1 if n >= e else 0


def words(count, terms):
    """count Q31 multipliers then count shifts (int32 words) that keep most
    outputs inside int8 for sums of `terms` products."""
    shift = -7 - (len(bin(terms)) - 3) // 2
    return array("i", [(1 << 30) + rnd(1 << 30) for _ in range(count)] + [shift - rnd(2) for _ in range(count)])


def test_random_layers(native):
    bad = cases = inside = 0
    while cases < 48:
        depthwise = cases % 2 == 1
        h, w, cin = 1 + rnd(6), 1 + rnd(6), 1 + rnd(9)
        kh, kw = 1 + rnd(3), 1 + rnd(3)
        sh, sw = 1 + rnd(2), 1 + rnd(2)
        dh, dw = 1 + rnd(2), 1 + rnd(2)
        same = rnd(2)
        oh, ow = out_steps(h, kh, sh, dh, same), out_steps(w, kw, sw, dw, same)
        if oh == 0 or ow == 0:
            continue
        r = cases % 4
        extreme = r == 3
        x = s8(h * w * cin, extreme)
        if depthwise:
            dm = 1 + rnd(3) if r == 1 else 1
            cout = cin * dm
            kernel = s8(kh * kw * cout, extreme)
            spec = (15, h, w, cin, kh, kw, sh, sw, same, dm, dh, dw)
            terms = kh * kw
        else:
            cout = 1 + rnd(9)
            kernel = s8(cout * kh * kw * cin, extreme)
            spec = (10, h, w, cin, kh, kw, sh, sw, same, dh, dw)
            terms = kh * kw * cin
        bias = None if r == 2 else array("i", [rnd(1 << 14) - (1 << 13) for _ in range(cout)])
        in_off = (-127, 128, rnd(256) - 127, rnd(256) - 127)[(cases // 2) % 4]
        out_off = rnd(256) - 128
        q = (in_off, out_off, -128, 127, words(1 if r == 0 else cout, terms))
        n = oh * ow * cout
        got, want = array("b", bytes(n)), array("b", bytes(n))
        native.Plan(((kernel, bias, None, got, spec, q),))(x, got)
        anne_fallback.Plan(((kernel, bias, None, want, spec, q),))(x, want)
        cases += 1
        inside += sum(1 for v in want if -128 < v < 127)
        if list(got) != list(want):
            bad += 1
            print("  %r: got %r, reference %r" % (spec, list(got), list(want)))
    check(bad == 0, "%d of %d random int8 convolutions differ" % (bad, cases))
    check(inside > cases, "outputs mostly clamped (%d inside)" % inside)
    print("%s: %d random layers, %d outputs inside the clamp" % (NAME, cases, inside))


def test_depthwise_channels(native):
    """DepthwiseConv2D with a multiplier of 1 over more channels (the
    four-channel sums in registers across the taps on Thumb-2): every
    remainder of the groups of four, past one block of 64 channels."""
    bad = 0
    chans = (4, 5, 6, 7, 8, 12, 17, 30, 67)
    for i, cin in enumerate(chans):
        h, w = 1 + rnd(4), 1 + rnd(4)
        kh, kw = 1 + rnd(3), 1 + rnd(3)
        sh, sw, dh, dw = 1 + rnd(2), 1 + rnd(2), 1 + rnd(2), 1
        same = i % 2
        oh, ow = out_steps(h, kh, sh, dh, same), out_steps(w, kw, sw, dw, same)
        if oh == 0 or ow == 0:
            (kh, kw, same) = (1, 1, 1)
            oh, ow = out_steps(h, 1, sh, dh, 1), out_steps(w, 1, sw, dw, 1)
        extreme = i % 3 == 2
        x = s8(h * w * cin, extreme)
        kernel = s8(kh * kw * cin, extreme)
        spec = (15, h, w, cin, kh, kw, sh, sw, same, 1, dh, dw)
        bias = None if i % 4 == 1 else array("i", [rnd(1 << 14) - (1 << 13) for _ in range(cin)])
        q = ((-127, 128, rnd(256) - 127)[i % 3], rnd(256) - 128, -128, 127, words(cin, kh * kw))
        n = oh * ow * cin
        got, want = array("b", bytes(n)), array("b", bytes(n))
        native.Plan(((kernel, bias, None, got, spec, q),))(x, got)
        anne_fallback.Plan(((kernel, bias, None, want, spec, q),))(x, want)
        if list(got) != list(want):
            bad += 1
            print("  %r: got %r, reference %r" % (spec, list(got), list(want)))
    check(bad == 0, "%d of %d depthwise layers differ" % (bad, len(chans)))
    print("%s: %d depthwise layers over 4 to 67 channels" % (NAME, len(chans)))


def test_long_rows(native):
    """Filter rows past one call of the pair kernel's 255 values (the
    M3's and M4F's matrix-product paths take them in pieces), at the
    packed sums' largest magnitudes (every input and weight -128 or 127):
    a 1x1 convolution over 300 channels and a 3x3 one over 40 (rows of
    360), odd widths (the last position paired with the one before)."""
    bad = 0
    for i, (h, w, cin, k, same) in enumerate(((2, 3, 300, 1, 0), (3, 3, 40, 3, 1), (1, 3, 257, 1, 1))):
        extreme = i != 2
        cout = 5
        x = s8(h * w * cin, extreme)
        kernel = s8(cout * k * k * cin, extreme)
        if i == 0:
            for j in range(len(x)):
                x[j] = -128
            for j in range(len(kernel)):
                kernel[j] = -128
        spec = (10, h, w, cin, k, k, 1, 1, same, 1, 1)
        bias = array("i", [rnd(1 << 14) - (1 << 13) for _ in range(cout)])
        q = ((-127, 128, 3)[i], rnd(256) - 128, -128, 127, words(cout, k * k * cin))
        n = h * w * cout
        got, want = array("b", bytes(n)), array("b", bytes(n))
        native.Plan(((kernel, bias, None, got, spec, q),))(x, got)
        anne_fallback.Plan(((kernel, bias, None, want, spec, q),))(x, want)
        if list(got) != list(want):
            bad += 1
            print("  %r: got %r, reference %r" % (spec, list(got), list(want)))
    check(bad == 0, "%d of 3 long-row convolutions differ" % bad)
    print("%s: 3 convolutions with rows past 255 values" % NAME)


if anne_net._native is not None:
    test_random_layers(anne_net._native)
    test_depthwise_channels(anne_net._native)
    test_long_rows(anne_net._native)
else:
    print("%s: no native module (nothing to compare)" % NAME)
report(NAME)
