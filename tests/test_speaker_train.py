"""Speaker verification runs: recipe checks, crops, a tiny run end to end (EER, minDCF,
DET PNG, export served without tfaudio), enroll / verify and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.signals import write_wav
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_TOML = os.path.join(ROOT, "models", "ecapa_small.toml")
PAPER_TOML = os.path.join(ROOT, "models", "ecapa.toml")
# The flow, not the accuracy: 10 speakers (4 held out), C = 16, one epoch.
TINY = ["data.clip_seconds=1.0", "data.crop_seconds=[0.75, 1.0]", "data.synth_speakers=10",
        "data.synth_test_speakers=4", "data.synth_utterances=6", "data.synth_seconds=[1.0, 2.0]",
        "data.synth_trials=40", "model.channels=16", "model.mfa_channels=48",
        "model.embedding_size=16", "model.n_mels=24", "train.epochs=1", "train.batch_size=16",
        "train.jit_compile=false", "schedule.warmup_epochs=0.0", "data.val_split=\"\"",
        "train.monitor=\"loss\""]


# ----------------------------------------------------------------- recipes
def test_speaker_recipes_load_and_round_trip():
    small, paper = R.load(SMALL_TOML), R.load(PAPER_TOML)
    for r in (small, paper):
        assert (r.data.targets, r.model.name) == ("speaker", "ecapa_tdnn")
        assert (r.model.aam_margin, r.model.aam_scale) == (0.2, 30.0)
        assert R.loads(r.to_toml(), r.name).to_dict() == r.to_dict()
    assert (paper.model.channels, paper.model.embedding_size, paper.model.n_mels) == (1024, 192,
                                                                                     80)
    assert small.model.channels <= 128


@pytest.mark.parametrize("override, message", [
    ("model.name=\"vggish_classifier\"", "data.targets = 'speaker' needs model.name in "
                                         "\\['ecapa_tdnn', 'xvector'\\]"),
    ("data.targets=\"label\"", "model.name = 'ecapa_tdnn' is a speaker embedding model; set "
                               "data.targets = 'speaker'"),
    ("model.frontend=\"cqt\"", "model.frontend = 'cqt' is not allowed; choose from "
                               "\\['logmel', 'mfcc'\\]"),
    ("model.channels=100", "model.channels = 100 must be a multiple of 8"),
    ("model.mfa_channels=-1", "model.mfa_channels = -1 must be >= 0"),
    ("model.n_mels=4", "model.n_mels = 4 is outside 8..256"),
    ("model.aam_margin=1.5", "model.aam_margin = 1.5 must be in \\[0, 1\\]"),
    ("model.aam_scale=0.0", "model.aam_scale = 0.0 must be > 0"),
    ("model.margin_warmup_epochs=-1.0", "margin_warmup_epochs = -1.0 >= 0"),
    ("data.synth_test_speakers=1", "data.synth_test_speakers = 1 must be >= 2"),
    ("data.synth_test_speakers=500", "data.synth_test_speakers = 500 must be below "
                                     "data.synth_speakers"),
    ("data.crop_seconds=[3.0, 2.0]", "data.crop_seconds = \\[3.0, 2.0\\] must be \\[min, max\\]"),
    ("data.synth_seconds=[2.0]", "data.synth_seconds = \\[2.0\\] must be \\[min, max\\]"),
    ("data.multi_label=true", "set data.format = 'audio' and data.multi_label = false"),
    ("augment.reverb_p=2.0", "augment.reverb_p = 2.0 and augment.speed_p = 1.0 must be in"),
    ("augment.speed_factors=[0.0]", "augment.speed_factors = \\[0.0\\] must be speeds > 0"),
    ("train.metrics=[\"auc\"]", "train.metrics \\['auc'\\] unknown for data.targets = "
                                "'speaker'; allowed \\['accuracy', 'top5_accuracy'\\]"),
    ("model.channels=\"wide\"", "model.channels = 'wide' must be int"),
])
def test_speaker_recipe_errors(override, message):
    with pytest.raises(R.RecipeError, match=message):
        R.load(SMALL_TOML, [override])


def test_label_recipe_rejects_speaker_keys():
    base = os.path.join(ROOT, "models", "vggish_small.toml")
    with pytest.raises(R.RecipeError, match="data.crop_seconds applies to data.targets = "
                                            "'speaker'"):
        R.load(base, ["data.crop_seconds=[1.0, 2.0]"])
    with pytest.raises(R.RecipeError, match="augment.reverb_p / augment.speed_factors apply"):
        R.load(base, ["augment.reverb_p=0.5"])
    with pytest.raises(R.RecipeError, match="data.synth_speakers cannot be tuned"):
        R.load(base, ["tune.data.synth_speakers=[10, 20]"])


def test_crop_lengths_and_batches_of_one_length(tmp_path):
    from tfaudio.data import synth_speakers
    from tfaudio.train.speaker import crop_lengths, speaker_dataset

    recipe = R.load(SMALL_TOML, TINY)
    assert crop_lengths(recipe) == [12000, 16000]
    assert crop_lengths(R.load(SMALL_TOML)) == [32000, 36000, 40000, 44000, 48000]
    assert crop_lengths(R.load(SMALL_TOML, ["data.crop_seconds=[]"])) == [48000]
    synth_speakers(str(tmp_path), num_speakers=4, test_speakers=2, utterances_per_speaker=4,
                   seconds=(1.0, 1.5), num_trials=4, write_wavs=False)
    ds = speaker_dataset(recipe, str(tmp_path), "train", True, 2, 2)
    lengths = set()
    for _ in range(3):
        for audio, label in ds:
            assert audio.shape[1] in (12000, 16000) and audio.shape[0] == label.shape[0]
            lengths.add(int(audio.shape[1]))
            assert set(np.asarray(label).tolist()) <= {0, 1}
    assert lengths == {12000, 16000}  # both lengths drawn over 6+ batches
    val = speaker_dataset(recipe, str(tmp_path), "test", False, 4, 8)
    assert {int(a.shape[1]) for a, _ in val} == {16000}


# ----------------------------------------------------------------- a tiny run
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tfaudio.train import train

    run_dir = str(tmp_path_factory.mktemp("runs") / "spk")
    summary = train(R.load(SMALL_TOML, TINY), run_dir=run_dir, verbose=0)
    return run_dir, summary


def test_tiny_run_writes_eer_min_dcf_and_det(run):
    run_dir, summary = run
    test = summary["test"]
    assert test["trials"] == 40 and test["files"] <= 24
    assert 0.0 <= test["eer"] <= 1.0 and np.isfinite(test["eer_threshold"])
    assert set(test["min_dcf"]) == {"0.01", "0.05"}
    assert set(test["eer_by_test_seconds"]) == {"full", "1s", "2s", "4s"}
    with open(os.path.join(run_dir, "evaluation", "test.json"), encoding="utf-8") as f:
        result = json.load(f)
    assert result["eer"] == test["eer"] and result["rows"]["full"]["eer"] == test["eer"]
    for row in result["rows"].values():
        assert row["trials"] == 40 and row["targets"] == 20
        assert set(row["min_dcf"]) == {"0.01", "0.05"}
    # the 4 s cut keeps every file (1-2 s) whole: the same scores as the full row
    assert result["rows"]["4s"]["eer"] == result["rows"]["full"]["eer"]
    with open(result["det_png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    labels = open(os.path.join(run_dir, "labels.txt"), encoding="utf-8").read().split()
    assert labels == [f"spk{i:04d}" for i in range(6)]  # the head: training speakers only
    config = json.load(open(os.path.join(run_dir, "export", "tfaudio.json")))
    assert config["output"] == "speaker_embedding" and config["l2_normalized"]
    assert config["eer_threshold"] == test["eer_threshold"] and config["embedding_size"] == 16


_SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    alone = np.concatenate([m.serve(tf.constant(x[i:i + 1])).numpy() for i in range(len(x))])
    out = {"batch": m.serve(tf.constant(x)).numpy().tolist(), "alone": alone.tolist(),
           "reversed": m.serve(tf.constant(x[::-1])).numpy()[::-1].tolist(),
           "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}
    print(json.dumps(out))
""")


