# files: tests/board/boardcheck.py
# The glue's memory safety (issue 26, items 1, 2 and 4), on both backends:
# - a number whose __float__/__int__/__bool__ moves a buffer the call is
#   about to use (the glue converts every scalar before it takes any
#   buffer's address): no crash, nothing overwritten, a clean result or a
#   clean exception, at every entry point that takes a scalar;
# - fit_epoch's order must hold one index per row (it was read past its end);
# - no buffer a network writes may share memory with any layer's weights
#   (it was checked within a layer only).
# Before the fix the movers crashed unix (SIGSEGV) and the Cortex-M boards
# (HardFault), or overwrote the object allocated where the buffer had been.
from array import array

import anne
import anne_fallback
import anne_net
import anne_ops
from boardcheck import check, error_of, refused, report

BACKENDS = (("native", anne), ("python", anne_fallback))
TRAINS = hasattr(anne, "fit_epoch")  # (the inference-only anne.mpy has no training kernels)
CANARY = [7.0] * 16


class Mover:
    """A number that, converted, grows buf (so its items move to a new
    block) and allocates a canary, likely where the items were."""

    def __init__(self, value, buf):
        self.value = value
        self.buf = buf
        self.canaries = []

    def _move(self):
        self.buf.extend(array("f", [0.0] * 64))
        self.canaries.append(array("f", CANARY))

    def __float__(self):
        self._move()
        return float(self.value)

    def __int__(self):
        self._move()
        return int(self.value)

    def __index__(self):
        self._move()
        return int(self.value)

    def __bool__(self):
        self._move()
        return bool(self.value)

    def intact(self):
        return all(list(c) == CANARY for c in self.canaries)


def survived(tag, what, mover, fn, *args):
    """Runs fn(*args); passes when it returned or raised ValueError or
    TypeError, and every canary is as it was."""
    t, msg = error_of(fn, *args)
    ok = t in (None, ValueError, TypeError) and mover.intact()
    check(ok, "%s: %s with a moving %s: %r %r, canaries intact: %r" % (tag, what, type(mover.value).__name__,
                                                                     t, msg, mover.intact()))
    return t


def f32(values):
    return array("f", values)


# -- item 1: scalars that move buffers -----------------------------------

for tag, mod in BACKENDS:
    if not hasattr(mod, "sgd"):
        continue
    # sgd(w, g, m, learning_rate, momentum, nesterov): each scalar moves w
    for k in (3, 4, 5):
        w, g, m = f32([1.0] * 4), f32([1.0] * 4), f32([0.0] * 4)
        args = [w, g, m, 0.5, 0.0, False]
        mover = Mover(args[k], w)
        args[k] = mover
        if survived(tag, "sgd argument %d" % k, mover, mod.sgd, *args) is None:
            check(list(w[:4]) == [0.5] * 4, "%s: sgd after the move: %r" % (tag, list(w[:4])))
    # adam(w, g, m, v, alpha, beta_1, beta_2, epsilon)
    for k in (4, 5, 6, 7):
        w, g, m, v = f32([1.0] * 4), f32([1.0] * 4), f32([0.0] * 4), f32([0.0] * 4)
        args = [w, g, m, v, 0.001, 0.9, 0.999, 1e-7]
        mover = Mover(args[k], m)
        args[k] = mover
        survived(tag, "adam argument %d" % k, mover, mod.adam, *args)
    # dense_backward(x, kernel, dz, scale, gk, gb, dx): scale moves gk, or x
    for moved in ("gk", "x"):
        x, kernel, dz, gk, gb = f32([1.0, 2.0]), f32([1.0] * 6), f32([1.0] * 3), f32([0.0] * 6), f32([0.0] * 3)
        mover = Mover(1.0, gk if moved == "gk" else x)
        survived(tag, "dense_backward's scale (moving %s)" % moved, mover, mod.dense_backward,
                 x, kernel, dz, mover, gk, gb, None)
    # layer_backward(layer, x, dy, scale, gk, gb, dx) on a Conv1D: scale moves gk
    conv = (f32([1.0] * 4), f32([0.0] * 2), "linear", None, (anne_ops.LAYER_CONV1D, 1, 2, 1, 0, 1))
    gk = f32([0.0] * 4)
    mover = Mover(1.0, gk)
    survived(tag, "layer_backward's scale", mover, mod.layer_backward,
             conv, f32([1.0, 2.0, 3.0]), f32([1.0] * 4), mover, gk, None, f32([0.0] * 3))

for tag, mod in BACKENDS:
    # forward / Plan: a spec item that moves out is refused, not converted
    out = f32([0.0] * 2)
    mover = Mover(1, out)
    layers = ((None, None, None, f32([0.0] * 2), (anne_ops.LAYER_MAX_POOLING1D, mover, 1, 1, 0)),
              (f32([1.0, 0.0, 0.0, 1.0]), None, "linear", None))
    survived(tag, "forward's spec item", mover, mod.forward, layers, f32([1.0, 2.0]), out)
    survived(tag, "Plan's spec item", mover, lambda: mod.Plan(layers)(f32([1.0, 2.0]), out))
    # dense(..., alpha=mover): parameters are parsed before the buffers
    out = f32([0.0] * 2)
    mover = Mover(0.5, out)
    survived(tag, "dense's alpha", mover, lambda: mod.dense(f32([1.0]), f32([1.0, -1.0]), None, out, "elu", alpha=mover))
    buf = f32([-1.0, 1.0])
    mover = Mover(0.5, buf)
    survived(tag, "activate's alpha", mover, lambda: mod.activate(buf, "elu", alpha=mover))

