"""``tfaudio demo``: the main job end to end on the built-in synthetic data.

1. writes the synthetic dataset (12 sound classes) as sharded TFRecords with splits;
2. checks the log-mel front end against librosa on one clip (when librosa is installed);
3. trains a classifier whose front end (MelSpectrogram -> PowerToDb) and augmentation
   (AddNoise, RandomGain, SpecAugment) live inside the Keras model, reading the
   TFRecords with ``tfaudio.data.audio_dataset``;
4. evaluates it on the test split;
5. exports one SavedModel (augmentation gone, front end inside);
6. reloads it in a fresh process with plain TensorFlow (no tfaudio import) and predicts
   the test clips from raw waveforms, checking the served outputs equal the model's;
7. writes a PNG of one clip's log-mel per class.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import textwrap
import time

SAMPLE_RATE = 16000
FRONT_END = dict(n_fft=512, hop_length=160, win_length=400, n_mels=64)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train, evaluate, export and serve a model on synthetic data",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--clips-per-class", type=int, default=60, help="default 60 (x 12 classes)")
    p.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def build_model(num_classes: int, seed: int = 0):
    """Waveform -> log-mel (+ augmentation when training) -> small conv net -> classes."""
    import keras

    from tfaudio import layers

    inp = keras.Input((None,), name="waveform")
    x = layers.AddNoise(snr_db=(15.0, 40.0), p=0.5, seed=seed)(inp)
    x = layers.RandomGain(-6.0, 6.0, seed=seed + 1)(x)
    x = layers.MelSpectrogram(SAMPLE_RATE, **FRONT_END)(x)
    x = layers.PowerToDb(ref="max", top_db=80.0)(x)  # per clip: level-invariant, in [-80, 0]
    x = keras.layers.Rescaling(1 / 40.0, offset=1.0)(x)
    x = layers.SpecAugment(freq_mask_param=8, time_mask_param=10, n_freq_masks=1,
                           n_time_masks=1, seed=seed + 2)(x)
    for width in (64, 96):
        x = keras.layers.Conv1D(width, 5, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.Concatenate()(
        [keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)]
    )
    x = keras.layers.Dropout(0.2)(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inp, out, name="synthetic_sound_classifier")


_SERVE = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    probs = np.concatenate([model.serve(tf.constant(x[i:i + 64])).numpy()
                            for i in range(0, len(x), 64)])
    np.save(sys.argv[3], probs)
    print(json.dumps({"tfaudio_imported": "tfaudio" in sys.modules}))
    """
)


def _step(i: int, text: str) -> None:
    print(f"[{i}/7] {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    import keras
    import numpy as np

    from tfaudio import data, layers
    from tfaudio.plot import save_spectrograms

    started = time.time()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    data_dir = out / "data"
    _step(1, f"writing the synthetic dataset to {data_dir} "
             f"({len(data.SYNTH_CLASSES)} classes x {args.clips_per_class} clips of 1 s)")
    manifest = data.synth_dataset(str(data_dir), clips_per_class=args.clips_per_class,
                                  sample_rate=SAMPLE_RATE, seed=args.seed, overwrite=True,
                                  progress=True)
    classes = list(manifest["label_vocabulary"])
    counts = {s: manifest["splits"][s]["clips"] for s in manifest["splits"]}
    print(f"      splits: {counts}")

    _step(2, "checking the log-mel front end against librosa")
    test_ds = data.audio_dataset(str(data_dir), split="test", clip_seconds=1.0,
                                 random_crop=False, batch_size=64, shuffle=False)
    x_test = np.concatenate([np.asarray(a) for a, _ in test_ds])
    y_test = np.concatenate([np.asarray(b) for _, b in test_ds])
    front = keras.Sequential([layers.MelSpectrogram(SAMPLE_RATE, **FRONT_END), layers.PowerToDb()])
    logmel = np.asarray(front(x_test[:1]))[0]
    try:
        import librosa

        ref = librosa.power_to_db(librosa.feature.melspectrogram(
            y=x_test[0], sr=SAMPLE_RATE, **FRONT_END)).T
        print(f"      max |tfaudio - librosa| = {np.max(np.abs(logmel - ref)):.2e} dB "
              f"over {logmel.shape} frames x mels")
    except ImportError:
        print("      (librosa not installed: parity check skipped)")

    _step(3, f"training for {args.epochs} epochs from the TFRecords "
             "(front end and augmentation inside the model, XLA)")
    train_ds = data.audio_dataset(str(data_dir), split="train", clip_seconds=1.0,
                                  batch_size=32, shuffle=True, seed=args.seed, cache=True,
                                  repeat=True)
    steps = -(-counts["train"] // 32)
    val_ds = data.audio_dataset(str(data_dir), split="val", clip_seconds=1.0, batch_size=64,
                                shuffle=False, random_crop=False, cache=True)
    model = build_model(len(classes), args.seed)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=True)
    model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, steps_per_epoch=steps,
              verbose=2)

    _step(4, "evaluating on the test split")
    loss, acc = model.evaluate(x_test, y_test, batch_size=64, verbose=0)
    print(f"      test accuracy {acc:.3f} on {len(y_test)} clips (chance {1 / len(classes):.3f})")

    export_dir = out / "saved_model"
    _step(5, f"exporting the SavedModel to {export_dir} (waveform in, class probabilities out)")
    model.export(str(export_dir), verbose=False)
    (out / "classes.json").write_text(json.dumps(classes))
    np.save(out / "test_audio.npy", x_test)

    _step(6, "serving it from a fresh process with plain TensorFlow (no tfaudio import)")
    proc = subprocess.run(
        [sys.executable, "-c", _SERVE, str(export_dir), str(out / "test_audio.npy"),
         str(out / "served_probs.npy")],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return 1
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    served = np.load(out / "served_probs.npy")
    in_process = model.predict(x_test, batch_size=64, verbose=0)
    diff = float(np.max(np.abs(served - in_process)))
    served_acc = float(np.mean(served.argmax(-1) == y_test))
    print(f"      served accuracy {served_acc:.3f}; max |served - model.predict| = {diff:.1e}; "
          f"tfaudio imported by the server: {info['tfaudio_imported']}")
    for i in range(min(4, len(y_test))):
        print(f"      clip {i}: predicted {classes[int(served[i].argmax())]!r} "
              f"({served[i].max():.2f}), truth {classes[int(y_test[i])]!r}")

    png = out / "log_mel_per_class.png"
    images, titles = [], []
    for label, name in enumerate(classes):
        hits = np.flatnonzero(y_test == label)
        if hits.size:
            images.append(np.asarray(front(x_test[hits[:1]]))[0])
            titles.append(name)
    save_spectrograms(str(png), images, titles, hop_seconds=FRONT_END["hop_length"] / SAMPLE_RATE,
                      ncols=4)
    _step(7, f"wrote {png}")

    # The served model must give the in-process predictions (so the same accuracy).
    ok = diff <= 1e-4 and not info["tfaudio_imported"] and abs(served_acc - acc) < 1e-6
    print(f"demo {'OK' if ok else 'FAILED'} in {time.time() - started:.0f} s")
    return 0 if ok else 1