def test_export_serves_normalised_embeddings_without_tfaudio(run, tmp_path):
    from tfaudio.train.run import load_run_model
    from tfaudio.train.speaker import EMBEDDER, embed_function

    run_dir, _ = run
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 24000)) * 0.1).astype(np.float32)
    x[2] *= 10.0  # a loud one: batch statistics would show
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", _SERVE, os.path.join(run_dir, "export"),
                           str(tmp_path / "x.npy")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["tfaudio"]
    batch, alone, rev = (np.array(out[k]) for k in ("batch", "alone", "reversed"))
    assert batch.shape == (4, 16)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batch, alone, atol=1e-5)  # batch composition does not matter
    np.testing.assert_allclose(batch, rev, atol=1e-5)
    model, _, _ = load_run_model(run_dir)
    keras_side = np.asarray(embed_function(model.get_layer(EMBEDDER))(x))
    np.testing.assert_allclose(batch, keras_side, atol=1e-5)


def test_evaluate_cli_with_trials(run, tmp_path, capsys):
    from tfaudio.cli import main

    run_dir, summary = run
    wav = os.path.join(run_dir, "data", "wav")
    lines = open(os.path.join(run_dir, "data", "trials.txt"), encoding="utf-8").readlines()
    mine = tmp_path / "mine.txt"
    mine.write_text("".join(lines[:10]).replace(" spk", f" {wav}/spk"))  # absolute names
    assert main(["evaluate", run_dir, "--trials", str(mine), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "minDCF 0.01" in text and "EER" in text and "full" in text and "1s" in text
    result = json.load(open(tmp_path / "mine.json"))
    assert result["trials"] == 10 and os.path.isfile(result["det_png"])
    bad = tmp_path / "bad.txt"
    bad.write_text(f"1 {wav}/spk0006/00000.wav {wav}/spk0006/99999.wav\n")
    assert main(["evaluate", run_dir, "--trials", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"bad.txt: trial file '{wav}/spk0006/99999.wav' not found" in err


# ----------------------------------------------------------------- enroll / verify
def test_enroll_verify_round_trip(run, tmp_path, capsys):
    from tfaudio.cli import main

    run_dir, summary = run
    wav = os.path.join(run_dir, "data", "wav")
    db = str(tmp_path / "voices.npz")
    a = [os.path.join(wav, "spk0006", f"0000{i}.wav") for i in range(2)]
    b = [os.path.join(wav, "spk0007", f"0000{i}.wav") for i in range(2)]
    assert main(["enroll", run_dir, "alice", *a, "--db", db]) == 0
    assert main(["enroll", run_dir, "bob", *b, "--db", db]) == 0
    assert main(["enroll", run_dir, "bob", *b, "--db", db]) == 0  # replaces
    out = capsys.readouterr().out
    assert "added 'alice'" in out and "replaced 'bob'" in out and "2 speakers enrolled" in out
    with np.load(db) as z:
        names, emb = list(z["names"]), z["embeddings"]
    assert names == ["alice", "bob"] and emb.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # a file of alice's, (a tiny 1-epoch model: one of her enrolment files) -> alice best
    assert main(["verify", run_dir, a[0], "--db", db, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["best"][0][0] == "alice" and result["claimed"] is None
    assert result["threshold"] == summary["test"]["eer_threshold"]
    assert result["accept"] == (result["score"] >= result["threshold"])
    assert main(["verify", run_dir, b[1], "--db", db, "--speaker", "alice"]) == 0
    text = capsys.readouterr().out
    assert "alice score" in text and ("ACCEPT" in text or "REJECT" in text)
    assert "best matches: bob" in text


def test_enroll_verify_errors(run, tmp_path, capsys):
    from tfaudio.cli import main

    run_dir, _ = run
    wav = os.path.join(run_dir, "data", "wav", "spk0006", "00000.wav")
    short = write_wav(tmp_path / "short.wav", np.zeros(4000, np.float32) + 0.01, 16000)
    db = str(tmp_path / "v.npz")
    assert main(["enroll", run_dir, "x", short, "--db", db]) == 2
    assert f"{short}: 0.250 s of audio is too short" in capsys.readouterr().err
    assert main(["verify", run_dir, wav, "--db", db]) == 2
    assert f"speaker database not found: {db}" in capsys.readouterr().err
    np.savez(db, names=np.array([], dtype=str), embeddings=np.zeros((0, 16), np.float32))
    assert main(["verify", run_dir, wav, "--db", db]) == 2
    assert f"speaker database {db} is empty" in capsys.readouterr().err
    assert main(["enroll", run_dir, "x", wav, "--db", db]) == 0
    capsys.readouterr()
    assert main(["verify", run_dir, wav, "--db", db, "--speaker", "nobody"]) == 2
    assert "speaker 'nobody' is not enrolled" in capsys.readouterr().err
    assert main(["verify", run_dir, short, "--db", db]) == 2
    assert "too short" in capsys.readouterr().err
    missing = str(tmp_path / "nope.wav")
    assert main(["enroll", run_dir, "x", missing, "--db", db]) == 2
    assert f"audio file not found: {missing}" in capsys.readouterr().err
    assert main(["enroll", str(tmp_path), "x", wav, "--db", db]) == 2
    assert "is not a tfaudio run folder" in capsys.readouterr().err
    assert main(["predict", run_dir, wav]) == 2  # an embedding export has no classes
    assert "serves speaker embeddings, not classes: use `tfaudio enroll`" in (
        capsys.readouterr().err)


# ----------------------------------------------------------------- bench
def test_bench_speaker_quick():
    from tfaudio.benchmarks import speaker

    rows = speaker.run(quick=True)
    assert [r["config"] for r in rows] == ["ecapa_c16: batch 1 x 1s@16k",
                                           "ecapa_c16: batch 2 x 1s@16k"]
    for r in rows:
        assert r["suite"] == "speaker" and r["seconds"] > 0
        assert r["xrealtime"] == pytest.approx(r["items_per_s"] * 1.0)
