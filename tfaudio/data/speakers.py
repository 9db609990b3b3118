"""Synthetic speakers: source-filter voices speaking random vowel sequences, for speaker
verification without downloads.

Every speaker is a set of voice parameters drawn from its seed (:func:`speaker_voice`):

=====================  ==================================================================
source                 KLGLOTT88 glottal flow derivative (Klatt and Klatt, "Analysis,
                       synthesis, and perception of voice quality variations among female
                       and male talkers", JASA 1990): ``(2u - 3u^2)`` over the open phase
                       ``u = phase / OQ < 1``, with the speaker's open quotient OQ
f0                     per-speaker mean (two clusters, log-normal around 115 and 205 Hz
                       with a 13 % spread: most speakers have another within a
                       semitone, so pitch alone does not tell them apart) and range; per
                       utterance a phrase declination, accents and a slow drift
jitter / shimmer       per-cycle period and amplitude perturbation (0.3-1.5 %, 2-8 %)
breathiness            aspiration noise pulsed by the glottal opening (-35 to -12 dB)
spectral tilt          an extra 0 to -6 dB/octave above 300 Hz
vocal tract            five formant resonators (Klatt's digital resonator) per vowel, all
                       scaled by the speaker's vocal-tract length (``1 / vtl``), plus a
                       per-speaker offset of every vowel's formants (sd 6 %) and of the
                       bandwidths (x0.75-1.35)
nasals / fricatives    nasal murmur with a speaker-specific anti-resonance (900-2000 Hz);
                       'sh'- and 's'-like noise through broad resonances
prosody                syllables of (nasal or fricative onset +) vowel, phrases of 2-7
                       syllables and pauses; the speaker's syllable rate
=====================  ==================================================================

Each utterance adds variation that is not the speaker: f0 offset (+-1.5 semitones),
formant jitter (sd 3 %), loudness (RMS -26 to -16 dBFS), a random channel (tilt +-2
dB/octave, one broad peak or notch of +-5 dB) and white noise at 15-40 dB SNR.

Synthesis is vectorised over utterances: the excitation is made in the time domain
(KLGLOTT88 pulses, jitter, shimmer, noise), then filtered frame by frame in the STFT
domain (32 ms sqrt-Hann windows, 50 % overlap; TensorFlow's float32 FFT, 2-4x NumPy's
here) by the magnitude of the vocal tract of each frame (zero-phase; transitions smoothed
over three frames), and overlap-added. Utterance ``i`` of speaker ``k`` depends only on
``(seed, k, i)`` and its length: bit-identical whatever it is generated with. About 5 ms
of CPU per 3-s utterance (4000 in 21 s of CPU on a loaded 2-core machine).

Example:
    >>> audio, f0 = synth_utterances([0, 0, 7], [0, 1, 0], seconds=1.0)
    >>> audio.shape, f0.shape
    ((3, 16000), (3, 101))
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tfaudio._checks import non_negative_int, number_in, positive_float, positive_int
from tfaudio.data.decode import write_wav

F0_HOP_SECONDS = 0.01
_SEED_TAG = 0x5EA6E4  # separates these streams from other seeded generators

# Adult male vowel formants F1-F4 (Hz), after Peterson and Barney (1952); F5 is 4500 Hz.
VOWELS = {
    "i": (270, 2290, 3010, 3500),
    "ih": (390, 1990, 2550, 3500),
    "eh": (530, 1840, 2480, 3500),
    "ae": (660, 1720, 2410, 3500),
    "aa": (730, 1090, 2440, 3500),
    "ao": (570, 840, 2410, 3300),
    "u": (300, 870, 2240, 3300),
    "ah": (640, 1190, 2390, 3400),
}
_F5 = 4500.0
_BANDWIDTHS = (70.0, 90.0, 140.0, 200.0, 250.0)
_NASAL = ((250, 1100, 2300, 3400), (60.0, 200.0, 150.0, 200.0))
_FRICATIVES = ((3000.0, 1200.0), (6000.0, 2000.0))  # 'sh', 's': centre, bandwidth (Hz)
_N_VOWELS = len(VOWELS)
_NASAL_UNIT = _N_VOWELS
_FRIC_UNITS = (_N_VOWELS + 1, _N_VOWELS + 2)
_SILENCE_UNIT = _N_VOWELS + 3
_N_UNITS = _N_VOWELS + 4
_MAX_CYCLE_RATE = 560.0  # f0 is clipped to 500 Hz; jitter adds a few per cent


@dataclass(frozen=True)
class Voice:
    """The voice parameters of one synthetic speaker (see :mod:`tfaudio.data.speakers`).

    Attributes:
        f0_hz: mean f0.
        f0_range: scale of the f0 movements in semitones (declination and accents).
        jitter: per-cycle period perturbation (std, fraction of the period).
        shimmer: per-cycle amplitude perturbation (std, fraction).
        open_quotient: open phase as a fraction of the period.
        breathiness: aspiration noise amplitude relative to the voiced excitation.
        tilt_db: extra spectral tilt in dB per octave above 300 Hz (<= 0).
        vtl: vocal-tract length relative to the adult male average (formants scale by
            ``1 / vtl``).
        formant_offsets: ``(vowels, 5)`` multiplicative offsets of every vowel's formants.
        bandwidth_scale: multiplies every formant bandwidth.
        nasal_zero_hz: centre of the nasal anti-resonance.
        syllable_seconds: mean vowel duration.
    """

    f0_hz: float
    f0_range: float
    jitter: float
    shimmer: float
    open_quotient: float
    breathiness: float
    tilt_db: float
    vtl: float
    formant_offsets: tuple
    bandwidth_scale: float
    nasal_zero_hz: float
    syllable_seconds: float


def speaker_voice(speaker: int, seed: int = 0) -> Voice:
    """The voice of speaker ``speaker`` for dataset seed ``seed`` (deterministic).

    Half the speakers (by a coin flip, not by index) fall in a low cluster (f0 around
    115 Hz, longer vocal tract), half in a high one (around 205 Hz, about 17 % shorter),
    with a log-normal spread of 13 % in f0 and 5 % in vocal-tract length within each,
    so many speakers share nearly the same mean pitch.
    """
    speaker = non_negative_int("speaker", speaker)
    rng = np.random.default_rng([_SEED_TAG, int(seed), speaker, 1])
    high = rng.random() < 0.5
    f0 = (205.0 if high else 115.0) * math.exp(rng.normal(0.0, 0.13))
    vtl = (0.85 if high else 1.0) * math.exp(rng.normal(0.0, 0.05))
    return Voice(
        f0_hz=float(np.clip(f0, 70.0, 320.0)),
        f0_range=float(rng.uniform(1.5, 4.0)),
        jitter=float(rng.uniform(0.003, 0.015)),
        shimmer=float(rng.uniform(0.02, 0.08)),
        open_quotient=float(rng.uniform(0.4, 0.75)),
        breathiness=float(10 ** (rng.uniform(-35.0, -12.0) / 20.0)),
        tilt_db=float(rng.uniform(-6.0, 0.0)),
        vtl=float(vtl),
        formant_offsets=tuple(tuple(float(v) for v in row)
                              for row in np.exp(rng.normal(0.0, 0.06, (_N_VOWELS, 5)))),
        bandwidth_scale=float(rng.uniform(0.75, 1.35)),
        nasal_zero_hz=float(rng.uniform(900.0, 2000.0)),
        syllable_seconds=float(rng.uniform(0.11, 0.22)),
    )


# --------------------------------------------------------------------------- spectra
def _resonance_log(freqs_hz: np.ndarray, centre: np.ndarray, bandwidth: np.ndarray, sr: int
                   ) -> np.ndarray:
    """log |H| of a cascade of Klatt's two-pole digital resonators (each with unity gain at
    0 Hz) at ``freqs_hz``.

    ``centre``, ``bandwidth``: ``(..., resonators)`` in Hz; returns ``(..., bins)``, the
    sum over the last axis. Resonators at or above 0.95 Nyquist are left out.
    ``|1 - 2r cos(w - t) + r^2| |1 - 2r cos(w + t) + r^2| = (1 + r^2 - 2r cos t cos w)^2 -
    (2r sin t sin w)^2`` avoids a cosine per bin.
    """
    used = centre < 0.95 * sr / 2
    r = np.where(used, np.exp(-math.pi * bandwidth / sr), 0.0)[..., None]
    theta = (2 * math.pi * centre / sr)[..., None]
    w = 2 * math.pi * freqs_hz / sr
    a = 1.0 + r * r - 2.0 * r * np.cos(theta) * np.cos(w)
    c = 2.0 * r * np.sin(theta) * np.sin(w)
    den = np.prod(a * a - c * c, axis=-2)
    gain = np.prod(1.0 - 2.0 * r * np.cos(theta) + r * r, axis=-2)  # r = 0: a factor 1
    return np.log(gain) - 0.5 * np.log(den)


def _unit_tables(voices: Sequence[Voice], rngs: Sequence[np.random.Generator],
                 freqs: np.ndarray, sr: int) -> np.ndarray:
    """Log-magnitude envelopes ``(utterances, units, bins)`` of every unit (vowels, nasal,
    two fricatives, silence), with the utterance's formant jitter and channel."""
    n = len(voices)
    nyq = sr / 2
    base = np.array([list(f) + [_F5] for f in VOWELS.values()])  # (vowels, 5)
    scale = np.array([1.0 / v.vtl for v in voices])[:, None, None]
    offsets = np.array([v.formant_offsets for v in voices])
    jitter = np.exp(np.stack([g.normal(0.0, 0.03, (_N_VOWELS, 5)) for g in rngs]))
    centres = np.minimum(base[None] * scale * offsets * jitter, 0.97 * nyq)
    bw_scale = np.array([v.bandwidth_scale for v in voices])[:, None, None]
    bws = np.broadcast_to(np.array(_BANDWIDTHS) * bw_scale, centres.shape)
    table = np.zeros((n, _N_UNITS, freqs.size))
    table[:, :_N_VOWELS] = _resonance_log(freqs, centres, bws, sr)
    # Nasal murmur: low F1, weak broad F2, with the speaker's anti-resonance.
    nasal_c = np.array(_NASAL[0], float)[None] * scale[:, :, 0]
    nasal_b = np.array(_NASAL[1])[None] * bw_scale[:, :, 0]
    zero_c = np.array([v.nasal_zero_hz for v in voices])
    zero_b = 120.0 * bw_scale[:, :, 0]
    table[:, _NASAL_UNIT] = (_resonance_log(freqs, nasal_c, nasal_b, sr)
                             - _resonance_log(freqs, zero_c[:, None], zero_b, sr)
                             - math.log(2.0))
    # Voiced units get the speaker's tilt above 300 Hz.
    octaves = np.log2(np.maximum(freqs, 300.0) / 300.0)
    tilt = np.array([v.tilt_db for v in voices])[:, None] * octaves[None] * (math.log(10) / 20)
    table[:, :_NASAL_UNIT + 1] += tilt[:, None]
    # Fricatives: broad resonances above a 1.5 kHz high-pass.
    highpass = 0.5 * np.log(freqs ** 2 / (freqs ** 2 + 1500.0 ** 2) + 1e-12)
    for unit, (centre, bw) in zip(_FRIC_UNITS, _FRICATIVES, strict=True):
        c = np.minimum(centre * scale[:, 0, 0], 0.8 * nyq)
        table[:, unit] = _resonance_log(freqs, c[:, None], np.full((n, 1), bw), sr) + highpass
    table[:, _SILENCE_UNIT] = -12.0
    # The utterance's channel: a tilt around 1 kHz and one broad peak or notch.
    ch_tilt = np.array([g.uniform(-2.0, 2.0) for g in rngs])
    ch_gain = np.array([g.uniform(-5.0, 5.0) for g in rngs])
    ch_centre = np.array([math.exp(g.uniform(math.log(300.0), math.log(4000.0)))
                          for g in rngs])
    oct1k = np.log2(np.maximum(freqs, 50.0) / 1000.0)
    peak = np.exp(-0.5 * (np.log2(np.maximum(freqs, 50.0)[None] / ch_centre[:, None]) / 0.5) ** 2)
    channel = (ch_tilt[:, None] * oct1k[None] + ch_gain[:, None] * peak) * (math.log(10) / 20)
    return table + channel[:, None]


