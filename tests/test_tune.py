"""tfaudio tune: the [tune] table, a keras-tuner search of `tfaudio train` runs, resume."""

from __future__ import annotations

import json
import os

import pytest

from tfaudio import data as tfd
from tfaudio.cli import main
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = os.path.join(ROOT, "models", "vggish_small.toml")
CLASSES = ["sine", "square", "white_noise", "clicks"]
TINY = [
    "model.width=0.0625", "model.embedding_size=16", "train.batch_size=8",
    "train.jit_compile=false", "train.tensorboard_examples=0", "schedule.name=\"constant\"",
    "train.monitor=\"val_accuracy\"", "data.deterministic=true", "train.export=false",
]
# One key whose first choice is always invalid (a 256-point FFT under the 400-sample
# window), so failed trials happen. The random oracle's draws are fixed by its seed
# (train.seed + 1): with train.seed = 1 the trials draw n_fft 512, 512, 256.
SPACE = """
[tune]
algorithm = "random"
trials = 3
epochs = 1
[tune.frontend]
n_fft = [256, 512]
[tune.optimizer]
learning_rate = {min = 3e-4, max = 3e-3, log = true}
[tune.augment]
noise_snr_db = [[10.0, 30.0], [20.0, 40.0]]
"""


def _recipe_file(tmp_path, space=SPACE, extra=()):
    base = R.load(SMALL, [*TINY, "train.seed=1", *extra]).without_tune()
    path = tmp_path / "tiny.toml"
    path.write_text(base.to_toml() + space)
    return str(path)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(path, classes=CLASSES, clips_per_class=10, seed=3, progress=False)
    return path


# ----------------------------------------------------------------- the [tune] table
@pytest.mark.parametrize("override, message", [
    ("tune.algorithm=\"grid\"", r"tune.algorithm = 'grid' is not allowed; choose from "
                                r"\['random', 'bayesian', 'hyperband'\]"),
    ("tune.trials=0", "tune.trials = 0 must be >= 1"),
    ("tune.trails=3", r"\[tune\] has no key 'trails'; allowed: settings \['algorithm', "
                      r"'trials'"),
    ("tune.frontend.n_mel=[32]", r"unknown key 'n_mel' in \[tune.frontend\]; allowed keys: "
                                 r"\['name', 'pad_short', 'n_mels'"),
    ("tune.frontend.n_mels=[32, 64.5]", "tune.frontend.n_mels choice = 64.5 must be int"),
    ("tune.frontend.n_mels=64", "must be a list of choices or a range table"),
    ("tune.augment.noise_snr_db=[10.0, 30.0]", r"choice = 10.0 must be list .*\(a list-valued "
                                               r"key takes a list of lists\)"),
    ("tune.augment.noise_snr_db=[[30.0, 10.0]]", r"choice \[30.0, 10.0\] must be \[low, high\]"),
    ("tune.model.pooling=[\"max\"]", r"choices \['max'\] are not allowed; choose from"),
    ("tune.optimizer.learning_rate={min=1e-2, max=1e-3}", "need min < max"),
    ("tune.optimizer.learning_rate={min=0.0, max=1e-3, log=true}", "log = true needs min > 0"),
    ("tune.optimizer.learning_rate={min=1e-4, max=1e-3, stride=2}", "a range has keys"),
    ("tune.optimizer.learning_rate={min=\"a\", max=1e-3}", "learning_rate.min = 'a' must be "
                                                           "float"),
    ("tune.model.pooling={min=1, max=2}", "a range needs a number key"),
    ("tune.data.path=[\"a\", \"b\"]", r"data.path cannot be tuned"),
    ("tune.objective=\"val_auc\"", "tune.objective = 'val_auc' is not logged"),
])
def test_tune_table_errors_name_the_key(override, message):
    with pytest.raises(R.RecipeError, match=message):
        R.load(SMALL, [override])


