# files: tests/board/boardcheck.py tests/fixtures/models/iris3.anne tests/fixtures/models/conv_norm.anne tests/fixtures/bad/valid_tflite_dense_relu_softmax.anne tests/fixtures/bad/valid_tflite_act_tanh.anne
# A seeded fuzzer of every `anne` entry point and of the loader (anne_net.load
# of mutated files). Each call gets random arguments: buffers of every kind
# and size (arrays of several typecodes, bytes, bytearray, misaligned
# memoryviews, empty ones), non-buffers, activation names and parameters,
# valid or not; int8 chains (forward / Plan with int8 layer tuples: kernels,
# biases, quantization, activation data of every kind and size). Rules
# checked on every call:
#   - only TypeError or ValueError come out (never another exception, never
#     a crash: on unix-asan a memory error aborts the run);
#   - the guard floats around every output buffer are untouched;
#   - a call that raised left its output untouched.
# The bounded run is part of make test; `make fuzz` runs it long on unix-asan
# (a fuzz.json file, when present, gives {"seed": n, "calls": n, "files": n}).
import binascii
import gc
import struct
from array import array

import anne
import anne_net
from boardcheck import check, report

cfg = {"seed": 20261201, "calls": 1200, "files": 200}
try:
    import json
    with open("fuzz.json") as f:
        cfg.update(json.load(f))
except (OSError, ImportError):
    pass

_state = [cfg["seed"] & 0xFFFFFFFF or 1]


def rand(n):
    """0..n-1 (xorshift32: the same sequence on every port)."""
    x = _state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _state[0] = x
    return x % n


def pick(seq):
    return seq[rand(len(seq))]


SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, 3e38, -3e38, 1e-40, float("inf"), float("-inf"), float("nan"), 1e4, -1e4)
NAMES = anne.ACTIVATIONS + ("rleu", "", "RELU", "softmax2")
PARAMS = ("negative_slope", "alpha", "threshold", "max_value", "default_value", "b", "approximate", "beta")
GUARD = 12345.0
failures = []
stats = {"ok": 0, "raised": 0, "loaded": 0, "refused": 0, "int8_ok": 0, "int8_raised": 0}


def value():
    return pick(SPECIAL) if rand(4) == 0 else (rand(2001) - 1000) / 100.0


def floats(n):
    a = array("f", bytearray(4 * n))
    for i in range(n):
        a[i] = value()
    return a


def size():
    return pick((0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 16, 17)) if rand(8) else rand(70)


def buffer(n=None):
    """A random argument that may or may not be a float32 buffer."""
    n = size() if n is None else n
    k = rand(14)
    if k < 7:
        return floats(n)
    if k == 7:
        return bytes(floats(n))
    if k == 8:
        return bytearray(floats(n))
    if k == 9:
        return memoryview(bytearray(floats(n + 1)))[1:1 + 4 * n]  # misaligned
    if k == 10:
        return array(pick("bBhHiIlLqQd"), [rand(100) for _ in range(n)])
    if k == 11:
        return memoryview(floats(n + 2))[1:1 + n]
    return pick((None, 3, 2.5, "abcd" * n, [1.0] * n, (1.0,), {}, True))


def out_buffer(n):
    """(out, whole, lo, hi): out is whole[lo:hi] as a memoryview, guards around."""
    whole = array("f", [GUARD] * (n + 4))
    for i in range(2, n + 2):
        whole[i] = 7.0
    return memoryview(whole)[2:2 + n], whole, 2, 2 + n


def guards_ok(whole, lo, hi):
    return all(whole[i] == GUARD for i in range(lo)) and all(whole[i] == GUARD for i in range(hi, len(whole)))


def out_s8(n):
    """(out, whole, lo, hi) for an int8 out, guard bytes around."""
    whole = array("b", [77] * (n + 8))
    for i in range(4, n + 4):
        whole[i] = 5
    return memoryview(whole)[4:4 + n], whole, 4, 4 + n


def s8_guards_ok(whole, lo, hi):
    return all(whole[i] == 77 for i in range(lo)) and all(whole[i] == 77 for i in range(hi, len(whole)))


def s8(n):
    return array("b", [rand(256) - 128 for _ in range(n)])


def s8_buffer(n):
    """A random argument that may or may not be an int8 buffer of n."""
    k = rand(10)
    if k < 6:
        return s8(n if rand(5) else size())
    if k == 6:
        return bytes(s8(n))
    if k == 7:
        return memoryview(bytearray(s8(n + 1)))[1:]
    return buffer()