# --------------------------------------------------------------------------- prosody
def _controls(voice: Voice, rng: np.random.Generator, frames: int, hop_s: float):
    """Per-frame unit, voicing gain, noise gain and f0 (Hz) of one utterance.

    Syllables are [onset] + vowel: a nasal onset (30 %, 40-90 ms), a fricative onset
    (20 %, 50-120 ms) or none, then a vowel of the speaker's mean length (log-normal,
    30 %). Phrases of 2-7 syllables end in a pause of 80-350 ms. The f0 contour in
    semitones: a declination over each phrase, a Gaussian accent on 35 % of the vowels,
    a slow drift and the utterance's offset. Draws have fixed sizes (more syllables than
    fit), so the same generator state always gives the same utterance.
    """
    s = int(frames * hop_s * 10) + 8  # syllables drawn: about 2.5x what fits
    lead = int(rng.integers(0, max(1, int(0.25 / hop_s))))
    onset = rng.random(s)
    nasal_len = np.maximum(1, (rng.uniform(0.04, 0.09, s) / hop_s).astype(np.int64))
    fric_len = np.maximum(1, (rng.uniform(0.05, 0.12, s) / hop_s).astype(np.int64))
    fric_unit = np.array(_FRIC_UNITS)[rng.integers(0, 2, s)]
    fric_gain = rng.uniform(0.15, 0.4, s)
    vowel_len = np.maximum(2, (voice.syllable_seconds * np.exp(rng.normal(0.0, 0.3, s))
                               / hop_s).astype(np.int64))
    vowel = rng.integers(0, _N_VOWELS, s)
    accent = rng.random(s) < 0.35
    accent_amp = rng.uniform(0.6, 1.2, s) * voice.f0_range
    phrase_of = np.repeat(np.arange(s), rng.integers(2, 8, s))[:s]
    decline = rng.uniform(0.5, 1.0, s) * voice.f0_range
    pause_len = (rng.uniform(0.08, 0.35, s) / hop_s).astype(np.int64)
    drift = np.convolve(rng.normal(0.0, 1.0, frames + 20), np.hanning(21), "same")[10:-10]
    offset = rng.uniform(-1.5, 1.5)

    nasal = onset < 0.3
    fric = (onset >= 0.3) & (onset < 0.5)
    last = np.r_[phrase_of[1:] != phrase_of[:-1], True]
    # Segments per syllable: onset, vowel, pause (zero lengths where absent).
    seg_len = np.stack([np.where(nasal, nasal_len, np.where(fric, fric_len, 0)), vowel_len,
                        np.where(last, pause_len, 0)], axis=1).ravel()
    seg_unit = np.stack([np.where(nasal, _NASAL_UNIT, fric_unit), vowel,
                         np.full(s, _SILENCE_UNIT)], axis=1).ravel()
    seg_voiced = np.stack([np.where(nasal, 0.5, 0.0), np.ones(s), np.zeros(s)], 1).ravel()
    seg_noise = np.stack([np.where(fric, fric_gain, 0.0), np.zeros(s), np.zeros(s)], 1).ravel()
    seg_phrase = np.stack([phrase_of, phrase_of, np.full(s, -1)], axis=1).ravel()
    seg_len = np.r_[lead, seg_len]
    seg_start = np.cumsum(seg_len) - seg_len

    def per_frame(values, fill):
        v = np.repeat(np.r_[fill, values], seg_len)[:frames]
        return np.pad(v, (0, frames - v.size), constant_values=fill)

    unit = per_frame(seg_unit, _SILENCE_UNIT)
    voiced = per_frame(seg_voiced, 0.0)
    noise = per_frame(seg_noise, 0.0)
    phrase = per_frame(seg_phrase, -1)
    # Declination: d / 2 -> -d / 2 across each phrase (its onsets and vowels).
    idx = np.arange(frames)
    p_start = np.full(s, frames)
    p_end = np.zeros(s, np.int64)
    starts, ends = seg_start[1:], seg_start[1:] + seg_len[1:]
    np.minimum.at(p_start, seg_phrase[seg_phrase >= 0], starts[seg_phrase >= 0])
    np.maximum.at(p_end, seg_phrase[seg_phrase >= 0], ends[seg_phrase >= 0])
    in_phrase = phrase >= 0
    pid = phrase[in_phrase]
    pos = (idx[in_phrase] - p_start[pid]) / np.maximum(p_end[pid] - p_start[pid] - 1, 1)
    semitones = np.zeros(frames)
    semitones[in_phrase] = decline[pid] * (0.5 - pos)
    # Accents: a Gaussian bump centred on the vowel, width 0.6 of its length.
    v_start = starts[1::3]
    on = accent & (v_start < frames)
    centre = v_start[on] + vowel_len[on] / 2
    width = 0.6 * vowel_len[on]
    semitones += (accent_amp[on, None] * np.exp(-0.5 * ((idx[None] - centre[:, None])
                                                        / width[:, None]) ** 2)).sum(axis=0)
    # Slow drift of 0.3 semitones and the utterance's offset.
    semitones += drift * (0.3 / max(float(np.std(drift)), 1e-9)) + offset
    f0 = np.clip(voice.f0_hz * 2.0 ** (semitones / 12.0), 50.0, 500.0)
    return unit, voiced, noise, f0


