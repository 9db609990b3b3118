"""Resampling layer: windowed-sinc polyphase resampling between integer rates."""

from __future__ import annotations

from tfaudio.layers.base import AudioLayer, register
from tfaudio.ops.resample import check_rates, resample, resample_kernel, resampled_length


@register
class Resample(AudioLayer):
    """Resamples a waveform from ``orig_sr`` to ``target_sr`` inside the model graph.

    Kaiser-windowed sinc, polyphase (one frame + one matmul); passband (<= 0.9 x the
    lower Nyquist) ripple <= 0.1 dB and >= 80 dB rejection above the lower Nyquist. See
    :func:`tfaudio.ops.resample`. Output sample ``k`` is aligned with input time
    ``k * orig_sr / target_sr`` (no delay); the input is zero outside its ends.

    Args:
        orig_sr: input sample rate (positive int).
        target_sr: output sample rate (positive int); equal rates are the identity.

    Input shape: ``(batch, time)`` or ``(batch, time, channels)``, float.
    Output shape: ``(batch, ceil(time * L / M)[, channels])`` in the compute dtype, where
    ``L / M = target_sr / orig_sr`` reduced by the gcd.

    Example:
        >>> Resample(44100, 16000)(tf.zeros([2, 44100, 2])).shape
        TensorShape([2, 16000, 2])
    """

    def __init__(self, orig_sr: int, target_sr: int, **kwargs):
        super().__init__(**kwargs)
        self.up, self.down = check_rates(orig_sr, target_sr)
        self.orig_sr, self.target_sr = int(orig_sr), int(target_sr)
        if self.up != self.down:
            resample_kernel(self.up, self.down)  # designs (and caches) it now

    def call(self, inputs):
        x = self._float32(inputs)
        fn = lambda t: resample(t, self.orig_sr, self.target_sr)  # noqa: E731
        return self._output(self._per_channel(fn, x))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        time = resampled_length(input_shape[1], self.orig_sr, self.target_sr)
        return (input_shape[0], time) + input_shape[2:]

    def get_config(self):
        return {**super().get_config(), "orig_sr": self.orig_sr, "target_sr": self.target_sr}
