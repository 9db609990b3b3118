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
  connected units (600); the 8-channel bottleneck and the output stay. ``head_width``
  (default: ``width``) sets the LSTM and fully connected units on their own: on a small
  budget the conv stack is where the time goes, the recurrent head is cheap.
- ``window_ms`` / ``hop_ms`` change the STFT (the paper's 25 / 10 ms). At 8 kHz a 25 ms
  window does not resolve the harmonics of low voices; 64 ms does (the ideal ratio mask
  on 200 synthetic two-speaker test mixtures: SI-SDRi 10.1 dB at 25 / 10 ms, 13.0 dB at
  64 / 32 ms; ``models/README.md``).
- ``magnitude_input=True`` adds the compressed magnitude ``|S|^p`` as a third input
  channel beside the real and imaginary parts (phase-free, so the first convolutions see
  harmonic patterns directly).
- ``mask_init="even"`` starts the mask head at ``1 / num_speakers + 0j`` for every
  speaker (zero-mean weights of standard deviation 1e-3 and that bias), so a fresh model
  outputs the mixture split evenly; ``"glorot"`` (default) is Keras' default, whose
  initial masks are around 10x (the head's ``10 z`` before saturation).
- ``conv_layers`` keeps the first ``conv_layers - 1`` rows of the table and the
  8-filter bottleneck; ``conv_layers=0`` leaves the stack out and the BLSTM reads the
  input channels of every bin (an audio-only BLSTM mask estimator, the recurrent half of
  the paper's model, like the uPIT-BLSTM of Kolbaek, Yu, Tan and Jensen, IEEE/ACM TASLP
  2017). On two CPU cores the conv stack costs most of each step.
- ``input_norm=True`` batch-normalises the compressed input, each bin and channel on its
  own: on the synthetic two-speaker mixtures the bins' compressed magnitudes differ in
  mean by up to 2.3x and in spread by up to 4x, which the paper's first convolution
  (followed by batch norm) absorbs but a BLSTM reading the bins directly does not.
- ``complex_input=False`` (with ``magnitude_input=True``) feeds the compressed magnitude
  alone: without the conv stack, the real and imaginary parts triple the BLSTM's input
  and, on two CPU cores, nearly doubled the time per training step
  (``models/README.md``).
- ``mask="ratio"`` replaces the cRM head by a real mask in (0, 1) per bin and speaker
  (:class:`RatioMask`), which keeps the mixture's phase: its ceiling is the ideal ratio
  mask's, and it learned faster than the bounded cRM on a small budget.
- ``shifts > 1`` runs the network on ``shifts`` copies of the input delayed by
  ``k * hop / shifts`` samples (``k = 0 .. shifts - 1``: each copy's frames fall between
  the previous copy's), puts every copy's speakers in the first copy's order
  (:func:`tfaudio.ops.align_speakers`) and averages them: the shift trick of Demucs (Defossez,
  Usunier, Bottou and Bach, "Music Source Separation in the Waveform Domain",
  arXiv:1911.13254, 2019), here with sub-hop delays. For inference: the weights do not
  depend on it (train with ``shifts=1``), and a call does up to ``shifts`` times the work
  (two shifts of separation_small: 1.64x the time at batch 1, 1.33x at batch 8). On
  the 200 synthetic test mixtures two shifts raised the SI-SDRi of eight trained
  separation_small models by 0.31-0.37 dB (``models/README.md``).

Parameter count at ``width=1``, 257 bins, 2 speakers (``concat``): 12,517,508 trainable
(+ 2,704 batch-norm statistics; 7.86 M of it the BLSTM); the paper does not state one,
the test recomputes it from the table above.
"""

from __future__ import annotations

import keras
import numpy as np

from tfaudio import _checks
from tfaudio import layers as L
from tfaudio.ops import align_speakers

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


@keras.saving.register_keras_serializable(package="tfaudio")
class RatioMask(keras.layers.Layer):
    """A real mask in ``(0, 1)`` written as complex mask channels: ``(sigmoid(z), 0)``.

    The ratio-mask head (Wang et al. 2014's ideal ratio mask is its target range): it
    scales each bin of the mixture's complex STFT and keeps the mixture's phase.

    Input shape: any ``(...)``; output shape ``(..., 2)`` (real, imaginary), in the
    compute dtype.

    Example:
        >>> RatioMask()(tf.constant([0.0])).numpy().tolist()
        [[0.5, 0.0]]
    """

    def call(self, inputs):
        mask = keras.ops.sigmoid(inputs)
        return keras.ops.stack([mask, keras.ops.zeros_like(mask)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 2)


def shift_offsets(hop: int, shifts: int) -> tuple[int, ...]:
    """The delays of ``shifts`` input copies: ``round(k * hop / shifts)`` samples."""
    hop, shifts = _checks.positive_int("hop", hop), _checks.positive_int("shifts", shifts)
    return tuple(int(round(k * hop / shifts)) for k in range(shifts))


@keras.saving.register_keras_serializable(package="tfaudio")
class ShiftedCopies(keras.layers.Layer):
    """Delayed copies of every waveform, stacked on the batch axis: copy ``k`` is
    delayed by ``offsets[k]`` samples and zero-padded to ``time + span``.

    Args:
        offsets: the delays, each in ``[0, span]``.
        span: the samples added to every copy.

    Input shape: ``(batch, time)``; output ``(batch * len(offsets), time + span)``, the
    copies of one example next to each other.

    Example:
        >>> ShiftedCopies((0, 1), 1)(tf.constant([[1.0, 2.0]])).numpy().tolist()
        [[1.0, 2.0, 0.0], [0.0, 1.0, 2.0]]
    """

    def __init__(self, offsets: tuple = (0,), span: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.span = _checks.non_negative_int("span", span)
        self.offsets = tuple(_checks.non_negative_int("offsets", o) for o in offsets)
        if not self.offsets or max(self.offsets) > self.span:
            raise ValueError(f"offsets={offsets!r} must be one or more delays in [0, span="
                             f"{self.span}]")

    def call(self, inputs):
        copies = [keras.ops.pad(inputs, [[0, 0], [o, self.span - o]]) for o in self.offsets]
        stacked = keras.ops.stack(copies, axis=1)  # (batch, copies, time + span)
        return keras.ops.reshape(stacked, (-1, keras.ops.shape(stacked)[-1]))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * len(self.offsets)
        time = None if input_shape[-1] is None else input_shape[-1] + self.span
        return (batch, time)

    def get_config(self):
        return {**super().get_config(), "offsets": list(self.offsets), "span": self.span}


@keras.saving.register_keras_serializable(package="tfaudio")
class ShiftAverage(keras.layers.Layer):
    """Undoes :class:`ShiftedCopies` on separated copies: crops copy ``k`` at its delay,
    puts its speakers in the first copy's order (:func:`tfaudio.ops.align_speakers`) and
    averages.

    Args:
        offsets: the copies' delays (as given to :class:`ShiftedCopies`).
        length: the output length (the waveform's before the copies were made).

    Input shape: ``(batch * len(offsets), speakers, time)`` with ``time >= length +
    max(offsets)``; output ``(batch, speakers, length)``.

    Example:
        >>> copies = tf.constant([[[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]],
        ...                       [[0.0, 3.0, 4.0], [0.0, 1.0, 2.0]]])  # delayed, swapped
        >>> ShiftAverage((0, 1), 2)(copies).numpy().tolist()
        [[[1.0, 2.0], [3.0, 4.0]]]
    """

    def __init__(self, offsets: tuple = (0,), length: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.offsets = tuple(_checks.non_negative_int("offsets", o) for o in offsets)
        self.length = _checks.positive_int("length", length)
        if not self.offsets:
            raise ValueError("offsets must name at least one copy, got ()")

    def call(self, inputs):
        copies = keras.ops.reshape(inputs, (-1, len(self.offsets), *inputs.shape[1:]))
        crops = [copies[:, k, :, o:o + self.length] for k, o in enumerate(self.offsets)]
        total = crops[0]
        for crop in crops[1:]:
            total = total + align_speakers(crops[0], crop)
        return total / len(self.offsets)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // len(self.offsets)
        return (batch, input_shape[1], self.length)

    def get_config(self):
        return {**super().get_config(), "offsets": list(self.offsets),
                "length": self.length}


def stft_settings(sample_rate: int = SAMPLE_RATE, window_ms: float = WINDOW_MS,
                  hop_ms: float = HOP_MS) -> dict:
    """The model's STFT at ``sample_rate``: Hann windows of ``window_ms`` (the paper's
    25 ms), hop ``hop_ms`` (10 ms), FFT 512 at 16 kHz scaled with the rate and at least
    the window (the next power of two): ``{"n_fft", "hop_length", "win_length"}``."""
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    window_ms = _checks.positive_float("window_ms", window_ms)
    hop_ms = _checks.positive_float("hop_ms", hop_ms)
    win = int(round(window_ms * sample_rate / 1000))
    hop = int(round(hop_ms * sample_rate / 1000))
    if win < 2 or hop < 1 or hop > win:
        raise ValueError(f"window_ms={window_ms:g} and hop_ms={hop_ms:g} at {sample_rate} Hz "
                         f"give a {win}-sample window and a {hop}-sample hop; need a window "
                         "of at least 2 samples and 1 <= hop <= window")
    n_fft = max(N_FFT * sample_rate // SAMPLE_RATE, win)
    return {"n_fft": 1 << (n_fft - 1).bit_length(), "hop_length": hop, "win_length": win}


def looking_to_listen_audio(num_speakers: int = 2, seconds: float = 3.0,
                            width: float = 1.0, sample_rate: int = SAMPLE_RATE,
                            power: float = POWER, merge: str = "concat",
                            dropout: float = 0.0, window_ms: float = WINDOW_MS,
                            hop_ms: float = HOP_MS, head_width: float | None = None,
                            magnitude_input: bool = False, mask_init: str = "glorot",
                            conv_layers: int = len(AUDIO_STREAM), input_norm: bool = False,
                            complex_input: bool = True, mask: str = "complex",
                            shifts: int = 1, name: str | None = None) -> keras.Model:
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
        window_ms, hop_ms: the STFT's window and hop (the paper's 25 / 10 ms).
        head_width: multiplier of the LSTM and fully connected units (``None``: ``width``).
        magnitude_input: add ``|S|^power`` as a third input channel.
        mask_init: ``"glorot"`` (Keras' default) or ``"even"`` (every mask starts at
            ``1 / num_speakers``; a single speaker's ratio mask at 0.5).
        conv_layers: how many conv layers of the audio stream run: the first
            ``conv_layers - 1`` rows of the table, then the 8-filter bottleneck (conv15);
            0 leaves the stack out (the BLSTM reads every bin's input channels).
        input_norm: batch-normalise the compressed input, each bin and channel on its
            own (statistics over the batch and the frames).
        complex_input: the compressed real and imaginary parts as input channels; with
            ``False`` the compressed magnitude alone (needs ``magnitude_input=True``).
        mask: ``"complex"`` (the paper's bounded cRM per speaker) or ``"ratio"`` (a real
            mask in (0, 1) per bin and speaker, :class:`RatioMask`; the mixture's phase).
        shifts: average the separations of this many copies of the input delayed by
            ``k * hop / shifts`` samples (inference; the weights do not depend on it).
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
    mask_init = _checks.one_of("mask_init", mask_init, ("glorot", "even"))
    mask = _checks.one_of("mask", mask, ("complex", "ratio"))
    if not (complex_input or magnitude_input):
        raise ValueError("complex_input=False and magnitude_input=False leave the model no "
                         "input channel; set at least one of them to True")
    head_width = width if head_width is None else _checks.positive_float("head_width",
                                                                          head_width)
    conv_layers = _checks.non_negative_int("conv_layers", conv_layers)
    shifts = _checks.positive_int("shifts", shifts)
    if conv_layers > len(AUDIO_STREAM):
        raise ValueError(f"conv_layers={conv_layers} is out of range: the audio stream has "
                         f"{len(AUDIO_STREAM)} conv layers (allowed 0..{len(AUDIO_STREAM)})")
    samples = int(round(seconds * sample_rate))
    stft = stft_settings(sample_rate, window_ms, hop_ms)
    n_fft, hop, win = stft["n_fft"], stft["hop_length"], stft["win_length"]
    bins = n_fft // 2 + 1
    if samples < n_fft:
        raise ValueError(f"seconds={seconds:g} gives {samples} samples, shorter than one "
                         f"{n_fft}-point FFT")

    wave = keras.Input((samples,), name="mixture")
    network_in, length = wave, samples
    if shifts > 1:  # the delayed copies, each `hop` longer; the network runs on all
        offsets = shift_offsets(hop, shifts)
        network_in = ShiftedCopies(offsets, hop, name="shifted_copies")(wave)
        length = samples + hop
    spec = L.STFT(n_fft=n_fft, hop_length=hop, win_length=win, name="stft")(network_in)
    mix = L.ComplexToChannels(name="mixture_channels")(spec)  # (b, frames, bins, 2)
    x = L.PowerLawCompression(power, name="power_law")(mix)
    channels = (2 if complex_input else 0) + (1 if magnitude_input else 0)
    if magnitude_input:  # |S|^p: the magnitude of the compressed channels
        x = L.ChannelMagnitude(parts=complex_input, name="with_magnitude")(x)
    if input_norm:
        x = keras.layers.Reshape((-1, bins * channels), name="input_flat")(x)
        x = keras.layers.BatchNormalization(name="input_norm")(x)
        x = keras.layers.Reshape((-1, bins, channels), name="input_bins")(x)
    stream = AUDIO_STREAM[:conv_layers - 1] + AUDIO_STREAM[-1:] if conv_layers else ()
    for i, (kernel, dilation, filters) in enumerate(stream, start=1):
        i = len(AUDIO_STREAM) if i == len(stream) else i  # the bottleneck stays conv15
        x = keras.layers.Conv2D(filters or _scaled(FILTERS, width), kernel,
                                dilation_rate=dilation, padding="same",
                                name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        channels = int(x.shape[-1])
    x = keras.layers.Reshape((-1, channels * bins), name="frame_features")(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(_scaled(LSTM_UNITS, head_width), return_sequences=True),
        merge_mode=merge, name="blstm")(x)
    for i in range(1, FC_LAYERS + 1):
        x = keras.layers.Dense(_scaled(FC_UNITS, head_width), activation="relu",
                               name=f"fc{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{i}")(x)
    init = {}
    if mask_init == "even":  # every mask starts at 1 / num_speakers + 0j
        even = (np.log(1.0 / max(num_speakers - 1, 1)) if mask == "ratio"  # sigmoid^-1
                else np.array([MASK_STEEPNESS / num_speakers, 0.0]))  # z / C after tanh
        init = {"kernel_initializer": keras.initializers.RandomNormal(stddev=1e-3),
                "bias_initializer": keras.initializers.Constant(
                    np.tile(even, bins * num_speakers).astype("float32"))}
    if mask == "ratio":
        x = keras.layers.Dense(bins * num_speakers, name="masks", **init)(x)
        x = keras.layers.Reshape((-1, bins, num_speakers), name="per_speaker")(x)
        ratio = RatioMask(name="ratio")(x)
        est = L.ApplyComplexMask(k=None, name="apply_mask")([ratio, mix])
    else:
        x = keras.layers.Dense(bins * num_speakers * 2, name="masks", **init)(x)
        x = keras.layers.Reshape((-1, bins, num_speakers, 2), name="per_speaker")(x)
        bounded = MaskBound(MASK_BOUND, name="bounded")(x)
        est = L.ApplyComplexMask(k=MASK_BOUND, c=MASK_STEEPNESS,
                                 name="apply_mask")([bounded, mix])
    est = L.ChannelsToComplex(name="estimate")(est)  # (b, frames, bins, speakers)
    out = L.InverseSTFT(n_fft=n_fft, hop_length=hop, win_length=win, length=length,
                        name="istft")(est)  # (b, samples, speakers)
    out = keras.layers.Permute((2, 1), name="speakers")(out)
    if shifts > 1:
        out = ShiftAverage(offsets, samples, name="shift_average")(out)
    return keras.Model(wave, out, name=name or f"looking_to_listen_audio_{num_speakers}")
