"""Augmentation overhead: SpecAugment + AddNoise + RandomGain on the benchmark batch.

Config ``a``: 32 x 10 s at 16 kHz, log-mel front end with n_fft 512, win 400, hop 160,
64 mels (the ``frontend`` suite's config a). Rows, all timed round-robin in one process:

* ``front end``: ``MelSpectrogram`` + ``PowerToDb`` alone (graph and XLA).
* ``front end + aug``: ``AddNoise(white) -> RandomGain -> front end -> SpecAugment``
  in training mode. Its ``note`` gives the overhead relative to the front end alone
  (the target is <= 15 %).
* ``tfaudio wave aug``: ``AddNoise`` + ``RandomGain`` alone, training mode.
* ``audiomentations``: ``AddGaussianSNR`` + ``Gain`` (``Compose``, p=1) applied to each
  of the 32 clips in NumPy, the equivalent waveform work; the ``tfaudio wave aug`` rows
  carry ``ratio`` = audiomentations seconds / tfaudio seconds (target >= 10).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats

SUITE = "augment"
SR, BATCH, SECONDS = 16000, 32, 10.0
N_FFT, WIN, HOP, N_MELS = 512, 400, 160, 64
QUICK_SHAPE = (4, 1.0)


def _timed(fns: dict[str, Callable[[], Any]], warmup: int, repeat: int) -> dict[str, Any]:
    """Median seconds per call of each fn, timed round-robin (robust to changing load)."""
    def finish(out):
        return out.numpy() if hasattr(out, "numpy") else np.asarray(out)

    live, result = {}, {}
    for name, fn in fns.items():
        try:
            for _ in range(max(1, warmup)):
                finish(fn())
            live[name] = fn
        except Exception as err:  # noqa: BLE001 - an implementation that cannot run is reported
            result[name] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}"
    times: dict[str, list[float]] = {name: [] for name in live}
    for _ in range(max(1, repeat)):
        for name, fn in live.items():
            t0 = time.perf_counter()
            finish(fn())
            times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        result[name] = statistics.median(ts)
    return result


def _audiomentations(x: np.ndarray) -> Callable[[], Any] | str:
    try:
        import audiomentations as am
    except ImportError as err:
        return f"unavailable: {err}"
    aug = am.Compose([am.AddGaussianSNR(min_snr_db=10.0, max_snr_db=30.0, p=1.0),
                      am.Gain(min_gain_db=-6.0, max_gain_db=6.0, p=1.0)])
    return lambda: np.stack([aug(samples=clip, sample_rate=SR) for clip in x])


def run(quick: bool = False) -> list[dict]:
    """Times the augmentation rows (see the module docstring).

    Args:
        quick: a smoke run (4 x 1 s, few repeats).

    Returns:
        Benchmark rows (``suite="augment"``).
    """
    import tensorflow as tf

    from tfaudio import layers

    batch, seconds = QUICK_SHAPE if quick else (BATCH, SECONDS)
    n = int(SR * seconds)
    config = f"a: {batch}x{seconds:g}s@{SR // 1000}k"
    x_np = (0.1 * np.random.default_rng(0).standard_normal((batch, n))).astype(np.float32)
    x = tf.constant(x_np)

    mel = layers.MelSpectrogram(SR, n_fft=N_FFT, hop_length=HOP, win_length=WIN, n_mels=N_MELS)
    db = layers.PowerToDb()
    noise = layers.AddNoise(snr_db=(10.0, 30.0), seed=0)
    gain = layers.RandomGain(-6.0, 6.0, seed=1)
    spec = layers.SpecAugment(27, 40, n_freq_masks=2, n_time_masks=2, mask_value=-80.0, seed=2)

    def front(t):
        return db(mel(t))

    def augmented(t):
        return spec(front(gain(noise(t, training=True), training=True)), training=True)

    def wave(t):
        return gain(noise(t, training=True), training=True)

    fns: dict[str, Callable[[], Any]] = {}
    for mode, jit in (("graph", False), ("xla", True)):
        for name, fn in (("front end", front), ("front end + aug", augmented),
                         ("tfaudio wave aug", wave)):
            compiled = tf.function(fn, jit_compile=jit)
            fns[f"{name}|{mode}"] = (lambda c=compiled: c(x))
    rival = _audiomentations(x_np)
    if callable(rival):
        fns["audiomentations|numpy"] = rival
    warmup, repeat = repeats(quick)
    times = _timed(fns, warmup, repeat)

    rows: list[dict] = []
    audio_seconds = batch * seconds
    for key in fns:
        impl, mode = key.split("|")
        t = times.get(key)
        row: dict[str, Any] = {"suite": SUITE, "config": config, "impl": impl, "mode": mode,
                               "seconds": t if isinstance(t, float) else None}
        if isinstance(t, str):
            row["note"] = t
        elif t:
            row["xrealtime"] = audio_seconds / t
        rows.append(row)
    if not callable(rival):
        rows.append({"suite": SUITE, "config": config, "impl": "audiomentations",
                     "mode": "numpy", "seconds": None, "note": rival})

    by = {(r["impl"], r["mode"]): r for r in rows}
    for mode in ("graph", "xla"):
        base, aug = by[("front end", mode)], by[("front end + aug", mode)]
        if base["seconds"] and aug["seconds"]:
            over = aug["seconds"] / base["seconds"] - 1.0
            aug["overhead"] = over
            aug["note"] = f"overhead {100 * over:+.1f}% vs front end alone (target <= 15%)"
        am_row, w = by.get(("audiomentations", "numpy")), by[("tfaudio wave aug", mode)]
        if am_row and am_row["seconds"] and w["seconds"]:
            w["ratio"] = am_row["seconds"] / w["seconds"]
            w["note"] = f"{w['ratio']:.0f}x faster than audiomentations (target >= 10x)"
    return rows
