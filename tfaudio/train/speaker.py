"""Training and using speaker embedding models (``data.targets = "speaker"``,
``model.name = "ecapa_tdnn"`` or ``"xvector"``).

Training: the embedding model (:func:`tfaudio.models.ecapa_tdnn` after Desplanques et
al., Interspeech 2020, or :func:`tfaudio.models.xvector` after Snyder et al., ICASSP
2018), layer ``"speaker_embedding"`` of the training model, with an
:class:`~tfaudio.models.AAMSoftmax` head over the training speakers, trained with
:class:`~tfaudio.models.AAMSoftmaxLoss` (ArcFace, Deng et al., CVPR 2019; ECAPA's margin
0.2 and scale 30 by default; the margin ramps from 0 over ``model.margin_warmup_epochs``
with :class:`~tfaudio.models.MarginWarmup`). The head's classes are the training
speakers: ``labels.txt`` of the run lists them (a synthetic dataset's
``generator.train_speakers`` first speakers; else every label of the data). Training
metrics are the head's closed-set accuracy (val: held-out utterances of the training
speakers).

Crops: training batches are random crops of one length per batch, drawn from
``data.crop_seconds = [min, max]`` in 0.25 s steps (a few distinct shapes, so XLA
compiles a few step functions); validation crops are ``data.clip_seconds``.

Evaluation (:func:`evaluate_speaker`): the trial list (VoxCeleb format; the synthetic
data's ``trials.txt`` over held-out test speakers, never seen in training), every
listed file embedded whole (L2-normalised), cosine scores, EER and its threshold, minDCF
at p_target 0.01 and 0.05 (NIST SRE's normalised detection cost, c_miss = c_fa = 1), a
DET curve PNG; and the same with the *test* side of every trial cut to its first 1 s,
2 s and 4 s (a file shorter than the cut is used whole) as separate rows.

Export (:func:`speaker_archive`): ``serve`` maps float32 waveforms ``(batch, time)`` to
L2-normalised embeddings ``(batch, embedding_size)``; ``tfaudio.json`` has
``output = "speaker_embedding"``, ``l2_normalized`` and the EER threshold.

Enrolment and verification (:func:`enroll`, :func:`verify`): a speaker's voiceprint is
the mean of the L2-normalised embeddings of its files, renormalised, kept in an ``.npz``
database (``names``, ``embeddings``); a file is scored by cosine against every
voiceprint and accepted at the run's EER threshold.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import keras
import numpy as np

from tfaudio.train.recipe import Recipe

EMBEDDER = "speaker_embedding"  # layer name of the embedding model in the training model
CROP_STEP_SECONDS = 0.25
P_TARGETS = (0.01, 0.05)
SHORT_SECONDS = (1.0, 2.0, 4.0)
MIN_SECONDS = 0.5  # shorter audio is refused by enroll / verify / evaluation
N_RIRS = 16


# --------------------------------------------------------------------------- model
def synthetic_rirs(sample_rate: int, n: int = N_RIRS, seed: int = 0) -> list[np.ndarray]:
    """``n`` synthetic room impulse responses: a direct path and exponentially decaying
    Gaussian noise, RT60 uniform in 0.2-0.8 s, direct-to-reverberant ratio 0-10 dB."""
    rng = np.random.default_rng([0x5EA6E4, int(seed), 7])
    out = []
    for _ in range(n):
        rt60 = rng.uniform(0.2, 0.8)
        length = int(rt60 * sample_rate)
        t = np.arange(length) / sample_rate
        tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60)
        tail[0] = 0.0
        drr = 10 ** (rng.uniform(0.0, 10.0) / 10)
        tail *= math.sqrt(1.0 / (drr * np.sum(tail ** 2)))
        tail[0] = 1.0
        out.append(tail.astype(np.float32))
    return out


def augmentation(recipe: Recipe, seed: int) -> tuple[list, list]:
    """(waveform layers, feature layers) of ``[augment]`` for a speaker model."""
    from tfaudio import layers as L
    from tfaudio.train.build import augmentation as classifier_augmentation

    wave, spec = classifier_augmentation(recipe, seed)
    a = recipe.augment
    if a.reverb_p > 0:
        wave.append(L.Reverb(synthetic_rirs(recipe.data.sample_rate, seed=seed), p=a.reverb_p,
                             seed=seed + 3, name="reverb"))
    if a.speed_factors:
        wave.append(L.SpeedPerturbation(a.speed_factors, p=a.speed_p, seed=seed + 4,
                                        name="speed"))
    return wave, spec


def embedding_model(recipe: Recipe, augment: bool = True) -> keras.Model:
    """The recipe's embedding model (``(batch, time)`` -> ``(batch, embedding_size)``)."""
    from tfaudio.models import ecapa_tdnn, xvector

    m = recipe.model
    wave, spec = augmentation(recipe, recipe.train.seed) if augment else ([], [])
    common = dict(embedding_size=m.embedding_size, n_mels=m.n_mels,
                  sample_rate=recipe.data.sample_rate, frontend=m.frontend,
                  waveform_augmentation=wave, spectrogram_augmentation=spec, name=EMBEDDER)
    if m.name == "xvector":
        return xvector(width=m.width, **common)
    return ecapa_tdnn(m.channels, mfa_channels=m.mfa_channels or 1536, **common)


