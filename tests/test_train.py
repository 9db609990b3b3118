"""tfaudio train / evaluate / predict: recipes, the run folder, resume after kill -9, export."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tfaudio import data as tfd
from tfaudio.cli import main
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["sine", "square", "white_noise", "clicks"]
# A tiny recipe: the flow, not the accuracy (make demo's recipe reaches the target).
TINY = [
    "model.width=0.0625", "model.embedding_size=16", "train.epochs=2", "train.batch_size=8",
    "train.jit_compile=false", "train.tensorboard_examples=2", "schedule.name=\"constant\"",
    "optimizer.learning_rate=1e-3",
]


def _tiny_recipe(tmp_path, extra=()):
    return R.load(os.path.join(ROOT, "models", "vggish_small.toml"), [*TINY, *extra])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(path, classes=CLASSES, clips_per_class=10, seed=3)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, dataset):
    from tfaudio.train import train

    run_dir = str(tmp_path_factory.mktemp("runs") / "tiny")
    summary = train(_tiny_recipe(None), data_dir=dataset, run_dir=run_dir, verbose=0)
    return run_dir, summary


# ----------------------------------------------------------------- recipes
def test_shipped_recipes_load():
    for name in sorted(f for f in os.listdir(os.path.join(ROOT, "models")) if f.endswith(".toml")):
        recipe = R.load(os.path.join(ROOT, "models", name))
        assert R.loads(recipe.to_toml(), name).to_dict() == recipe.to_dict()


def test_recipe_typo_names_key_and_allowed_keys(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("[train]\nepocs = 3\n")
    with pytest.raises(R.RecipeError, match=r"unknown key\(s\) \['epocs'\] in \[train\]; "
                                            r"allowed keys: \['epochs', 'batch_size'"):
        R.load(str(path))
    path.write_text("[trian]\nepochs = 3\n")
    with pytest.raises(R.RecipeError, match=r"\['trian'\].*'train'"):
        R.load(str(path))


@pytest.mark.parametrize("override, message", [
    ("train.epochs=\"many\"", "train.epochs = 'many' must be int"),
    ("model.pooling=\"max\"", "model.pooling = 'max' is not allowed; choose from"),
    ("data.sample_rate=0", "data.sample_rate = 0 must be > 0"),
    ("data.sample_rate=1000", "data.sample_rate = 1000 is outside 4000..192000"),
    ("augment.gain_db=[6.0, -6.0]", "augment.gain_db"),
    ("train.metrics=[\"f2\"]", "train.metrics \\['f2'\\] unknown"),
    ("epochs=3", "is not section.key"),
    ("train.monitor=\"val_auc\"", "train.monitor = 'val_auc' is not logged; choose from"),
    ("train.strategy=\"tpu\"", "train.strategy = 'tpu' is not allowed; choose from"),
    ("frontend.n_fft=256", "frontend.n_fft = 256 is shorter than the window"),
    ("frontend.f_max=9000.0", "f_max <= 8000 Hz"),
    ("frontend.n_mels=4", "frontend.n_mels = 4 is outside 8..256"),
])
def test_recipe_bad_values(override, message):
    with pytest.raises(R.RecipeError, match=message):
        R.load(os.path.join(ROOT, "models", "vggish_small.toml"), [override])


def test_overrides_are_toml_values():
    recipe = R.load(os.path.join(ROOT, "models", "vggish_small.toml"),
                    ["model.width=0.5", "train.jit_compile=false", "name=other",
                     "augment.noise_snr_db=[]"])
    assert recipe.model.width == 0.5 and recipe.train.jit_compile is False
    assert recipe.name == "other" and recipe.augment.noise_snr_db == []


def test_frontend_keys_are_log_mel_settings():
    from tfaudio.models import LogMel

    default = R.load(os.path.join(ROOT, "models", "vggish_small.toml"))
    assert LogMel(**R.log_mel_settings(default.frontend)) == LogMel()  # exact VGGish
    other = R.load(os.path.join(ROOT, "models", "vggish_small.toml"),
                   ["frontend.hop_ms=20.0", "frontend.window_ms=40.0", "frontend.n_fft=1024",
                    "frontend.n_mels=32"])
    assert R.log_mel_settings(other.frontend) == {
        "n_mels": 32, "window_length": 640, "hop_length": 320, "n_fft": 1024,
        "f_min": 125.0, "f_max": 7500.0, "patch_frames": 48}
    with pytest.raises(R.RecipeError, match="patch_seconds = 0.25 is 12 frames at hop_ms = "
                                            "20.0; need >= 16"):
        R.load(os.path.join(ROOT, "models", "vggish_small.toml"),
               ["frontend.hop_ms=20.0", "frontend.patch_seconds=0.25"])


def test_warmup_cosine_schedule_formula():
    from tfaudio.train.build import WarmupSchedule

    s = WarmupSchedule(1e-3, total_steps=100, warmup_steps=10, kind="cosine", min_fraction=0.1)
    got = [float(s(i)) for i in (0, 9, 10, 55, 100, 150)]
    cos = lambda f: 1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * f)))  # noqa: E731
    expected = [1e-4, 1e-3, cos(0.0), cos(0.5), cos(1.0), cos(1.0)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ----------------------------------------------------------------- the run folder
def test_run_folder_holds_everything(run, dataset):
    run_dir, summary = run
    for name in ("recipe.toml", "labels.txt", "history.jsonl", "run.json",
                 "export/saved_model.pb", "export/labels.txt", "export/tfaudio.json",
                 "evaluation/test.json", "evaluation/test_confusion.png",
                 "checkpoints/latest", "checkpoints/best.weights.h5"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    manifest = tfd.read_manifest(dataset)
    n_train = manifest["splits"]["train"]["clips"]
    steps = math.ceil(n_train / 8)
    assert summary["optimizer_steps"] == 2 * steps
    assert summary["examples_per_epoch"] == [n_train, n_train]  # every example once per epoch
    assert open(os.path.join(run_dir, "labels.txt")).read().split() == CLASSES
    report = json.load(open(os.path.join(run_dir, "evaluation", "test.json")))
    assert report["clips"] == manifest["splits"]["test"]["clips"]
    assert sum(map(sum, report["confusion_matrix"])) == report["clips"]
    assert {row["label"] for row in report["report"]["per_class"]} == set(CLASSES)


def _event_plugins(log_dir):
    import tensorflow as tf

    plugins = {}
    for root, _, files in os.walk(log_dir):
        for f in files:
            if not f.startswith("events.out"):
                continue
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, f)):
                for value in event.summary.value:
                    plugins.setdefault(value.metadata.plugin_data.plugin_name, set()).add(value.tag)
    return plugins


def test_tensorboard_has_scalars_images_and_audio(run):
    plugins = _event_plugins(os.path.join(run[0], "logs"))
    assert "augmented/log_mel" in plugins["images"]
    assert "evaluation/test_confusion" in plugins["images"]
    assert "augmented/audio" in plugins["audio"]
    assert any("loss" in tag for tag in plugins["scalars"])


_SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    out = [m.serve(tf.constant(x)).numpy().tolist(), m.serve(tf.constant(x[:1, :12000])).numpy().tolist()]
    print(json.dumps({"out": out, "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}))
""")


