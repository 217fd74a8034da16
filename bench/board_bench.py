# Runs ON the emulated board (sent by bench/run_bench.py through the raw
# REPL; qemu runs with -icount shift=0, so SysTick counts instructions on
# the Cortex-M boards, and the minstret CSR counts them one for one on
# riscv32). Prints one line per measurement: "R " + repr(dict). Counts are
# ticks (SysTick ticks, or instructions with minstret) with the overhead of
# an empty measurement already subtracted; the host turns ticks into
# instructions with the calibration (spin) it asks for.
#
# The host prepends a line `CONFIG = {...}` (which parts to run),
# tools/ai_anne_data.py (AI_ANNE_8, AI_ANNE_X, AI_ANNE_YTRUE) and, with
# CONFIG["counter"] == "minstret", run_bench.py's RV32_PRELUDE (_ms, _spin:
# @micropython.asm_rv32 functions, which the Arm ports could not compile);
# it appends bench/board_int8.py where CONFIG["int8"], then `main()`.

import gc
import machine
from array import array

anne = anne_net = None
IMPORT_RAM = None  # heap bytes `import anne` takes (a native module's code lives in RAM)
if CONFIG.get("nets") or CONFIG.get("kernel") or CONFIG.get("train") or CONFIG.get("int8"):  # the float loop runs without them
    try:
        gc.collect()
        IMPORT_RAM = gc.mem_free()
        import anne
        gc.collect()
        IMPORT_RAM -= gc.mem_free()
        import anne_net
    except ImportError:
        pass
try:
    import emlearn_bench as eb
except ImportError:
    eb = None

COUNTER = CONFIG.get("counter", "systick")
if COUNTER == "minstret":
    # RISC-V: the 64-bit minstret (read by _ms into a preallocated 8-byte
    # buffer: the same instructions whatever the count, no int made until
    # both reads are in), one tick = one instruction, no wrap.
    _MA = bytearray(8)
    _MB = bytearray(8)

    def _ticks(f):
        """Instructions taken by f() (gross)."""
        gc.collect()
        _ms(_MA)
        f()
        _ms(_MB)
        return int.from_bytes(_MB, "little") - int.from_bytes(_MA, "little")
else:
    m = machine.mem32
    _CSR = 0xE000E010
    _CVR = 0xE000E018
    m[_CSR] = 0
    m[0xE000E014] = 0xFFFFFF
    m[_CVR] = 0
    m[_CSR] = 5  # enable, no interrupt, processor clock

    def _ticks(f):
        """Ticks taken by f() (gross), or None if the 24-bit counter wrapped:
        writing the counter restarts it from the reload value (0xFFFFFF) and
        clears COUNTFLAG, which is set again only when it reaches 0."""
        gc.collect()
        m[_CVR] = 0
        m[_CSR]  # reading clears COUNTFLAG too
        a = m[_CVR]
        f()
        b = m[_CVR]
        if m[_CSR] & 0x10000:
            return None
        return (a - b) & 0xFFFFFF


def _empty():
    pass


def _overhead():
    _ticks(_empty)
    n = 0
    for _ in range(8):
        n += _ticks(_empty)
    return n / 8


SPREAD = [0, 0.0]  # the largest difference of two measured calls, and relative (minstret)
OVERHEAD = _overhead()


