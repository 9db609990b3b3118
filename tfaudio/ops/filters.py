"""Constant matrices: windows, mel filterbanks, DCT bases.

These are built once in NumPy float64 (the way librosa builds them) and handed to the
graph as constants or initial weights. They follow librosa 0.11 definitions exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfaudio import _checks

WINDOWS = ("hann", "hamming", "blackman", "boxcar", "ones")


def get_window(window: Any, win_length: int) -> np.ndarray:
    """A periodic analysis window of ``win_length`` samples (scipy ``fftbins=True``).

    Args:
        window: ``"hann"``, ``"hamming"``, ``"blackman"``, ``"boxcar"``/``"ones"``, or a
            1-D array of exactly ``win_length`` values.
        win_length: window length in samples.

    Returns:
        float64 array of shape ``(win_length,)``.

    Example:
        >>> get_window("hann", 4).tolist()
        [0.0, 0.5, 1.0, 0.5]
    """
    win_length = _checks.positive_int("win_length", win_length)
    if isinstance(window, str):
        _checks.one_of("window", window, WINDOWS)
        n = np.arange(win_length, dtype=np.float64)
        phase = 2.0 * np.pi * n / win_length
        if window == "hann":
            return 0.5 - 0.5 * np.cos(phase)
        if window == "hamming":
            return 0.54 - 0.46 * np.cos(phase)
        if window == "blackman":
            return 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2.0 * phase)
        return np.ones(win_length, dtype=np.float64)
    arr = np.asarray(window, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"window must be a name in {list(WINDOWS)} or a 1-D array, got an array of shape {arr.shape}")
    if arr.shape[0] != win_length:
        raise ValueError(
            f"window has {arr.shape[0]} samples but win_length={win_length}; they must be equal"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("window contains non-finite values")
    return arr


def window_config(window: Any) -> Any:
    """A JSON-friendly form of ``window`` for ``get_config`` (arrays become lists)."""
    if isinstance(window, str):
        return window
    return np.asarray(window, dtype=np.float64).tolist()


def pad_center(window: np.ndarray, n_fft: int) -> np.ndarray:
    """Zero-pads ``window`` on both sides to ``n_fft`` samples, centred (librosa)."""
    lpad = (n_fft - window.shape[0]) // 2
    return np.pad(window, (lpad, n_fft - window.shape[0] - lpad))


def fft_frequencies(sample_rate: float, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each of the ``n_fft // 2 + 1`` rfft bins."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)


def hz_to_mel(frequencies: Any, htk: bool = False) -> np.ndarray:
    """Hz to mels: HTK ``2595 log10(1 + f/700)`` or the Slaney auditory-toolbox scale."""
    f = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_part = min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log_part, mels)


def mel_to_hz(mels: Any, htk: bool = False) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_part = min_log_hz * np.exp(logstep * (m - min_log_mel))
    return np.where(m >= min_log_mel, log_part, freqs)


def mel_frequencies(n_mels: int, f_min: float, f_max: float, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced on the mel scale from f_min to f_max (Hz)."""
    mels = np.linspace(hz_to_mel(f_min, htk), hz_to_mel(f_max, htk), n_mels)
    return mel_to_hz(mels, htk)


def check_mel_args(
    sample_rate: float, n_fft: int, n_mels: int, f_min: float, f_max: float | None, norm: Any
) -> float:
    """Validates mel filterbank arguments; returns the resolved ``f_max``."""
    sample_rate = _checks.positive_float("sample_rate", sample_rate)
    n_fft = _checks.positive_int("n_fft", n_fft)
    n_mels = _checks.positive_int("n_mels", n_mels)
    n_bins = n_fft // 2 + 1
    if n_mels > n_bins:
        raise ValueError(
            f"n_mels={n_mels} exceeds n_fft // 2 + 1 = {n_bins} frequency bins (n_fft={n_fft})"
        )
    nyquist = sample_rate / 2.0
    _checks.number_in("f_min", f_min, 0.0, nyquist, high_inclusive=False)
    if f_max is None:
        f_max = nyquist
    _checks.number_in("f_max", f_max, 0.0, nyquist, low_inclusive=False)
    if f_max <= f_min:
        raise ValueError(f"f_max={f_max:g} must be greater than f_min={f_min:g}")
    if not (norm is None or norm == "slaney" or (
        isinstance(norm, (int, float)) and not isinstance(norm, bool) and norm > 0
    )):
        raise ValueError(f"norm={norm!r} is not supported: allowed 'slaney', None or a p-norm order > 0")
    return float(f_max)


