"""Built-in synthetic sound classes, written as a labelled TFRecord dataset.

Twelve classes people recognise by ear, each clip drawn with a random pitch, level,
onset/offset inside the clip (short fades) and light background noise:

=============  ==================================================  =====================
class          sound                                               f0 track
=============  ==================================================  =====================
sine           pure tone, 150-2000 Hz                              constant
square         band-limited square wave (odd harmonics)            constant
sawtooth       band-limited sawtooth (all harmonics)               constant
chirp_up       exponential sweep upwards (x2-x8)                   rising
chirp_down     exponential sweep downwards                         falling
white_noise    white noise                                         0 (unvoiced)
pink_noise     1/f noise                                           0
clicks         click train, 4-40 clicks/s                          0
am_tone        tone with 2-16 Hz amplitude modulation              constant
vowel          harmonic stack (f0 90-260 Hz) shaped by formants    constant + vibrato
bursts         silence with 1-4 short noise bursts                 0
pitched        harmonic tone whose f0 glides and wobbles           varying, per frame
=============  ==================================================  =====================

Besides these, ``tone_<hz>`` (e.g. ``tone_440``, ``tone_220.5``) names a class of pure
tones at that fixed pitch: random phase and level (-12 to -3 dBFS), sounding from a
random onset in the first quarter of the clip (5 ms fade-in) to the end (5 ms
fade-out), over light background noise (45-60 dB below the tone). Such classes differ
only in pitch: a generative model conditioned on them (WaveNet) can be checked by the
pitch it produces, and the onsets (silence, then the class's tone) are where it must
use the class.

Every clip stores its f0 per 10 ms frame (``pitch/f0_hz``, 0 where there is no pitched
sound), so the same data serves a pitch model. Generation is deterministic for a seed:
clip ``i`` of class ``c`` depends only on ``(seed, c, i)``.

Example:
    >>> audio, f0 = synth_clip("chirp_up", 0, sample_rate=16000, seconds=1.0)
    >>> audio.shape, f0.shape
    ((16000,), (101,))
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator

import numpy as np

from tfaudio._checks import positive_float, positive_int
from tfaudio.data.writer import Clip, DatasetWriter

CLASSES = ("sine", "square", "sawtooth", "chirp_up", "chirp_down", "white_noise",
           "pink_noise", "clicks", "am_tone", "vowel", "bursts", "pitched")
F0_HOP_SECONDS = 0.01
TONE_PATTERN = re.compile(r"tone_(\d+(?:\.\d+)?)")

_VOWELS = {  # formant centre frequencies (Hz) and bandwidths, after Peterson & Barney
    "a": ((730, 1090, 2440), (90, 110, 160)),
    "i": ((270, 2290, 3010), (60, 100, 170)),
    "u": ((300, 870, 2240), (60, 90, 150)),
    "e": ((530, 1840, 2480), (70, 100, 160)),
    "o": ((570, 840, 2410), (80, 90, 150)),
}


def tone_frequency(name: str) -> float | None:
    """The pitch in Hz of a ``tone_<hz>`` class name (``tone_440`` -> 440.0), else None."""
    match = TONE_PATTERN.fullmatch(name) if isinstance(name, str) else None
    return float(match.group(1)) if match else None


def is_synth_class(name: str) -> bool:
    """Whether ``name`` is a synthetic class: one of :data:`CLASSES` or ``tone_<hz>``
    with ``hz > 0``."""
    if name in CLASSES:
        return True
    hz = tone_frequency(name)
    return hz is not None and hz > 0


def _tone(name: str, n: int, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-pitch tone clip (see the module doc) and its per-sample envelope."""
    hz = tone_frequency(name)
    if not hz or hz >= sr / 2:
        raise ValueError(f"class {name!r}: the tone must be above 0 and below Nyquist "
                         f"({sr / 2:g} Hz at sample_rate={sr})")
    onset = int(rng.uniform(0.0, 0.25) * n)
    fade = max(1, min(int(0.005 * sr), (n - onset) // 2))
    env = np.zeros(n)
    env[onset:] = 1.0
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    env[onset:onset + fade] = ramp
    env[n - fade:] = np.minimum(env[n - fade:], ramp[::-1])
    level = 10 ** (rng.uniform(-12, -3) / 20)
    phase = rng.uniform(0, 2 * np.pi)
    x = level * env * np.sin(2 * np.pi * hz * np.arange(n) / sr + phase)
    x = x + rng.standard_normal(n) * level * 10 ** (-rng.uniform(45, 60) / 20)
    return x, env


def _harmonic(phase: np.ndarray, f0: np.ndarray, sr: int, weights) -> np.ndarray:
    """Sum of harmonics k (weight ``weights(k)``), each silenced above Nyquist."""
    out = np.zeros_like(phase)
    nyq = sr / 2
    for k in range(1, int(nyq / max(float(f0.min()), 20.0)) + 1):
        w = weights(k)
        if w == 0.0:
            continue
        out += w * np.sin(k * phase) * (k * f0 < nyq * 0.95)
    return out


def _phase(f0: np.ndarray, sr: int) -> np.ndarray:
    return 2 * np.pi * np.cumsum(f0) / sr


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def _envelope(n: int, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Active region with 5 ms fades: onset in the first 20%, offset in the last 20%."""
    a = int(rng.uniform(0.0, 0.2) * n)
    b = n - int(rng.uniform(0.0, 0.2) * n)
    env = np.zeros(n)
    env[a:b] = 1.0
    fade = min(int(0.005 * sr), (b - a) // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
        env[a:a + fade] = ramp
        env[b - fade:b] = ramp[::-1]
    return env, a, b


def _normalise(x: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(x))
    return x / peak if peak > 0 else x


def synth_clip(name: str, index: int, sample_rate: int = 16000, seconds: float = 1.0,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic clip and its f0 track.

    Args:
        name: one of :data:`CLASSES`, or ``tone_<hz>`` (a pure tone at that pitch).
        index: clip number within the class.
        sample_rate: Hz.
        seconds: clip length.
        seed: dataset seed.

    Returns:
        ``(audio, f0)``: float32 ``(time,)`` peaking at -6 to -30 dBFS (plus noise), and
        float32 f0 in Hz per 10 ms frame (``1 + time // hop`` frames, centred), 0 where
        unvoiced.
    """
    if not is_synth_class(name):
        raise ValueError(f"class {name!r} is not a synthetic class; choose from {list(CLASSES)} "
                         "or tone_<hz> (e.g. tone_440)")
    sr = positive_int("sample_rate", sample_rate)
    n = max(1, int(round(positive_float("seconds", seconds) * sr)))
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), index])
    hop = int(round(F0_HOP_SECONDS * sr))
    centres = np.minimum(np.arange(1 + n // hop) * hop, n - 1)
    if name not in CLASSES:  # tone_<hz>
        x, env = _tone(name, n, sr, rng)
        track = np.where(env[centres] > 0.5, tone_frequency(name), 0.0)
        return x.astype(np.float32), track.astype(np.float32)
    t = np.arange(n) / sr
    env, a, b = _envelope(n, sr, rng)
    nyq = sr / 2
    top = min(2000.0, 0.4 * nyq)
    f0 = np.zeros(n)
    if name in ("sine", "square", "sawtooth", "am_tone"):
        lo = 150.0 if name == "sine" else 80.0
        f0[:] = np.exp(rng.uniform(np.log(lo), np.log(top if name in ("sine", "am_tone") else top / 3)))
        ph = _phase(f0, sr)
        if name == "sine":
            x = np.sin(ph)
        elif name == "square":
            x = _harmonic(ph, f0, sr, lambda k: (4 / np.pi) / k if k % 2 else 0.0)
        elif name == "sawtooth":
            x = _harmonic(ph, f0, sr, lambda k: (2 / np.pi) * (-1) ** (k + 1) / k)
        else:
            rate, depth = rng.uniform(2, 16), rng.uniform(0.5, 1.0)
            x = np.sin(ph) * (1 - depth * 0.5 * (1 + np.cos(2 * np.pi * rate * t)))
    elif name in ("chirp_up", "chirp_down"):
        start = np.exp(rng.uniform(np.log(100.0), np.log(top / 8)))
        ratio = rng.uniform(2.0, 8.0)
        span = max(b - a, 1) / sr
        tt = np.clip(t - a / sr, 0, span) / span
        f0 = start * ratio ** (tt if name == "chirp_up" else 1 - tt)
        x = np.sin(_phase(f0, sr))
    elif name == "white_noise":
        x = rng.standard_normal(n)
    elif name == "pink_noise":
        x = _pink(n, rng)
    elif name == "clicks":
        rate = rng.uniform(4, 40)
        x = np.zeros(n)
        period = int(sr / rate)
        width = max(1, int(0.001 * sr))
        click = np.hanning(width + 2)[1:-1] * rng.choice([-1, 1])
        for start in range(a + int(rng.uniform(0, period)), b - width, period):
            x[start:start + width] += click
    elif name == "vowel":
        base = np.exp(rng.uniform(np.log(90.0), np.log(260.0)))
        f0 = base * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 6) * t))
        formants, bands = _VOWELS[list(_VOWELS)[int(rng.integers(len(_VOWELS)))]]

        def weight(k: int) -> float:
            f = k * base
            return sum(np.exp(-0.5 * ((f - fc) / bw) ** 2) * 0.7 ** i
                       for i, (fc, bw) in enumerate(zip(formants, bands, strict=True))) + 0.01

        x = _harmonic(_phase(f0, sr), f0, sr, weight)
    elif name == "bursts":
        x = np.zeros(n)
        for _ in range(int(rng.integers(1, 5))):
            w = int(rng.uniform(0.01, 0.08) * sr)
            s = int(rng.uniform(a, max(a + 1, b - w)))
            x[s:s + w] += rng.standard_normal(len(x[s:s + w])) * np.hanning(len(x[s:s + w]))
    else:  # pitched: glide plus vibrato, 2-6 harmonics
        start = np.exp(rng.uniform(np.log(80.0), np.log(top / 4)))
        end = start * 2 ** rng.uniform(-1, 1)
        vib = 1 + rng.uniform(0, 0.03) * np.sin(2 * np.pi * rng.uniform(3, 7) * t)
        f0 = np.exp(np.linspace(np.log(start), np.log(end), n)) * vib
        nh = int(rng.integers(2, 7))
        x = _harmonic(_phase(f0, sr), f0, sr, lambda k: 0.8 ** (k - 1) if k <= nh else 0.0)
    level = 10 ** (rng.uniform(-30, -6) / 20)
    x = _normalise(x * env) * level
    x = x + rng.standard_normal(n) * level * 10 ** (-rng.uniform(30, 45) / 20)
    voiced = name not in ("white_noise", "pink_noise", "clicks", "bursts")
    track = np.where(voiced & (env[centres] > 0.5), f0[centres], 0.0)
    return x.astype(np.float32), track.astype(np.float32)


