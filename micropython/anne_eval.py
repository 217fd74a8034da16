# anne_eval: what anne_net's networks report, and a stream into them,
# imported when first used: net.evaluate() without compile(),
# net.classify(), net.summary(), anne_net.confusion_matrix() (the functions
# take the network as `self`) and anne_net.Window.

import math
from array import array

import anne_ops
from anne_core import _argmax, _floats_for, _shape_text, _zeros
from anne_layers import _int_arg


def _task(self, y):
    """"classification" or "regression", from the labels as Keras's
    losses would read them: class indices (ints, bools, or integral
    floats in range) or one-hot rows -> classification; other floats
    (one output) or rows of floats -> regression."""
    n_out = self.n_outputs
    first = y[0]
    if isinstance(first, (list, tuple, array)):
        if n_out > 1 and all(len(t) == n_out and sum(1 for v in t if v == 1) == 1
                             and sum(1 for v in t if v == 0) == n_out - 1 for t in y):
            return "classification"  # one-hot
        return "regression"
    classes = max(2, n_out)
    if all(isinstance(t, (bool, int)) or (isinstance(t, float) and t == int(t) and 0 <= t < classes)
           for t in y):
        return "classification"
    if n_out != 1:
        raise ValueError("labels are scalars but not class indices (0..%d) for %d outputs"
                         % (n_out - 1, n_out))
    return "regression"

def evaluate(self, X, y, task=None):
    """net.evaluate() (its docstring says what it does)."""
    if self._compiled is not None and task is None:
        import anne_train
        return anne_train.evaluate(self, self._compiled, X, y)
    if not isinstance(X, (list, tuple)):  # a flat float32 buffer: its rows, in place
        import anne_train
        X = anne_train._rows(X, self.n_inputs, "X")
    if len(X) != len(y):
        raise ValueError("%d inputs but %d labels" % (len(X), len(y)))
    if len(X) == 0:
        raise ValueError("nothing to evaluate")
    if task is None:
        task = self._task(y)
    if task not in ("regression", "classification"):
        raise ValueError("task must be 'classification' or 'regression'")
    out = _floats_for(self.n_outputs)
    xa = _floats_for(self.n_inputs)
    eps = 1e-7
    total = 0.0
    correct = 0
    for i in range(len(X)):
        t = y[i]
        self._floats_into(self._row(X[i], i, xa), out)
        if task == "regression":
            if not isinstance(t, (list, tuple, array)):
                t = (t,)
            if len(t) != len(out):
                raise ValueError("target %d has %d values, the network gives %d" % (i, len(t), len(out)))
            s = 0.0
            for j in range(len(out)):
                d = out[j] - t[j]
                s += d * d
            total += s / len(out)
            continue
        if isinstance(t, (list, tuple, array)):  # one-hot
            if len(t) != len(out):
                raise ValueError("label %d has %d values, the network gives %d" % (i, len(t), len(out)))
            t = _argmax(t)
        t = int(t)
        if not 0 <= t < max(2, len(out)):
            raise ValueError("label %d is %d, out of range for %d outputs" % (i, t, len(out)))
        if len(out) == 1:
            p = min(max(out[0], eps), 1.0 - eps)
            pred = 1 if out[0] > 0.5 else 0
            total -= math.log(p) if t == 1 else math.log(1.0 - p)
        else:
            s = 0.0
            for v in out:
                s += v
            p = out[t] / s if s != 0 else 0.0
            p = min(max(p, eps), 1.0 - eps)
            total -= math.log(p)
            pred = self._backend.argmax(out)
        correct += pred == t
    n = len(X)
    if task == "regression":
        return {"loss": total / n, "mse": total / n, "n": n}
    return {"loss": total / n, "accuracy": correct / n, "n": n}

def classify(self, X):
    """net.classify() (its docstring says what it does)."""
    out = _floats_for(self.n_outputs)
    xa = _floats_for(self.n_inputs)
    names = self.classes
    if names is not None and len(names) != max(2, self.n_outputs):
        names = None
    preds = []
    for i in range(len(X)):
        self._floats_into(self._row(X[i], i, xa), out)
        k = (1 if out[0] > 0.5 else 0) if len(out) == 1 else self._backend.argmax(out)
        preds.append(k if names is None else names[k])
    return preds

