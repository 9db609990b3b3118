"""``train``: a recipe and TFRecords in, a finished run folder out.

A run folder holds everything the run made, so ``evaluate``, ``predict`` and
``--resume`` need only the folder::

    recipe.toml              the recipe as run (overrides applied)
    labels.txt               class names, one per line, in output order
    checkpoints/             epoch checkpoints (model + optimiser + loop state), best weights
    history.jsonl            one line of metrics per epoch
    logs/                    TensorBoard: scalars, augmented log-mel images and audio
    evaluation/              test-split report (JSON) and confusion-matrix PNG (CREPE,
                             data.targets = "f0": RPA / RCA and a pitch-track PNG;
                             WaveNet: bits per sample, generated WAVs per class with their
                             spectral peaks and a spectrogram PNG; speakers: EER / minDCF
                             on the trial list and a DET PNG; separation: SI-SDRi / SDRi
                             of held-out mixtures, ideal-mask bounds and a spectrogram PNG)
    export/                  SavedModel: waveform (batch, time) -> probabilities (+ embed:
                             patch embeddings), or for data.format = "audioset" embeddings
                             (batch, frames, 128) -> probabilities, or for CREPE waveform
                             -> (batch, frames, 360) pitch activations, or for WaveNet
                             (data.targets = "audio") generate(num_samples, class_ids,
                             temperature, seed) -> codes, waveform, or for speakers
                             waveform -> L2-normalised embeddings, or for separation
                             waveform of any length -> (batch, speakers, time); + labels.txt
    run.json                 summary: data, counts, epochs, time, test results

Epochs are exact passes over the training split (the data set is batched per pass and
repeated), so a checkpoint at the end of epoch ``k`` is also the data position: a run
killed during epoch ``k + 1`` resumes from the start of that epoch, every example of
every epoch is seen once, and the run ends with the same number of optimiser steps as
an uninterrupted one. (A separation epoch is one pass of mixtures made on the fly: one per
training clip, less the pairs of one speaker that are skipped.)
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any

from tfaudio.train import datasets
from tfaudio.train import recipe as recipe_lib
from tfaudio.train.recipe import Recipe

RUN_FILES = ("recipe.toml", "labels.txt")


class RunError(RuntimeError):
    """A run folder that cannot be used as asked (names the folder and the problem)."""


def _say(text: str, verbose: int) -> None:
    if verbose:
        print(text, flush=True)


def is_run(path: str) -> bool:
    """Whether ``path`` is a tfaudio run folder."""
    return all(os.path.isfile(os.path.join(path, f)) for f in RUN_FILES)


def prepare_data(recipe: Recipe, data_dir: str | None, run_dir: str, verbose: int = 1) -> str:
    """The dataset folder to train on: ``data_dir``, ``[data] path`` or, when neither is
    given (``data.format = "audio"`` only), the built-in synthetic dataset written into
    ``<run>/data``."""
    from tfaudio import data as tfd

    path = data_dir or recipe.data.path
    if path:
        if not os.path.isdir(path):
            how = ("`tfaudio embed ... --out DIR`" if recipe.data.format == "audioset"
                   else "`tfaudio make-tfrecords` or `tfaudio synth`")
            raise FileNotFoundError(f"data folder not found: {path} (make one with {how})")
        datasets.read_data(recipe, path)  # a clear error if it is not a dataset of the format
        return path
    if recipe.data.format != "audio":
        raise FileNotFoundError(f"{recipe.source}: data.format = {recipe.data.format!r} needs "
                                "a data folder: pass --data DIR or set data.path")
    path = os.path.join(run_dir, "data")
    if os.path.exists(os.path.join(path, "dataset.json")):
        return path
    if recipe.data.targets in ("speaker", "separation"):
        from tfaudio.train.speaker import prepare_synth

        prepare_synth(recipe, path, verbose)
        return path
    classes = recipe.data.synth_classes or list(tfd.SYNTH_CLASSES)
    _say(f"no data given: writing the built-in synthetic dataset to {path} "
         f"({recipe.data.synth_clips_per_class} clips x {len(classes)} classes)",
         verbose)
    tfd.synth_dataset(path, classes=classes, clips_per_class=recipe.data.synth_clips_per_class,
                      sample_rate=recipe.data.sample_rate, seconds=recipe.data.clip_seconds,
                      seed=recipe.train.seed, overwrite=True, progress=bool(verbose))
    return path


def make_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                 batch_size: int | None = None, workers: int = 1) -> Any:
    """A split as the recipe reads it (:func:`tfaudio.train.datasets.make_dataset`).

    With ``workers > 1`` the dataset carries the sharding options of
    :func:`tfaudio.train.distribute.shard_options` (by file when every worker gets one).
    """
    from tfaudio.train import distribute

    ds = datasets.make_dataset(recipe, path, split, training, num_classes, batch_size)
    if workers > 1:
        files = datasets.split_file_count(recipe, path, split)
        ds = ds.with_options(distribute.shard_options(files, workers, f"split {split!r}",
                                                      training))
    return ds


def compile_model(recipe: Recipe, num_classes: int, steps_per_epoch: int) -> Any:
    """The recipe's model, compiled with its optimiser, loss and metrics."""
    from tfaudio.train import build

    model = build.build_model(recipe, num_classes)
    loss, metrics = build.loss_and_metrics(recipe)
    model.compile(build.optimizer(recipe, steps_per_epoch), loss, metrics=metrics,
                  jit_compile=recipe.train.jit_compile)
    return model


