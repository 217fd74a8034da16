# Runs ON the emulated board after bench/board_bench.py (whose helpers it
# uses: ticks, alloc, emit, rnd, uniform, zeros, _kernel_anne), sent by
# bench/run_bench.py only where CONFIG["int8"] (the M0's heap has no room
# for this code next to the float benchmarks' 64-64-64-10 arrays).

# ---------------------------------------------------------------------------
# int8 Dense (issue 29): one int8 Dense call for 16->8, 64->64 and 256->64
# (call overhead: the same call on a 1x1 layer), anne's float32 dense on the
# same sizes, and the bench networks as int8 Dense chains.
#
# The int8 layer tuple of anne.forward / anne.Plan (docs/anne-module.md) is
# made by s8_layer alone, and s8_ref computes the same layer in plain Python
# ints. Two forms of its quant item are known: (in_off, out_off, min, max,
# multipliers, shifts), Q31 multipliers with single rounding, and (in_off,
# out_off, min, max, scales), LiteRT's float requantization with float64
# scales as their bits in an int32 buffer; s8_mode() finds which one the
# firmware takes. A third form is a change to these three functions.

QUANT = ["q31"]  # the form the firmware takes: "q31" or "float64" (s8_mode)


def s8_layer(kernel, bias, buf, in_zp, out_zp, act_min, act_max, mult, shift):
    """An int8 Dense layer tuple: kernel units x n_in int8 (TFLite's layout),
    bias int32, the input's and output's zero points, the clamp in output
    steps, and per unit the scale mult * 2^(shift - 31) (mult in [2^30,
    2^31), array('i')): as Q31 multipliers and shifts, or as float64
    scales' bits (low word first), which hold it exactly."""
    q = (-in_zp, out_zp, act_min, act_max)
    if QUANT[0] == "q31":
        return (kernel, bias, None, buf, (1,), q + (mult, shift))
    bits = array("i", bytes(8 * len(mult)))
    for j in range(len(mult)):
        # mult / 2^30 in [1, 2) times 2^(shift - 1): exponent and fraction
        b = ((1023 + shift[j] - 1) << 52) | ((mult[j] - (1 << 30)) << 22)
        lo, hi = b & 0xFFFFFFFF, b >> 32
        bits[2 * j] = lo - (1 << 32) if lo >= 1 << 31 else lo
        bits[2 * j + 1] = hi - (1 << 32) if hi >= 1 << 31 else hi
    return (kernel, bias, None, buf, (1,), q + (bits,))


def s8_ref(x, kernel, bias, units, in_zp, out_zp, act_min, act_max, mult, shift):
    """The layer of s8_layer in plain Python ints (written from TFLite's
    formulas, not from anne's code): acc = sum (x + in_off) * w + b, then
    q31: (acc * m + 2^(30 - s)) >> (31 - s) (single rounding); float64:
    acc * scale rounded half away from zero (exact: s8_params's multipliers
    have 20 significant bits, so the double product is not rounded); plus
    the output's zero point, clamped."""
    n_in = len(x)
    out = []
    for j in range(units):
        acc = bias[j]
        for i in range(n_in):
            acc += (x[i] - in_zp) * kernel[j * n_in + i]
        t = 31 - shift[j]
        if QUANT[0] == "q31":
            v = (acc * mult[j] + (1 << (t - 1))) >> t
        else:
            v = (abs(acc) * mult[j] + (1 << (t - 1))) >> t
            v = -v if acc < 0 else v
        v += out_zp
        out.append(act_min if v < act_min else act_max if v > act_max else v)
    return out


def s8_mode():
    """Sets QUANT to the form of quant this firmware's anne.Plan takes
    (float64 first: a firmware that takes it rejects the q31 form's six
    items with a ValueError, an older one with a TypeError)."""
    for mode in ("float64", "q31"):
        QUANT[0] = mode
        o = array("b", [0])
        try:
            anne.Plan((s8_layer(array("b", [1]), None, o, 0, 0, -128, 127, array("i", [1 << 30]),
                                array("i", [0])),))(array("b", [1]), o)
            return mode
        except (TypeError, ValueError):
            pass
    raise RuntimeError("anne.Plan takes neither form of int8 quant")


def ticks8(f):
    """ticks(f); with minstret, measured again (up to 4 times) where its two
    calls differ by more than ticks() allows: on riscv32 a short call (the
    int8 64x64 is 50,000 instructions) can take a few hundred more once
    (what runs between the reads, we think: not traced); the runs of the
    whole script still agree exactly."""
    for _ in range(3):
        try:
            return ticks(f)
        except RuntimeError:
            if COUNTER != "minstret":
                raise
    return ticks(f)


def s8_rand(n):
    a = array("b", bytes(n))
    for i in range(n):
        a[i] = int(rnd() * 256) - 128
    return a


