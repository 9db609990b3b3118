"""Spectrogram augmentation layers: FrequencyMasking, TimeMasking, TimeWarp, SpecAugment.

Input ``(batch, frames, bins)`` or ``(batch, frames, bins, channels)``. Draws are per
example; the channels of one example share them unless ``per_channel=True``. With
``training`` False/None every layer returns its input (see
:mod:`tfaudio.layers.augment_base`).
"""

from __future__ import annotations

from tfaudio import _checks
from tfaudio.layers.augment_base import _SpectrogramAugmentation
from tfaudio.layers.base import register
from tfaudio.ops import augment as ops


@register
class FrequencyMasking(_SpectrogramAugmentation):
    """Sets ``n_masks`` random bands of bins to ``mask_value`` (SpecAugment).

    Widths are integers uniform in ``[0, max_width]`` (both ends; capped at the bin
    count), starts uniform over the positions where the band fits.

    Args:
        max_width: largest band width F (>= 0).
        n_masks: bands per example.
        mask_value: value of masked cells (use the floor of your scale, e.g. 0 for
            power, -80 for dB, or the mean of a normalised feature).
        per_channel: independent masks per channel.
        p: probability per example.
        seed: integer seed (None = random).

    Input/output shape: ``(batch, frames, bins[, channels])``.

    Example:
        >>> layer = FrequencyMasking(max_width=8, n_masks=2, seed=0)
        >>> layer(tf.ones([4, 100, 64]), training=True).shape
        TensorShape([4, 100, 64])
    """

    def __init__(self, max_width: int, n_masks: int = 1, mask_value: float = 0.0,
                 per_channel: bool = False, p: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, per_channel=per_channel, **kwargs)
        self.max_width = _checks.non_negative_int("max_width", max_width)
        self.n_masks = _checks.non_negative_int("n_masks", n_masks)
        self.mask_value = _checks.number_in("mask_value", mask_value)

    def _augment(self, x, seed):
        return ops.frequency_mask(x, seed, self.max_width, self.n_masks, self.mask_value, self.p)

    def get_config(self):
        return {**super().get_config(), "max_width": self.max_width, "n_masks": self.n_masks,
                "mask_value": self.mask_value}


@register
class TimeMasking(_SpectrogramAugmentation):
    """Sets ``n_masks`` random runs of frames to ``mask_value`` (SpecAugment).

    Args:
        max_width: largest run T (>= 0); widths are uniform in ``[0, W]`` with
            ``W = min(max_width, frames)``.
        n_masks: runs per example.
        max_fraction: optional cap ``W <= floor(max_fraction * frames)`` (the paper's p).
        mask_value: value of masked cells.
        per_channel: independent masks per channel.
        p: probability per example.
        seed: integer seed.

    Input/output shape: ``(batch, frames, bins[, channels])``.

    Example:
        >>> TimeMasking(20, n_masks=2, max_fraction=0.2)(tf.ones([2, 100, 40]), training=True)
    """

    def __init__(self, max_width: int, n_masks: int = 1, max_fraction: float | None = None,
                 mask_value: float = 0.0, per_channel: bool = False, p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, per_channel=per_channel, **kwargs)
        self.max_width = _checks.non_negative_int("max_width", max_width)
        self.n_masks = _checks.non_negative_int("n_masks", n_masks)
        self.max_fraction = (None if max_fraction is None
                             else _checks.number_in("max_fraction", max_fraction, 0.0, 1.0))
        self.mask_value = _checks.number_in("mask_value", mask_value)

    def _augment(self, x, seed):
        return ops.time_mask(x, seed, self.max_width, self.n_masks, self.max_fraction,
                             self.mask_value, self.p)

    def get_config(self):
        return {**super().get_config(), "max_width": self.max_width, "n_masks": self.n_masks,
                "max_fraction": self.max_fraction, "mask_value": self.mask_value}