def _media_examples(recipe: Recipe, path: str, num_classes: int) -> Any:
    import numpy as np

    n = recipe.train.tensorboard_examples
    if not n or recipe.data.format != "audio" or recipe.data.targets != "label":
        return None  # media are waveforms and their log-mels (a classifier's front end)
    ds = make_dataset(recipe, path, recipe.data.train_split, False, num_classes, batch_size=n)
    for audio, _ in ds.take(1):
        return np.asarray(audio)
    return None


def _start_run(run_dir: str, resume: bool) -> None:
    if resume:
        if not is_run(run_dir):
            raise RunError(f"--resume: {run_dir} is not a tfaudio run folder (no recipe.toml "
                           "and labels.txt)")
        return
    if os.path.exists(os.path.join(run_dir, "checkpoints")) or is_run(run_dir):
        raise RunError(f"{run_dir} already holds a run: pass --resume to continue it, or "
                       "choose another --out")
    os.makedirs(run_dir, exist_ok=True)


def train(recipe: Recipe, data_dir: str | None = None, run_dir: str | None = None,
          epochs: int | None = None, resume: bool = False, verbose: int = 1,
          strategy: str | None = None, cpu_replicas: int = 0) -> dict:
    """Trains the recipe's model from TFRecords; evaluates, exports and summarises the run.

    Args:
        recipe: a validated :class:`~tfaudio.train.recipe.Recipe`.
        data_dir: dataset folder (overrides ``[data] path``; neither: synthetic data).
        run_dir: the run folder (default ``runs/<recipe name>``).
        epochs: overrides ``[train] epochs``.
        resume: continue the run in ``run_dir`` from its last checkpoint (its own
            ``recipe.toml`` is used; ``epochs`` may extend it).
        verbose: 0 silent, 1 progress bars, 2 one line per epoch.
        strategy: overrides ``[train] strategy`` (``default``, ``mirrored``,
            ``multiworker``: :mod:`tfaudio.train.distribute`). Under ``multiworker``
            every process of the cluster calls this with the same arguments and
            ``run_dir`` (a shared file system for ``resume``); only the chief writes.
        cpu_replicas: ``mirrored`` without GPUs: logical CPU devices to mirror over.

    Returns:
        The ``run.json`` summary (dict); on a worker that is not the chief, a summary of
        its part (``chief`` False), nothing written.

    Raises:
        RunError: ``run_dir`` holds a run and ``resume`` is False, or is not a run and
        ``resume`` is True; a peer of a multi-worker run failed. FileNotFoundError /
        ValueError: data problems, named.
    """
    from tfaudio.train import distribute

    # Strategies are made before any other TensorFlow work (CPU split, collectives).
    name = strategy or (recipe_lib.load(os.path.join(run_dir, "recipe.toml")).train.strategy
                        if resume and run_dir and is_run(run_dir) else recipe.train.strategy)
    strat = distribute.make_strategy(name, cpu_replicas)
    role = distribute.role(strat)
    import keras
    import tensorflow as tf

    run_dir = run_dir or os.path.join("runs", recipe.name)
    if role.chief:
        _start_run(run_dir, resume)
    if resume:
        recipe = recipe_lib.load(os.path.join(run_dir, "recipe.toml"))
    recipe.train.strategy = name
    if epochs is not None:
        recipe.train.epochs = int(epochs)
        recipe_lib.check(recipe)
    started = time.time()
    verbose = verbose if role.chief else 0
    if distribute.xla_unsupported(strat) and recipe.train.jit_compile:
        _say("jit_compile off: XLA cannot compile a step over several CPU replicas", verbose)
        recipe.train.jit_compile = False
    own_data = None  # a worker's own copy of the synthetic data (removed at the end)
    if role.chief or data_dir or recipe.data.path:
        path = prepare_data(recipe, data_dir, run_dir, verbose)
    else:  # the same seeded synthetic data as the chief's, in a folder of its own
        import tempfile

        own_data = tempfile.mkdtemp(prefix="tfaudio-worker-")
        path = prepare_data(recipe, data_dir, own_data, 0)
    if data_dir:  # the recipe as run names its data (evaluate and --resume find it)
        recipe.data.path = os.path.abspath(data_dir)
    info = datasets.read_data(recipe, path)
    labels = info.labels
    from tfaudio.train import speaker as speaker_lib

    if recipe.data.targets == "speaker":  # the head's classes: the training speakers
        labels = speaker_lib.head_labels(path, labels)
    if not labels and (recipe.data.targets in ("label", "speaker") or (
            recipe.data.targets == "audio" and recipe.model.global_condition)):
        raise ValueError(f"{path}: the dataset has no label vocabulary (make it with "
                         "labels: --labels-from-dirs or a manifest with a label column)")
    num_classes = len(labels) or 1
    d = recipe.data
    n_train = info.count(d.train_split)
    n_val = info.count(d.val_split) if d.val_split else 0
    batch = recipe.train.batch_size
    steps = math.ceil(n_train / batch)
    if role.chief:
        with open(os.path.join(run_dir, "recipe.toml"), "w", encoding="utf-8") as f:
            f.write(recipe.to_toml())
        with open(os.path.join(run_dir, "labels.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(labels) + "\n")

    keras.utils.set_random_seed(recipe.train.seed)
    with strat.scope():
        model = compile_model(recipe, num_classes, steps)
    distribute.fix_keras_build(model, strat)
    state, initial_epoch = None, 0
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    from tfaudio.train import callbacks, checkpoint

    latest = checkpoint.latest(ckpt_dir) if resume else None
    if latest:
        with strat.scope():
            state = checkpoint.restore(latest, model)
        initial_epoch = int(state["epoch"])
        _say(f"resuming {run_dir} after epoch {initial_epoch} "
             f"({int(model.optimizer.iterations.numpy())} optimiser steps done)", verbose)
    elif resume:
        _say(f"{run_dir}: no complete checkpoint yet, starting from epoch 1", verbose)
    if state and state.get("stopped_early"):
        _say("the run had stopped early; not training further", verbose)
        initial_epoch = recipe.train.epochs

    workers = role.workers
    train_ds = make_dataset(recipe, path, d.train_split, True, num_classes,
                            workers=workers).repeat()
    val_ds = None
    if n_val:
        val_ds = make_dataset(recipe, path, d.val_split, False, num_classes, workers=workers)
        if workers == 1 and d.targets != "separation":
            # a known length: Keras ends each validation pass without a warning (a
            # separation run's fixed validation mixtures carry theirs already)
            val_ds = val_ds.apply(tf.data.experimental.assert_cardinality(
                math.ceil(n_val / batch)))
    monitor = recipe.train.monitor if val_ds is not None else recipe.train.monitor.replace(
        "val_", "")
    ckpt = callbacks.RunCheckpoint(run_dir, monitor, recipe.train.patience, state,
                                   write=role.chief)
    log_dir = os.path.join(run_dir, "logs")
    cbs: list = [ckpt]
    if d.targets == "speaker":
        cbs.append(speaker_lib.margin_callback(model, recipe, steps))
    if role.chief:
        cbs.append(keras.callbacks.TensorBoard(log_dir, update_freq="epoch", write_graph=False))
        media = _media_examples(recipe, path, num_classes)
        if media is not None:
            cbs.append(callbacks.TensorBoardMedia(log_dir, media, d.sample_rate))
    if verbose:
        cbs.append(callbacks.ProgressBar())
    fit_started = time.time()
    if initial_epoch < recipe.train.epochs:
        where = (f", {role.replicas} replicas ({name}, {workers} worker(s))"
                 if role.replicas > 1 or workers > 1 else "")
        _say(f"training {recipe.name}: {n_train} clips, {steps} steps of {batch} per epoch, "
             f"epochs {initial_epoch + 1}..{recipe.train.epochs} "
             f"({model.count_params():,} parameters{where})", verbose)
        try:
            model.fit(train_ds, epochs=recipe.train.epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, validation_data=val_ds, callbacks=cbs,
                      verbose=verbose)
        except Exception as err:
            if workers > 1 and distribute.peer_failure(err):
                raise RunError(
                    f"{run_dir}: a peer of the {workers}-worker run stopped or stopped "
                    f"answering ({type(err).__name__}: {str(err).splitlines()[0][:300]}); "
                    "restart every worker with --resume to continue from the last "
                    "checkpoint") from err
            raise
    fit_seconds = time.time() - fit_started
    steps_done = int(model.optimizer.iterations.numpy())
    if not role.chief:
        if own_data:
            import shutil

            shutil.rmtree(own_data, ignore_errors=True)
        return {"recipe": recipe.name, "chief": False, "worker": role.worker,
                "workers": workers, "epochs_run": len(ckpt.history),
                "optimizer_steps": steps_done, "history": ckpt.history}
    evaluating = bool(d.test_split and info.counts.get(d.test_split, 0))
    if d.targets == "speaker":  # verification needs the trial list, not the test records
        try:
            speaker_lib.trial_list(recipe, path)
            evaluating = True
        except FileNotFoundError as err:
            _say(f"no verification: {err}", verbose)
            evaluating = False
    if name != "default" and (evaluating or recipe.train.export):
        # evaluate and export a plain one-device copy of the weights
        model = _single_device_copy(recipe, num_classes, ckpt_dir)
    best = os.path.join(ckpt_dir, "best.weights.h5")
    if recipe.train.restore_best and os.path.exists(best):
        model.load_weights(best)
        _say(f"restored the best weights ({monitor} = {ckpt.best:.4g})", verbose)

    from tfaudio.train import evaluate as evaluate_lib
    from tfaudio.train import export as export_lib

    results = {}
    if evaluating:
        results = evaluate_lib.evaluate_model(model, recipe, path, d.test_split, labels,
                                              os.path.join(run_dir, "evaluation"), log_dir)
        _say(evaluate_lib.summary_line(results), verbose)
    export_dir = None
    if recipe.train.export:
        extra = ({"eer_threshold": results.get("eer_threshold")} if d.targets == "speaker"
                 else None)
        export_dir = export_lib.export(model, os.path.join(run_dir, "export"), recipe, labels,
                                       extra)
    serves = (f"waveform (batch, time) float32 at {d.sample_rate} Hz -> (batch, frames, 360) "
              "pitch activations" if d.targets == "f0" else
              f"generate(num_samples, class_ids, temperature, seed) -> {d.sample_rate} Hz "
              "codes and waveform" if d.targets == "audio" else
              f"waveform (batch, time) float32 at {d.sample_rate} Hz -> L2-normalised speaker "
              "embeddings" if d.targets == "speaker" else
              f"waveform (batch, time) float32 of any length at {d.sample_rate} Hz -> "
              "(batch, speakers, time)" if d.targets == "separation" else
              f"waveform (batch, time) float32 at {d.sample_rate} Hz -> probabilities; embed: "
              "-> patch embeddings" if d.format == "audio" else
              "embeddings (batch, frames, 128) float32 -> probabilities")
    if export_dir:
        _say(f"exported the SavedModel to {export_dir} (serve: {serves})", verbose)
    else:
        _say("no export (train.export = false)", verbose)
    summary = {
        "recipe": recipe.name, "data": os.path.abspath(path), "classes": num_classes,
        "clips": {"train": n_train, "val": n_val},
        "epochs_run": len(ckpt.history), "epochs": recipe.train.epochs,
        "stopped_early": ckpt.stopped_early,
        "optimizer_steps": steps_done,
        "examples_per_epoch": [int(h.get("examples", -1)) for h in ckpt.history],
        "parameters": int(model.count_params()),
        "strategy": name, "replicas": role.replicas, "workers": workers,
        "seconds_this_session": round(time.time() - started, 1),
        "training_seconds_this_session": round(fit_seconds, 1),
        "test": (speaker_lib.run_summary(results) if d.targets == "speaker" and results else
                 _separation_summary(results) if d.targets == "separation" and results else
                 {k: results[k] for k in ("accuracy", "loss", "mAP", "rpa", "rca", "clips",
                                          "voiced_frames", "bits_per_sample", "nll",
                                          "positions") if k in results}),
        "export": os.path.abspath(export_dir) if export_dir else None,
        "python": sys.version.split()[0],
    }
    with open(os.path.join(run_dir, "run.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return summary


def _separation_summary(results: dict) -> dict:
    from tfaudio.train.separation import run_summary

    return run_summary(results)


def _single_device_copy(recipe: Recipe, num_classes: int, ckpt_dir: str) -> Any:
    """The recipe's model outside any strategy, with the last checkpoint's weights."""
    from tfaudio.train import build, checkpoint

    model = build.build_model(recipe, num_classes)
    latest = checkpoint.latest(ckpt_dir)
    if latest:
        model.load_weights(os.path.join(latest, "model.weights.h5"))
    return model


def load_run_model(run_dir: str) -> tuple[Any, Recipe, list[str]]:
    """The trained Keras model of a run (best or last weights), its recipe and labels."""
    from tfaudio.train import build, checkpoint

    if not is_run(run_dir):
        raise RunError(f"{run_dir} is not a tfaudio run folder (expected recipe.toml and "
                       "labels.txt, written by `tfaudio train`)")
    recipe = recipe_lib.load(os.path.join(run_dir, "recipe.toml"))
    with open(os.path.join(run_dir, "labels.txt"), encoding="utf-8") as f:
        labels = [line.rstrip("\n") for line in f if line.strip()]
    model = build.build_model(recipe, len(labels))
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    best = os.path.join(ckpt_dir, "best.weights.h5")
    latest = checkpoint.latest(ckpt_dir)
    if recipe.train.restore_best and os.path.exists(best):
        model.load_weights(best)
    elif latest:
        model.load_weights(os.path.join(latest, "model.weights.h5"))
    else:
        raise RunError(f"{run_dir} has no trained weights yet (no checkpoint)")
    return model, recipe, labels


