"""``tfaudio demo``: the front end end to end, on a generated signal.

Builds a Keras model (MelSpectrogram -> PowerToDb) with dynamic batch and time axes,
runs it on a generated chirp + tones + noise signal, checks it against librosa when
librosa is installed, exports a SavedModel, reloads it with plain TensorFlow in a fresh
process (no tfaudio import), compares the outputs and writes a spectrogram PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import textwrap

SAMPLE_RATE = 16000
FRONT_END = dict(n_fft=512, hop_length=160, win_length=400, n_mels=64, f_min=0.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the front-end demo on a generated signal",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--seconds", type=float, default=3.0, help="signal length (default 3 s)")
    p.set_defaults(func=run)


def demo_signal(seconds: float, sample_rate: int = SAMPLE_RATE):
    """A chirp from 200 Hz to 6 kHz, two steady tones and light noise (float32)."""
    import numpy as np

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0, f1 = 200.0, 6000.0
    k = (f1 / f0) ** (1 / seconds)
    chirp = np.sin(2 * np.pi * f0 * (k**t - 1) / np.log(k))
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1500 * t) * (t > seconds / 2)
    noise = 0.02 * np.random.default_rng(0).standard_normal(t.shape)
    return (0.5 * chirp + tones + noise).astype(np.float32)


_RELOAD = textwrap.dedent(
    """
    import sys, os, json
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np, tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    y = model.serve(tf.constant(x)).numpy()
    np.save(sys.argv[3], y)
    print(json.dumps({"tfaudio_imported": "tfaudio" in sys.modules}))
    """
)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from tfaudio import layers
    from tfaudio.plot import save_spectrograms

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"[1/5] building the front end: MelSpectrogram({SAMPLE_RATE}, {FRONT_END}) -> PowerToDb")
    inp = keras.Input((None,), name="waveform")
    mel = layers.MelSpectrogram(SAMPLE_RATE, **FRONT_END)(inp)
    model = keras.Model(inp, layers.PowerToDb()(mel), name="log_mel_front_end")

    x = demo_signal(args.seconds)[None]
    print(f"[2/5] running it on a {args.seconds:g} s generated signal (chirp + tones + noise)")
    y = np.asarray(model(x))
    print(f"      output {y.shape} (batch, frames, mels), range {y.min():.1f} .. {y.max():.1f} dB")
    try:
        import librosa

        ref = librosa.power_to_db(librosa.feature.melspectrogram(
            y=x[0], sr=SAMPLE_RATE, fmin=FRONT_END["f_min"],
            **{k: v for k, v in FRONT_END.items() if k != "f_min"})).T
        print(f"      max |tfaudio - librosa| = {np.max(np.abs(y[0] - ref)):.2e} dB")
    except ImportError:
        print("      (librosa not installed: parity check skipped)")

    export_dir = out / "saved_model"
    print(f"[3/5] exporting a SavedModel to {export_dir}")
    model.export(str(export_dir), verbose=False)
    np.save(out / "input.npy", x)

    print("[4/5] reloading it in a fresh process with plain TensorFlow (no tfaudio import)")
    proc = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(export_dir), str(out / "input.npy"),
         str(out / "served.npy")],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    served = np.load(out / "served.npy")
    diff = float(np.max(np.abs(served - y)))
    print(f"      served output {served.shape}, max |served - in-process| = {diff:.2e} dB, "
          f"tfaudio imported by the server: {info['tfaudio_imported']}")

    png = out / "log_mel.png"
    save_spectrograms(str(png), [y[0]], ["log-mel (dB) of the demo signal"],
                      hop_seconds=FRONT_END["hop_length"] / SAMPLE_RATE)
    print(f"[5/5] wrote {png}")
    ok = diff <= 1e-4 and not info["tfaudio_imported"]
    print("demo OK" if ok else "demo FAILED: the exported model disagrees")
    return 0 if ok else 1