def test_tune_table_round_trips_and_train_keeps_it_out_of_trials():
    recipe = R.load(SMALL)
    assert recipe.tune.algorithm == "bayesian" and "frontend" in recipe.tune.space
    assert R.loads(recipe.to_toml(), "x").to_dict() == recipe.to_dict()
    lr = recipe.tune.space["optimizer"]["learning_rate"]
    assert lr == {"min": 5e-4, "max": 5e-3, "log": True}
    assert "[tune" not in recipe.without_tune().to_toml()
    assert recipe.tune is not None  # without_tune copies
    ints = R.load(SMALL, ["tune.frontend.hop_ms=[10, 20]"])
    assert ints.tune.space["frontend"]["hop_ms"] == [10.0, 20.0]  # typed like the key


def test_search_space_and_trial_recipe():
    from tfaudio.train.tune import search_space, trial_recipe, trial_values

    recipe = R.load(SMALL)
    hp = search_space(recipe)
    assert [p.name for p in hp.space] == [
        "frontend.n_mels", "frontend.hop_ms", "frontend.f_max", "frontend.n_fft",
        "augment.freq_mask", "augment.noise_snr_db", "model.width", "optimizer.learning_rate"]
    values = trial_values(recipe, {**hp.values, "augment.noise_snr_db": "[5.0, 20.0]"})
    assert values["augment.noise_snr_db"] == [5.0, 20.0]
    trial = trial_recipe(recipe, {**values, "frontend.n_mels": 96}, 3, "trial")
    assert trial.tune is None and trial.train.epochs == 3 and trial.frontend.n_mels == 96
    assert trial.augment.noise_snr_db == [5.0, 20.0]
    with pytest.raises(R.RecipeError, match="trial: frontend.n_fft = 256 is shorter"):
        trial_recipe(recipe, {"frontend.n_fft": 256}, 3, "trial")


# ----------------------------------------------------------------- a search, end to end
@pytest.fixture(scope="module")
def search(tmp_path_factory, dataset):
    """trials=1, then trials=3 interrupted as trial 2 starts training (a kill), then
    trials=3 again: records which trial folders each session trained."""
    from tfaudio.train import run as run_lib
    from tfaudio.train.tune import tune

    tmp = tmp_path_factory.mktemp("tune")
    recipe_path = _recipe_file(tmp)
    out = str(tmp / "search")
    real_train = run_lib.train
    calls: list[tuple[int, str, bool]] = []
    session = {"n": 0, "interrupt": False}

    def train(recipe, data_dir=None, run_dir=None, epochs=None, resume=False, verbose=1):
        calls.append((session["n"], os.path.basename(run_dir), resume))
        if session["interrupt"]:
            raise KeyboardInterrupt  # as if the search were killed here
        return real_train(recipe, data_dir, run_dir, epochs, resume, verbose)

    run_lib.train = train
    try:
        first = tune(R.load(recipe_path), data_dir=dataset, run_dir=out, trials=1, verbose=0)
        session.update(n=1, interrupt=True)
        with pytest.raises(KeyboardInterrupt):
            tune(R.load(recipe_path), data_dir=dataset, run_dir=out, verbose=0)
        session.update(n=2, interrupt=False)
        final = tune(R.load(recipe_path), data_dir=dataset, run_dir=out, verbose=0)
    finally:
        run_lib.train = real_train
    return {"out": out, "recipe": recipe_path, "first": first, "final": final, "calls": calls}


def test_search_resumes_without_rerunning_finished_trials(search):
    assert [r["status"] for r in search["first"]["trials"]] == ["COMPLETED"]
    # Session 0 trained trial 0; session 1 was interrupted as trial 1 started; session 2
    # ran trial 1 again and went on with trial 2 (invalid: no training); trial 0 never again.
    assert search["calls"] == [(0, "0", False), (1, "1", False), (2, "1", False)]
    rows = search["final"]["trials"]
    assert [r["id"] for r in rows] == ["0", "1", "2"]
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED", "FAILED"]


def test_invalid_combination_is_a_failed_trial(search):
    rows = search["final"]["trials"]
    for row in rows:
        invalid = row["values"]["frontend.n_fft"] == 256
        assert (row["status"] == "FAILED") == invalid
        if invalid:
            assert row["objective"] is None and not os.path.exists(
                os.path.join(search["out"], "trials", row["id"]))
            assert row["message"].startswith("invalid combination: frontend.n_fft = 256 is "
                                             "shorter than the window")


