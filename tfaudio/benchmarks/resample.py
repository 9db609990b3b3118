"""Resampling speed: ``tfaudio.ops.resample`` against scipy and soxr on a batch.

Configs: 32 x 10 s at 44.1 kHz -> 16 kHz (``down``) and 32 x 10 s at 16 kHz -> 48 kHz
(``up``). Rows: tfaudio in graph and XLA mode; rivals ``scipy.signal.resample_poly`` on
the whole batch and ``soxr.resample`` (librosa's default, "soxr_hq") clip by clip, both
NumPy. tfaudio rows carry ``ratio`` = fastest rival seconds / tfaudio seconds. Note the
filters differ: tfaudio keeps >= 80 dB stopband, resample_poly's default filter ~50 dB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats, time_call

SUITE = "resample"
BATCH, SECONDS = 32, 10.0
QUICK_SHAPE = (4, 1.0)
CONFIGS = (("down", 44100, 16000), ("up", 16000, 48000))


def _rivals(x: np.ndarray, orig_sr: int, target_sr: int) -> dict[str, Callable[[], Any] | str]:
    from scipy import signal

    g = math.gcd(orig_sr, target_sr)
    out: dict[str, Callable[[], Any] | str] = {
        "scipy resample_poly": lambda: signal.resample_poly(x, target_sr // g, orig_sr // g,
                                                            axis=-1)
    }
    try:
        import soxr
    except ImportError as err:
        out["soxr"] = f"unavailable: {err}"
    else:
        out["soxr"] = lambda: np.stack([soxr.resample(c, orig_sr, target_sr) for c in x])
    return out


def run(quick: bool = False) -> list[dict]:
    """Times the resampling rows (see the module docstring).

    Args:
        quick: a smoke run (4 x 1 s, few repeats).

    Returns:
        Benchmark rows (``suite="resample"``).
    """
    import tensorflow as tf

    from tfaudio.ops import resample

    batch, seconds = QUICK_SHAPE if quick else (BATCH, SECONDS)
    warmup, repeat = repeats(quick)
    rows: list[dict] = []
    for name, orig_sr, target_sr in CONFIGS:
        config = f"{name}: {batch}x{seconds:g}s {orig_sr // 100 / 10:g}k->{target_sr // 1000}k"
        x_np = (0.1 * np.random.default_rng(0).standard_normal(
            (batch, int(orig_sr * seconds)))).astype(np.float32)
        x = tf.constant(x_np)
        group: list[dict] = []
        for mode, jit in (("graph", False), ("xla", True)):
            fn = tf.function(lambda t, o=orig_sr, s=target_sr: resample(t, o, s),
                             jit_compile=jit)
            t = time_call(lambda f=fn, v=x: f(v), warmup, repeat)
            group.append({"suite": SUITE, "config": config, "impl": "tfaudio", "mode": mode,
                          "seconds": t, "xrealtime": batch * seconds / t})
        for impl, fn in _rivals(x_np, orig_sr, target_sr).items():
            row: dict[str, Any] = {"suite": SUITE, "config": config, "impl": impl,
                                   "mode": "numpy", "rival": True}
            if isinstance(fn, str):
                row.update(seconds=None, note=fn)
            else:
                t = time_call(fn, warmup, repeat)
                row.update(seconds=t, xrealtime=batch * seconds / t)
            group.append(row)
        best = min((r["seconds"] for r in group if r.get("rival") and r["seconds"]),
                   default=None)
        for r in group:
            if best and r["impl"] == "tfaudio":
                r["ratio"] = best / r["seconds"]
        rows += group
    return rows
