"""The base class of tfaudio layers: input checks, channels, float32 math.

Layouts (channels-last, as Keras):
    waveform     ``(batch, time)`` or ``(batch, time, channels)``
    spectrogram  ``(batch, frames, bins)`` or ``(batch, frames, bins, channels)``

Layers are built with ``autocast=False`` so Keras never downcasts their inputs or
weights: the math runs in float32 (FFT included) and the result is cast to the layer's
compute dtype (float16 / bfloat16 under mixed precision).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

WAVEFORM = "waveform"
SPECTROGRAM = "spectrogram"

_RANKS = {WAVEFORM: (2, 3), SPECTROGRAM: (3, 4)}
_LAYOUTS = {
    WAVEFORM: "(batch, time) or (batch, time, channels)",
    SPECTROGRAM: "(batch, frames, bins) or (batch, frames, bins, channels)",
}


def register(cls):
    """Registers a layer for ``.keras`` loading under the ``tfaudio`` package."""
    return keras.saving.register_keras_serializable(package="tfaudio")(cls)


class AudioLayer(keras.layers.Layer):
    """Base layer: validates the input rank and dtype, computes in float32.

    Subclasses set ``input_kind`` (``"waveform"`` or ``"spectrogram"``) and implement
    ``call`` using :meth:`_float32` and :meth:`_output`.
    """

    input_kind = WAVEFORM
    # Whether integer input is accepted (e.g. mu-law decoding takes codes).
    accepts_integer = False

    def __init__(self, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)

    # --------------------------------------------------------------------- checks
    def _check_rank(self, shape) -> None:
        ranks = _RANKS[self.input_kind]
        rank = len(shape)
        if rank not in ranks:
            raise ValueError(
                f"{type(self).__name__} expects a {self.input_kind} of shape "
                f"{_LAYOUTS[self.input_kind]} (rank {ranks[0]} or {ranks[1]}), "
                f"got rank {rank} shape {tuple(shape)}"
            )

    def _check_dtype(self, dtype) -> None:
        dtype = keras.backend.standardize_dtype(dtype)
        if "float" in dtype:
            return
        if self.accepts_integer and "int" in dtype:
            return
        raise TypeError(
            f"{type(self).__name__} expects a floating-point {self.input_kind}, got dtype "
            f"{dtype}; convert integer PCM first, e.g. tf.cast(x, 'float32') / 32768.0"
        )

    def build(self, input_shape):
        self._check_rank(input_shape)
        super().build(input_shape)

    def compute_output_spec(self, inputs, *args, **kwargs):
        self._check_rank(inputs.shape)
        self._check_dtype(inputs.dtype)
        return keras.KerasTensor(
            self.compute_output_shape(inputs.shape), dtype=self._output_dtype()
        )

    def _output_dtype(self) -> str:
        return self.compute_dtype

    # --------------------------------------------------------------------- helpers
    def _float32(self, x) -> tf.Tensor:
        """Checks rank and dtype and returns ``x`` as float32 (float64 for a float64 layer).

        A layer built with ``dtype="float64"`` computes in float64 end to end: the
        reference-precision path that tests compare with float64 NumPy recipes.
        """
        x = tf.convert_to_tensor(x)
        self._check_rank(x.shape)
        self._check_dtype(x.dtype)
        return tf.cast(x, tf.float64 if self.compute_dtype == "float64" else tf.float32)

    def _output(self, y) -> tf.Tensor:
        """Casts a float32 result to the layer's compute dtype."""
        return tf.cast(y, self.compute_dtype)

    @staticmethod
    def _per_channel(fn: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor, axis: int = 1):
        """Applies ``fn`` (which works on the LAST axis) to ``x`` along ``axis``.

        For a waveform ``(batch, time, channels)`` with ``axis=1``, ``fn`` sees
        ``(batch, channels, time)`` and its result ``(batch, channels, *rest)`` comes
        back as ``(batch, *rest, channels)``. Rank-2 input goes straight through.
        """
        if x.shape.rank == 2:
            return fn(x)
        moved = tf.transpose(x, [0, 2, 1])
        out = fn(moved)
        out_rank = out.shape.rank
        perm = [0] + list(range(2, out_rank)) + [1]
        return tf.transpose(out, perm)