def synth_clips(classes: Iterable[str] = CLASSES, clips_per_class: int = 100,
                sample_rate: int = 16000, seconds: float = 1.0, seed: int = 0) -> Iterator[Clip]:
    """:class:`Clip` objects (id ``"<class>/<index>"``, label = position in ``classes``)."""
    classes = list(classes)
    for i in range(positive_int("clips_per_class", clips_per_class)):
        for label, name in enumerate(classes):
            audio, f0 = synth_clip(name, i, sample_rate, seconds, seed)
            yield Clip(id=f"{name}/{i:05d}", audio=audio[:, None], labels=[label], f0_hz=f0,
                       f0_hop_seconds=F0_HOP_SECONDS)


def synth_dataset(out_dir: str, classes: Iterable[str] | None = None,
                  clips_per_class: int = 100, sample_rate: int = 16000, seconds: float = 1.0,
                  seed: int = 0, splits: str | dict | None = "train=0.8,val=0.1,test=0.1",
                  encoding: str = "pcm16", num_shards: int | None = None,
                  overwrite: bool = False, progress: bool = False) -> dict:
    """Writes the synthetic dataset (shards per split + ``dataset.json``).

    Args:
        out_dir: dataset folder.
        classes: subset of :data:`CLASSES` (default all) and/or ``tone_<hz>`` classes, in
            label order.
        clips_per_class: clips per class.
        sample_rate: Hz.
        seconds: clip length.
        seed: generation and split seed.
        splits: split fractions (see :func:`tfaudio.data.manifest.parse_split_spec`).
        encoding: record encoding.
        num_shards: shards per split (default: 100 MB shards).
        overwrite: replace a dataset already in ``out_dir``.
        progress: tqdm progress bar.

    Returns:
        The manifest dict.
    """
    from tqdm import tqdm

    classes = list(CLASSES if classes is None else classes)
    unknown = [c for c in classes if not is_synth_class(c)]
    if unknown or not classes:
        raise ValueError(f"classes {unknown or classes} are not synthetic classes; choose "
                         f"from {list(CLASSES)} or tone_<hz> (e.g. tone_440)")
    high = [c for c in classes if (tone_frequency(c) or 0) >= sample_rate / 2]
    if high:
        raise ValueError(f"classes {high}: tones at or above Nyquist ({sample_rate / 2:g} Hz "
                         f"at sample_rate={sample_rate})")
    total = len(classes) * clips_per_class
    with DatasetWriter(out_dir, sample_rate, vocabulary=classes, encoding=encoding,
                       splits=splits, seed=seed, num_shards=num_shards, num_channels=1,
                       overwrite=overwrite,
                       extra={"source": "tfaudio synth", "generator": {
                           "classes": classes, "clips_per_class": clips_per_class,
                           "seconds": seconds, "seed": seed,
                           "f0_hop_seconds": F0_HOP_SECONDS}}) as writer:
        for clip in tqdm(synth_clips(classes, clips_per_class, sample_rate, seconds, seed),
                         total=total, unit="clip", desc="synth", disable=not progress):
            writer.add(clip)
        return writer.close(inputs=total)
