"""Log-mel front end: tfaudio against Keras, kapre, tensorflow-io and librosa.

Every implementation computes a log-mel spectrogram (power mel, then dB with
``amin=1e-10``, ``ref=1``, ``top_db=80``) of the same batch, in one process:

* ``tfaudio``: ``layers.MelSpectrogram`` + ``layers.PowerToDb`` (librosa-exact).
* ``keras``: ``keras.layers.MelSpectrogram`` (HTK mel without norm, reflect padding,
  top_db over the whole batch).
* ``kapre``: ``kapre.composed.get_melspectrogram_layer`` (no centring, mel of the
  *magnitude*, which its API fixes; dB per example).
* ``tfio``: ``tfio.audio.spectrogram`` squared, ``melscale``, ``dbscale`` (no
  centring, HTK mel, top_db over the batch; ``dbscale`` squares its input, so the
  square root of the power mel is passed).
* ``librosa``: ``librosa.power_to_db(librosa.feature.melspectrogram(y=batch))``
  in numpy (top_db over the whole array).

The TensorFlow implementations run under ``tf.function`` ("graph") and
``tf.function(jit_compile=True)`` ("xla"). Rivals that fail to import or to
compile are reported with a note instead of a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats, time_round_robin

SUITE = "frontend"

# name, sample rate, batch, seconds, n_fft, win_length, hop_length, n_mels
CONFIGS = [
    ("a", 16000, 32, 10.0, 512, 400, 160, 64),
    ("b", 22050, 16, 10.0, 2048, 2048, 512, 128),
]
QUICK_SHAPE = (4, 1.0)  # batch, seconds for quick runs

TOP_DB = 80.0
AMIN = 1e-10


def _tfaudio(sr: int, n_fft: int, win: int, hop: int, n_mels: int) -> Callable:
    from tfaudio import layers

    mel = layers.MelSpectrogram(sr, n_fft=n_fft, hop_length=hop, win_length=win,
                                n_mels=n_mels)
    db = layers.PowerToDb(ref=1.0, amin=AMIN, top_db=TOP_DB)
    return lambda x: db(mel(x))


def _keras(sr: int, n_fft: int, win: int, hop: int, n_mels: int) -> Callable:
    import keras

    layer = keras.layers.MelSpectrogram(
        fft_length=n_fft, sequence_stride=hop, sequence_length=win, window="hann",
        sampling_rate=sr, num_mel_bins=n_mels, min_freq=0.0, max_freq=sr / 2,
        power_to_db=True, top_db=TOP_DB, mag_exp=2.0, min_power=AMIN, ref_power=1.0,
    )
    return layer


def _kapre(sr: int, n_fft: int, win: int, hop: int, n_mels: int, length: int) -> Callable:
    import tensorflow as tf
    from kapre.composed import get_melspectrogram_layer

    model = get_melspectrogram_layer(
        input_shape=(length, 1), n_fft=n_fft, win_length=win, hop_length=hop,
        window_name="hann_window", sample_rate=sr, n_mels=n_mels, mel_f_min=0.0,
        mel_f_max=sr / 2, mel_htk=False, mel_norm="slaney", return_decibel=True,
        db_amin=AMIN, db_ref_value=1.0, db_dynamic_range=TOP_DB,
        input_data_format="channels_last", output_data_format="channels_last",
    )
    return lambda x: model(tf.expand_dims(x, -1))


def _tfio(sr: int, n_fft: int, win: int, hop: int, n_mels: int) -> Callable:
    import tensorflow as tf
    import tensorflow_io as tfio

    def fn(x):
        power = tf.square(tfio.audio.spectrogram(x, nfft=n_fft, window=win, stride=hop))
        mel = tfio.audio.melscale(power, rate=sr, mels=n_mels, fmin=0, fmax=sr // 2)
        return tfio.audio.dbscale(tf.sqrt(mel), top_db=TOP_DB, amin=AMIN)

    return fn


NOTES = {
    "tfaudio": "librosa-exact",
    "keras": "HTK mel, no norm, reflect pad, batch top_db",
    "kapre": "no centring, mel of |X| (not |X|^2)",
    "tfio": "no centring, HTK mel, batch top_db",
    "librosa": "float32 numpy, batch top_db",
}


def _librosa_fn(sr: int, n_fft: int, win: int, hop: int, n_mels: int) -> Callable:
    import librosa

    def fn(x):
        mel = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=n_fft, hop_length=hop,
                                             win_length=win, n_mels=n_mels)
        return librosa.power_to_db(mel, ref=1.0, amin=AMIN, top_db=TOP_DB)

    return fn


def _parity_db(tf_fn: Callable, x: np.ndarray, sr: int, n_fft: int, win: int, hop: int,
               n_mels: int) -> float:
    """Max |dB| difference of tfaudio vs librosa on the first example."""
    ref = _librosa_fn(sr, n_fft, win, hop, n_mels)(x[0]).T
    got = np.asarray(tf_fn(x[:1]))[0]
    return float(np.max(np.abs(got - ref)))


def _bench_config(cfg: tuple, quick: bool, modes: tuple[str, ...],
                  progress: Callable[[str], None]) -> list[dict]:
    """Rows for one configuration (all implementations, all modes)."""
    import tensorflow as tf

    name, sr, batch, seconds, n_fft, win, hop, n_mels = cfg
    if quick:
        batch, seconds = QUICK_SHAPE
    warmup, repeat = repeats(quick)
    length = int(round(seconds * sr))
    config = f"{name}: {batch}x{seconds:g}s@{sr / 1000:g}k n_fft={n_fft} hop={hop} mels={n_mels}"
    audio_seconds = batch * length / sr
    rng = np.random.default_rng(0)
    x_np = (0.1 * rng.standard_normal((batch, length))).astype(np.float32)
    x = tf.constant(x_np)
    builders: dict[str, Callable[[], Callable]] = {
        "tfaudio": lambda: _tfaudio(sr, n_fft, win, hop, n_mels),
        "keras": lambda: _keras(sr, n_fft, win, hop, n_mels),
        "kapre": lambda: _kapre(sr, n_fft, win, hop, n_mels, length),
        "tfio": lambda: _tfio(sr, n_fft, win, hop, n_mels),
    }

    def row(impl: str, mode: str, value: float | str | None) -> dict:
        r: dict[str, Any] = {"suite": SUITE, "config": config, "impl": impl, "mode": mode}
        if mode != "numpy":  # librosa is alone in its mode: no ratio
            r["rival"] = impl != "tfaudio"
        if isinstance(value, float):
            r.update(seconds=value, xrealtime=audio_seconds / value, note=NOTES[impl])
        else:
            r.update(seconds=None, note=value)
        return r

    rows: list[dict] = []
    for mode in modes:
        progress(f"[frontend] config {config}, mode {mode}")
        fns: dict[str, Callable[[], Any]] = {}
        failed: dict[str, str] = {}
        for impl, build in builders.items():
            try:
                fn = tf.function(build(), jit_compile=(mode == "xla"), reduce_retracing=True)
                fns[impl] = lambda fn=fn: fn(x)
            except Exception as err:  # noqa: BLE001 - optional rival missing
                failed[impl] = f"unavailable: {type(err).__name__}: {str(err)[:60]}"
        timed, _ = time_round_robin(fns, warmup, repeat, progress)
        for impl in builders:
            rows.append(row(impl, mode, timed.get(impl, failed.get(impl))))

    progress(f"[frontend] config {config}, librosa (numpy)")
    try:
        lib = _librosa_fn(sr, n_fft, win, hop, n_mels)
    except ImportError as err:
        rows.append(row("librosa", "numpy", f"unavailable: {err}"))
        return rows
    t, _ = time_round_robin({"librosa": lambda: lib(x_np)}, 1, max(3, repeat // 3), progress)
    rows.append(row("librosa", "numpy", t["librosa"]))
    err_db = _parity_db(builders["tfaudio"](), x_np, sr, n_fft, win, hop, n_mels)
    for r in rows:
        if r["impl"] == "tfaudio" and r["seconds"]:
            r["note"] = f"librosa-exact (max |dB err| {err_db:.1e})"
    return rows


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> list[dict]:
    """Times the log-mel front ends; see the module docstring.

    Args:
        quick: small inputs (4 x 1 s), few repeats and graph mode only, for smoke tests.
        progress: called with a line of progress text (default: print).

    Returns:
        Rows following the :mod:`tfaudio.benchmarks` protocol.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    progress = progress or (lambda s: print(s, flush=True))
    modes = ("graph",) if quick else ("graph", "xla")
    rows: list[dict] = []
    for cfg in CONFIGS:
        rows.extend(_bench_config(cfg, quick, modes, progress))
    return rows
