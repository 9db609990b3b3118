"""Mel layers: MelFilterbank (spectrogram -> mel) and MelSpectrogram (waveform -> mel)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.layers.spectral import Spectrogram
from tfaudio.ops import features, filters


@register
class MelFilterbank(AudioLayer):
    """Applies librosa's mel filterbank to a linear-frequency spectrogram.

    The filterbank is a weight initialised to ``librosa.filters.mel(...)``; with
    ``trainable=True`` it is learned.

    Args:
        sample_rate: sampling rate in Hz.
        n_fft: FFT size of the input spectrogram (``n_fft // 2 + 1`` bins).
        n_mels: number of mel bands (<= bins).
        f_min: lowest edge in Hz, in ``[0, sample_rate / 2)``.
        f_max: highest edge in Hz, in ``(f_min, sample_rate / 2]``; None = Nyquist.
        htk: HTK mel scale instead of Slaney's.
        norm: ``"slaney"``, None or a p-norm order.
        triangles: ``"hz"`` (librosa) or ``"mel"`` (triangles linear in mels, no DC
            weight: VGGish / YAMNet / ``tf.signal.linear_to_mel_weight_matrix``).
        trainable: learn the filterbank.

    Input shape: ``(batch, frames, n_fft // 2 + 1[, channels])``.
    Output shape: ``(batch, frames, n_mels[, channels])``.

    Example:
        >>> MelFilterbank(16000, 512, 64)(tf.ones([2, 10, 257])).shape
        TensorShape([2, 10, 64])
    """

    input_kind = SPECTROGRAM

    def __init__(self, sample_rate: float = 22050, n_fft: int = 2048, n_mels: int = 128,
                 f_min: float = 0.0, f_max: float | None = None, htk: bool = False,
                 norm: Any = "slaney", trainable: bool = False, triangles: str = "hz",
                 **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self._matrix = filters.mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, htk, norm,
                                              triangles)
        self.sample_rate = float(sample_rate)
        self.n_fft, self.n_mels = int(n_fft), int(n_mels)
        self.f_min, self.f_max = float(f_min), None if f_max is None else float(f_max)
        self.htk, self.norm, self.triangles = bool(htk), norm, triangles

    def build(self, input_shape):
        super().build(input_shape)
        bins = self.n_fft // 2 + 1
        if input_shape[2] is not None and input_shape[2] != bins:
            raise ValueError(
                f"MelFilterbank(n_fft={self.n_fft}) expects {bins} frequency bins on axis 2, "
                f"got {input_shape[2]}"
            )
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        matrix = self._matrix.astype(dtype)
        self.filterbank = self.add_weight(
            name="filterbank",
            shape=matrix.shape,
            initializer=lambda shape, dtype=None: tf.constant(matrix),
            dtype=dtype,
            trainable=self.trainable,
            autocast=False,
        )

    def call(self, inputs):
        x = self._float32(inputs)
        fb = tf.convert_to_tensor(self.filterbank)
        if x.shape.rank == 3:
            return self._output(features.apply_filterbank(x, fb))
        moved = tf.transpose(x, [0, 1, 3, 2])
        return self._output(tf.transpose(features.apply_filterbank(moved, fb), [0, 1, 3, 2]))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return (input_shape[0], input_shape[1], self.n_mels) + tuple(input_shape[3:])

    def get_config(self):
        return {
            **super().get_config(), "sample_rate": self.sample_rate, "n_fft": self.n_fft,
            "n_mels": self.n_mels, "f_min": self.f_min, "f_max": self.f_max, "htk": self.htk,
            "norm": self.norm, "triangles": self.triangles,
        }


@register
class MelSpectrogram(AudioLayer):
    """Mel spectrogram equal to ``librosa.feature.melspectrogram`` (transposed).

    Composed of :class:`Spectrogram` and :class:`MelFilterbank`; no complex tensor
    crosses a layer boundary. Note ``hop_length`` defaults to ``win_length // 4`` (as
    ``librosa.stft``), which is librosa's 512 for the default ``n_fft=2048``.

    Args:
        sample_rate, n_fft, hop_length, win_length, window, center, pad_mode, power:
            as :class:`Spectrogram`.
        n_mels, f_min, f_max, htk, norm, trainable, triangles: as :class:`MelFilterbank`.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames, n_mels[, channels])``.

    Example:
        >>> layer = MelSpectrogram(16000, n_fft=512, hop_length=160, win_length=400, n_mels=64)
        >>> layer(tf.zeros([4, 16000])).shape
        TensorShape([4, 101, 64])
    """

    def __init__(self, sample_rate: float = 22050, n_fft: int = 2048,
                 hop_length: int | None = None, win_length: int | None = None,
                 window: Any = "hann", center: bool = True, pad_mode: str = "constant",
                 power: float = 2.0, n_mels: int = 128, f_min: float = 0.0,
                 f_max: float | None = None, htk: bool = False, norm: Any = "slaney",
                 trainable: bool = False, triangles: str = "hz", **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        # Sub-layers compute and return float32 (a float16 power spectrum overflows);
        # only this layer's output is cast to the compute dtype.
        self.spectrogram = Spectrogram(
            n_fft, hop_length, win_length, window, center, pad_mode, power,
            dtype="float32", name="spectrogram",
        )
        self.mel = MelFilterbank(
            sample_rate, n_fft, n_mels, f_min, f_max, htk, norm, trainable=trainable,
            triangles=triangles, dtype="float32", name="mel_filterbank",
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.spectrogram.build(input_shape)
        self.mel.build(self.spectrogram.compute_output_shape(input_shape))

    def call(self, inputs):
        self._float32(inputs)  # rank and dtype checks
        return self._output(self.mel(self.spectrogram(tf.cast(inputs, tf.float32))))

    def compute_output_shape(self, input_shape):
        return self.mel.compute_output_shape(self.spectrogram.compute_output_shape(input_shape))

    def get_config(self):
        spec = self.spectrogram.get_config()
        mel = self.mel.get_config()
        config = super().get_config()
        for key in ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power"):
            config[key] = spec[key]
        for key in ("sample_rate", "n_mels", "f_min", "f_max", "htk", "norm", "triangles"):
            config[key] = mel[key]
        return config
