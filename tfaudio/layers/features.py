"""Feature layers: LogMelToMFCC, MFCC, Delta, RMS, UtteranceNorm."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.layers.mel import MelSpectrogram
from tfaudio.layers.scale import PowerToDb
from tfaudio.layers.spectral import Frame
from tfaudio.ops import features


@register
class LogMelToMFCC(AudioLayer):
    """MFCCs from a dB-scaled mel spectrogram: DCT along mels, then the lifter.

    Equal to ``librosa.feature.mfcc(S=log_mel)``.

    Args:
        n_mfcc: coefficients kept (<= n_mels).
        dct_type: 1, 2 or 3.
        norm: ``"ortho"`` or None.
        lifter: sinusoidal lifter L >= 0 (0 = none).

    Input shape: ``(batch, frames, n_mels[, channels])``.
    Output shape: ``(batch, frames, n_mfcc[, channels])``.

    Example:
        >>> LogMelToMFCC(13)(tf.zeros([2, 50, 40])).shape
        TensorShape([2, 50, 13])
    """

    input_kind = SPECTROGRAM

    def __init__(self, n_mfcc: int = 20, dct_type: int = 2, norm: str | None = "ortho",
                 lifter: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.n_mfcc = _checks.positive_int("n_mfcc", n_mfcc)
        _checks.one_of("dct_type", dct_type, (1, 2, 3))
        _checks.one_of("norm", norm, ("ortho", None))
        self.dct_type, self.norm = int(dct_type), norm
        self.lifter = _checks.number_in("lifter", lifter, 0.0, None)

    def build(self, input_shape):
        super().build(input_shape)
        n_mels = input_shape[2]
        if n_mels is None:
            raise ValueError("LogMelToMFCC needs a static mel axis (axis 2)")
        if self.n_mfcc > n_mels:
            raise ValueError(f"n_mfcc={self.n_mfcc} exceeds the number of mel bands {n_mels}")
        self._matrix = features.mfcc_matrix(
            n_mels, self.n_mfcc, self.dct_type, self.norm, self.lifter
        ).astype(np.float32)

    def call(self, inputs):
        x = self._float32(inputs)
        m = tf.constant(self._matrix)
        if x.shape.rank == 3:
            return self._output(features.apply_filterbank(x, m))
        moved = tf.transpose(x, [0, 1, 3, 2])
        return self._output(tf.transpose(features.apply_filterbank(moved, m), [0, 1, 3, 2]))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return (input_shape[0], input_shape[1], self.n_mfcc) + tuple(input_shape[3:])

    def get_config(self):
        return {
            **super().get_config(), "n_mfcc": self.n_mfcc, "dct_type": self.dct_type,
            "norm": self.norm, "lifter": self.lifter,
        }


@register
class MFCC(AudioLayer):
    """MFCCs of a waveform, equal to ``librosa.feature.mfcc(y, sr)`` per example.

    Composed of :class:`MelSpectrogram`, :class:`PowerToDb` and :class:`LogMelToMFCC`.
    The DCT normalisation is ``norm``; the mel filter normalisation is ``mel_norm``.

    Args:
        sample_rate: sampling rate in Hz.
        n_mfcc, dct_type, norm, lifter: as :class:`LogMelToMFCC`.
        top_db: dB floor below each example's peak (librosa 80).
        n_fft, hop_length, win_length, window, center, pad_mode, power, n_mels, f_min,
        f_max, htk, mel_norm: as :class:`MelSpectrogram`.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames, n_mfcc[, channels])``.

    Example:
        >>> MFCC(16000, n_mfcc=13, n_fft=512, n_mels=40)(tf.zeros([2, 16000])).shape
        TensorShape([2, 126, 13])
    """

    def __init__(self, sample_rate: float = 22050, n_mfcc: int = 20, dct_type: int = 2,
                 norm: str | None = "ortho", lifter: float = 0, top_db: float | None = 80.0,
                 n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: Any = "hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, n_mels: int = 128,
                 f_min: float = 0.0, f_max: float | None = None, htk: bool = False,
                 mel_norm: Any = "slaney", **kwargs):
        super().__init__(**kwargs)
        if n_mfcc > n_mels:
            raise ValueError(f"n_mfcc={n_mfcc} exceeds n_mels={n_mels}")
        self.melspectrogram = MelSpectrogram(
            sample_rate, n_fft, hop_length, win_length, window, center, pad_mode, power,
            n_mels, f_min, f_max, htk, mel_norm, dtype="float32", name="melspectrogram",
        )
        self.to_db = PowerToDb(top_db=top_db, dtype="float32", name="power_to_db")
        self.dct = LogMelToMFCC(n_mfcc, dct_type, norm, lifter, dtype="float32", name="dct")

    def build(self, input_shape):
        super().build(input_shape)
        self.melspectrogram.build(input_shape)
        mel_shape = self.melspectrogram.compute_output_shape(input_shape)
        self.to_db.build(mel_shape)
        self.dct.build(mel_shape)

    def call(self, inputs):
        self._float32(inputs)
        x = tf.cast(inputs, tf.float32)
        return self._output(self.dct(self.to_db(self.melspectrogram(x))))

    def compute_output_shape(self, input_shape):
        return self.dct.compute_output_shape(self.melspectrogram.compute_output_shape(input_shape))

    def get_config(self):
        mel = self.melspectrogram.get_config()
        dct = self.dct.get_config()
        config = super().get_config()
        for key in ("sample_rate", "n_fft", "hop_length", "win_length", "window", "center",
                    "pad_mode", "power", "n_mels", "f_min", "f_max", "htk"):
            config[key] = mel[key]
        config["mel_norm"] = mel["norm"]
        for key in ("n_mfcc", "dct_type", "norm", "lifter"):
            config[key] = dct[key]
        config["top_db"] = self.to_db.top_db
        return config


@register
class Delta(AudioLayer):
    """Delta features along time (``librosa.feature.delta``, width 9, mode 'interp').

    Args:
        width: odd window >= 3; the input needs at least ``width`` frames.
        order: derivative order (2 = delta-delta, fitted directly as librosa).

    Input shape: ``(batch, frames, features[, channels])``; output the same.

    Example:
        >>> Delta()(tf.zeros([2, 20, 13])).shape
        TensorShape([2, 20, 13])
    """

    input_kind = SPECTROGRAM

    def __init__(self, width: int = 9, order: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.width, self.order = features.check_delta_args(width, order)

    def build(self, input_shape):
        super().build(input_shape)
        if input_shape[1] is not None and input_shape[1] < self.width:
            raise ValueError(
                f"Delta(width={self.width}) needs at least {self.width} frames on axis 1, "
                f"got {input_shape[1]}"
            )

    def call(self, inputs):
        x = self._float32(inputs)
        return self._output(features.delta(x, self.width, self.order, axis=1))

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "order": self.order}


@register
class RMS(Frame):
    """Root-mean-square energy per frame (``librosa.feature.rms``).

    Args:
        frame_length: samples per frame (librosa 2048).
        hop_length: frame step (librosa 512).
        center: pad ``frame_length // 2`` on both ends.
        pad_mode: ``"constant"``, ``"reflect"`` or ``"symmetric"``.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames[, channels])``.

    Example:
        >>> RMS()(tf.zeros([2, 22050])).shape
        TensorShape([2, 44])
    """

    def __init__(self, frame_length: int = 2048, hop_length: int = 512, center: bool = True,
                 pad_mode: str = "constant", **kwargs):
        super().__init__(frame_length, hop_length, center, pad_mode, **kwargs)

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: features.rms(t, self.frame_length, self.hop_length, self.center,  # noqa: E731
                                    self.pad_mode)
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        return shape[:2] + shape[3:]


@register
class UtteranceNorm(AudioLayer):
    """Per-utterance mean (and optionally variance) normalisation over frames: cepstral
    mean normalisation (CMN / CMVN) of features such as log-mels or MFCCs.

    Each example's mean over all its frames is subtracted from every frame, feature by
    feature (and channel by channel); with ``variance=True`` the result is divided by
    the population standard deviation (floored at ``floor``). ECAPA-TDNN normalises its
    features this way (Desplanques et al., Interspeech 2020; SpeechBrain's
    ``InputNormalization(norm_type="sentence", std_norm=False)``). Frames of zero padding
    count like any frame: normalise equal-length utterances, or one at a time.

    Args:
        variance: divide by the standard deviation too.
        floor: smallest divisor (> 0).

    Input shape: ``(batch, frames, features[, channels])``; output the same. An input
    without frames gives an empty output.

    Example:
        >>> UtteranceNorm()(tf.constant([[[1.0, 5.0], [3.0, 9.0]]])).numpy().tolist()
        [[[-1.0, -2.0], [1.0, 2.0]]]
    """

    input_kind = SPECTROGRAM

    def __init__(self, variance: bool = False, floor: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.variance = bool(variance)
        self.floor = _checks.positive_float("floor", floor)

    def call(self, inputs):
        x = self._float32(inputs)
        y = x - tf.reduce_mean(x, axis=1, keepdims=True)
        if self.variance:
            std = tf.sqrt(tf.reduce_mean(tf.square(y), axis=1, keepdims=True))
            y = y / tf.maximum(std, tf.cast(self.floor, y.dtype))
        return self._output(y)

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "variance": self.variance, "floor": self.floor}
