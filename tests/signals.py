"""Real and music-like test signals shared by the tests, and a 16-bit WAV writer."""

from __future__ import annotations

import functools
import pathlib
import wave

import numpy as np

DATA = pathlib.Path(__file__).parent / "data"


@functools.cache
def speech() -> tuple[np.ndarray, int]:
    """3 s of espeak-ng speech at 16 kHz, float32 in [-1, 1)."""
    with wave.open(str(DATA / "speech_16k.wav")) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        return (pcm.astype(np.float32) / 32768.0), f.getframerate()


@functools.cache
def music(sr: int = 22050, seconds: float = 2.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """A music-like signal: harmonic chords with vibrato, a bass line and drum hits."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    y = np.zeros(n)
    for k, root in enumerate((220.0, 261.63, 329.63, 196.0)):
        seg = (t >= k * seconds / 4) & (t < (k + 1) * seconds / 4)
        for ratio in (1.0, 1.25, 1.5):
            f0 = root * ratio * (1 + 0.004 * np.sin(2 * np.pi * 5.5 * t))
            phase = 2 * np.pi * np.cumsum(f0) / sr
            for h in range(1, 6):
                y[seg] += 0.08 / h * np.sin(h * phase[seg])
        y[seg] += 0.2 * np.sin(2 * np.pi * root / 2 * t[seg])
    for onset in np.arange(0, seconds, 0.25):
        i = int(onset * sr)
        m = min(n - i, int(0.08 * sr))
        y[i : i + m] += 0.5 * rng.standard_normal(m) * np.exp(-np.arange(m) / (0.01 * sr))
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32), sr


def signals():
    """(name, waveform, sample_rate) for every parity signal."""
    return [("speech", *speech()), ("music", *music())]


def write_wav(path, audio: np.ndarray, sr: int) -> str:
    """Writes ``(time,)`` or ``(time, channels)`` floats in [-1, 1] as 16-bit PCM WAV."""
    audio = audio if audio.ndim == 2 else audio[:, None]
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return str(path)
