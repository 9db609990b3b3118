"""Speaker embedding models: ECAPA-TDNN and the x-vector TDNN, waveform in, embedding out.

ECAPA-TDNN (Desplanques, Thienpondt and Demuynck, "ECAPA-TDNN: Emphasized Channel
Attention, Propagation and Aggregation in TDNN Based Speaker Verification", Interspeech
2020, arXiv:2005.07143). Layer details as SpeechBrain's ``ECAPA_TDNN`` (conv -> ReLU ->
batch norm blocks, the Res2Net split, the SE block on the time mean, attentive statistics
pooling with global context):

==========================  =============================================================
front end                   80 log-mel bands (or 80 MFCCs, as the paper), 25 ms windows
                            every 10 ms, per-utterance mean normalisation
conv                        Conv1D(C, k=5) + ReLU + BN
SE-Res2Block x 3            k=3, dilation 2, 3, 4; Res2Net scale 8; SE bottleneck 128:
                            Conv1D(C, 1)+ReLU+BN -> Res2 (7 x Conv1D(C/8, 3, d)+ReLU+BN)
                            -> Conv1D(C, 1)+ReLU+BN -> SE -> + input
MFA                         concat of the three block outputs (3C) -> Conv1D(1536, 1) +
                            ReLU + BN
attentive stats pooling     attention over frames per channel, with the utterance's mean
                            and std as global context (bottleneck 128) -> (mean, std):
                            3072
head                        BN -> Dense(192) -> BN: the embedding
==========================  =============================================================

Parameters (counted here; the paper's results table in brackets): C=512: 6,194,432 trainable
(6.2 M), plus 19,712 batch-norm statistics and the fixed 20,560-value mel filterbank:
``count_params()`` 6,234,704. C=1024: 14,660,800 trainable (14.7 M), ``count_params()``
14,710,928. The paper's 14.7 M at C=1024 implies the MFA keeps 1536 channels (3C = 3072
gives 20.8 M, as SpeechBrain's 1024-channel recipe): ``mfa_channels=1536`` whatever ``C``.

x-vector (Snyder, Garcia-Romero, Sell, Povey and Khudanpur, "X-Vectors: Robust DNN
Embeddings for Speaker Recognition", ICASSP 2018), Table 1:

==========================  =============================================================
frame1..frame3              contexts [t-2, t+2], {t-2, t, t+2}, {t-3, t, t+3}: 512 each
frame4, frame5              {t}: 512, 1500
stats pooling               mean and std over frames: 3000
segment6                    Dense(512): the embedding (taken before its ReLU, as Kaldi)
segment7, softmax           ReLU + BN -> Dense(512) + ReLU + BN -> classes
                            (:func:`xvector_classifier`)
==========================  =============================================================

Frame layers are Dense/Conv1D + ReLU + BN (Kaldi's ``relu-batchnorm``), 'valid' in time
as Kaldi (14 frames fewer: inputs need >= 15 frames, 0.14 s). 4,211,604 trainable
parameters up to the embedding for 24 mel bands (``count_params()`` 4,224,868 with the
batch-norm statistics and the mel filterbank).

No length masks: every frame of the input counts (convolutions pad with zeros, pooling and
normalisation average over all frames). Embed an utterance on its own, or batch
utterances cropped to one length; zero padding changes the embedding. In inference mode
(``training=False``) an utterance's embedding does not depend on the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio import layers as L
from tfaudio.layers.base import register

SAMPLE_RATE = 16000
N_MELS = 80
EMBEDDING_SIZE = 192
MFA_CHANNELS = 1536
# (kernel, dilation) of the three SE-Res2Blocks.
ECAPA_BLOCKS = ((3, 2), (3, 3), (3, 4))
# x-vector frame layers: (name, units, kernel, dilation) = contexts
# [t-2, t+2], {t-2, t, t+2}, {t-3, t, t+3}, {t}, {t}.
XVECTOR_FRAMES = (
    ("frame1", 512, 5, 1),
    ("frame2", 512, 3, 2),
    ("frame3", 512, 3, 3),
    ("frame4", 512, 1, 1),
    ("frame5", 1500, 1, 1),
)
XVECTOR_EMBEDDING = 512
# Batch norm as PyTorch / SpeechBrain (momentum 0.1 there = 0.9 in Keras, eps 1e-5).
BN_MOMENTUM, BN_EPSILON = 0.9, 1e-5


def _bn(name: str, dtype: Any = None, synchronized: bool = False) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                           synchronized=synchronized, name=name, dtype=dtype)


def _check_frames(layer: keras.layers.Layer, input_shape, channels: int | None = None) -> int:
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(f"{type(layer).__name__} expects frames (batch, frames, channels) with "
                         f"a known channel count, got shape {shape}")
    if channels is not None and shape[-1] != channels:
        raise ValueError(f"{type(layer).__name__} expects {channels} channels, got {shape[-1]}")
    return int(shape[-1])


@register
class SERes2Block(keras.layers.Layer):
    """ECAPA-TDNN's SE-Res2Block (Desplanques et al., Interspeech 2020, Fig. 1).

    ``Conv1D(C, 1)+ReLU+BN -> Res2 -> Conv1D(C, 1)+ReLU+BN -> SE -> + residual``. The
    Res2 part splits the channels into ``scale`` groups: group 1 passes through, group 2
    gets ``Conv1D(C/scale, kernel_size, dilation)+ReLU+BN``, and each later group ``i``
    gets the same applied to ``x_i + y_{i-1}`` (Gao et al., "Res2Net", TPAMI 2019). The
    SE block (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018) scales each
    channel by ``sigmoid(W2 relu(W1 mean_t(x)))`` with a ``se_channels`` bottleneck. The
    residual is the input, through a ``Conv1D(C, 1)`` when its channel count differs.
    Convolutions are 'same' with zero padding (SpeechBrain pads by reflection).

    Args:
        channels: output channels ``C`` (a multiple of ``scale``).
        kernel_size: kernel of the Res2 convolutions.
        dilation: their dilation.
        scale: Res2Net groups.
        se_channels: SE bottleneck.
        kernel_initializer: initialiser of every kernel.
        sync_batch_norm: synchronised batch norm (training under ``tf.distribute``).

    Input shape: ``(batch, frames, C_in)``. Output shape: ``(batch, frames, channels)``.

    Example:
        >>> SERes2Block(64, dilation=2, scale=8, se_channels=16)(tf.zeros([2, 50, 64])).shape
        TensorShape([2, 50, 64])
    """

    def __init__(self, channels: int, kernel_size: int = 3, dilation: int = 1, scale: int = 8,
                 se_channels: int = 128, kernel_initializer="glorot_uniform",
                 sync_batch_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.channels = _checks.positive_int("channels", channels)
        self.kernel_size = _checks.positive_int("kernel_size", kernel_size)
        self.dilation = _checks.positive_int("dilation", dilation)
        self.scale = _checks.positive_int("scale", scale)
        self.se_channels = _checks.positive_int("se_channels", se_channels)
        if self.scale < 2 or self.channels % self.scale:
            raise ValueError(f"channels={channels} must be a multiple of scale={scale} >= 2")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.sync_batch_norm = bool(sync_batch_norm)
        width = self.channels // self.scale
        kw = {"dtype": self.dtype_policy, "kernel_initializer": self.kernel_initializer}
        self.conv1 = keras.layers.Conv1D(self.channels, 1, name="conv1", **kw)
        self.bn1 = _bn("bn1", self.dtype_policy, self.sync_batch_norm)
        self.res2_convs = [
            keras.layers.Conv1D(width, self.kernel_size, dilation_rate=self.dilation,
                                padding="same", name=f"res2_conv{i}", **kw)
            for i in range(1, self.scale)]
        self.res2_bns = [_bn(f"res2_bn{i}", self.dtype_policy, self.sync_batch_norm)
                         for i in range(1, self.scale)]
        self.conv2 = keras.layers.Conv1D(self.channels, 1, name="conv2", **kw)
        self.bn2 = _bn("bn2", self.dtype_policy, self.sync_batch_norm)
        self.se_down = keras.layers.Dense(self.se_channels, activation="relu", name="se_down",
                                          **kw)
        self.se_up = keras.layers.Dense(self.channels, activation="sigmoid", name="se_up", **kw)
        self.shortcut = None

    def build(self, input_shape):
        c_in = _check_frames(self, input_shape)
        frames = (None, None)
        if c_in != self.channels:
            self.shortcut = keras.layers.Conv1D(
                self.channels, 1, name="shortcut", dtype=self.dtype_policy,
                kernel_initializer=self.kernel_initializer)
            self.shortcut.build(frames + (c_in,))
        self.conv1.build(frames + (c_in,))
        full = frames + (self.channels,)
        part = frames + (self.channels // self.scale,)
        self.bn1.build(full)
        for conv, bn in zip(self.res2_convs, self.res2_bns, strict=True):
            conv.build(part)
            bn.build(part)
        self.conv2.build(full)
        self.bn2.build(full)
        self.se_down.build((None, self.channels))
        self.se_up.build((None, self.se_channels))

    def call(self, inputs, training=None):
        residual = inputs if self.shortcut is None else self.shortcut(inputs)
        x = self.bn1(tf.nn.relu(self.conv1(inputs)), training=training)
        groups = tf.split(x, self.scale, axis=-1)
        out = [groups[0]]
        y = None
        for i, (conv, bn) in enumerate(zip(self.res2_convs, self.res2_bns, strict=True)):
            g = groups[i + 1] if y is None else groups[i + 1] + y
            y = bn(tf.nn.relu(conv(g)), training=training)
            out.append(y)
        x = tf.concat(out, axis=-1)
        x = self.bn2(tf.nn.relu(self.conv2(x)), training=training)
        s = self.se_up(self.se_down(tf.reduce_mean(x, axis=1)))
        return x * s[:, None, :] + residual

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:2] + (self.channels,)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "kernel_size": self.kernel_size, "dilation": self.dilation,
                "scale": self.scale, "se_channels": self.se_channels,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "sync_batch_norm": self.sync_batch_norm}


def _weighted_stats(x: tf.Tensor, w: tf.Tensor, eps: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and std over axis 1 of ``x (batch, frames, C)`` with weights ``w`` summing to 1
    over frames; the variance is floored at ``eps`` (its gradient is 0 below)."""
    mean = tf.reduce_sum(w * x, axis=1)
    var = tf.reduce_sum(w * tf.square(x - mean[:, None, :]), axis=1)
    return mean, tf.sqrt(tf.maximum(var, eps))


