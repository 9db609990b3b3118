"""The layer registry of the shared test harness.

Every tfaudio layer has at least one :class:`Case` here. The property tests
(``test_serialization``, ``test_shapes``, ``test_export``, ``test_runtime``) run every
case through the same checks, so a new layer gets all of them by adding one entry.

To add a layer: append ``Case(id=..., make=lambda **kw: MyLayer(..., **kw), kind=...)``.
``make`` must forward ``**kw`` (the harness passes ``dtype=`` for mixed precision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tfaudio import layers as L
from tfaudio import models as M
from tfaudio.models.separation import MaskBound, ShiftedCopies

# Properties a case may opt out of (say why in a comment next to the case).
PROPERTIES = frozenset(
    {"mixed", "jit", "export", "tfdata", "multichannel", "keras", "grad", "dynamic"}
)


@dataclass(frozen=True)
class Case:
    """One layer configuration for the property tests.

    Attributes:
        id: unique test id.
        make: ``make(**kwargs) -> layer``; kwargs (e.g. ``dtype``) go to the layer.
        kind: input generator: ``"waveform"`` (float audio), ``"spectrogram"`` (positive
            power values), ``"logmel"`` (dB values), ``"complex"`` (an STFT of
            ``n_fft=stft_n_fft``), ``"channels"`` (that STFT of a 0.1-scaled waveform as
            real/imag channels ``(batch, frames, bins, 2)``), ``"mask_and_mixture"`` (a
            list of two inputs ``[mask, mixture]``: a compressed cRM in ``(-9, 9)`` and a
            "channels" mixture, both ``(batch, frames, bins, 2)``), ``"codes"`` (int32 mu-law codes), ``"frames"``
            (standard normal network activations ``(batch, frames, features)``),
            ``"embedding"`` (standard normal ``(batch, features)``: no time axis, so
            ``time`` and ``lengths`` are ignored).
        time: default time length (samples, or frames for spectrogram kinds).
        features: the bins axis for spectrogram kinds.
        lengths: more time lengths for the exact-shape test (short ones included).
        skip: properties that do not apply (see PROPERTIES).
        stft_n_fft: FFT size of "complex" inputs.
    """

    id: str
    make: Callable[..., object]
    kind: str = "waveform"
    time: int = 4000
    features: int | None = None
    lengths: tuple[int, ...] = ()
    skip: frozenset = field(default_factory=frozenset)
    stft_n_fft: int = 512

    def __post_init__(self):
        unknown = set(self.skip) - PROPERTIES
        if unknown:
            raise ValueError(f"case {self.id}: unknown properties in skip: {sorted(unknown)}")


def make_input(case: Case, batch: int = 2, time: int | None = None, channels: int | None = None,
               seed: int = 0) -> np.ndarray:
    """A deterministic input for ``case``; ``channels`` appends a trailing channel axis."""
    rng = np.random.default_rng(seed)
    time = case.time if time is None else time
    extra = () if channels is None else (channels,)
    if case.kind == "waveform":
        t = np.arange(time) / 16000.0
        tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)[None, :]
        x = tone + 0.1 * rng.standard_normal((batch, time))
        if channels is not None:
            x = np.stack([x * (0.5 + c) for c in range(channels)], axis=-1)
        return x.astype(np.float32)
    if case.kind == "spectrogram":
        return (rng.random((batch, time, case.features) + extra) ** 4 * 10).astype(np.float32)
    if case.kind == "logmel":
        return (rng.random((batch, time, case.features) + extra) * 80 - 60).astype(np.float32)
    if case.kind == "codes":
        return rng.integers(0, 256, (batch, time) + extra).astype(np.int32)
    if case.kind == "frames":
        return rng.standard_normal((batch, time, case.features) + extra).astype(np.float32)
    if case.kind == "embedding":
        return rng.standard_normal((batch, case.features) + extra).astype(np.float32)
    if case.kind == "complex":
        from tfaudio.ops import stft

        wave = rng.standard_normal((batch,) + extra + (time,)).astype(np.float32)
        spec = stft(wave, n_fft=case.stft_n_fft).numpy()
        if channels is not None:
            spec = np.moveaxis(spec, 1, -1)
        return spec
    if case.kind == "mask_and_mixture":
        mixture = make_input(Case(case.id, case.make, "channels", stft_n_fft=case.stft_n_fft),
                             batch, time, channels, seed)
        mask = rng.uniform(-9.0, 9.0, mixture.shape).astype(np.float32)
        return [mask, mixture]
    if case.kind == "channels":
        from tfaudio.ops import complex_to_channels, stft

        wave = 0.1 * rng.standard_normal((batch,) + extra + (time,)).astype(np.float32)
        spec = complex_to_channels(stft(wave, n_fft=case.stft_n_fft)).numpy()
        if channels is not None:  # (batch, channels, frames, bins, 2) -> channels before re/im
            spec = np.moveaxis(spec, 1, -2)
        return spec
    raise ValueError(f"unknown kind {case.kind!r}")


def input_shape(case: Case, channels: int | None = None) -> tuple:
    """The per-example symbolic input shape with a dynamic time axis."""
    extra = () if channels is None else (channels,)
    if case.kind in ("waveform", "codes"):
        return (None,) + extra
    if case.kind == "complex":
        return (None, case.stft_n_fft // 2 + 1) + extra
    if case.kind == "channels":
        return (None, case.stft_n_fft // 2 + 1) + extra + (2,)
    if case.kind == "mask_and_mixture":
        return [(None, case.stft_n_fft // 2 + 1) + extra + (2,)] * 2
    if case.kind == "embedding":
        return (case.features,) + extra
    return (None, case.features) + extra


def input_dtype(case: Case) -> str:
    return {"codes": "int32", "complex": "complex64"}.get(case.kind, "float32")


def is_multi_input(case: Case) -> bool:
    """Whether the case's layer is called on a list of inputs (``make_input`` returns a list)."""
    return case.kind == "mask_and_mixture"