def scale_words(n):
    """n float64 scales as int32 words (low first), mostly valid."""
    w = array("i")
    for _ in range(n):
        v = pick((0.01, 0.5, 3e-5, 1.0, 2.0, 0.0, -0.1, float("nan"), float("inf"), 1e300, 5e-324))
        if rand(3):
            v = (1 + rand(1000)) / 8192.0
        lo, hi = struct.unpack("<ii", struct.pack("<d", v))
        w.append(lo)
        w.append(hi)
    if rand(8) == 0:
        w.append(rand(5))   # an odd count
    return w


def int8_layer(n_in, units, valid):
    """An int8 layer tuple for n_in -> units: a valid one, or one with
    random items (most of them wrong somewhere)."""
    if valid:
        act = pick((None, None, "softmax", "tanh", "sigmoid"))
        w = array("i")
        for _ in range(pick((1, units))):
            lo, hi = struct.unpack("<ii", struct.pack("<d", (1 + rand(1000)) / 8192.0))
            w.append(lo)
            w.append(hi)
        quant = (rand(20) - 10, rand(256) - 128, -128 + rand(10), 127 - rand(10), w)
        if act == "softmax":
            quant += (array("i", [(1 << 30) + rand(1 << 20), rand(32), -rand(2000)]),)
        elif act is not None:
            quant += (s8(256) if rand(2) else bytes(s8(256)),)
        bias = None if rand(3) == 0 else array("i", [rand(2001) - 1000 for _ in range(units)])
        kern = s8(n_in * units) if rand(2) else bytes(s8(n_in * units))
        return (kern, bias, act, None, (1,), quant)
    kern = s8(n_in * units) if rand(4) else s8_buffer(n_in * units)
    bias = None if rand(3) == 0 else (array("i", [rand(2001) - 1000 for _ in range(units)]) if rand(3)
                                      else pick((array("i", [1]), floats(units), bytes(4 * units), "b")))
    act = pick((None, None, "softmax", "tanh", "sigmoid", "glu", "log_softmax", "x", 3, "linear"))
    words = scale_words(pick((1, units, units, 2, 0)))
    q = [rand(258) - 129 for _ in range(4)]
    if rand(3):
        q = [rand(20) - 10, rand(256) - 128, -128, 127]
    quant = tuple(q) + (words if rand(6) else pick((floats(2), None, bytes(8))),)
    if act is not None or rand(4) == 0:
        post = pick((s8(256), s8(256), s8(255), array("i", [1 << 30, rand(33), -rand(1000)]),
                     array("i", [1, 2]), None, bytes(256), floats(3)))
        quant += (post,)
    if rand(10) == 0:
        quant = quant[:rand(len(quant))] if rand(2) else list(quant)
    return (kern, bias, act, None, (pick((1, 1, 1, 2, 0, 3)),), quant)


def fuzz_int8():
    n = 1 + rand(3)
    dims = [1 + rand(6) for _ in range(n + 1)]
    layers, wholes = [], []
    wrong = rand(2 * n)   # the layer with random items (none when >= n)
    for i in range(n):
        L = int8_layer(dims[i], dims[i + 1], i != wrong)
        o, whole, lo, hi = out_s8(dims[i + 1] if rand(8) else size())
        wholes.append((whole, lo, hi, bytes(whole)))
        layers.append(L[:3] + (o,) + L[4:])
    x = s8(dims[0]) if rand(8) else s8_buffer(dims[0])
    out, whole, lo, hi = out_s8(dims[-1] if rand(8) else size())
    last = (whole, lo, hi, bytes(whole))
    what = "int8 forward %r" % ([L[2] for L in layers],)
    try:
        if rand(2):
            anne.forward(tuple(layers), x, out)
        else:
            anne.Plan(tuple(layers))(x, out)
        raised = None
    except (TypeError, ValueError) as e:
        raised = e
    except Exception as e:  # noqa: BLE001
        failures.append("%s: %s %r" % (what, type(e).__name__, e))
        return
    stats["ok" if raised is None else "raised"] += 1
    stats["int8_ok" if raised is None else "int8_raised"] += 1
    for w, a, b, before in wholes + [last]:
        if not s8_guards_ok(w, a, b):
            failures.append("%s: wrote outside a buffer" % what)
    if raised is not None and bytes(whole) != last[3]:
        failures.append("%s raised %r but changed out" % (what, raised))


def activation():
    name = pick(NAMES) if rand(6) else pick(("relu", "leaky_relu", "elu", "threshold", "squareplus"))
    kw = {}
    for _ in range(rand(3)):
        kw[pick(PARAMS)] = pick((value(), None, True, "1", rand(5)))
    return name, kw