def mel_filterbank(
    sample_rate: float,
    n_fft: int,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm: Any = "slaney",
    triangles: str = "hz",
) -> np.ndarray:
    """librosa's mel filterbank, transposed for right-multiplication.

    With ``triangles="hz"`` (default) the triangles are linear in Hz between mel-spaced
    edges (``librosa.filters.mel``). With ``triangles="mel"`` they are linear in mels and
    the DC bin gets no weight: the recipe of VGGish's ``mel_features``, YAMNet and
    ``tf.signal.linear_to_mel_weight_matrix`` (use it with ``htk=True, norm=None``).

    Args:
        sample_rate: sampling rate in Hz.
        n_fft: FFT size; the filterbank has ``n_fft // 2 + 1`` rows.
        n_mels: number of mel bands, at most ``n_fft // 2 + 1``.
        f_min: lowest edge in Hz, in ``[0, sample_rate / 2)``.
        f_max: highest edge in Hz, in ``(f_min, sample_rate / 2]``; None = sample_rate / 2.
        htk: HTK mel scale instead of Slaney's.
        norm: ``"slaney"`` (equal-area triangles), None (peak 1), or a p-norm order.
        triangles: ``"hz"`` (librosa) or ``"mel"`` (HTK / VGGish / ``tf.signal``).

    Returns:
        float64 array ``(n_fft // 2 + 1, n_mels)``: ``mel = spectrogram @ fb``.

    Example:
        >>> mel_filterbank(16000, 512, 64).shape
        (257, 64)
    """
    f_max = check_mel_args(sample_rate, n_fft, n_mels, f_min, f_max, norm)
    triangles = _checks.one_of("triangles", triangles, ("hz", "mel"))
    fftfreqs = fft_frequencies(sample_rate, n_fft)
    mel_f = mel_frequencies(n_mels + 2, f_min, f_max, htk)
    if triangles == "mel":
        # Slopes linear in mels: edges and bin centres both on the mel axis.
        edges = np.linspace(hz_to_mel(f_min, htk), hz_to_mel(f_max, htk), n_mels + 2)
        ramps = np.subtract.outer(edges, hz_to_mel(fftfreqs, htk))
        fdiff = np.diff(edges)
    else:
        fdiff = np.diff(mel_f)
        ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if triangles == "mel":
        weights[:, 0] = 0.0  # the DC bin carries no mel energy (HTK)
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    elif norm is not None:
        length = np.sum(np.abs(weights) ** norm, axis=1, keepdims=True) ** (1.0 / norm)
        weights = weights / np.where(length > np.finfo(np.float32).tiny, length, 1.0)
    return weights.T


def dct_matrix(n_input: int, n_output: int, dct_type: int = 2, norm: str | None = "ortho") -> np.ndarray:
    """DCT basis for right-multiplication, matching ``scipy.fft.dct`` along one axis.

    Args:
        n_input: length of the transformed axis (number of mel bands).
        n_output: number of coefficients kept (``n_mfcc``), at most ``n_input``.
        dct_type: 1, 2 or 3.
        norm: ``"ortho"`` or None.

    Returns:
        float64 array ``(n_input, n_output)`` so that ``coeffs = x @ matrix``.
    """
    n = _checks.positive_int("n_mels", n_input)
    k_out = _checks.positive_int("n_mfcc", n_output)
    if k_out > n:
        raise ValueError(f"n_mfcc={k_out} exceeds the number of mel bands n_mels={n}")
    _checks.one_of("dct_type", dct_type, (1, 2, 3))
    _checks.one_of("norm", norm, ("ortho", None))
    k = np.arange(n)[:, None]  # output index (rows), transposed at the end
    i = np.arange(n)[None, :]  # input index
    if dct_type == 1:
        if n < 2:
            raise ValueError(f"dct_type=1 needs n_mels >= 2, got {n}")
        m = 2.0 * np.cos(np.pi * k * i / (n - 1))
        m[:, 0] = 1.0
        m[:, -1] = (-1.0) ** np.arange(n)
        if norm == "ortho":
            m[:, 0] *= np.sqrt(2.0)
            m[:, -1] *= np.sqrt(2.0)
            m *= np.sqrt(1.0 / (2.0 * (n - 1)))
            m[0, :] /= np.sqrt(2.0)
            m[-1, :] /= np.sqrt(2.0)
    elif dct_type == 2:
        m = 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2.0 * n))
        if norm == "ortho":
            m[0, :] *= np.sqrt(1.0 / (4.0 * n))
            m[1:, :] *= np.sqrt(1.0 / (2.0 * n))
    else:
        m = 2.0 * np.cos(np.pi * (2 * k + 1) * i / (2.0 * n))
        m[:, 0] = 1.0
        if norm == "ortho":
            m[:, 0] = 1.0 / np.sqrt(n)
            m[:, 1:] *= np.sqrt(1.0 / (2.0 * n))
    return m[:k_out, :].T


def savgol_weights(width: int, order: int) -> np.ndarray:
    """Savitzky-Golay weights for the ``order``-th derivative (``librosa.feature.delta``).

    librosa fits a degree-``order`` polynomial over ``width`` frames and takes its
    ``order``-th derivative, which is constant over the window: ``order!`` times the
    leading coefficient. So the interior output is a correlation with these weights,
    and librosa's ``mode='interp'`` edges (a fit over the first / last ``width`` frames)
    equal the first / last interior value.

    Returns:
        float64 array ``(width,)``: ``delta[t] = sum_k w[k] * x[t - width // 2 + k]``.

    Example:
        >>> savgol_weights(5, 1).tolist()
        [-0.2, -0.1, 0.0, 0.1, 0.2]
    """
    pos = np.arange(width, dtype=np.float64) - width // 2
    vander = pos[:, None] ** np.arange(order + 1)[None, :]
    fit = np.linalg.pinv(vander)  # (order + 1, width): coefficients from samples
    return float(np.prod(np.arange(1, order + 1))) * fit[order]
