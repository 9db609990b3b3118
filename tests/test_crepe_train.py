"""Training CREPE from f0 targets: recipe checks, the salience op, a tiny run end to end."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.signals import write_wav
from tfaudio import data as tfd
from tfaudio.ops import cents_mapping, f0_to_salience, to_hz
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREPE_TOML = os.path.join(ROOT, "models", "crepe.toml")
# The flow, not the accuracy: a 1x CREPE, 40 ms frames, 1 epoch.
TINY = ["train.epochs=1", "train.batch_size=8", "model.capacity=\"1\"", "model.step_size=40.0",
        "train.jit_compile=false", "schedule.name=\"constant\""]


def _salience_numpy(f0_hz: np.ndarray, std: float = 25.0) -> np.ndarray:
    f0 = np.asarray(f0_hz, np.float64)
    cents = 1200.0 * np.log2(np.where(f0 > 0, f0, 1.0) / 10.0)
    y = np.exp(-((cents_mapping() - cents[..., None]) ** 2) / (2.0 * std ** 2))
    return np.where((f0 > 0)[..., None], y, 0.0)


# ----------------------------------------------------------------- the op
def test_f0_to_salience_matches_numpy():
    rng = np.random.default_rng(0)
    f0 = rng.uniform(32.0, 2000.0, (3, 7))
    f0[0, :2] = 0.0
    f0[2, 5] = -1.0
    got = np.asarray(f0_to_salience(f0))
    assert got.shape == (3, 7, 360) and got.dtype == np.float32
    np.testing.assert_allclose(got, _salience_numpy(f0), atol=1e-6)
    assert not got[0, :2].any() and not got[2, 5].any()
    np.testing.assert_allclose(np.asarray(f0_to_salience(f0, std_cents=10.0)),
                               _salience_numpy(f0, 10.0), atol=1e-6)


def test_f0_to_salience_peaks_on_the_bin():
    bin_hz = float(to_hz(cents_mapping()[123]))
    y = np.asarray(f0_to_salience([bin_hz]))[0]
    assert int(np.argmax(y)) == 123 and y[123] == pytest.approx(1.0, abs=1e-5)
    assert y[124] == pytest.approx(np.exp(-400.0 / 1250.0), abs=1e-5)  # 20 cents, std 25
    with pytest.raises(ValueError, match="std_cents"):
        f0_to_salience([100.0], std_cents=0.0)


# ----------------------------------------------------------------- recipes
def test_crepe_recipe_loads():
    recipe = R.load(CREPE_TOML)
    assert (recipe.data.targets, recipe.model.name) == ("f0", "crepe")
    assert R.loads(recipe.to_toml(), "crepe").to_dict() == recipe.to_dict()


@pytest.mark.parametrize("override, message", [
    ("model.name=\"vggish_classifier\"",
     "data.targets = 'f0' needs model.name = 'crepe' \\(got 'vggish_classifier'\\)"),
    ("data.targets=\"label\"", "model.name = 'crepe' is trained on f0; set data.targets = 'f0'"),
    ("data.targets=\"pitch\"", "data.targets = 'pitch' is not allowed; choose from"),
    ("model.capacity=\"huge\"", "model.capacity = 'huge' is not allowed; choose from \\['tiny'"),
    ("model.capacity=\"0\"", "model.capacity = '0' is not allowed"),
    ("model.step_size=0.5", "model.step_size = 0.5 ms is outside 1..100"),
    ("data.multi_label=true", "data.multi_label = true does not apply"),
    ("data.format=\"audioset\"", "set data.format = 'audio'"),
    ("train.metrics=[\"accuracy\"]", "train.metrics \\['accuracy'\\] unknown for "
                                     "data.targets = 'f0'; allowed \\['rpa', 'rca'\\]"),
    ("train.monitor=\"val_accuracy\"", "train.monitor = 'val_accuracy' is not logged"),
    ("data.synth_classes=[\"sine\", \"flute\"]", "data.synth_classes = .*'flute'"),
])
def test_crepe_recipe_errors(override, message):
    with pytest.raises(R.RecipeError, match=message):
        R.load(CREPE_TOML, [override])


def test_label_recipe_rejects_pitch_metrics():
    with pytest.raises(R.RecipeError, match="train.metrics \\['rpa'\\] unknown"):
        R.load(os.path.join(ROOT, "models", "vggish_small.toml"), ["train.metrics=[\"rpa\"]"])


# ----------------------------------------------------------------- metric
def test_pitch_accuracy_metric_counts_voiced_frames():
    from tfaudio.train.pitch import PitchAccuracy

    f0 = np.array([[0.0, 220.0, 220.0, 440.0]], np.float32)
    est = np.array([[0.0, 222.0, 440.0, 300.0]])  # unvoiced, right, octave, wrong
    act = np.asarray(f0_to_salience(est))
    rpa, rca = PitchAccuracy(), PitchAccuracy(chroma=True)
    rpa.update_state(f0, act)
    rca.update_state(f0, act)
    assert float(rpa.result()) == pytest.approx(1 / 3)
    assert float(rca.result()) == pytest.approx(2 / 3)


# ----------------------------------------------------------------- a tiny run
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tfaudio.train import train

    data = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(data, classes=["sine", "white_noise"], clips_per_class=10, seconds=0.5,
                      seed=1, splits="train=0.6,val=0.2,test=0.2")
    run_dir = str(tmp_path_factory.mktemp("runs") / "crepe")
    summary = train(R.load(CREPE_TOML, TINY), data_dir=data, run_dir=run_dir, verbose=0)
    return run_dir, summary


def test_tiny_run_writes_rpa_and_rca(run):
    run_dir, summary = run
    with open(os.path.join(run_dir, "evaluation", "test.json"), encoding="utf-8") as f:
        result = json.load(f)
    assert result["voiced_frames"] > 0 and result["frames"] == result["clips"] * 13
    for key in ("rpa", "rca"):
        assert 0.0 <= result[key] <= 1.0
        assert summary["test"][key] == result[key]
    assert result["rca"] >= result["rpa"]
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        assert json.load(f)["test"]["rpa"] == result["rpa"]
    assert summary["examples_per_epoch"] == [summary["clips"]["train"]]
    history = [json.loads(line) for line in open(os.path.join(run_dir, "history.jsonl"))]
    assert {"rpa", "rca", "val_rpa", "loss"} <= set(history[0])


def test_tiny_run_export_serves_activations(run):
    import tensorflow as tf

    run_dir, _ = run
    export = os.path.join(run_dir, "export")
    with open(os.path.join(export, "tfaudio.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert (config["output"], config["step_size_ms"], config["sample_rate"]) == (
        "pitch_activations", 40.0, 16000)
    loaded = tf.saved_model.load(export)  # kept: its functions need its variables
    served = loaded.serve(tf.zeros([2, 8000]))
    assert tuple(served.shape) == (2, 1 + 8000 // 640, 360)
    assert np.all((served.numpy() >= 0) & (served.numpy() <= 1))


def test_evaluate_cli_on_pitch_run(run, tmp_path, capsys):
    from tfaudio.cli import main

    run_dir, summary = run
    assert main(["evaluate", run_dir, "--out", str(tmp_path)]) == 0
    assert f"test: RPA {summary['test']['rpa']:.3f}" in capsys.readouterr().out
    with open(tmp_path / "test.json", encoding="utf-8") as f:
        assert json.load(f)["rpa"] == pytest.approx(summary["test"]["rpa"])


def test_predict_and_pitch_commands_on_a_pitch_run(run, tmp_path, capsys):
    """`tfaudio predict RUN` serves a CREPE run's export (the pitch track of the whole
    file) and `tfaudio pitch --model RUN` runs its trained Keras model through CREPE's
    CSV path: the two agree (same weights, same 40 ms centred frames, same decoding);
    measured ~1e-5 relative, bound 1e-3."""
    from tfaudio.cli import main

    run_dir, _ = run
    t = np.arange(8000) / 16000.0
    wav = write_wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 330.0 * t), 16000)
    assert main(["predict", run_dir, wav]) == 0
    line = capsys.readouterr().out
    assert f"{wav} (0.50 s, 13 frames of 40 ms): " in line
    assert main(["predict", run_dir, wav, "--json"]) == 0
    served = json.loads(capsys.readouterr().out)
    assert served["frames"] == len(served["frequency"]) == 13
    np.testing.assert_allclose(served["time"], np.arange(13) * 0.04)
    csv = str(tmp_path / "tone.f0.csv")
    assert main(["pitch", wav, "--model", run_dir, "--step-size", "40", "--csv", csv]) == 0
    table = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(table[:, 0], served["time"], atol=1e-3)
    np.testing.assert_allclose(table[:, 1], served["frequency"], rtol=1e-3, atol=2e-3)
    np.testing.assert_allclose(table[:, 2], served["confidence"], atol=1e-3)


def test_pitch_model_argument_errors(tmp_path, capsys):
    from tfaudio.cli import main

    wav = write_wav(tmp_path / "x.wav", np.zeros(1600), 16000)
    assert main(["pitch", wav, "--model", "huge"]) == 2
    assert "--model huge: expected full, tiny or the folder of a CREPE run" in \
        capsys.readouterr().err
    assert main(["pitch", wav, "--model", str(tmp_path)]) == 2
    assert f"--model {tmp_path}: {tmp_path} is not a tfaudio run folder" in \
        capsys.readouterr().err


def test_tune_table_shows_the_test_rpa_of_pitch_trials():
    from tfaudio.train.tune import trials_table

    rows = [{"trial": 1, "best": True, "status": "COMPLETED", "objective": 0.5,
             "test": {"rpa": 0.25, "rca": 0.5}, "epochs": 1, "seconds": 3.0,
             "values": {"model.capacity": "2"}}]
    table = trials_table(rows, ["model.capacity"], "val_rpa")
    assert "| trial | status | val_rpa | test RPA |" in table
    assert "| 1 * | completed | 0.5000 | 0.250 | 1 | 3 | 2 |" in table
