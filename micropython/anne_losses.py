# anne_losses: the losses and metrics of anne_train (Keras's names,
# reduction and numerics), per sample: the pure-Python training loop's, and
# the names and codes the native loop is given.

import math

from anne_core import _argmax


_EPS = 1e-7  # keras.backend.epsilon()


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------
# Losses: Keras 3's, per sample (mean over the outputs for mse, mae and
# binary cross-entropy, sum for the categorical ones), averaged over the
# batch. With a sigmoid or softmax output layer, Keras's TensorFlow backend
# computes binary and categorical cross-entropy from the logits, and so do
# these (sparse categorical cross-entropy it computes from the clipped
# probabilities, and so do these).

LOSSES = ("mean_squared_error", "mean_absolute_error", "binary_crossentropy",
          "categorical_crossentropy", "sparse_categorical_crossentropy")
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}


def loss_name(loss):
    if not isinstance(loss, str):
        raise TypeError("loss must be a str, one of %s" % ", ".join(LOSSES + tuple(LOSS_ALIASES)))
    name = LOSS_ALIASES.get(loss, loss)
    if name not in LOSSES:
        raise ValueError("unknown loss %r; anne knows %s" % (loss, ", ".join(LOSSES + tuple(LOSS_ALIASES))))
    return name


def _log_sum_exp(values):
    """log(sum(exp(v))), shifted by the largest value (no overflow)."""
    m = max(values)
    e = 0.0
    for v in values:
        e += math.exp(v - m)
    return m + math.log(e)


def _clip(v):
    return _EPS if v < _EPS else 1.0 - _EPS if v > 1.0 - _EPS else v


def loss_and_grad(loss, act, z, y, t):
    """(per-sample loss, dL/dz or None, dL/dy or None) for output y (z its
    pre-activation, act the output activation's name) and target t (a row,
    or a class index for the sparse loss). One of the gradients is given:
    dL/dz where the loss is computed from the logits."""
    n = len(y)
    if loss == "mean_squared_error":
        s = 0.0
        for i in range(n):
            d = y[i] - t[i]
            s += d * d
        return s / n, None, [2.0 * (y[i] - t[i]) / n for i in range(n)]
    if loss == "mean_absolute_error":
        s = 0.0
        g = [0.0] * n
        for i in range(n):
            d = y[i] - t[i]
            s += abs(d)
            g[i] = (1.0 if d > 0 else -1.0 if d < 0 else 0.0) / n
        return s / n, None, g
    if loss == "binary_crossentropy":
        s = 0.0
        if act == "sigmoid":
            g = [0.0] * n
            for i in range(n):
                x = z[i]
                s += max(x, 0.0) - x * t[i] + math.log(1.0 + math.exp(-abs(x)))
                g[i] = (_sigmoid(x) - t[i]) / n
            return s / n, g, None
        g = [0.0] * n
        for i in range(n):
            p = _clip(y[i])
            s -= t[i] * math.log(p) + (1.0 - t[i]) * math.log(1.0 - p)
            inside = _EPS <= y[i] <= 1.0 - _EPS
            g[i] = (-t[i] / p + (1.0 - t[i]) / (1.0 - p)) / n if inside else 0.0
        return s / n, None, g
    if loss == "categorical_crossentropy":
        if act == "softmax":
            lse = _log_sum_exp(z)
            s = 0.0
            st = 0.0
            for i in range(n):
                s -= t[i] * (z[i] - lse)
                st += t[i]
            return s, [math.exp(z[i] - lse) * st - t[i] for i in range(n)], None
        total = 0.0
        for v in y:
            total += v
        s = 0.0
        q = [_clip(v / total) for v in y]
        for i in range(n):
            s -= t[i] * math.log(q[i])
        # d/dy_j of -sum_i t_i log(y_i / total) (where not clipped)
        st = 0.0
        for v in t:
            st += v
        g = [0.0] * n
        for j in range(n):
            r = y[j] / total
            g[j] = (st / total - t[j] / y[j]) if _EPS <= r <= 1.0 - _EPS and y[j] else 0.0
        return s, None, g
    # sparse categorical cross-entropy from the clipped probabilities:
    # logits log(clip(y)), then softmax cross-entropy with the label.
    label = t
    lp = [math.log(_clip(v)) for v in y]
    lse = _log_sum_exp(lp)
    g = [0.0] * n
    for j in range(n):
        dl = math.exp(lp[j] - lse) - (1.0 if j == label else 0.0)
        g[j] = dl / _clip(y[j]) if _EPS <= y[j] <= 1.0 - _EPS else 0.0
    return lse - lp[label], None, g


# ---------------------------------------------------------------------------
# Metrics

METRICS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error")
METRIC_ALIASES = {"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}


def metric_kind(name, loss, n_out):
    """The metric Keras computes for name (as given to compile) -> its kind."""
    kind = METRIC_ALIASES.get(name, name) if isinstance(name, str) else None
    if kind not in METRICS:
        raise ValueError("unknown metric %r; anne knows %s" % (name, ", ".join(METRICS + tuple(METRIC_ALIASES))))
    if kind == "accuracy":
        if loss == "sparse_categorical_crossentropy":
            return "sparse_categorical_accuracy"
        if loss == "binary_crossentropy" or n_out == 1:
            return "binary_accuracy"
        return "categorical_accuracy"
    return kind


def metric_value(kind, y, t):
    n = len(y)
    if kind == "binary_accuracy":
        s = 0.0
        for i in range(n):
            s += 1.0 if (y[i] > 0.5) == (t[i] > 0.5) else 0.0
        return s / n
    if kind == "categorical_accuracy":
        return 1.0 if _argmax(y) == _argmax(t) else 0.0
    if kind == "sparse_categorical_accuracy":
        return 1.0 if _argmax(y) == t else 0.0
    s = 0.0
    for i in range(n):
        d = y[i] - t[i]
        s += d * d if kind == "mean_squared_error" else abs(d)
    return s / n
