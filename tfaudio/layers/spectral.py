"""STFT-family layers: STFT, InverseSTFT, Spectrogram, Phase, Frame."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.ops import filters, spectral


class _STFTArgs(AudioLayer):
    """Shared argument handling of the layers that frame a waveform with an FFT."""

    def __init__(
        self,
        n_fft: int = 2048,
        hop_length: int | None = None,
        win_length: int | None = None,
        window: Any = "hann",
        center: bool = True,
        pad_mode: str = "constant",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.win_length = spectral.resolve_stft_args(
            n_fft, hop_length, win_length
        )
        self._hop_arg, self._win_arg = hop_length, win_length
        self.center = bool(center)
        self.pad_mode = spectral.check_pad_mode(pad_mode)
        self.window = filters.window_config(window)
        spectral.stft_window(window, self.n_fft, self.win_length)  # validates the window

    def _stft_kwargs(self) -> dict:
        return dict(
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
        )

    def build(self, input_shape):
        super().build(input_shape)
        spectral.check_length(input_shape[1], self.n_fft, self.center, self.pad_mode)

    def _frames(self, length):
        return spectral.num_frames(length, self.n_fft, self.hop_length, self.center)

    def _spectral_shape(self, input_shape, bins):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        out = (input_shape[0], self._frames(input_shape[1]), bins)
        return out + tuple(input_shape[2:])

    def get_config(self):
        config = super().get_config()
        config.update(
            n_fft=self.n_fft,
            hop_length=self._hop_arg,
            win_length=self._win_arg,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
        )
        return config


@register
class STFT(_STFTArgs):
    """Complex short-time Fourier transform, equal to ``librosa.stft`` (transposed).

    Args:
        n_fft: FFT size (``n_fft // 2 + 1`` bins).
        hop_length: frame step; default ``win_length // 4``.
        win_length: window length <= n_fft, centred in the frame; default ``n_fft``.
        window: ``"hann"`` (periodic), ``"hamming"``, ``"blackman"`` or a 1-D array.
        center: pad ``n_fft // 2`` on both ends so frame t is centred at ``t * hop``.
        pad_mode: ``"constant"`` (librosa default), ``"reflect"`` or ``"symmetric"``.

    Input shape: ``(batch, time)`` or ``(batch, time, channels)``, float.
    Output shape: complex64 ``(batch, frames, n_fft // 2 + 1[, channels])`` with
    ``frames = 1 + (time + 2 * (n_fft // 2) - n_fft) // hop`` if centred, else
    ``1 + (time - n_fft) // hop``.

    Example:
        >>> STFT(n_fft=512, hop_length=128)(tf.zeros([2, 16000])).shape
        TensorShape([2, 126, 257])
    """

    def call(self, inputs):
        x = self._float32(inputs)
        return self._per_channel(lambda t: spectral.stft(t, **self._stft_kwargs()), x)

    def _output_dtype(self):
        return "complex64"

    def compute_output_shape(self, input_shape):
        return self._spectral_shape(input_shape, self.n_fft // 2 + 1)


@register
class Spectrogram(_STFTArgs):
    """Magnitude spectrogram ``|STFT| ** power`` (librosa), without complex tensors.

    Args:
        power: exponent of the magnitude (> 0): 1 = magnitude, 2 = power (default).
        **kwargs: the :class:`STFT` arguments.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames, n_fft // 2 + 1[, channels])`` in the compute dtype.

    Example:
        >>> Spectrogram(n_fft=512, hop_length=160, win_length=400)(tf.zeros([1, 16000])).shape
        TensorShape([1, 101, 257])
    """

    def __init__(self, n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: Any = "hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, **kwargs):
        super().__init__(n_fft, hop_length, win_length, window, center, pad_mode, **kwargs)
        self.power = _checks.positive_float("power", power)

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: spectral.spectrogram(t, power=self.power, **self._stft_kwargs())  # noqa: E731
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        return self._spectral_shape(input_shape, self.n_fft // 2 + 1)

    def get_config(self):
        return {**super().get_config(), "power": self.power}


@register
class Phase(_STFTArgs):
    """Phase angle (radians, ``(-pi, pi]``) of the STFT, as a real tensor.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames, n_fft // 2 + 1[, channels])``.
    """

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: spectral.phase(spectral.stft(t, **self._stft_kwargs()))  # noqa: E731
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        return self._spectral_shape(input_shape, self.n_fft // 2 + 1)


@register
class InverseSTFT(AudioLayer):
    """Inverse STFT with librosa's window-sum-square normalisation (``librosa.istft``).

    ``InverseSTFT(...)(STFT(...)(x))`` reconstructs ``x`` (with ``center=True``, or
    away from the first and last frame with ``center=False``).

    Args:
        n_fft, hop_length, win_length, window, center: as the forward :class:`STFT`.
        length: output length in samples (trim or zero-pad), or None for
            ``(frames - 1) * hop + n_fft`` minus the centring padding.

    Input shape: complex ``(batch, frames, n_fft // 2 + 1[, channels])``.
    Output shape: ``(batch, time[, channels])``.

    Example:
        >>> x = tf.random.normal([2, 8000])
        >>> y = InverseSTFT(n_fft=512, length=8000)(STFT(n_fft=512)(x))
    """

    input_kind = SPECTROGRAM

    def __init__(self, n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: Any = "hann", center: bool = True,
                 length: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.win_length = spectral.resolve_stft_args(
            n_fft, hop_length, win_length
        )
        self._hop_arg, self._win_arg = hop_length, win_length
        self.window = filters.window_config(window)
        spectral.stft_window(window, self.n_fft, self.win_length)
        self.center = bool(center)
        self.length = None if length is None else _checks.positive_int("length", length)

    def _check_dtype(self, dtype):
        dtype = keras.backend.standardize_dtype(dtype)
        if "complex" not in dtype:
            raise TypeError(
                f"InverseSTFT expects a complex spectrogram (the STFT layer's output), got {dtype}"
            )

    def build(self, input_shape):
        super().build(input_shape)
        bins = input_shape[2]
        if bins is not None and bins != self.n_fft // 2 + 1:
            raise ValueError(
                f"InverseSTFT(n_fft={self.n_fft}) expects n_fft // 2 + 1 = "
                f"{self.n_fft // 2 + 1} bins on axis 2, got {bins}"
            )

    def call(self, inputs):
        spec = tf.convert_to_tensor(inputs)
        self._check_rank(spec.shape)
        self._check_dtype(spec.dtype)

        def fn(s):
            return spectral.istft(
                s, self.hop_length, self.win_length, self.n_fft, self.window, self.center,
                self.length,
            )

        if spec.shape.rank == 3:
            return self._output(fn(spec))
        moved = tf.transpose(spec, [0, 3, 1, 2])  # (batch, channels, frames, bins)
        return self._output(tf.transpose(fn(moved), [0, 2, 1]))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        if self.length is not None:
            time = self.length
        elif input_shape[1] is None:
            time = None
        else:
            time = (input_shape[1] - 1) * self.hop_length + self.n_fft
            if self.center:
                time -= 2 * (self.n_fft // 2)
        return (input_shape[0], time) + tuple(input_shape[3:])

    def get_config(self):
        config = super().get_config()
        config.update(
            n_fft=self.n_fft, hop_length=self._hop_arg, win_length=self._win_arg,
            window=self.window, center=self.center, length=self.length,
        )
        return config


@register
class Frame(AudioLayer):
    """Slices a waveform into overlapping frames (``librosa.util.frame``).

    Args:
        frame_length: samples per frame.
        hop_length: samples between frame starts.
        center: pad ``frame_length // 2`` on both ends first.
        pad_mode: ``"constant"``, ``"reflect"`` or ``"symmetric"`` (with center).

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, frames, frame_length[, channels])``.

    Example:
        >>> Frame(400, 160)(tf.zeros([2, 16000])).shape
        TensorShape([2, 98, 400])
    """

    def __init__(self, frame_length: int, hop_length: int, center: bool = False,
                 pad_mode: str = "constant", **kwargs):
        super().__init__(**kwargs)
        self.frame_length = _checks.positive_int("frame_length", frame_length)
        self.hop_length = _checks.positive_int("hop_length", hop_length)
        self.center = bool(center)
        self.pad_mode = spectral.check_pad_mode(pad_mode)

    def build(self, input_shape):
        super().build(input_shape)
        spectral.check_length(input_shape[1], self.frame_length, self.center, self.pad_mode,
                              what="frame_length")

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: spectral.frame(t, self.frame_length, self.hop_length, self.center,  # noqa: E731
                                      self.pad_mode)
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        frames = spectral.num_frames(input_shape[1], self.frame_length, self.hop_length, self.center)
        return (input_shape[0], frames, self.frame_length) + tuple(input_shape[2:])

    def get_config(self):
        return {
            **super().get_config(), "frame_length": self.frame_length,
            "hop_length": self.hop_length, "center": self.center, "pad_mode": self.pad_mode,
        }


@register
class Pad(AudioLayer):
    """Zero-pads a waveform: ``before`` / ``after`` samples, then the end up to ``min_length``.

    VGGish frames a 400-sample window inside a 512-point FFT without centring; padding
    56 samples on both ends lets the librosa-style :class:`Spectrogram` (window centred
    in the FFT frame) see exactly those samples. ``min_length`` makes short clips long
    enough for a model's first patch.

    Args:
        before: zeros prepended (>= 0).
        after: zeros appended (>= 0).
        min_length: zeros appended after that until the clip has this many samples.

    Input shape: ``(batch, time[, channels])``.
    Output shape: ``(batch, max(before + time + after, min_length)[, channels])``.

    Example:
        >>> Pad(56, 56, min_length=15712)(tf.zeros([2, 8000])).shape
        TensorShape([2, 15712])
    """

    def __init__(self, before: int = 0, after: int = 0, min_length: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.before = _checks.non_negative_int("before", before)
        self.after = _checks.non_negative_int("after", after)
        self.min_length = _checks.non_negative_int("min_length", min_length)

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: spectral.pad(t, self.before, self.after, self.min_length)  # noqa: E731
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        length = spectral.padded_length(input_shape[1], self.before, self.after, self.min_length)
        return (input_shape[0], length) + tuple(input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "before": self.before, "after": self.after,
                "min_length": self.min_length}


@register
class Patches(AudioLayer):
    """Cuts a spectrogram into fixed-size patches along time (VGGish's 96 x 64 examples).

    Complete patches only: fewer than ``patch_frames`` frames give zero patches (pad
    the waveform first, e.g. with :class:`Pad`'s ``min_length``).

    Args:
        patch_frames: frames per patch.
        hop_frames: frames between patch starts (default ``patch_frames``: no overlap).

    Input shape: ``(batch, frames, bins[, channels])``.
    Output shape: ``(batch, patches, patch_frames, bins[, channels])`` with
    ``patches = 1 + (frames - patch_frames) // hop_frames``.

    Example:
        >>> Patches(96)(tf.zeros([2, 298, 64])).shape
        TensorShape([2, 3, 96, 64])
    """

    input_kind = SPECTROGRAM

    def __init__(self, patch_frames: int = 96, hop_frames: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.patch_frames = _checks.positive_int("patch_frames", patch_frames)
        self.hop_frames = self.patch_frames if hop_frames is None else _checks.positive_int(
            "hop_frames", hop_frames)

    def call(self, inputs):
        x = self._float32(inputs)
        if x.shape.rank == 4:  # (batch, frames, bins, channels): patch each channel
            moved = tf.transpose(x, [0, 3, 1, 2])
            out = spectral.patches(moved, self.patch_frames, self.hop_frames)
            return self._output(tf.transpose(out, [0, 2, 3, 4, 1]))
        return self._output(spectral.patches(x, self.patch_frames, self.hop_frames))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        n = spectral.num_patches(input_shape[1], self.patch_frames, self.hop_frames)
        return (input_shape[0], n, self.patch_frames) + tuple(input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "patch_frames": self.patch_frames,
                "hop_frames": self.hop_frames}
