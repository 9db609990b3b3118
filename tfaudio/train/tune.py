"""``tune``: a keras-tuner search over a recipe's ``[tune]`` space; every trial is a
``tfaudio train`` run.

keras-tuner's oracle (random search, Bayesian optimisation or Hyperband) proposes values
for the recipe keys named in ``[tune]`` (front end, augmentation, model, optimiser, any
key); each trial applies them to the recipe like ``--set`` overrides, validates the
result and trains it with :func:`tfaudio.train.run.train` (the code path of ``tfaudio
train``: checkpoints, test evaluation, export), scoring the best epoch's value of the
objective. A combination the recipe rejects (e.g. ``n_fft`` shorter than the window) is
recorded as a failed trial and the search goes on. The search folder::

    search.toml    the recipe as searched, [tune] included (a rerun must match it)
    data/          the synthetic dataset when no data is given (written once, shared)
    keras_tuner/   the oracle's state (oracle.json, trial_*/trial.json): the resume point
    trials/<id>/   each trial's run folder (a complete ``tfaudio train`` run folder)
    tune.json      one row per trial: id, values, status, objective, epochs, seconds
    best.toml      the best trial's recipe as run ([tune] removed, the trial's epochs as
                   ``train.epochs``, ``data.path`` the data searched on): rerun it with
                   ``tfaudio train best.toml``

Resuming: rerunning with the same folder continues the search; a trial that was running
when the search stopped is run again (resuming its own run folder from its last epoch
checkpoint), finished trials are kept. A finished search only reports. A folder holding
the search of another recipe is an error (only ``tune.trials`` may change).

Hyperband: a trial that continues a trial of the previous round starts from a copy of
that trial's run folder and resumes it from its last epoch (not keras-tuner's "best
epoch" weights), up to ``tuner/epochs``. The learning-rate schedule of the resumed run
spans the new epoch count, so for non-constant schedules the continued trial is not
bit-for-bit what ``tfaudio train best.toml`` (a fresh run of that many epochs) does.

Example::

    from tfaudio.train import load_recipe
    from tfaudio.train.tune import tune
    result = tune(load_recipe("models/vggish_small.toml"), run_dir="runs/small-tune",
                  trials=4)
    print(result["best"]["values"], result["best_recipe"])
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import os
import shutil
import time
import traceback
from typing import Any

import keras_tuner

from tfaudio.train import recipe as recipe_lib
from tfaudio.train import run as run_lib
from tfaudio.train.recipe import Recipe, RecipeError
from tfaudio.train.run import RunError

PROJECT = "keras_tuner"
MAX_CRASHES = 3  # consecutive trials failing with an error other than an invalid recipe


class TuneError(RunError):
    """A search folder that cannot be used as asked (names the folder and the problem)."""


def _say(text: str, verbose: int) -> None:
    if verbose:
        print(text, flush=True)


def space_keys(recipe: Recipe) -> list[str]:
    """The tuned keys of the recipe's ``[tune]`` space, ``section.key``, in file order."""
    space = recipe.tune.space if recipe.tune else {}
    return [f"{section}.{key}" for section, keys in space.items() for key in keys]


def _list_valued(recipe: Recipe) -> set[str]:
    return {f"{s}.{k}" for s, keys in recipe.tune.space.items() for k, spec in keys.items()
            if isinstance(spec, list) and isinstance(spec[0], list)}


