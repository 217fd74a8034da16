"""The numpy (and plain int) references of the int8 layers beyond Dense
that anne_format.Layer.forward_int8 runs on a parsed file: LiteRT's
reference kernels written out again on the PC (the board's are
micropython/anne_int8_conv.py and the Rust kernels)."""

import numpy as np

import anne_int8_act


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
