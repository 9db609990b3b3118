"""Pitch-model input layers: CREPE's per-frame normalisation."""

from __future__ import annotations

import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, AudioLayer, register
from tfaudio.ops import pitch


@register
class NormalizeFrames(AudioLayer):
    """Each frame to mean 0 and population std 1: CREPE's input normalisation.

    ``(x - mean) / max(std, floor)`` over each frame's samples, std with ddof 0 (Kim et
    al., "CREPE: A Convolutional Representation for Pitch Estimation", ICASSP 2018, as
    released). All-zero frames stay zero. See :func:`tfaudio.ops.normalize_frames`.

    Args:
        floor: smallest divisor (> 0); CREPE's 1e-8.

    Input shape: framed audio ``(batch, frames, frame_length[, channels])`` (e.g. from
    :class:`~tfaudio.layers.Frame`). Output shape: the same.

    Example:
        >>> NormalizeFrames()(tf.constant([[[1.0, 3.0], [2.0, 2.0]]])).numpy().tolist()
        [[[-1.0, 1.0], [0.0, 0.0]]]
    """

    input_kind = SPECTROGRAM

    def __init__(self, floor: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.floor = _checks.positive_float("floor", floor)

    def call(self, inputs):
        x = self._float32(inputs)
        if x.shape.rank == 4:  # the samples of a frame are axis 2: move channels before
            y = pitch.normalize_frames(tf.transpose(x, [0, 1, 3, 2]), self.floor)
            return self._output(tf.transpose(y, [0, 1, 3, 2]))
        return self._output(pitch.normalize_frames(x, self.floor))

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}
