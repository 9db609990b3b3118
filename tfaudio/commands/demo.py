"""``tfaudio demo``: the main job end to end on the built-in synthetic data.

1. ``tfaudio train RECIPE`` (default ``models/vggish_small.toml``): writes the synthetic
   dataset (12 sound classes) as sharded TFRecords, trains the VGGish-style classifier
   (front end and augmentation inside the Keras model) from them with progress bars and
   checkpoints, evaluates on the test split (report + confusion PNG) and exports one
   SavedModel that takes raw waveforms;
2. checks tfaudio's log-mel layers against librosa on one clip;
3. serves the SavedModel from a fresh process with plain TensorFlow (no tfaudio
   import) and checks it gives the in-process predictions;
4. generates fresh clips (one per class, never seen in training) as WAV files and runs
   ``tfaudio predict`` on them.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

SAMPLE_RATE = 16000
FRONT_END = dict(n_fft=512, hop_length=160, win_length=400, n_mels=64)
TARGET_ACCURACY = 0.95


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train, evaluate, export, serve and predict on synthetic data",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--recipe", default=os.path.join("models", "vggish_small.toml"),
                   help="recipe (default models/vggish_small.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key (see tfaudio train --help)")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.set_defaults(func=run)


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
    print(json.dumps({"tfaudio_imported": any(m.startswith("tfaudio") for m in sys.modules)}))
    """
)


def _step(i: int, text: str) -> None:
    print(f"[{i}/4] {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tfaudio import data, layers
    from tfaudio.train import RecipeError, RunError, load_recipe, load_run_model, train

    started = time.time()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "run"
    try:
        recipe = load_recipe(args.recipe, args.set)
    except (FileNotFoundError, RecipeError) as err:
        print(f"tfaudio demo: {err} (run it from the repository root, or pass --recipe)",
              file=sys.stderr)
        return 2
    _step(1, f"tfaudio train {args.recipe} --out {run_dir}: synthetic TFRecords -> "
             f"{recipe.model.name} (width {recipe.model.width}) -> test split -> SavedModel")
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    try:
        summary = train(recipe, run_dir=str(run_dir), epochs=args.epochs, verbose=1)
    except (RunError, ValueError, FileNotFoundError) as err:
        print(f"tfaudio demo: {err}", file=sys.stderr)
        return 2
    acc = summary["test"].get("accuracy", float("nan"))
    data_dir = summary["data"]

    _step(2, "checking tfaudio's log-mel layers against librosa on one test clip")
    test_ds = data.audio_dataset(data_dir, split="test", clip_seconds=recipe.data.clip_seconds,
                                 random_crop=False, batch_size=64, shuffle=False, cache=False)
    x_test = np.concatenate([np.asarray(a) for a, _ in test_ds])
    y_test = np.concatenate([np.asarray(b) for _, b in test_ds])
    mel = layers.MelSpectrogram(SAMPLE_RATE, **FRONT_END)(x_test[:1])
    logmel = np.asarray(layers.PowerToDb()(mel))[0]
    try:
        import librosa

        ref = librosa.power_to_db(librosa.feature.melspectrogram(
            y=x_test[0], sr=SAMPLE_RATE, **FRONT_END)).T
        print(f"      max |tfaudio - librosa| = {np.max(np.abs(logmel - ref)):.2e} dB "
              f"over {logmel.shape} frames x mels")
    except ImportError:
        print("      (librosa not installed: parity check skipped)")

    export_dir = run_dir / "export"
    _step(3, f"serving {export_dir} from a fresh process with plain TensorFlow (no tfaudio)")
    np.save(out / "test_audio.npy", x_test)
    proc = subprocess.run(
        [sys.executable, "-c", _SERVE, str(export_dir), str(out / "test_audio.npy"),
         str(out / "served_probs.npy")], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return 1
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    served = np.load(out / "served_probs.npy")
    model, _, labels = load_run_model(str(run_dir))
    in_process = model.predict(x_test, batch_size=64, verbose=0)
    diff = float(np.max(np.abs(served - in_process)))
    served_acc = float(np.mean(served.argmax(-1) == y_test))
    print(f"      served accuracy {served_acc:.3f} on {len(y_test)} test clips; max |served - "
          f"model.predict| = {diff:.1e}; tfaudio imported by the server: "
          f"{info['tfaudio_imported']}")

    fresh = out / "fresh"
    fresh.mkdir(exist_ok=True)
    files = []
    for label, name in enumerate(labels):
        clip, _ = data.synth_clip(name, 100_000 + label, SAMPLE_RATE,
                                  recipe.data.clip_seconds, seed=12345)
        path = fresh / f"{name}.wav"
        data.write_wav(path, clip, SAMPLE_RATE)
        files.append(str(path))
    _step(4, f"tfaudio predict {run_dir} {fresh}/*.wav (fresh clips, one per class)")
    pred = subprocess.run([sys.executable, "-m", "tfaudio.cli", "predict", str(run_dir),
                           *files, "--top-k", "1", "--json"], capture_output=True, text=True,
                          check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if pred.returncode != 0:
        print(pred.stderr[-3000:], file=sys.stderr)
        return 1
    right = 0
    for line, name in zip(pred.stdout.strip().splitlines(), labels, strict=True):
        top_label, p = json.loads(line)["top"][0]
        right += top_label == name
        print(f"      {name}.wav -> {top_label} ({p:.2f}) {'ok' if top_label == name else 'WRONG'}")
    print(f"      {right}/{len(labels)} fresh clips named right")

    ok = diff <= 1e-4 and not info["tfaudio_imported"] and abs(served_acc - acc) < 1e-6
    target = "met" if acc >= TARGET_ACCURACY else "MISSED"
    print(f"test accuracy {acc:.3f} (target {TARGET_ACCURACY}: {target}); TensorBoard: "
          f"tensorboard --logdir {run_dir / 'logs'}")
    print(f"demo {'OK' if ok else 'FAILED'} in {time.time() - started:.0f} s")
    return 0 if ok else 1
