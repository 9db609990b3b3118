"""Speech-separation mixtures made on the fly from any labelled TFRecord dataset.

A mixture takes ``num_sources`` clips of *different* labels (speakers, or classes), gives
each a level relative to the first (drawn uniformly in ``+- level_db`` dB, the usual
"0 dB +- 5 dB" of two-speaker benchmarks), sums them, optionally adds noise clips from a
second dataset at an SNR drawn from ``noise_snr_db`` (relative to the sum of the
sources; the noise is interference, never a target), and scales the mixture and its
sources by one factor so the mixture's peak is ``peak``. The sources, scaled as they are
in the mixture, are the targets: ``mixture = sum(sources) + noise``.

Two ways to get them:

- :func:`mixture_dataset`: a ``tf.data`` pipeline for training: every source stream is
  its own shuffled, randomly cropped read of the split (seeds ``seed``, ``seed + 1``,
  ...; the partner streams repeat); a tuple of clips sharing a label is skipped, about
  ``(num_sources - 1) / labels`` of them (0.5 % for two sources of 200 speakers).
  Levels and noise SNRs are drawn by op-seeded random ops.
- :func:`mixture_set`: a fixed, reproducible set for evaluation (NumPy): clips are read
  whole from the start, partners and levels drawn with ``numpy.random.default_rng(seed)``,
  every clip of the split is the first source of exactly one mixture (``count in =
  count out``: clips shorter than the crop are zero-padded, never dropped).

Example:
    >>> ds = mixture_dataset("data/speakers", "train", clip_seconds=2.0, batch_size=8)
    >>> mixture, sources = next(iter(ds))
    >>> mixture.shape, sources.shape
    (TensorShape([8, 32000]), TensorShape([8, 2, 32000]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfaudio._checks import number_in, positive_float, positive_int

EPS = 1e-8


def _range(name: str, value: Any) -> tuple[float, float]:
    lo, hi = (float(v) for v in (value if isinstance(value, (tuple, list)) else (value, value)))
    if hi < lo:
        raise ValueError(f"{name}={value!r}: give (min, max) with min <= max")
    return lo, hi


def _check(num_sources: int, level_db: float, peak: float, noise_p: float) -> tuple:
    num_sources = positive_int("num_sources", num_sources)
    if num_sources < 2:
        raise ValueError(f"num_sources={num_sources}: a mixture needs at least 2 sources")
    level_db = number_in("level_db", level_db, 0.0, 60.0)
    peak = number_in("peak", peak, 0.0, 1.0, low_inclusive=False)
    noise_p = number_in("noise_p", noise_p, 0.0, 1.0)
    return num_sources, level_db, peak, noise_p


def _rms(x, axis=-1):
    import tensorflow as tf

    return tf.sqrt(tf.reduce_mean(tf.square(x), axis=axis, keepdims=True) + EPS)


def mix_sources(sources: Any, gains_db: Any, noise: Any = None, snr_db: Any = None,
                peak: float = 0.9) -> tuple[Any, Any]:
    """Mixes ``sources`` ``(num_sources, time)`` (TensorFlow, one example).

    Source ``k`` is scaled to RMS ``rms(source_0) * 10^(gains_db[k] / 20)`` (``gains_db[0]``
    is ignored: the first source keeps its level); ``noise`` ``(time,)`` (optional) is
    scaled to ``snr_db`` below the sum of the sources; the mixture and the sources are then
    scaled by one factor so the mixture's peak is ``peak`` (a silent mixture is left
    silent).

    Returns:
        ``(mixture (time,), sources (num_sources, time))``, float32.
    """
    import tensorflow as tf

    s = tf.convert_to_tensor(sources, tf.float32)
    g = tf.convert_to_tensor(gains_db, tf.float32)
    rms = _rms(s)  # (n, 1)
    rel = tf.concat([[0.0], g[1:]], 0)[:, None]
    target = rms[:1] * tf.pow(10.0, rel / 20.0)
    s = s * target / rms
    mix = tf.reduce_sum(s, 0)
    if noise is not None:
        nz = tf.convert_to_tensor(noise, tf.float32)
        scale = _rms(mix) / _rms(nz) * tf.pow(10.0, -tf.cast(snr_db, tf.float32) / 20.0)
        mix = mix + nz * scale
    top = tf.reduce_max(tf.abs(mix))
    factor = tf.where(top > EPS, peak / tf.maximum(top, EPS), 1.0)
    return mix * factor, s * factor


def mixture_dataset(pattern_or_dir: str, split: str | None = "train", num_sources: int = 2,
                    sample_rate: int | None = None, clip_seconds: float = 3.0,
                    batch_size: int = 16, level_db: float = 5.0, noise: str | None = None,
                    noise_split: str | None = "train", noise_snr_db: Any = (10.0, 30.0),
                    noise_p: float = 1.0, peak: float = 0.9, seed: int = 0,
                    shuffle: bool = True, repeat: bool = False, cache: bool | str = "auto",
                    deterministic: bool | None = None, drop_remainder: bool = False) -> Any:
    """A batched ``tf.data.Dataset`` of ``(mixture (batch, time), sources (batch,
    num_sources, time))`` mixed on the fly from a labelled dataset.

    Args:
        pattern_or_dir: the source dataset (folder or shard glob, as for
            :func:`tfaudio.data.audio_dataset`); its labels say which clips must not be
            mixed together (one speaker per label).
        split: the split to read.
        num_sources: clips per mixture (>= 2), all of different labels.
        sample_rate: resample to this rate (``None`` keeps the dataset's).
        clip_seconds: the mixtures' length (clips are cropped, shorter ones zero-padded).
        batch_size: mixtures per batch.
        level_db: every source after the first gets a level uniform in
            ``[-level_db, +level_db]`` dB relative to the first.
        noise: a second dataset of noise clips (any labels), or ``None``.
        noise_split: its split.
        noise_snr_db: ``(min, max)`` SNR of the noise below the sum of the sources.
        noise_p: probability that a mixture gets noise.
        peak: the mixture's peak after scaling (0, 1].
        seed: shuffling, crops, partners, levels and noise (levels and SNRs are op-seeded
            random ops, so they repeat with the seed; shuffled orders repeat with
            ``deterministic=True``; crop offsets are not yet reproducible, as in
            :func:`~tfaudio.data.audio_dataset`).
        shuffle: shuffle the clips and crop at random offsets (training); ``False``
            (validation): the first source is every clip in record order, cropped from
            its start, the partners a seeded shuffle read in a deterministic order.
        repeat: repeat forever.
        cache, deterministic: as for :func:`~tfaudio.data.audio_dataset`.
        drop_remainder: drop the last short batch.

    Returns:
        The dataset. An epoch has one mixture per clip of the first stream whose partners
        have other labels; partner tuples sharing a label are skipped (about
        ``(num_sources - 1) / labels`` of them, 0.5 % for two sources of 200 speakers).
    """
    import tensorflow as tf

    from tfaudio.data.reader import audio_dataset, no_autograph

    num_sources, level_db, peak, noise_p = _check(num_sources, level_db, peak, noise_p)
    clip_seconds = positive_float("clip_seconds", clip_seconds)
    batch_size = positive_int("batch_size", batch_size)
    snr_lo, snr_hi = _range("noise_snr_db", noise_snr_db)
    seed = int(seed)

    def stream(path: str, split_: str | None, k: int, forever: bool) -> Any:
        ordered = not shuffle and k == 0  # the first stream of a fixed (validation) set
        return audio_dataset(
            path, split=split_, sample_rate=sample_rate, clip_seconds=clip_seconds,
            random_crop=shuffle, batch_size=1, shuffle=not ordered, cache=cache,
            repeat=forever, labels="int", mono=True, seed=seed + k,
            deterministic=True if not shuffle else deterministic).unbatch()

    first = stream(pattern_or_dir, split, 0, repeat)
    partners = [stream(pattern_or_dir, split, k, True) for k in range(1, num_sources)]
    ds = tf.data.Dataset.zip((first, *partners))

    @no_autograph
    def distinct(*items):
        labels = tf.stack([tf.cast(lab, tf.int64) for _, lab in items])
        same = tf.equal(labels[:, None], labels[None, :])
        return tf.equal(tf.reduce_sum(tf.cast(same, tf.int32)), num_sources)

    ds = ds.filter(distinct)

    @no_autograph
    def make(items, noise_item=None):
        src = tf.stack([a for a, _ in items])  # (n, time), mono
        gains = tf.random.uniform([num_sources], -level_db, level_db, seed=seed + 7)
        if noise_item is None:
            return mix_sources(src, gains, peak=peak)
        nz = noise_item[0]
        snr = tf.random.uniform([], snr_lo, snr_hi, seed=seed + 8)
        use = tf.random.uniform([], seed=seed + 9) < noise_p
        mix_n, src_n = mix_sources(src, gains, nz, snr, peak)
        mix_c, src_c = mix_sources(src, gains, peak=peak)
        return tf.cond(use, lambda: (mix_n, src_n), lambda: (mix_c, src_c))

    order = True if deterministic else None
    if noise is not None:
        ds = tf.data.Dataset.zip((ds, stream(noise, noise_split, 100, True)))
        ds = ds.map(lambda items, nz: make(items, nz), num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=order)
    else:
        ds = ds.map(lambda *items: make(items), num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=order)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def mixture_set(pattern_or_dir: str, split: str | None = "test", num_sources: int = 2,
                sample_rate: int | None = None, clip_seconds: float = 3.0,
                level_db: float = 5.0, peak: float = 0.9, seed: int = 0,
                max_mixtures: int | None = None) -> dict:
    """A fixed, reproducible evaluation set of mixtures (NumPy).

    Every clip of ``split`` (in record order, cropped from its start to
    ``clip_seconds``, shorter clips zero-padded) is the first source of one mixture;
    its partners are drawn with ``numpy.random.default_rng(seed)`` among clips of other
    labels, and the relative levels uniformly in ``+- level_db`` dB.

    Args:
        pattern_or_dir, split, num_sources, sample_rate, clip_seconds, level_db, peak:
            as for :func:`mixture_dataset`.
        seed: partners and levels.
        max_mixtures: keep the first this many mixtures (``None``: one per clip).

    Returns:
        ``{"mixture": (n, time), "sources": (n, num_sources, time), "index": (n,
        num_sources) clip indices in record order, "labels": their labels, "gains_db":
        (n, num_sources) (the first 0), "sample_rate": int}``.

    Raises:
        ValueError: fewer than ``num_sources`` labels in the split.
    """
    import tensorflow as tf

    from tfaudio.data.reader import audio_dataset

    num_sources, level_db, peak, _ = _check(num_sources, level_db, peak, 0.0)
    clip_seconds = positive_float("clip_seconds", clip_seconds)
    ds = audio_dataset(pattern_or_dir, split=split, sample_rate=sample_rate,
                       clip_seconds=clip_seconds, random_crop=False, batch_size=64,
                       shuffle=False, cache=False, labels="int", mono=True,
                       deterministic=True)
    audio, labels = [], []
    for a, lab in ds:
        audio.append(a.numpy())
        labels.append(lab.numpy())
    if not audio:
        raise ValueError(f"split {split!r} of {pattern_or_dir} has no clips")
    audio = np.concatenate(audio)
    labels = np.concatenate(labels)
    distinct = np.unique(labels)
    if len(distinct) < num_sources:
        raise ValueError(f"split {split!r} of {pattern_or_dir} has {len(distinct)} labels; "
                         f"num_sources={num_sources} needs clips of that many labels")
    rng = np.random.default_rng([0x5E9A, int(seed)])
    n = len(audio) if max_mixtures is None else min(len(audio),
                                                     positive_int("max_mixtures", max_mixtures))
    index = np.zeros((n, num_sources), np.int64)
    gains = np.zeros((n, num_sources), np.float32)
    mixtures, sources = [], []
    for i in range(n):
        chosen = [i]
        for _ in range(1, num_sources):
            taken = labels[chosen]
            pool = np.flatnonzero(~np.isin(labels, taken))
            chosen.append(int(rng.choice(pool)))
        index[i] = chosen
        gains[i, 1:] = rng.uniform(-level_db, level_db, num_sources - 1)
    for i in range(0, n, 256):
        m, s = tf.vectorized_map(
            lambda args: mix_sources(args[0], args[1], peak=peak),
            (tf.constant(audio[index[i:i + 256]]), tf.constant(gains[i:i + 256])))
        mixtures.append(m.numpy())
        sources.append(s.numpy())
    sr = sample_rate
    if sr is None:
        from tfaudio.data.manifest import read_manifest

        sr = int(read_manifest(pattern_or_dir).get("sample_rate"))
    return {"mixture": np.concatenate(mixtures), "sources": np.concatenate(sources),
            "index": index, "labels": labels[index], "gains_db": gains,
            "sample_rate": int(sr)}
