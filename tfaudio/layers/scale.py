"""Scaling layers: PowerToDb, AmplitudeToDb, Log, MuLawEncoding, MuLawDecoding, OneHot."""

from __future__ import annotations

from typing import Any

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.ops import scale


class _ToDb(AudioLayer):
    input_kind = SPECTROGRAM
    _default_amin = 1e-10
    _fn = staticmethod(scale.power_to_db)

    def __init__(self, ref: Any = 1.0, amin: float | None = None, top_db: float | None = 80.0,
                 **kwargs):
        super().__init__(**kwargs)
        amin = self._default_amin if amin is None else amin
        scale.check_db_args(ref, amin, top_db)
        self.ref = ref if isinstance(ref, str) else float(ref)
        self.amin = float(amin)
        self.top_db = None if top_db is None else float(top_db)

    def call(self, inputs):
        x = self._float32(inputs)
        # One example = one (frames, bins) plane: per item and per channel.
        return self._output(
            self._fn(x, ref=self.ref, amin=self.amin, top_db=self.top_db, axis=[1, 2])
        )

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "ref": self.ref, "amin": self.amin, "top_db": self.top_db}


@register
class PowerToDb(_ToDb):
    """Power spectrogram to decibels (``librosa.power_to_db``), top_db per example and channel.

    ``10 log10(max(S, amin) / max(ref, amin))``, floored at each example's peak minus
    ``top_db``. A quiet clip batched with a loud one keeps its own dynamic range.

    Args:
        ref: reference power (> 0) or ``"max"`` (each example's peak, librosa ``np.max``).
        amin: floor (> 0), default 1e-10.
        top_db: dynamic range in dB (>= 0) or None.

    Input shape: ``(batch, frames, bins[, channels])``; output the same.

    Example:
        >>> PowerToDb()(tf.ones([2, 10, 64])).shape
        TensorShape([2, 10, 64])
    """


@register
class AmplitudeToDb(_ToDb):
    """Magnitude spectrogram to decibels (``librosa.amplitude_to_db``), top_db per example.

    ``20 log10(max(|S|, amin) / max(ref, amin))``; ``amin`` defaults to 1e-5.
    """

    _default_amin = 1e-5
    _fn = staticmethod(scale.amplitude_to_db)


@register
class Log(AudioLayer):
    """``ln(x + offset)`` of a spectrogram: VGGish's (0.01) and YAMNet's (0.001) log-mel.

    Args:
        offset: added before the natural log (> 0).

    Input shape: ``(batch, frames, bins[, channels])``; output the same.

    Example:
        >>> Log(0.01)(tf.zeros([1, 2, 3]))[0, 0, 0].numpy()  # ln(0.01)
        -4.6051702
    """

    input_kind = SPECTROGRAM

    def __init__(self, offset: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.offset = _checks.positive_float("offset", offset)

    def call(self, inputs):
        return self._output(scale.log_offset(self._float32(inputs), self.offset))

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@register
class MuLawEncoding(AudioLayer):
    """mu-law companding and quantisation to int32 codes ``0 .. Q - 1`` (WaveNet).

    Args:
        quantization_channels: number of levels Q (>= 2); mu = Q - 1.

    Input shape: float ``(batch, time[, channels])`` in [-1, 1] (clipped).
    Output shape: the same, int32.

    Example:
        >>> MuLawEncoding()(tf.constant([[-1.0, 0.0, 1.0]])).numpy().tolist()
        [[0, 128, 255]]
    """

    def __init__(self, quantization_channels: int = 256, **kwargs):
        super().__init__(**kwargs)
        q = _checks.positive_int("quantization_channels", quantization_channels)
        if q < 2:
            raise ValueError(f"quantization_channels={q} is out of range: it must be >= 2")
        self.quantization_channels = q

    def call(self, inputs):
        return scale.mu_law_encode(self._float32(inputs), self.quantization_channels)

    def _output_dtype(self):
        return "int32"

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "quantization_channels": self.quantization_channels}


@register
class MuLawDecoding(MuLawEncoding):
    """Inverse of :class:`MuLawEncoding`: integer codes to float in [-1, 1].

    Input shape: integer (or float-valued) codes ``(batch, time[, channels])``.
    Output shape: the same, in the compute dtype.
    """

    accepts_integer = True

    def call(self, inputs):
        import tensorflow as tf

        x = tf.convert_to_tensor(inputs)
        self._check_rank(x.shape)
        self._check_dtype(x.dtype)
        return self._output(scale.mu_law_decode(x, self.quantization_channels))

    def _output_dtype(self):
        return self.compute_dtype


@register
class OneHot(AudioLayer):
    """Integer codes (e.g. mu-law codes) to one-hot vectors: WaveNet's input encoding.

    Codes outside ``0 .. depth - 1`` are an error (``tf.errors.InvalidArgumentError``
    naming the range) in eager and graph mode; under XLA (``jit_compile``) the check is
    compiled out and such codes give all-zero vectors, as ``tf.one_hot``.

    Args:
        depth: number of classes (>= 2), e.g. 256 for 8-bit mu-law codes.

    Input shape: integer ``(batch, time[, channels])``.
    Output shape: ``(batch, time[, channels], depth)`` in the compute dtype.

    Example:
        >>> OneHot(4)(tf.constant([[0, 3]])).numpy().tolist()
        [[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]]
    """

    accepts_integer = True

    def __init__(self, depth: int = 256, **kwargs):
        super().__init__(**kwargs)
        depth = _checks.positive_int("depth", depth)
        if depth < 2:
            raise ValueError(f"depth={depth} is out of range: it must be >= 2")
        self.depth = depth

    def _check_dtype(self, dtype) -> None:
        import keras

        dtype = keras.backend.standardize_dtype(dtype)
        if "int" not in dtype:
            raise TypeError(f"OneHot expects integer codes, got dtype {dtype}; quantise "
                            "first (e.g. MuLawEncoding)")

    def call(self, inputs):
        import tensorflow as tf

        x = tf.convert_to_tensor(inputs)
        self._check_rank(x.shape)
        self._check_dtype(x.dtype)
        message = f"OneHot: codes must be in 0..{self.depth - 1} (depth {self.depth})"
        checks = [tf.debugging.assert_non_negative(x, message=message),
                  tf.debugging.assert_less(x, tf.cast(self.depth, x.dtype), message=message)]
        with tf.control_dependencies(checks):
            return tf.one_hot(x, self.depth, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape) + (self.depth,)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}