def call(what, fn, outs):
    """Runs fn(); checks the rules against outs [(whole, lo, hi, before)]."""
    try:
        fn()
        raised = None
    except (TypeError, ValueError) as e:
        raised = e
    except RuntimeError as e:  # RecursionError is a RuntimeError on MicroPython
        raised = e
        if "recursion" not in str(e):
            failures.append("%s: RuntimeError %r" % (what, e))
    except Exception as e:  # noqa: BLE001 - anything else is the failure
        failures.append("%s: %s %r" % (what, type(e).__name__, e))
        return
    stats["ok" if raised is None else "raised"] += 1
    for whole, lo, hi, before in outs:
        if not guards_ok(whole, lo, hi):
            failures.append("%s: wrote outside out" % what)
        if raised is not None and bytes(whole) != before:
            failures.append("%s raised %r but changed out" % (what, raised))


# The inference-only module (ANNE_TRAIN=0) has no training kernels.
TRAINS = hasattr(anne, "sgd")


def fuzz_call():
    k = rand(13)
    if k >= 11:
        fuzz_int8()
        return
    if not TRAINS and 6 <= k <= 10:
        k = rand(6)
    name, kw = activation()
    if k == 0:  # dense
        n_in, units = size(), size()
        x = buffer(n_in) if rand(3) else buffer()
        kern = buffer(n_in * units) if rand(3) else buffer()
        bias = None if rand(3) == 0 else (buffer(units) if rand(2) else buffer())
        out, whole, lo, hi = out_buffer(units if rand(4) else size())
        before = bytes(whole)
        call("dense %s" % name, lambda: anne.dense(x, kern, bias, out, name, **kw), [(whole, lo, hi, before)])
    elif k == 1:  # activate
        out, whole, lo, hi = out_buffer(size())
        for i in range(lo, hi):
            whole[i] = value()
        before = bytes(whole)
        call("activate %s" % name, lambda: anne.activate(out, name, **kw), [(whole, lo, hi, before)])
    elif k == 2:  # argmax
        b = buffer()
        call("argmax", lambda: anne.argmax(b), [])
    elif k == 3:  # Activation
        call("Activation %s" % name, lambda: anne.Activation(name, **kw), [])
    elif k == 6:  # activation_backward
        n = size()
        z, y, dy = [buffer(n) if rand(3) else buffer() for _ in range(3)]
        dz, whole, lo, hi = out_buffer(n if rand(4) else size())
        call("activation_backward %s" % name, lambda: anne.activation_backward(z, y, dy, dz, name, **kw),
             [(whole, lo, hi, bytes(whole))])
    elif k == 7:  # dense_backward
        n_in, units = size(), size()
        x = buffer(n_in) if rand(3) else buffer()
        kern = buffer(n_in * units) if rand(3) else buffer()
        dz = buffer(units) if rand(3) else buffer()
        outs = []
        bufs = []
        for n, optional in ((n_in * units, False), (units, True), (n_in, True)):
            if optional and rand(3) == 0:
                bufs.append(None)
                continue
            o, whole, lo, hi = out_buffer(n if rand(4) else size())
            bufs.append(o)
            outs.append((whole, lo, hi, bytes(whole)))
        call("dense_backward", lambda: anne.dense_backward(x, kern, dz, value(), bufs[0], bufs[1], bufs[2]), outs)
    elif k == 10:  # layer_backward: a Conv1D, pooling or affine layer (or not) with random params
        spec = (pick((2, 3, 4, 5, 6, 9, 2, 3, 1, 0, 7, 200)),) + tuple(
            pick((0, 1, 1, 2, 3, 5, 65535, -1, "x")) for _ in range(rand(7)))
        n_in, n_k = size(), size()
        layer = (pick((floats(n_k), None, buffer())), pick((None, floats(1 + rand(4)), buffer())),
                 pick(("linear", None, "relu", 3)), None, spec)
        if rand(6) == 0:
            layer = pick((layer[:4], (), None, layer + (1,)))
        x = floats(n_in) if rand(4) else buffer()
        dy = floats(size()) if rand(4) else buffer()
        outs, bufs = [], []
        for n in (n_k, 1 + rand(4), n_in):
            if rand(3) == 0:
                bufs.append(None)
                continue
            o, whole, lo, hi = out_buffer(n if rand(4) else size())
            bufs.append(o)
            outs.append((whole, lo, hi, bytes(whole)))
        call("layer_backward %r" % (spec,),
             lambda: anne.layer_backward(layer, x, dy, value(), bufs[0], bufs[1], bufs[2]), outs)
    elif k == 8 or k == 9:  # sgd, adam
        n = size()
        g = buffer(n) if rand(3) else buffer()
        outs = []
        bufs = []
        for _ in range(3 if k == 9 else 2):
            if k == 8 and bufs and rand(3) == 0:
                bufs.append(None)
                continue
            o, whole, lo, hi = out_buffer(n if rand(4) else size())
            bufs.append(o)
            outs.append((whole, lo, hi, bytes(whole)))
        if k == 8:
            call("sgd", lambda: anne.sgd(bufs[0], g, bufs[1], value(), pick((0.0, 0.9, value())), rand(2)), outs)
        else:
            call("adam", lambda: anne.adam(bufs[0], g, bufs[1], bufs[2], value(), 0.9, 0.999, 1e-7), outs)
    else:  # forward / Plan over a random chain
        n = 1 + rand(3)
        dims = [1 + rand(6) for _ in range(n + 1)]
        layers, outs = [], []
        for i in range(n):
            kern = floats(dims[i] * dims[i + 1]) if rand(5) else buffer()
            bias = floats(dims[i + 1]) if rand(3) else pick((None, buffer()))
            act = pick(("linear", "relu", "sigmoid", "softmax", "glu", "elu", anne.Activation("tanh"), "x", 3))
            o, whole, lo, hi = out_buffer(dims[i + 1] if rand(5) else size())
            outs.append((whole, lo, hi, bytes(whole)))
            if rand(3):
                layers.append((kern, bias, act, o))
            else:  # another layer kind (Conv1D, pooling, affine, unknown) with random params
                spec = (pick((1, 2, 3, 4, 5, 6, 9, 2, 3, 9, 0, 7, 10, 200)),) + tuple(
                    pick((0, 1, 1, 2, 3, 5, 65535, -1, "x")) for _ in range(rand(7)))
                layers.append((pick((kern, None)), pick((bias, None)), pick((act, None)), o, spec))
        layers = tuple(layers) if rand(8) else list(layers)
        x = floats(dims[0]) if rand(4) else buffer()
        out, whole, lo, hi = out_buffer(dims[-1] if rand(4) else size())
        last = (whole, lo, hi, bytes(whole))
        if k % 2:
            call("forward", lambda: anne.forward(layers, x, out), [last])
        else:
            def plan_call():
                anne.Plan(layers)(x, out)
            call("Plan", plan_call, [last])


