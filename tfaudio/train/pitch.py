"""Training CREPE on f0 targets (``data.targets = "f0"``, ``model.name = "crepe"``).

The model is :func:`tfaudio.models.crepe_waveform`: waveforms ``(batch, time)`` ->
``(batch, frames, 360)`` sigmoid activations, frame ``k`` centred on ``k * step_size``
ms, the frames of the reader's f0 targets (``audio_dataset(..., targets="f0")``) at the
same hop. The targets stay f0 in Hz ``(batch, frames)`` in the data; the loss turns them
into CREPE's Gaussian-blurred 360-bin vectors in the graph
(:func:`tfaudio.ops.f0_to_salience`, std 25 cents, all zero on unvoiced frames) and
takes the binary cross-entropy over every bin of every frame, as in the paper.

Metrics: :class:`PitchAccuracy` decodes each frame with CREPE's local average
(:func:`tfaudio.ops.local_average_cents`, argmax +- 4 bins) and counts the voiced
frames (f0 > 0) within 50 cents: ``rpa``; ``rca`` forgives octave errors.

Evaluation (:func:`evaluate_pitch`) decodes whole test clips the same way and scores
them with :func:`tfaudio.metrics.raw_pitch_accuracy` / :func:`raw_chroma_accuracy`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np

from tfaudio.train.recipe import Recipe, crepe_capacity

STD_CENTS = 25.0
TOLERANCE_CENTS = 50.0
PLOT_CLIPS = 4


def build_crepe(recipe: Recipe, num_classes: int = 0) -> keras.Model:
    """The recipe's CREPE on waveforms at ``data.sample_rate`` (``num_classes`` unused;
    ``model.dropout`` after each block: the paper's 0.25 is ``dropout = 0.25``)."""
    from tfaudio.models import crepe, crepe_waveform

    m = recipe.model
    frames = crepe(crepe_capacity(m.capacity), dropout=m.dropout)
    return crepe_waveform(step_size=m.step_size, sample_rate=recipe.data.sample_rate,
                          frame_model=frames, name=recipe.name)


@keras.saving.register_keras_serializable(package="tfaudio")
def crepe_loss(f0_hz: Any, activations: Any) -> Any:
    """Binary cross-entropy between CREPE's activations and the blurred f0 targets.

    Args:
        f0_hz: ``(batch, frames)`` f0 in Hz, ``<= 0`` unvoiced.
        activations: ``(batch, frames, 360)`` sigmoid outputs.

    Returns:
        ``(batch, frames)`` losses (mean over bins).
    """
    from tfaudio.ops import f0_to_salience

    target = f0_to_salience(f0_hz, STD_CENTS)
    return keras.losses.binary_crossentropy(target, activations)


@keras.saving.register_keras_serializable(package="tfaudio")
class PitchAccuracy(keras.metrics.Metric):
    """Raw pitch (or chroma) accuracy over the voiced frames seen, local-average decoding.

    Args:
        chroma: fold the error to the nearest octave (RCA) instead of RPA.
        cents: tolerance (strictly below, as mir_eval).
        name: ``"rpa"`` / ``"rca"`` by default.
    """

    def __init__(self, chroma: bool = False, cents: float = TOLERANCE_CENTS,
                 name: str | None = None, **kwargs):
        super().__init__(name=name or ("rca" if chroma else "rpa"), **kwargs)
        self.chroma = bool(chroma)
        self.cents = float(cents)
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.voiced = self.add_variable(shape=(), initializer="zeros", name="voiced")

    def update_state(self, y_true, y_pred, sample_weight=None):
        import tensorflow as tf

        from tfaudio.ops import local_average_cents, to_cents

        f0 = tf.cast(y_true, tf.float64)
        voiced = f0 > 0
        est = local_average_cents(y_pred)
        diff = est - to_cents(tf.where(voiced, f0, tf.ones_like(f0)))
        if self.chroma:
            diff = diff - 1200.0 * tf.floor(diff / 1200.0 + 0.5)
        hit = voiced & (tf.abs(diff) < self.cents)  # NaN (all-zero window) is a miss
        self.hits.assign_add(tf.reduce_sum(tf.cast(hit, "float32")))
        self.voiced.assign_add(tf.reduce_sum(tf.cast(voiced, "float32")))

    def result(self):
        return keras.ops.divide_no_nan(self.hits, self.voiced)

    def reset_state(self):
        self.hits.assign(0.0)
        self.voiced.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "chroma": self.chroma, "cents": self.cents}


def loss_and_metrics(recipe: Recipe) -> tuple[Any, list]:
    """:func:`crepe_loss` and the ``train.metrics`` (``rpa``, ``rca``) + examples seen."""
    from tfaudio.train.build import ExamplesSeen

    metrics = [PitchAccuracy(chroma=name == "rca") for name in recipe.train.metrics]
    return crepe_loss, [*metrics, ExamplesSeen()]


def _number(value: float) -> float | None:
    """``value``, or None for NaN (no voiced frame): JSON has no NaN."""
    return None if np.isnan(value) else float(value)


