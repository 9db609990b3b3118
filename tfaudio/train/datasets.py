"""The data side of a run, one small function per ``[data] format``.

``"audio"``: a tfaudio dataset folder (``dataset.json`` names the splits, their clip
counts and the label vocabulary) read with :func:`tfaudio.data.audio_dataset`.

``"audioset"``: AudioSet-format embedding records (``tfaudio embed`` writes them) read
with :func:`tfaudio.data.audioset_dataset`. A split is the files
``<path>/<split>/*.tfrecord`` when that sub-folder exists, else ``<path>/<split>*.tfrecord``
(e.g. ``train-00000-of-00002.tfrecord``). The classes are the lines of
``<path>/labels.txt`` (``tfaudio embed --out`` writes the export's labels there), else
the ``display_name`` column of ``<path>/class_labels_indices.csv`` (AudioSet's release),
else ``data.num_classes`` numbered classes. Clip counts are counted from the records.

Example::

    info = read_data(recipe, "embeddings/")     # RunData(path, labels, counts)
    ds = make_dataset(recipe, info.path, "train", True, len(info.labels))
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tfaudio.train.recipe import Recipe, RecipeError


@dataclass
class RunData:
    """What a run needs to know about its data folder."""

    path: str
    labels: list[str]
    counts: dict[str, int]  # split -> clips, for the splits present

    def count(self, split: str) -> int:
        """Clips of ``split``; ValueError naming the splits there are."""
        if split not in self.counts:
            raise ValueError(f"{self.path}: no split {split!r}; the dataset has "
                             f"{sorted(self.counts)}")
        return self.counts[split]


# ----------------------------------------------------------------- "audio"
def _read_audio(recipe: Recipe, path: str) -> RunData:
    from tfaudio import data as tfd

    manifest = tfd.read_manifest(path)
    labels = [str(x) for x in manifest.get("label_vocabulary", [])]
    counts = {name: int(s["clips"]) for name, s in manifest.get("splits", {}).items()}
    return RunData(path, labels, counts)


def _audio_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                   batch_size: int) -> Any:
    from tfaudio.data import audio_dataset

    d = recipe.data
    if d.targets == "audio":  # WaveNet: windows of the waveform, their codes as targets
        from tfaudio.train import wavenet

        return wavenet.make_dataset(recipe, path, split, training, num_classes, batch_size)

    if d.targets == "speaker":
        from tfaudio.train.speaker import speaker_dataset

        return speaker_dataset(recipe, path, split, training, num_classes, batch_size)
    if d.targets == "separation":  # mixtures made on the fly, the clean sources as targets
        from tfaudio.train.separation import separation_dataset

        return separation_dataset(recipe, path, split, training, batch_size)
    return audio_dataset(
        path, split=split, sample_rate=d.sample_rate, clip_seconds=d.clip_seconds,
        random_crop=training, batch_size=batch_size, shuffle=training, cache=d.cache,
        repeat=False, labels="multi_hot" if d.multi_label else "int",
        num_classes=num_classes, seed=recipe.train.seed, mono=True,
        deterministic=d.deterministic or None, targets=d.targets,
        f0_hop_seconds=recipe.model.step_size / 1000.0)


# ----------------------------------------------------------------- "audioset"
def _split_pattern(path: str, split: str) -> str:
    folder = os.path.join(path, split)
    if os.path.isdir(folder):
        return os.path.join(folder, "*.tfrecord")
    return os.path.join(path, f"{split}*.tfrecord")


def split_files(path: str, split: str) -> list[str]:
    """The TFRecord files of an AudioSet-format split (see the module doc)."""
    return sorted(glob.glob(_split_pattern(path, split)))


def audioset_labels(recipe: Recipe, path: str) -> list[str]:
    """Class names of an AudioSet-format folder (``labels.txt``, ``class_labels_indices.csv``
    or ``data.num_classes``); RecipeError when none gives them or they disagree."""
    n = recipe.data.num_classes
    labels: list[str] = []
    txt, csv_path = os.path.join(path, "labels.txt"), os.path.join(path,
                                                                  "class_labels_indices.csv")
    if os.path.isfile(txt):
        with open(txt, encoding="utf-8") as f:
            labels = [line.rstrip("\n") for line in f if line.strip()]
    elif os.path.isfile(csv_path):
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"index", "display_name"} <= set(rows[0]):
            raise ValueError(f"{csv_path}: expected columns index,mid,display_name")
        labels = [r["display_name"] for r in sorted(rows, key=lambda r: int(r["index"]))]
    if not labels:
        if not n:
            raise RecipeError(f"{recipe.source}: data.num_classes = 0 but {path} has no "
                              "labels.txt or class_labels_indices.csv; set data.num_classes")
        return [str(i) for i in range(n)]
    if n and n != len(labels):
        raise RecipeError(f"{recipe.source}: data.num_classes = {n} but {path} lists "
                          f"{len(labels)} classes; set it to 0 (from the file) or {len(labels)}")
    return labels


def _read_audioset(recipe: Recipe, path: str) -> RunData:
    import tensorflow as tf

    d = recipe.data
    counts = {}
    for split in dict.fromkeys(s for s in (d.train_split, d.val_split, d.test_split) if s):
        files = split_files(path, split)
        if files:
            counts[split] = sum(1 for _ in tf.data.TFRecordDataset(files))
    if not counts:
        raise FileNotFoundError(f"{path}: no AudioSet-format records (expected "
                                f"{d.train_split}/*.tfrecord or {d.train_split}*.tfrecord, "
                                "e.g. from `tfaudio embed ... --out DIR --prefix train`)")
    return RunData(path, audioset_labels(recipe, path), counts)


def _audioset_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                      batch_size: int) -> Any:
    from tfaudio.data import audioset_dataset

    d = recipe.data
    ds = audioset_dataset(_split_pattern(path, split), num_classes=num_classes,
                          batch_size=batch_size, shuffle=training,
                          max_frames=d.max_frames or None, seed=recipe.train.seed)
    return ds.cache() if d.cache and not training else ds


READERS: dict[str, Callable[[Recipe, str], RunData]] = {
    "audio": _read_audio, "audioset": _read_audioset}
DATASETS: dict[str, Callable[..., Any]] = {
    "audio": _audio_dataset, "audioset": _audioset_dataset}


def read_data(recipe: Recipe, path: str) -> RunData:
    """Labels and split sizes of the data folder ``path`` in the recipe's format."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"data folder not found: {path}")
    return READERS[recipe.data.format](recipe, path)


def split_file_count(recipe: Recipe, path: str, split: str) -> int:
    """TFRecord files of ``split`` (what sharding by file divides among workers)."""
    if recipe.data.format == "audioset":
        return len(split_files(path, split))
    from tfaudio import data as tfd

    return len(tfd.read_manifest(path)["splits"].get(split, {}).get("shards", []))


def make_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                 batch_size: int | None = None) -> Any:
    """A split as the recipe reads it (training: shuffled; audio: random crops).

    Returns:
        ``tf.data.Dataset`` of ``(features, labels)``: waveforms ``(batch, time)`` for
        ``"audio"`` (with ``data.targets = "f0"`` the targets are f0 in Hz
        ``(batch, frames)``, a frame every ``model.step_size`` ms; with ``data.targets =
        "audio"`` the features are ``(waveform, label)`` windows of ``receptive_field +
        model.sample_size`` samples and the targets their mu-law codes; with ``"speaker"``
        training crops have one random length per batch: :mod:`tfaudio.train.speaker`);
        ``(embeddings (batch, frames, 128), mask (batch, frames))`` for ``"audioset"``.
    """
    return DATASETS[recipe.data.format](recipe, path, split, training, num_classes,
                                        batch_size or recipe.train.batch_size)
