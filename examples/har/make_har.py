#!/usr/bin/env python3
"""Trains the human-activity example on synthetic 3-axis accelerometer
windows and writes what the board needs. Needs Keras 3 (any backend); the
board and `make demo` only need the files it writes, which are committed:

    KERAS_BACKEND=jax python3 examples/har/make_har.py

Writes, next to this file:
  har.keras        the Keras model: Conv1D, pooling, Conv1D, global average, Dense
  har.anne         converted by tools/anne_convert.py (with the class names)
  har_stream.json  a recording the board replays sample by sample: 24 s at
                   25 Hz, 8 s of each activity, and Keras's own predictions
                   for the windows the board will see (every 8th sample)

The activities, as an accelerometer in a pocket sees them (in g): still
(gravity on z, sensor noise), walking (about 1.8 steps/s, a bounce on z and
a sway on x and y) and running (about 2.8 steps/s, harder). The frequency,
amplitude and phase vary from window to window.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
import anne_convert  # noqa: E402

RATE = 25           # samples per second
STEPS = 32          # window: 1.28 s
HOP = 8             # the board runs the network every 8 samples
CLASSES = ["still", "walking", "running"]


def motion(rng, activity, n, t0=0.0):
    """n samples (n x 3, in g) of one activity starting at time t0."""
    t = t0 + np.arange(n) / RATE
    x = np.zeros((n, 3))
    x[:, 2] = 1.0  # gravity
    if activity == 0:
        x += rng.normal(0, 0.02, (n, 3))
        return x
    f = rng.uniform(1.6, 2.0) if activity == 1 else rng.uniform(2.5, 3.1)
    a = rng.uniform(0.25, 0.4) if activity == 1 else rng.uniform(0.7, 1.0)
    ph = rng.uniform(0, 2 * np.pi, 3)
    x[:, 2] += a * np.sin(2 * np.pi * f * t + ph[2])
    x[:, 0] += 0.5 * a * np.sin(np.pi * f * t + ph[0])
    x[:, 1] += 0.3 * a * np.sin(np.pi * f * t + ph[1])
    x += rng.normal(0, 0.05 if activity == 1 else 0.1, (n, 3))
    return x


def dataset(rng, n):
    labels = rng.integers(0, 3, n)
    x = np.stack([motion(rng, a, STEPS, rng.uniform(0, 10)) for a in labels])
    return x.astype(np.float32), labels


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from keras import layers
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x, y = dataset(rng, 1200)
    model = keras.Sequential([
        keras.Input((STEPS, 3)),
        layers.Conv1D(8, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax")], name="har")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:1000], y[:1000], epochs=20, batch_size=32, verbose=0)
    acc = model.evaluate(x[1000:], y[1000:], verbose=0)[1]
    print("har: held-out window accuracy %.3f" % acc)
    model.save(os.path.join(HERE, "har.keras"))
    conv = anne_convert.convert(os.path.join(HERE, "har.keras"))
    conv.set_metadata(classes=CLASSES, features=["x", "y", "z"])
    with open(os.path.join(HERE, "har.anne"), "wb") as f:
        f.write(conv.encode())
    # the recording: 8 s still, 8 s walking, 8 s running
    seg = 8 * RATE
    stream = np.concatenate([motion(rng, a, seg, a * 8.0) for a in range(3)]).astype(np.float32)
    stream = np.round(stream, 3).astype(np.float32)
    truth = [a for a in range(3) for _ in range(seg)]
    ends = list(range(STEPS - 1, len(stream), HOP))  # the sample after which the board predicts
    wins = np.stack([stream[e - STEPS + 1:e + 1] for e in ends])
    probs = model.predict(wins, verbose=0)
    with open(os.path.join(HERE, "har_stream.json"), "w") as f:
        json.dump({"rate": RATE, "hop": HOP, "classes": CLASSES,
                   "samples": [[round(float(v), 3) for v in s] for s in stream], "truth": truth,
                   "ends": ends, "keras": [[round(float(p), 6) for p in r] for r in probs]}, f)
    print("har: stream of %d samples, %d windows" % (len(stream), len(ends)))


if __name__ == "__main__":
    main()
