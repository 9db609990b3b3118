"""Export: a SavedModel with its labels and settings beside it, served by plain TensorFlow.

What the SavedModel serves depends on the run's data format (``[data] format``):

``"audio"`` (waveform models, ``vggish_classifier``)
    ``serve``: float32 ``(batch, time)`` waveforms at ``sample_rate`` ->
    ``(batch, classes)`` probabilities (augmentation is not in the graph).
    ``embed``: the same waveforms -> float32 ``(batch, patches, embedding_size)``: the
    output of the model's ``vggish`` layer, one embedding per 0.96 s patch (patch ``k``
    covers ``[k * 0.96, k * 0.96 + 0.96)`` s; clips shorter than one patch are padded
    to one when the recipe has ``frontend.pad_short``). ``tfaudio embed`` uses it.
``data.targets = "f0"`` (``crepe``)
    ``serve``: float32 ``(batch, time)`` waveforms at ``sample_rate`` -> float32
    ``(batch, frames, 360)`` CREPE activations (frame ``k`` centred on ``k * step_size``
    ms); ``tfaudio.json`` adds ``output`` = ``"pitch_activations"``, ``step_size_ms``
    and the bins' cents (decode with :mod:`tfaudio.ops.pitch`).
``data.targets = "audio"`` (``wavenet``)
    ``generate``: ``(num_samples int32, class_ids int32 (batch,), temperature float32,
    seed int64[, local_condition (batch, frames, mels)])`` -> ``codes`` int32 and
    ``waveform`` float32 ``(batch, num_samples)``: Fast WaveNet generation
    (:meth:`tfaudio.models.WaveNetGenerator.export`), one compiled loop;
    ``features(waveform)`` -> the log-mel conditioning of a vocoder run.
    ``tfaudio.json``: ``input`` = ``"generation"``, ``receptive_field``, the network.
``data.targets = "speaker"`` (``ecapa_tdnn``, ``xvector``)
    ``serve``: float32 ``(batch, time)`` waveforms at ``sample_rate`` -> float32
    L2-normalised speaker embeddings ``(batch, embedding_size)`` (cosine score = dot
    product); ``tfaudio.json`` adds ``output`` = ``"speaker_embedding"``,
    ``l2_normalized`` and the test EER threshold ``eer_threshold``; ``labels.txt`` lists
    the training speakers of the (not exported) AAM head.
``data.targets = "separation"`` (``looking_to_listen_audio``)
    ``serve``: float32 ``(batch, time)`` waveforms of any length at ``sample_rate`` ->
    float32 ``(batch, speakers, time)``: ``eval_seconds`` windows, 50 % overlap, speakers
    aligned between windows, Hann cross-fade
    (:func:`tfaudio.train.separation.separate_long`); ``tfaudio.json`` adds ``output`` =
    ``"separated_sources"``, ``num_sources`` and the window.
``"audioset"`` (``embedding_classifier``)
    ``serve``: float32 ``(batch, frames, embedding_size)`` embeddings (every frame
    real) -> probabilities; ``serve_masked``: ``(embeddings, mask)`` with a bool
    ``(batch, frames)`` mask (True on real frames) for padded batches.

Beside the SavedModel: ``labels.txt`` (one class per line, in output order) and
``tfaudio.json`` (``input`` = ``"waveform"`` or ``"embeddings"``, ``sample_rate``,
``clip_seconds``, ``multi_label``, ``labels``, ``embedding_size``; for waveform models
also ``patch_seconds`` and ``patch_hop_seconds`` = 0.96).

Example (no tfaudio needed to serve)::

    m = tf.saved_model.load("runs/small/export")
    probs = m.serve(tf.zeros([1, 16000]))        # (1, classes)
    emb = m.embed(tf.zeros([1, 48000]))          # (1, 3, 128)
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from typing import Any

from tfaudio._version import __version__
from tfaudio.train.recipe import Recipe

CONFIG = "tfaudio.json"
PATCH_SECONDS = 0.96  # VGGish: 96 frames of 10 ms
EMBED_LAYER = "vggish"


def patch_seconds(recipe: Recipe) -> float:
    """Seconds of one front-end patch (and its hop): 0.96 with VGGish's settings."""
    from tfaudio.train.recipe import FRONTEND_RATE, log_mel_settings

    s = log_mel_settings(recipe.frontend)
    return s["patch_frames"] * s["hop_length"] / FRONTEND_RATE


