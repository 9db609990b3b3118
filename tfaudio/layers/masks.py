"""Separation layers on the real/imag channels layout (no complex tensors between layers).

A complex STFT ``(batch, frames, bins[, channels])`` travels between Keras layers as its
*channels* form, float ``(batch, frames, bins[, channels], 2)`` with the real part at
index 0 of the last axis and the imaginary part at index 1 (:class:`ComplexToChannels`).
A separation network reads and writes that layout (e.g. Looking to Listen's power-law
compressed input and its cRM output, two real channels per speaker);
:class:`ChannelsToComplex` converts back right before :class:`~tfaudio.layers.InverseSTFT`.

The math is in :mod:`tfaudio.ops.masks`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.ops import masks

_CHANNELS_LAYOUT = "(batch, frames, bins, 2) or (batch, frames, bins, channels, 2)"


class _ChannelsLayer(AudioLayer):
    """Input: the real/imag channels layout, rank 4 or 5 with a last axis of size 2."""

    input_kind = SPECTROGRAM

    def _check_rank(self, shape) -> None:
        shape = tuple(shape)
        if len(shape) not in (4, 5) or shape[-1] not in (None, 2):
            raise ValueError(
                f"{type(self).__name__} expects a real/imag spectrogram of shape "
                f"{_CHANNELS_LAYOUT} (real and imaginary parts on the last axis), got shape "
                f"{shape}"
            )


@register
class ComplexToChannels(AudioLayer):
    """Complex STFT -> real and imaginary parts stacked on a new last axis.

    Input shape: complex ``(batch, frames, bins[, channels])`` (the :class:`STFT` output).
    Output shape: ``(batch, frames, bins[, channels], 2)`` in the compute dtype;
    ``[..., 0]`` is the real part.

    Example:
        >>> x = STFT(n_fft=512, hop_length=160)(tf.zeros([2, 16000]))
        >>> ComplexToChannels()(x).shape
        TensorShape([2, 101, 257, 2])
    """

    input_kind = SPECTROGRAM

    def _check_dtype(self, dtype):
        dtype = keras.backend.standardize_dtype(dtype)
        if "complex" not in dtype:
            raise TypeError(
                f"ComplexToChannels expects a complex spectrogram (the STFT layer's output), "
                f"got {dtype}"
            )

    def call(self, inputs):
        spec = tf.convert_to_tensor(inputs)
        self._check_rank(spec.shape)
        self._check_dtype(spec.dtype)
        return self._output(masks.complex_to_channels(tf.cast(spec, tf.complex64)))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return input_shape + (2,)


@register
class ChannelsToComplex(_ChannelsLayer):
    """Real/imag channels -> complex64 STFT (the input :class:`InverseSTFT` takes).

    Input shape: ``(batch, frames, bins[, channels], 2)``, float.
    Output shape: complex64 ``(batch, frames, bins[, channels])`` under any policy (the
    inverse FFT runs in float32).

    Example:
        >>> ChannelsToComplex()(tf.zeros([2, 101, 257, 2])).dtype
        tf.complex64
    """

    def call(self, inputs):
        x = self._float32(inputs)
        return masks.channels_to_complex(tf.cast(x, tf.float32))

    def _output_dtype(self):
        return "complex64"

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return input_shape[:-1]


@register
class PowerLawCompression(_ChannelsLayer):
    """Power-law compression ``|S|^p e^{j angle(S)}`` on the real/imag channels layout.

    Looking to Listen at the Cocktail Party (Ephrat et al. 2018, arXiv:1804.03619)
    compresses the network's input and output spectrograms with ``p = 0.3``.
    ``inverse=True`` applies ``|C|^(1/p) e^{j angle(C)}`` (decompression). Stable at 0:
    the value is 0 and the gradient finite (:func:`tfaudio.ops.power_law_compress`).

    Args:
        power: the exponent ``p > 0``.
        inverse: decompress (exponent ``1 / p``) instead.

    Input shape: ``(batch, frames, bins[, channels], 2)`` (real, imag).
    Output shape: the same, in the compute dtype.

    Example:
        >>> spec = ComplexToChannels()(STFT(n_fft=512, hop_length=160)(tf.zeros([1, 8000])))
        >>> PowerLawCompression(0.3)(spec).shape
        TensorShape([1, 51, 257, 2])
    """

    def __init__(self, power: float = 0.3, inverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.power = _checks.positive_float("power", power)
        self.inverse = bool(inverse)

    def call(self, inputs):
        x = self._float32(inputs)
        p = 1.0 / self.power if self.inverse else self.power
        return self._output(masks.power_law_channels(x, p))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "power": self.power, "inverse": self.inverse}


@register
class ChannelMagnitude(_ChannelsLayer):
    """Appends the magnitude as a third channel: ``(re, im)`` -> ``(re, im, |.|)``
    (:func:`tfaudio.ops.channels_with_magnitude`): a phase-free view of the spectrum
    beside its real and imaginary parts; with ``parts=False`` the magnitude alone,
    ``(|.|,)`` (:func:`tfaudio.ops.channel_magnitude`).

    Args:
        parts: keep the real and imaginary parts before the magnitude.

    Input shape: ``(batch, frames, bins[, channels], 2)`` (real, imag).
    Output shape: ``(batch, frames, bins[, channels], 3)`` (``1`` with ``parts=False``),
    in the compute dtype.

    Example:
        >>> ChannelMagnitude()(tf.zeros([1, 51, 257, 2])).shape
        TensorShape([1, 51, 257, 3])
    """

    def __init__(self, parts: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.parts = bool(parts)

    def call(self, inputs):
        fn = masks.channels_with_magnitude if self.parts else masks.channel_magnitude
        return self._output(fn(self._float32(inputs)))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        return input_shape[:-1] + (3 if self.parts else 1,)

    def get_config(self):
        return {**super().get_config(), "parts": self.parts}


@register
class ApplyComplexMask(AudioLayer):
    """Multiplies a mixture by a complex ratio mask, both in the real/imag channels layout.

    Called on ``[mask, mixture]``. With ``k`` set, the mask is a compressed cRM (the
    Williamson et al. 2016 target, ``K (1 - e^{-C M}) / (1 + e^{-C M})``) and is first
    uncompressed (:func:`tfaudio.ops.uncompress_mask`); with ``k=None`` it is used as is.
    The product is the complex ``M Y`` written as real/imag channels.

    Args:
        k: the compression bound ``K > 0`` of the mask, or None for an uncompressed mask.
        c: the compression steepness ``C > 0`` (used with ``k``).

    Input shape: ``[mask, mixture]``: mixture ``(batch, frames, bins, 2)``; mask the same
    shape, or ``(batch, frames, bins, speakers, 2)`` for one mask per speaker.
    Output shape: the mask's shape, in the compute dtype.

    Example:
        >>> mix = keras.Input((None, 257, 2))
        >>> mask = keras.Input((None, 257, 2, 2))           # two speakers
        >>> ApplyComplexMask(k=10.0)([mask, mix]).shape
        (None, None, 257, 2, 2)
    """

    def __init__(self, k: float | None = 10.0, c: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.k = None if k is None else _checks.positive_float("k", k)
        self.c = _checks.positive_float("c", c)

    def _check_shapes(self, mask_shape, mixture_shape):
        mask_shape, mixture_shape = tuple(mask_shape), tuple(mixture_shape)
        if len(mixture_shape) != 4 or mixture_shape[-1] not in (None, 2):
            raise ValueError(
                "ApplyComplexMask expects mixture of shape (batch, frames, bins, 2), got "
                f"{mixture_shape}"
            )
        if len(mask_shape) not in (4, 5) or mask_shape[-1] not in (None, 2):
            raise ValueError(
                "ApplyComplexMask expects mask of shape (batch, frames, bins, 2) or "
                f"(batch, frames, bins, speakers, 2), got {mask_shape}"
            )
        for axis, (a, b) in enumerate(zip(mask_shape[:3], mixture_shape[:3], strict=True)):
            if a is not None and b is not None and a != b:
                raise ValueError(
                    f"mask of shape {mask_shape} does not match mixture of shape "
                    f"{mixture_shape} on axis {axis}"
                )

    def _split(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("ApplyComplexMask is called on a list [mask, mixture]")
        return inputs[0], inputs[1]

    def build(self, input_shape):
        mask_shape, mixture_shape = self._split(input_shape)
        self._check_shapes(mask_shape, mixture_shape)
        self.built = True

    def call(self, inputs):
        mask, mixture = self._split(inputs)
        mask, mixture = tf.convert_to_tensor(mask), tf.convert_to_tensor(mixture)
        self._check_shapes(mask.shape, mixture.shape)
        for name, t in (("mask", mask), ("mixture", mixture)):
            if not t.dtype.is_floating:
                raise TypeError(
                    f"ApplyComplexMask expects a float {name} (real/imag channels), got "
                    f"{t.dtype.name}"
                )
        work = tf.float64 if self.compute_dtype == "float64" else tf.float32
        mask, mixture = tf.cast(mask, work), tf.cast(mixture, work)
        if self.k is not None:
            mask = masks.uncompress_mask(mask, self.k, self.c)
        if mask.shape.rank == 5:
            mixture = mixture[:, :, :, None, :]
        y = masks.apply_complex_mask(mask, masks.channels_to_complex(mixture))
        return self._output(masks.complex_to_channels(y))

    def compute_output_spec(self, inputs, *args, **kwargs):
        mask, mixture = self._split(inputs)
        self._check_shapes(mask.shape, mixture.shape)
        return keras.KerasTensor(self.compute_output_shape([mask.shape, mixture.shape]),
                                 dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        mask_shape, mixture_shape = self._split(input_shape)
        self._check_shapes(mask_shape, mixture_shape)
        return tuple(mask_shape)

    def get_config(self):
        return {**super().get_config(), "k": self.k, "c": self.c}
