"""Export: a SavedModel that serves raw waveforms, with its labels and settings beside it.

The export folder holds the SavedModel (signature ``serve``: float32 ``(batch, time)``
waveforms at ``sample_rate`` -> ``(batch, classes)`` probabilities; augmentation is not
in the graph), ``labels.txt`` (one class per line, in output order) and
``tfaudio.json`` (``sample_rate``, ``clip_seconds``, ``multi_label``, ``labels``), so
it serves with plain TensorFlow and no tfaudio code.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from tfaudio._version import __version__
from tfaudio.train.recipe import Recipe

CONFIG = "tfaudio.json"


def export(model: Any, export_dir: str, recipe: Recipe, labels: list[str]) -> str:
    """Writes the SavedModel, ``labels.txt`` and ``tfaudio.json`` to ``export_dir``
    (replacing an earlier export only once the new one is complete)."""
    import tensorflow as tf

    tmp = f"{export_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.export(tmp, format="tf_saved_model", verbose=False,
                 input_signature=[tf.TensorSpec((None, None), tf.float32, name="waveform")])
    with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(labels) + "\n")
    config = {"sample_rate": recipe.data.sample_rate, "clip_seconds": recipe.data.clip_seconds,
              "multi_label": recipe.data.multi_label, "labels": labels,
              "recipe": recipe.name, "model": recipe.model.name, "tfaudio": __version__}
    with open(os.path.join(tmp, CONFIG), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    shutil.rmtree(export_dir, ignore_errors=True)
    os.replace(tmp, export_dir)
    return export_dir
