# anne_fallback2d: anne_fallback's kernels for (height, width, channels)
# images, Conv2D, DepthwiseConv2D, ZeroPadding2D and the 2-D poolings (and
# UpSampling1D's repeated steps), in plain MicroPython: the
# definitions straight (src/layers/conv2d.rs, pool2d.rs), with the native
# module's checks and messages (c_glue/mod_plan.c). anne_fallback imports
# it for a layer of one of these kinds.

import anne_ops as _ops
from anne_core import _out_steps
from anne_activations import _apply, _store, _store_at

KINDS = (_ops.LAYER_CONV2D, _ops.LAYER_MAX_POOLING2D, _ops.LAYER_AVERAGE_POOLING2D, _ops.LAYER_DEPTHWISE_CONV2D,
         _ops.LAYER_ZERO_PADDING2D, _ops.LAYER_UP_SAMPLING1D)


def _bad_spec(i):
    raise _ops.err(39, i)  # SPEC_2D


def _out_len(out):
    mv = memoryview(out)
    return len(mv) // 4 if len(mv) and not isinstance(mv[0], float) else len(mv)


def _params(spec, n):
    p = list(spec[1:]) + [0] * n
    return p[:n]


def _plane(i, n_in, h, w, c, window, strides, padding):
    """((out_h, top), (out_w, left)) of layer i; ValueError as the native
    module's when the input is not h x w x c or a valid window does not fit."""
    try:
        if n_in != h * w * c:
            raise ValueError
        return (_out_steps(h, window[0], strides[0], padding), _out_steps(w, window[1], strides[1], padding))
    except ValueError:
        raise _ops.err(34, i, n_in, h, w, c)  # IMAGE_INPUTS


def _taps(o, stride, dil, pad, size, k):
    """The taps (k, input index) of output o along one axis, in range."""
    start = o * stride - pad
    return [(t, start + t * dil) for t in range(k) if 0 <= start + t * dil < size]


def _check_out(i, out, n):
    if _out_len(out) != n:
        raise _ops.err(35, i, _out_len(out))  # IMAGE_OUT


def _windows(i, xs, bs, act, out, what, F, plane, strides, dil, kernel, add):
    """The walk Conv2D and DepthwiseConv2D share: the checks on F outputs a
    position, then for each output position z = F zeros, add(z, x_at,
    kernel_tap) for each of its taps in range (x_at: the tap's input
    position times channels; kernel_tap: ky * kw + kx), the bias, the
    activation, written into out at once (no list of every output: a
    board's heap)."""
    (oh, top), (ow, left), h, w, cin = plane
    if act.id in _ops.HALVES:
        raise _ops.err(37 if what == "depthwise_conv2d" else 36, i)  # GLU_DEPTHWISE, GLU_CONV2D
    _check_out(i, out, oh * ow * F)
    if bs is not None and len(bs) != F:
        raise _ops.err(44, i, len(bs))  # CONV_BIAS
    (sh, sw), (dh, dw), (kh, kw) = strides, dil, kernel
    for oy in range(oh):
        ys = _taps(oy, sh, dh, top, h, kh)
        for ox in range(ow):
            z = [0.0] * F
            for ty, iy in ys:
                for tx, ix in _taps(ox, sw, dw, left, w, kw):
                    add(z, (iy * w + ix) * cin, ty * kw + tx)
            if bs is not None:
                for f in range(F):
                    z[f] += bs[f]
            _store_at(out, _apply(act, z), (oy * ow + ox) * F)


def conv2d(i, xs, ks, bs, act, out, spec):
    """Conv2D: out is out_h x out_w x filters, each position's taps in range
    summed row by row, channel by channel, then the bias. (DepthwiseConv2D:
    depthwise2d.)"""
    if spec[0] == _ops.LAYER_DEPTHWISE_CONV2D:
        return depthwise2d(i, xs, ks, bs, act, out, spec)
    h, w, cin, kh, kw, sh, sw, padding, dh, dw = _params(spec, 10)
    if min(h, w, cin, kh, kw, sh, sw, dh, dw) < 1 or padding > 1:
        _bad_spec(i)
    plane = _plane(i, len(xs), h, w, cin, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), (sh, sw), padding) + (h, w, cin)
    rows = kh * kw * cin
    F = len(ks) // rows
    if F == 0 or len(ks) % rows:
        raise _ops.err(32, i, len(ks), kh, kw, cin)  # CONV2D_KERNEL

    def add(z, at, tap):
        base = tap * cin * F
        for c in range(cin):
            xv = xs[at + c]
            kb = base + c * F
            for f in range(F):
                z[f] += xv * ks[kb + f]
    _windows(i, xs, bs, act, out, "conv2d", F, plane, (sh, sw), (dh, dw), (kh, kw), add)


