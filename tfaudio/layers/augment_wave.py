"""Waveform augmentation layers: AddNoise, RandomGain, RandomShift, PolarityInversion,
RandomCrop, Mixup, Reverb.

Input ``(batch, time)`` or ``(batch, time, channels)``; draws are per example and shared
by its channels. With ``training`` False/None every layer returns its input (see
:mod:`tfaudio.layers.augment_base`; ``RandomCrop(inference="center")`` crops instead).
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.augment_base import AugmentationLayer, replica_seed
from tfaudio.layers.base import register
from tfaudio.ops import augment as ops


def _as_paths(value: Any) -> list[str] | None:
    """The file paths in ``value`` (one path or a list of paths), else None."""
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (str, os.PathLike)) for v in value):
        return [os.fspath(v) for v in value]
    return None


def _read_mono(arg: str, path: str) -> np.ndarray:
    """An audio file (any format ``tfaudio.data.decode_audio`` reads) mixed to mono."""
    from tfaudio.data import AudioDecodeError, decode_audio

    try:
        audio, _ = decode_audio(path)
    except (FileNotFoundError, AudioDecodeError) as err:
        raise ValueError(f"{arg}: cannot read WAV (or FLAC/OGG/MP3) file {path!r}: {err}") from err
    return np.mean(np.asarray(audio), axis=1).astype(np.float32)


class _BankLayer(AugmentationLayer):
    """A layer holding a bank of signals (noises, impulse responses) as weights.

    The bank is read once in ``__init__`` and stored in two non-trainable weights
    (``<name>_bank`` float32 ``(n, longest)`` and ``<name>_lengths`` int32 ``(n,)``), so
    a ``.keras`` file carries it. ``get_config`` records the file paths when the bank was
    given as files, otherwise ``{"bank_shape": [n, longest]}`` (the values come back
    with the weights).
    """

    def _make_bank(self, arg: str, value: Any, max_length: int | None):
        if isinstance(value, dict) and "bank_shape" in value:
            n, length = (int(v) for v in value["bank_shape"])
            bank = np.zeros((n, length), np.float32)
            lengths, paths = np.full([n], length, np.int32), None
        else:
            paths = _as_paths(value)
            signals = value if paths is None else [_read_mono(arg, p) for p in paths]
            bank, lengths = ops.load_bank(arg, signals, max_length, sources=paths)
        self._bank_paths = paths
        self._bank_arg = arg
        self.bank = self.add_weight(
            shape=bank.shape, initializer=keras.initializers.Constant(bank), trainable=False,
            name=f"{arg}_bank", dtype="float32")
        self.bank_lengths = self.add_weight(
            shape=lengths.shape, initializer=keras.initializers.Constant(lengths),
            trainable=False, name=f"{arg}_lengths", dtype="int32")

    def _bank_config(self):
        if self._bank_paths is not None:
            return list(self._bank_paths)
        return {"bank_shape": list(self.bank.shape)}


@register
class AddNoise(_BankLayer):
    """Adds noise at an SNR drawn per example, uniform in ``snr_db = (min, max)``.

    The SNR is measured on the clip (mean power over the example's samples and
    channels), so ``10 log10(sum x^2 / sum (y - x)^2)`` of the output equals the drawn
    SNR (to float32 round-off). Silent clips are left unchanged.

    Args:
        snr_db: ``(min, max)`` SNR range in dB.
        noise: ``"white"`` (Gaussian), ``"pink"`` or ``"brown"`` (new excerpts every
            step, independent per channel; see ``noise_source``); or a noise bank read
            once: an array ``(n_noises, length)``, a list of 1-D arrays, or a list of audio-file
            paths (at the model's sample rate, mixed to mono). Each example gets a random
            excerpt of a random noise (looped when shorter than the clip), the same on
            all channels.
        noise_source: for a colour: ``"bank"`` (default) reads excerpts of a
            precomputed periodic noise of ``bank_size`` samples (generated in NumPy from
            ``seed`` when first used, not saved with the model), at a random multiple of
            256 samples with a random sign: fast in a plain TF graph, but every excerpt
            comes from the same 65 s of noise (8192 distinct excerpts per clip length
            with the default size). ``"fresh"`` generates new counter-hash noise for
            every sample: unlimited variety, fast only under XLA. See
            :func:`tfaudio.ops.augment.add_noise`.
        bank_size: length of the precomputed noise (a multiple of 256; default 2**20).
        max_noise_length: longest allowed bank entry in samples (None = no limit).
        p: probability per example.
        seed: integer seed (also the seed of the precomputed noise; None uses 0 for it).

    Input/output shape: ``(batch, time[, channels])``.

    Example:
        >>> noisy = AddNoise(snr_db=(5, 20), seed=0)(tf.random.normal([4, 16000]), training=True)
    """

    def __init__(self, snr_db: tuple[float, float] = (10.0, 30.0), noise: Any = "white",
                 max_noise_length: int | None = None, p: float = 1.0, seed: int | None = None,
                 noise_source: str = "bank", bank_size: int = ops.BANK_SIZE, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.snr_db = ops.check_range("snr_db", *ops.check_pair("snr_db", snr_db))
        self.noise_source = _checks.one_of("noise_source", noise_source, ops.NOISE_SOURCES)
        self.bank_size = ops.check_bank_size(bank_size)
        self.max_noise_length = (None if max_noise_length is None
                                 else _checks.positive_int("max_noise_length", max_noise_length))
        if isinstance(noise, str) and not noise.lower().endswith(".wav"):
            self.noise = _checks.one_of("noise", noise, ops.NOISE_COLORS)
            self.bank = None
        else:
            self.noise = None
            self._make_bank("noise", noise, self.max_noise_length)

    def _noise_args(self):
        if self.bank is None:
            return dict(noise=self.noise, noise_source=self.noise_source,
                        bank_seed=self.seed or 0, bank_size=self.bank_size)
        return dict(noise=tf.convert_to_tensor(self.bank),
                    noise_lengths=tf.convert_to_tensor(self.bank_lengths))

    def _augment(self, x, seed):
        return ops.add_noise(x, seed, self.snr_db, p=self.p, **self._noise_args())

    def get_config(self):
        return {**super().get_config(), "snr_db": list(self.snr_db),
                "noise": self.noise if self.bank is None else self._bank_config(),
                "max_noise_length": self.max_noise_length, "noise_source": self.noise_source,
                "bank_size": self.bank_size}


@register
class RandomGain(AugmentationLayer):
    """Scales each example by a gain uniform in ``[min_db, max_db]`` dB.

    Args:
        min_db, max_db: gain range in dB (``min_db <= max_db``).
        p: probability per example.
        seed: integer seed.

    Input/output shape: any ``(batch, time[, channels])``.

    Example:
        >>> RandomGain(-6, 6, seed=0)(tf.ones([2, 100]), training=True)
    """

    def __init__(self, min_db: float = -6.0, max_db: float = 6.0, p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.min_db, self.max_db = ops.check_range("(min_db, max_db)", min_db, max_db)

    def _augment(self, x, seed):
        return ops.random_gain(x, seed, self.min_db, self.max_db, self.p)

    def get_config(self):
        return {**super().get_config(), "min_db": self.min_db, "max_db": self.max_db}


@register
class PolarityInversion(AugmentationLayer):
    """Flips the sign of each example with probability ``p``.

    Args:
        p: probability per example (default 0.5).
        seed: integer seed.

    Example:
        >>> PolarityInversion(p=0.5, seed=0)(tf.ones([4, 100]), training=True)
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)

    def _augment(self, x, seed):
        return ops.polarity_inversion(x, seed, self.p)