def build_speaker(recipe: Recipe, num_classes: int) -> keras.Model:
    """The training model: the embedding model (layer ``"speaker_embedding"``) and an
    AAM-softmax head of ``num_classes`` training speakers (output: cosines)."""
    from tfaudio.models import with_aam_head

    return with_aam_head(embedding_model(recipe), num_classes, name=recipe.name)


def loss_and_metrics(recipe: Recipe) -> tuple[Any, list]:
    """:class:`~tfaudio.models.AAMSoftmaxLoss` and the head's closed-set accuracy."""
    from tfaudio.models import AAMSoftmaxLoss
    from tfaudio.train.build import ExamplesSeen

    m = recipe.model
    metrics: list = []
    for name in recipe.train.metrics:
        if name == "accuracy":
            metrics.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        elif name == "top5_accuracy":
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy"))
    return AAMSoftmaxLoss(m.aam_margin, m.aam_scale), [*metrics, ExamplesSeen()]


def margin_callback(model: keras.Model, recipe: Recipe, steps_per_epoch: int) -> Any:
    """The :class:`~tfaudio.models.MarginWarmup` of the compiled model's loss."""
    from tfaudio.models import MarginWarmup

    steps = round(recipe.model.margin_warmup_epochs * steps_per_epoch)
    return MarginWarmup(model.loss, steps)


# --------------------------------------------------------------------------- data
def generator_info(path: str) -> dict:
    """``generator`` of a dataset's ``dataset.json`` (``{}`` when not synthetic)."""
    from tfaudio import data as tfd

    return dict(tfd.read_manifest(path).get("generator") or {})


def head_labels(path: str, labels: list[str]) -> list[str]:
    """The head's classes: the training speakers of a synthetic speaker dataset (its
    first ``generator.train_speakers`` labels), else every label."""
    n = generator_info(path).get("train_speakers")
    return list(labels[:int(n)]) if n else list(labels)


def prepare_synth(recipe: Recipe, path: str, verbose: int = 1) -> None:
    """Writes :func:`tfaudio.data.synth_speakers` with the recipe's ``data.synth_*``."""
    from tfaudio.data import synth_speakers

    d = recipe.data
    if verbose:
        print(f"no data given: writing synthetic speakers to {path} ({d.synth_speakers} "
              f"speakers, {d.synth_test_speakers} held out for {d.synth_trials} trials, "
              f"{d.synth_utterances} utterances of {d.synth_seconds[0]:g}-"
              f"{d.synth_seconds[1]:g} s each)", flush=True)
    lo, hi = (float(x) for x in d.synth_seconds)
    synth_speakers(path, num_speakers=d.synth_speakers, test_speakers=d.synth_test_speakers,
                   utterances_per_speaker=d.synth_utterances,
                   seconds=lo if lo == hi else (lo, hi), sample_rate=d.sample_rate,
                   seed=recipe.train.seed, num_trials=d.synth_trials, overwrite=True,
                   progress=bool(verbose))