if TRAINS:
    # fit_epoch: each of the config's scalars moves the workspace
    def fit_args(x_rows=4):
        kernel, bias = f32([0.5, -0.5]), f32([0.0])
        layers = ((kernel, bias, anne.Activation("linear"), True, None, None, None, None),)
        ws = f32([0.0] * anne.fit_workspace(layers, 2, 2))
        cfg = [0, 0, 0.1, 0.0, False, 0.0, 0.0, 0.0, (), 2, True, 2]
        x = f32([float(i) for i in range(2 * x_rows)])
        return layers, cfg, x, f32([1.0] * x_rows), ws, f32([0.0]), array("I", [0, 0])

    for k in (2, 3, 4, 5, 6, 7, 10):
        layers, cfg, x, t, ws, sums, state = fit_args()
        mover = Mover(cfg[k], ws)
        cfg[k] = mover
        survived("native", "fit_epoch's config[%d]" % k, mover, anne.fit_epoch,
                 layers, tuple(cfg), x, t, None, ws, sums, state)
    # trainable (bool()) moves the kernel it belongs to
    layers, cfg, x, t, ws, sums, state = fit_args()
    kernel = layers[0][0]
    mover = Mover(True, kernel)
    layers = ((kernel,) + layers[0][1:3] + (mover,) + layers[0][4:],)
    survived("native", "fit_epoch's trainable", mover, anne.fit_epoch, layers, tuple(cfg), x, t, None, ws, sums, state)
    # the config's codes are ints (no conversion at all)
    layers, cfg, x, t, ws, sums, state = fit_args()
    cfg[9] = Mover(2, ws)
    check(refused(TypeError, "batch_size must be an int, not Mover", anne.fit_epoch,
                  layers, tuple(cfg), x, t, None, ws, sums, state), "fit_epoch's batch_size as an object")

    # -- item 2: order must hold one index per row ------------------------
    layers, cfg, x, t, ws, sums, state = fit_args()
    kernel_before = list(layers[0][0])
    order = memoryview(array("I", [0, 1, 2, 3]))[:1]  # one index for 4 rows
    check(refused(ValueError, "order has 1 indices; x has 4 rows", anne.fit_epoch,
                  layers, tuple(cfg), x, t, order, ws, sums, state), "fit_epoch with a short order")
    check(list(layers[0][0]) == kernel_before and state[0] == 0, "a refused order changed the network")
    check(anne.fit_epoch(layers, tuple(cfg), x, t, array("I", [3, 2, 1, 0]), ws, sums, state) == 0
          and state[0] == 2, "fit_epoch with a whole order")

# anne_net: a layer's trainable flag set to an object that moves the kernel
# it guards, then fit (the native and Python training loops).
for tag, _ in BACKENDS:
    anne_net.use_backend(tag)
    net = anne_net.Sequential([anne_net.Input((2,)), anne_net.Dense(2, "relu"), anne_net.Dense(1)])
    net.compile(optimizer=anne_net.SGD(0.01), loss="mse")
    mover = Mover(True, net.layers[0].kernel)
    net.layers[0].trainable = mover
    t, msg = error_of(net.fit, [[1.0, 2.0], [2.0, 1.0]], [[1.0], [0.0]], epochs=2, verbose=0)
    check(t in (None, ValueError, TypeError) and mover.intact(), "%s: fit with a moving trainable: %r %r" % (tag, t, msg))
anne_net.use_backend("native")

# -- item 4: no written buffer may share memory with any weight ------------

for tag, mod in BACKENDS:
    if tag == "python" and anne_fallback._addressof is None:
        continue  # (a port without uctypes: nothing to compare addresses with)
    k0, k1 = f32([1.0, 0.0, 0.0, 1.0]), f32([2.0, 0.0, 0.0, 2.0])

    def chain(buf0):
        return ((k0, None, "linear", buf0), (k1, None, "linear", None))

    x = f32([1.0, 2.0])
    out = f32([0.0, 0.0])
    mod.forward(chain(f32([0.0, 0.0])), x, out)
    check(list(out) == [2.0, 4.0], "%s: the chain gives %r" % (tag, list(out)))
    for run, name in ((lambda l, o: mod.forward(l, x, o), "forward"), (lambda l, o: mod.Plan(l)(x, o), "Plan")):
        # out over layer 0's kernel
        check(refused(ValueError, "out shares memory with layer 0's weights",
                      run, chain(f32([0.0, 0.0])), memoryview(k0)[:2]), "%s: %s, out over layer 0's kernel" % (tag, name))
        # layer 0's buffer over layer 1's kernel
        check(refused(ValueError, "layer 0: its output buffer shares memory with layer 1's weights",
                      run, chain(memoryview(k1)[2:]), f32([0.0, 0.0])), "%s: %s, buf over layer 1's kernel" % (tag, name))
        check(list(k0) == [1.0, 0.0, 0.0, 1.0] and list(k1) == [2.0, 0.0, 0.0, 2.0],
              "%s: %s changed the weights: %r %r" % (tag, name, list(k0), list(k1)))
    # a network's predict_into(x, out) with out over its own first kernel
    anne_net.use_backend(tag)
    net = anne_net.Sequential([anne_net.Input((2,)), anne_net.Dense(2), anne_net.Dense(2)])
    before = list(net.layers[0].kernel)
    check(refused(ValueError, "out shares memory with layer 0's weights",
                  net.predict_into, x, memoryview(net.layers[0].kernel)[:2]), "%s: predict_into over a kernel" % tag)
    check(list(net.layers[0].kernel) == before, "%s: predict_into changed the kernel" % tag)
anne_net.use_backend("native")

report("test_glue_safety")
