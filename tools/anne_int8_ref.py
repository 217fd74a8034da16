"""The numpy (and plain int) references of the int8 layers beyond Dense
that anne_format.Layer.forward_int8 runs on a parsed file: LiteRT's
reference kernels written out again on the PC (the board's are
micropython/anne_int8_conv.py and the Rust kernels)."""

import numpy as np

import anne_int8_act
import anne_ops


def mbqm(x, m, shift):
    """TFLite's MultiplyByQuantizedMultiplier, double rounding, on an int."""
    left, right = max(shift, 0), max(-shift, 0)
    x = (x * (1 << left) + 2**31) % 2**32 - 2**31
    return anne_int8_act.div_pot(anne_int8_act.high_mul(x, m), right)


def conv1d(layer, xq):
    """An int8 conv1d layer on xq (batch, steps, in_channels) -> (batch,
    out_steps * filters) int8, as LiteRT's reference ConvPerChannel with
    height 1 (taps on padded steps left out)."""
    ks, strides, padding, dil = layer.kparams[:4]
    in_zp, out_zp, count, lo, hi = layer.quant[1], layer.quant[3], layer.quant[4], layer.quant[5], layer.quant[6]
    steps, n = layer.in_shape[0], layer.out_shape[0]
    window = (ks - 1) * dil + 1
    pad = (0 if padding == 0 else max((n - 1) * strides + window - steps, 0) // 2 if padding == 1
           else window - 1)
    w = layer.kernel.astype(np.int64)
    out = np.zeros((len(xq), n, layer.units), np.int64)
    for r in range(len(xq)):
        for t in range(n):
            acc = layer.bias.astype(np.int64).copy()
            for tap in range(ks):
                s = t * strides - pad + tap * dil
                if 0 <= s < steps:
                    acc += w[:, tap, :] @ (xq[r, s] - in_zp)
            for j in range(layer.units):
                a = (int(acc[j]) + 2**31) % 2**32 - 2**31
                c = 0 if count == 1 else j
                v = (mbqm(a, layer.mults[0][c], layer.mults[1][c]) + out_zp + 2**31) % 2**32 - 2**31
                out[r, t, j] = min(max(v, lo), hi)
    return out.reshape(len(xq), -1).astype(np.int8)


def pool1d(layer, xq):
    """An int8 1-D pooling on xq (batch, steps, channels) -> (batch,
    outputs) int8: LiteRT's reference MaxPool / AveragePool with height 1
    (the padded steps left out; the average's sum rounded half away from
    zero over the steps in range), then the clamp; MEAN over the steps
    (QuantizedMeanOrSum: the scale ratio's multiplier with 1 / steps folded
    in); REDUCE_MAX."""
    kind = layer.kind
    in_zp, out_zp, lo, hi = layer.quant[1], layer.quant[3], layer.quant[5], layer.quant[6]
    steps = layer.in_shape[0]
    out = []
    for row in xq:
        if kind == anne_ops.LAYER_GLOBAL_MAX_POOLING1D:
            out.append(row.max(axis=0))
            continue
        if kind == anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D:    # MEAN
            m, shift = layer.mults
            k = max(0, min(steps.bit_length() - 1, 32, 31 + shift))
            m, shift = (m << k) // steps, shift - k
            vals = []
            for c in range(row.shape[1]):
                acc = int(row[:, c].sum()) - in_zp * steps
                acc = (acc + 2**31) % 2**32 - 2**31
                vals.append(min(max(mbqm(acc, m, shift) + out_zp, -128), 127))
            out.append(np.array(vals))
            continue
        size, strides, padding = layer.kparams[:3]
        n = layer.out_shape[0]
        pad = 0 if padding == 0 else max((n - 1) * strides + size - steps, 0) // 2
        res = []
        for t in range(n):
            s0, s1 = max(t * strides - pad, 0), min(t * strides - pad + size, steps)
            win = row[s0:s1]
            if kind == anne_ops.LAYER_MAX_POOLING1D:
                res.append(np.clip(win.max(axis=0), lo, hi))
                continue
            count = s1 - s0    # average: C's (sum +- count / 2) / count, truncating
            res.append(np.clip([(v + count // 2) // count if v > 0 else -((-v + count // 2) // count)
                                for v in win.sum(axis=0).tolist()], lo, hi))
        out.append(np.array(res).reshape(-1))
    return np.array(out).reshape(len(xq), -1).astype(np.int8)


def _clamp8(v, lo, hi):
    return min(max(v, lo), hi)


def elementwise(layer, xs):
    """An int8 merge or affine layer (anne_format.Layer with words, in_qs,
    values) on its inputs xs (each (batch, n) int8; a merge's flat,
    concatenate's joined on the last axis of its in_shapes) -> (batch, n_out)
    int8, as LiteRT's reference integer kernels compute them: ADD's AddFunc
    (each input offset, shifted left 20, scaled by its multiplier; the sum
    scaled by the output's; SUB the same with input 2's multiplier negated,
    as LiteRT's Prepare does), MUL's MulElementwise (the offset inputs'
    product by one multiplier), each plus the output zero point, clamped;
    CONCATENATION copies. An affine's constant is read cyclically (one
    value per channel)."""
    out_zp, lo, hi = layer.quant[3], layer.quant[5], layer.quant[6]
    xs = [np.asarray(x, np.int64).reshape(len(x), -1) for x in xs]
    batch = len(xs[0])
    if layer.kind == anne_ops.LAYER_CONCATENATE:
        parts = [x.reshape((batch, -1, s[-1])) for x, s in zip(xs, layer.in_shapes)]
        return np.concatenate(parts, axis=2).reshape(batch, -1).astype(np.int8)
    zps = [q[1] for q in layer.in_qs]
    if layer.kind == anne_ops.LAYER_AFFINE:
        op, const_first = layer.kparams[1], layer.kparams[2]
        a = xs[0]
        b = np.resize(layer.values, a.shape[1])[None, :].repeat(batch, axis=0)
        if const_first:
            a, b = b, a
            zps = zps[::-1]
    else:
        op = layer.kind
        a, b = xs
    w = layer.words
    out = np.zeros(a.shape, np.int64)
    for r in range(batch):
        for j in range(a.shape[1]):
            x1, x2 = int(a[r, j]) - zps[0], int(b[r, j]) - zps[1]
            if op == anne_ops.LAYER_MULTIPLY:
                v = mbqm(x1 * x2, w[0], w[1])
            else:
                s1 = mbqm(x1 * (1 << w[0]), w[1], w[2])
                s2 = mbqm(x2 * (1 << w[0]), -w[3] if op == anne_ops.LAYER_SUBTRACT else w[3], w[4])
                v = mbqm(s1 + s2, w[5], w[6])
            out[r, j] = _clamp8(v + out_zp, lo, hi)
    return out.astype(np.int8)
