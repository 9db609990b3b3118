"""Windowed-sinc (Kaiser) polyphase resampling between integer sample rates.

The rates are reduced by their gcd to ``L / M`` (up by ``L``, down by ``M``). Output
sample ``k`` is the input band-limited and evaluated at input time ``k * M / L`` (no
delay), and the output has ``ceil(n * L / M)`` samples for an input of ``n`` samples,
as ``scipy.signal.resample_poly``. The input is taken as zero outside ``[0, n)``.

Filter (one design for every ratio, in units of the lower of the two Nyquist rates):
cutoff ``0.945``, Kaiser ``beta = 8.25``, ``48`` zero crossings of the lower rate on each
side of the centre (``2 * 48 * max(L, M) + 1`` taps at the rate ``L * orig_sr``; each
output sample reads about ``96 * max(1, M / L)`` input samples). Designed response:
passband ripple 0.04 dB up to 0.9 x the lower Nyquist and >= 83 dB attenuation from the
lower Nyquist up (aliases when downsampling, images when upsampling). That is the
shortest Kaiser-windowed sinc found, over a grid of cutoff/beta/length, that keeps
<= 0.1 dB ripple and >= 80 dB attenuation with a margin.

How it runs: every block of ``L`` outputs consumes ``M`` inputs, so the zero-padded
input is framed with ``tf.signal.frame(hop=B * M, length=W)`` and multiplied once by a
precomputed ``(W, B * L)`` matrix that holds each output phase's taps at its offset; the
``(..., blocks, B * L)`` result is reshaped to ``(..., blocks * B * L)`` and trimmed.
``B`` (blocks per frame) is 1 unless ``M`` is much shorter than the filter (upsampling by
small ratios such as 16000 -> 48000), where it is raised so that frames overlap at most
about 3x (bounded memory) at the cost of a denser matrix. Frame + matmul + reshape is a
few big ops: fast on CPU/GPU and XLA-friendly (static shapes when the length is static).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.ops.spectral import as_float32

#: Largest ``L`` or ``M`` (after dividing the rates by their gcd) accepted.
MAX_FACTOR = 4096

# Filter design, in units of the lower Nyquist rate (see the module docstring).
_CUTOFF = 0.945
_BETA = 8.25
_ZERO_CROSSINGS = 48


class ResampleKernel(NamedTuple):
    """The precomputed polyphase matrix of one ``L / M`` ratio.

    Attributes:
        up: ``L``.
        down: ``M``.
        blocks: ``B``, blocks of ``L`` outputs per frame.
        left_pad: zeros prepended to the input before framing.
        matrix: float32 ``(W, B * L)``; column ``j`` holds the taps of output ``j`` of a
            frame, row ``w`` multiplies frame sample ``w``. Read-only (it is cached).
    """

    up: int
    down: int
    blocks: int
    left_pad: int
    matrix: np.ndarray

    @property
    def hop(self) -> int:
        return self.blocks * self.down

    @property
    def width(self) -> int:
        return self.matrix.shape[0]


def check_rates(orig_sr: Any, target_sr: Any) -> tuple[int, int]:
    """Validates the two rates and returns ``(L, M)``, their ratio reduced by the gcd.

    Raises:
        TypeError: a rate is not an integer.
        ValueError: a rate is < 1, or ``L`` or ``M`` exceeds :data:`MAX_FACTOR`.
    """
    orig_sr = _checks.positive_int("orig_sr", orig_sr)
    target_sr = _checks.positive_int("target_sr", target_sr)
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    if max(up, down) > MAX_FACTOR:
        raise ValueError(
            f"orig_sr={orig_sr} -> target_sr={target_sr} reduces to up={up} / down={down} "
            f"(gcd {g}); the resampler supports up and down factors <= {MAX_FACTOR}. "
            "Round the rates so that they share a larger common divisor"
        )
    return up, down


def resampled_length(length: int | None, orig_sr: int, target_sr: int) -> int | None:
    """Output samples for ``length`` input samples: ``ceil(length * L / M)`` (None stays None).

    Example:
        >>> resampled_length(44100, 44100, 16000), resampled_length(1, 44100, 16000)
        (16000, 1)
    """
    up, down = check_rates(orig_sr, target_sr)
    if length is None:
        return None
    return -(-int(length) * up // down)


def _prototype(t: np.ndarray, up: int, down: int) -> np.ndarray:
    """The lowpass prototype at (integer) times ``t`` of the rate ``L * orig_sr``, float64."""
    factor = max(up, down)
    half = _ZERO_CROSSINGS * factor
    fc = _CUTOFF / (2.0 * factor)  # cycles per sample at the upsampled rate
    arg = np.clip(1.0 - (t / half) ** 2, 0.0, None)
    window = np.i0(_BETA * np.sqrt(arg)) / np.i0(_BETA)
    h = 2.0 * fc * np.sinc(2.0 * fc * t) * window
    return np.where(np.abs(t) < half, h, 0.0)


@functools.lru_cache(maxsize=32)
def resample_kernel(up: int, down: int) -> ResampleKernel:
    """Designs the polyphase matrix for upsampling by ``up`` and downsampling by ``down``.

    ``up`` and ``down`` must be coprime (see :func:`check_rates`). Cached per ratio.

    Output ``j`` of frame ``b`` is output sample ``k = b * B * L + j``, located at input
    time ``k * M / L``; it is ``sum_n x[n] * L * h(k * M - n * L)`` with ``h`` the Kaiser
    windowed sinc at the upsampled rate, centred on 0 (zero phase, so no delay).

    Returns:
        A :class:`ResampleKernel`.

    Example:
        >>> k = resample_kernel(160, 441)  # 44100 -> 16000
        >>> k.matrix.shape, k.hop
        ((703, 160), 441)
    """
    up = _checks.positive_int("up", up)
    down = _checks.positive_int("down", down)
    if math.gcd(up, down) != 1:
        raise ValueError(f"up={up} and down={down} must be coprime; divide them by their gcd")
    half = _ZERO_CROSSINGS * max(up, down)
    # Inputs read by one output, about 2 * half / up; pack blocks so that frames overlap
    # at most ~3x when the hop M is short compared with the filter.
    taps = 2 * half // up + 1
    blocks = max(1, taps // (2 * down))
    outs = blocks * up
    left = half // up  # output 0 reads inputs from -floor(half / L)
    last = ((outs - 1) * down + half) // up  # the last input read by output outs - 1
    width = left + last + 1
    # Column j (output j of a frame) reads the inputs n (relative to the frame's first
    # block) with |j * M - n * L| < half: a run of at most 2 * half / L + 1 rows from
    # ceil((j * M - half) / L). Only those entries are evaluated (the matrix is sparse
    # when M is large).
    j = np.arange(outs)[:, None]
    n = -((half - j * down) // up) + np.arange(taps + 1)[None, :]
    t = (j * down - n * up).astype(np.float64)
    # Unit DC gain: the prototype sums to 1 over all integer times; L for the zero-stuffing.
    norm = up / _prototype(np.arange(-half, half + 1, dtype=np.float64), up, down).sum()
    h = _prototype(t, up, down) * norm
    rows = n + left
    keep = (np.abs(t) < half) & (rows >= 0) & (rows < width)
    matrix = np.zeros((width, outs), np.float32)
    matrix[rows[keep], np.broadcast_to(j, t.shape)[keep]] = h[keep]
    matrix.setflags(write=False)
    return ResampleKernel(up, down, blocks, left, matrix)


def _num_outputs(n: tf.Tensor, up: int, down: int) -> tf.Tensor:
    """``ceil(n * up / down)`` for a dynamic int32 ``n`` without int32 overflow."""
    return (n // down) * up + ((n % down) * up + down - 1) // down


def resample(x: Any, orig_sr: int, target_sr: int) -> tf.Tensor:
    """Resamples the last axis from ``orig_sr`` to ``target_sr`` (windowed-sinc, polyphase).

    Any integer rates (e.g. 44100 -> 16000, 16000 -> 48000, 48000 -> 44100) whose ratio
    reduces to factors <= 4096. Passband (<= 0.9 x the lower Nyquist) ripple <= 0.1 dB;
    >= 80 dB rejection of everything above the lower Nyquist (see the module docstring).
    The signal is taken as zero outside the input, as ``scipy.signal.resample_poly``.

    Args:
        x: float waveform ``(..., time)``; the math runs in float32.
        orig_sr: sample rate of ``x`` (positive int).
        target_sr: sample rate of the output (positive int). Equal rates return ``x``
            (as float32) unchanged.

    Returns:
        float32 ``(..., ceil(time * L / M))`` where ``L / M = target_sr / orig_sr``
        reduced; output sample ``k`` is aligned with input time ``k * orig_sr / target_sr``.

    Raises:
        TypeError: non-integer rates, or a non-float ``x``.
        ValueError: non-positive rates, too large a reduced ratio, or a scalar ``x``.

    Example:
        >>> resample(tf.zeros([2, 44100]), 44100, 16000).shape
        TensorShape([2, 16000])
    """
    up, down = check_rates(orig_sr, target_sr)
    x = as_float32(x)
    rank = x.shape.rank
    if rank is None or rank < 1:
        raise ValueError(
            f"resample expects a waveform (..., time) of known rank >= 1, got shape {x.shape}"
        )
    if up == down:
        return tf.identity(x)
    kernel = resample_kernel(up, down)
    n = tf.shape(x)[-1]
    n_out = _num_outputs(n, up, down)
    outs = kernel.blocks * up
    n_frames = (n_out + outs - 1) // outs
    # Frames start at b * hop in the left-padded signal and span `width` samples.
    right = tf.maximum((n_frames - 1) * kernel.hop + kernel.width - kernel.left_pad - n, 0)
    paddings = tf.concat(
        [tf.zeros([rank - 1, 2], tf.int32), [[kernel.left_pad, right]]], axis=0
    )
    padded = tf.pad(x, paddings)
    frames = tf.signal.frame(padded, kernel.width, kernel.hop, pad_end=False)
    frames = frames[..., :n_frames, :]
    lead = tf.shape(x)[:-1]
    flat = tf.reshape(frames, [-1, kernel.width])
    y = tf.matmul(flat, tf.constant(kernel.matrix))
    y = tf.reshape(y, tf.concat([lead, [n_frames * outs]], axis=0))
    y = y[..., :n_out]
    static_n = x.shape[-1]
    if static_n is not None:
        y.set_shape(x.shape[:-1].concatenate([resampled_length(static_n, orig_sr, target_sr)]))
    return y
