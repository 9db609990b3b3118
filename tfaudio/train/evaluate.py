"""Evaluation of a trained classifier on a dataset split: report JSON + confusion PNG (CREPE
runs: :func:`tfaudio.train.pitch.evaluate_pitch`; WaveNet runs:
:func:`tfaudio.train.wavenet.evaluate_wavenet`)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tfaudio.train.recipe import Recipe


def predict_split(model: Any, recipe: Recipe, path: str, split: str, num_classes: int,
                  batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities ``(clips, classes)``, targets) of every clip of ``split``.

    Waveform data: :func:`predict_audio_split`; AudioSet-format embedding records:
    :func:`predict_embedding_split`.
    """
    predict = PREDICTORS[recipe.data.format]
    return predict(model, recipe, path, split, num_classes, batch)


def predict_embedding_split(model: Any, recipe: Recipe, path: str, split: str,
                            num_classes: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Scores every record of an AudioSet-format split, its whole embedding sequence at once
    (padded frames masked)."""
    from tfaudio.train.datasets import make_dataset

    probs, targets = [], []
    for features, y in make_dataset(recipe, path, split, False, num_classes, batch):
        probs.append(np.asarray(model(features, training=False)))
        targets.append(np.asarray(y))
    if not targets:
        raise ValueError(f"{path}: split {split!r} has no records")
    return np.concatenate(probs), np.concatenate(targets)


def predict_audio_split(model: Any, recipe: Recipe, path: str, split: str, num_classes: int,
                        batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, targets) of every clip of a waveform split.

    Whole clips are scored as ``tfaudio predict`` scores files: cut into training-length
    windows with 50 % overlap (a shorter clip is zero-padded to one window), window
    probabilities averaged (max-pooled for multi-label). Clips of exactly
    ``clip_seconds`` give one window each: the training crop.
    """
    from tfaudio.data import audio_dataset
    from tfaudio.train.predict import pool_windows, windows

    d = recipe.data
    length = max(1, round(d.clip_seconds * d.sample_rate))
    ds = audio_dataset(path, split=split, sample_rate=d.sample_rate, clip_seconds=None,
                       batch_size=1, shuffle=False, cache=False, mono=True,
                       labels="multi_hot" if d.multi_label else "int", num_classes=num_classes)
    pending: list[np.ndarray] = []
    owners: list[int] = []
    window_probs: list[np.ndarray] = []
    targets = []

    def flush():
        x = np.concatenate(pending)
        for i in range(0, len(x), batch):
            window_probs.append(np.asarray(model(x[i:i + batch], training=False)))
        pending.clear()

    for audio, label in ds:
        w = windows(np.asarray(audio)[0], length)
        pending.append(w)
        owners.extend([len(targets)] * len(w))
        targets.append(np.asarray(label)[0])
        if sum(len(p) for p in pending) >= 4 * batch:
            flush()
    if pending:
        flush()
    if not targets:
        raise ValueError(f"{path}: split {split!r} has no clips")
    probs = np.concatenate(window_probs)
    owners_arr = np.asarray(owners)
    clips = np.stack([pool_windows(probs[owners_arr == i], d.multi_label)
                      for i in range(len(targets))])
    return clips, np.stack(targets)


PREDICTORS = {"audio": predict_audio_split, "audioset": predict_embedding_split}


def evaluate_model(model: Any, recipe: Recipe, path: str, split: str, labels: list[str],
                   out_dir: str, log_dir: str | None = None) -> dict:
    """Scores ``model`` on ``split`` and writes ``<out_dir>/<split>.json`` and the
    confusion matrix ``<out_dir>/<split>_confusion.png`` (single-label).

    Returns:
        dict: ``clips``, ``loss``, and ``accuracy`` + ``report`` (per-class precision,
        recall, F1, macro/weighted averages: :func:`tfaudio.metrics.classification_report`)
        for single-label data; ``mAP`` and per-class ``average_precision`` for
        multi-label data.
    """
    from tfaudio import metrics

    if recipe.data.targets == "f0":  # CREPE: RPA / RCA over voiced frames
        from tfaudio.train.pitch import evaluate_pitch

        return evaluate_pitch(model, recipe, path, split, labels, out_dir, log_dir)
    if recipe.data.targets == "audio":  # WaveNet: bits per sample, generated pitch
        from tfaudio.train.wavenet import evaluate_wavenet

        return evaluate_wavenet(model, recipe, path, split, labels, out_dir, log_dir)

    if recipe.data.targets == "speaker":  # verification on the trial list
        from tfaudio.train.speaker import evaluate_speaker

        return evaluate_speaker(model, recipe, path, split, labels, out_dir, log_dir)
    if recipe.data.targets == "separation":  # SI-SDRi / SDRi of held-out mixtures
        from tfaudio.train.separation import evaluate_separation

        return evaluate_separation(model, recipe, path, split, labels, out_dir, log_dir)
    os.makedirs(out_dir, exist_ok=True)
    probs, targets = predict_split(model, recipe, path, split, len(labels))
    eps = 1e-7
    result: dict[str, Any] = {"split": split, "data": os.path.abspath(path),
                              "clips": int(len(probs))}
    if recipe.data.multi_label:
        p = np.clip(probs, eps, 1 - eps)
        result["loss"] = float(-np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p)))
        ap = metrics.average_precision(targets, probs)
        result["mAP"] = metrics.mean_average_precision(targets, probs)
        result["average_precision"] = {name: (None if np.isnan(v) else float(v))
                                       for name, v in zip(labels, ap, strict=True)}
    else:
        y = targets.astype(np.int64)
        result["loss"] = float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], eps, 1))))
        pred = probs.argmax(axis=1)
        report = metrics.classification_report(y, pred, len(labels), labels)
        result["accuracy"] = float(report["accuracy"])
        result["report"] = report
        cm = metrics.confusion_matrix(y, pred, len(labels))
        result["confusion_matrix"] = cm.tolist()
        png = os.path.join(out_dir, f"{split}_confusion.png")
        try:
            from tfaudio.plot import save_confusion_matrix

            save_confusion_matrix(png, cm, labels, title=f"{split}: accuracy "
                                  f"{result['accuracy']:.3f} on {len(y)} clips")
            result["confusion_png"] = png
            if log_dir:
                _log_image(log_dir, f"evaluation/{split}_confusion", png)
        except ImportError:  # matplotlib is optional (tfaudio[plot])
            result["confusion_png"] = None
    with open(os.path.join(out_dir, f"{split}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def _log_image(log_dir: str, tag: str, png: str) -> None:
    import tensorflow as tf

    image = tf.io.decode_png(tf.io.read_file(png), channels=4)[None]
    writer = tf.summary.create_file_writer(os.path.join(log_dir, "evaluation"))
    with writer.as_default(step=0):
        tf.summary.image(tag, image)
    writer.close()


def summary_line(result: dict) -> str:
    """One human line for a result of :func:`evaluate_model`."""
    if "rpa" in result:
        from tfaudio.train.pitch import summary_line as pitch_line

        return pitch_line(result)
    if "bits_per_sample" in result:
        from tfaudio.train.wavenet import summary_line as wavenet_line

        return wavenet_line(result)

    if "eer" in result:
        from tfaudio.train.speaker import summary_line as speaker_line

        return speaker_line(result)
    if "si_sdri" in result:
        from tfaudio.train.separation import summary_line as separation_line

        return separation_line(result)
    what = (f"mAP {result['mAP']:.3f}" if "mAP" in result
            else f"accuracy {result['accuracy']:.3f}")
    extra = f", confusion matrix: {result['confusion_png']}" if result.get("confusion_png") else ""
    return f"{result['split']}: {what} on {result['clips']} clips (loss {result['loss']:.4f}){extra}"


def evaluate_run(run_dir: str, data_dir: str | None = None, split: str = "test",
                 out_dir: str | None = None, trials: str | None = None) -> dict:
    """Evaluates a run folder's model on ``split`` of ``data_dir`` (default: the run's data).

    Writes ``<run>/evaluation/<split>.json`` and the confusion PNG (or into ``out_dir``).
    A speaker run is scored on a trial list instead: ``trials`` (VoxCeleb format), else
    the data's ``trials.txt`` (:func:`tfaudio.train.speaker.evaluate_speaker`).
    """
    from tfaudio.train.datasets import read_data
    from tfaudio.train.run import load_run_model

    model, recipe, labels = load_run_model(run_dir)
    path = data_dir or recipe.data.path or os.path.join(run_dir, "data")
    out_dir = out_dir or os.path.join(run_dir, "evaluation")
    if recipe.data.targets == "speaker":
        from tfaudio.train.speaker import evaluate_speaker

        return evaluate_speaker(model, recipe, path, split, labels, out_dir, trials=trials)
    if trials:
        raise ValueError(f"--trials applies to speaker runs; {run_dir} has data.targets = "
                         f"{recipe.data.targets!r}")
    info = read_data(recipe, path)
    vocab = info.labels
    if vocab and vocab != labels:
        raise ValueError(f"{path}: its labels {vocab[:5]}... differ from the run's "
                         f"{labels[:5]}... (labels.txt); evaluate on data with the same classes")
    info.count(split)  # a clear error naming the splits there are
    return evaluate_model(model, recipe, path, split, labels, out_dir)
