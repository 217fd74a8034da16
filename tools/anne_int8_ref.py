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


def _offsets(size, n, window, strides, padding):
    """Per output position, the first input position of its window (TFLite's
    padding: same pads max((n - 1) * strides + window - size, 0) // 2
    before)."""
    pad = 0 if padding == 0 else max((n - 1) * strides + window - size, 0) // 2
    return [t * strides - pad for t in range(n)]


def _requant_channels(acc, layer):
    """int64 accumulators (..., channels) -> the int8 outputs: int32
    wrapping, MultiplyByQuantizedMultiplier per channel, the output zero
    point, the clamp."""
    out_zp, count, lo, hi = layer.quant[3], layer.quant[4], layer.quant[5], layer.quant[6]
    flat = acc.reshape(-1, acc.shape[-1])
    res = np.zeros(flat.shape, np.int64)
    for idx in range(flat.shape[0]):
        for j in range(flat.shape[1]):
            a = (int(flat[idx, j]) + 2**31) % 2**32 - 2**31
            c = 0 if count == 1 else j
            v = (mbqm(a, layer.mults[0][c], layer.mults[1][c]) + out_zp + 2**31) % 2**32 - 2**31
            res[idx, j] = min(max(v, lo), hi)
    return res.reshape(acc.shape)


def conv2d(layer, xq):
    """An int8 conv2d (kparams: kernel_h, kernel_w, strides_h, strides_w,
    padding, dilation_h, dilation_w) or depthwise_conv2d (kernel_h,
    kernel_w, strides_h, strides_w, padding, depth_multiplier, dilation_h,
    dilation_w) on xq (batch, height, width, channels) -> (batch, outputs)
    int8, as LiteRT's reference ConvPerChannel and DepthwiseConvPerChannel
    (taps in the padding left out: the same as padding with the zero
    point)."""
    kp = layer.kparams
    depthwise = layer.kind == anne_ops.LAYER_DEPTHWISE_CONV2D
    dil = kp[6:8] if depthwise else kp[5:7]
    kh, kw = kp[0], kp[1]
    (h, w, cin), (oh, ow, cout) = layer.in_shape, layer.out_shape
    ys = _offsets(h, oh, (kh - 1) * dil[0] + 1, kp[2], kp[4])
    xs = _offsets(w, ow, (kw - 1) * dil[1] + 1, kp[3], kp[4])
    in_zp = layer.quant[1]
    k = layer.kernel.astype(np.int64)
    out = []
    for row in np.asarray(xq, np.int64):
        x = row - in_zp
        acc = np.zeros((oh, ow, cout), np.int64) + layer.bias.astype(np.int64)
        for a, y0 in enumerate(ys):
            for b, x0 in enumerate(xs):
                for ty in range(kh):
                    iy = y0 + ty * dil[0]
                    for tx in range(kw):
                        ix = x0 + tx * dil[1]
                        if 0 <= iy < h and 0 <= ix < w:
                            if depthwise:     # output channel c * multiplier + m reads input channel c
                                acc[a, b] += k[ty, tx] * np.repeat(x[iy, ix], kp[5])
                            else:
                                acc[a, b] += k[:, ty, tx, :] @ x[iy, ix]
        out.append(_requant_channels(acc, layer).reshape(-1))
    return np.array(out).astype(np.int8)


def pool2d(layer, xq):
    """An int8 2-D pooling on xq (batch, height, width, channels): max and
    average pooling as LiteRT's reference MaxPool / AveragePool (padded
    positions left out, the average rounded half away from zero), then the
    clamp; the global ones (MEAN, REDUCE_MAX over the plane) as pool1d's
    over height x width steps; zero_padding2d (TFLite's PAD) with the zero
    point."""
    kind = layer.kind
    xq = np.asarray(xq, np.int64)
    if kind in (anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D, anne_ops.LAYER_GLOBAL_MAX_POOLING2D):
        class Steps:
            pass
        s = Steps()
        s.kind = (anne_ops.LAYER_GLOBAL_AVERAGE_POOLING1D if kind == anne_ops.LAYER_GLOBAL_AVERAGE_POOLING2D
                  else anne_ops.LAYER_GLOBAL_MAX_POOLING1D)
        s.quant, s.mults = layer.quant, getattr(layer, "mults", ())
        s.in_shape = (layer.in_shape[0] * layer.in_shape[1], layer.in_shape[2])
        return pool1d(s, xq.reshape(len(xq), s.in_shape[0], s.in_shape[1]))
    if kind == anne_ops.LAYER_ZERO_PADDING2D:
        t, b, left, r = layer.kparams[:4]
        return np.pad(xq, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=layer.quant[1]).reshape(
            len(xq), -1).astype(np.int8)
    kp = layer.kparams
    lo, hi = layer.quant[5], layer.quant[6]
    (h, w, c), (oh, ow, _) = layer.in_shape, layer.out_shape
    ys = _offsets(h, oh, kp[0], kp[2], kp[4])
    xs = _offsets(w, ow, kp[1], kp[3], kp[4])
    out = np.zeros((len(xq), oh, ow, c), np.int64)
    for r, row in enumerate(xq):
        for a, y0 in enumerate(ys):
            for b, x0 in enumerate(xs):
                win = row[max(y0, 0):min(y0 + kp[0], h), max(x0, 0):min(x0 + kp[1], w)].reshape(-1, c)
                if kind == anne_ops.LAYER_MAX_POOLING2D:
                    out[r, a, b] = np.clip(win.max(axis=0), lo, hi)
                    continue
                n = len(win)
                out[r, a, b] = np.clip([(v + n // 2) // n if v > 0 else -((-v + n // 2) // n)
                                        for v in win.sum(axis=0).tolist()], lo, hi)
    return out.reshape(len(xq), -1).astype(np.int8)


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