def summary(self):
    """net.summary() (its docstring says what it does)."""
    from anne_io import _folded_text
    line = "-" * 78
    print('Model: "%s"  (input %s, backend %s)' % (self.name or "sequential", _shape_text(self.input_shape),
                                                self.backend))
    print(line)
    print("%-3s %-22s %-10s %-28s %7s %6s" % ("#", "Layer", "Output", "Activation", "Param #", "Bytes"))
    print("=" * 78)
    total = 0
    for i, L in enumerate(self._layers):
        act = L._name if L.weighted else ""
        if L.params:
            act += "(" + ",".join("%s=%s" % (k, _fmt(L.params[k])) for k in L.params) + ")"
        n = L.n_params
        total += n
        name = type(L).__name__ + ("*" if L.weighted and not L.use_bias else "")
        print("%-3d %-22s %-10s %-28s %7d %6d" % (i, name, _shape_text(L.output_shape)[1:-1].rstrip(","),
                                                   act, n, 4 * n))
        options = L._options() if L.kind != anne_ops.LAYER_DENSE else ""
        if options:
            print("    %s" % options)
    print("=" * 78)
    print("Total params: %d (%d bytes of float32)" % (total, 4 * total))
    m = self.memory()
    print("Activations: %d bytes, one arena for %d tensors (lower bound %d bytes), planned before it was "
          "allocated" % (m["arena"], m["tensors"], m["lower_bound"]))
    if any(L.weighted and not L.use_bias for L in self._layers):
        print("* use_bias=False")
    for key in self.metadata:
        v = self.metadata[key]
        if key != "name":
            print("%s: %s" % (key, ", ".join(v) if isinstance(v, list) else v))
    folded = _folded_text(self._layers)
    if folded:
        print("folded: %s" % folded)
    print(line)

def _fmt(v):
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def confusion_matrix(labels, preds, n_classes=None, classes=None):
    """rows: true class, columns: predicted class. Labels and predictions
    are class indices, or class names when classes (e.g. net.classes)
    gives them."""
    def index(v, what):
        if isinstance(v, str):
            if classes is None or v not in classes:
                raise ValueError("%s %r is not a class name%s" % (
                    what, v, "" if classes is None else " (%s)" % ", ".join(classes)))
            return classes.index(v)
        return int(v)

    labels = [index(v, "label") for v in labels]
    preds = [index(v, "prediction") for v in preds]
    if n_classes is None:
        n_classes = len(classes) if classes is not None else max(max(labels), max(preds)) + 1
    m = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(labels, preds):
        m[t][p] += 1
    return m


# ---------------------------------------------------------------------------
# Streams

class Window:
    """Window(net, hop=1): the last `steps` samples of a sensor stream, for
    a network on (steps, channels) windows (or (n,): n samples of one
    channel). w.push(sample) stores one sample (channels values, or a number
    for one channel) and, once the window is full and every `hop` samples,
    runs the network on the window, oldest sample first, and returns its
    outputs (w.out, overwritten by the next run); otherwise None. Nothing
    is allocated per sample: the samples go into a ring buffer stored twice
    over, so that every window is one contiguous view, made in advance."""

    def __init__(self, net, hop=1):
        shape = net.input_shape
        if shape is None or not net.layers:
            raise ValueError("Window needs a network with an input shape and layers")
        if len(shape) > 2:
            raise ValueError("Window streams (steps,) or (steps, channels) inputs, this one is %s"
                             % _shape_text(shape))
        self.steps, self.channels = shape if len(shape) == 2 else (shape[0], 1)
        self.hop = _int_arg(hop, "hop")
        self.net = net
        n = self.steps * self.channels
        self._ring = _zeros(2 * n)
        ring = memoryview(self._ring)
        self._views = [ring[i * self.channels:i * self.channels + n] for i in range(self.steps)]
        self.out = _floats_for(net.n_outputs)
        self.reset()

    def reset(self):
        """Forgets the samples: the next window is due after `steps` more."""
        self._head = 0      # where the next sample goes (0..steps-1)
        self._filled = 0    # samples stored, up to steps
        self._since = 0     # samples since the last run

    def push(self, sample):
        c = self.channels
        i = self._head * c
        j = i + self.steps * c
        ring = self._ring
        if c == 1 and not isinstance(sample, (list, tuple, array)):
            ring[i] = ring[j] = sample
        else:
            if len(sample) != c:
                raise ValueError("a sample has %d values, the window takes %d channels" % (len(sample), c))
            for k in range(c):
                ring[i + k] = ring[j + k] = sample[k]
        self._head += 1
        if self._head == self.steps:
            self._head = 0
        if self._filled < self.steps:
            self._filled += 1
        self._since += 1
        if self._filled < self.steps or self._since < self.hop:
            return None
        self._since = 0
        return self.net.predict_into(self._views[self._head], self.out)