def search_space(recipe: Recipe) -> Any:
    """The recipe's ``[tune]`` space as a ``keras_tuner.HyperParameters``.

    Lists become ``Choice`` (list-valued choices as their TOML text), ranges ``Int`` or
    ``Float`` (``step``, ``sampling="log"``); names are ``section.key``.

    Example::

        hp = search_space(load_recipe("models/vggish_small.toml"))
        [p.name for p in hp.space]  # ['frontend.n_mels', 'frontend.hop_ms', ...]
    """
    if recipe.tune is None or not recipe.tune.space:
        raise RecipeError(f"{recipe.source}: no [tune.<section>] tables: nothing to tune "
                          "(e.g. [tune.model] width = [0.125, 0.25])")
    hp = keras_tuner.HyperParameters()
    for section, keys in recipe.tune.space.items():
        for key, spec in keys.items():
            name = f"{section}.{key}"
            if isinstance(spec, list):
                values = [recipe_lib.toml_value(v) if isinstance(v, list) else v for v in spec]
                hp.Choice(name, values)
                continue
            sampling = "log" if spec.get("log") else "linear"
            if isinstance(spec["min"], int):
                hp.Int(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
            else:
                hp.Float(name, spec["min"], spec["max"], step=spec.get("step"),
                         sampling=sampling)
    return hp


def trial_values(recipe: Recipe, hp_values: dict) -> dict:
    """The tuned keys' values of a trial, decoded (list-valued choices back to lists)."""
    listed = _list_valued(recipe)
    out = {}
    for key in space_keys(recipe):
        value = hp_values[key]
        if key in listed:
            value = recipe_lib.tomllib.loads(f"v = {value}")["v"]
        out[key] = value
    return out


def trial_recipe(recipe: Recipe, values: dict, epochs: int, source: str) -> Recipe:
    """``recipe`` without ``[tune]``, with ``values`` (``section.key`` -> value) and
    ``train.epochs = epochs`` applied; validated (raises RecipeError naming ``source``)."""
    base = recipe.without_tune()
    overrides = [f"{k}={recipe_lib.toml_value(v)}" for k, v in values.items()]
    overrides.append(f"train.epochs={int(epochs)}")
    table = recipe_lib.apply_overrides(base.to_dict(), overrides, source)
    return recipe_lib.from_dict(table, source)


def best_value(history: list[dict], name: str, direction: str) -> float | None:
    """The best finite value of ``name`` over the epochs of ``history`` (None: none)."""
    values = [float(row[name]) for row in history
              if name in row and math.isfinite(float(row[name]))]
    if not values:
        return None
    return min(values) if direction == "min" else max(values)


def _trial_history(trial_dir: str) -> list[dict]:
    from tfaudio.train import checkpoint

    latest = checkpoint.latest(os.path.join(trial_dir, "checkpoints"))
    return checkpoint.read_state(latest).get("history", []) if latest else []


def _oracle(recipe: Recipe, objective: Any, hp: Any, trials: int, epochs: int) -> Any:
    t = recipe.tune
    common = {"objective": objective, "hyperparameters": hp, "tune_new_entries": False,
              "seed": recipe.train.seed + 1,  # keras-tuner takes seed 0 as "random"
              # invalid combinations are failed trials, not a reason to stop; crashes are
              # counted by the tuner (MAX_CRASHES)
              "max_consecutive_failed_trials": 10**9}
    if t.algorithm == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=trials, **common)
    if t.algorithm == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(
            max_trials=trials, num_initial_points=t.initial_points or None, **common)
    oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=epochs, factor=t.factor,
                                                 hyperband_iterations=1, **common)
    oracle.max_trials = trials  # a cap: the brackets may want more (or fewer) trials
    return oracle


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "space":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_same_search(run_dir: str, recipe: Recipe) -> None:
    """Raises TuneError if ``run_dir`` holds another search (``tune.trials`` may differ)."""
    path = os.path.join(run_dir, "search.toml")
    if not os.path.exists(path):
        if os.path.isdir(os.path.join(run_dir, PROJECT)) or run_lib.is_run(run_dir):
            raise TuneError(f"{run_dir} holds something else than a tfaudio tune search "
                            "(no search.toml); choose another --out")
        return
    old = _flat(recipe_lib.load(path).to_dict())
    new = _flat(recipe.to_dict())
    old.pop("tune.trials", None)
    new.pop("tune.trials", None)
    differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:6])
        raise TuneError(f"{run_dir} holds the search of a different recipe ({shown}); rerun "
                        "with the same recipe to continue it (only --trials may change), or "
                        "choose another --out")