def test_results_table_and_best_recipe(search, dataset):
    out, final = search["out"], search["final"]
    saved = json.load(open(os.path.join(out, "tune.json")))
    assert saved["trials"] == json.loads(json.dumps(final["trials"]))
    completed = [r for r in final["trials"] if r["status"] == "COMPLETED"]
    for row in completed:  # the objective is the best epoch of the trial's own history
        history = [json.loads(x) for x in open(os.path.join(out, row["run_dir"],
                                                            "history.jsonl"))]
        assert row["objective"] == max(h["val_accuracy"] for h in history)
        assert row["seconds"] > 0 and "accuracy" in row["test"]
        # train.export = false: evaluated, not exported
        assert not os.path.exists(os.path.join(out, row["run_dir"], "export"))
    best = max(completed, key=lambda r: r["objective"])  # ties: the first trial
    assert final["best"]["id"] == best["id"] and best["best"]
    assert [r["id"] for r in final["trials"] if r["best"]] == [best["id"]]
    recipe = R.load(final["best_recipe"])
    assert recipe.tune is None and recipe.train.epochs == 1
    assert recipe.frontend.n_fft == best["values"]["frontend.n_fft"]
    assert recipe.optimizer.learning_rate == best["values"]["optimizer.learning_rate"]
    assert recipe.augment.noise_snr_db == best["values"]["augment.noise_snr_db"]
    assert recipe.data.path == os.path.abspath(dataset)
    text = open(final["best_recipe"]).read()
    assert text.startswith("# The best trial of `tfaudio tune`") and "\n[tune" not in text


def test_finished_search_only_reports(search, dataset, capsys):
    from tfaudio.train import run as run_lib

    calls = []
    real = run_lib.train
    run_lib.train = lambda *a, **k: calls.append(a)
    try:
        assert main(["tune", search["recipe"], "--data", dataset, "--out",
                     search["out"]]) == 0
    finally:
        run_lib.train = real
    out = capsys.readouterr().out
    assert calls == [] and "3 of 3 trials done" in out
    assert "| 1 | completed |" in out.replace(" *", "") and "| failed |" in out


def test_best_recipe_trains_and_reproduces(search, tmp_path, capsys):
    """`tfaudio train best.toml` runs the best trial again. Measured on this CPU: the
    retrained monitor equals the trial's exactly (same seeds, same data order: the tiny
    recipe sets data.deterministic, without which a loaded machine reorders the parallel
    reads; no parallel nondeterminism in the maths at this size); asserted to 1e-6."""
    run_dir = str(tmp_path / "again")
    assert main(["train", search["final"]["best_recipe"], "--out", run_dir, "--quiet"]) == 0
    history = [json.loads(x) for x in open(os.path.join(run_dir, "history.jsonl"))]
    assert len(history) == 1
    assert "not exported (train.export = false)" in capsys.readouterr().out
    assert json.load(open(os.path.join(run_dir, "run.json")))["export"] is None
    assert history[0]["val_accuracy"] == pytest.approx(search["final"]["best"]["objective"],
                                                       abs=1e-6)


def test_cli_errors(search, dataset, tmp_path, capsys):
    assert main(["tune", search["recipe"], "--data", dataset, "--out", search["out"],
                 "--epochs", "2"]) == 2
    assert "holds the search of a different recipe (tune.epochs: 1 -> 2)" in \
        capsys.readouterr().err
    assert main(["tune", search["recipe"], "--trials", "0"]) == 2
    assert "--trials 0: must be >= 1" in capsys.readouterr().err
    plain = tmp_path / "plain.toml"
    plain.write_text(R.load(SMALL).without_tune().to_toml())
    assert main(["tune", str(plain)]) == 2
    assert "no [tune] table: nothing to tune" in capsys.readouterr().err
    assert main(["tune", search["recipe"], "--set", "tune.frontend.n_mels=[4.5]"]) == 2
    assert "tune.frontend.n_mels choice = 4.5 must be int" in capsys.readouterr().err
    run_folder = os.path.join(search["out"], "trials", "0")
    assert main(["tune", search["recipe"], "--out", run_folder]) == 2
    assert "holds something else than a tfaudio tune search" in capsys.readouterr().err