@register
class AttentiveStatsPooling(keras.layers.Layer):
    """Channel- and context-dependent attentive statistics pooling (ECAPA-TDNN, Eq. 6-8;
    Okabe et al., "Attentive Statistics Pooling for Deep Speaker Embedding",
    Interspeech 2018).

    With ``global_context``, every frame ``h_t`` is extended by the utterance's mean and
    std (``[h_t, mean, std]``, 3C). Attention logits ``e_t = Conv1D(C, 1)(tanh(BN(relu(
    Conv1D(attention_channels, 1)(.)))))`` (SpeechBrain's layer order) go through a
    softmax over frames per channel, ``alpha``; the output is the weighted mean
    ``sum_t alpha_t h_t`` and std ``sqrt(sum_t alpha_t h_t^2 - mean^2)`` (variance
    floored at ``eps``). Softmax and statistics run in float32.

    Args:
        attention_channels: attention bottleneck (128).
        global_context: append the utterance mean and std to each frame.
        eps: variance floor.
        kernel_initializer: initialiser of the kernels.
        sync_batch_norm: synchronised batch norm.

    Input shape: ``(batch, frames, C)``. Output shape: ``(batch, 2C)`` (mean, then std).

    Example:
        >>> AttentiveStatsPooling(16)(tf.random.normal([2, 50, 32])).shape
        TensorShape([2, 64])
    """

    def __init__(self, attention_channels: int = 128, global_context: bool = True,
                 eps: float = 1e-12, kernel_initializer="glorot_uniform",
                 sync_batch_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.attention_channels = _checks.positive_int("attention_channels",
                                                       attention_channels)
        self.global_context = bool(global_context)
        self.eps = _checks.positive_float("eps", eps)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.sync_batch_norm = bool(sync_batch_norm)
        kw = {"dtype": self.dtype_policy, "kernel_initializer": self.kernel_initializer}
        self.attention = keras.layers.Conv1D(self.attention_channels, 1, name="attention",
                                             **kw)
        self.bn = _bn("attention_bn", self.dtype_policy, self.sync_batch_norm)
        self.logits = None

    def build(self, input_shape):
        c = _check_frames(self, input_shape)
        self.logits = keras.layers.Conv1D(c, 1, name="attention_logits",
                                          dtype=self.dtype_policy,
                                          kernel_initializer=self.kernel_initializer)
        self.attention.build((None, None, 3 * c if self.global_context else c))
        self.bn.build((None, None, self.attention_channels))
        self.logits.build((None, None, self.attention_channels))

    def call(self, inputs, training=None):
        x32 = tf.cast(inputs, tf.float32)
        a = inputs
        if self.global_context:
            frames = tf.shape(inputs)[1]
            uniform = tf.ones_like(x32[:, :, :1]) / tf.cast(frames, tf.float32)
            mean, std = _weighted_stats(x32, uniform, self.eps)
            context = tf.cast(tf.concat([mean, std], axis=-1), inputs.dtype)
            a = tf.concat([inputs, tf.tile(context[:, None, :], [1, frames, 1])], axis=-1)
        a = tf.tanh(self.bn(tf.nn.relu(self.attention(a)), training=training))
        alpha = tf.nn.softmax(tf.cast(self.logits(a), tf.float32), axis=1)
        mean, std = _weighted_stats(x32, alpha, self.eps)
        return tf.cast(tf.concat([mean, std], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return (shape[0], 2 * shape[-1])

    def get_config(self):
        return {**super().get_config(), "attention_channels": self.attention_channels,
                "global_context": self.global_context, "eps": self.eps,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "sync_batch_norm": self.sync_batch_norm}


@register
class StatsPooling(keras.layers.Layer):
    """Statistics pooling of the x-vector (Snyder et al., ICASSP 2018): the mean and the
    standard deviation of each channel over all frames, in float32.

    Args:
        eps: variance floor.

    Input shape: ``(batch, frames, C)``. Output shape: ``(batch, 2C)`` (mean, then std).

    Example:
        >>> StatsPooling()(tf.constant([[[1.0], [3.0]]])).numpy().tolist()
        [[2.0, 1.0]]
    """

    def __init__(self, eps: float = 1e-12, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.eps = _checks.positive_float("eps", eps)

    def build(self, input_shape):
        _check_frames(self, input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        uniform = tf.ones_like(x[:, :, :1]) / tf.cast(tf.shape(x)[1], tf.float32)
        mean, std = _weighted_stats(x, uniform, self.eps)
        return tf.cast(tf.concat([mean, std], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return (shape[0], 2 * shape[-1])

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


# --------------------------------------------------------------------------- front end
def speaker_frontend(frontend: str = "logmel", n_mels: int = N_MELS,
                     sample_rate: int = SAMPLE_RATE, n_mfcc: int | None = None,
                     f_min: float = 20.0, f_max: float | None = 7600.0) -> list:
    """The feature layers of the speaker models: waveform -> normalised features.

    25 ms periodic Hann windows every 10 ms in a power-of-two FFT, centred frames
    (``1 + time // hop``); power mel spectrogram (Slaney mel scale and area
    normalisation, librosa's defaults) between ``f_min`` and ``f_max``; dB with an 80 dB
    floor below each utterance's peak (``PowerToDb``); for ``"mfcc"`` the orthonormal
    DCT-II of those dB values (``n_mfcc`` coefficients, default ``n_mels``: the ECAPA
    paper's 80 MFCCs); then per-utterance mean normalisation (:class:`~tfaudio.layers.
    UtteranceNorm`). 20-7600 Hz is the band of Kaldi's VoxCeleb features.

    Args:
        frontend: ``"logmel"`` or ``"mfcc"``.
        n_mels: mel bands.
        sample_rate: input rate (Hz); window and hop follow it (400 / 160 at 16 kHz).
        n_mfcc: MFCCs kept (``"mfcc"`` only).
        f_min, f_max: band edges in Hz (``f_max=None`` = Nyquist; capped at Nyquist).

    Returns:
        The layers, in order: ``features`` (MelSpectrogram + PowerToDb, or MFCC) and
        ``mean_norm``.
    """
    frontend = _checks.one_of("frontend", frontend, ("logmel", "mfcc"))
    n_mels = _checks.positive_int("n_mels", n_mels)
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    win = int(round(0.025 * sample_rate))
    hop = int(round(0.010 * sample_rate))
    n_fft = 1 << max(win - 1, 1).bit_length()
    nyquist = sample_rate / 2
    f_max = nyquist if f_max is None else min(float(f_max), nyquist)
    mel = dict(n_fft=n_fft, hop_length=hop, win_length=win, n_mels=n_mels, f_min=f_min,
               f_max=f_max)
    if frontend == "logmel":
        features = keras.Sequential([L.MelSpectrogram(sample_rate, **mel, name="mel"),
                                     L.PowerToDb(top_db=80.0, name="db")], name="features")
    else:
        n_mfcc = n_mels if n_mfcc is None else _checks.positive_int("n_mfcc", n_mfcc)
        features = L.MFCC(sample_rate, n_mfcc=n_mfcc, **mel, name="features")
    return [features, L.UtteranceNorm(name="mean_norm")]


def _frontend_model(inp, frontend, n_mels, sample_rate, n_mfcc, waveform_augmentation,
                    spectrogram_augmentation):
    x = inp
    if waveform_augmentation:
        x = keras.Sequential(list(waveform_augmentation), name="waveform_augmentation")(x)
    features, norm = speaker_frontend(frontend, n_mels, sample_rate, n_mfcc)
    x = features(x)
    if spectrogram_augmentation:
        x = keras.Sequential(list(spectrogram_augmentation), name="spectrogram_augmentation")(x)
    return norm(x)


# --------------------------------------------------------------------------- ECAPA-TDNN
def ecapa_tdnn(channels: int = 512, embedding_size: int = EMBEDDING_SIZE, n_mels: int = N_MELS,
               sample_rate: int = SAMPLE_RATE, frontend: str = "logmel",
               mfa_channels: int = MFA_CHANNELS, attention_channels: int = 128,
               se_channels: int = 128, scale: int = 8, n_mfcc: int | None = None,
               waveform_augmentation: Sequence[keras.layers.Layer] = (),
               spectrogram_augmentation: Sequence[keras.layers.Layer] = (),
               sync_batch_norm: bool = False, name: str | None = None) -> keras.Model:
    """ECAPA-TDNN (Desplanques et al., Interspeech 2020): waveform -> speaker embedding.

    Reads like the paper's Fig. 2 (the table in :mod:`tfaudio.models.ecapa`):
    ``front end -> Conv1D(C, 5)+ReLU+BN -> 3 SE-Res2Blocks (dilation 2, 3, 4) -> concat
    -> Conv1D(mfa_channels, 1)+ReLU+BN -> attentive stats pooling -> BN -> Dense(192) ->
    BN``. Train it with :func:`~tfaudio.models.with_aam_head` and
    :class:`~tfaudio.models.AAMSoftmaxLoss` (margin 0.2, scale 30); score embeddings
    with :func:`tfaudio.metrics.cosine_scores`. The embedding layers run in float32
    under mixed precision.

    Args:
        channels: ``C``: 512 (6.2 M trainable parameters) or 1024 (14.7 M); any multiple of
            ``scale`` (e.g. 64 for a CPU-sized model, not in the paper).
        embedding_size: size of the embedding (192).
        n_mels: mel bands of the front end (80).
        sample_rate: rate of the input waveform (window 25 ms, hop 10 ms at that rate).
        frontend: ``"logmel"`` (log-mel filterbanks, as SpeechBrain) or ``"mfcc"`` (the
            paper's MFCCs).
        mfa_channels: channels of the multi-layer feature aggregation (1536).
        attention_channels: bottleneck of the attentive pooling (128).
        se_channels: SE bottleneck (128).
        scale: Res2Net scale (8).
        n_mfcc: MFCCs for ``frontend="mfcc"`` (default ``n_mels``).
        waveform_augmentation: layers applied to the waveform in training (e.g.
            ``AddNoise``, ``Reverb``, ``SpeedPerturbation``); identity at inference.
        spectrogram_augmentation: layers applied to the features before the mean
            normalisation (e.g. ``SpecAugment``).
        sync_batch_norm: synchronised batch norm under ``tf.distribute``.
        name: model name (default ``"ecapa_tdnn_c<C>"``).

    Returns:
        ``keras.Model``: ``(batch, time)`` waveforms -> ``(batch, embedding_size)``
        float32 embeddings.

    Example:
        >>> ecapa_tdnn(512).count_params()  # 6,194,432 trainable
        6234704
        >>> ecapa_tdnn(64, embedding_size=32)(np.zeros([2, 16000], "float32")).shape
        TensorShape([2, 32])
    """
    channels = _checks.positive_int("channels", channels)
    scale = _checks.positive_int("scale", scale)
    if scale < 2 or channels % scale:
        raise ValueError(f"channels={channels} must be a multiple of scale={scale} >= 2")
    embedding_size = _checks.positive_int("embedding_size", embedding_size)
    mfa_channels = _checks.positive_int("mfa_channels", mfa_channels)
    sync = bool(sync_batch_norm)
    inp = keras.Input((None,), name="waveform")
    x = _frontend_model(inp, frontend, n_mels, sample_rate, n_mfcc, waveform_augmentation,
                        spectrogram_augmentation)
    x = keras.layers.Conv1D(channels, 5, padding="same", activation="relu", name="conv")(x)
    x = _bn("conv_bn", synchronized=sync)(x)
    outputs = []
    for i, (kernel, dilation) in enumerate(ECAPA_BLOCKS, start=1):
        x = SERes2Block(channels, kernel, dilation, scale, se_channels, sync_batch_norm=sync,
                        name=f"block{i}")(x)
        outputs.append(x)
    x = keras.layers.Concatenate(name="mfa_concat")(outputs)
    x = keras.layers.Conv1D(mfa_channels, 1, activation="relu", name="mfa")(x)
    x = _bn("mfa_bn", synchronized=sync)(x)
    x = AttentiveStatsPooling(attention_channels, sync_batch_norm=sync, name="pooling")(x)
    x = _bn("pooling_bn", "float32", sync)(x)
    x = keras.layers.Dense(embedding_size, dtype="float32", name="embedding")(x)
    out = _bn("embedding_bn", "float32", sync)(x)
    return keras.Model(inp, out, name=name or f"ecapa_tdnn_c{channels}")


# --------------------------------------------------------------------------- x-vector
def xvector(embedding_size: int = XVECTOR_EMBEDDING, n_mels: int = 24,
            sample_rate: int = SAMPLE_RATE, frontend: str = "logmel", width: float = 1.0,
            n_mfcc: int | None = None,
            waveform_augmentation: Sequence[keras.layers.Layer] = (),
            spectrogram_augmentation: Sequence[keras.layers.Layer] = (),
            sync_batch_norm: bool = False, name: str = "xvector") -> keras.Model:
    """The x-vector TDNN (Snyder et al., ICASSP 2018), waveform in, x-vector out.

    ``front end -> frame1..frame5 (XVECTOR_FRAMES: Conv1D 'valid' + ReLU + BN) -> stats
    pooling -> segment6 (Dense 512)``; the embedding is segment6's affine output, before
    its ReLU (Kaldi's ``tdnn6.affine``). For the paper's softmax training use
    :func:`xvector_classifier`; with :func:`~tfaudio.models.with_aam_head` the margin
    head sits on the embedding directly.

    Args:
        embedding_size: segment6 units (512).
        n_mels: mel bands (the paper's 24 filterbanks).
        sample_rate: rate of the input waveform.
        frontend: ``"logmel"`` or ``"mfcc"``.
        width: multiplies the frame-layer widths (1500 included), e.g. 0.25 for a small
            CPU model.
        n_mfcc: MFCCs for ``frontend="mfcc"`` (default ``n_mels``).
        waveform_augmentation, spectrogram_augmentation, sync_batch_norm: as
            :func:`ecapa_tdnn`.
        name: model name.

    Returns:
        ``keras.Model``: ``(batch, time)`` -> ``(batch, embedding_size)`` float32. Inputs
        need at least 15 frames (2240 samples at 16 kHz).

    Example:
        >>> xvector().count_params()  # 4,211,604 trainable
        4224868
    """
    embedding_size = _checks.positive_int("embedding_size", embedding_size)
    width = _checks.positive_float("width", width)
    sync = bool(sync_batch_norm)
    inp = keras.Input((None,), name="waveform")
    x = _frontend_model(inp, frontend, n_mels, sample_rate, n_mfcc, waveform_augmentation,
                        spectrogram_augmentation)
    for layer_name, units, kernel, dilation in XVECTOR_FRAMES:
        x = keras.layers.Conv1D(max(1, int(round(units * width))), kernel,
                                dilation_rate=dilation, activation="relu", name=layer_name)(x)
        x = _bn(f"{layer_name}_bn", synchronized=sync)(x)
    x = StatsPooling(name="stats_pooling")(x)
    out = keras.layers.Dense(embedding_size, dtype="float32", name="segment6")(x)
    return keras.Model(inp, out, name=name)


def xvector_classifier(num_classes: int, embedding_model: keras.Model | None = None,
                       hidden_units: int = 512, sync_batch_norm: bool = False,
                       name: str | None = None, **xvector_args) -> keras.Model:
    """The x-vector training network: :func:`xvector` -> ReLU + BN -> segment7 (Dense
    512) + ReLU + BN -> softmax (Snyder et al., ICASSP 2018, Table 1).

    Args:
        num_classes: training speakers.
        embedding_model: an :func:`xvector` model (default: a new one from
            ``xvector_args``).
        hidden_units: segment7 units (512).
        sync_batch_norm: synchronised batch norm under ``tf.distribute``.
        name: model name (default ``"<embedding model>_classifier"``).
        **xvector_args: arguments of :func:`xvector`.

    Returns:
        ``keras.Model``: ``(batch, time)`` -> ``(batch, num_classes)`` probabilities; its
        layer named like ``embedding_model`` is the x-vector extractor to export.
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    sync = bool(sync_batch_norm)
    if embedding_model is None:
        embedding_model = xvector(sync_batch_norm=sync, **xvector_args)
    inp = keras.Input((None,), name="waveform")
    x = embedding_model(inp)
    x = _bn("segment6_bn", synchronized=sync)(keras.layers.ReLU(name="segment6_relu")(x))
    x = keras.layers.Dense(_checks.positive_int("hidden_units", hidden_units),
                           activation="relu", name="segment7")(x)
    x = _bn("segment7_bn", synchronized=sync)(x)
    out = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                             name="softmax")(x)
    return keras.Model(inp, out, name=name or f"{embedding_model.name}_classifier")
