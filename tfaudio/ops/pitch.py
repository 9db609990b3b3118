"""Pitch decoding: CREPE's salience bins -> cents -> Hz, confidence, voicing, Viterbi.

CREPE (Kim, Salamon, Li and Bello, "CREPE: A Convolutional Representation for Pitch
Estimation", ICASSP 2018) predicts, per 64 ms frame, 360 sigmoid activations over pitch
bins 20 cents apart. The formulas here are those of the released ``crepe`` package
(``core.py``), which the authors note differ slightly from the paper's:

=====================  ===========================================================
bins                   ``c_i = 1997.3794084376191 + 20 i`` cents, ``i = 0..359``;
                       ``f = 10 * 2 ** (c / 1200)`` Hz: bin 0 = 31.70 Hz (not C1),
                       bin 359 = 2005.50 Hz
local average          ``m = argmax``; the bins ``|i - m| <= 4`` (fewer at the edges);
                       ``sum(s_i c_i) / sum(s_i)`` over the raw activations
confidence             the largest activation of the frame
Viterbi                an HMM over the 360 bins whose observations are the per-frame
                       argmax bins: uniform start, triangular transitions
                       ``T[i, j] ~ max(12 - |i - j|, 0)`` (rows normalised), emissions
                       ``0.1 [s = o] + 0.9 / 360``; then the local average centred on
                       the path's bin (not the argmax)
=====================  ===========================================================

NumPy or TensorFlow: the table (:func:`cents_mapping`) is a NumPy constant; the per-frame
functions (:func:`normalize_frames`, :func:`to_cents`, :func:`to_hz`, :func:`local_average_cents`,
:func:`confidence`, :func:`apply_voicing`, :func:`f0_to_salience`) are TensorFlow ops, so they can sit in an
exported graph. :func:`viterbi_cents` is sequential over the whole track with data-
dependent backtracking: it is NumPy (a post-processing step on a finished track, as in
CREPE) and returns NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.ops.spectral import as_float

PITCH_BINS = 360
CENTS_PER_BIN = 20.0
# CREPE's lowest bin, 1200 * log2(3.17): bin 0 is 31.70 Hz at f = 10 * 2 ** (c / 1200).
CENTS_OFFSET = 1997.3794084376191
# Bins on each side of the centre bin in the local average (9 bins in all).
LOCAL_AVERAGE_RADIUS = 4
# CREPE's Viterbi: transitions reach 11 bins (220 cents); the observed argmax bin is
# emitted with probability 0.1 + 0.9 / 360, any other bin with 0.9 / 360.
TRANSITION_WIDTH = 12
SELF_EMISSION = 0.1


def cents_mapping() -> np.ndarray:
    """CREPE's 360 bin centres in cents (relative to 10 Hz), float64.

    Returns:
        ``(360,)`` float64: ``1997.3794084376191 + 20 i``.

    Example:
        >>> c = cents_mapping()
        >>> float(c[0]), float(c[1] - c[0]), round(float(to_hz(c[-1])), 2)
        (1997.379408437619, 20.0, 2005.5)
    """
    return CENTS_OFFSET + CENTS_PER_BIN * np.arange(PITCH_BINS, dtype=np.float64)


def _as_float(x: Any, name: str) -> tf.Tensor:
    """A float tensor; Python numbers and float64 NumPy data stay float64."""
    if not tf.is_tensor(x):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be real numbers, got dtype {x.dtype}")
    x = tf.convert_to_tensor(x)
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError(f"{name} must be real numbers, got dtype {x.dtype.name}")
    return x if x.dtype in (tf.float32, tf.float64) else tf.cast(x, tf.float64)


def to_cents(frequency: Any) -> tf.Tensor:
    """Hz -> cents relative to 10 Hz: ``1200 log2(f / 10)`` (CREPE's pitch scale).

    Args:
        frequency: Hz, any shape; 0 Hz gives ``-inf``.

    Returns:
        Cents, the dtype of ``frequency`` (float64 for integer input).

    Example:
        >>> round(float(to_cents(31.7)), 9)  # CREPE's bin 0
        1997.379408438
    """
    f = _as_float(frequency, "frequency")
    return 1200.0 * tf.math.log(f / 10.0) / tf.constant(np.log(2.0), f.dtype)


def to_hz(cents: Any) -> tf.Tensor:
    """Cents relative to 10 Hz -> Hz: ``10 * 2 ** (c / 1200)``; NaN cents give 0 Hz.

    NaN comes from :func:`local_average_cents` on an all-zero window; CREPE reports
    those frames as 0 Hz, and so does this.

    Args:
        cents: any shape.

    Returns:
        Hz, the dtype of ``cents`` (float64 for integer input).

    Example:
        >>> round(float(to_hz(cents_mapping()[0])), 4)
        31.7
    """
    c = _as_float(cents, "cents")
    hz = 10.0 * tf.pow(tf.constant(2.0, c.dtype), c / 1200.0)
    return tf.where(tf.math.is_nan(c), tf.zeros_like(hz), hz)


def normalize_frames(frames: Any, floor: float = 1e-8) -> tf.Tensor:
    """CREPE's input normalisation: each frame to mean 0 and population std 1.

    ``(x - mean) / max(std, floor)`` over the last axis, with the population std (ddof 0)
    as CREPE (torchcrepe uses the unbiased std floored at 1e-10: its frames differ by
    ``sqrt(1024 / 1023)``). An all-zero frame stays all zero.

    Args:
        frames: float ``(..., frame_length)``.
        floor: smallest divisor (> 0).

    Returns:
        ``(..., frame_length)``, float32 (float64 for float64 input).

    Example:
        >>> normalize_frames([[1.0, 3.0], [2.0, 2.0]]).numpy().tolist()
        [[-1.0, 1.0], [0.0, 0.0]]
    """
    floor = _checks.positive_float("floor", floor)
    x = as_float(frames, "frames")
    if x.shape.rank is not None and x.shape.rank < 1:
        raise ValueError("normalize_frames expects frames of rank >= 1 (..., frame_length)")
    x = x - tf.reduce_mean(x, axis=-1, keepdims=True)
    std = tf.sqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True))
    return x / tf.maximum(std, tf.constant(floor, x.dtype))


def _check_salience(salience: Any) -> tf.Tensor:
    s = _as_float(salience, "salience")
    if s.shape.rank is not None and (s.shape.rank < 1 or s.shape[-1] not in (None, PITCH_BINS)):
        raise ValueError(f"salience must have shape (..., {PITCH_BINS}) (CREPE's pitch bins), "
                         f"got {tuple(s.shape)}")
    return s


def local_average_cents(salience: Any, center: Any = None) -> tf.Tensor:
    """CREPE's pitch of a frame: the activation-weighted mean of 9 bins around a centre.

    With ``m`` the centre bin (default the argmax), the window is the bins
    ``max(0, m - 4) .. min(359, m + 4)`` and the pitch ``sum(s_i c_i) / sum(s_i)`` over
    it, with the raw activations ``s_i`` and :func:`cents_mapping` ``c_i``. An all-zero
    window gives NaN (CREPE's 0 / 0; :func:`to_hz` maps it to 0 Hz). Computed in float64.

    Args:
        salience: activations ``(..., 360)``, e.g. ``(frames, 360)`` from CREPE.
        center: optional int centre bins ``(...)`` (a Viterbi path); default the argmax.

    Returns:
        float64 cents ``(...)``.

    Example:
        >>> s = np.zeros(360); s[100], s[101] = 1.0, 1.0
        >>> float(local_average_cents(s)) - float(cents_mapping()[100])  # half a bin up
        10.0
    """
    s = tf.cast(_check_salience(salience), tf.float64)
    if center is None:
        center = tf.argmax(s, axis=-1, output_type=tf.int32)
    else:
        center = tf.convert_to_tensor(center)
        if not center.dtype.is_integer:
            raise TypeError(f"center must hold integer bins, got dtype {center.dtype.name}")
        center = tf.cast(center, tf.int32)
    bins = tf.range(PITCH_BINS, dtype=tf.int32)
    inside = tf.abs(bins - center[..., None]) <= LOCAL_AVERAGE_RADIUS
    weights = tf.where(inside, s, tf.zeros_like(s))
    cents = tf.constant(cents_mapping(), tf.float64)
    return tf.reduce_sum(weights * cents, axis=-1) / tf.reduce_sum(weights, axis=-1)


def confidence(salience: Any) -> tf.Tensor:
    """CREPE's voicing confidence: the largest activation of each frame.

    Args:
        salience: activations ``(..., 360)``.

    Returns:
        ``(...)`` in the dtype of ``salience``.

    Example:
        >>> float(confidence(np.linspace(0.0, 0.5, 360)))
        0.5
    """
    return tf.reduce_max(_check_salience(salience), axis=-1)


def apply_voicing(frequency: Any, confidence: Any, threshold: float = 0.5,
                  fill: float = 0.0) -> tf.Tensor:
    """Marks frames unvoiced where the confidence is below ``threshold``.

    CREPE leaves the choice of threshold to the user; 0.5 is a common default.

    Args:
        frequency: pitch per frame (Hz or cents), any shape.
        confidence: the same shape (e.g. :func:`confidence`).
        threshold: frames with ``confidence < threshold`` become ``fill``; in [0, 1].
        fill: the value of unvoiced frames (0 Hz; use ``float("nan")`` to drop them
            from plots).

    Returns:
        ``frequency`` with unvoiced frames replaced, in its dtype.

    Example:
        >>> apply_voicing([220.0, 440.0], [0.9, 0.2]).numpy().tolist()
        [220.0, 0.0]
    """
    threshold = _checks.number_in("threshold", threshold, 0.0, 1.0)
    f = _as_float(frequency, "frequency")
    c = tf.cast(_as_float(confidence, "confidence"), f.dtype)
    return tf.where(c >= threshold, f, tf.fill(tf.shape(f), tf.constant(fill, f.dtype)))


def f0_to_salience(f0_hz: Any, std_cents: float = 25.0) -> tf.Tensor:
    """CREPE's training targets: a Gaussian over the 360 pitch bins around each true f0.

    ``y_i = exp(-(c_i - c) ** 2 / (2 std ** 2))`` with ``c`` the f0 in cents
    (:func:`to_cents`) and ``c_i`` the bin centres (:func:`cents_mapping`), as in the
    paper (std 25 cents); frames with ``f0 <= 0`` (unvoiced) get all-zero vectors.

    Args:
        f0_hz: f0 in Hz, any shape, e.g. ``(batch, frames)``; ``<= 0`` = unvoiced.
        std_cents: the Gaussian's standard deviation in cents (> 0).

    Returns:
        float32 ``(..., 360)`` in [0, 1] (computed in float64).

    Example:
        >>> y = f0_to_salience([[0.0, float(to_hz(cents_mapping()[100]))]])
        >>> float(tf.reduce_max(y[0, 0])), int(tf.argmax(y[0, 1])), float(y[0, 1, 100])
        (0.0, 100, 1.0)
    """
    std = _checks.positive_float("std_cents", std_cents)
    f = tf.cast(_as_float(f0_hz, "f0_hz"), tf.float64)  # cents near 9000: float64
    voiced = f > 0
    cents = to_cents(tf.where(voiced, f, tf.ones_like(f)))
    diff = tf.constant(cents_mapping(), tf.float64) - cents[..., None]
    salience = tf.cast(tf.exp(-tf.square(diff) / (2.0 * std * std)), tf.float32)
    return tf.where(voiced[..., None], salience, tf.zeros_like(salience))


# ----------------------------------------------------------------------- Viterbi
def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


def viterbi_path(log_start: np.ndarray, log_transition: np.ndarray,
                 log_emission: np.ndarray) -> np.ndarray:
    """The most likely state sequence of an HMM (log domain), ties to the highest state.

    Among equal scores the highest-numbered state wins, both for the best predecessor
    and for the last state: this reproduces hmmlearn's decoder, which CREPE uses
    (paths equal on 30/30 random CREPE tracks, models-spec 4.3; lowest-index ties
    matched 2/30).

    Args:
        log_start: ``(S,)`` log start probabilities.
        log_transition: ``(S, S)``; ``[i, j]`` is the log probability of ``i -> j``.
        log_emission: ``(T, S)`` log likelihood of each frame's observation per state.

    Returns:
        int64 ``(T,)`` states (empty for ``T = 0``).
    """
    log_start = np.asarray(log_start, np.float64)
    log_transition = np.asarray(log_transition, np.float64)
    log_emission = np.asarray(log_emission, np.float64)
    states = log_start.shape[0]
    if log_transition.shape != (states, states) or log_emission.ndim != 2 \
            or log_emission.shape[1] != states:
        raise ValueError(f"viterbi_path: shapes do not fit: log_start {log_start.shape}, "
                         f"log_transition {log_transition.shape}, log_emission "
                         f"{log_emission.shape} (expected (S,), (S, S), (T, S))")
    frames = log_emission.shape[0]
    if frames == 0:
        return np.zeros(0, np.int64)
    # Reversed source order, so np.argmax (first maximum) picks the highest source state.
    rev_transition = log_transition[::-1]
    back = np.empty((frames, states), np.int64)
    score = log_start + log_emission[0]
    for t in range(1, frames):
        candidates = score[::-1, None] + rev_transition  # [source (reversed), target]
        best = np.argmax(candidates, axis=0)
        back[t] = states - 1 - best
        score = candidates[best, np.arange(states)] + log_emission[t]
    path = np.empty(frames, np.int64)
    path[-1] = states - 1 - np.argmax(score[::-1])
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def crepe_hmm() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CREPE's Viterbi model: ``(log start (360,), log transition (360, 360), log emission
    (360 states, 360 observations))``, float64."""
    start = np.full(PITCH_BINS, 1.0 / PITCH_BINS)
    bins = np.arange(PITCH_BINS)
    transition = np.maximum(TRANSITION_WIDTH - np.abs(bins[:, None] - bins[None, :]), 0)
    transition = transition / transition.sum(axis=1, keepdims=True)
    emission = np.eye(PITCH_BINS) * SELF_EMISSION + (1.0 - SELF_EMISSION) / PITCH_BINS
    return _log(start), _log(transition), _log(emission)


def _crepe_viterbi_path(observations: np.ndarray) -> np.ndarray:
    """:func:`viterbi_path` of :func:`crepe_hmm`, using the band of the transitions.

    Only sources within 11 bins of a target can reach it, so each step scores 23
    candidates per bin instead of 360 (2000 frames: 0.36 s instead of 1.7 s on a
    2-core CPU). The candidate values are the
    same float sums as the dense decoder's and the sources are ordered from the highest,
    so ties resolve identically (tested against :func:`viterbi_path`).
    """
    log_start, log_transition, log_emission = crepe_hmm()
    frames, states, reach = len(observations), PITCH_BINS, TRANSITION_WIDTH - 1
    if frames == 0:
        return np.zeros(0, np.int64)
    offsets = np.arange(reach, -reach - 1, -1)  # source - target, highest source first
    targets = np.arange(states)
    sources = targets[None, :] + offsets[:, None]  # (23, 360)
    valid = (sources >= 0) & (sources < states)
    band = np.where(valid, log_transition[np.clip(sources, 0, states - 1), targets], -np.inf)
    gather = sources + reach  # indices into the score padded with `reach` -inf each side
    emission = log_emission[:, observations].T  # (frames, states)
    back = np.empty((frames, states), np.int64)
    padded = np.full(states + 2 * reach, -np.inf)
    score = log_start + emission[0]
    for t in range(1, frames):
        padded[reach:reach + states] = score
        candidates = padded[gather] + band
        best = np.argmax(candidates, axis=0)
        back[t] = sources[best, targets]
        score = candidates[best, targets] + emission[t]
    path = np.empty(frames, np.int64)
    path[-1] = states - 1 - np.argmax(score[::-1])
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def viterbi_cents(salience: Any) -> tuple[np.ndarray, np.ndarray]:
    """CREPE's Viterbi decoding of a whole track (NumPy).

    The observations are the per-frame argmax bins; the HMM is :func:`crepe_hmm`
    (uniform start, triangular transitions up to 11 bins, emission 0.1 on the observed
    bin + 0.9 / 360 everywhere); ties go to the highest bin as in hmmlearn. Each frame's
    pitch is then :func:`local_average_cents` centred on its path bin. The confidence
    stays the max activation (:func:`confidence`).

    Args:
        salience: activations ``(frames, 360)`` of one track.

    Returns:
        ``(cents (frames,) float64, path bins (frames,) int64)``; cents are NaN where the
        window around the path bin is all zero.

    Example:
        >>> s = np.zeros((3, 360)); s[:, 100] = 1.0; s[1, 160] = 2.0  # an octave jump
        >>> viterbi_cents(s)[1].tolist()
        [100, 100, 100]
    """
    s = np.asarray(salience, np.float64)
    if s.ndim != 2 or s.shape[1] != PITCH_BINS:
        raise ValueError(f"salience must be one track of shape (frames, {PITCH_BINS}), "
                         f"got {s.shape}")
    path = _crepe_viterbi_path(np.argmax(s, axis=1))
    cents = local_average_cents(s, path).numpy() if len(path) else np.zeros(0)
    return cents, path
