# anne_callbacks: what anne_train's fit() reports and is steered by: the
# History, EarlyStopping, the per-epoch logs and the verbose lines.

from array import array




# ---------------------------------------------------------------------------
# Callbacks and history

class History:
    """What fit() returns: .history (Keras's dict of per-epoch lists),
    .epoch, .params."""

    def __init__(self, params):
        self.history = {}
        self.epoch = []
        self.params = params

    def __repr__(self):
        return "<History %s>" % self.history


class EarlyStopping:
    """keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0,
    patience=0, mode="auto", restore_best_weights=False)."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        if mode not in ("auto", "min", "max"):
            raise ValueError("mode must be 'auto', 'min' or 'max', not %r" % (mode,))
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.bigger = mode == "max" or (mode == "auto" and ("acc" in monitor))
        self.stopped_epoch = 0

    def _begin(self):
        self.best = None
        self.wait = 0
        self.best_weights = None
        self.stopped_epoch = 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.bigger:
            return value - self.min_delta > self.best
        return value + self.min_delta < self.best

    def _end_epoch(self, epoch, logs, weights):
        """True to stop. weights() gives a copy of the current weights."""
        if self.monitor not in logs:
            raise ValueError("EarlyStopping monitors %r, which fit does not report (it has %s)"
                             % (self.monitor, ", ".join(sorted(logs))))
        value = logs[self.monitor]
        if self._improved(value):
            self.best = value
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = weights()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return False


_LOSS_NOT_FINITE = ("the loss is not finite at epoch %d, batch %d: training stopped; the weights and "
                    "the optimizer's state are those of the last finite step (lower the learning rate?)")
_STEP_NOT_FINITE = ("a step makes the weights or the optimizer's state non-finite at epoch %d, batch %d: "
                    "training stopped; they are those of the last finite step (lower the learning rate?)")


def _logs(c, loss, metrics, val):
    """An epoch's (or evaluate()'s) logs, Keras's keys: loss, each metric,
    and from val = (loss, metrics) on the validation data, val_ each."""
    logs = {"loss": loss}
    for i, (m, _) in enumerate(c.metrics):
        logs[m] = metrics[i]
    if val is not None:
        logs["val_loss"] = val[0]
        for i, (m, _) in enumerate(c.metrics):
            logs["val_" + m] = val[1][i]
    return logs


def _end_epoch(history, epoch, epochs, logs, verbose, t0, ticks_ms, callbacks, layers):
    """The epoch's logs into history, its line (verbose), the callbacks:
    True to stop."""
    history.epoch.append(epoch)
    for k in logs:
        history.history.setdefault(k, []).append(logs[k])
    if verbose:
        line = "Epoch %d/%d - " % (epoch + 1, epochs) + " - ".join("%s: %.4f" % (k, logs[k]) for k in logs)
        if t0 is not None:
            line += " - %dms" % (ticks_ms() - t0)
        print(line)
    stop = False
    for cb in callbacks:
        weights = lambda: [_copy(L._kernel) for L in layers] + [_copy(L._bias) for L in layers]  # noqa: E731
        if cb._end_epoch(epoch, logs, weights):
            stop = True
    return stop


def _copy(w):
    return None if w is None else array("f", w)


def _restore_best(callbacks, layers):
    for cb in callbacks:
        if cb.restore_best_weights and cb.best_weights is not None:
            n = len(layers)
            for i, L in enumerate(layers):
                if L._kernel is not None:
                    L._kernel[:] = cb.best_weights[i]
                if L._bias is not None:
                    L._bias[:] = cb.best_weights[n + i]


def _history(n, batch_size, epochs, verbose, callbacks):
    history = History({"epochs": epochs, "steps": (n + batch_size - 1) // batch_size, "verbose": verbose})
    for cb in callbacks:
        cb._begin()
    return history