def crop_lengths(recipe: Recipe) -> list[int]:
    """Training crop lengths in samples: ``data.crop_seconds`` in 0.25 s steps (or
    ``clip_seconds``)."""
    d = recipe.data
    if not d.crop_seconds:
        return [round(d.clip_seconds * d.sample_rate)]
    lo, hi = (float(x) for x in d.crop_seconds)
    n = int(math.floor((hi - lo) / CROP_STEP_SECONDS + 1e-9)) + 1
    return sorted({round((lo + i * CROP_STEP_SECONDS) * d.sample_rate) for i in range(n)})


def speaker_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                    batch_size: int) -> Any:
    """Waveform batches and speaker indices; training crops of one random length per batch
    (:func:`crop_lengths`), at random offsets."""
    import tensorflow as tf

    from tfaudio.data import audio_dataset

    d = recipe.data
    lengths = crop_lengths(recipe) if training else [round(d.clip_seconds * d.sample_rate)]
    ds = audio_dataset(
        path, split=split, sample_rate=d.sample_rate, clip_seconds=max(lengths) / d.sample_rate,
        random_crop=training, batch_size=batch_size, shuffle=training, cache=d.cache,
        repeat=False, labels="int", num_classes=num_classes, seed=recipe.train.seed,
        mono=True, deterministic=d.deterministic or None)
    if len(lengths) == 1:
        return ds
    table = tf.constant(lengths, tf.int32)
    seeds = tf.data.Dataset.random(seed=recipe.train.seed)

    def crop(batch, seed):
        (audio, label) = batch
        i = tf.random.stateless_uniform([], [seed, 0], 0, len(lengths), tf.int32)
        n = table[i]
        # the reader's crop is at a random offset; a random sub-offset keeps it uniform
        start = tf.random.stateless_uniform([], [seed, 1], 0, tf.shape(audio)[1] - n + 1,
                                            tf.int32)
        return audio[:, start:start + n], label

    return tf.data.Dataset.zip((ds, seeds)).map(crop, num_parallel_calls=tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- embedding
def embed_function(embedder: keras.Model) -> Any:
    """A traced function: float32 ``(batch, time)`` -> L2-normalised embeddings (one trace
    for every shape)."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.float32)])
    def embed(x):
        return tf.math.l2_normalize(tf.cast(embedder(x, training=False), tf.float32), axis=-1)

    return embed


def load_audio(path: str, sample_rate: int, what: str = "audio") -> np.ndarray:
    """Mono float32 samples of a file at ``sample_rate``; errors name the file."""
    from tfaudio.data import decode_audio

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} file not found: {path}")
    audio, _ = decode_audio(path, sample_rate=sample_rate)
    mono = np.asarray(audio, np.float32).mean(axis=1)
    if len(mono) < MIN_SECONDS * sample_rate:
        raise ValueError(f"{path}: {len(mono) / sample_rate:.3f} s of audio is too short for "
                         f"a speaker embedding (need >= {MIN_SECONDS} s)")
    return mono


def embed_many(embed: Any, clips: list[np.ndarray], batch: int = 16) -> np.ndarray:
    """Embeddings of clips, batching clips of equal length (no padding: an embedding
    never depends on the other clips)."""
    import tensorflow as tf

    out = np.zeros((len(clips), 0), np.float32)
    by_len: dict[int, list[int]] = {}
    for i, c in enumerate(clips):
        by_len.setdefault(len(c), []).append(i)
    rows: dict[int, np.ndarray] = {}
    for idx in by_len.values():
        for s in range(0, len(idx), batch):
            part = idx[s:s + batch]
            e = np.asarray(embed(tf.constant(np.stack([clips[i] for i in part]))))
            rows.update(zip(part, e, strict=True))
    if rows:
        out = np.stack([rows[i] for i in range(len(clips))])
    return out


# --------------------------------------------------------------------------- evaluation
def trial_list(recipe: Recipe, path: str, trials: str | None = None) -> tuple[str, str]:
    """``(trial list, folder its names are relative to)``: ``trials`` (names relative to
    its folder, or to ``wav/`` beside it when that exists), else the dataset's."""
    if trials is None:
        gen = generator_info(path)
        trials = os.path.join(path, gen.get("trials") or "trials.txt")
        if not os.path.isfile(trials):
            raise FileNotFoundError(f"{path}: no trial list ({os.path.basename(trials)}); "
                                    "pass one with --trials LIST")
    elif not os.path.isfile(trials):
        raise FileNotFoundError(f"trial list not found: {trials}")
    base = os.path.dirname(os.path.abspath(trials))
    wav = os.path.join(base, "wav")
    return trials, wav if os.path.isdir(wav) else base


def evaluate_speaker(model: Any, recipe: Recipe, path: str, split: str, labels: list[str],
                     out_dir: str, log_dir: str | None = None, trials: str | None = None
                     ) -> dict:
    """Verification on a trial list: EER, minDCF, DET PNG, also with short test sides.

    Writes ``<out_dir>/<name>.json`` and ``<name>_det.png`` (``name`` = ``split``, or the
    trial list's file stem when ``trials`` is given).

    Returns:
        dict: ``split``, ``trials_file``, ``files``, ``eer``, ``eer_threshold``,
        ``min_dcf`` (``{"0.01": {...}, "0.05": {...}}``), ``rows`` (``{"full": report,
        "1s": ..., "2s": ..., "4s": ...}`` of :func:`tfaudio.metrics.verification_report`),
        ``det_png``.
    """
    from tfaudio import metrics
    from tfaudio.data import read_trials

    os.makedirs(out_dir, exist_ok=True)
    trials_path, base = trial_list(recipe, path, trials)
    y, enroll, test = read_trials(trials_path)
    names = sorted(set(enroll) | set(test))
    sr = recipe.data.sample_rate
    audio = {}
    for n in names:
        f = n if os.path.isabs(n) else os.path.join(base, n)
        if not os.path.isfile(f):
            raise FileNotFoundError(f"{trials_path}: trial file {n!r} not found (looked for "
                                    f"{f})")
        audio[n] = load_audio(f, sr, "trial")
    embed = embed_function(model.get_layer(EMBEDDER))
    full = dict(zip(names, embed_many(embed, [audio[n] for n in names]), strict=True))
    e = np.stack([full[n] for n in enroll])
    rows: dict[str, Any] = {}
    curves = {}
    tests = sorted(set(test))
    for label, seconds in [("full", None), *((f"{s:g}s", s) for s in SHORT_SECONDS)]:
        if seconds is None:
            emb = full
        else:
            cut = round(seconds * sr)
            emb = dict(zip(tests, embed_many(embed, [audio[n][:cut] for n in tests]),
                           strict=True))
        scores = np.sum(e * np.stack([emb[n] for n in test]), axis=1)
        rows[label] = metrics.verification_report(scores, y, P_TARGETS)
        curves[f"{label} test side"] = (scores, y)
    name = split if trials is None else os.path.splitext(os.path.basename(trials))[0]
    lengths = np.array([len(a) / sr for a in audio.values()])
    result: dict[str, Any] = {
        "split": split, "trials_file": os.path.abspath(trials_path), "files": len(names),
        "seconds": [float(lengths.min()), float(lengths.max())],
        **{k: rows["full"][k] for k in ("trials", "targets", "nontargets", "eer",
                                        "eer_threshold", "min_dcf")},
        "rows": rows, "scoring": "cosine of L2-normalised embeddings, whole files; rows "
        "1s/2s/4s cut the test side to its first seconds (enrolment side whole)"}
    png = os.path.join(out_dir, f"{name}_det.png")
    try:
        from tfaudio.plot import save_det_curve

        save_det_curve(png, curves, title=f"{recipe.name}: {result['trials']} trials, EER "
                       f"{100 * result['eer']:.2f} %")
        result["det_png"] = png
        if log_dir:
            from tfaudio.train.evaluate import _log_image

            _log_image(log_dir, f"evaluation/{name}_det", png)
    except ImportError:  # matplotlib is optional
        result["det_png"] = None
    with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def table(result: dict) -> str:
    """The rows of :func:`evaluate_speaker` as a text table."""
    keys = [f"{p:g}" for p in P_TARGETS]
    lines = [f"{'test side':>9}  {'trials':>6}  {'EER %':>6}  "
             + "  ".join(f"minDCF {k:>4}" for k in keys) + "  threshold"]
    for label, r in result["rows"].items():
        lines.append(f"{label:>9}  {r['trials']:6d}  {100 * r['eer']:6.2f}  "
                     + "  ".join(f"{r['min_dcf'][k]['min_dcf']:11.4f}" for k in keys)
                     + f"  {r['eer_threshold']:9.4f}")
    return "\n".join(lines)


def summary_line(result: dict) -> str:
    """One human line for :func:`evaluate_speaker`'s result."""
    d = result["min_dcf"]
    extra = f", DET curve: {result['det_png']}" if result.get("det_png") else ""
    return (f"{result['split']}: EER {100 * result['eer']:.2f} % (threshold "
            f"{result['eer_threshold']:.4f}), minDCF "
            + ", ".join(f"{d[k]['min_dcf']:.4f} (p {k})" for k in d)
            + f" on {result['trials']} trials of {result['files']} files{extra}")


def run_summary(result: dict) -> dict:
    """What ``run.json`` keeps of an evaluation."""
    return {"trials": result["trials"], "files": result["files"], "eer": result["eer"],
            "eer_threshold": result["eer_threshold"], "min_dcf": result["min_dcf"],
            "eer_by_test_seconds": {k: r["eer"] for k, r in result["rows"].items()}}


# --------------------------------------------------------------------------- export
def speaker_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    """``serve``: float32 waveforms ``(batch, time)`` at ``sample_rate`` -> L2-normalised
    embeddings ``(batch, embedding_size)``."""
    import tensorflow as tf

    embedder = model.get_layer(EMBEDDER)
    spec = [tf.TensorSpec((None, None), tf.float32, name="waveform")]

    def serve(x):
        return tf.math.l2_normalize(tf.cast(embedder(x, training=False), tf.float32), axis=-1)

    archive = keras.export.ExportArchive()
    archive.track(embedder)
    archive.add_endpoint("serve", serve, input_signature=spec)
    config = {"input": "waveform", "output": "speaker_embedding", "l2_normalized": True,
              "embedding_size": int(embedder.output.shape[-1]),
              "sample_rate": recipe.data.sample_rate, "clip_seconds": recipe.data.clip_seconds,
              "min_seconds": MIN_SECONDS, "scoring": "cosine (dot product of the outputs)",
              "frontend": recipe.model.frontend,
              "labels_are": "the training speakers of the AAM head (not in the export)"}
    return archive, config


# --------------------------------------------------------------------------- enrol / verify
def run_threshold(run_dir: str) -> float | None:
    """The run's EER threshold: ``run.json`` ``test.eer_threshold``, else the export's
    ``tfaudio.json``; None when the run was never evaluated."""
    for f, keys in [(os.path.join(run_dir, "run.json"), ("test", "eer_threshold")),
                    (os.path.join(run_dir, "export", "tfaudio.json"), ("eer_threshold",))]:
        if os.path.isfile(f):
            with open(f, encoding="utf-8") as fh:
                value: Any = json.load(fh)
            for k in keys:
                value = value.get(k) if isinstance(value, dict) else None
            if value is not None:
                return float(value)
    return None


_EMBEDDERS: dict[tuple, Embedder] = {}


class Embedder:
    """A speaker run's embedding function and sample rate (from its checkpoints).

    :meth:`of` reuses one per run and checkpoint within a process."""

    @classmethod
    def of(cls, run_dir: str) -> Embedder:
        """The run's embedder, built once per process (until its checkpoints change)."""
        ckpt = os.path.join(run_dir, "checkpoints")
        stamp = os.path.getmtime(ckpt) if os.path.isdir(ckpt) else None
        key = (os.path.abspath(run_dir), stamp)
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = cls(run_dir)
        return _EMBEDDERS[key]

    def __init__(self, run_dir: str):
        from tfaudio.train.run import RunError, load_run_model

        model, recipe, _ = load_run_model(run_dir)
        if recipe.data.targets != "speaker":
            raise RunError(f"{run_dir} is not a speaker run (data.targets = "
                           f"{recipe.data.targets!r}; train a recipe with data.targets = "
                           "'speaker')")
        self.run_dir = run_dir
        self.sample_rate = recipe.data.sample_rate
        self.embed = embed_function(model.get_layer(EMBEDDER))

    def files(self, paths: list[str]) -> np.ndarray:
        """L2-normalised embeddings ``(files, dim)``."""
        clips = [load_audio(p, self.sample_rate) for p in paths]
        return embed_many(self.embed, clips)


def read_db(path: str, must_exist: bool = True) -> tuple[list[str], np.ndarray]:
    """``(names, embeddings)`` of a voiceprint database (``.npz``)."""
    if not os.path.isfile(path):
        if must_exist:
            raise FileNotFoundError(f"speaker database not found: {path} (create it with "
                                    "`tfaudio enroll RUN SPEAKER FILES... --db PATH`)")
        return [], np.zeros((0, 0), np.float32)
    with np.load(path, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        emb = np.asarray(z["embeddings"], np.float32)
    if must_exist and not names:
        raise ValueError(f"speaker database {path} is empty: enrol a speaker first")
    return names, emb


def enroll(embedder: Embedder, speaker: str, files: list[str], db: str) -> dict:
    """Adds (or replaces) ``speaker`` in ``db``: the renormalised mean of the files'
    L2-normalised embeddings. Returns ``{"speaker", "files", "replaced", "speakers"}``."""
    if not speaker:
        raise ValueError("the speaker name must not be empty")
    if not files:
        raise ValueError(f"no files to enrol {speaker!r} from")
    e = embedder.files(files)
    v = e.mean(axis=0)
    v = v / max(float(np.linalg.norm(v)), 1e-12)
    names, emb = read_db(db, must_exist=False)
    if names and emb.shape[1] != v.size:
        raise ValueError(f"{db}: its voiceprints have {emb.shape[1]} dimensions, this run's "
                         f"{v.size}: use one run per database")
    replaced = speaker in names
    if replaced:
        emb[names.index(speaker)] = v
    else:
        names.append(speaker)
        emb = np.concatenate([emb.reshape(-1, v.size), v[None]])
    tmp = f"{db}.tmp-{os.getpid()}.npz"
    np.savez(tmp, names=np.array(names), embeddings=emb.astype(np.float32),
             run=np.array(os.path.abspath(embedder.run_dir)))
    os.replace(tmp, db)
    return {"speaker": speaker, "files": len(files), "replaced": replaced,
            "speakers": len(names), "db": db}


def verify(embedder: Embedder, db: str, file: str, speaker: str | None = None,
           threshold: float | None = None, top_k: int = 5) -> dict:
    """Scores ``file`` against the voiceprints of ``db``.

    Returns:
        dict: ``file``, ``threshold`` (the run's EER threshold unless given), ``claimed``
        (``speaker``), ``score`` (against the claimed speaker, else the best match),
        ``accept`` (score >= threshold; None without a threshold), ``best``
        (``[[name, score], ...]`` best first).
    """
    names, emb = read_db(db)
    if speaker is not None and speaker not in names:
        raise ValueError(f"speaker {speaker!r} is not enrolled in {db} (enrolled: "
                         f"{names[:10]}{'...' if len(names) > 10 else ''})")
    e = embedder.files([file])[0]
    if emb.shape[1] != e.size:
        raise ValueError(f"{db}: its voiceprints have {emb.shape[1]} dimensions, this run's "
                         f"{e.size}: enrol with the same run")
    scores = emb @ e
    order = np.argsort(-scores)
    best = [[names[i], float(scores[i])] for i in order[:top_k]]
    if threshold is None:
        threshold = run_threshold(embedder.run_dir)
    score = float(scores[names.index(speaker)]) if speaker is not None else best[0][1]
    return {"file": file, "claimed": speaker, "score": score, "threshold": threshold,
            "accept": None if threshold is None else bool(score >= threshold),
            "best": best}
