"""Features built on spectrograms: mel, MFCC, deltas, RMS (librosa conventions).

Spectrogram layout is ``(..., frames, bins)``; waveforms are ``(..., time)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.ops import filters, scale, spectral
from tfaudio.ops.spectral import as_float, as_float32


def apply_filterbank(spec: Any, filterbank: Any) -> tf.Tensor:
    """``spec @ filterbank`` on the last axis: ``(..., bins) x (bins, bands) -> (..., bands)``."""
    spec = as_float(spec, "spectrogram")
    fb = tf.cast(filterbank, spec.dtype)
    bins = spec.shape[-1]
    if bins is not None and fb.shape[0] is not None and bins != fb.shape[0]:
        raise ValueError(
            f"spectrogram has {bins} frequency bins but the filterbank expects {fb.shape[0]}"
        )
    if spec.shape.rank == 2:
        return tf.matmul(spec, fb)
    lead = tf.shape(spec)[:-1]
    flat = tf.reshape(spec, [-1, tf.shape(spec)[-1]])
    out = tf.matmul(flat, fb)
    return tf.reshape(out, tf.concat([lead, tf.shape(fb)[-1:]], axis=0))


def melspectrogram(
    x: Any,
    sample_rate: float = 22050,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm: Any = "slaney",
) -> tf.Tensor:
    """Mel spectrogram equal to ``librosa.feature.melspectrogram`` (transposed).

    Returns:
        float32 ``(..., frames, n_mels)``.

    Example:
        >>> melspectrogram(tf.zeros([1, 16000]), 16000, n_fft=512, n_mels=64).shape
        TensorShape([1, 126, 64])
    """
    fb = filters.mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, htk, norm)
    spec = spectral.spectrogram(x, n_fft, hop_length, win_length, window, center, pad_mode, power)
    return apply_filterbank(spec, fb.astype(np.float32))


def lifter_weights(n_mfcc: int, lifter: float) -> np.ndarray | None:
    """librosa's sinusoidal lifter ``1 + (L / 2) sin(pi (k + 1) / L)``, or None for L = 0."""
    lifter = _checks.number_in("lifter", lifter, 0.0, None)
    if lifter == 0:
        return None
    k = np.arange(1, n_mfcc + 1, dtype=np.float64)
    return 1.0 + (lifter / 2.0) * np.sin(np.pi * k / lifter)


def mfcc_matrix(
    n_mels: int, n_mfcc: int = 20, dct_type: int = 2, norm: str | None = "ortho", lifter: float = 0
) -> np.ndarray:
    """DCT matrix with the lifter folded in: ``mfcc = log_mel @ matrix``."""
    m = filters.dct_matrix(n_mels, n_mfcc, dct_type, norm)
    lift = lifter_weights(n_mfcc, lifter)
    if lift is not None:
        m = m * lift[None, :]
    return m


def mfcc_from_log_mel(
    log_mel: Any, n_mfcc: int = 20, dct_type: int = 2, norm: str | None = "ortho", lifter: float = 0
) -> tf.Tensor:
    """MFCCs from a dB-scaled mel spectrogram ``(..., frames, n_mels)``.

    Equal to ``librosa.feature.mfcc(S=log_mel.T)`` (DCT along mels, then lifter).

    Returns:
        float32 ``(..., frames, n_mfcc)``.
    """
    log_mel = as_float32(log_mel, "log_mel")
    n_mels = log_mel.shape[-1]
    if n_mels is None:
        raise ValueError("the mel axis (last) of log_mel must have a static size")
    return apply_filterbank(log_mel, mfcc_matrix(n_mels, n_mfcc, dct_type, norm, lifter).astype(np.float32))


def mfcc(
    x: Any,
    sample_rate: float = 22050,
    n_mfcc: int = 20,
    dct_type: int = 2,
    norm: str | None = "ortho",
    lifter: float = 0,
    **mel_kwargs: Any,
) -> tf.Tensor:
    """MFCCs of a waveform, equal to ``librosa.feature.mfcc(y, sr)`` per example.

    ``mel_kwargs`` go to :func:`melspectrogram`; the dB step uses librosa's defaults
    (ref 1, amin 1e-10, top_db 80, the floor taken per example).

    Returns:
        float32 ``(..., frames, n_mfcc)``.
    """
    mel = melspectrogram(x, sample_rate, **mel_kwargs)
    if mel.shape.rank == 2:  # unbatched: the whole clip is one example
        log_mel = scale.power_to_db(mel[None])[0]
    else:
        log_mel = scale.power_to_db(mel)
    return mfcc_from_log_mel(log_mel, n_mfcc, dct_type, norm, lifter)


def check_delta_args(width: int, order: int) -> tuple[int, int]:
    width = _checks.positive_int("width", width)
    if width < 3 or width % 2 == 0:
        raise ValueError(f"width={width} is out of range: it must be an odd integer >= 3")
    order = _checks.positive_int("order", order)
    if order >= width:
        raise ValueError(f"order={order} must be smaller than width={width}")
    return width, order


def delta(x: Any, width: int = 9, order: int = 1, axis: int = -2) -> tf.Tensor:
    """Savitzky-Golay delta features along ``axis`` (``librosa.feature.delta``, mode 'interp').

    Args:
        x: float tensor, e.g. ``(..., frames, features)``.
        width: odd window length >= 3; the time axis needs at least ``width`` frames.
        order: derivative order (1 = delta, 2 = delta-delta; a direct fit, as librosa).
        axis: the time axis (default -2, frames of ``(..., frames, bins)``).

    Returns:
        float32 tensor shaped like ``x``.

    Example:
        >>> delta(tf.reshape(tf.range(10.0), [10, 1])).numpy()[:, 0].tolist()[:3]
        [1.0, 1.0, 1.0]
    """
    width, order = check_delta_args(width, order)
    x = as_float32(x)
    rank = x.shape.rank
    axis = axis % rank
    n = x.shape[axis]
    if n is not None and n < width:
        raise ValueError(
            f"delta with mode 'interp' needs at least width={width} frames on axis {axis}, got {n}"
        )
    perm = [i for i in range(rank) if i != axis] + [axis]
    inv = np.argsort(perm).tolist()
    xt = tf.transpose(x, perm)  # (..., time)
    deps = []
    if n is None:
        deps.append(
            tf.debugging.assert_greater_equal(
                tf.shape(xt)[-1], width, message=f"delta needs at least width={width} frames"
            )
        )
    w = filters.savgol_weights(width, order).astype(np.float32)
    half = width // 2
    with tf.control_dependencies(deps):
        frames = tf.signal.frame(xt, width, 1, pad_end=False)  # (..., time - width + 1, width)
        inner = tf.tensordot(frames, tf.constant(w), axes=[[-1], [0]])
        head = tf.repeat(inner[..., :1], half, axis=-1)
        tail = tf.repeat(inner[..., -1:], half, axis=-1)
        out = tf.concat([head, inner, tail], axis=-1)
    return tf.transpose(out, inv)


def rms(
    x: Any,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    pad_mode: str = "constant",
) -> tf.Tensor:
    """Root-mean-square energy per frame (``librosa.feature.rms(y=...)``).

    Returns:
        float32 ``(..., frames)``.
    """
    frames = spectral.frame(x, frame_length, hop_length, center, pad_mode)
    return tf.sqrt(tf.reduce_mean(tf.square(frames), axis=-1))
