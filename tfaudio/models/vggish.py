"""VGGish (Hershey et al., "CNN Architectures for Large-Scale Audio Classification",
ICASSP 2017): front end, network, postprocessor, and a waveform-in classifier.

Facts follow the released TensorFlow implementation (``vggish_params``,
``mel_features``, ``vggish_input``, ``vggish_slim``, ``vggish_postprocess``):

====================  ==========================================================
front end             16 kHz; 25 ms periodic Hann (400) in a 512-point FFT, hop 10 ms
                      (160), no centre padding; magnitude; 64 HTK mel bands 125-7500 Hz,
                      triangles linear in mels, no DC weight, no area normalisation;
                      ``ln(mel + 0.01)``; 96 x 64 patches, hop 96 frames, complete only
network               conv3x3(64) pool | conv(128) pool | conv(256) x2 pool |
                      conv(512) x2 pool | fc 4096 | fc 4096 | fc 128 (no ReLU)
postprocessor         PCA ``E (e - mu)``, clip [-2, 2], ``uint8((p + 2) * 255 / 4)``
====================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from tfaudio import _checks
from tfaudio import layers as L
from tfaudio.models.blocks import AttentionPooling, PerPatch

SAMPLE_RATE = 16000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 512
NUM_BANDS = 64
MEL_MIN_HZ, MEL_MAX_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01
PATCH_FRAMES = 96  # 0.96 s
EMBEDDING_SIZE = 128
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0
# Samples for the first complete patch: 400 + 95 * 160 = 15600 (0.975 s).
MIN_SAMPLES = WINDOW + (PATCH_FRAMES - 1) * HOP

# (name, filters) per conv layer, "pool" for 2x2 max-pool: the paper's configuration A
# as released (vggish_slim.define_vggish_slim).
VGGISH_LAYERS = (
    ("conv1", 64), "pool1",
    ("conv2", 128), "pool2",
    ("conv3_1", 256), ("conv3_2", 256), "pool3",
    ("conv4_1", 512), ("conv4_2", 512), "pool4",
)
VGGISH_FC = (("fc1_1", 4096), ("fc1_2", 4096))


@dataclass(frozen=True)
class LogMel:
    """Settings of the VGGish-style log-mel front end; the defaults are VGGish's.

    All sizes are in samples at 16 kHz. Changing them (for a search over the DSP, say)
    keeps the recipe: un-centred periodic Hann windows, magnitude, HTK mel triangles
    linear in mels without a DC weight, ``ln(mel + 0.01)``, complete patches.

    Args:
        n_mels: mel bands.
        window_length: analysis window (400 = 25 ms).
        hop_length: frame hop (160 = 10 ms).
        n_fft: FFT size, at least ``window_length``.
        f_min, f_max: mel band edges in Hz, ``0 <= f_min < f_max <= 8000``.
        patch_frames: frames per patch (96 = 0.96 s at a 10 ms hop).

    Example:
        >>> LogMel(n_mels=32, hop_length=320, patch_frames=48).min_samples
        15440
    """

    n_mels: int = NUM_BANDS
    window_length: int = WINDOW
    hop_length: int = HOP
    n_fft: int = N_FFT
    f_min: float = MEL_MIN_HZ
    f_max: float = MEL_MAX_HZ
    patch_frames: int = PATCH_FRAMES

    def __post_init__(self):
        for key in ("n_mels", "window_length", "hop_length", "n_fft", "patch_frames"):
            _checks.positive_int(key, getattr(self, key))
        if self.n_fft < self.window_length:
            raise ValueError(f"n_fft = {self.n_fft} must be >= window_length = "
                             f"{self.window_length}")
        if not 0.0 <= self.f_min < self.f_max <= SAMPLE_RATE / 2:
            raise ValueError(f"f_min = {self.f_min}, f_max = {self.f_max}: need 0 <= f_min < "
                             f"f_max <= {SAMPLE_RATE // 2} Hz")

    @property
    def shift(self) -> int:
        """Zeros padded on both ends so the centred window starts at sample 0."""
        return (self.n_fft - self.window_length) // 2

    @property
    def min_samples(self) -> int:
        """Samples of the first complete patch (15600 = 0.975 s for VGGish)."""
        return self.window_length + (self.patch_frames - 1) * self.hop_length


def vggish_log_mel_layers(pad_short: bool = False, dtype: Any = None,
                          log_mel: LogMel | None = None) -> list:
    """The tfaudio layers of VGGish's log-mel (waveform -> ``(batch, frames, 64)``).

    ``Pad`` puts the 400-sample window where ``mel_features`` has it (the start of an
    un-centred 512-point frame: 56 zeros on both ends make the librosa-style centred
    window see the same samples; magnitudes are shift-invariant), so the frame count is
    ``1 + (n - 400) // 160``. With ``pad_short`` clips are zero-padded at the end to
    0.975 s, enough for one patch. ``log_mel`` changes the settings (:class:`LogMel`).
    """
    s = log_mel or LogMel()
    min_length = s.min_samples + 2 * s.shift if pad_short else s.n_fft
    kw = {} if dtype is None else {"dtype": dtype}
    return [
        L.Pad(s.shift, s.shift, min_length=min_length, name="pad", **kw),
        L.Spectrogram(s.n_fft, hop_length=s.hop_length, win_length=s.window_length,
                      window="hann", center=False, power=1.0, name="magnitude", **kw),
        L.MelFilterbank(SAMPLE_RATE, s.n_fft, s.n_mels, s.f_min, s.f_max, htk=True,
                        norm=None, triangles="mel", name="mel", **kw),
        L.Log(LOG_OFFSET, name="log", **kw),
    ]


def vggish_frontend(pad_short: bool = False, dtype: Any = None,
                    name: str = "vggish_frontend", log_mel: LogMel | None = None
                    ) -> keras.Sequential:
    """VGGish's input features as a Keras model: waveform -> 96 x 64 log-mel patches.

    Equal to ``vggish_input.waveform_to_examples`` at 16 kHz (float64 to 1e-9 with
    ``dtype="float64"``, float32 to 1e-3: ``tests/test_models_vggish.py``).

    Args:
        pad_short: zero-pad clips shorter than 0.975 s (15600 samples) to one patch.
            Without it they give zero patches, as the reference does.
        dtype: layer dtype (``"float64"`` computes in float64 end to end).
        name: model name.
        log_mel: other front-end settings (:class:`LogMel`); default VGGish's.

    Returns:
        ``keras.Sequential``: ``(batch, time)`` 16 kHz float waveforms ->
        ``(batch, patches, 96, 64)`` with ``patches = 1 + (frames - 96) // 96`` and
        ``frames = 1 + (time - 400) // 160``.

    Example:
        >>> vggish_frontend()(np.zeros([2, 48000], "float32")).shape
        TensorShape([2, 3, 96, 64])
    """
    s = log_mel or LogMel()
    kw = {} if dtype is None else {"dtype": dtype}
    return keras.Sequential(
        [keras.Input((None,), dtype=dtype or "float32", name="waveform"),
         *vggish_log_mel_layers(pad_short, dtype, s),
         L.Patches(s.patch_frames, s.patch_frames, name="patches", **kw)],
        name=name,
    )


def _scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def vggish(include_top: bool = False, embedding_size: int = EMBEDDING_SIZE, width: float = 1.0,
           classes: int = 527, batch_norm: bool = False, name: str = "vggish",
           input_shape: tuple[int, int] = (PATCH_FRAMES, NUM_BANDS),
           sync_batch_norm: bool = False) -> keras.Model:
    """The VGGish network: one 96 x 64 log-mel patch -> embedding.

    The layer table (``VGGISH_LAYERS``, ``VGGISH_FC``): 3x3 convolutions (stride 1,
    same padding, ReLU) with 2x2 max-pools, two fully connected ReLU layers of 4096, and
    the embedding layer ``fc2`` without activation (the released model after
    tensorflow/models#9080; older ports end in a ReLU). At ``width=1`` it has
    72,141,184 parameters, as the released checkpoint.

    Args:
        include_top: add a sigmoid classifier ``Dense(classes)`` on the embedding (as
            for AudioSet's 527 classes); without it the output is the embedding.
        embedding_size: size of the embedding (``fc2``).
        width: multiplies every conv and fully connected width (e.g. 0.25 for a small
            CPU model); the embedding size is unchanged.
        classes: classes of the top.
        batch_norm: batch normalisation after every convolution (before the ReLU). Not
            in the paper; it makes small models train faster from scratch.
        name: model name.
        input_shape: ``(frames, mel bands)`` of a patch (another :class:`LogMel`).
        sync_batch_norm: batch statistics over the global batch of all replicas under
            ``tf.distribute`` (``synchronized=True``); same weights, same inference.

    Returns:
        ``keras.Model``: ``(batch, 96, 64)`` -> ``(batch, embedding_size)`` (or
        ``(batch, classes)`` probabilities with ``include_top``).

    Example:
        >>> vggish().count_params()
        72141184
    """
    width = _checks.positive_float("width", width)
    embedding_size = _checks.positive_int("embedding_size", embedding_size)
    frames, bands = (_checks.positive_int("input_shape", n) for n in input_shape)
    inp = keras.Input((frames, bands), name="log_mel_patch")
    x = keras.layers.Reshape((frames, bands, 1), name="channel")(inp)
    for spec in VGGISH_LAYERS:
        if isinstance(spec, str):
            x = keras.layers.MaxPooling2D(2, strides=2, padding="same", name=spec)(x)
            continue
        layer_name, filters = spec
        conv = keras.layers.Conv2D(_scaled(filters, width), 3, padding="same",
                                   use_bias=not batch_norm, name=layer_name)
        if batch_norm:
            x = keras.layers.BatchNormalization(synchronized=sync_batch_norm,
                                                name=f"{layer_name}_bn")(conv(x))
            x = keras.layers.ReLU(name=f"{layer_name}_relu")(x)
        else:
            conv.activation = keras.activations.relu
            x = conv(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for layer_name, units in VGGISH_FC:
        x = keras.layers.Dense(_scaled(units, width), activation="relu", name=layer_name)(x)
    x = keras.layers.Dense(embedding_size, name="fc2")(x)  # the embedding: no ReLU
    if include_top:
        x = keras.layers.Dense(_checks.positive_int("classes", classes), activation="sigmoid",
                               name="classifier")(x)
    return keras.Model(inp, x, name=name)


def vggish_classifier(num_classes: int, multi_label: bool = False, pooling: str = "mean",
                      width: float = 1.0, embedding_size: int = EMBEDDING_SIZE,
                      sample_rate: int = SAMPLE_RATE, pad_short: bool = True,
                      batch_norm: bool = False, dropout: float = 0.0,
                      waveform_augmentation: Sequence[keras.layers.Layer] = (),
                      spectrogram_augmentation: Sequence[keras.layers.Layer] = (),
                      name: str = "vggish_classifier",
                      log_mel: LogMel | None = None,
                      sync_batch_norm: bool = False) -> keras.Model:
    """Waveform in, class probabilities out: VGGish front end and body, clip pooling.

    ``waveform (batch, time) -> [resample to 16 kHz] -> [waveform augmentation] -> log-mel
    -> [spectrogram augmentation] -> 96 x 64 patches -> VGGish per patch -> embedding
    -> [dropout] -> per-patch logits -> clip pooling -> softmax / sigmoid``. The
    augmentation layers act only when training: the exported model has none of them.

    Args:
        num_classes: classes.
        multi_label: sigmoid outputs (multi-hot targets) instead of softmax.
        pooling: ``"mean"`` (mean of per-patch logits) or ``"attention"``
            (:class:`~tfaudio.models.blocks.AttentionPooling`).
        width, embedding_size, batch_norm: as :func:`vggish`.
        sample_rate: rate of the input waveforms (resampled to 16 kHz in the graph).
        pad_short: pad clips shorter than 0.975 s to one patch (else they have no score).
        dropout: dropout rate on the embeddings.
        waveform_augmentation: layers applied to the waveform (e.g. ``AddNoise``).
        spectrogram_augmentation: layers applied to the log-mel (e.g. ``SpecAugment``).
        name: model name.
        log_mel: front-end settings (:class:`LogMel`); default VGGish's exact ones.
        sync_batch_norm: as :func:`vggish` (for training under ``tf.distribute``).

    Returns:
        ``keras.Model`` ``(batch, time) -> (batch, num_classes)`` with layers named
        ``waveform_augmentation``, ``log_mel``, ``spectrogram_augmentation``,
        ``patches``, ``vggish`` (per patch), ``clip_pooling``.

    Example:
        >>> model = vggish_classifier(10, width=0.125)
        >>> model(np.zeros([2, 16000], "float32")).shape
        TensorShape([2, 10])
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    pooling = _checks.one_of("pooling", pooling, ("mean", "attention"))
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    dropout = _checks.number_in("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    inp = keras.Input((None,), name="waveform")
    x = inp
    if sample_rate != SAMPLE_RATE:
        x = L.Resample(sample_rate, SAMPLE_RATE, name="resample")(x)
    if waveform_augmentation:
        x = keras.Sequential(list(waveform_augmentation), name="waveform_augmentation")(x)
    settings = log_mel or LogMel()
    x = keras.Sequential(vggish_log_mel_layers(pad_short, log_mel=settings), name="log_mel")(x)
    if spectrogram_augmentation:
        x = keras.Sequential(list(spectrogram_augmentation), name="spectrogram_augmentation")(x)
    x = L.Patches(settings.patch_frames, settings.patch_frames, name="patches")(x)
    body = vggish(embedding_size=embedding_size, width=width, batch_norm=batch_norm,
                  input_shape=(settings.patch_frames, settings.n_mels),
                  sync_batch_norm=sync_batch_norm)
    x = PerPatch(body, name="vggish")(x)  # (batch, patches, embedding)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    if pooling == "mean":
        x = keras.layers.Dense(num_classes, name="patch_logits")(x)
        x = keras.layers.GlobalAveragePooling1D(name="clip_pooling")(x)
    else:
        x = AttentionPooling(num_classes, name="clip_pooling")(x)
    activation = "sigmoid" if multi_label else "softmax"
    out = keras.layers.Activation(activation, dtype="float32", name="probabilities")(x)
    return keras.Model(inp, out, name=name)


# ------------------------------------------------------------------ postprocessor
def load_pca_params(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads VGGish PCA parameters (``vggish_pca_params.npz``-style) from a file.

    Args:
        path: an ``.npz`` with ``pca_eigen_vectors`` ``(D, D)`` (rows = output
            dimensions) and ``pca_means`` ``(D,)`` (or ``(D, 1)``, as released).

    Returns:
        ``(eigen_vectors (D, D), means (D,))`` float64.

    Raises:
        FileNotFoundError: no such file. ValueError: missing keys or shapes that do not fit.
    """
    import os

    if not os.path.exists(path):
        raise FileNotFoundError(f"VGGish PCA parameters: no such file: {path}")
    with np.load(path) as params:
        missing = {"pca_eigen_vectors", "pca_means"} - set(params.files)
        if missing:
            raise ValueError(f"{path}: missing {sorted(missing)}; it has {sorted(params.files)}")
        vectors = np.asarray(params["pca_eigen_vectors"], np.float64)
        means = np.asarray(params["pca_means"], np.float64).reshape(-1)
    if vectors.ndim != 2 or vectors.shape[1] != means.shape[0]:
        raise ValueError(f"{path}: pca_eigen_vectors {vectors.shape} does not fit pca_means "
                         f"{means.shape} (expected (D, D) and (D,))")
    return vectors, means


def compute_pca_params(embeddings: Any) -> tuple[np.ndarray, np.ndarray]:
    """PCA parameters for :func:`vggish_postprocess` from a set of embeddings.

    The released parameters whiten AudioSet embeddings; for a model trained here,
    compute them from its own embeddings. Rows of the returned matrix are the
    principal directions by decreasing variance, each scaled by ``1 / sqrt(variance)``
    (whitening), so postprocessed values have unit variance before clipping.

    Args:
        embeddings: ``(N, D)`` with ``N > D``.

    Returns:
        ``(eigen_vectors (D, D), means (D,))``; save with ``np.savez(path,
        pca_eigen_vectors=..., pca_means=...)``.
    """
    e = np.asarray(embeddings, np.float64)
    if e.ndim != 2 or e.shape[0] <= e.shape[1]:
        raise ValueError(f"embeddings must be (N, D) with N > D, got shape {e.shape}")
    means = e.mean(axis=0)
    cov = np.cov(e - means, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    scale = 1.0 / np.sqrt(np.maximum(values[order], 1e-12))
    return vectors[:, order].T * scale[:, None], means


def vggish_postprocess(embeddings: Any, pca_params: Any) -> np.ndarray:
    """PCA, clip to [-2, 2] and 8-bit quantisation: AudioSet's released embedding format.

    ``p = E (e - mu)``; ``q = uint8(trunc((clip(p, -2, 2) + 2) * 255 / 4))``: -2 -> 0,
    0 -> 127, +2 -> 255 (truncation, as the reference).

    Args:
        embeddings: ``(..., D)`` float embeddings.
        pca_params: a path for :func:`load_pca_params` or ``(eigen_vectors, means)``.

    Returns:
        uint8 ``(..., D)``.

    Example:
        >>> vggish_postprocess([[-2.0, 0.0, 2.0]], (np.eye(3), np.zeros(3)))
        array([[  0, 127, 255]], dtype=uint8)
    """
    vectors, means = load_pca_params(pca_params) if isinstance(pca_params, str) else pca_params
    vectors, means = np.asarray(vectors, np.float64), np.asarray(means, np.float64).reshape(-1)
    e = np.asarray(embeddings, np.float64)
    if e.shape[-1] != means.shape[0]:
        raise ValueError(f"embeddings have {e.shape[-1]} dimensions but the PCA parameters "
                         f"expect {means.shape[0]}")
    p = (e - means) @ vectors.T
    p = np.clip(p, QUANTIZE_MIN, QUANTIZE_MAX)
    q = (p - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN))
    return q.astype(np.uint8)