def s8_params(n_in, units, in_zp, out_zp, act_min, act_max):
    """Random weights and an in-range quantization: (kernel, bias, in_zp,
    out_zp, act_min, act_max, mult, shift); multipliers in [2^30, 2^31),
    shifts that keep most outputs off the clamp."""
    kernel = s8_rand(n_in * units)
    bias = array("i", [int((2 * rnd() - 1) * 4096) for _ in range(units)])
    # (20 significant bits: exact as a float64 scale, and acc * scale too)
    mult = array("i", [(1 << 30) + (int(rnd() * ((1 << 19) - 1)) << 11) for _ in range(units)])
    s = -(7 + (len(bin(n_in)) - 3) // 2)  # about 1 / (75 * 75 * sqrt(n_in) / 40)
    shift = array("i", [s] * units)
    return (kernel, bias, in_zp, out_zp, act_min, act_max, mult, shift)


def _grown_uniform(n, lim):
    """uniform(n, lim), grown 256 values at a time (no n-value temporary)."""
    a = array("f")
    for _ in range(n // 256):
        a.extend(uniform(256, lim))
    a.extend(uniform(n % 256, lim))
    return a


def _kernel_s8():
    _KP(_KX, _KO)


# (the largest first: on the M0 its float32 kernel, 64 KB, made through a
# 64 KB bytearray, needs the heap unfragmented)
INT8_SIZES = ((256, 64), (64, 64), (16, 8), (1, 1))


def bench_int8_kernel():
    """One int8 Dense call through an anne.Plan of one int8 layer (the
    lowest-overhead public path: the tuple is read once, as a network's
    predict_into does), and anne.dense's float32 call on the same sizes."""
    global _KX, _KK, _KB, _KO, _KA, _KP
    emit(kind="int8_quant", mode=s8_mode())
    _seed[0] = 2929
    for n_in, units in INT8_SIZES:
        # float32, anne.dense as the dense 64x64 row calls it
        _KX = _KK = _KB = _KO = _KP = None
        gc.collect()
        lim = (6.0 / (n_in + units)) ** 0.5
        try:
            _KK = uniform(n_in * units, lim)
        except MemoryError:
            # (the M0: no room for the 64 KB array and the bytearray it is
            # made from: grown in place from a small one instead)
            gc.collect()
            try:
                _KK = _grown_uniform(n_in * units, lim)
            except MemoryError:
                _KK = None
        if _KK is None:
            t = None
        else:
            _KB = uniform(units, 0.1)
            _KX, _KO = uniform(n_in, 1.0), zeros(units)
            _KA = anne.Activation("linear")
            t = ticks8(_kernel_anne)
        emit(kind="int8_kernel", impl="f32", n_in=n_in, units=units, ticks=t)
        _KX = _KK = _KB = _KO = None
        gc.collect()
        p = s8_params(n_in, units, 3, -5, -128, 127)
        x = s8_rand(n_in)
        o = array("b", bytes(units))
        plan = anne.Plan((s8_layer(p[0], p[1], o, *p[2:]),))
        plan(x, o)
        ref = s8_ref(x, p[0], p[1], units, *p[2:])
        if list(o) != ref:
            raise RuntimeError("int8 dense %dx%d: %r, reference %r" % (n_in, units, list(o)[:8], ref[:8]))
        _KX, _KO, _KP = x, o, plan
        emit(kind="int8_kernel", impl="s8", n_in=n_in, units=units, ticks=ticks8(_kernel_s8),
             alloc=alloc(_kernel_s8)[0])
        _KX = _KO = _KP = plan = p = x = o = ref = None
    gc.collect()


def bench_int8_nets():
    """The bench networks as int8 Dense chains (random int8 weights, relu
    clamps on the hidden layers, no softmax), run as a loaded int8 network's
    predict_into runs: one anne.Plan of the layers' tuples."""
    for name in NETS_INT8:
        sizes = {"ai-anne-4-2-3-2-1": [4, 2, 3, 2, 1], "iris-4-8-3": [4, 8, 3], "16-32-32-4": [16, 32, 32, 4],
                 "64-64-64-10": [64, 64, 64, 10]}[name]
        gc.collect()
        _seed[0] = 2930
        layers, params, zp = [], [], 0
        for i in range(len(sizes) - 1):
            last = i == len(sizes) - 2
            # hidden layers: relu as TFLite fuses it (zero point -128, clamp
            # from it); the last: no clamp
            out_zp = 7 if last else -128
            p = s8_params(sizes[i], sizes[i + 1], zp, out_zp, out_zp if not last else -128, 127)
            buf = array("b", bytes(sizes[i + 1]))
            layers.append(s8_layer(p[0], p[1], buf, *p[2:]))
            params.append(p)
            zp = out_zp
        xs = [s8_rand(sizes[0]) for _ in range(BATCH)]
        out = array("b", bytes(sizes[-1]))
        plan = anne.Plan(tuple(layers))
        plan(xs[0], out)
        v = list(xs[0])
        for i, p in enumerate(params):
            v = s8_ref(v, p[0], p[1], sizes[i + 1], *p[2:])
        if list(out) != v:
            raise RuntimeError("int8 %s: %r, reference %r" % (name, list(out), v))
        del params

        def one(f=plan, x=xs[0], out=out):
            f(x, out)

        def batch(f=plan, xs=xs, out=out):
            for x in xs:
                f(x, out)

        macs = sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
        t1 = ticks8(one)
        tb = ticks8(batch)
        al, al_how = alloc(one)
        emit(kind="int8_net", net=name, macs=macs, sizes=sizes, ticks1=t1, ticks_batch=tb, batch=len(xs),
             alloc=al, alloc_how=al_how)
        del plan, layers, xs, one, batch
        gc.collect()


def bench_int8():
    bench_int8_kernel()
    bench_int8_nets()


NETS_INT8 = ("ai-anne-4-2-3-2-1", "iris-4-8-3", "16-32-32-4", "64-64-64-10")