def ticks(f, again=True):
    """Net ticks of f(): warmed up once, then measured; with again, twice,
    which must agree (deterministic emulation)."""
    if again:
        f()
    t1 = _ticks(f)
    t2 = _ticks(f) if again else t1
    if t1 is None or t2 is None:
        return None
    # One tick is many instructions (40 on the MPS2): where the code starts
    # within a tick moves the count by one tick at most. Code that allocates
    # (pure Python) may also differ a little from call to call with the heap's
    # layout; runs of the whole script are still identical.
    # With minstret (one tick = one instruction) the two calls of native
    # code differ by up to a few hundred instructions (MicroPython's
    # map-lookup cache, which the code between them leaves in a different
    # state), pure Python's by up to 1 % (the heap too); the same from run to
    # run. The largest differences are emitted as kind="spread".
    d = abs(t1 - t2)
    if COUNTER == "minstret":
        if d > max(256, t1 // 100):
            raise RuntimeError("not deterministic: %d vs %d instructions" % (t1, t2))
        SPREAD[0] = max(SPREAD[0], d)
        SPREAD[1] = max(SPREAD[1], d / t1 if t1 else 0)
    elif d > max(1, t1 // 200):
        raise RuntimeError("not deterministic: %d vs %d ticks" % (t1, t2))
    return (t1 + t2) / 2 - OVERHEAD


def alloc(f):
    """Bytes of GC heap that f() allocates: gc.mem_alloc() before and after
    with the gc disabled; if that runs out of heap (pure-Python code on a
    small heap), micropython.mem_total() (bytes allocated in all) instead."""
    f()
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        f()
        b = gc.mem_alloc()
        gc.enable()
        return b - a, "gc"
    except MemoryError:
        gc.enable()
    gc.collect()
    import micropython
    a = micropython.mem_total()
    f()
    return micropython.mem_total() - a, "mem_total"


def emit(**kw):
    print("R", repr(kw))


def zeros(n):
    return array("f", bytearray(4 * n))


# Deterministic pseudo-random numbers (small ints only): an LCG mod 2**16 + 1.
_seed = [12345]


def rnd():
    _seed[0] = (_seed[0] * 75 + 74) % 65537
    return _seed[0] / 65537.0


def uniform(n, lim):
    a = zeros(n)
    for i in range(n):
        a[i] = (2.0 * rnd() - 1.0) * lim
    return a


# ---------------------------------------------------------------------------
# Calibration: SysTick ticks per known number of instructions.

def calibrate():
    if COUNTER == "minstret":
        spin = _spin  # the same two-instruction loop, in inline assembler
    elif eb is None or not hasattr(eb, "spin"):
        return
    else:
        spin = eb.spin
    for n in (1000000, 2000000):
        emit(kind="spin", n=n, ticks=ticks(lambda: spin(n)))


# ---------------------------------------------------------------------------
# Networks

EML_ACT = {"linear": 0, "relu": 1, "sigmoid": 2, "softmax": 3, "tanh": 4}
BATCH = 20


def predict_runners(model, xs, out, late=False):
    """(one sample, batch): model.predict_into on xs[0], and on each of xs.

    The bound method is looked up once, outside the measurement: the
    lookup `model.predict_into` inside the loop goes through MicroPython's
    map-lookup cache, whose slots are keyed by bytecode address; where the
    interpreter happens to place this script then moved the per-sample
    count of the small AI-ANNE net by several hundred instructions between
    two firmwares (anne.mpy against the built-in module on RISC-V: 1.07x to
    1.09x with the lookup in the loop, 0.994x without it). late: looked up
    in the loop (the pure-Python backend's runner, made before
    use_backend("python") switches the method)."""

    if late:  # the method is chosen when it runs (use_backend switches it)
        def one(model=model, x=xs[0], out=out):
            model.predict_into(x, out)

        def batch(model=model, xs=xs, out=out):
            for x in xs:
                model.predict_into(x, out)

        return one, batch

    def one(f=model.predict_into, x=xs[0], out=out):
        f(x, out)

    def batch(f=model.predict_into, xs=xs, out=out):
        for x in xs:
            f(x, out)

    return one, batch


def build(name):
    """(sizes, [(kernel, bias, activation)], inputs): weights as flat
    array('f') in Keras layout (n_in x units)."""
    if name == "ai-anne-4-2-3-2-1":
        sizes = [4, 2, 3, 2, 1]
        layers = []
        weights = AI_ANNE_8["weights"]
        for i, a in enumerate(AI_ANNE_8["activations"]):
            w, b = weights[2 * i], weights[2 * i + 1]
            layers.append((array("f", [v for row in w for v in row]), array("f", b), a))
        xs = [array("f", r) for r in AI_ANNE_X]
        return sizes, layers, xs
    sizes = {"iris-4-8-3": [4, 8, 3], "16-32-32-4": [16, 32, 32, 4],
             "64-64-64-10": [64, 64, 64, 10], "dense-64x64": [64, 64]}[name]
    _seed[0] = 12345
    layers = []
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        lim = (6.0 / (n_in + n_out)) ** 0.5
        act = "linear" if name == "dense-64x64" else ("softmax" if i == len(sizes) - 2 else "relu")
        layers.append((uniform(n_in * n_out, lim), uniform(n_out, 0.1), act))
    xs = [uniform(sizes[0], 1.0) for _ in range(BATCH)]
    return sizes, layers, xs


def maxdiff(a, b):
    return max(abs(a[i] - b[i]) for i in range(len(a)))


def ai_anne_style(layers):
    """AI-ANNE's way (pure MicroPython, nested lists): inputs features x
    samples, Keras kernels (inputs x units) transposed on the board, one
    dense() call per layer. Written after its description; its exact source
    is not used."""
    import math

    def relu(z):
        return z if z > 0 else 0.0

    def sigmoid(z):
        return 1.0 / (1.0 + math.exp(-z))

    def linear(z):
        return z

    fns = {"relu": relu, "sigmoid": sigmoid, "linear": linear}
    ws = []
    for k, b, a in layers:
        units = len(b)
        n_in = len(k) // units
        ws.append(([[k[i * units + j] for j in range(units)] for i in range(n_in)], list(b), a))

    def transpose(w):
        return [[w[i][j] for i in range(len(w))] for j in range(len(w[0]))]

    def dense(n_units, inputs, weights, biases, act):
        wt = transpose(weights)
        f = fns[act]
        out = []
        for j in range(n_units):
            row = []
            for s in range(len(inputs[0])):
                z = biases[j]
                for i in range(len(inputs)):
                    z += wt[j][i] * inputs[i][s]
                row.append(f(z))
            out.append(row)
        return out

    def predict(x_fs):  # features x samples
        h = x_fs
        for w, b, a in ws:
            h = dense(len(b), h, w, b, a)
        return h

    return predict


def bench_net(name, impls):
    sizes, layers, xs = build(name)
    macs = sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
    n_out = sizes[-1]
    out = zeros(n_out)
    x = xs[0]
    ref = None
    runners = {}
    net = None
    if anne_net is not None:
        anne_net.use_backend("native")
        # The layers take our weight arrays as they are (no copies, no
        # initialisation: the 64-64-64-10 net must fit the M0's 192 KB heap
        # once); every implementation uses these same arrays.
        dl = []
        for i, (k, b, a) in enumerate(layers):
            L = anne_net.Dense(sizes[i + 1], a)
            L.n_in = sizes[i]
            L.set_weights(k, b)  # array('f') weights are used as they are (no copies)
            dl.append(L)
        net = anne_net.Sequential(sizes[0], dl)
        del dl
        gc.collect()
        net.predict_into(x, out)
        ref = array("f", out)

        runners["anne_net"] = predict_runners(net, xs, out) + (None,)

        spec = [(k, b, zeros(len(b)), anne.Activation(a)) for k, b, a in layers]

        def raw(x, spec=spec, dense=anne.dense):
            src = x
            for k, b, o, a in spec:
                dense(src, k, b, o, a)
                src = o
            return src

        def raw_one(x=x):
            raw(x)

        def raw_batch(xs=xs):
            for x in xs:
                raw(x)

        runners["anne.dense"] = (raw_one, raw_batch, lambda: raw(x))

        runners["python"] = predict_runners(net, xs, out, late=True) + (None,)

    if eb is not None:
        enet = eb.Net([(len(k) // len(b), len(b), k, b, EML_ACT[a]) for k, b, a in layers])
        eout = zeros(n_out)

        runners["emlearn"] = predict_runners(enet, xs, eout) + (lambda: enet.predict_into(x, eout),)

    if name == "ai-anne-4-2-3-2-1" and "ai-anne-style" in impls:
        ai = ai_anne_style(layers)
        x_fs = [[v] for v in x]
        xb_fs = [[r[i] for r in xs] for i in range(sizes[0])]

        def ai_one(ai=ai, x_fs=x_fs):
            ai(x_fs)

        def ai_batch(ai=ai, xb_fs=xb_fs):
            ai(xb_fs)

        runners["ai-anne-style"] = (ai_one, ai_batch, lambda: array("f", [r[0] for r in ai(x_fs)]))

    for impl in impls:
        if impl not in runners:
            continue
        if impl == "python":
            net.use_backend("python")
        one, batch, result = runners[impl]
        slow = impl in ("python", "ai-anne-style")
        t1 = ticks(one)
        tb = ticks(batch, again=not slow)
        if tb is None:  # wrapped the 24-bit counter: per sample, summed
            if impl not in ("anne_net", "python"):
                raise RuntimeError("%s on %s: too long to count" % (impl, name))
            tb = 0
            for xi in xs:
                tb += ticks(lambda: net.predict_into(xi, out), again=False)
            tb_note = "summed"
        else:
            tb_note = ""
        al, al_how = alloc(one)
        if impl in ("anne_net", "python"):
            one()
            got = out
        else:
            got = result()
        diff = maxdiff(got, ref) if ref is not None else None
        acc = None
        if name == "ai-anne-4-2-3-2-1" and impl != "ai-anne-style":
            ok = 0
            for xi, y in zip(xs, AI_ANNE_YTRUE):
                if impl in ("anne_net", "python"):
                    net.predict_into(xi, out)
                    p = out[0]
                elif impl == "anne.dense":
                    p = raw(xi)[0]
                else:
                    p = enet.predict_into(xi, eout)[0]
                ok += (p > 0.5) == y
            acc = ok
        if impl == "python":
            net.use_backend("native")
        emit(kind="net", net=name, impl=impl, macs=macs, sizes=sizes, ticks1=t1, ticks_batch=tb,
             batch=len(xs), batch_note=tb_note, alloc=al, alloc_how=al_how, maxdiff=diff, correct=acc)
    del runners, net, layers, xs
    gc.collect()


# ---------------------------------------------------------------------------
# One dense layer, 64x64, linear: the kernel alone (call overhead = the same
# call on a 1x1 layer).

def _kernel_anne():
    anne.dense(_KX, _KK, _KB, _KO, _KA)


def _kernel_emlearn():
    eb.forward(_KX, _KK, _KB, _KO, 0)


def bench_kernel():
    global _KX, _KK, _KB, _KO, _KA
    for n in (64, 1):
        # (the last size's buffers go first: a Cortex-M0 with anne.mpy loaded
        # has no room for two 64x64 kernels)
        _KX = _KK = _KB = _KO = None
        gc.collect()
        if n == 1:
            layers = [(array("f", [0.5]), array("f", [0.1]), "linear")]
            xs = [array("f", [0.3])]
        else:
            try:
                sizes, layers, xs = build("dense-64x64")
            except MemoryError:
                # (anne.mpy on the M0: its 70 KB of code in the heap leave no
                # 16 KB block for the kernel; the table says "does not fit")
                layers = xs = None
                gc.collect()
                continue
        k, b, _ = layers[0]
        x = xs[0]
        o = zeros(n)
        # The arguments go through globals: a lambda closing over five
        # variables has a frame too big for the C stack, which MicroPython
        # then allocates on the heap at every call (about 4,800 instructions
        # that would be counted as the kernel's).
        _KX, _KK, _KB, _KO = x, k, b, o
        if anne is not None:
            _KA = anne.Activation("linear")
            emit(kind="kernel", impl="anne.dense", n=n, ticks=ticks(_kernel_anne))
        if eb is not None:
            emit(kind="kernel", impl="emlearn", n=n, ticks=ticks(_kernel_emlearn))
        if anne_net is not None and CONFIG.get("python_kernel"):
            import anne_fallback
            emit(kind="kernel", impl="python", n=n,
                 ticks=ticks(lambda: anne_fallback.dense(x, k, b, o, "linear")))
        del layers, xs
        gc.collect()


# ---------------------------------------------------------------------------
# Training: one epoch of fit() over TRAIN_N samples (forward, backward and
# update), per sample; sparse categorical cross-entropy on a softmax output.

TRAIN_N = 16
TRAIN_EPOCHS = 2  # epochs measured past the first
# The pure-MicroPython backend's training too (not on riscv32: there two runs
# of its iris-4-8-3 SGD batch-1 fit differed by 20 instructions in 48 million)
TRAIN_PYTHON = CONFIG.get("train_python", True)


def bench_train():
    for name in ("iris-4-8-3", "16-32-32-4", "64-64-64-10"):
        gc.collect()
        if name == "64-64-64-10" and gc.mem_free() < 400000:
            continue  # its weights, gradients and Adam's slots do not fit the M0's 192 KB heap
        sizes, layers, _ = build(name)
        xs = array("f", [v for _ in range(TRAIN_N) for v in uniform(sizes[0], 1.0)])
        ys = [i % sizes[-1] for i in range(TRAIN_N)]
        big = name == "64-64-64-10"  # native, batch 16 only (the step / forward target)
        for backend in ("native",) if big or not TRAIN_PYTHON else ("native", "python"):
            for opt in ("sgd", "adam"):
                for batch in (16,) if big else (1, 16):
                    anne_net.use_backend(backend)
                    dl = []
                    for i, (k, b, a) in enumerate(layers):
                        L = anne_net.Dense(sizes[i + 1], a)
                        L.n_in = sizes[i]
                        L.set_weights(array("f", k), array("f", b))
                        dl.append(L)
                    net = anne_net.Sequential(sizes[0], dl)
                    net.compile(opt, "sparse_categorical_crossentropy")
                    def fit(epochs, net=net, batch=batch):
                        return lambda: net.fit(xs, ys, batch_size=batch, epochs=epochs, shuffle=False,
                                               verbose=0)
                    # Per sample in the steady state: fit(epochs=1 + E)
                    # less fit(epochs=1) over E epochs (fit's own set-up,
                    # once per call, emitted apart). fit allocates (Python
                    # floats, lists), so where the gc runs moves a repeated
                    # count: one warm-up, one count (the whole script's runs
                    # must still agree exactly).
                    try:
                        fit(1)()
                        t = steady(fit)
                    except MemoryError:  # (the heap is fragmented by then: reported, not fatal)
                        t = None
                    emit(kind="train", net=name, backend=backend, optimizer=opt, batch=batch,
                         n=TRAIN_N * TRAIN_EPOCHS, ticks=t)
                    del net, dl
                    gc.collect()
    anne_net.use_backend("native")
    bench_train_ai_anne()
    gc.collect()
    bench_train_conv()


def steady(fit):
    """Ticks of TRAIN_EPOCHS epochs past the first: fit(1 + E) - fit(1)."""
    t1 = ticks(fit(1), again=False)
    tn = ticks(fit(1 + TRAIN_EPOCHS), again=False)
    return None if t1 is None or tn is None else tn - t1


def ai_anne_train_epoch(w1, b1, w2, b2, xs, ys, lr):
    """AI-ANNE's on-board training, as its later variant does it: a 4-3-1
    net of nested lists (relu, sigmoid), per-sample SGD on binary
    cross-entropy."""
    import math
    for x, t in zip(xs, ys):
        h = []
        for j in range(len(b1)):
            z = b1[j]
            for i in range(len(x)):
                z += x[i] * w1[i][j]
            h.append(z if z > 0 else 0.0)
        z = b2[0]
        for j in range(len(h)):
            z += h[j] * w2[j][0]
        y = 1.0 / (1.0 + math.exp(-z))
        d = y - t  # d BCE / dz through the sigmoid
        for j in range(len(h)):
            dh = d * w2[j][0] if h[j] > 0 else 0.0
            w2[j][0] -= lr * d * h[j]
            for i in range(len(x)):
                w1[i][j] -= lr * dh * x[i]
            b1[j] -= lr * dh
        b2[0] -= lr * d


def bench_train_ai_anne():
    """AI-ANNE's approach against anne on the same 4-3-1 net, per-sample SGD
    (batch 1), binary cross-entropy, one epoch over AI-ANNE's 20 rows."""
    xs = [list(r) for r in AI_ANNE_X]
    ys = [float(v) for v in AI_ANNE_YTRUE]
    _seed[0] = 777
    w1 = [list(uniform(3, 0.5)) for _ in range(4)]
    b1 = list(uniform(3, 0.5))
    w2 = [list(uniform(1, 0.5)) for _ in range(3)]
    b2 = list(uniform(1, 0.5))
    t = ticks(lambda: ai_anne_train_epoch(w1, b1, w2, b2, xs, ys, 0.05), again=False)
    emit(kind="train", net="ai-anne-4-3-1", backend="ai-anne-style", optimizer="sgd", batch=1,
         n=len(xs), ticks=t)
    for backend in ("native", "python") if TRAIN_PYTHON else ("native",):
        anne_net.use_backend(backend)
        net = anne_net.Sequential([anne_net.Input(4), anne_net.Dense(3, "relu"), anne_net.Dense(1, "sigmoid")])
        net.compile(anne_net.SGD(0.05), "binary_crossentropy")
        yrows = [[v] for v in ys]

        def fit(epochs, net=net):
            return lambda: net.fit(xs, yrows, batch_size=1, epochs=epochs, shuffle=False, verbose=0)
        fit(1)()
        emit(kind="train", net="ai-anne-4-3-1", backend=backend, optimizer="sgd", batch=1,
             n=len(xs) * TRAIN_EPOCHS, ticks=steady(fit))
        del net
        gc.collect()
    anne_net.use_backend("native")


def conv_net():
    """A sensor-window classifier (16 steps x 3 channels): Conv1D, pooling,
    Conv1D, global average, Dense."""
    anne_net.seed(5)
    return anne_net.Sequential([
        anne_net.Input((16, 3)), anne_net.Conv1D(8, 5, padding="same", activation="relu"),
        anne_net.MaxPooling1D(2), anne_net.Conv1D(8, 3, activation="relu"),
        anne_net.GlobalAveragePooling1D(), anne_net.Dense(3, "softmax")])


def bench_train_conv():
    """Training through Conv1D layers (fit_epoch: each layer's kernels one
    sample at a time in the one call), Adam, batch 16, per sample; and one
    forward pass."""
    _seed[0] = 4242
    xs = [uniform(48, 1.0) for _ in range(TRAIN_N)]
    ys = [i % 3 for i in range(TRAIN_N)]
    # (native only: the pure-MicroPython backend's Conv1D runs past what the
    # 24-bit SysTick counts)
    anne_net.use_backend("native")
    net = conv_net()
    out = array("f", [0.0] * 3)
    t = ticks(lambda: net.predict_into(xs[0], out))
    emit(kind="train_forward", net="conv-16x3", ticks=t)
    net.compile(anne_net.Adam(0.01), "sparse_categorical_crossentropy")

    def fit(epochs, net=net):
        return lambda: net.fit(xs, ys, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    try:
        fit(1)()
        t = steady(fit)
    except MemoryError:
        t = None
    emit(kind="train", net="conv-16x3", backend="native", optimizer="adam", batch=16,
         n=TRAIN_N * TRAIN_EPOCHS, ticks=t)
    del net
    gc.collect()


# ---------------------------------------------------------------------------
# The pure-MicroPython float loop (its cost depends on the soft-float routines
# linked into the firmware).

def floop(x, w, n):
    s = 0.0
    for i in range(n):
        s += x[i] * w[i]
    return s


def bench_floop():
    x = uniform(256, 1.0)
    w = uniform(256, 1.0)
    for n in (0, 256):
        emit(kind="floop", n=n, ticks=ticks(lambda: floop(x, w, n)))


def main():
    calibrate()
    emit(kind="overhead", ticks=OVERHEAD)
    if IMPORT_RAM is not None and anne is not None:
        emit(kind="import", bytes=IMPORT_RAM)
    for name in CONFIG.get("nets", ()):
        bench_net(name, CONFIG["impls"])
    if CONFIG.get("kernel"):
        bench_kernel()
    if CONFIG.get("int8"):
        bench_int8()  # bench/board_int8.py, which the host sends only then
    if CONFIG.get("floop"):
        bench_floop()
    if CONFIG.get("train"):
        bench_train()
    if COUNTER == "minstret":
        emit(kind="spread", ticks=SPREAD[0], rel=SPREAD[1])
    print("DONE")


# (the host appends bench/board_int8.py where CONFIG["int8"], then main())