def predict_tracks(model: Any, recipe: Recipe, path: str, split: str
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(reference f0, estimated f0) per clip of ``split``, whole clips, Hz per frame.

    Estimates are CREPE's local average of the activations (no voicing threshold).
    """
    from tfaudio.data import audio_dataset
    from tfaudio.ops import local_average_cents, to_hz

    d = recipe.data
    ds = audio_dataset(path, split=split, sample_rate=d.sample_rate, clip_seconds=None,
                       batch_size=1, shuffle=False, cache=False, mono=True, targets="f0",
                       f0_hop_seconds=recipe.model.step_size / 1000.0)
    refs, ests = [], []
    for audio, f0 in ds:
        act = model(audio, training=False)[0]
        ref = np.asarray(f0)[0]
        est = np.asarray(to_hz(local_average_cents(act)))
        n = min(len(ref), len(est))  # equal at 16 kHz; resampled lengths may differ by one
        refs.append(ref[:n].astype(np.float64))
        ests.append(est[:n])
    if not refs:
        raise ValueError(f"{path}: split {split!r} has no clips")
    return refs, ests


def evaluate_pitch(model: Any, recipe: Recipe, path: str, split: str, labels: list[str],
                   out_dir: str, log_dir: str | None = None) -> dict:
    """RPA and RCA over every voiced frame of ``split``; writes ``<out_dir>/<split>.json``
    and (with matplotlib) ``<split>_pitch.png``, a few clips' tracks.

    Returns:
        dict: ``split``, ``data``, ``clips``, ``frames``, ``voiced_frames``, ``rpa``,
        ``rca``, ``median_abs_cents`` (voiced frames), ``decoding``, ``pitch_png``.
    """
    from tfaudio import metrics

    os.makedirs(out_dir, exist_ok=True)
    refs, ests = predict_tracks(model, recipe, path, split)
    ref, est = np.concatenate(refs), np.concatenate(ests)
    err = metrics.cents_error(ref, est)
    result: dict[str, Any] = {
        "split": split, "data": os.path.abspath(path), "clips": len(refs),
        "frames": int(ref.size), "voiced_frames": int(np.count_nonzero(ref > 0)),
        "rpa": _number(metrics.raw_pitch_accuracy(ref, est, TOLERANCE_CENTS)),
        "rca": _number(metrics.raw_chroma_accuracy(ref, est, TOLERANCE_CENTS)),
        "median_abs_cents": (float(np.nanmedian(np.abs(err))) if np.any(~np.isnan(err))
                             else None),
        "decoding": "local average (argmax +- 4 bins), no voicing threshold",
        "tolerance_cents": TOLERANCE_CENTS,
    }
    result["pitch_png"] = _plot_tracks(os.path.join(out_dir, f"{split}_pitch.png"), refs, ests,
                                       recipe.model.step_size, result)
    with open(os.path.join(out_dir, f"{split}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def _plot_tracks(png: str, refs: list, ests: list, step_ms: float, result: dict
                 ) -> str | None:
    """Reference and estimated tracks of the first voiced clips; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    chosen = [i for i, r in enumerate(refs) if np.any(r > 0)][:PLOT_CLIPS]
    if not chosen or result["rpa"] is None:
        return None
    fig, axes = plt.subplots(len(chosen), 1, figsize=(7, 1.8 * len(chosen)), squeeze=False)
    for ax, i in zip(axes[:, 0], chosen, strict=True):
        t = np.arange(len(refs[i])) * step_ms / 1000.0
        ax.plot(t, np.where(refs[i] > 0, refs[i], np.nan), "k-", lw=2, label="reference")
        ax.plot(t, np.where(ests[i] > 0, ests[i], np.nan), "r.", ms=3, label="CREPE")
        ax.set_yscale("log")
        ax.set_ylabel("Hz")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    axes[0, 0].set_title(f"{result['split']}: RPA {result['rpa']:.3f}, RCA {result['rca']:.3f}")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
    return png


def summary_line(result: dict) -> str:
    """One human line for a result of :func:`evaluate_pitch`."""
    extra = f", tracks: {result['pitch_png']}" if result.get("pitch_png") else ""
    if result["rpa"] is None:
        return f"{result['split']}: no voiced frames in {result['clips']} clips (RPA undefined)"
    return (f"{result['split']}: RPA {result['rpa']:.3f}, RCA {result['rca']:.3f} on "
            f"{result['voiced_frames']} voiced frames of {result['clips']} clips{extra}")


def pitch_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    """``serve``: float32 waveforms ``(batch, time)`` at ``sample_rate`` -> activations
    ``(batch, frames, 360)`` (decode with :mod:`tfaudio.ops.pitch`)."""
    import tensorflow as tf

    from tfaudio.ops import cents_mapping

    spec = [tf.TensorSpec((None, None), tf.float32, name="waveform")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=spec)
    bins = cents_mapping()
    config = {"input": "waveform", "output": "pitch_activations",
              "sample_rate": recipe.data.sample_rate, "clip_seconds": recipe.data.clip_seconds,
              "step_size_ms": recipe.model.step_size, "capacity": recipe.model.capacity,
              "frames": "1 + n16 // hop (centred, frame k at k * step_size ms)",
              "bins": len(bins), "cents_offset": float(bins[0]), "cents_per_bin": 20.0,
              "hz": "10 * 2 ** (cents / 1200)"}
    return archive, config
