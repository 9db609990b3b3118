"""Prediction from a run folder or an exported SavedModel, on audio files of any length.

Only TensorFlow and tfaudio's decoder are used: the SavedModel's ``serve`` signature
does the rest, so any export works, also one copied away from its run folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfaudio.train.export import CONFIG


@dataclass
class Served:
    """A loaded export (``module.serve`` is the signature), its labels and settings."""

    path: str
    module: Any  # the loaded SavedModel: keeps the variables ``serve`` uses alive
    labels: list[str]
    sample_rate: int
    clip_seconds: float
    multi_label: bool
    config: dict | None = None  # tfaudio.json (a CREPE run: output = "pitch_activations")

    @property
    def pitch(self) -> bool:
        """The export tracks pitch (a CREPE run) rather than classifying."""
        return (self.config or {}).get("output") == "pitch_activations"


def find_export(path: str) -> str:
    """The SavedModel folder of a run folder or an export folder."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    inner = os.path.join(path, "export")
    if os.path.isfile(os.path.join(inner, "saved_model.pb")):
        return inner
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such run or SavedModel folder: {path}")
    raise ValueError(f"{path} is neither a SavedModel (no saved_model.pb) nor a finished "
                     "tfaudio run (no export/saved_model.pb; train it to the end first)")


def read_export_files(export: str) -> tuple[list[str], dict]:
    """``(labels, config)`` from the ``labels.txt`` and ``tfaudio.json`` beside a SavedModel."""
    config_path = os.path.join(export, CONFIG)
    labels_path = os.path.join(export, "labels.txt")
    if not os.path.exists(labels_path):
        raise FileNotFoundError(f"{export}: no labels.txt beside the SavedModel")
    with open(labels_path, encoding="utf-8") as f:
        labels = [line.rstrip("\n") for line in f if line.strip()]
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{export}: no {CONFIG} beside the SavedModel (its sample rate "
                                "and clip length); export it with `tfaudio train`")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    return labels, config


def load(path: str) -> Served:
    """Loads the export of a run folder (or an export folder itself)."""
    import tensorflow as tf

    export = find_export(path)
    config_path = os.path.join(export, CONFIG)
    labels, config = read_export_files(export)
    if config.get("input") == "generation":
        raise ValueError(f"{export}: this SavedModel generates audio (WaveNet), it does not "
                         "classify it; use `tfaudio generate RUN --out FILE.wav`")
    if config.get("input", "waveform") != "waveform":
        raise ValueError(f"{export}: this SavedModel serves {config['input']}, not waveforms; "
                         "call its serve signature on AudioSet-format embeddings instead")
    model = tf.saved_model.load(export)
    if "serve" not in model.signatures and not hasattr(model, "serve"):
        raise ValueError(f"{export}: the SavedModel has no 'serve' signature")
    try:
        return Served(export, model, labels, int(config["sample_rate"]),
                      float(config["clip_seconds"]), bool(config.get("multi_label", False)),
                      config)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{config_path}: needs sample_rate and clip_seconds ({err})") from err


def windows(audio: np.ndarray, length: int) -> np.ndarray:
    """Cuts a mono clip into ``length``-sample windows with 50 % overlap.

    A clip no longer than ``length`` gives one window, zero-padded at the end; a longer
    one gives windows every ``length // 2`` samples plus one ending at the last sample.

    Returns:
        ``(windows, length)`` float32.
    """
    audio = np.asarray(audio, np.float32)
    if len(audio) <= length:
        return np.pad(audio, (0, length - len(audio)))[None]
    hop = max(1, length // 2)
    starts = list(range(0, len(audio) - length + 1, hop))
    if starts[-1] != len(audio) - length:
        starts.append(len(audio) - length)
    return np.stack([audio[s:s + length] for s in starts])


def pool_windows(probs: np.ndarray, multi_label: bool) -> np.ndarray:
    """Clip probabilities from ``(windows, classes)``: mean, or max for multi-label
    (a tag present anywhere in the clip)."""
    return probs.max(axis=0) if multi_label else probs.mean(axis=0)


def predict_file(served: Served, path: str, top_k: int = 5, batch: int = 32) -> dict:
    """Class probabilities of one audio file.

    The file is decoded, mixed to mono, resampled to the model's rate, cut into
    training-length windows (:func:`windows`) and scored; window probabilities are
    averaged (single-label) or max-pooled (multi-label: a tag present anywhere).

    Returns:
        dict: ``file``, ``seconds``, ``windows``, ``top`` (``[label, probability]`` pairs,
        best first) and ``probabilities`` by label.
    """
    import tensorflow as tf

    from tfaudio.data import decode_audio

    if (served.config or {}).get("output") == "speaker_embedding":
        raise ValueError(f"{served.path} serves speaker embeddings, not classes: use "
                         "`tfaudio enroll` / `tfaudio verify` with its run")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such audio file: {path}")
    audio, _ = decode_audio(path, sample_rate=served.sample_rate)
    mono = np.asarray(audio).mean(axis=1)
    if served.pitch:
        return _pitch_of(served, path, mono)
    length = max(1, round(served.clip_seconds * served.sample_rate))
    wins = windows(mono, length)
    probs = np.concatenate([np.asarray(served.module.serve(tf.constant(wins[i:i + batch])))
                            for i in range(0, len(wins), batch)])
    clip = pool_windows(probs, served.multi_label)
    order = np.argsort(-clip)[:top_k]
    return {"file": path, "seconds": round(len(mono) / served.sample_rate, 3),
            "windows": int(len(wins)),
            "top": [[served.labels[i], float(clip[i])] for i in order],
            "probabilities": {label: float(p) for label, p in
                              zip(served.labels, clip, strict=True)}}


def _pitch_of(served: Served, path: str, mono: np.ndarray, threshold: float = 0.5) -> dict:
    """A CREPE run's pitch track of one decoded file: the export's activations over the
    whole file (centred frames every ``step_size_ms``), decoded as CREPE does
    (:func:`tfaudio.models.crepe_predict.decode_activation`)."""
    import tensorflow as tf

    from tfaudio.models.crepe_predict import decode_activation

    activation = served.module.serve(tf.constant(mono[None], tf.float32))[0]
    step_ms = float(served.config["step_size_ms"])
    time, frequency, conf = decode_activation(activation, step_ms)
    voiced = frequency[conf >= threshold]
    return {"file": path, "seconds": round(len(mono) / served.sample_rate, 3),
            "frames": int(len(frequency)), "step_size_ms": step_ms,
            "voiced_frames": int(len(voiced)),
            "median_hz": float(np.median(voiced)) if len(voiced) else None,
            "time": [round(float(t), 6) for t in time],
            "frequency": [float(f) for f in frequency],
            "confidence": [float(c) for c in conf]}