@register
class RandomShift(AugmentationLayer):
    """Shifts each example by an integer in ``[-S, S]``, ``S = floor(max_fraction * time)``.

    Args:
        max_fraction: largest shift as a fraction of the clip, in ``[0, 1]``.
        mode: ``"roll"`` (wrap around) or ``"zeros"`` (vacated samples are 0).
        p: probability per example.
        seed: integer seed.

    Example:
        >>> RandomShift(0.1, mode="zeros", seed=0)(tf.ones([2, 1000]), training=True)
    """

    def __init__(self, max_fraction: float = 0.5, mode: str = "roll", p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.max_fraction = _checks.number_in("max_fraction", max_fraction, 0.0, 1.0)
        self.mode = _checks.one_of("mode", mode, ("roll", "zeros"))

    def _augment(self, x, seed):
        return ops.random_shift(x, seed, self.max_fraction, self.mode, self.p)

    def get_config(self):
        return {**super().get_config(), "max_fraction": self.max_fraction, "mode": self.mode}


@register
class RandomCrop(AugmentationLayer):
    """A random ``length``-sample window per example; short clips are zero-padded at the end.

    Args:
        length: output length in samples.
        inference: what a non-training call returns: ``"identity"`` (the input, whole
            clip: the rule that augmentation vanishes at inference) or ``"center"`` (the
            centered window, zero-padded: same shape as in training).
        p: probability per example of a random window (else the centered one).
        seed: integer seed.

    Output shape: ``(batch, length[, channels])`` in training (and with
    ``inference="center"``).

    Example:
        >>> RandomCrop(8000, seed=0)(tf.ones([2, 16000]), training=True).shape
        TensorShape([2, 8000])
    """

    def __init__(self, length: int, inference: str = "identity", p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.length = _checks.positive_int("length", length)
        self.inference = _checks.one_of("inference", inference, ("identity", "center"))

    def _augment(self, x, seed):
        return ops.random_crop(x, seed, self.length, self.p)

    def _inference(self, inputs):
        x = super()._inference(inputs)
        if self.inference == "identity":
            return x
        out = self._channels(tf.cast(x, tf.float32), None)
        return self._output(out)

    def _channels(self, x, seed):
        if seed is None:  # inference="center"
            fn = lambda t, s: ops.center_crop(t, self.length)  # noqa: E731
        else:
            fn = self._augment
        if x.shape.rank == 2:
            return fn(x, seed)
        return tf.transpose(fn(tf.transpose(x, [0, 2, 1]), seed), [0, 2, 1])

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check_rank(shape)
        if self.inference == "identity":
            return shape
        return (shape[0], self.length) + shape[2:]

    def get_config(self):
        return {**super().get_config(), "length": self.length, "inference": self.inference}


@register
class Mixup(AugmentationLayer):
    """Mixup inside a batch of ``(audio, labels)``: both mixed with the same ``lam``.

    ``lam ~ Beta(alpha, alpha)`` per example; example ``i`` is mixed with example
    ``perm[i]`` of a random permutation. Use it on (audio, one-hot labels) batches,
    e.g. ``ds.map(lambda x, y: mixup((x, y), training=True))``.

    Args:
        alpha: Beta parameter (> 0); small values keep ``lam`` near 0 or 1.
        p: probability per example (unselected examples keep ``lam = 1``).
        seed: integer seed.

    Input: a pair ``(audio (batch, time[, channels]), labels (batch, ...))``.
    Output: the pair mixed; audio in the compute dtype, labels float32.

    Example:
        >>> x, y = Mixup(0.4, seed=0)((tf.ones([4, 100]), tf.one_hot([0, 1, 2, 3], 4)),
        ...                           training=True)
    """

    def __init__(self, alpha: float = 0.2, p: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.alpha = _checks.positive_float("alpha", alpha)

    @staticmethod
    def _split(inputs):
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise TypeError(f"Mixup expects a pair (audio, labels), got {type(inputs).__name__}")
        return inputs[0], inputs[1]

    def build(self, input_shape):
        self._check_rank(tuple(input_shape[0]))
        self.built = True

    def call(self, inputs, training=None, seed=None):
        audio, labels = self._split(inputs)
        if not training:
            return self._inference(audio), tf.convert_to_tensor(labels)
        x = self._float32(audio)
        seed = replica_seed(self.seed_generator.next()) if seed is None else ops.as_seed(seed)
        mixed_x, mixed_y = ops.mixup(x, labels, seed, self.alpha, self.p)
        return self._output(mixed_x), mixed_y

    def compute_output_spec(self, inputs, *args, **kwargs):
        audio, labels = self._split(inputs)
        self._check_rank(audio.shape)
        return (keras.KerasTensor(audio.shape, dtype=self.compute_dtype),
                keras.KerasTensor(labels.shape, dtype=labels.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register
class Reverb(_BankLayer):
    """Convolves each example with a random impulse response (FFT), keeping length and RMS.

    The output is the first ``time`` samples of the convolution, rescaled per example
    to the input's RMS; channels share the impulse response. A unit impulse ``[1]``
    returns the input.

    Args:
        impulse_responses: an array ``(n, length)``, a list of 1-D arrays or a list of
            audio-file paths (WAV, FLAC, OGG, MP3; mono-mixed, at the model's rate), read once.
        max_length: longest allowed impulse response in samples (default 65536, about
            4 s at 16 kHz); longer ones raise ``ValueError``.
        p: probability per example.
        seed: integer seed.

    Example:
        >>> rir = np.exp(-np.arange(4000) / 800.0) * np.random.randn(4000)
        >>> wet = Reverb([rir], seed=0)(tf.random.normal([2, 16000]), training=True)
    """

    def __init__(self, impulse_responses: Any, max_length: int = 65536, p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.max_length = _checks.positive_int("max_length", max_length)
        self._make_bank("impulse_responses", impulse_responses, self.max_length)

    def _augment(self, x, seed):
        return ops.reverb(x, seed, tf.convert_to_tensor(self.bank), self.p)

    def get_config(self):
        return {**super().get_config(), "impulse_responses": self._bank_config(),
                "max_length": self.max_length}


@register
class SpeedPerturbation(AugmentationLayer):
    """Speed perturbation by resampling (e.g. factors 0.9, 1.0, 1.1 as in Kaldi recipes).

    One factor is drawn per batch (see :func:`tfaudio.ops.augment.speed_perturb`): the
    output keeps the input length (a faster clip is zero-padded at the end, a slower one
    cropped). ``p`` is the probability that the batch is perturbed.

    Args:
        factors: speed factors > 0 (each rounded to ``1 / nominal``).
        nominal: resampling ratio denominator (``f`` -> ``round(f * nominal) : nominal``).
        p: probability per batch.
        seed: integer seed.

    Example:
        >>> SpeedPerturbation((0.9, 1.1), seed=0)(tf.random.normal([2, 16000]), training=True)
    """

    def __init__(self, factors=(0.9, 1.0, 1.1), nominal: int = 100, p: float = 1.0,
                 seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        self.nominal = _checks.positive_int("nominal", nominal)
        if isinstance(factors, (int, float)) or not len(factors):
            raise ValueError(f"factors={factors!r} must be a non-empty list of speeds > 0")
        self.factors = [_checks.positive_float("factors", float(f)) for f in factors]
        for f in self.factors:
            ops.speed_ratio(f, self.nominal)

    def _augment(self, x, seed):
        return ops.speed_perturb(x, seed, self.factors, self.p, self.nominal)

    def get_config(self):
        return {**super().get_config(), "factors": list(self.factors), "nominal": self.nominal}