@register
class TimeWarp(_SpectrogramAugmentation):
    """SpecAugment time warping: a random frame moves by up to ``max_warp`` frames.

    Piecewise-linear warp along time with both ends fixed (see
    :func:`tfaudio.ops.time_warp`); the shape is unchanged and ``max_warp=0`` is the
    identity.

    Args:
        max_warp: the warp parameter W in frames (>= 0).
        per_channel: independent warps per channel.
        p: probability per example.
        seed: integer seed.

    Input/output shape: ``(batch, frames, bins[, channels])``.

    Example:
        >>> TimeWarp(max_warp=5, seed=1)(tf.random.uniform([2, 100, 64]), training=True).shape
        TensorShape([2, 100, 64])
    """

    def __init__(self, max_warp: float, per_channel: bool = False, p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, per_channel=per_channel, **kwargs)
        self.max_warp = _checks.number_in("max_warp", max_warp, 0.0, None)

    def _augment(self, x, seed):
        return ops.time_warp(x, seed, self.max_warp, self.p)

    def get_config(self):
        return {**super().get_config(), "max_warp": self.max_warp}


@register
class SpecAugment(_SpectrogramAugmentation):
    """SpecAugment (Park et al., 2019): time warp, frequency masks and time masks.

    One layer, one pass: the warp (if ``time_warp_param > 0``) and then every mask of
    an example written at once. With probability ``1 - p`` an example is unchanged.
    The paper's LibriSpeech "LD" policy is ``SpecAugment(27, 100, 2, 2, 80,
    time_mask_max_fraction=0.2)`` on 80-bin log-mels.

    Args:
        freq_mask_param: F, frequency mask widths uniform in ``[0, F]``.
        time_mask_param: T, time mask widths uniform in ``[0, T]``.
        n_freq_masks: frequency masks per example.
        n_time_masks: time masks per example.
        time_warp_param: W of the time warp (0 = no warp).
        mask_value: value of masked cells.
        p: probability per example.
        time_mask_max_fraction: optional cap of each time mask as a fraction of frames.
        per_channel: independent draws per channel.
        seed: integer seed.

    Input/output shape: ``(batch, frames, bins[, channels])``.

    Example:
        >>> aug = SpecAugment(freq_mask_param=10, time_mask_param=20, seed=0)
        >>> aug(tf.ones([8, 200, 64]), training=True).shape
        TensorShape([8, 200, 64])
    """

    def __init__(self, freq_mask_param: int = 27, time_mask_param: int = 40,
                 n_freq_masks: int = 2, n_time_masks: int = 2, time_warp_param: float = 0,
                 mask_value: float = 0.0, p: float = 1.0,
                 time_mask_max_fraction: float | None = None, per_channel: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, per_channel=per_channel, **kwargs)
        self.freq_mask_param = _checks.non_negative_int("freq_mask_param", freq_mask_param)
        self.time_mask_param = _checks.non_negative_int("time_mask_param", time_mask_param)
        self.n_freq_masks = _checks.non_negative_int("n_freq_masks", n_freq_masks)
        self.n_time_masks = _checks.non_negative_int("n_time_masks", n_time_masks)
        self.time_warp_param = _checks.number_in("time_warp_param", time_warp_param, 0.0, None)
        self.mask_value = _checks.number_in("mask_value", mask_value)
        self.time_mask_max_fraction = (
            None if time_mask_max_fraction is None
            else _checks.number_in("time_mask_max_fraction", time_mask_max_fraction, 0.0, 1.0))

    def _augment(self, x, seed):
        return ops.spec_augment(
            x, seed, self.freq_mask_param, self.time_mask_param, self.n_freq_masks,
            self.n_time_masks, self.time_warp_param, self.mask_value, self.p,
            self.time_mask_max_fraction)

    def get_config(self):
        return {
            **super().get_config(), "freq_mask_param": self.freq_mask_param,
            "time_mask_param": self.time_mask_param, "n_freq_masks": self.n_freq_masks,
            "n_time_masks": self.n_time_masks, "time_warp_param": self.time_warp_param,
            "mask_value": self.mask_value, "time_mask_max_fraction": self.time_mask_max_fraction,
        }
