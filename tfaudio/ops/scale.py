"""Decibel scaling and mu-law companding.

dB follows ``librosa.power_to_db`` / ``amplitude_to_db`` except for one deliberate
difference: the ``top_db`` floor is taken per example (over every axis but the first),
never across a batch. For a single example this is librosa's result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.ops.spectral import as_float, as_float32

_LOG10 = float(np.log(10.0))


def log_offset(x: Any, offset: float = 0.01) -> tf.Tensor:
    """``ln(x + offset)``: the stabilised natural log of VGGish / YAMNet features.

    Args:
        x: non-negative values (e.g. a mel magnitude spectrogram), any shape.
        offset: added before the log (> 0): VGGish uses 0.01, YAMNet 0.001.

    Returns:
        ``ln(x + offset)``, float32 (float64 for float64 input).

    Example:
        >>> float(log_offset(tf.zeros([1]), 0.01)[0])  # silence: ln(0.01)
        -4.605170249938965
    """
    offset = _checks.positive_float("offset", offset)
    x = as_float(x)
    return tf.math.log(x + tf.constant(offset, x.dtype))


def check_db_args(ref: Any, amin: float, top_db: float | None) -> None:
    """Validates dB arguments: ref > 0 or "max", amin > 0, top_db >= 0 or None."""
    if not (isinstance(ref, str) and ref == "max"):
        _checks.positive_float("ref", ref)
    _checks.positive_float("amin", amin)
    if top_db is not None:
        _checks.number_in("top_db", top_db, 0.0, None)


def _example_max(x: tf.Tensor, axis: Any = None) -> tf.Tensor:
    """Max over ``axis`` (default: all axes but the first; the whole tensor if rank 1)."""
    rank = x.shape.rank
    if rank is None:
        raise ValueError("dB scaling needs a tensor of known rank")
    if axis is None:
        if rank <= 1:
            return tf.reduce_max(x)
        axis = list(range(1, rank))
    return tf.reduce_max(x, axis=axis, keepdims=True)


def power_to_db(
    x: Any, ref: Any = 1.0, amin: float = 1e-10, top_db: float | None = 80.0, axis: Any = None
) -> tf.Tensor:
    """``10 log10(max(x, amin) / max(ref, amin))``, floored at ``max - top_db`` per example.

    Args:
        x: non-negative power values, batched ``(batch, ...)`` (or rank 1).
        ref: reference power (>0) or ``"max"`` for each example's maximum.
        amin: floor on ``x`` and ``ref`` (> 0).
        top_db: dynamic range below each example's peak, or None for no floor.
        axis: the axes that make one example for ``ref="max"`` and ``top_db``; default
            all axes but the first. The layers pass ``(1, 2)`` so that each channel of
            ``(batch, frames, bins, channels)`` is its own example.

    Returns:
        float32 tensor shaped like ``x``.

    Example:
        >>> power_to_db(tf.constant([[1.0, 10.0, 100.0]])).numpy().tolist()
        [[0.0, 10.0, 20.0]]
    """
    check_db_args(ref, amin, top_db)
    x = as_float32(x)
    # The top_db floor is applied in the power domain (log is monotonic, so
    # max(10 log10 x, peak_dB - top_db) == 10 log10 max(x, peak * 10^(-top_db/10)));
    # that saves a pass over the data and changes results by float rounding only.
    floor: Any = amin
    peak = None
    if top_db is not None or isinstance(ref, str):
        peak = tf.maximum(_example_max(x, axis), amin)
    if top_db is not None:
        floor = tf.maximum(peak * float(10.0 ** (-float(top_db) / 10.0)), amin)
    log_spec = tf.math.log(tf.maximum(x, floor)) * (10.0 / _LOG10)
    if isinstance(ref, str):
        log_spec -= tf.math.log(peak) * (10.0 / _LOG10)
    elif max(float(ref), amin) != 1.0:
        log_spec -= 10.0 * float(np.log10(max(float(ref), amin)))
    return log_spec


def amplitude_to_db(
    x: Any, ref: Any = 1.0, amin: float = 1e-5, top_db: float | None = 80.0, axis: Any = None
) -> tf.Tensor:
    """``20 log10(max(|x|, amin) / max(ref, amin))``, per-example ``top_db`` floor.

    Equal to ``power_to_db(x ** 2, ref ** 2, amin ** 2, top_db)`` as in librosa.
    """
    check_db_args(ref, amin, top_db)
    x = tf.abs(as_float32(x))
    ref2 = ref if isinstance(ref, str) else float(ref) ** 2
    return power_to_db(tf.square(x), ref=ref2, amin=float(amin) ** 2, top_db=top_db, axis=axis)


def db_to_power(x: Any, ref: float = 1.0) -> tf.Tensor:
    """Inverse of :func:`power_to_db` (without the top_db floor): ``ref * 10 ** (x / 10)``."""
    return float(ref) * tf.exp(as_float32(x) * (_LOG10 / 10.0))


def db_to_amplitude(x: Any, ref: float = 1.0) -> tf.Tensor:
    """Inverse of :func:`amplitude_to_db`: ``ref * 10 ** (x / 20)``."""
    return float(ref) * tf.exp(as_float32(x) * (_LOG10 / 20.0))


def mu_law_encode(x: Any, quantization_channels: int = 256) -> tf.Tensor:
    """mu-law companding then quantisation to integer codes ``0 .. Q - 1`` (int32).

    ``mu = Q - 1``; ``f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu)`` with ``|x|`` clipped
    to 1; code = ``floor((f + 1) / 2 * mu + 0.5)`` (WaveNet, torchaudio).

    Example:
        >>> mu_law_encode(tf.constant([-1.0, 0.0, 1.0])).numpy().tolist()
        [0, 128, 255]
    """
    q = _checks.positive_int("quantization_channels", quantization_channels)
    if q < 2:
        raise ValueError(f"quantization_channels={q} is out of range: it must be >= 2")
    mu = float(q - 1)
    x = as_float32(x)
    mag = tf.math.log1p(mu * tf.minimum(tf.abs(x), 1.0)) / float(np.log1p(mu))
    f = tf.sign(x) * mag
    return tf.cast(tf.floor((f + 1.0) / 2.0 * mu + 0.5), tf.int32)


def mu_law_decode(codes: Any, quantization_channels: int = 256) -> tf.Tensor:
    """Inverse of :func:`mu_law_encode`: integer codes to float32 in ``[-1, 1]``."""
    q = _checks.positive_int("quantization_channels", quantization_channels)
    if q < 2:
        raise ValueError(f"quantization_channels={q} is out of range: it must be >= 2")
    mu = float(q - 1)
    s = 2.0 * tf.cast(codes, tf.float32) / mu - 1.0
    return tf.sign(s) * (tf.pow(1.0 + mu, tf.abs(s)) - 1.0) / mu