def _atomic_json(path: str, data: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


class TrialsCrashed(keras_tuner.errors.FatalError):
    """Several trials in a row raised an error other than an invalid recipe (stops the
    search; keras-tuner re-raises fatal errors)."""


class RecipeTuner(keras_tuner.Tuner):
    """Runs each trial as a ``tfaudio train`` run of the recipe with the trial's values.

    Args:
        oracle: a keras-tuner oracle over :func:`search_space`.
        recipe: the recipe searched.
        data_dir: the dataset folder all trials read.
        run_dir: the search folder (trials go to ``trials/<id>``).
        epochs: epochs per trial (hyperband trials bring ``tuner/epochs``).
        objective: the logged metric scored (best epoch).
        verbose: as :func:`tune`.
    """

    def __init__(self, oracle: Any, recipe: Recipe, data_dir: str, run_dir: str, epochs: int,
                 objective: str, verbose: int):
        self.recipe, self.data_dir, self.run_dir = recipe, data_dir, run_dir
        self.epochs, self.objective_name, self.verbose = epochs, objective, verbose
        self.keys = space_keys(recipe)
        self.crashes = 0
        self.log = _read_log(run_dir)
        with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
            super().__init__(oracle=oracle, directory=run_dir, project_name=PROJECT,
                             overwrite=False)

    def number(self, trial_id: str) -> int:
        """The trial's 1-based number in the order trials started."""
        order = self.oracle.start_order
        return order.index(trial_id) + 1 if trial_id in order else len(order) + 1

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        values = trial_values(self.recipe, trial.hyperparameters.values)
        epochs = trial.hyperparameters.values.get("tuner/epochs", self.epochs)
        again = " (again: it was running when the search stopped)" \
            if trial.trial_id in self.log else ""
        self.log.setdefault(trial.trial_id, {"seconds": 0.0, "message": ""})
        write_results(self)  # the trial shows as RUNNING in tune.json
        _say(f"trial {self.number(trial.trial_id)} of {self.oracle.max_trials} "
             f"(id {trial.trial_id}, {epochs} epochs){again}: "
             + ", ".join(f"{k} = {_fmt(v)}" for k, v in values.items()), self.verbose)

    def run_trial(self, trial, *args, **kwargs):
        import keras

        tid = trial.trial_id
        hp = trial.hyperparameters.values
        trial_dir = os.path.join(self.run_dir, "trials", tid)
        epochs = int(hp.get("tuner/epochs", self.epochs))
        started = time.time()
        entry = self.log.setdefault(tid, {"seconds": 0.0, "message": ""})
        try:
            try:
                recipe = trial_recipe(self.recipe, trial_values(self.recipe, hp), epochs,
                                      "trial")
            except RecipeError as err:
                entry["message"] = f"invalid combination: {str(err).removeprefix('trial: ')}"
                raise keras_tuner.errors.FailedTrialError(entry["message"]) from err
            resume = run_lib.is_run(trial_dir)
            parent = hp.get("tuner/trial_id")
            if parent and not resume:  # hyperband: continue the previous round's trial
                _copy_run(os.path.join(self.run_dir, "trials", parent), trial_dir)
                resume = True
            keras.backend.clear_session()
            try:
                run_lib.train(recipe, data_dir=self.data_dir, run_dir=trial_dir,
                              epochs=epochs, resume=resume,
                              verbose=2 if self.verbose >= 2 else 0)
            except Exception as err:  # recorded, counted, re-raised as a failed trial
                self.crashes += 1
                entry["message"] = f"error: {type(err).__name__}: {err}"
                if self.verbose:
                    traceback.print_exc()
                if self.crashes >= MAX_CRASHES:
                    raise TrialsCrashed(f"{MAX_CRASHES} trials in a row failed with an error; "
                                        f"the last (trial {tid}): {type(err).__name__}: "
                                        f"{err}") from err
                raise keras_tuner.errors.FailedTrialError(entry["message"]) from err
            self.crashes = 0
            direction = self.oracle.objective.direction
            value = best_value(_trial_history(trial_dir), self.objective_name, direction)
            if value is None:
                entry["message"] = f"no finite {self.objective_name} in any epoch"
                raise keras_tuner.errors.FailedTrialError(entry["message"])
            entry["message"] = ""
            return {self.objective_name: value}
        finally:
            entry["seconds"] = round(entry["seconds"] + time.time() - started, 1)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        done = self.oracle.get_trial(trial.trial_id)
        rows = write_results(self)
        best = next((r for r in rows if r["best"]), None)
        row = next(r for r in rows if r["id"] == trial.trial_id)
        head = f"trial {row['trial']} of {self.oracle.max_trials}"
        if done.status == "COMPLETED":
            _say(f"{head}: {self.objective_name} = {done.score:.4g} in {row['seconds']} s "
                 f"(best so far {best['objective']:.4g}, trial {best['trial']})", self.verbose)
        else:
            _say(f"{head}: {done.status.lower()}: {row['message']}", self.verbose)


def _copy_run(src: str, dst: str) -> None:
    if not run_lib.is_run(src):
        raise RunError(f"hyperband: the trial to continue, {src}, is not a run folder")
    tmp = f"{dst}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("export", "evaluation",
                                                            "run.json"))
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def _read_log(run_dir: str) -> dict:
    path = os.path.join(run_dir, "tune.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        rows = json.load(f).get("trials", [])
    return {r["id"]: {"seconds": r.get("seconds", 0.0), "message": r.get("message", "")}
            for r in rows}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _rows(tuner: Any) -> list[dict]:
    oracle = tuner.oracle
    done = [oracle.trials[t] for t in oracle.start_order
            if oracle.trials[t].status == "COMPLETED"]
    sign = -1.0 if oracle.objective.direction == "max" else 1.0
    # the best score; on a tie the trial that started first (keras-tuner's own order
    # follows its trial files' order on disk)
    best = sorted(done, key=lambda t: sign * t.score)[:1]
    rows = []
    for number, tid in enumerate(oracle.start_order, 1):
        trial = oracle.trials[tid]
        hp = trial.hyperparameters.values
        trial_dir = os.path.join(tuner.run_dir, "trials", tid)
        test = {}
        summary = os.path.join(trial_dir, "run.json")
        if trial.status == "COMPLETED" and os.path.exists(summary):
            with open(summary, encoding="utf-8") as f:
                test = json.load(f).get("test", {})
        entry = tuner.log.get(tid, {})
        rows.append({
            "trial": number, "id": tid, "status": trial.status,
            "objective": trial.score if trial.status == "COMPLETED" else None,
            "values": trial_values(tuner.recipe, hp),
            "epochs": int(hp.get("tuner/epochs", tuner.epochs)),
            "continues": hp.get("tuner/trial_id"),
            "seconds": entry.get("seconds", 0.0), "message": entry.get("message", ""),
            "test": test, "run_dir": os.path.join("trials", tid),
            "best": bool(best) and best[0].trial_id == tid})
    return rows


def write_results(tuner: Any) -> list[dict]:
    """Writes ``tune.json`` and (once a trial completed) ``best.toml``; returns the rows."""
    rows = _rows(tuner)
    objective = {"name": tuner.objective_name, "direction": tuner.oracle.objective.direction}
    _atomic_json(os.path.join(tuner.run_dir, "tune.json"), {
        "recipe": tuner.recipe.name, "algorithm": tuner.recipe.tune.algorithm,
        "objective": objective, "trials_requested": tuner.oracle.max_trials,
        "keys": tuner.keys, "trials": rows})
    best = next((r for r in rows if r["best"]), None)
    if best is not None:
        write_best(tuner.run_dir, best, objective)
    return rows


def write_best(run_dir: str, row: dict, objective: dict) -> str:
    """``<run_dir>/best.toml``: the best trial's recipe as run, with a comment header."""
    recipe = recipe_lib.load(os.path.join(run_dir, row["run_dir"], "recipe.toml"))
    recipe = recipe.without_tune()
    values = ", ".join(f"{k} = {_fmt(v)}" for k, v in row["values"].items())
    path = os.path.join(run_dir, "best.toml")
    header = (f"# The best trial of `tfaudio tune` in {os.path.abspath(run_dir)}:\n"
              f"# trial {row['trial']} (id {row['id']}, run folder {row['run_dir']}), "
              f"{objective['name']} = {row['objective']:.6g} ({objective['direction']}), "
              f"{row['epochs']} epochs.\n"
              f"# Tuned values: {values}.\n"
              "# [tune] removed; train.epochs is the trial's; data.path is the data searched "
              "on.\n# Reproduce: tfaudio train best.toml --out runs/<name>\n")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(header + recipe.to_toml())
    os.replace(tmp, path)
    return path


def trials_table(rows: list[dict], keys: list[str], objective: str) -> str:
    """A Markdown table of the trials (best marked ``*``), one row per trial."""
    short = [k.split(".", 1)[1] for k in keys]
    names = [s if short.count(s) == 1 else k for s, k in zip(short, keys, strict=True)]
    # the test score of the run's kind: accuracy, mAP (multi-label) or RPA (CREPE)
    kinds = ("accuracy", "mAP", "rpa")
    kind = next((k for r in rows for k in kinds if r["test"].get(k) is not None), "accuracy")
    title = {"accuracy": "test acc", "mAP": "test mAP", "rpa": "test RPA"}[kind]
    head = ["trial", "status", objective, title, "epochs", "s", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc = r["test"].get(kind)
        cells = [f"{r['trial']}{' *' if r['best'] else ''}", r["status"].lower(),
                 "-" if r["objective"] is None else f"{r['objective']:.4f}",
                 "-" if acc is None else f"{acc:.3f}", str(r["epochs"]),
                 f"{r['seconds']:.0f}", *(_fmt(r["values"][k]) for k in keys)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tune(recipe: Recipe, data_dir: str | None = None, run_dir: str | None = None,
         trials: int | None = None, algorithm: str | None = None, epochs: int | None = None,
         verbose: int = 1) -> dict:
    """Searches the recipe's ``[tune]`` space with keras-tuner, training every trial.

    Args:
        recipe: a validated recipe with a ``[tune]`` table.
        data_dir: dataset folder (overrides ``[data] path``; neither: the synthetic
            dataset is written once into ``<run_dir>/data`` and shared by the trials).
        run_dir: the search folder (default ``runs/<recipe name>-tune``); an existing
            search of the same recipe is continued.
        trials: overrides ``tune.trials``.
        algorithm: overrides ``tune.algorithm`` (``random``, ``bayesian``, ``hyperband``).
        epochs: overrides ``tune.epochs`` (epochs per trial; hyperband: at most).
        verbose: 0 silent, 1 a line per trial and the final table, 2 also the trials'
            training (one line per epoch).

    Returns:
        ``{"run_dir", "objective": {name, direction}, "trials": [rows of tune.json],
        "best": the best row or None, "best_recipe": path of best.toml or None,
        "seconds_this_session"}``.

    Raises:
        RecipeError: no ``[tune]`` space, bad overrides. TuneError: ``run_dir`` holds
        another search or a run. FileNotFoundError / ValueError: data problems.
        Example: ``tune(load_recipe("models/vggish_small.toml"), trials=4)``.
    """
    if recipe.tune is None:
        raise RecipeError(f"{recipe.source}: no [tune] table: nothing to tune (see "
                          "models/vggish_small.toml)")
    recipe = _with_settings(recipe, trials, algorithm, epochs)
    run_dir = run_dir or os.path.join("runs", f"{recipe.name}-tune")
    started = time.time()
    hp = search_space(recipe)
    t = recipe.tune
    trial_epochs = t.epochs or recipe.train.epochs
    if data_dir:
        data_dir = os.path.abspath(data_dir)
        recipe.data.path = data_dir
    _check_same_search(run_dir, recipe)
    os.makedirs(run_dir, exist_ok=True)
    path = run_lib.prepare_data(recipe, data_dir, run_dir, verbose)
    from tfaudio import data as tfd

    splits = tfd.read_manifest(path).get("splits", {})
    objective = t.objective or recipe.train.monitor
    if objective.startswith("val_") and not (recipe.data.val_split
                                             and recipe.data.val_split in splits):
        objective = objective[4:]
        _say(f"no validation split in {path}: optimising {objective}", verbose)
    direction = "min" if "loss" in objective else "max"
    with open(os.path.join(run_dir, "search.toml"), "w", encoding="utf-8") as f:
        f.write(f"# the recipe searched by `tfaudio tune` in this folder\n{recipe.to_toml()}")

    oracle = _oracle(recipe, keras_tuner.Objective(objective, direction), hp, t.trials,
                     trial_epochs)
    tuner = RecipeTuner(oracle, recipe, os.path.abspath(path), run_dir,
                                trial_epochs, objective, verbose)
    if oracle.start_order:
        _say(f"continuing the search in {run_dir}: {len(oracle.end_order)} of {t.trials} "
             "trials done",
             verbose)
    else:
        _say(f"tuning {recipe.name} ({t.algorithm}, {t.trials} trials of {trial_epochs} "
             f"epochs, {objective} {direction}imised) over {', '.join(space_keys(recipe))}; "
             f"search folder {run_dir}", verbose)
    kt_config = importlib.import_module("keras_tuner.src.config")
    debug, kt_config.DEBUG = kt_config.DEBUG, False  # it prints every failed trial's traceback
    try:
        tuner.search(verbose=0)
    except TrialsCrashed as err:
        raise TuneError(str(err)) from err.__cause__
    finally:
        kt_config.DEBUG = debug
    rows = write_results(tuner)
    best = next((r for r in rows if r["best"]), None)
    _say("\n" + trials_table(rows, tuner.keys, objective), verbose)
    if best is not None:
        _say(f"best: trial {best['trial']} ({objective} = {best['objective']:.4g}); its "
             f"recipe: {os.path.join(run_dir, 'best.toml')}", verbose)
    else:
        _say("no trial completed: no best.toml", verbose)
    return {"run_dir": run_dir, "objective": {"name": objective, "direction": direction},
            "trials": rows, "best": best,
            "best_recipe": os.path.join(run_dir, "best.toml") if best else None,
            "seconds_this_session": round(time.time() - started, 1)}


def _with_settings(recipe: Recipe, trials: int | None, algorithm: str | None,
                   epochs: int | None) -> Recipe:
    """A copy of ``recipe`` with the ``tune`` settings overridden and validated."""
    import copy

    out = copy.deepcopy(recipe)
    for key, value in (("trials", trials), ("algorithm", algorithm), ("epochs", epochs)):
        if value is not None:
            setattr(out.tune, key, value)
    return recipe_lib.check(out)
