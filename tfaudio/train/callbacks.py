"""Callbacks of ``tfaudio train``: epoch checkpoints with early stopping, TensorBoard media."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import keras
import numpy as np

from tfaudio.train import checkpoint


class RunCheckpoint(keras.callbacks.Callback):
    """Checkpoints every epoch, keeps the best weights, stops early, logs the history.

    The loop state (best value, epochs without improvement, per-epoch logs) is part of
    each checkpoint, so early stopping behaves the same after ``--resume``.

    Args:
        run_dir: the run folder (``checkpoints/``, ``history.jsonl`` go there).
        monitor: a logged metric (``val_loss``, ``val_accuracy``, ...).
        patience: epochs without improvement before stopping (0 = never stop early).
        state: the loop state restored from a checkpoint (or None for a new run).
        write: write checkpoints and history (False on the workers of a multi-worker
            run that are not the chief: they keep the same loop state, so every worker
            stops early at the same epoch, and write nothing).
    """

    def __init__(self, run_dir: str, monitor: str = "val_loss", patience: int = 0,
                 state: dict | None = None, write: bool = True):
        super().__init__()
        self.write = write
        self.run_dir = run_dir
        self.ckpt_dir = os.path.join(run_dir, "checkpoints")
        self.monitor = monitor
        self.patience = patience
        self.mode = "min" if "loss" in monitor else "max"
        state = state or {}
        self.best = state.get("best")
        self.wait = state.get("wait", 0)
        self.history: list[dict] = state.get("history", [])
        self.stopped_early = state.get("stopped_early", False)

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - getattr(self, "_epoch_started", time.time())
        logs = {k: float(v) for k, v in (logs or {}).items()}
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"train.monitor = {self.monitor!r} is not a logged metric; logged: "
                           f"{sorted(logs)}")
        if math.isfinite(value) and self._improved(value):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
        row = {"epoch": epoch + 1, **logs,
               "optimizer_steps": int(self.model.optimizer.iterations.numpy()),
               "seconds": round(seconds, 3)}
        self.history.append(row)
        if self.patience and self.wait >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True
        if not self.write:
            return
        if self.wait == 0:
            os.makedirs(self.ckpt_dir, exist_ok=True)
            tmp = os.path.join(self.ckpt_dir, f".tmp-best-{os.getpid()}.weights.h5")
            self.model.save_weights(tmp)
            os.replace(tmp, os.path.join(self.ckpt_dir, "best.weights.h5"))
        checkpoint.save(self.ckpt_dir, epoch + 1, self.model, self.state())
        with open(os.path.join(self.run_dir, "history.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def state(self) -> dict:
        return {"best": self.best, "wait": self.wait, "monitor": self.monitor,
                "history": self.history, "stopped_early": self.stopped_early}


class ProgressBar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, showing counters (``examples``) as counts.

    Keras averages every shown value over the steps of the epoch; for a running count
    that average is meaningless, so counters are marked stateful (shown as they are).
    """

    COUNTERS = ("examples", "val_examples")

    def _maybe_init_progbar(self):
        super()._maybe_init_progbar()
        if self.progbar is not None:
            self.progbar.stateful_metrics.update(self.COUNTERS)


def log_mel_images(log_mel: np.ndarray) -> np.ndarray:
    """``(batch, frames, bands)`` -> ``(batch, bands, frames, 1)`` images in [0, 1], low
    frequencies at the bottom, each scaled to its own range."""
    x = np.asarray(log_mel, np.float32)
    lo = x.min(axis=(1, 2), keepdims=True)
    hi = x.max(axis=(1, 2), keepdims=True)
    x = (x - lo) / np.maximum(hi - lo, 1e-6)
    return np.transpose(x, (0, 2, 1))[:, ::-1, :, None]


class TensorBoardMedia(keras.callbacks.Callback):
    """Writes log-mel images and audio of a few augmented training examples each epoch.

    The examples go through the model's own ``waveform_augmentation``, ``log_mel`` and
    ``spectrogram_augmentation`` layers in training mode: what the network sees.

    Args:
        log_dir: TensorBoard folder (``<run>/logs``); media go to ``log_dir/train_media``.
        audio: ``(n, time)`` training clips at ``sample_rate``.
        sample_rate: their rate.
    """

    def __init__(self, log_dir: str, audio: np.ndarray, sample_rate: int):
        super().__init__()
        self.log_dir = os.path.join(log_dir, "train_media")
        self.audio = np.asarray(audio, np.float32)
        self.sample_rate = int(sample_rate)
        self._writer = None

    def _layer(self, name: str) -> Any:
        try:
            return self.model.get_layer(name)
        except ValueError:
            return None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        x = tf.constant(self.audio)
        resample = self._layer("resample")
        if resample is not None:
            x = resample(x)
        wave_aug = self._layer("waveform_augmentation")
        if wave_aug is not None:
            x = wave_aug(x, training=True)
        mel = self._layer("log_mel")(x)
        spec_aug = self._layer("spectrogram_augmentation")
        if spec_aug is not None:
            mel = spec_aug(mel, training=True)
        peak = tf.maximum(tf.reduce_max(tf.abs(x), axis=1, keepdims=True), 1e-6)
        rate = 16000 if resample is not None else self.sample_rate
        with self._writer.as_default(step=epoch + 1):
            tf.summary.image("augmented/log_mel", log_mel_images(mel.numpy()),
                             max_outputs=len(self.audio))
            tf.summary.audio("augmented/audio", (x / peak)[..., None], rate,
                             max_outputs=len(self.audio))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
