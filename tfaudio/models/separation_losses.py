"""Speech-separation losses (Keras, serialisable) on waveforms ``(batch, speakers, time)``.

- :class:`PowerLawSpectrogramLoss`: Looking to Listen's loss (Ephrat et al. 2018,
  arXiv:1804.03619): the squared L2 distance between the power-law compressed (``p = 0.3``)
  complex STFTs of the clean and the estimated speakers, summed over speakers.
- :class:`PermutationInvariantSISDRLoss`: negative SI-SDR (Le Roux et al. 2019) of the best
  assignment of estimated to clean speakers, per example (utterance-level PIT).

:func:`si_sdr` and :func:`pairwise_si_sdr` are the TensorFlow SI-SDR they use (float32,
with a small ``eps`` so a silent source gives finite values and gradients); the float64
evaluation metric is :func:`tfaudio.metrics.si_sdr`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import register
from tfaudio.ops import filters, masks, permutations, spectral

EPS = 1e-8


def _waveforms(y_true, y_pred) -> tuple[tf.Tensor, tf.Tensor]:
    """``(batch, speakers, time)`` float32 pair; ``(batch, time)`` is one speaker."""
    t = tf.cast(tf.convert_to_tensor(y_true), tf.float32)
    p = tf.cast(tf.convert_to_tensor(y_pred), tf.float32)
    if t.shape.rank == 2:
        t, p = t[:, None], p[:, None] if p.shape.rank == 2 else p
    if t.shape.rank != 3 or p.shape.rank != 3:
        raise ValueError(
            f"y_true and y_pred must be waveforms (batch, speakers, time), got shapes "
            f"{tuple(t.shape)} and {tuple(p.shape)}"
        )
    if not t.shape.is_compatible_with(p.shape):
        raise ValueError(
            f"y_true and y_pred must have the same shape (batch, speakers, time), got "
            f"{tuple(t.shape)} and {tuple(p.shape)}"
        )
    return t, p


def si_sdr(reference: Any, estimate: Any, zero_mean: bool = True, eps: float = EPS
           ) -> tf.Tensor:
    """SI-SDR in dB over the last axis, differentiable and finite for silent signals.

    ``alpha = <e, r> / (<r, r> + eps)``, ``t = alpha r``,
    ``SI-SDR = 10 log10((|t|^2 + eps) / (|e - t|^2 + eps))``.

    Args:
        reference, estimate: float ``(..., time)``.
        zero_mean: remove each signal's mean first.
        eps: the stabiliser (>= 0).

    Returns:
        float32 ``(...)``.
    """
    r = tf.cast(tf.convert_to_tensor(reference), tf.float32)
    e = tf.cast(tf.convert_to_tensor(estimate), tf.float32)
    if zero_mean:
        r = r - tf.reduce_mean(r, axis=-1, keepdims=True)
        e = e - tf.reduce_mean(e, axis=-1, keepdims=True)
    alpha = tf.reduce_sum(e * r, -1, keepdims=True) / (tf.reduce_sum(r * r, -1, keepdims=True)
                                                        + eps)
    target = alpha * r
    noise = e - target
    ratio = (tf.reduce_sum(target * target, -1) + eps) / (tf.reduce_sum(noise * noise, -1) + eps)
    return 10.0 * tf.math.log(ratio) / np.log(10.0)


def pairwise_si_sdr(reference: Any, estimate: Any, zero_mean: bool = True, eps: float = EPS
                    ) -> tf.Tensor:
    """``out[b, i, j] = si_sdr(reference[b, i], estimate[b, j])`` for ``(batch, speakers, time)``."""
    r = tf.convert_to_tensor(reference)
    e = tf.convert_to_tensor(estimate)
    return si_sdr(r[:, :, None, :], e[:, None, :, :], zero_mean, eps)


@register
class PermutationInvariantSISDRLoss(keras.losses.Loss):
    """Negative SI-SDR of the best speaker assignment, per example (utterance-level PIT).

    ``loss[b] = -max_perm mean_i si_sdr(y_true[b, i], y_pred[b, perm[i]])`` with
    :func:`si_sdr` (float32, ``eps``-stabilised: a silent source gives finite values and
    gradients). All ``speakers!`` assignments are scored (fine for 2-5 speakers).

    Args:
        zero_mean: remove each signal's mean first (Le Roux et al. 2019).
        eps: the stabiliser of :func:`si_sdr`.
        name, reduction: as ``keras.losses.Loss``.

    Shapes: ``y_true`` and ``y_pred`` waveforms ``(batch, speakers, time)`` (``(batch,
    time)`` for one speaker, i.e. plain negative SI-SDR).

    Example:
        >>> model.compile("adam", loss=PermutationInvariantSISDRLoss())  # doctest: +SKIP
    """

    def __init__(self, zero_mean: bool = True, eps: float = EPS, name: str = "pit_si_sdr",
                 reduction: str = "sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.zero_mean = bool(zero_mean)
        self.eps = _checks.number_in("eps", eps, 0.0)

    def call(self, y_true, y_pred):
        t, p = _waveforms(y_true, y_pred)
        speakers = t.shape[1]
        if speakers is None:
            raise ValueError("PermutationInvariantSISDRLoss needs a static speakers axis")
        pair = pairwise_si_sdr(t, p, self.zero_mean, self.eps)  # (batch, ref, est)
        scores = permutations.permutation_scores(pair) / float(speakers)
        return -tf.reduce_max(scores, axis=-1)

    def get_config(self):
        return {**super().get_config(), "zero_mean": self.zero_mean, "eps": self.eps}


@register
class PowerLawSpectrogramLoss(keras.losses.Loss):
    """Looking to Listen's loss: L2 between power-law compressed clean and estimated STFTs.

    Ephrat et al. 2018 (arXiv:1804.03619) train on the squared distance between the
    power-law compressed (``p = 0.3``) clean and enhanced complex spectrograms. Defined
    here on waveforms: each speaker's STFT (default 16 kHz settings of the paper: 25 ms
    Hann window, 10 ms hop, FFT 512 -> ``win_length=400``, ``hop_length=160``,
    ``n_fft=512``) is compressed with :func:`tfaudio.ops.power_law_compress`, and

    ``loss[b] = sum_speakers mean_{frames, bins} |C(y_true) - C(y_pred)|^2``

    (the squared modulus of the complex difference = the squared error of the real and
    imaginary channels, summed). Speakers are taken in the given order, not permuted (in
    the audio-visual model each output stream belongs to a face). The gradient of the
    compression is defined as 0 at an exactly zero STFT bin (the true one is infinite).

    Args:
        power: the compression exponent ``p > 0``.
        n_fft, hop_length, win_length, window, center: the STFT (:func:`tfaudio.ops.stft`).
        name, reduction: as ``keras.losses.Loss``.

    Shapes: waveforms ``(batch, speakers, time)`` (or ``(batch, time)``).
    """

    def __init__(self, power: float = 0.3, n_fft: int = 512, hop_length: int | None = 160,
                 win_length: int | None = 400, window: Any = "hann", center: bool = True,
                 name: str = "power_law_spectrogram", reduction: str = "sum_over_batch_size",
                 **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.power = _checks.positive_float("power", power)
        self.n_fft, self.hop_length, self.win_length = spectral.resolve_stft_args(
            n_fft, hop_length, win_length)
        self._hop_arg, self._win_arg = hop_length, win_length
        self.window = filters.window_config(window)
        spectral.stft_window(window, self.n_fft, self.win_length)
        self.center = bool(center)

    def _compressed(self, x):
        s = spectral.stft(x, self.n_fft, self.hop_length, self.win_length, self.window,
                          self.center)
        return masks.power_law_channels(masks.complex_to_channels(s), self.power)

    def call(self, y_true, y_pred):
        t, p = _waveforms(y_true, y_pred)
        diff = self._compressed(t) - self._compressed(p)  # (batch, spk, frames, bins, 2)
        per_speaker = tf.reduce_mean(tf.reduce_sum(tf.square(diff), axis=-1), axis=[2, 3])
        return tf.reduce_sum(per_speaker, axis=1)

    def get_config(self):
        return {**super().get_config(), "power": self.power, "n_fft": self.n_fft,
                "hop_length": self._hop_arg, "win_length": self._win_arg,
                "window": self.window, "center": self.center}
