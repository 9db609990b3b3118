"""Recipes: a TOML file naming everything a training run needs, validated up front.

A recipe has a top-level ``name`` and the tables ``[data]``, ``[frontend]``,
``[augment]``, ``[model]``, ``[optimizer]``, ``[schedule]`` and ``[train]`` (all
optional; every key has a default, listed in :data:`SECTIONS`). Unknown tables or keys
and values of the wrong type are errors that name the key and what is allowed, so a
typo never silently trains something else. ``--set train.epochs=3`` style overrides
go through the same checks.

Example::

    name = "vggish_small"
    [data]
    clip_seconds = 1.0
    [model]
    width = 0.25
    [train]
    epochs = 12
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class RecipeError(ValueError):
    """A recipe that cannot be run: names the file, the key and what is allowed."""


@dataclass
class Data:
    """``[data]``: where the TFRecords are and how clips are cut.

    ``format``: ``"audio"`` (a tfaudio dataset folder of raw-audio records, with
    ``dataset.json``) or ``"audioset"`` (AudioSet-format embedding records, as
    ``tfaudio embed`` writes them: a split is ``<path>/<split>/*.tfrecord`` when that
    sub-folder exists, else ``<path>/<split>*.tfrecord``; needs ``multi_label = true``
    and the model ``embedding_classifier``). ``num_classes``: for ``"audioset"``, 0 =
    from ``labels.txt`` or ``class_labels_indices.csv`` in the data folder. ``max_frames``:
    for ``"audioset"``, pad/truncate every clip to this many frames (0 = pad each batch
    to its longest clip).

    ``path`` empty (``"audio"`` only): the built-in synthetic dataset is written into the
    run folder (``synth_clips_per_class`` clips per class).
    """

    path: str = ""
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    multi_label: bool = False
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    cache: bool = True
    synth_clips_per_class: int = 100
    format: str = "audio"
    num_classes: int = 0
    max_frames: int = 0


@dataclass
class Frontend:
    """``[frontend]``: the model's input features (``vggish``: the exact VGGish log-mel)."""

    name: str = "vggish"
    pad_short: bool = True


@dataclass
class Augment:
    """``[augment]``: in-graph augmentation, training only. 0 / empty turns a part off."""

    noise_snr_db: list = field(default_factory=lambda: [15.0, 40.0])
    noise_p: float = 0.5
    gain_db: list = field(default_factory=lambda: [-6.0, 6.0])
    gain_p: float = 1.0
    freq_mask: int = 8
    time_mask: int = 16
    n_freq_masks: int = 1
    n_time_masks: int = 1


@dataclass
class Model:
    """``[model]``: the builder and its arguments.

    ``vggish_classifier`` uses ``width``, ``embedding_size``, ``pooling``, ``batch_norm``
    and ``dropout``; ``embedding_classifier`` (``data.format = "audioset"``) uses
    ``embedding_size`` (the records' embedding size), ``hidden_units`` (per-frame MLP),
    ``pooling`` and ``dropout``.
    """

    name: str = "vggish_classifier"
    width: float = 1.0
    embedding_size: int = 128
    pooling: str = "mean"
    batch_norm: bool = False
    dropout: float = 0.0
    hidden_units: list = field(default_factory=lambda: [512])


@dataclass
class Optimizer:
    """``[optimizer]``: ``adam``, ``adamw`` or ``sgd`` (momentum 0.9)."""

    name: str = "adam"
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    epsilon: float = 1e-8
    clipnorm: float = 0.0


@dataclass
class Schedule:
    """``[schedule]``: ``constant``, ``cosine`` (to ``min_fraction``) or ``exponential``
    (``decay_rate`` per epoch), after ``warmup_epochs`` of linear warm-up."""

    name: str = "constant"
    warmup_epochs: float = 0.0
    min_fraction: float = 0.0
    decay_rate: float = 0.5


@dataclass
class Train:
    """``[train]``: the loop. ``patience`` 0 turns early stopping off."""

    epochs: int = 10
    batch_size: int = 32
    seed: int = 0
    jit_compile: bool = True
    monitor: str = "val_loss"
    patience: int = 0
    restore_best: bool = True
    metrics: list = field(default_factory=lambda: ["accuracy"])
    tensorboard_examples: int = 4


SECTIONS = {"data": Data, "frontend": Frontend, "augment": Augment, "model": Model,
            "optimizer": Optimizer, "schedule": Schedule, "train": Train}
CHOICES = {
    ("frontend", "name"): ("vggish",),
    ("data", "format"): ("audio", "audioset"),
    ("model", "name"): ("vggish_classifier", "embedding_classifier"),
    ("model", "pooling"): ("mean", "attention"),
    ("optimizer", "name"): ("adam", "adamw", "sgd"),
    ("schedule", "name"): ("constant", "cosine", "exponential"),
}
METRICS = ("accuracy", "top5_accuracy", "auc", "pr_auc")


@dataclass
class Recipe:
    """A validated recipe; ``source`` is the file it came from (for messages)."""

    name: str = "run"
    data: Data = field(default_factory=Data)
    frontend: Frontend = field(default_factory=Frontend)
    augment: Augment = field(default_factory=Augment)
    model: Model = field(default_factory=Model)
    optimizer: Optimizer = field(default_factory=Optimizer)
    schedule: Schedule = field(default_factory=Schedule)
    train: Train = field(default_factory=Train)
    source: str = "<recipe>"

    def to_dict(self) -> dict:
        """The recipe as nested plain data (``source`` left out)."""
        out: dict[str, Any] = {"name": self.name}
        for section in SECTIONS:
            out[section] = dataclasses.asdict(getattr(self, section))
        return out

    def to_toml(self) -> str:
        """TOML text that :func:`loads` reads back to an equal recipe."""
        lines = [f"name = {_toml_value(self.name)}", ""]
        for section, values in self.to_dict().items():
            if section == "name":
                continue
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
            lines.append("")
        return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _typed(where: str, key: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default``, or a RecipeError."""
    kind = type(default)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is list:
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise RecipeError(f"{where}: {key} = {value!r} must be {kind.__name__} "
                          f"(like the default {default!r})")
    return value


def _check_values(recipe: Recipe) -> None:
    src = recipe.source
    for (section, key), allowed in CHOICES.items():
        value = getattr(getattr(recipe, section), key)
        if value not in allowed:
            raise RecipeError(f"{src}: {section}.{key} = {value!r} is not allowed; choose from "
                              f"{list(allowed)}")
    positive = [("data", "sample_rate"), ("data", "clip_seconds"), ("model", "width"),
                ("model", "embedding_size"), ("optimizer", "learning_rate"),
                ("train", "epochs"), ("train", "batch_size"), ("data", "synth_clips_per_class")]
    for section, key in positive:
        if getattr(getattr(recipe, section), key) <= 0:
            raise RecipeError(f"{src}: {section}.{key} = "
                              f"{getattr(getattr(recipe, section), key)!r} must be > 0")
    _check_format(recipe)
    sr = recipe.data.sample_rate
    if not 4000 <= sr <= 192000:
        raise RecipeError(f"{src}: data.sample_rate = {sr} is outside 4000..192000 Hz")
    for section, key in [("model", "dropout"), ("augment", "noise_p"), ("augment", "gain_p"),
                         ("schedule", "min_fraction")]:
        value = getattr(getattr(recipe, section), key)
        if not 0.0 <= value <= 1.0:
            raise RecipeError(f"{src}: {section}.{key} = {value!r} must be in [0, 1]")
    for key in ("noise_snr_db", "gain_db"):
        value = getattr(recipe.augment, key)
        if value and (len(value) != 2 or not all(isinstance(v, (int, float)) for v in value)
                      or value[0] > value[1]):
            raise RecipeError(f"{src}: augment.{key} = {value!r} must be [low, high] "
                              "(or [] for none)")
    unknown = [m for m in recipe.train.metrics if m not in METRICS]
    if unknown:
        raise RecipeError(f"{src}: train.metrics {unknown} unknown; allowed {list(METRICS)}")
    logged = ["loss", *recipe.train.metrics]
    monitors = [*logged, *(f"val_{m}" for m in logged)]
    if recipe.train.monitor not in monitors:
        raise RecipeError(f"{src}: train.monitor = {recipe.train.monitor!r} is not logged; "
                          f"choose from {monitors} (metrics come from train.metrics)")
    if recipe.data.multi_label and "top5_accuracy" in recipe.train.metrics:
        raise RecipeError(f"{src}: train.metrics 'top5_accuracy' needs single-label data")


MODEL_FOR_FORMAT = {"audio": "vggish_classifier", "audioset": "embedding_classifier"}


def _check_format(recipe: Recipe) -> None:
    """The data format, the model and the format's own keys agree."""
    src, d, m = recipe.source, recipe.data, recipe.model
    want = MODEL_FOR_FORMAT[d.format]
    if m.name != want:
        raise RecipeError(f"{src}: model.name = {m.name!r} does not read data.format = "
                          f"{d.format!r}; that format needs model.name = {want!r}")
    for key in ("num_classes", "max_frames"):
        if getattr(d, key) < 0:
            raise RecipeError(f"{src}: data.{key} = {getattr(d, key)!r} must be >= 0")
    bad = [u for u in m.hidden_units if not isinstance(u, int) or isinstance(u, bool) or u < 1]
    if bad:
        raise RecipeError(f"{src}: model.hidden_units = {m.hidden_units!r} must be a list of "
                          "positive ints (or [] for none)")
    if d.format == "audioset":
        if not d.multi_label:
            raise RecipeError(f"{src}: data.format = 'audioset' is multi-label (AudioSet "
                              "labels); set data.multi_label = true")


def check(recipe: Recipe) -> Recipe:
    """Validates a (possibly edited) recipe's values; returns it. Raises RecipeError."""
    _check_values(recipe)
    return recipe


def from_dict(table: dict, source: str = "<recipe>") -> Recipe:
    """Builds and validates a :class:`Recipe` from parsed TOML."""
    allowed_top = ["name", *SECTIONS]
    unknown = [k for k in table if k not in allowed_top]
    if unknown:
        raise RecipeError(f"{source}: unknown key(s) {unknown}; a recipe has {allowed_top}")
    recipe = Recipe(source=source)
    if "name" in table:
        recipe.name = _typed(source, "name", table["name"], "")
    for section, cls in SECTIONS.items():
        values = table.get(section, {})
        if not isinstance(values, dict):
            raise RecipeError(f"{source}: [{section}] must be a table")
        defaults = cls()
        allowed = [f.name for f in dataclasses.fields(cls)]
        bad = [k for k in values if k not in allowed]
        if bad:
            raise RecipeError(f"{source}: unknown key(s) {bad} in [{section}]; allowed keys: "
                              f"{allowed}")
        kwargs = {k: _typed(source, f"{section}.{k}", v, getattr(defaults, k))
                  for k, v in values.items()}
        setattr(recipe, section, cls(**{**dataclasses.asdict(defaults), **kwargs}))
    _check_values(recipe)
    return recipe


def loads(text: str, source: str = "<recipe>") -> Recipe:
    """Parses recipe TOML text."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{source}: not valid TOML ({err})") from err
    return from_dict(table, source)


def load(path: str, overrides: list[str] | None = None) -> Recipe:
    """Reads a recipe file and applies ``key=value`` overrides (``--set``).

    Args:
        path: the ``.toml`` file.
        overrides: ``"section.key=value"`` strings; values are TOML (``3``, ``1e-3``,
            ``true``, ``[1, 2]``, ``"text"``; a bare word is taken as a string).

    Raises:
        FileNotFoundError: no such recipe. RecipeError: invalid TOML, unknown keys,
        wrong types or values.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"recipe not found: {path}")
    with open(path, "rb") as f:
        try:
            table = tomllib.load(f)
        except tomllib.TOMLDecodeError as err:
            raise RecipeError(f"{path}: not valid TOML ({err})") from err
    return from_dict(apply_overrides(table, overrides or [], path), path)


def apply_overrides(table: dict, overrides: list[str], source: str = "<recipe>") -> dict:
    """``table`` with ``section.key=value`` overrides applied (a new dict)."""
    table = {k: dict(v) if isinstance(v, dict) else v for k, v in table.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"--set {item!r}: expected section.key=value")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        if key == "name":
            table["name"] = value
            continue
        section, dot, name = key.partition(".")
        if not dot or section not in SECTIONS:
            raise RecipeError(f"--set {item!r}: {key!r} is not section.key; sections: "
                              f"{list(SECTIONS)}")
        table.setdefault(section, {})[name] = value
    return table
