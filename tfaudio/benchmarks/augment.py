"""Augmentation overhead: SpecAugment + AddNoise + RandomGain on the benchmark batch.

Config ``a``: 32 x 10 s at 16 kHz, log-mel front end with n_fft 512, win 400, hop 160,
64 mels (the ``frontend`` suite's config a). Rows, all timed round-robin in one process:

* ``front end``: ``MelSpectrogram`` + ``PowerToDb`` alone (graph and XLA).
* ``front end + aug``: ``AddNoise(white) -> RandomGain -> front end -> SpecAugment``
  in training mode. Its ``note`` gives the overhead relative to the front end alone
  (the target is <= 15 %): the median over the timing rounds of the ratio of the two
  rows' times in that round.
* ``tfaudio wave aug``: ``AddNoise`` + ``RandomGain`` alone, training mode.
  ``AddNoise`` uses its default noise source, excerpts of a precomputed noise bank.
* ``wave aug, fresh noise``: the same with ``AddNoise(noise_source="fresh")`` (new
  counter-hash noise for every sample), for the bank-vs-fresh trade-off.
* ``audiomentations``: ``AddGaussianSNR`` + ``Gain`` (``Compose``, p=1) applied to each
  of the 32 clips in NumPy, the equivalent waveform work; the ``tfaudio wave aug`` rows
  carry ``ratio`` = audiomentations seconds / tfaudio seconds, also a median of
  per-round ratios (target >= 10).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats, time_round_robin

SUITE = "augment"
SR, BATCH, SECONDS = 16000, 32, 10.0
N_FFT, WIN, HOP, N_MELS = 512, 400, 160, 64
QUICK_SHAPE = (4, 1.0)


def _paired(times: dict[str, list[float]], num: str, den: str) -> float | None:
    """Median over rounds of ``times[num][i] / times[den][i]``.

    The two calls of a round run seconds apart, so their ratio is much less affected
    by other jobs' load changing during the run than the ratio of two medians.
    """
    if not times.get(num) or not times.get(den):
        return None
    return statistics.median(a / b for a, b in zip(times[num], times[den], strict=True))


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
    fresh = layers.AddNoise(snr_db=(10.0, 30.0), seed=0, noise_source="fresh")
    gain = layers.RandomGain(-6.0, 6.0, seed=1)
    spec = layers.SpecAugment(27, 40, n_freq_masks=2, n_time_masks=2, mask_value=-80.0, seed=2)

    def front(t):
        return db(mel(t))

    def augmented(t):
        return spec(front(gain(noise(t, training=True), training=True)), training=True)

    def wave(t):
        return gain(noise(t, training=True), training=True)

    def wave_fresh(t):
        return gain(fresh(t, training=True), training=True)

    fns: dict[str, Callable[[], Any]] = {}
    for mode, jit in (("graph", False), ("xla", True)):
        for name, fn in (("front end", front), ("front end + aug", augmented),
                         ("tfaudio wave aug", wave), ("wave aug, fresh noise", wave_fresh)):
            compiled = tf.function(fn, jit_compile=jit)
            fns[f"{name}|{mode}"] = (lambda c=compiled: c(x))
    rival = _audiomentations(x_np)
    if callable(rival):
        fns["audiomentations|numpy"] = rival
    warmup, repeat = repeats(quick)
    times, rounds = time_round_robin(fns, warmup, repeat)

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

    # Overheads and ratios are medians of per-round ratios (see _paired).
    by = {(r["impl"], r["mode"]): r for r in rows}
    for mode in ("graph", "xla"):
        aug = by[("front end + aug", mode)]
        ratio = _paired(rounds, f"front end + aug|{mode}", f"front end|{mode}")
        if ratio is not None:
            aug["overhead"] = ratio - 1.0
            aug["note"] = (f"overhead {100 * (ratio - 1.0):+.1f}% vs front end alone "
                           "(target <= 15%)")
        for impl in ("tfaudio wave aug", "wave aug, fresh noise"):
            w = by[(impl, mode)]
            ratio = _paired(rounds, "audiomentations|numpy", f"{impl}|{mode}")
            if ratio is not None:
                w["ratio"] = ratio
                w["note"] = f"{ratio:.1f}x faster than audiomentations (target >= 10x)"
    return rows
