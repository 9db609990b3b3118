"""The audio-only separation model of "Looking to Listen at the Cocktail Party"
(Ephrat, Mosseri, Lang, Dekel, Wilson, Hassidim, Freeman and Rubinstein, SIGGRAPH 2018,
arXiv:1804.03619), waveform in, one waveform per speaker out.

The audio stream of the paper's Table 1 (the visual streams are left out, as in the
paper's audio-only baseline); dilations are (time, frequency):

========  ========  ==========  =======================================================
layer     kernel    dilation    filters
========  ========  ==========  =======================================================
conv1     1 x 7     1 x 1       96
conv2     7 x 1     1 x 1       96
conv3     5 x 5     1 x 1       96
conv4-8   5 x 5     2..32 x 1   96 (dilation doubling in time: 2, 4, 8, 16, 32)
conv9     5 x 5     1 x 1       96
conv10-14 5 x 5     2..32 x     96 (doubling in time and frequency: 2, 4, 8, 16, 32)
                    2..32
conv15    1 x 1     1 x 1       8
========  ========  ==========  =======================================================

Every conv is followed by batch norm and ReLU. The 8 x bins features of each frame go
through a bidirectional LSTM (400 units per direction), three fully connected layers of
600 (ReLU) and a last one giving, per speaker, a complex mask (real and imaginary part per
bin). Input: the power-law compressed (p = 0.3) complex STFT of the mixture, 25 ms
Hann windows, 10 ms hop, FFT 512 at 16 kHz, as real/imag channels.

Choices where the paper is silent or that differ (documented, all arguments):

- The mask head emits ``K tanh(z / 2)``, the range of the compressed cRM target of
  Williamson et al. (2016) (``K (1 - e^{-C M}) / (1 + e^{-C M}) = K tanh(C M / 2)``,
  K = 10, C = 0.1); :class:`tfaudio.layers.ApplyComplexMask` uncompresses it and
  multiplies the mixture's (uncompressed) STFT. Some ports use a sigmoid, which cannot
  express negative mask parts.
- The two LSTM directions are concatenated (``merge="concat"``; ``"sum"`` as in the
  asteroid port).
- The STFT is centred (librosa's convention): 3 s give 301 frames, not the paper's 298,
  and the inverse STFT reconstructs the edges too.
- ``width`` multiplies the conv filters (96), the LSTM units (400) and the fully
  connected units (600); the 8-channel bottleneck and the output stay.

Parameter count at ``width=1``, 257 bins, 2 speakers (``concat``): 12,517,508 trainable
(+ 2,704 batch-norm statistics; 7.86 M of it the BLSTM); the paper does not state one,
the test recomputes it from the table above.
"""

from __future__ import annotations

import keras

from tfaudio import _checks
from tfaudio import layers as L

SAMPLE_RATE = 16000
WINDOW_MS, HOP_MS, N_FFT = 25.0, 10.0, 512
POWER = 0.3
MASK_BOUND, MASK_STEEPNESS = 10.0, 0.1
# (kernel, dilation, filters): the audio stream of Table 1 (filters 0 = the width's).
AUDIO_STREAM = (
    ((1, 7), (1, 1), 0),
    ((7, 1), (1, 1), 0),
    ((5, 5), (1, 1), 0),
    *(((5, 5), (d, 1), 0) for d in (2, 4, 8, 16, 32)),
    ((5, 5), (1, 1), 0),
    *(((5, 5), (d, d), 0) for d in (2, 4, 8, 16, 32)),
    ((1, 1), (1, 1), 8),
)
FILTERS, LSTM_UNITS, FC_UNITS, FC_LAYERS = 96, 400, 600, 3


def _scaled(units: int, width: float) -> int:
    return max(1, int(round(units * width)))


@keras.saving.register_keras_serializable(package="tfaudio")
class MaskBound(keras.layers.Layer):
    """``K tanh(z / 2)``: an unbounded output mapped onto the compressed cRM's range
    ``(-K, K)`` (Williamson et al. 2016's compression is ``K tanh(C M / 2)``).

    Args:
        k: the bound ``K > 0``.

    Input and output shape: any; the output in the compute dtype.

    Example:
        >>> MaskBound(10.0)(tf.constant([0.0, 100.0])).numpy().tolist()
        [0.0, 10.0]
    """

    def __init__(self, k: float = MASK_BOUND, **kwargs):
        super().__init__(**kwargs)
        self.k = _checks.positive_float("k", k)

    def call(self, inputs):
        return self.k * keras.ops.tanh(0.5 * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "k": self.k}


