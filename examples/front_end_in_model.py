"""A classifier with the whole audio front end inside the Keras model.

Trains on generated low / high tones, evaluates, exports one SavedModel that takes raw
waveforms (any batch, any length) and serves it with plain TensorFlow.

    python examples/front_end_in_model.py [--epochs 5] [--out /tmp/tone_classifier]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfaudio  # noqa: E402

SR = 16000


def make_tones(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-second clips: label 0 = tone below 500 Hz, 1 = tone above 1500 Hz."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    f0 = np.where(labels == 0, rng.uniform(100, 500, n), rng.uniform(1500, 4000, n))
    t = np.arange(SR) / SR
    x = rng.uniform(0.1, 0.9, (n, 1)) * np.sin(2 * np.pi * f0[:, None] * t)
    x += 0.05 * rng.standard_normal(x.shape)
    return x.astype(np.float32), labels.astype(np.int32)


def build_model() -> keras.Model:
    inp = keras.Input((None,), name="waveform")
    x = tfaudio.layers.MelSpectrogram(SR, n_fft=512, hop_length=160, win_length=400,
                                      n_mels=64)(inp)
    x = tfaudio.layers.PowerToDb(top_db=80.0)(x)
    x = keras.layers.Rescaling(1 / 40.0, offset=1.0)(x)
    x = keras.layers.Conv1D(32, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="/tmp/tone_classifier")
    args = parser.parse_args()

    x_train, y_train = make_tones(256, seed=0)
    x_test, y_test = make_tones(64, seed=1)
    model = build_model()
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=True)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=2)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {acc:.3f}")

    model.export(args.out, verbose=False)
    served = tf.saved_model.load(args.out)
    # Any batch and any length: here 3 clips of 0.5 s.
    probs = served.serve(tf.constant(x_test[:3, : SR // 2])).numpy()
    print("served predictions", probs.argmax(-1).tolist(), "labels", y_test[:3].tolist())


if __name__ == "__main__":
    main()
