#!/usr/bin/env python3
"""Trains the keyword-spotting example, a DS-CNN on spectrograms of
synthetic "words", and writes what the board needs. Run by hand
(TensorFlow and LiteRT; the board and the tests only need the files it
writes, which are committed):

    ../venv-tf/bin/python examples/kws/make_kws.py

The words, half a second of sound at 8 kHz with background noise: "rise"
(a tone sweeping up, from 300-1500 Hz to 1800-3600 Hz), "fall" (sweeping
down), "hum" (a steady tone and its second harmonic) and "silence" (the
noise alone).
Their length, place in the clip, pitch, loudness and the noise vary from
clip to clip. Each clip becomes a log-magnitude spectrogram of 20 frames
(256 samples, hop 192, Hann window) x 10 frequency bands of 375 Hz, the
input shape (20, 10, 1) of a small MLPerf-Tiny-like DS-CNN: Conv2D 5x3
strides 2 + BatchNormalization + ReLU, two depthwise-separable blocks
(DepthwiseConv2D 3x3 + BN + ReLU, 1x1 Conv2D + BN + ReLU), Dropout,
AveragePooling2D over the whole plane, Flatten, Dense softmax.

Writes, next to this file (tools/make_cnn_example.py describes them):
kws.keras, kws.tflite (TensorFlow's full-integer conversion), kws.anne and
kws_int8.anne (both converted), kws_test.jsonl and kws_test_int8.jsonl (24
held-out clips: their 200 spectrogram values, rounded to 2 decimals, frame
by frame, with Keras's probabilities for exactly those values; quantized,
with LiteRT's int8 outputs). See docs/cnn-examples.md.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
import make_cnn_example  # noqa: E402

WORDS = ["rise", "fall", "hum", "silence"]
RATE = 8000
CLIP = RATE // 2          # half a second
FRAME, HOP = 256, 192     # 20 frames
BANDS = 10                # of 375 Hz: 0 .. 3750 Hz
HELD_OUT = 24             # rows the board checks
SEED = 31


def clip(rng, word):
    """One clip (CLIP samples) of a word, with background noise."""
    x = rng.normal(0.0, rng.uniform(0.03, 0.3), CLIP)
    if word == 3:
        return x
    n = int(rng.uniform(0.12, 0.35) * RATE)
    start = rng.integers(0, CLIP - n)
    t = np.arange(n) / RATE
    amp = rng.uniform(0.2, 1.0)
    if word == 2:
        f0 = rng.uniform(300, 1500)
        s = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t + rng.uniform(0, 6.3))
    else:
        lo, hi = rng.uniform(300, 1500), rng.uniform(1800, 3600)
        f_start, f_end = (lo, hi) if word == 0 else (hi, lo)
        dur = n / RATE
        phase = 2 * np.pi * (f_start * t + (f_end - f_start) * t * t / (2 * dur))
        s = np.sin(phase)
    x[start:start + n] += amp * np.hanning(n) * s
    return x


def spectrogram(x):
    """log(|STFT|) summed into BANDS bands: (frames, BANDS)."""
    win = np.hanning(FRAME)
    frames = np.stack([x[i:i + FRAME] * win for i in range(0, len(x) - FRAME + 1, HOP)])
    mag = np.abs(np.fft.rfft(frames, axis=1))[:, :120]     # 120 bins of 31.25 Hz
    bands = mag.reshape(len(frames), BANDS, 12).mean(axis=2)
    return np.log(bands + 1e-3)


def dataset(rng, n):
    labels = rng.integers(0, len(WORDS), n)
    x = np.stack([spectrogram(clip(rng, w)) for w in labels])[..., None]
    return np.round(x, 2).astype(np.float32), labels


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from keras import layers

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    x, y = dataset(rng, 2000)
    n_test = 400
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    frames, bands = x.shape[1:3]

    def block(h, filters):
        h = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(h)
        h = layers.BatchNormalization()(h)
        h = layers.ReLU()(h)
        h = layers.Conv2D(filters, 1, use_bias=False)(h)
        h = layers.BatchNormalization()(h)
        return layers.ReLU()(h)

    inp = keras.Input((frames, bands, 1))
    h = layers.Conv2D(16, (5, 3), strides=2, padding="same", use_bias=False)(inp)   # 10 x 5 x 16
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = block(h, 16)
    h = block(h, 16)
    h = layers.Dropout(0.2)(h)
    h = layers.AveragePooling2D((frames // 2, bands // 2))(h)
    h = layers.Flatten()(h)
    h = layers.Dense(len(WORDS), activation="softmax")(h)
    model = keras.Model(inp, h, name="kws")
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    make_cnn_example.write(HERE, "kws", model, WORDS, x_train, x_test, y_test, HELD_OUT,
                           value=lambda v: round(float(v), 2))


if __name__ == "__main__":
    main()