WAVE_KW = dict(n_fft=512, hop_length=128)
SEEDED = {"class_name": "GlorotUniform", "config": {"seed": 0}}

CASES: list[Case] = [
    Case("stft", lambda **kw: L.STFT(**WAVE_KW, **kw), lengths=(1, 255, 256, 511, 512, 513, 1000),
         skip=frozenset({"mixed", "grad"})),  # complex64 output whatever the policy
    Case("stft_nocenter_odd", lambda **kw: L.STFT(n_fft=511, hop_length=100, win_length=300,
                                                  center=False, **kw),
         lengths=(511, 512, 610, 611, 1000), skip=frozenset({"mixed", "grad"})),
    Case("stft_reflect_hamming", lambda **kw: L.STFT(n_fft=256, window="hamming",
                                                     pad_mode="reflect", **kw),
         lengths=(129, 200, 1000), skip=frozenset({"mixed", "grad"})),
    Case("spectrogram", lambda **kw: L.Spectrogram(n_fft=512, hop_length=160, win_length=400, **kw),
         lengths=(1, 159, 160, 161, 512, 3999)),
    Case("spectrogram_power1", lambda **kw: L.Spectrogram(n_fft=400, power=1.0, center=False, **kw),
         lengths=(400, 499, 500, 1234)),
    Case("phase", lambda **kw: L.Phase(**WAVE_KW, **kw), lengths=(3, 700), skip=frozenset({"grad"})),
    Case("istft", lambda **kw: L.InverseSTFT(n_fft=512, hop_length=128, **kw), kind="complex",
         time=4000, lengths=(1, 2, 5, 40)),
    Case("istft_length", lambda **kw: L.InverseSTFT(n_fft=512, hop_length=128, length=3000, **kw),
         kind="complex", time=4000, lengths=(1, 3, 30)),
    Case("melspectrogram", lambda **kw: L.MelSpectrogram(16000, n_fft=512, hop_length=160,
                                                         win_length=400, n_mels=64, **kw),
         lengths=(1, 100, 160, 4321)),
    Case("melspectrogram_htk", lambda **kw: L.MelSpectrogram(22050, n_fft=1024, n_mels=40, htk=True,
                                                             norm=None, f_min=30, f_max=8000,
                                                             center=False, **kw),
         lengths=(1024, 1279, 1280, 5000)),
    Case("mel_filterbank", lambda **kw: L.MelFilterbank(16000, 512, 40, **kw), kind="spectrogram",
         time=30, features=257, lengths=(1, 7)),
    Case("mel_filterbank_vggish", lambda **kw: L.MelFilterbank(16000, 512, 64, 125.0, 7500.0,
                                                               htk=True, norm=None,
                                                               triangles="mel", **kw),
         kind="spectrogram", time=30, features=257, lengths=(1, 7)),
    Case("log", lambda **kw: L.Log(0.01, **kw), kind="spectrogram", time=20, features=64,
         lengths=(1, 3)),
    Case("pad", lambda **kw: L.Pad(56, 56, min_length=4500, **kw), lengths=(1, 4000, 4389, 4390,
                                                                            5000)),
    Case("patches", lambda **kw: L.Patches(8, **kw), kind="spectrogram", time=30, features=16,
         lengths=(0, 7, 8, 15, 16, 40)),
    Case("patches_overlap", lambda **kw: L.Patches(8, 4, **kw), kind="spectrogram", time=30,
         features=16, lengths=(8, 11, 12, 41)),
    Case("power_to_db", lambda **kw: L.PowerToDb(**kw), kind="spectrogram", time=20, features=64,
         lengths=(1, 3)),
    Case("power_to_db_refmax", lambda **kw: L.PowerToDb(ref="max", top_db=None, **kw),
         kind="spectrogram", time=20, features=64),
    Case("amplitude_to_db", lambda **kw: L.AmplitudeToDb(top_db=60.0, **kw), kind="spectrogram",
         time=20, features=64),
    Case("mfcc", lambda **kw: L.MFCC(16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40, **kw),
         lengths=(1, 4000, 4001)),
    Case("logmel_to_mfcc", lambda **kw: L.LogMelToMFCC(13, lifter=22, **kw), kind="logmel",
         time=30, features=40),
    Case("delta", lambda **kw: L.Delta(**kw), kind="logmel", time=30, features=20,
         lengths=(9, 10, 50)),
    Case("delta2", lambda **kw: L.Delta(width=5, order=2, **kw), kind="logmel", time=30,
         features=20, lengths=(5, 6)),
    Case("frame", lambda **kw: L.Frame(400, 160, **kw), lengths=(400, 559, 560, 4000)),
    Case("frame_center", lambda **kw: L.Frame(256, 100, center=True, pad_mode="reflect", **kw),
         lengths=(129, 300)),
    # CREPE's input normalisation (its framing is Frame(1024, hop, center=True)).
    Case("normalize_frames", lambda **kw: L.NormalizeFrames(**kw), kind="spectrogram", time=12,
         features=64, lengths=(0, 1, 5)),
    Case("rms", lambda **kw: L.RMS(frame_length=512, hop_length=128, **kw), lengths=(1, 127, 128)),
    Case("mu_law_encoding", lambda **kw: L.MuLawEncoding(**kw), skip=frozenset({"mixed", "grad"})),
    Case("mu_law_decoding", lambda **kw: L.MuLawDecoding(**kw), kind="codes",
         skip=frozenset({"grad"})),
    # WaveNet's input encoding; (batch, time, channels) codes give (..., channels, 256), so
    # channel c is not output[..., c] (no multichannel check).
    Case("one_hot", lambda **kw: L.OneHot(256, **kw), kind="codes", time=300,
         lengths=(0, 1, 7), skip=frozenset({"grad", "multichannel"})),
    Case("resample_44100_16000", lambda **kw: L.Resample(44100, 16000, **kw), time=4410,
         lengths=(1, 2, 3, 440, 441, 442, 1000)),
    Case("resample_16000_48000", lambda **kw: L.Resample(16000, 48000, **kw),
         lengths=(1, 2, 47, 48, 49, 1001)),
    Case("resample_48000_44100", lambda **kw: L.Resample(48000, 44100, **kw),
         lengths=(1, 159, 160, 161, 4801)),
    # Augmentation layers: these cases check the inference path (identity, or the
    # centered window of RandomCrop(inference="center")), which is what config, .keras,
    # export, tf.data, XLA and mixed precision must preserve. The training path is
    # tested in tests/test_augment_spec.py and tests/test_augment_wave.py.
    # (Mixup takes an (audio, labels) pair, which this single-input harness cannot
    # feed: it is covered in test_augment_wave.py.)
    Case("frequency_masking", lambda **kw: L.FrequencyMasking(8, n_masks=2, seed=1, **kw),
         kind="logmel", time=30, features=40, lengths=(1, 5)),
    Case("time_masking", lambda **kw: L.TimeMasking(10, max_fraction=0.2, seed=1, **kw),
         kind="logmel", time=30, features=40, lengths=(1, 5)),
    Case("time_warp", lambda **kw: L.TimeWarp(5, seed=1, **kw), kind="spectrogram", time=30,
         features=40, lengths=(1, 2, 11)),
    Case("spec_augment", lambda **kw: L.SpecAugment(8, 10, time_warp_param=4, per_channel=True,
                                                    p=0.8, seed=1, **kw),
         kind="logmel", time=30, features=40, lengths=(1, 7)),
    Case("add_noise", lambda **kw: L.AddNoise((5.0, 20.0), "pink", seed=1, **kw),
         lengths=(1, 100)),
    Case("add_noise_bank", lambda **kw: L.AddNoise(
        (0.0, 10.0), noise=np.random.default_rng(0).standard_normal((3, 500)), seed=1, **kw)),
    Case("random_gain", lambda **kw: L.RandomGain(-6.0, 6.0, p=0.5, seed=1, **kw)),
    Case("random_shift", lambda **kw: L.RandomShift(0.2, mode="zeros", seed=1, **kw)),
    Case("polarity_inversion", lambda **kw: L.PolarityInversion(0.5, seed=1, **kw)),
    Case("random_crop", lambda **kw: L.RandomCrop(1000, seed=1, **kw), lengths=(1, 999, 1001)),
    Case("random_crop_center", lambda **kw: L.RandomCrop(1000, inference="center", seed=1, **kw),
         lengths=(1, 999, 1000, 1001)),
    Case("reverb", lambda **kw: L.Reverb(np.exp(-np.arange(300) / 50.0)[None], seed=1, **kw)),
    Case("compose", lambda **kw: L.Compose([L.RandomGain(-3.0, 3.0, seed=2),
                                            L.AddNoise((10.0, 20.0), seed=3)],
                                           p=0.5, seed=1, **kw)),
    Case("speed_perturbation", lambda **kw: L.SpeedPerturbation((0.9, 1.1), seed=1, **kw)),
    Case("random_apply", lambda **kw: L.RandomApply(L.PolarityInversion(1.0, seed=2), p=0.5,
                                                    seed=1, **kw)),
    # Speaker models (tfaudio.models). Layers with learned weights get seeded
    # initialisers, so every instance of a case holds the same weights.
    # The AAM-softmax head (cosines; the margin is in the loss) takes embeddings with a
    # fixed size and no time or channel axis.
    Case("aam_softmax", lambda **kw: M.AAMSoftmax(7, kernel_initializer=SEEDED, **kw),
         kind="embedding", features=24, skip=frozenset({"multichannel"})),
    # ECAPA-TDNN / x-vector front end: per-utterance mean (and variance) normalisation.
    Case("utterance_norm", lambda **kw: L.UtteranceNorm(**kw), kind="logmel", time=30,
         features=40, lengths=(1, 5)),
    Case("utterance_norm_variance", lambda **kw: L.UtteranceNorm(variance=True, **kw),
         kind="logmel", time=30, features=40, lengths=(1, 5)),
    # ECAPA-TDNN blocks on (batch, frames, channels) activations. Their convolutions and
    # batch norms compute in the policy's float16 / bfloat16 by design (that is what
    # mixed precision is for), so the half-ulp-of-float32 bound of the "mixed" property
    # does not apply: tests/test_ecapa.py checks a whole model under mixed precision.
    # Rank 3 only: no channel axis ("multichannel").
    Case("se_res2_block_shortcut", lambda **kw: M.SERes2Block(
        32, 3, 2, scale=4, se_channels=8, kernel_initializer=SEEDED, **kw), kind="frames",
        time=20, features=16, lengths=(1, 2, 7), skip=frozenset({"multichannel", "mixed"})),
    Case("se_res2_block", lambda **kw: M.SERes2Block(
        32, 3, 4, scale=8, se_channels=8, kernel_initializer=SEEDED, **kw), kind="frames",
        time=20, features=32, lengths=(1, 9), skip=frozenset({"multichannel", "mixed"})),
    Case("attentive_stats_pooling", lambda **kw: M.AttentiveStatsPooling(
        8, kernel_initializer=SEEDED, **kw), kind="frames", time=20, features=16,
        lengths=(1, 3), skip=frozenset({"multichannel", "mixed"})),
    Case("attentive_stats_pooling_local", lambda **kw: M.AttentiveStatsPooling(
        8, global_context=False, kernel_initializer=SEEDED, **kw), kind="frames", time=20,
        features=16, lengths=(1, 3), skip=frozenset({"multichannel", "mixed"})),
    # Separation (issue 13): the real/imag channels layout (batch, frames, bins[, ch], 2)
    # keeps re/im LAST, so the harness's per-channel slice x[..., c] would cut re from im:
    # multichannel is tested in tests/test_masks.py instead. ApplyComplexMask is called
    # on two inputs [mask, mixture] (kind "mask_and_mixture").
    Case("complex_to_channels", lambda **kw: L.ComplexToChannels(**kw), kind="complex",
         time=4000, lengths=(1, 2, 40), skip=frozenset({"multichannel"})),
    Case("channels_to_complex", lambda **kw: L.ChannelsToComplex(**kw), kind="channels",
         time=4000, lengths=(1, 2, 40),
         skip=frozenset({"multichannel", "mixed", "grad"})),  # complex64 output
    Case("power_law_compression", lambda **kw: L.PowerLawCompression(0.3, **kw),
         kind="channels", time=4000, lengths=(1, 2, 40), skip=frozenset({"multichannel"})),
    Case("power_law_decompression", lambda **kw: L.PowerLawCompression(0.3, inverse=True, **kw),
         kind="channels", time=4000, lengths=(1, 40), skip=frozenset({"multichannel"})),
    Case("channel_magnitude", lambda **kw: L.ChannelMagnitude(**kw), kind="channels",
         time=4000, lengths=(1, 2, 40), skip=frozenset({"multichannel"})),
    Case("channel_magnitude_only", lambda **kw: L.ChannelMagnitude(parts=False, **kw),
         kind="channels", time=4000, lengths=(1, 40), skip=frozenset({"multichannel"})),
    Case("apply_complex_mask", lambda **kw: L.ApplyComplexMask(k=10.0, c=0.1, **kw),
         kind="mask_and_mixture", time=4000, lengths=(1, 2, 40),
         skip=frozenset({"multichannel"})),
    Case("apply_complex_mask_raw", lambda **kw: L.ApplyComplexMask(k=None, **kw),
         kind="mask_and_mixture", time=4000, lengths=(1, 40), skip=frozenset({"multichannel"})),
    Case("stats_pooling", lambda **kw: M.StatsPooling(**kw), kind="frames", time=20,
         features=16, lengths=(1, 3), skip=frozenset({"multichannel"})),
    # mixed precision skipped: outputs reach K = 10, where float16's own rounding
    # (0.005) is the harness's whole bound
    Case("mask_bound", lambda **kw: MaskBound(10.0, **kw), kind="frames", time=20,
         features=16, lengths=(1, 3), skip=frozenset({"mixed"})),
    # copies on the batch axis of (batch, time) waveforms: no channel axis
    Case("shifted_copies", lambda **kw: ShiftedCopies((0, 64, 128), 128, **kw), time=1000,
         lengths=(1, 129), skip=frozenset({"multichannel"})),
]


def by_id(case_id: str) -> Case:
    for case in CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)
