"""Recipes: a TOML file naming everything a training run needs, validated up front.

A recipe has a top-level ``name`` and the tables ``[data]``, ``[frontend]``,
``[augment]``, ``[model]``, ``[optimizer]``, ``[schedule]`` and ``[train]`` (all
optional; every key has a default, listed in :data:`SECTIONS`). Unknown tables or keys
and values of the wrong type are errors that name the key and what is allowed, so a
typo never silently trains something else. ``--set train.epochs=3`` style overrides
go through the same checks.

An optional ``[tune]`` table is the search space of ``tfaudio tune`` (``tfaudio train``
validates it and otherwise ignores it). Its settings (:class:`Tune`):

- ``algorithm``: ``random``, ``bayesian`` or ``hyperband`` (keras-tuner's oracles);
- ``trials``: how many trials (hyperband: at most this many);
- ``epochs``: epochs per trial (hyperband: the most epochs a trial reaches); 0: ``train.epochs``;
- ``objective``: the logged metric to optimise, ``""``: ``train.monitor``; minimised when
  its name contains ``loss``, else maximised; a trial scores its best epoch;
- ``factor``: hyperband's reduction factor; ``initial_points``: bayesian's random trials
  before the Gaussian process (0: keras-tuner's default, 3 x the number of tuned keys).

Its sub-tables ``[tune.<section>]`` name recipe keys to search, each either a list of
choices (values of that key's type; a list-valued key such as ``augment.noise_snr_db``
takes a list of lists) or a range table ``{min, max}`` for a number key, with optional
``step`` or ``log = true`` (log needs ``min > 0``). Every value is type-checked at load;
whether a combination is valid (e.g. ``n_fft`` shorter than the window) is checked per
trial, and an invalid one is recorded as a failed trial. ``data.path`` and
``data.synth_clips_per_class`` cannot be tuned (all trials share one dataset)::

    [tune]
    algorithm = "bayesian"
    trials = 8
    epochs = 4
    [tune.frontend]
    n_mels = [32, 64, 96]
    [tune.optimizer]
    learning_rate = {min = 3e-4, max = 3e-3, log = true}
    [tune.augment]
    noise_snr_db = [[10.0, 30.0], [20.0, 40.0]]

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

import copy
import dataclasses
import os
import sys
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# the audio stream's conv layers (len(tfaudio.models.separation.AUDIO_STREAM)): recipes
# are checked before Keras is imported
L2L_CONV_LAYERS = 15
MAX_SHIFTS = 16  # model.shifts: each one more pass of the network per call


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

    ``deterministic``: the same record order on every run with the same seed (reads a
    little slower); otherwise shuffled reads take records as the parallel reads finish.
    Random crop offsets of clips longer than ``clip_seconds`` are not yet reproducible.

    ``targets``: ``"label"`` (class labels, the classifiers), ``"f0"`` (per-frame f0 in
    Hz from the records' pitch tracks, ``format = "audio"`` and ``model.name = "crepe"``
    only: frames every ``model.step_size`` ms, centred as CREPE's) or ``"audio"`` (the
    audio itself, next-sample prediction: ``model.name = "wavenet"`` only; windows of
    ``receptive_field + model.sample_size`` samples at random offsets, each clip's label
    as the global condition when ``model.global_condition``). ``synth_classes``: the
    classes of the built-in synthetic dataset (empty: all of
    :data:`tfaudio.data.SYNTH_CLASSES`; fixed-pitch tones as ``tone_<hz>``, e.g.
    ``tone_440``; ignored when a data folder is given).

    ``targets = "speaker"`` (``model.name`` ``"ecapa_tdnn"`` or ``"xvector"``): speaker
    labels, AAM-softmax training over the training speakers and verification on
    held-out speakers (:mod:`tfaudio.train.speaker`). The built-in data is then
    :func:`tfaudio.data.synth_speakers` with ``synth_speakers`` speakers in all, of
    which ``synth_test_speakers`` are held out for the trials, ``synth_utterances``
    utterances each of ``synth_seconds`` = ``[min, max]`` seconds and ``synth_trials``
    trials. ``crop_seconds = [min, max]``: training crops of a length drawn per batch
    from ``min..max`` in 0.25 s steps (``[]``: every crop ``clip_seconds``).

    ``targets = "separation"`` (``model.name = "looking_to_listen_audio"``): mixtures of
    ``num_sources`` clips of different labels (speakers) made on the fly
    (:func:`tfaudio.data.mixture_dataset`), the second and later at ``+- level_db`` dB
    relative to the first, ``clip_seconds`` long for training; the test split's
    mixtures (:func:`tfaudio.data.mixture_set`; ``eval_mixtures`` of them, 0 = one per
    test clip) are ``eval_seconds`` long, the length the export's windows have
    (:mod:`tfaudio.train.separation`). The built-in data are the synthetic speakers, as
    for ``"speaker"``.
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
    deterministic: bool = False
    format: str = "audio"
    num_classes: int = 0
    max_frames: int = 0
    targets: str = "label"
    synth_classes: list = field(default_factory=list)
    synth_speakers: int = 120
    synth_test_speakers: int = 20
    synth_utterances: int = 20
    synth_seconds: list = field(default_factory=lambda: [3.0, 5.0])
    synth_trials: int = 4000
    crop_seconds: list = field(default_factory=list)
    num_sources: int = 2
    level_db: float = 5.0
    eval_seconds: float = 3.0
    eval_mixtures: int = 0


@dataclass
class Frontend:
    """``[frontend]``: the model's input features, computed at 16 kHz in the graph.

    ``vggish`` with the defaults is VGGish's exact log-mel (25 ms windows, 10 ms hop,
    512-point FFT, 64 mel bands 125-7500 Hz, 0.96 s patches); the other keys change it
    (e.g. in a ``[tune]`` search) and keep the recipe.
    """

    name: str = "vggish"
    pad_short: bool = True
    n_mels: int = 64
    window_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    f_min: float = 125.0
    f_max: float = 7500.0
    patch_seconds: float = 0.96


@dataclass
class Augment:
    """``[augment]``: in-graph augmentation, training only. 0 / empty turns a part off.

    Waveform: ``noise_snr_db`` (:class:`~tfaudio.layers.AddNoise`), ``gain_db``
    (:class:`~tfaudio.layers.RandomGain`), ``reverb_p`` (:class:`~tfaudio.layers.Reverb`
    with a fixed bank of 16 synthetic exponentially decaying impulse responses, RT60
    0.2-0.8 s; speaker recipes only) and ``speed_factors`` (:class:`~tfaudio.layers.
    SpeedPerturbation`, one factor per batch; speaker recipes only; off by default:
    it shifts formants, i.e. the voice). Spectrogram: SpecAugment masks.
    """

    noise_snr_db: list = field(default_factory=lambda: [15.0, 40.0])
    noise_p: float = 0.5
    gain_db: list = field(default_factory=lambda: [-6.0, 6.0])
    gain_p: float = 1.0
    freq_mask: int = 8
    time_mask: int = 16
    n_freq_masks: int = 1
    n_time_masks: int = 1
    reverb_p: float = 0.0
    speed_factors: list = field(default_factory=list)
    speed_p: float = 1.0


@dataclass
class Model:
    """``[model]``: the builder and its arguments.

    ``vggish_classifier`` uses ``width``, ``embedding_size``, ``pooling``, ``batch_norm``
    and ``dropout``; ``embedding_classifier`` (``data.format = "audioset"``) uses
    ``embedding_size`` (the records' embedding size), ``hidden_units`` (per-frame MLP),
    ``pooling`` and ``dropout``. ``crepe`` (``data.targets = "f0"``) uses ``capacity``
    (``"tiny"``, ``"small"``, ``"medium"``, ``"large"``, ``"full"`` or a positive integer
    filter multiplier as text, e.g. ``"2"``: see :func:`tfaudio.models.crepe`),
    ``step_size`` (ms between frames) and ``dropout`` (after each block; the paper's is
    0.25); it reads no ``[frontend]`` or ``[augment]``.

    ``wavenet`` (``data.targets = "audio"``: :func:`tfaudio.models.wavenet`) uses
    ``quantization_channels``, ``residual_channels``, ``dilation_channels``,
    ``skip_channels``, ``dilations`` (one per layer), ``filter_width``, ``use_bias``,
    ``sample_size`` (training windows are ``receptive_field + sample_size`` samples;
    the loss counts the ``sample_size`` positions with a full receptive field),
    ``global_condition`` (condition on the clip's label; ``global_condition_channels``
    0 = ``dilation_channels``), and for local conditioning on the audio's own log-mel
    (a vocoder: :func:`tfaudio.models.wavenet_mel`) ``local_condition_mels`` (0 = none)
    with ``upsample_factors`` (their product is the mel hop); it reads no
    ``[frontend]`` or ``[augment]``.

    ``ecapa_tdnn`` and ``xvector`` (``data.targets = "speaker"``) are speaker embedding
    models (:func:`tfaudio.models.ecapa_tdnn`, :func:`tfaudio.models.xvector`) on their own
    front end ``frontend`` (``"logmel"`` or ``"mfcc"``, ``n_mels`` bands, 25 / 10 ms; the
    ``[frontend]`` table is not read), trained through an AAM-softmax head
    (``aam_margin``, ``aam_scale``; the margin ramps up from 0 over
    ``margin_warmup_epochs``). ``ecapa_tdnn`` uses ``channels`` (C), ``mfa_channels`` (0:
    the paper's 1536) and ``embedding_size``; ``xvector`` uses ``width`` and ``embedding_size``.

    ``looking_to_listen_audio`` (``data.targets = "separation"``:
    :func:`tfaudio.models.looking_to_listen_audio`) uses ``width`` (conv filters, LSTM
    and fully connected units), ``merge`` (``"concat"`` or ``"sum"`` of the BLSTM's
    directions), ``dropout``, ``loss`` (``"si_sdr"``: permutation-invariant SI-SDR;
    ``"power_law"``: the paper's compressed-spectrogram L2), the STFT's ``window_ms`` and
    ``hop_ms`` (the paper's 25 / 10), ``head_width`` (LSTM and fully connected units; 0 =
    ``width``), ``magnitude_input`` (the compressed magnitude as a third input channel),
    ``mask_init`` (``"glorot"`` or ``"even"``: masks start at ``1 / num_sources``),
    ``conv_layers`` (how many of the 15 conv layers run; 0: none), ``input_norm``
    (batch norm on each bin and channel of the compressed input), ``complex_input``
    (``false``: the compressed magnitude alone) and ``mask`` (``"complex"``: the bounded
    cRM; ``"ratio"``: a real mask in (0, 1)) and ``shifts`` (evaluation, export and
    ``tfaudio separate`` average this many separations of sub-hop delayed copies of the
    input; training runs one); it reads no ``[frontend]`` or ``[augment]``.
    """

    name: str = "vggish_classifier"
    width: float = 1.0
    embedding_size: int = 128
    pooling: str = "mean"
    batch_norm: bool = False
    dropout: float = 0.0
    hidden_units: list = field(default_factory=lambda: [512])
    capacity: str = "tiny"
    step_size: float = 10.0
    quantization_channels: int = 256
    residual_channels: int = 32
    dilation_channels: int = 32
    skip_channels: int = 512
    dilations: list = field(default_factory=lambda: [2 ** i for i in range(10)] * 5)
    filter_width: int = 2
    use_bias: bool = True
    sample_size: int = 4000
    global_condition: bool = True
    global_condition_channels: int = 0
    local_condition_mels: int = 0
    upsample_factors: list = field(default_factory=list)
    frontend: str = "logmel"
    channels: int = 512
    mfa_channels: int = 0
    n_mels: int = 80
    aam_margin: float = 0.2
    aam_scale: float = 30.0
    margin_warmup_epochs: float = 0.0
    merge: str = "concat"
    loss: str = "si_sdr"
    window_ms: float = 25.0
    hop_ms: float = 10.0
    head_width: float = 0.0
    magnitude_input: bool = False
    mask_init: str = "glorot"
    conv_layers: int = L2L_CONV_LAYERS
    input_norm: bool = False
    complex_input: bool = True
    mask: str = "complex"
    shifts: int = 1


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
    """``[train]``: the loop. ``patience`` 0 turns early stopping off.

    ``strategy``: ``default`` (one device), ``mirrored`` (``tf.distribute.
    MirroredStrategy`` over the local GPUs, or CPU replicas) or ``multiworker``
    (``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``). ``batch_size`` is the global
    batch, split across replicas. ``export`` false skips the SavedModel at the end (the
    checkpoints still serve ``evaluate``, ``predict`` and ``--resume``; ``tfaudio tune``
    trials and quick experiments need no export).
    """

    epochs: int = 10
    batch_size: int = 32
    seed: int = 0
    jit_compile: bool = True
    monitor: str = "val_loss"
    patience: int = 0
    restore_best: bool = True
    metrics: list = field(default_factory=lambda: ["accuracy"])
    tensorboard_examples: int = 4
    strategy: str = "default"
    export: bool = True


@dataclass
class Tune:
    """``[tune]``: the settings of ``tfaudio tune`` and its search ``space``.

    ``space`` maps section -> key -> a list of choices or a ``{min, max[, step][, log]}``
    range (see the module docstring); it is written back as ``[tune.<section>]`` tables.
    """

    algorithm: str = "random"
    trials: int = 8
    epochs: int = 0
    objective: str = ""
    factor: int = 3
    initial_points: int = 0
    space: dict = field(default_factory=dict)


SECTIONS = {"data": Data, "frontend": Frontend, "augment": Augment, "model": Model,
            "optimizer": Optimizer, "schedule": Schedule, "train": Train}
CHOICES = {
    ("frontend", "name"): ("vggish",),
    ("data", "format"): ("audio", "audioset"),
    ("data", "targets"): ("label", "f0", "audio", "speaker", "separation"),
    ("model", "name"): ("vggish_classifier", "embedding_classifier", "crepe", "wavenet",
                        "ecapa_tdnn", "xvector", "looking_to_listen_audio"),
    ("model", "merge"): ("concat", "sum"),
    ("model", "loss"): ("si_sdr", "power_law"),
    ("model", "frontend"): ("logmel", "mfcc"),
    ("model", "pooling"): ("mean", "attention"),
    ("optimizer", "name"): ("adam", "adamw", "sgd"),
    ("schedule", "name"): ("constant", "cosine", "exponential"),
    ("train", "strategy"): ("default", "mirrored", "multiworker"),
}
ALGORITHMS = ("random", "bayesian", "hyperband")
TUNE_SETTINGS = [f.name for f in dataclasses.fields(Tune) if f.name != "space"]
NOT_TUNABLE = {("data", "path"): "all trials read one dataset",
               ("data", "synth_clips_per_class"): "all trials read one dataset",
               ("data", "synth_classes"): "all trials read one dataset",
               **{("data", k): "all trials read one dataset" for k in (
                   "synth_speakers", "synth_test_speakers", "synth_utterances",
                   "synth_seconds", "synth_trials")}}
RANGE_KEYS = ("min", "max", "step", "log")
FRONTEND_RATE = 16000  # the front end's sample rate (the model resamples to it)
METRICS = ("accuracy", "top5_accuracy", "auc", "pr_auc")
PITCH_METRICS = ("rpa", "rca")  # data.targets = "f0": raw pitch / chroma accuracy
PITCH_MODEL = "crepe"
WAVENET_METRICS = ("bits_per_sample", "accuracy")  # data.targets = "audio": next-code
WAVENET_MODEL = "wavenet"
CREPE_NAMES = ("tiny", "small", "medium", "large", "full")
SPEAKER_MODELS = ("ecapa_tdnn", "xvector")
SPEAKER_METRICS = ("accuracy", "top5_accuracy")  # of the AAM head on the training speakers
SEPARATION_MODEL = "looking_to_listen_audio"


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
    tune: Tune | None = None
    source: str = "<recipe>"

    def to_dict(self) -> dict:
        """The recipe as nested plain data (``source`` left out; ``tune`` only if set)."""
        out: dict[str, Any] = {"name": self.name}
        for section in SECTIONS:
            out[section] = dataclasses.asdict(getattr(self, section))
        if self.tune is not None:
            out["tune"] = dataclasses.asdict(self.tune)
        return out

    def to_toml(self) -> str:
        """TOML text that :func:`loads` reads back to an equal recipe."""
        lines = [f"name = {_toml_value(self.name)}", ""]
        for section, values in self.to_dict().items():
            if section == "name":
                continue
            space = values.pop("space", {}) if section == "tune" else {}
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
            lines.append("")
            for sub, keys in space.items():
                lines.append(f"[tune.{sub}]")
                lines += [f"{key} = {_toml_value(value)}" for key, value in keys.items()]
                lines.append("")
        return "\n".join(lines)

    def without_tune(self) -> Recipe:
        """A (deep) copy of the recipe with no ``[tune]`` table."""
        out = copy.deepcopy(self)
        out.tune = None
        return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def toml_value(value: Any) -> str:
    """``value`` as TOML text (what ``--set key=...`` and :func:`apply_overrides` read)."""
    return _toml_value(value)


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
    allowed = {"f0": PITCH_METRICS, "audio": WAVENET_METRICS,
               "speaker": SPEAKER_METRICS, "separation": ()}.get(recipe.data.targets, METRICS)
    unknown = [m for m in recipe.train.metrics if m not in allowed]
    if unknown:
        raise RecipeError(f"{src}: train.metrics {unknown} unknown for data.targets = "
                          f"{recipe.data.targets!r}; allowed {list(allowed)}")
    logged = ["loss", *recipe.train.metrics]
    monitors = [*logged, *(f"val_{m}" for m in logged)]
    if recipe.train.monitor not in monitors:
        raise RecipeError(f"{src}: train.monitor = {recipe.train.monitor!r} is not logged; "
                          f"choose from {monitors} (metrics come from train.metrics)")
    _check_frontend(recipe)
    _check_synth_classes(recipe)
    if recipe.tune is not None:
        _check_tune(recipe, monitors)
    if recipe.data.multi_label and "top5_accuracy" in recipe.train.metrics:
        raise RecipeError(f"{src}: train.metrics 'top5_accuracy' needs single-label data")


def log_mel_settings(frontend: Frontend) -> dict:
    """``[frontend]`` in samples at 16 kHz: the keyword arguments of
    :class:`tfaudio.models.LogMel` (``n_mels``, ``window_length``, ``hop_length``,
    ``n_fft``, ``f_min``, ``f_max``, ``patch_frames``)."""
    ms = FRONTEND_RATE / 1000.0
    hop = max(1, round(frontend.hop_ms * ms))
    return {"n_mels": frontend.n_mels, "window_length": max(1, round(frontend.window_ms * ms)),
            "hop_length": hop, "n_fft": frontend.n_fft, "f_min": frontend.f_min,
            "f_max": frontend.f_max,
            "patch_frames": max(1, round(frontend.patch_seconds * FRONTEND_RATE / hop))}


def _check_frontend(recipe: Recipe) -> None:
    src, f = recipe.source, recipe.frontend
    ranges = [("n_mels", 8, 256), ("window_ms", 5.0, 100.0), ("hop_ms", 2.5, 50.0),
              ("n_fft", 128, 4096), ("patch_seconds", 0.25, 4.0)]
    for key, low, high in ranges:
        value = getattr(f, key)
        if not low <= value <= high:
            raise RecipeError(f"{src}: frontend.{key} = {value!r} is outside {low}..{high}")
    s = log_mel_settings(f)
    if f.n_fft < s["window_length"]:
        raise RecipeError(f"{src}: frontend.n_fft = {f.n_fft} is shorter than the window "
                          f"(window_ms = {f.window_ms} is {s['window_length']} samples at 16 kHz)")
    if not 0.0 <= f.f_min < f.f_max <= FRONTEND_RATE / 2:
        raise RecipeError(f"{src}: frontend.f_min = {f.f_min}, f_max = {f.f_max}: need "
                          f"0 <= f_min < f_max <= {FRONTEND_RATE // 2} Hz (the front end runs "
                          "at 16 kHz)")
    if s["patch_frames"] < 16:
        raise RecipeError(f"{src}: frontend.patch_seconds = {f.patch_seconds} is "
                          f"{s['patch_frames']} frames at hop_ms = {f.hop_ms}; need >= 16 "
                          "(the network pools by 16 in time)")


def _check_tune(recipe: Recipe, monitors: list[str]) -> None:
    src, t = recipe.source, recipe.tune
    if t.algorithm not in ALGORITHMS:
        raise RecipeError(f"{src}: tune.algorithm = {t.algorithm!r} is not allowed; choose from "
                          f"{list(ALGORITHMS)}")
    for key, low in [("trials", 1), ("epochs", 0), ("factor", 2), ("initial_points", 0)]:
        if getattr(t, key) < low:
            raise RecipeError(f"{src}: tune.{key} = {getattr(t, key)!r} must be >= {low}")
    if t.objective and t.objective not in monitors:
        raise RecipeError(f"{src}: tune.objective = {t.objective!r} is not logged; choose from "
                          f"{monitors} or \"\" (train.monitor)")


def _tune_space(source: str, table: dict) -> dict:
    """The ``[tune.<section>]`` tables, each value typed like its recipe key; raises
    RecipeError naming the key."""
    space: dict[str, dict] = {}
    for section, keys in table.items():
        if section not in SECTIONS or not isinstance(keys, dict):
            raise RecipeError(f"{source}: [tune] has no key {section!r}; allowed: settings "
                              f"{TUNE_SETTINGS} and tables [tune.<section>] for sections "
                              f"{list(SECTIONS)}")
        defaults = SECTIONS[section]()
        allowed = [f.name for f in dataclasses.fields(SECTIONS[section])]
        for key, spec in keys.items():
            where = f"tune.{section}.{key}"
            if key not in allowed:
                raise RecipeError(f"{source}: unknown key {key!r} in [tune.{section}]; allowed "
                                  f"keys: {allowed}")
            if (section, key) in NOT_TUNABLE:
                raise RecipeError(f"{source}: {section}.{key} cannot be tuned "
                                  f"({NOT_TUNABLE[section, key]})")
            default = getattr(defaults, key)
            if isinstance(spec, list):
                value = _tune_choices(source, where, spec, default, (section, key))
            elif isinstance(spec, dict):
                value = _tune_range(source, where, spec, default)
            else:
                raise RecipeError(f"{source}: {where} = {spec!r} must be a list of choices "
                                  "or a range table {min = ..., max = ...}")
            space.setdefault(section, {})[key] = value
    return space


def _tune_choices(source: str, where: str, spec: list, default: Any,
                  key: tuple[str, str]) -> list:
    if not spec:
        raise RecipeError(f"{source}: {where} = [] has no choices")
    hint = " (a list-valued key takes a list of lists)" if isinstance(default, list) else ""
    values = []
    for choice in spec:
        try:
            values.append(_typed(source, f"{where} choice", choice, default))
        except RecipeError as err:
            raise RecipeError(f"{err}{hint}") from None
    if key in (("augment", "noise_snr_db"), ("augment", "gain_db")):
        for v in values:
            if v and (len(v) != 2 or not all(isinstance(x, (int, float)) for x in v)
                      or v[0] > v[1]):
                raise RecipeError(f"{source}: {where} choice {v!r} must be [low, high] (or [] "
                                  "for none)")
    if key in CHOICES:
        bad = [v for v in values if v not in CHOICES[key]]
        if bad:
            raise RecipeError(f"{source}: {where} choices {bad} are not allowed; choose from "
                              f"{list(CHOICES[key])}")
    if any(values.count(v) > 1 for v in values):
        raise RecipeError(f"{source}: {where} = {spec!r} repeats a choice")
    return values


def _tune_range(source: str, where: str, spec: dict, default: Any) -> dict:
    kind = type(default)
    if kind not in (int, float):
        raise RecipeError(f"{source}: {where}: a range needs a number key ({where[5:]} is "
                          f"{kind.__name__}); give a list of choices")
    bad = [k for k in spec if k not in RANGE_KEYS]
    missing = [k for k in ("min", "max") if k not in spec]
    if bad or missing:
        raise RecipeError(f"{source}: {where} = {spec!r}: a range has keys "
                          f"{list(RANGE_KEYS)} (min and max required)")
    out = {k: _typed(source, f"{where}.{k}", spec[k], default) for k in ("min", "max")}
    if not out["min"] < out["max"]:
        raise RecipeError(f"{source}: {where}: need min < max (got min = {out['min']!r}, "
                          f"max = {out['max']!r})")
    if "step" in spec:
        out["step"] = _typed(source, f"{where}.step", spec["step"], default)
        if out["step"] <= 0:
            raise RecipeError(f"{source}: {where}.step = {out['step']!r} must be > 0")
    if "log" in spec:
        out["log"] = _typed(source, f"{where}.log", spec["log"], False)
        if out["log"] and out["min"] <= 0:
            raise RecipeError(f"{source}: {where}: log = true needs min > 0 (got min = "
                              f"{out['min']!r})")
        if out["log"] and "step" in out:
            raise RecipeError(f"{source}: {where}: step and log = true cannot be combined")
    return out


def _parse_tune(source: str, table: Any) -> Tune:
    if not isinstance(table, dict):
        raise RecipeError(f"{source}: [tune] must be a table")
    defaults = Tune()
    settings = {k: v for k, v in table.items() if k in TUNE_SETTINGS}
    kwargs = {k: _typed(source, f"tune.{k}", v, getattr(defaults, k))
              for k, v in settings.items()}
    space = _tune_space(source, {k: v for k, v in table.items() if k not in TUNE_SETTINGS})
    return Tune(**kwargs, space=space)
MODEL_FOR_FORMAT = {"audio": "vggish_classifier", "audioset": "embedding_classifier"}


def _check_format(recipe: Recipe) -> None:
    """The data format, the model and the format's own keys agree."""
    src, d, m = recipe.source, recipe.data, recipe.model
    if d.targets == "f0" or m.name == PITCH_MODEL:
        _check_pitch(recipe)
        return
    if d.targets == "audio" or m.name == WAVENET_MODEL:
        _check_wavenet(recipe)
        return
    if d.targets == "speaker" or m.name in SPEAKER_MODELS:
        _check_speaker(recipe)
        return
    if d.targets == "separation" or m.name == SEPARATION_MODEL:
        _check_separation(recipe)
        return
    if d.crop_seconds:
        raise RecipeError(f"{src}: data.crop_seconds applies to data.targets = 'speaker'; "
                          "set it to [] (clips are cut to data.clip_seconds)")
    if recipe.augment.reverb_p or recipe.augment.speed_factors:
        raise RecipeError(f"{src}: augment.reverb_p / augment.speed_factors apply to speaker "
                          "recipes (data.targets = 'speaker'); set them to 0.0 / []")
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


def crepe_capacity(capacity: str) -> str | int:
    """``model.capacity`` as :func:`tfaudio.models.crepe` takes it: a name or an int."""
    return int(capacity) if capacity.isdigit() else capacity


def _check_pitch(recipe: Recipe) -> None:
    """``data.targets = "f0"`` and ``model.name = "crepe"`` come together, with their keys."""
    src, d, m = recipe.source, recipe.data, recipe.model
    if d.targets != "f0":
        raise RecipeError(f"{src}: model.name = {m.name!r} is trained on f0; set "
                          "data.targets = 'f0' (allowed: ['label', 'f0'])")
    if m.name != PITCH_MODEL:
        raise RecipeError(f"{src}: data.targets = 'f0' needs model.name = {PITCH_MODEL!r} "
                          f"(got {m.name!r})")
    if d.format != "audio":
        raise RecipeError(f"{src}: data.targets = 'f0' reads waveform records; set "
                          f"data.format = 'audio' (got {d.format!r})")
    if d.multi_label:
        raise RecipeError(f"{src}: data.multi_label = true does not apply to "
                          "data.targets = 'f0'; set it to false")
    cap = m.capacity
    if cap not in CREPE_NAMES and not (cap.isdigit() and int(cap) > 0):
        raise RecipeError(f"{src}: model.capacity = {cap!r} is not allowed; choose from "
                          f"{list(CREPE_NAMES)} or a positive integer multiplier such as '2'")
    if not 1.0 <= m.step_size <= 100.0:
        raise RecipeError(f"{src}: model.step_size = {m.step_size!r} ms is outside 1..100")


def wavenet_receptive_field(model: Model) -> int:
    """The receptive field of ``[model]``'s WaveNet (samples)."""
    k = model.filter_width
    return (k - 1) * sum(model.dilations) + 1 + (k - 1)


def _check_wavenet(recipe: Recipe) -> None:
    """``data.targets = "audio"`` and ``model.name = "wavenet"`` come together, with their
    keys."""
    src, d, m = recipe.source, recipe.data, recipe.model
    if d.targets != "audio":
        raise RecipeError(f"{src}: model.name = {m.name!r} is trained on the audio itself; set "
                          "data.targets = 'audio' (allowed: ['label', 'f0', 'audio'])")
    if m.name != WAVENET_MODEL:
        raise RecipeError(f"{src}: data.targets = 'audio' needs model.name = "
                          f"{WAVENET_MODEL!r} (got {m.name!r})")
    if d.format != "audio":
        raise RecipeError(f"{src}: data.targets = 'audio' reads waveform records; set "
                          f"data.format = 'audio' (got {d.format!r})")
    if d.multi_label:
        raise RecipeError(f"{src}: data.multi_label = true does not apply to "
                          "data.targets = 'audio' (the global condition is one class); set it "
                          "to false")
    for key, low in [("quantization_channels", 2), ("residual_channels", 1),
                     ("dilation_channels", 1), ("skip_channels", 1), ("filter_width", 2),
                     ("sample_size", 1), ("global_condition_channels", 0),
                     ("local_condition_mels", 0)]:
        if getattr(m, key) < low:
            raise RecipeError(f"{src}: model.{key} = {getattr(m, key)!r} must be >= {low}")
    if m.quantization_channels > 65536:
        raise RecipeError(f"{src}: model.quantization_channels = {m.quantization_channels} "
                          "must be <= 65536")
    for key in ("dilations", "upsample_factors"):
        values = getattr(m, key)
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
            raise RecipeError(f"{src}: model.{key} = {values!r} must be a list of positive ints")
    if not m.dilations:
        raise RecipeError(f"{src}: model.dilations = [] needs at least one layer, e.g. "
                          "[1, 2, 4, 8, 16, 32, 64, 128, 256, 512]")
    if bool(m.local_condition_mels) != bool(m.upsample_factors):
        raise RecipeError(f"{src}: model.local_condition_mels = {m.local_condition_mels} and "
                          f"model.upsample_factors = {m.upsample_factors!r} come together "
                          "(mel bands and the strides whose product is the mel hop)")
    if m.global_condition_channels and not m.global_condition:
        raise RecipeError(f"{src}: model.global_condition_channels = "
                          f"{m.global_condition_channels} needs model.global_condition = true")
    rf = wavenet_receptive_field(m)
    window = rf + m.sample_size
    clip = round(d.clip_seconds * d.sample_rate)
    if window > clip:
        raise RecipeError(
            f"{src}: training windows of receptive_field {rf} + model.sample_size "
            f"{m.sample_size} = {window} samples do not fit in data.clip_seconds = "
            f"{d.clip_seconds} ({clip} samples at {d.sample_rate} Hz); lower sample_size "
            "or the dilations, or raise clip_seconds")


def _check_speaker(recipe: Recipe) -> None:
    """``data.targets = "speaker"`` with a speaker model and their keys in range."""
    src, d, m, a = recipe.source, recipe.data, recipe.model, recipe.augment
    if d.targets != "speaker":
        raise RecipeError(f"{src}: model.name = {m.name!r} is a speaker embedding model; set "
                          "data.targets = 'speaker' (allowed: ['label', 'f0', 'speaker'])")
    if m.name not in SPEAKER_MODELS:
        raise RecipeError(f"{src}: data.targets = 'speaker' needs model.name in "
                          f"{list(SPEAKER_MODELS)} (got {m.name!r})")
    if d.format != "audio" or d.multi_label:
        raise RecipeError(f"{src}: data.targets = 'speaker' reads single-label waveform "
                          "records; set data.format = 'audio' and data.multi_label = false")
    if m.name == "ecapa_tdnn" and (m.channels < 16 or m.channels % 8):
        raise RecipeError(f"{src}: model.channels = {m.channels} must be a multiple of 8 "
                          ">= 16 (the Res2Net scale is 8; the paper uses 512 or 1024)")
    if m.mfa_channels < 0:
        raise RecipeError(f"{src}: model.mfa_channels = {m.mfa_channels} must be >= 0 (0: "
                          "the paper's 1536)")
    if not 8 <= m.n_mels <= 256:
        raise RecipeError(f"{src}: model.n_mels = {m.n_mels} is outside 8..256")
    if not 0.0 <= m.aam_margin <= 1.0:
        raise RecipeError(f"{src}: model.aam_margin = {m.aam_margin!r} must be in [0, 1] "
                          "radians (ECAPA-TDNN: 0.2)")
    if m.aam_scale <= 0 or m.margin_warmup_epochs < 0:
        raise RecipeError(f"{src}: model.aam_scale = {m.aam_scale!r} must be > 0 and "
                          f"model.margin_warmup_epochs = {m.margin_warmup_epochs!r} >= 0")
    for key, low in [("synth_speakers", 3), ("synth_test_speakers", 2),
                     ("synth_utterances", 2), ("synth_trials", 2)]:
        if getattr(d, key) < low:
            raise RecipeError(f"{src}: data.{key} = {getattr(d, key)!r} must be >= {low}")
    if d.synth_test_speakers >= d.synth_speakers:
        raise RecipeError(f"{src}: data.synth_test_speakers = {d.synth_test_speakers} must be "
                          f"below data.synth_speakers = {d.synth_speakers} (some speakers "
                          "train)")
    for key in ("synth_seconds", "crop_seconds"):
        v = getattr(d, key)
        if key == "crop_seconds" and not v:
            continue
        if (len(v) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                   for x in v) or not 0 < v[0] <= v[1]):
            raise RecipeError(f"{src}: data.{key} = {v!r} must be [min, max] seconds with "
                              "0 < min <= max" + (" (or [] for clip_seconds)"
                                                  if key == "crop_seconds" else ""))
    if not 0.0 <= a.reverb_p <= 1.0 or not 0.0 <= a.speed_p <= 1.0:
        raise RecipeError(f"{src}: augment.reverb_p = {a.reverb_p!r} and augment.speed_p = "
                          f"{a.speed_p!r} must be in [0, 1]")
    if any(not isinstance(f, (int, float)) or isinstance(f, bool) or f <= 0
           for f in a.speed_factors):
        raise RecipeError(f"{src}: augment.speed_factors = {a.speed_factors!r} must be speeds "
                          "> 0 such as [0.9, 1.0, 1.1] (or [] for none)")


def _check_separation(recipe: Recipe) -> None:
    """``data.targets = "separation"`` with the separation model and its keys in range."""
    src, d, m = recipe.source, recipe.data, recipe.model
    if d.targets != "separation":
        raise RecipeError(f"{src}: model.name = {m.name!r} is a separation model; set "
                          "data.targets = 'separation'")
    if m.name != SEPARATION_MODEL:
        raise RecipeError(f"{src}: data.targets = 'separation' needs model.name = "
                          f"{SEPARATION_MODEL!r} (got {m.name!r})")
    if d.format != "audio" or d.multi_label:
        raise RecipeError(f"{src}: data.targets = 'separation' mixes single-label waveform "
                          "records; set data.format = 'audio' and data.multi_label = false")
    if not 2 <= d.num_sources <= 5:
        raise RecipeError(f"{src}: data.num_sources = {d.num_sources!r} must be in 2..5")
    if not 0.0 <= d.level_db <= 60.0:
        raise RecipeError(f"{src}: data.level_db = {d.level_db!r} must be in [0, 60] dB")
    if d.eval_seconds <= 0 or d.eval_mixtures < 0:
        raise RecipeError(f"{src}: data.eval_seconds = {d.eval_seconds!r} must be > 0 and "
                          f"data.eval_mixtures = {d.eval_mixtures!r} >= 0 (0: every test clip)")
    for seconds, key in [(d.clip_seconds, "clip_seconds"), (d.eval_seconds, "eval_seconds")]:
        if seconds * d.sample_rate < 1024:
            raise RecipeError(f"{src}: data.{key} = {seconds!r} is under 1024 samples at "
                              f"{d.sample_rate} Hz, shorter than the model's FFT")
    if m.mask_init not in ("glorot", "even"):
        raise RecipeError(f"{src}: model.mask_init = {m.mask_init!r} must be 'glorot' or "
                          "'even'")
    if m.mask not in ("complex", "ratio"):
        raise RecipeError(f"{src}: model.mask = {m.mask!r} must be 'complex' or 'ratio'")
    if not 1 <= m.shifts <= MAX_SHIFTS:
        raise RecipeError(f"{src}: model.shifts = {m.shifts!r} must be in 1..{MAX_SHIFTS} "
                          "(1: one pass; k: the average of k delayed copies' separations)")
    if not (m.complex_input or m.magnitude_input):
        raise RecipeError(f"{src}: model.complex_input = false needs model.magnitude_input "
                          "= true (the model needs at least one input channel)")
    if not 0 <= m.conv_layers <= L2L_CONV_LAYERS:
        raise RecipeError(f"{src}: model.conv_layers = {m.conv_layers!r} must be in "
                          f"0..{L2L_CONV_LAYERS} "
                          "(the audio stream's conv layers; 0: none)")
    if m.head_width < 0:
        raise RecipeError(f"{src}: model.head_width = {m.head_width!r} must be >= 0 (0: "
                          "model.width)")
    win, hop = m.window_ms * d.sample_rate / 1000, m.hop_ms * d.sample_rate / 1000
    if not (m.window_ms > 0 and 1 <= round(hop) <= round(win)):
        raise RecipeError(f"{src}: model.window_ms = {m.window_ms!r} and model.hop_ms = "
                          f"{m.hop_ms!r} must give a window of at least one hop at "
                          f"{d.sample_rate} Hz")
    if d.crop_seconds:
        raise RecipeError(f"{src}: data.crop_seconds applies to data.targets = 'speaker'; "
                          "set it to [] (mixtures are data.clip_seconds long)")
    if recipe.train.metrics:
        raise RecipeError(f"{src}: data.targets = 'separation' logs its loss only (negative "
                          "SI-SDR or the power-law loss); set train.metrics = []")
    for key in ("synth_speakers", "synth_test_speakers", "synth_utterances"):
        if getattr(d, key) < d.num_sources:
            raise RecipeError(f"{src}: data.{key} = {getattr(d, key)!r} must be >= "
                              f"data.num_sources = {d.num_sources}")


def _check_synth_classes(recipe: Recipe) -> None:
    from tfaudio.data.synth import CLASSES, is_synth_class, tone_frequency

    chosen = recipe.data.synth_classes
    bad = [c for c in chosen if not is_synth_class(c)]
    if bad or len(set(chosen)) != len(chosen):
        raise RecipeError(f"{recipe.source}: data.synth_classes = {chosen!r}: each once, from "
                          f"{list(CLASSES)} or tone_<hz> such as 'tone_440' (or [] for all)")
    nyquist = recipe.data.sample_rate / 2
    high = [c for c in chosen if (tone_frequency(c) or 0) >= nyquist]
    if high:
        raise RecipeError(f"{recipe.source}: data.synth_classes {high} are at or above Nyquist "
                          f"({nyquist:g} Hz at data.sample_rate = {recipe.data.sample_rate})")


def check(recipe: Recipe) -> Recipe:
    """Validates a (possibly edited) recipe's values; returns it. Raises RecipeError."""
    _check_values(recipe)
    return recipe


def from_dict(table: dict, source: str = "<recipe>") -> Recipe:
    """Builds and validates a :class:`Recipe` from parsed TOML."""
    allowed_top = ["name", *SECTIONS, "tune"]
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
    if "tune" in table:
        recipe.tune = _parse_tune(source, table["tune"])
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
    """``table`` with ``section.key=value`` overrides applied (a new dict).

    ``[tune]`` takes ``tune.trials=4`` and search-space keys like
    ``tune.frontend.n_mels=[32, 64]``.

    Example::

        apply_overrides({"train": {"epochs": 9}}, ["train.epochs=3"])  # {"train": {"epochs": 3}}
    """
    table = copy.deepcopy(table)
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
        if section == "tune" and dot:
            sub, dot2, sub_key = name.partition(".")
            tune = table.setdefault("tune", {})
            if dot2:
                tune.setdefault(sub, {})[sub_key] = value
            else:
                tune[name] = value
            continue
        if not dot or section not in SECTIONS:
            raise RecipeError(f"--set {item!r}: {key!r} is not section.key; sections: "
                              f"{[*SECTIONS, 'tune']}")
        table.setdefault(section, {})[name] = value
    return table