def stft_settings(sample_rate: int = SAMPLE_RATE) -> dict:
    """The model's STFT at ``sample_rate``: 25 ms Hann windows, 10 ms hop, FFT 512 at
    16 kHz scaled with the rate (the next power of two): ``{"n_fft", "hop_length",
    "win_length"}``."""
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    win = int(round(WINDOW_MS * sample_rate / 1000))
    hop = int(round(HOP_MS * sample_rate / 1000))
    n_fft = max(N_FFT * sample_rate // SAMPLE_RATE, win)
    return {"n_fft": 1 << (n_fft - 1).bit_length(), "hop_length": hop, "win_length": win}


def looking_to_listen_audio(num_speakers: int = 2, seconds: float = 3.0,
                            width: float = 1.0, sample_rate: int = SAMPLE_RATE,
                            power: float = POWER, merge: str = "concat",
                            dropout: float = 0.0, name: str | None = None) -> keras.Model:
    """The audio-only Looking-to-Listen separator: waveform -> one waveform per speaker.

    Args:
        num_speakers: sources to separate (one cRM each).
        seconds: the input length (the paper's 3 s); the model's input is fixed to
            ``round(seconds * sample_rate)`` samples.
        width: multiplier of the conv filters, LSTM and fully connected units.
        sample_rate: the input rate; the STFT keeps 25 ms / 10 ms windows and FFT 512
            at 16 kHz, scaled with the rate (FFT the next power of two).
        power: the power-law compression of the input spectrogram.
        merge: ``"concat"`` or ``"sum"`` of the LSTM's two directions.
        dropout: after each fully connected layer.
        name: the model's name.

    Returns:
        A Keras model ``(batch, samples)`` -> ``(batch, num_speakers, samples)``.

    Example:
        >>> m = looking_to_listen_audio(width=0.25, seconds=1.0)
        >>> m(tf.zeros([2, 16000])).shape
        TensorShape([2, 2, 16000])
    """
    num_speakers = _checks.positive_int("num_speakers", num_speakers)
    seconds = _checks.positive_float("seconds", seconds)
    width = _checks.positive_float("width", width)
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    merge = _checks.one_of("merge", merge, ("concat", "sum"))
    samples = int(round(seconds * sample_rate))
    stft = stft_settings(sample_rate)
    n_fft, hop, win = stft["n_fft"], stft["hop_length"], stft["win_length"]
    bins = n_fft // 2 + 1
    if samples < n_fft:
        raise ValueError(f"seconds={seconds:g} gives {samples} samples, shorter than one "
                         f"{n_fft}-point FFT")

    wave = keras.Input((samples,), name="mixture")
    spec = L.STFT(n_fft=n_fft, hop_length=hop, win_length=win, name="stft")(wave)
    mix = L.ComplexToChannels(name="mixture_channels")(spec)  # (b, frames, bins, 2)
    x = L.PowerLawCompression(power, name="power_law")(mix)
    for i, (kernel, dilation, filters) in enumerate(AUDIO_STREAM, start=1):
        x = keras.layers.Conv2D(filters or _scaled(FILTERS, width), kernel,
                                dilation_rate=dilation, padding="same",
                                name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    frames_features = AUDIO_STREAM[-1][2] * bins
    x = keras.layers.Reshape((-1, frames_features), name="frame_features")(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(_scaled(LSTM_UNITS, width), return_sequences=True),
        merge_mode=merge, name="blstm")(x)
    for i in range(1, FC_LAYERS + 1):
        x = keras.layers.Dense(_scaled(FC_UNITS, width), activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{i}")(x)
    x = keras.layers.Dense(bins * num_speakers * 2, name="masks")(x)
    x = keras.layers.Reshape((-1, bins, num_speakers, 2), name="per_speaker")(x)
    mask = MaskBound(MASK_BOUND, name="bounded")(x)
    est = L.ApplyComplexMask(k=MASK_BOUND, c=MASK_STEEPNESS, name="apply_mask")([mask, mix])
    est = L.ChannelsToComplex(name="estimate")(est)  # (b, frames, bins, speakers)
    out = L.InverseSTFT(n_fft=n_fft, hop_length=hop, win_length=win, length=samples,
                        name="istft")(est)  # (b, samples, speakers)
    out = keras.layers.Permute((2, 1), name="speakers")(out)
    return keras.Model(wave, out, name=name or f"looking_to_listen_audio_{num_speakers}")