def test_export_serves_waveforms_without_tfaudio(run, tmp_path):
    from tfaudio.train import load_run_model

    run_dir, _ = run
    model, _, labels = load_run_model(run_dir)
    x = np.random.default_rng(0).standard_normal((3, 16000)).astype(np.float32) * 0.1
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", _SERVE, os.path.join(run_dir, "export"),
                           str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not info["tfaudio"]
    served = np.array(info["out"][0])
    assert served.shape == (3, len(labels))
    np.testing.assert_allclose(served, model.predict(x, verbose=0), atol=1e-5)
    assert np.array(info["out"][1]).shape == (1, len(labels))  # shorter than a clip: padded


def test_evaluate_command_json(run, capsys):
    run_dir, _ = run
    assert main(["evaluate", run_dir, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.load(open(os.path.join(run_dir, "evaluation", "test.json")))
    assert result["accuracy"] == pytest.approx(report["accuracy"])
    assert main(["evaluate", run_dir, "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "macro avg" in out and "val: accuracy" in out


def test_predict_command_on_long_and_short_files(run, tmp_path, capsys):
    import soundfile

    run_dir, _ = run
    clip, _ = tfd.synth_clip("sine", 999, 22050, seconds=2.5)
    soundfile.write(tmp_path / "long.wav", clip, 22050)  # resampled to 16 kHz, 4 windows
    soundfile.write(tmp_path / "short.wav", clip[:5000], 22050)
    for target in (run_dir, os.path.join(run_dir, "export")):
        assert main(["predict", target, str(tmp_path / "long.wav"), str(tmp_path / "short.wav"),
                     "--json", "--top-k", "2"]) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
        assert [r["windows"] for r in lines] == [4, 1]
        for r in lines:
            assert len(r["top"]) == 2 and r["top"][0][1] >= r["top"][1][1]
            assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_windows():
    from tfaudio.train.predict import windows

    assert windows(np.ones(5), 8).tolist() == [[1, 1, 1, 1, 1, 0, 0, 0]]
    w = windows(np.arange(20.0), 8)
    assert [row[0] for row in w] == [0, 4, 8, 12]  # hop 4, last window ends at the end
    assert w[-1][-1] == 19


# ----------------------------------------------------------------- errors
def test_cli_errors(run, dataset, tmp_path, capsys):
    recipe = os.path.join(ROOT, "models", "vggish_small.toml")
    assert main(["train", recipe, "--data", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "r")]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert main(["train", recipe, "--data", dataset, "--set", "data.sample_rate=100",
                 "--out", str(tmp_path / "r")]) == 2
    assert "data.sample_rate = 100 is outside" in capsys.readouterr().err
    typo = tmp_path / "typo.toml"
    typo.write_text("[model]\nwidht = 0.5\n")
    assert main(["train", str(typo), "--data", dataset]) == 2
    assert "unknown key(s) ['widht'] in [model]; allowed keys: ['name', 'width'" in \
        capsys.readouterr().err
    assert main(["train", recipe, "--data", dataset, "--out", run[0]]) == 2
    assert "already holds a run: pass --resume" in capsys.readouterr().err
    assert main(["train", recipe, "--out", str(tmp_path), "--resume"]) == 2
    assert "is not a tfaudio run folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a tfaudio run folder" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "x.wav"]) == 2
    assert "neither a SavedModel" in capsys.readouterr().err
    assert main(["predict", run[0], str(tmp_path / "missing.wav")]) == 2
    assert "no such audio file" in capsys.readouterr().err
    import shutil

    foreign = tmp_path / "foreign"
    shutil.copytree(os.path.join(run[0], "export"), foreign)
    os.remove(foreign / "tfaudio.json")
    assert main(["predict", str(foreign), str(tmp_path / "missing.wav")]) == 2
    assert "no tfaudio.json beside the SavedModel" in capsys.readouterr().err


# ----------------------------------------------------------------- resume after kill -9
def _train_cmd(run_dir, dataset, *extra):
    sets = [a for s in TINY for a in ("--set", s)]
    return [sys.executable, "-u", "-m", "tfaudio.cli", "train",
            os.path.join(ROOT, "models", "vggish_small.toml"), "--data", dataset,
            "--out", run_dir, *sets, "--set", "train.epochs=3", "--set", "train.batch_size=2",
            *extra]


def test_resume_after_kill_mid_epoch(tmp_path, dataset):
    run_dir = str(tmp_path / "killed")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(_train_cmd(run_dir, dataset), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    deadline, seen, in_epoch2 = time.time() + 240, [], False
    try:
        # Kill once epoch 2 has made some progress: its progress bar shows a step > 1.
        for line in proc.stdout:
            seen.append(line)
            in_epoch2 = in_epoch2 or line.startswith("Epoch 2/3")
            m = re.match(r"\s*(\d+)/(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", line))
            if in_epoch2 and m and 1 < int(m.group(1)) < int(m.group(2)) - 1:
                break
            assert time.time() < deadline, "training did not reach epoch 2 in time"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    from tfaudio.train import checkpoint

    latest = checkpoint.latest(os.path.join(run_dir, "checkpoints"))
    assert latest.endswith("epoch-0001"), latest  # killed inside epoch 2
    assert not os.path.exists(os.path.join(run_dir, "export"))

    done = subprocess.run(_train_cmd(run_dir, dataset, "--resume", "--quiet"),
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" in done.stdout and "after epoch 1" in done.stdout
    summary = json.load(open(os.path.join(run_dir, "run.json")))
    n_train = tfd.read_manifest(dataset)["splits"]["train"]["clips"]
    # Same steps as an uninterrupted run; every example of each epoch seen once.
    assert summary["optimizer_steps"] == 3 * math.ceil(n_train / 2)
    assert summary["examples_per_epoch"] == [n_train] * 3
    assert [h["epoch"] for h in map(json.loads, open(os.path.join(run_dir, "history.jsonl")))] \
        == [1, 2, 3]
    assert os.path.exists(os.path.join(run_dir, "export", "saved_model.pb"))


def test_multi_label_run_reports_map(dataset, tmp_path, capsys):
    from tfaudio.train import train

    recipe = _tiny_recipe(None, ["data.multi_label=true", "train.epochs=1",
                                 "train.monitor=\"val_loss\"", "train.metrics=[\"pr_auc\"]"])
    run_dir = str(tmp_path / "multi")
    summary = train(recipe, data_dir=dataset, run_dir=run_dir, verbose=0)
    assert 0.0 <= summary["test"]["mAP"] <= 1.0
    report = json.load(open(os.path.join(run_dir, "evaluation", "test.json")))
    assert set(report["average_precision"]) == set(CLASSES)
    assert json.load(open(os.path.join(run_dir, "export", "tfaudio.json")))["multi_label"]
    assert main(["evaluate", run_dir]) == 0
    assert "mAP" in capsys.readouterr().out


def test_evaluation_scores_long_clips_like_predict(run, tmp_path):
    """Clips longer than training clips are windowed and pooled as `tfaudio predict` does
    (checked against the export served on WAV files of the same clips)."""
    import soundfile

    from tfaudio.train import load_run_model, load_served, predict_file
    from tfaudio.train.evaluate import predict_split

    run_dir, _ = run
    long_dir = str(tmp_path / "long")
    tfd.synth_dataset(long_dir, classes=CLASSES, clips_per_class=2, seconds=2.5, seed=5,
                      splits="train=1.0")
    model, recipe, labels = load_run_model(run_dir)
    probs, targets = predict_split(model, recipe, long_dir, "train", len(labels))
    assert probs.shape == (8, len(labels)) and targets.shape == (8,)
    served = load_served(run_dir)
    ds = tfd.audio_dataset(long_dir, split="train", batch_size=1, shuffle=False, cache=False)
    for i, (audio, label) in enumerate(ds):
        path = str(tmp_path / f"{i}.wav")
        soundfile.write(path, np.asarray(audio)[0], 16000, subtype="PCM_16")
        result = predict_file(served, path, top_k=1)
        assert result["windows"] == 4  # 2.5 s in 1 s windows, hop 0.5 s, last at the end
        assert int(label[0]) == targets[i]
        np.testing.assert_allclose([result["probabilities"][n] for n in labels], probs[i],
                                   atol=1e-5)