# --------------------------------------------------------------------------- synthesis
def _stft_size(sr: int) -> int:
    return 1 << max(int(round(0.032 * sr)) - 1, 1).bit_length()


def _rows(arrays: Sequence[np.ndarray], width: int, fill=0) -> np.ndarray:
    """The 1-D ``arrays`` as rows of one array, each padded at the end to ``width`` with
    ``fill``, or with its last value for ``fill="edge"``."""
    out = np.zeros((len(arrays), width), dtype=arrays[0].dtype)
    for r, a in enumerate(arrays):
        out[r, :a.size] = a
        out[r, a.size:] = a[-1] if fill == "edge" else fill
    return out


def _white(rngs: Sequence[np.random.Generator], ns: Sequence[int], n: int) -> np.ndarray:
    """Unit-variance white noise ``(batch, n)`` float32: ``ns[r]`` draws from ``rngs[r]``,
    then zeros (uniform: three times faster to draw than normal, and Gaussian enough
    once filtered)."""
    out = _rows([g.random(m, dtype=np.float32) for g, m in zip(rngs, ns, strict=True)], n,
                np.float32(0.5))
    out -= 0.5
    out *= np.float32(math.sqrt(12.0))
    return out


def _filter_frames(frames: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """``irfft(rfft(frames) * gains)`` over the last axis, float32. TensorFlow's FFT
    (float32) is 2-4x faster here than NumPy's (float64, with a slow ``irfft``)."""
    import tensorflow as tf

    spec = tf.signal.rfft(tf.constant(frames)) * tf.cast(tf.constant(gains), tf.complex64)
    return tf.signal.irfft(spec, fft_length=[frames.shape[-1]]).numpy()


def _per_cycle(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``values[r, k[r, t]]`` for non-decreasing cycle indices ``k`` (per row): a repeat
    of each cycle's value by its sample count, 3-4x faster than a gather."""
    out = np.empty(k.shape, values.dtype)
    for r in range(k.shape[0]):
        out[r] = np.repeat(values[r], np.bincount(k[r], minlength=values.shape[1]))
    return out


def _ramps(a: np.ndarray, hop: int) -> np.ndarray:
    """Linear interpolation of frame values ``(batch, frames)`` (frame ``f`` at sample
    ``f * hop``) to samples ``(batch, frames * hop)``, float32."""
    a = a.astype(np.float32)
    nxt = np.concatenate([a[:, 1:], a[:, -1:]], axis=1)
    frac = (np.arange(hop, dtype=np.float32) / hop)[None, None]
    return (a[:, :, None] + (nxt - a)[:, :, None] * frac).reshape(a.shape[0], -1)


def _synth_batch(voices: Sequence[Voice], rngs: Sequence[np.random.Generator],
                 ns: Sequence[int], sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(audio (batch, max(ns)) float32, f0 (batch, frames), voicing (batch, frames))``,
    the controls at the STFT hop. Row ``r`` has ``ns[r]`` samples (zeros after): every
    draw from ``rngs[r]`` is sized by ``ns[r]`` alone, and all the processing is per row,
    so an utterance does not depend on the others in its batch."""
    b = len(voices)
    n = max(ns)
    n_fft = _stft_size(sr)
    hop = n_fft // 2
    frames = n // hop + 2
    controls = [_controls(v, g, m // hop + 2, hop / sr)
                for v, g, m in zip(voices, rngs, ns, strict=True)]
    # Padding frames repeat a row's last frame (so its last frames are smoothed and
    # interpolated as when it is alone); the excitation is cut at the row's end.
    unit, voiced, fric, f0 = (_rows(c, frames, "edge") for c in zip(*controls, strict=True))
    # Excitation: f0 per sample with per-cycle jitter, KLGLOTT88 pulses with shimmer.
    f0_s = _ramps(f0, hop)[:, :n]
    # Enough cycles for f0 <= 500 Hz with jitter.
    counts = [int(np.ceil(_MAX_CYCLE_RATE * m / sr)) + 2 for m in ns]
    cycles = max(counts)
    jit = _rows([g.normal(0.0, 1.0, c).astype(np.float32) for g, c in zip(rngs, counts,
                                                                         strict=True)], cycles)
    shim = _rows([g.normal(0.0, 1.0, c).astype(np.float32) for g, c in zip(rngs, counts,
                                                                          strict=True)], cycles)
    jit *= np.array([v.jitter for v in voices], np.float32)[:, None]
    shim *= np.array([v.shimmer for v in voices], np.float32)[:, None]
    shim += 1.0
    jit += 1.0
    # Phases in cycles, summed in float32: the rounding drifts the phase by ~0.01 cycle
    # over seconds (a slow wander), and the fraction within a cycle stays within 1e-4.
    inc = f0_s / np.float32(sr)
    k0 = np.minimum(np.cumsum(inc, axis=1), cycles - 1).astype(np.int32)
    phase = np.cumsum(inc * _per_cycle(jit, k0), axis=1)
    k = np.minimum(phase, cycles - 1).astype(np.int32)
    oq = np.array([v.open_quotient for v in voices], np.float32)[:, None]
    u = (phase - k) / oq
    open_phase = u < 1.0
    # u (2 - 3u) / sqrt(OQ * 2 / 15): unit RMS over a period whatever OQ.
    pulse = np.where(open_phase, u * (2.0 - 3.0 * u), np.float32(0.0))
    pulse *= _per_cycle(shim, k) / np.sqrt(oq * np.float32(2.0 / 15.0))
    voiced_s = _ramps(voiced, hop)[:, :n]
    breath = np.array([v.breathiness for v in voices], np.float32)[:, None]
    noise_gain = np.where(open_phase, breath, np.float32(0.3) * breath) * voiced_s
    noise_gain += _ramps(fric, hop)[:, :n]
    white = _white(rngs, ns, n)
    mask = np.arange(n)[None] < np.array(ns)[:, None]
    excitation = (voiced_s * pulse + noise_gain * white) * mask  # nothing past a row's end
    # Vocal tract: per-frame magnitude envelopes in the STFT domain, overlap-add.
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    # Envelope of each frame, smoothed over three frames (0.25, 0.5, 0.25) in log.
    table = np.exp(0.25 * _unit_tables(voices, rngs, freqs, sr)).astype(np.float32)
    env = table[np.arange(b)[:, None], np.pad(unit, ((0, 0), (1, 1)), mode="edge")]
    gains = env[:, :-2] * env[:, 2:] * np.square(env[:, 1:-1])  # (b, frames, bins)
    window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft))  # sqrt-Hann
    window = window.astype(np.float32)
    # Frame f spans x[f * hop : f * hop + n_fft], centred on excitation sample f * hop.
    x = np.zeros((b, (frames + 1) * hop), np.float32)
    x[:, hop:hop + n] = excitation
    view = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=1)[:, ::hop][:, :frames]
    y = _filter_frames(view * window, gains)
    y *= window  # sqrt-Hann^2 at 50 % overlap sums to 1
    # Overlap-add: block j of ``hop`` samples = first half of frame j + second half of
    # frame j - 1.
    out = np.zeros((b, frames + 1, hop), np.float32)
    out[:, :frames] += y[:, :, :hop]
    out[:, 1:] += y[:, :, hop:]
    out = out.reshape(b, -1)
    speech = out[:, hop:hop + n] * mask  # the filters ring past a shorter row's end
    # Loudness, channel noise, peak safety.
    level = np.array([10 ** (g.uniform(-26.0, -16.0) / 20.0) for g in rngs])[:, None]
    m = np.array(ns, np.float64)[:, None]
    mean = speech.sum(axis=1, keepdims=True, dtype=np.float64) / m
    power = np.square(speech).sum(axis=1, keepdims=True, dtype=np.float64) / m
    active = np.sqrt(np.maximum(power - mean * mean, 0.0)) + 1e-9
    speech *= (level / active).astype(np.float32)
    snr = np.array([10 ** (-g.uniform(15.0, 40.0) / 20.0) for g in rngs])[:, None]
    speech += _white(rngs, ns, n) * (level * snr).astype(np.float32)
    peak = np.abs(speech).max(axis=1, keepdims=True)
    speech *= np.minimum(1.0, 0.99 / np.maximum(peak, 1e-9)).astype(np.float32)
    return speech, f0, voiced


def synth_utterances(speakers: Sequence[int], utterances: Sequence[int],
                     seconds: float | Sequence[float] = 3.0, sample_rate: int = 16000,
                     seed: int = 0, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Utterance ``utterances[i]`` of speaker ``speakers[i]``, for every ``i``.

    Args:
        speakers: speaker indices (their voices are :func:`speaker_voice`).
        utterances: utterance indices, one per speaker entry.
        seconds: the length of every utterance, or one length per utterance (the output
            is zero-padded to the longest).
        sample_rate: Hz (formants above 0.95 Nyquist are left out).
        seed: dataset seed.
        batch_size: utterances synthesised together (memory ~ 0.2 MB per second of
            audio in the batch).

    Returns:
        ``(audio, f0)``: float32 ``(n, samples)`` and float32 ``(n, frames)`` f0 in Hz
        per 10 ms (``1 + samples // hop`` frames, centred; 0 where unvoiced or past the
        utterance's end).

    Raises:
        ValueError: different lengths of ``speakers`` and ``utterances``, negative
            indices or non-positive lengths.
    """
    speakers = [non_negative_int("speakers", int(s)) for s in speakers]
    utterances = [non_negative_int("utterances", int(u)) for u in utterances]
    if len(speakers) != len(utterances):
        raise ValueError(f"speakers and utterances must have the same length, got "
                         f"{len(speakers)} and {len(utterances)}")
    sr = positive_int("sample_rate", sample_rate)
    if isinstance(seconds, (int, float, np.integer, np.floating)):
        lengths = [positive_float("seconds", seconds)] * len(speakers)
    else:
        lengths = [positive_float("seconds", s) for s in seconds]
        if len(lengths) != len(speakers):
            raise ValueError(f"seconds has {len(lengths)} lengths for {len(speakers)} "
                             "utterances")
    batch_size = positive_int("batch_size", batch_size)
    samples = [max(1, int(round(s * sr))) for s in lengths]
    n_max = max(samples, default=0)
    f0_hop = int(round(F0_HOP_SECONDS * sr))
    audio = np.zeros((len(speakers), n_max), np.float32)
    f0_out = np.zeros((len(speakers), 1 + n_max // f0_hop), np.float32)
    voices: dict[int, Voice] = {}
    hop = _stft_size(sr) // 2
    # Batches of similar lengths (less padding); each utterance is made at its own
    # length from its own generator, whatever it is batched with.
    order = sorted(range(len(speakers)), key=lambda i: samples[i])
    for start in range(0, len(order), batch_size):
        members = order[start:start + batch_size]
        vs = [voices.setdefault(speakers[i], speaker_voice(speakers[i], seed)) for i in members]
        ns = [samples[i] for i in members]
        rngs = [np.random.default_rng([_SEED_TAG, int(seed), speakers[i], 2, utterances[i],
                                       samples[i]]) for i in members]
        x, f0, voiced = _synth_batch(vs, rngs, ns, sr)
        audio[members, :x.shape[1]] = x
        for r, i in enumerate(members):  # f0 per 10 ms from the controls (STFT hop)
            t = np.arange(1 + samples[i] // f0_hop) * f0_hop / hop
            lo = np.minimum(t.astype(int), f0.shape[1] - 1)
            hi = np.minimum(lo + 1, f0.shape[1] - 1)
            w = t - lo
            f0_t = f0[r, lo] * (1 - w) + f0[r, hi] * w
            on = np.maximum(voiced[r, lo], voiced[r, hi]) > 0
            f0_out[i, :len(t)] = np.where(on, f0_t, 0.0)
    return audio, f0_out


# --------------------------------------------------------------------------- dataset
def speaker_name(speaker: int) -> str:
    """``"spk0007"``: the speaker's label text and the first part of its clip ids."""
    return f"spk{speaker:04d}"


def utterance_id(speaker: int, utterance: int) -> str:
    """``"spk0007/00003"``: the clip id in the records; the trial list names
    ``"<id>.wav"``."""
    return f"{speaker_name(speaker)}/{utterance:05d}"


def speaker_trials(speakers: Sequence[int], utterances_per_speaker: int, num_trials: int,
                   seed: int = 0) -> list[tuple[int, str, str]]:
    """A trial list over ``speakers``: exactly ``num_trials // 2`` target trials (two
    different utterances of one speaker) and the rest non-target (two speakers), in a
    random order, without repeated pairs (either order).

    Returns:
        ``[(label, enroll id, test id), ...]`` with label 1 for target trials.

    Raises:
        ValueError: fewer than two speakers or two utterances each, or more trials of a
            kind than distinct pairs exist.
    """
    speakers = sorted({int(s) for s in speakers})
    u = positive_int("utterances_per_speaker", utterances_per_speaker)
    num_trials = positive_int("num_trials", num_trials)
    if len(speakers) < 2 or u < 2:
        raise ValueError(f"trials need >= 2 test speakers with >= 2 utterances each, got "
                         f"{len(speakers)} speakers with {u} utterances")
    n_target = num_trials // 2
    n_non = num_trials - n_target
    max_target = len(speakers) * u * (u - 1) // 2
    max_non = len(speakers) * (len(speakers) - 1) // 2 * u * u
    if n_target > max_target or n_non > max_non:
        raise ValueError(f"num_trials={num_trials} asks for {n_target} target and {n_non} "
                         f"non-target trials, but {len(speakers)} speakers x {u} utterances "
                         f"have only {max_target} and {max_non} distinct pairs")
    rng = np.random.default_rng([_SEED_TAG, int(seed), 3])
    seen: set[tuple] = set()
    trials: list[tuple[int, str, str]] = []
    for label, count in ((1, n_target), (0, n_non)):
        made = 0
        while made < count:
            s1 = speakers[int(rng.integers(len(speakers)))]
            s2 = s1 if label else speakers[int(rng.integers(len(speakers)))]
            if not label and s2 == s1:
                continue
            u1, u2 = int(rng.integers(u)), int(rng.integers(u))
            if label and u1 == u2:
                continue
            a, b = utterance_id(s1, u1), utterance_id(s2, u2)
            key = (min(a, b), max(a, b))
            if key in seen:
                continue
            seen.add(key)
            trials.append((label, a, b))
            made += 1
    order = rng.permutation(len(trials))
    return [trials[i] for i in order]


def read_trials(path: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Reads a VoxCeleb-format trial list: ``<1|0> <enroll> <test>`` per line.

    Blank lines are skipped. For :func:`synth_speakers`' ``trials.txt`` the names are
    WAV paths relative to ``wav/``; ``name[:-4]`` is the clip id in the records.

    Returns:
        ``(labels int64 (trials,), enroll names, test names)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not ``label enroll test`` with label 0 or 1 (the error
            names the file and line), or no trial at all.
    """
    labels, enroll, test = [], [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3 or parts[0] not in ("0", "1"):
                raise ValueError(f"{path}:{number}: expected '<1|0> <enroll> <test>', got "
                                 f"{line.strip()!r}")
            labels.append(int(parts[0]))
            enroll.append(parts[1])
            test.append(parts[2])
    if not labels:
        raise ValueError(f"{path}: no trials")
    return np.array(labels, np.int64), enroll, test


TRIALS_NAME = "trials.txt"
WAV_DIR = "wav"


def synth_speakers(out_dir: str, num_speakers: int = 120, test_speakers: int = 20,
                   utterances_per_speaker: int = 20, seconds: float | tuple = 3.0,
                   sample_rate: int = 16000, seed: int = 0, val_fraction: float = 0.1,
                   num_trials: int = 4000, write_wavs: bool = True, encoding: str = "pcm16",
                   num_shards: int | None = None, overwrite: bool = False,
                   progress: bool = False) -> dict:
    """Writes a synthetic speaker-verification dataset: TFRecords, WAVs and a trial list.

    Speakers ``0 .. num_speakers - test_speakers - 1`` are the training speakers,
    the last ``test_speakers`` the test speakers (disjoint). Layout of ``out_dir``:

    - ``train-*.tfrecord``, ``val-*.tfrecord``: the training speakers' utterances (the
      last ``round(val_fraction * utterances_per_speaker)`` of each speaker in ``val``,
      for closed-set accuracy while training); label = speaker index, which is below
      ``num_speakers - test_speakers`` (the number of classes of a training head);
    - ``test-*.tfrecord``: the test speakers' utterances (labels from
      ``num_speakers - test_speakers`` up);
    - ``wav/<speaker>/<utterance>.wav`` (with ``write_wavs``): the test utterances as
      16-bit WAVs;
    - ``trials.txt``: VoxCeleb's format, ``<1|0> <enroll> <test>`` per line (1 = same
      speaker), exactly half target trials; the names are paths relative to ``wav/``,
      e.g. ``spk0103/00004.wav``, and without ``.wav`` they are the records' clip ids;
    - ``dataset.json``: the manifest; ``label_vocabulary`` lists every speaker
      (``spk0000``, ...) and ``generator`` holds these arguments, the speaker counts and
      the file names.

    Clip ids are ``<speaker>/<utterance>`` (e.g. ``spk0007/00003``) and every clip
    stores its f0 per 10 ms. Deterministic for a seed: the same arguments write the same
    bytes.

    Args:
        out_dir: dataset folder.
        num_speakers: all speakers (training + test).
        test_speakers: speakers held out for the trials (>= 2).
        utterances_per_speaker: utterances of every speaker.
        seconds: utterance length, or ``(min, max)`` for lengths drawn uniformly per
            utterance.
        sample_rate: Hz.
        seed: generation seed.
        val_fraction: fraction of each training speaker's utterances in ``val``.
        num_trials: trials in ``trials.txt``.
        write_wavs: write ``wav/`` (the trial list names those files).
        encoding: record encoding (``"pcm16"``, ``"flac"`` or ``"float32"``).
        num_shards: shards per split (default: 100 MB shards).
        overwrite: replace a dataset already in ``out_dir``.
        progress: tqdm progress bar.

    Returns:
        The manifest dict.
    """
    from tqdm import tqdm

    from tfaudio.data.writer import Clip, DatasetWriter

    num_speakers = positive_int("num_speakers", num_speakers)
    test_speakers = positive_int("test_speakers", test_speakers)
    if not 2 <= test_speakers < num_speakers:
        raise ValueError(f"test_speakers={test_speakers} must be >= 2 and below "
                         f"num_speakers={num_speakers} (at least one training speaker)")
    u = positive_int("utterances_per_speaker", utterances_per_speaker)
    val_fraction = number_in("val_fraction", val_fraction, 0.0, 1.0, high_inclusive=False)
    n_val = int(round(val_fraction * u))
    if n_val >= u:
        raise ValueError(f"val_fraction={val_fraction} leaves no training utterance of "
                         f"{u} per speaker")
    sr = positive_int("sample_rate", sample_rate)
    if isinstance(seconds, (tuple, list)):
        if len(seconds) != 2:
            raise ValueError(f"seconds={seconds!r}: give one length or (min, max)")
        lo = positive_float("seconds", seconds[0])
        hi = positive_float("seconds", seconds[1])
        if hi < lo:
            raise ValueError(f"seconds={seconds!r}: max must be >= min")
        length_rng = np.random.default_rng([_SEED_TAG, int(seed), 4])
        lengths = length_rng.uniform(lo, hi, (num_speakers, u))
        seconds_info: float | list = [lo, hi]
    else:
        lengths = np.full((num_speakers, u), positive_float("seconds", seconds))
        seconds_info = float(seconds)
    n_train = num_speakers - test_speakers
    trials = speaker_trials(range(n_train, num_speakers), u, num_trials, seed)
    vocabulary = [speaker_name(s) for s in range(num_speakers)]
    total = num_speakers * u
    splits = {"train": (n_train * (u - n_val)) / total, "val": n_train * n_val / total,
              "test": test_speakers * u / total}
    if n_val == 0:
        splits.pop("val")
        splits["train"] = 1.0 - splits["test"]
    generator = {"task": "speakers", "num_speakers": num_speakers,
                 "train_speakers": n_train, "test_speakers": test_speakers,
                 "utterances_per_speaker": u, "val_utterances_per_speaker": n_val,
                 "seconds": seconds_info, "seed": int(seed), "f0_hop_seconds": F0_HOP_SECONDS,
                 "trials": TRIALS_NAME, "num_trials": len(trials),
                 "wav_dir": WAV_DIR if write_wavs else None}
    pairs = [(s, i) for s in range(num_speakers) for i in range(u)]
    with DatasetWriter(out_dir, sr, vocabulary=vocabulary, encoding=encoding, splits=splits,
                       seed=seed, num_shards=num_shards, num_channels=1, overwrite=overwrite,
                       extra={"source": "tfaudio synth --task speakers",
                              "generator": generator}) as writer:
        bar = tqdm(total=total, unit="utt", desc="synth speakers", disable=not progress)
        step = 256
        for start in range(0, total, step):
            chunk = pairs[start:start + step]
            spk = [s for s, _ in chunk]
            utt = [i for _, i in chunk]
            secs = [float(lengths[s, i]) for s, i in chunk]
            audio, f0 = synth_utterances(spk, utt, secs, sr, seed)
            for k, (s, i) in enumerate(chunk):
                n = int(round(secs[k] * sr))
                frames = 1 + n // int(round(F0_HOP_SECONDS * sr))
                split = "test" if s >= n_train else ("val" if i >= u - n_val else "train")
                writer.add(Clip(id=utterance_id(s, i), audio=audio[k, :n, None], labels=[s],
                                f0_hz=f0[k, :frames], f0_hop_seconds=F0_HOP_SECONDS,
                                split=split))
                if write_wavs and s >= n_train:
                    write_wav(os.path.join(writer._tmp, WAV_DIR, utterance_id(s, i) + ".wav"),
                              audio[k, :n], sr)
            bar.update(len(chunk))
        bar.close()
        with open(os.path.join(writer._tmp, TRIALS_NAME), "w", encoding="utf-8") as f:
            for label, a, b in trials:
                f.write(f"{label} {a}.wav {b}.wav\n")
        staged = writer._tmp
        for name in (TRIALS_NAME, WAV_DIR):
            target = os.path.join(out_dir, name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            elif os.path.exists(target):
                os.remove(target)
        os.replace(os.path.join(staged, TRIALS_NAME), os.path.join(out_dir, TRIALS_NAME))
        if write_wavs:
            os.replace(os.path.join(staged, WAV_DIR), os.path.join(out_dir, WAV_DIR))
        return writer.close(inputs=total)

