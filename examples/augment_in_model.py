"""Augmentation inside the model: train with it, export without it, look at what it does.

A small classifier of synthetic tones (which of 4 pitches?) with waveform augmentation
(AddNoise, RandomGain, RandomShift) before the log-mel front end and SpecAugment after
it. Keras runs the augmentation only in ``fit``; ``model.export`` serves the same
weights with no augmentation op (checked here against a model built without the
augmentation layers). Also writes ``augment_grid.png``: the original log-mel of one clip
next to the output of each augmentation layer.

Run:
    python examples/augment_in_model.py --out /tmp/augment_demo
"""

from __future__ import annotations

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

from tfaudio import layers as L

SR = 16000
PITCHES = (300.0, 500.0, 800.0, 1200.0)


def make_data(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(PITCHES), n)
    t = np.arange(length) / SR
    f = np.asarray(PITCHES)[labels][:, None] * rng.uniform(0.97, 1.03, (n, 1))
    x = rng.uniform(0.1, 0.8, (n, 1)) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6, (n, 1)))
    return x.astype(np.float32), labels.astype(np.int32)


def front_end() -> list[keras.layers.Layer]:
    return [L.MelSpectrogram(SR, n_fft=512, hop_length=160, win_length=400, n_mels=40),
            L.PowerToDb(top_db=80.0)]


def build(augment: bool) -> tuple[keras.Model, keras.Model]:
    """The classifier, and (same layers) the model without augmentation."""
    inp = keras.Input((None,))
    waveform_aug = [L.AddNoise(snr_db=(5.0, 30.0), seed=1), L.RandomGain(-6.0, 6.0, seed=2),
                    L.RandomShift(0.2, seed=3)]
    spec_aug = L.SpecAugment(freq_mask_param=6, time_mask_param=10, time_warp_param=3,
                             mask_value=-80.0, seed=4)
    fe = front_end()
    head = [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(len(PITCHES))]

    def run(x, with_aug):
        if with_aug:
            for layer in waveform_aug:
                x = layer(x)
        for layer in fe:
            x = layer(x)
        if with_aug:
            x = spec_aug(x)
        for layer in head:
            x = layer(x)
        return x

    return keras.Model(inp, run(inp, augment)), keras.Model(inp, run(inp, False))


def save_grid(path: str, clip: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mel, db = front_end()
    rir = np.exp(-np.arange(3200) / 600.0) * np.random.default_rng(0).standard_normal(3200)
    wave_layers = {
        "AddNoise 5-10 dB": L.AddNoise((5.0, 10.0), seed=0),
        "AddNoise pink 5 dB": L.AddNoise((5.0, 5.0), "pink", seed=0),
        "RandomGain -12 dB": L.RandomGain(-12.0, -12.0, seed=0),
        "RandomShift 30%": L.RandomShift(0.3, seed=1),
        "Reverb": L.Reverb([rir], seed=0),
        "SpeedPerturbation 1.2": L.SpeedPerturbation((1.2,), seed=0),
    }
    spec_layers = {
        "FrequencyMasking": L.FrequencyMasking(10, n_masks=2, mask_value=-80.0, seed=0),
        "TimeMasking": L.TimeMasking(30, n_masks=2, mask_value=-80.0, seed=0),
        "TimeWarp 20": L.TimeWarp(20, seed=3),
        "SpecAugment": L.SpecAugment(10, 30, time_warp_param=10, mask_value=-80.0, seed=0),
    }
    x = clip[None]
    panels = [("original", db(mel(x)))]
    panels += [(name, db(mel(lay(x, training=True)))) for name, lay in wave_layers.items()]
    base = db(mel(x))
    panels += [(name, lay(base, training=True)) for name, lay in spec_layers.items()]
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, (name, spec) in zip(axes.flat, panels, strict=False):
        ax.imshow(np.asarray(spec)[0].T, origin="lower", aspect="auto", vmin=-80, vmax=0,
                  cmap="magma")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("tfaudio augmentation (log-mel, 40 bands, 1 s)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="augment_demo")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    x, y = make_data(256, SR // 2)
    x_val, y_val = make_data(64, SR // 2, seed=1)
    model, plain = build(augment=True)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=True)
    history = model.fit(x, y, batch_size=32, epochs=args.epochs, verbose=0,
                        validation_data=(x_val, y_val))
    acc = float(history.history["val_accuracy"][-1])

    export_dir = os.path.join(args.out, "exported")
    model.export(export_dir, verbose=False)
    served = tf.saved_model.load(export_dir)
    got = served.serve(tf.constant(x_val)).numpy()
    want = plain.predict(x_val, verbose=0)  # same weights, no augmentation layers
    max_diff = float(np.max(np.abs(got - want)))
    # The same computation, but the serving graph and predict() may pick different CPU
    # kernels (oneDNN, by CPU and batch shape): equal up to float32 rounding (measured
    # 0.0 on an AVX-512 CPU, 2.3e-5 on logits of ~10 on an AVX2 one). Any augmentation
    # left in the graph would move logits by far more.
    bound = 1e-5 * max(1.0, float(np.max(np.abs(want))))
    assert max_diff <= bound, f"exported model differs from the un-augmented one by {max_diff}"

    grid = os.path.join(args.out, "augment_grid.png")
    save_grid(grid, x_val[0] + 0.0)
    print(f"val accuracy {acc:.2f}; export == un-augmented model (max diff {max_diff}); "
          f"wrote {grid}")
    return {"val_accuracy": acc, "export_max_diff": max_diff, "grid": grid}


if __name__ == "__main__":
    main()