def _waveform_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    """``serve`` (waveform -> probabilities) and ``embed`` (waveform -> patch embeddings)."""
    import keras
    import tensorflow as tf

    embedder = keras.Model(model.input, model.get_layer(EMBED_LAYER).output,
                           name=f"{model.name}_embed")
    spec = [tf.TensorSpec((None, None), tf.float32, name="waveform")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=spec)
    archive.add_endpoint("embed", lambda x: embedder(x, training=False), input_signature=spec)
    patch = patch_seconds(recipe)
    config = {"input": "waveform", "sample_rate": recipe.data.sample_rate,
              "clip_seconds": recipe.data.clip_seconds, "patch_seconds": patch,
              "patch_hop_seconds": patch,
              "embedding_size": int(embedder.output.shape[-1])}
    return archive, config


def _embedding_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    """``serve`` (embeddings -> probabilities) and ``serve_masked`` (embeddings, mask)."""
    import keras
    import tensorflow as tf

    size = int(model.inputs[0].shape[-1])
    emb = tf.TensorSpec((None, None, size), tf.float32, name="embeddings")
    mask = tf.TensorSpec((None, None), tf.bool, name="mask")

    def serve(e):
        return model([e, tf.ones(tf.shape(e)[:2], tf.bool)], training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[emb])
    archive.add_endpoint("serve_masked", lambda e, m: model([e, m], training=False),
                         input_signature=[emb, mask])
    config = {"input": "embeddings", "sample_rate": recipe.data.sample_rate,
              "clip_seconds": recipe.data.clip_seconds, "embedding_size": size,
              "patch_seconds": PATCH_SECONDS}
    return archive, config


def _pitch_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    from tfaudio.train.pitch import pitch_archive

    return pitch_archive(model, recipe)


def _generator_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    from tfaudio.train.wavenet import generator_archive

    return generator_archive(model, recipe)


def _speaker_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    from tfaudio.train.speaker import speaker_archive

    return speaker_archive(model, recipe)


def _separation_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    from tfaudio.train.separation import separation_archive

    return separation_archive(model, recipe)


ARCHIVES: dict[str, Callable[[Any, Recipe], tuple[Any, dict]]] = {
    "audio": _waveform_archive,
    "audioset": _embedding_archive,
    "pitch": _pitch_archive,
    "wavenet": _generator_archive,
    "speaker": _speaker_archive,
    "separation": _separation_archive,
}


def archive_kind(recipe: Recipe) -> str:
    """The :data:`ARCHIVES` key of a recipe: ``"pitch"`` for f0 targets, ``"wavenet"`` for
    audio targets, ``"speaker"`` for speaker targets, else its format."""
    return {"f0": "pitch", "audio": "wavenet", "speaker": "speaker",
            "separation": "separation"}.get(recipe.data.targets, recipe.data.format)


def export(model: Any, export_dir: str, recipe: Recipe, labels: list[str],
           extra: dict | None = None) -> str:
    """Writes the SavedModel, ``labels.txt`` and ``tfaudio.json`` to ``export_dir``
    (replacing an earlier export only once the new one is complete).

    Args:
        model: the trained Keras model of the recipe.
        export_dir: the folder to (re)write.
        recipe: the run's recipe (its ``data.format`` chooses the signatures).
        labels: class names in output order.
        extra: more ``tfaudio.json`` entries (a speaker run: ``eer_threshold``).

    Returns:
        ``export_dir``.
    """
    tmp = f"{export_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    archive, config = ARCHIVES[archive_kind(recipe)](model, recipe)
    archive.write_out(tmp, verbose=False)
    with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(labels) + "\n")
    config.update({"multi_label": recipe.data.multi_label, "labels": labels,
                   "recipe": recipe.name, "model": recipe.model.name, "tfaudio": __version__})
    config.update(extra or {})
    with open(os.path.join(tmp, CONFIG), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    shutil.rmtree(export_dir, ignore_errors=True)
    os.replace(tmp, export_dir)
    return export_dir