def depthwise2d(i, xs, ks, bs, act, out, spec):
    """DepthwiseConv2D (src/layers/depthwise2d.rs): output channel
    c * depth_multiplier + m of each position sums input channel c's taps
    in range times kernel[ky, kx, c, m], then the bias."""
    h, w, cin, kh, kw, sh, sw, padding, dm, dh, dw = _params(spec, 11)
    if min(h, w, cin, kh, kw, sh, sw, dh, dw, dm) < 1 or padding > 1:
        _bad_spec(i)
    plane = _plane(i, len(xs), h, w, cin, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), (sh, sw), padding) + (h, w, cin)
    F = cin * dm
    if len(ks) != kh * kw * F:
        raise _ops.err(33, i, len(ks), kh, kw, cin, dm)  # DEPTHWISE_KERNEL

    def add(z, at, tap):
        base = tap * F
        for f in range(F):
            z[f] += xs[at + f // dm] * ks[base + f]
    _windows(i, xs, bs, act, out, "depthwise_conv2d", F, plane, (sh, sw), (dh, dw), (kh, kw), add)


def pad2d(i, xs, out, spec):
    """ZeroPadding2D: the input's rows between top and bottom zero rows,
    each between left and right zero positions."""
    h, w, c, top, bottom, left, right = _params(spec, 7)
    if min(h, w, c) < 1:
        raise _ops.err(38, i)  # PAD2D_SPEC
    if len(xs) != h * w * c:
        raise _ops.err(34, i, len(xs), h, w, c)  # IMAGE_INPUTS
    oh, ow = top + h + bottom, left + w + right
    _check_out(i, out, oh * ow * c)
    values = [0.0] * (oh * ow * c)
    for y in range(h):
        at = ((top + y) * ow + left) * c
        src = y * w * c
        for j in range(w * c):
            values[at + j] = xs[src + j]
    _store(out, values, len(values))


def _upsample1d_shape(i, n_in, spec):
    """(channels, size) of an UpSampling1D's spec; ValueError as the native module's."""
    c, size = _params(spec, 2)
    if c < 1 or size < 1 or any(spec[3:]):
        raise _ops.err(46, i)  # UPSAMPLE_SPEC
    if n_in == 0 or n_in % c:
        raise _ops.err(42, i, n_in, c)  # STEPS_INPUTS
    return c, size


def upsample1d(i, xs, out, spec):
    """UpSampling1D (src/layers/upsample1d.rs): each step of channels
    values repeated size times."""
    c, size = _upsample1d_shape(i, len(xs), spec)
    if _out_len(out) != len(xs) * size:
        raise _ops.err(43, i, _out_len(out))  # STEPS_OUT
    values = []
    for at in range(0, len(xs), c):
        values += list(xs[at:at + c]) * size
    _store(out, values, len(values))


def pool2d(i, xs, out, spec):
    """MaxPooling2D, AveragePooling2D: the max, or the mean, of each
    window's positions in range, per channel (a NaN wins a max).
    (ZeroPadding2D: pad2d; UpSampling1D: upsample1d.)"""
    if spec[0] == _ops.LAYER_ZERO_PADDING2D:
        return pad2d(i, xs, out, spec)
    if spec[0] == _ops.LAYER_UP_SAMPLING1D:
        return upsample1d(i, xs, out, spec)
    h, w, c, ph, pw, sh, sw, padding = _params(spec, 8)
    if min(h, w, c, ph, pw, sh, sw) < 1 or padding > 1:
        _bad_spec(i)
    (oh, top), (ow, left) = _plane(i, len(xs), h, w, c, (ph, pw), (sh, sw), padding)
    _check_out(i, out, oh * ow * c)
    is_max = spec[0] == _ops.LAYER_MAX_POOLING2D
    values = [0.0] * c
    for oy in range(oh):
        ys = _taps(oy, sh, 1, top, h, ph)
        for ox in range(ow):
            at = [(iy * w + ix) * c for _, iy in ys for _, ix in _taps(ox, sw, 1, left, w, pw)]
            for j in range(c):
                if is_max:
                    m = xs[at[0] + j]
                    for a in at[1:]:
                        v = xs[a + j]
                        if v > m or v != v:
                            m = v
                else:
                    m = 0.0
                    for a in at:
                        m += xs[a + j]
                    m /= len(at)
                values[j] = m
            _store_at(out, values, (oy * ow + ox) * c)


def merge(kind, out, xs, rows):
    """anne.merge: a graph's merge layer (src/layers/merge.rs): Add,
    Subtract, Multiply, Average, Maximum, Minimum over inputs of len(out)
    values in Keras's order (the first, then each next one in turn, each
    step rounded to float32 in out), Concatenate on the last axis (rows
    positions of len(x) // rows channels each)."""
    from anne_activations import _floats
    if not isinstance(kind, int) or not isinstance(rows, int) or kind < 0 or rows < 1:
        raise _ops.err(5)  # MERGE_KIND
    if not isinstance(xs, (tuple, list)):
        raise _ops.err(6)  # MERGE_XS
    if not 2 <= len(xs) <= 7:
        raise _ops.err(7, len(xs))  # MERGE_COUNT
    xs = [_floats(x, "x") for x in xs]
    dst = _floats(out, "out", True)
    if dst is not out:
        raise TypeError("out must be an array('f') or a view of float32")
    n = len(dst)
    if kind not in _ops.LAYER_INPUTS:
        raise _ops.err(77)  # UNKNOWN_KIND
    if kind == _ops.LAYER_SUBTRACT and len(xs) != 2:
        raise _ops.err(8)  # MERGE_SIZES
    if kind == _ops.LAYER_CONCATENATE:
        if any(not len(x) or len(x) % rows for x in xs) or sum(len(x) for x in xs) != n:
            raise _ops.err(8)  # MERGE_SIZES
        width = n // rows
        col = 0
        for x in xs:
            c = len(x) // rows
            for r in range(rows):
                for j in range(c):
                    dst[r * width + col + j] = x[r * c + j]
            col += c
        return out
    if any(len(x) != n for x in xs):
        raise _ops.err(8)  # MERGE_SIZES
    first = xs[0]
    for j in range(n):
        dst[j] = first[j]
    for x in xs[1:]:
        for j in range(n):
            a, v = dst[j], x[j]
            if kind == _ops.LAYER_ADD or kind == _ops.LAYER_AVERAGE:
                dst[j] = a + v
            elif kind == _ops.LAYER_SUBTRACT:
                dst[j] = a - v
            elif kind == _ops.LAYER_MULTIPLY:
                dst[j] = a * v
            elif kind == _ops.LAYER_MAXIMUM:
                dst[j] = v if v > a else a
            else:
                dst[j] = v if v < a else a
    if kind == _ops.LAYER_AVERAGE:
        for j in range(n):
            dst[j] = dst[j] / len(xs)
    return out


def backward(layer, spec, x, dy, scale, gk, gb, dx):
    """anne_fallback.layer_backward for the 2-D kinds, for one sample that
    read x (the native module's contract, src/layers/conv2d.rs's): a
    convolution's gk += scale * dL/dkernel, gb += scale * dL/dbias, dx =
    dL/dx (each may be None) from dy at its pre-activations; a pooling's and
    a ZeroPadding2D's dx from dy at its outputs (max: a window's first
    largest value, row by row, as TensorFlow's MaxPoolGrad; average: spread
    over the positions in range)."""
    from anne_activations import _check_len, _floats, _grads, _write_back
    xs, ds = _floats(x, "x"), _floats(dy, "dy")
    kind, n_in = spec[0], len(xs)
    conv = kind in (_ops.LAYER_CONV2D, _ops.LAYER_DEPTHWISE_CONV2D)
    if not conv:
        if gk is not None or gb is not None:
            raise _ops.err(58)  # BACKWARD_NO_WEIGHTS
        if dx is None:
            raise _ops.err(59)  # BACKWARD_DX
    if dx is not None:
        _check_len(_floats(dx, "dx"), n_in, "dx")
    acc = [0.0] * n_in
    if kind == _ops.LAYER_UP_SAMPLING1D:  # each step's copies' gradients summed in order
        c, size = _upsample1d_shape(0, n_in, spec)
        if len(ds) != n_in * size:
            _bad_dy(ds, n_in)
        for j in range(n_in):
            at = (j // c) * c * size + j % c
            s = 0.0
            for r in range(size):
                s += ds[at + r * c]
            acc[j] = s
        return _store(dx, acc, n_in)
    if kind == _ops.LAYER_ZERO_PADDING2D:
        h, w, c, top, bottom, left, right = _params(spec, 7)
        ow = left + w + right
        if min(h, w, c) < 1 or n_in != h * w * c or len(ds) != (top + h + bottom) * ow * c:
            _bad_dy(ds, n_in)
        for y in range(h):
            at = ((top + y) * ow + left) * c
            for j in range(w * c):
                acc[y * w * c + j] = ds[at + j]
        return _store(dx, acc, n_in)
    if not conv:
        h, w, c, ph, pw, sh, sw, padding = _params(spec, 8)
        if min(h, w, c, ph, pw, sh, sw) < 1 or padding > 1:
            _bad_spec(0)
        (oh, top), (ow, left) = _plane(0, n_in, h, w, c, (ph, pw), (sh, sw), padding)
        if len(ds) != oh * ow * c:
            _bad_dy(ds, n_in)
        is_max = kind == _ops.LAYER_MAX_POOLING2D
        for oy in range(oh):
            ys = _taps(oy, sh, 1, top, h, ph)
            for ox in range(ow):
                at = [(iy * w + ix) * c for _, iy in ys for _, ix in _taps(ox, sw, 1, left, w, pw)]
                for j in range(c):
                    d = ds[(oy * ow + ox) * c + j]
                    if is_max:
                        best = at[0]
                        for a in at[1:]:
                            if xs[a + j] > xs[best + j]:
                                best = a
                        acc[best + j] += d
                    else:
                        for a in at:
                            acc[a + j] += d / len(at)
        return _store(dx, acc, n_in)
    ks = _floats(layer[0], "kernel")
    if kind == _ops.LAYER_CONV2D:
        h, w, cin, kh, kw, sh, sw, padding, dh, dw = _params(spec, 10)
        dm = 0
        F = len(ks) // max(kh * kw * cin, 1)
    else:
        h, w, cin, kh, kw, sh, sw, padding, dm, dh, dw = _params(spec, 11)
        F = cin * dm
    per_tap = F if dm else cin * F
    if min(h, w, cin, kh, kw, sh, sw, dh, dw) < 1 or padding > 1 or F < 1 or len(ks) != kh * kw * per_tap:
        _bad_spec(0)
    (oh, top), (ow, left) = _plane(0, n_in, h, w, cin, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), (sh, sw), padding)
    if len(ds) != oh * ow * F:
        _bad_dy(ds, n_in)
    g, b = _grads(gk, gb, len(ks), F)
    for oy in range(oh):
        ys = _taps(oy, sh, dh, top, h, kh)
        for ox in range(ow):
            o = (oy * ow + ox) * F
            for ty, iy in ys:
                for tx, ix in _taps(ox, sw, dw, left, w, kw):
                    at = (iy * w + ix) * cin
                    tap = (ty * kw + tx) * per_tap
                    if dm:  # depthwise: output channel f reads input channel f // dm
                        for f in range(F):
                            if g is not None:
                                g[tap + f] += xs[at + f // dm] * scale * ds[o + f]
                            acc[at + f // dm] += ks[tap + f] * ds[o + f]
                        continue
                    for ci in range(cin):
                        kb = tap + ci * F
                        if g is not None:
                            sx = xs[at + ci] * scale
                            for f in range(F):
                                g[kb + f] += sx * ds[o + f]
                        v = 0.0
                        for f in range(F):
                            v += ks[kb + f] * ds[o + f]
                        acc[at + ci] += v
            if b is not None:
                for f in range(F):
                    b[f] += scale * ds[o + f]
    if dx is not None:
        _store(dx, acc, n_in)
    _write_back((gk, g), (gb, b))


def _bad_dy(ds, n_in):
    raise _ops.err(60, len(ds), n_in)  # BACKWARD_DY