def fuzz_file(good):
    data = bytearray(good)
    for _ in range(1 + rand(4)):
        k = rand(5)
        if k == 0 and len(data) > 1:
            data = data[:rand(len(data))]  # truncate
        elif k == 1:
            data.extend(bytes(rand(9)))  # extend
        else:
            if data:
                data[rand(len(data))] = rand(256)  # flip a byte
    if rand(2) and len(data) >= 8:  # a valid CRC: the mutation reaches the layers
        data[-4:] = struct.pack("<I", binascii.crc32(data[:-4]) & 0xFFFFFFFF)
    try:
        net = anne_net.load(bytes(data))
    except ValueError:
        stats["refused"] += 1
        return
    except Exception as e:  # noqa: BLE001
        failures.append("load: %s %r" % (type(e).__name__, e))
        return
    # A file that loads (the CRC still matched, or only padding changed) runs.
    stats["loaded"] += 1
    try:
        net.predict([0.5] * net.n_inputs)
    except Exception as e:  # noqa: BLE001
        failures.append("predict after load: %s %r" % (type(e).__name__, e))


for i in range(cfg["calls"]):
    fuzz_call()
    if i % 100 == 0:
        gc.collect()
goods = [open(name, "rb").read() for name in ("iris3.anne", "conv_norm.anne",
                                              "valid_tflite_dense_relu_softmax.anne", "valid_tflite_act_tanh.anne")]
for i in range(cfg["files"]):
    fuzz_file(goods[i % 4])
    if i % 50 == 0:
        gc.collect()
for f in failures[:20]:
    print("FAIL:", f)
check(not failures, "%d of %d calls and %d files broke a rule" % (len(failures), cfg["calls"], cfg["files"]))
print("fuzz: seed %d, %d calls (%d ran, %d raised; int8 chains %d ran, %d raised), %d files (%d loaded, %d refused)"
      % (cfg["seed"], cfg["calls"], stats["ok"], stats["raised"], stats["int8_ok"], stats["int8_raised"],
         cfg["files"], stats["loaded"], stats["refused"]))
# A fuzzer whose calls all fail (or all pass) tests little: both must occur.
check(stats["ok"] > cfg["calls"] // 20 and stats["raised"] > cfg["calls"] // 20, "fuzz outcomes %r" % stats)
check(stats["int8_ok"] > cfg["calls"] // 100 and stats["int8_raised"] > cfg["calls"] // 100,
      "int8 fuzz outcomes %r" % stats)
report("test_fuzz")
