"""tfaudio embed: the export's embed signature, AudioSet-format records (float and uint8),
PCA fitting, the command's errors, and training an embedding_classifier on the records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfaudio import data as tfd
from tfaudio.cli import main
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["sine", "square", "white_noise", "clicks"]
STEP = 4.0 / 255.0  # one quantisation step of vggish_postprocess
# A tiny VGGish whose embeddings are AudioSet-sized (128-d); one epoch: the flow only.
TINY_VGGISH = ["model.width=0.0625", "model.embedding_size=128", "train.epochs=1",
               "train.batch_size=8", "train.jit_compile=false", "train.tensorboard_examples=0"]


@pytest.fixture(scope="module")
def vggish_run(tmp_path_factory):
    from tfaudio.train import train

    data = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(data, classes=CLASSES, clips_per_class=6, seed=3)
    run_dir = str(tmp_path_factory.mktemp("runs") / "vggish")
    recipe = R.load(os.path.join(ROOT, "models", "vggish_small.toml"), TINY_VGGISH)
    train(recipe, data_dir=data, run_dir=run_dir, verbose=0)
    return run_dir


@pytest.fixture(scope="module")
def keras_embed(vggish_run):
    """The Keras model's own embeddings (its ``vggish`` layer), for comparisons."""
    import keras

    from tfaudio.train import load_run_model

    model, _, _ = load_run_model(vggish_run)
    sub = keras.Model(model.input, model.get_layer("vggish").output)
    return lambda x: np.asarray(sub(np.asarray(x, np.float32)[None], training=False))[0]


def _write_wav(path, kind, seconds, seed):
    import soundfile

    os.makedirs(os.path.dirname(path), exist_ok=True)
    clip, _ = tfd.synth_clip(kind, seed, 16000, seconds=seconds)
    soundfile.write(path, clip, 16000, subtype="FLOAT")  # float WAV: exact samples back
    return clip


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    """sine/ 3.0 s and 2.0 s, clicks/ 0.5 s (< one patch), other/ 1.5 s (not a label)."""
    root = str(tmp_path_factory.mktemp("wavs"))
    files = {"sine/a": ("sine", 3.0), "sine/b": ("sine", 2.0), "clicks/short": ("clicks", 0.5),
             "other/noise": ("white_noise", 1.5)}
    clips = {vid: _write_wav(os.path.join(root, vid + ".wav"), kind, secs, i)
             for i, (vid, (kind, secs)) in enumerate(files.items())}
    return root, clips


# ----------------------------------------------------------------- the export
_EMBED = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    out = {"embed": m.embed(tf.constant(x)).numpy().tolist(),
           "short": m.embed(tf.constant(x[:1, :4000])).numpy().shape,
           "serve": m.serve(tf.constant(x)).numpy().shape,
           "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}
    print(json.dumps(out))
""")


def test_export_has_embed_signature_served_without_tfaudio(vggish_run, keras_embed, tmp_path):
    export = os.path.join(vggish_run, "export")
    config = json.load(open(os.path.join(export, "tfaudio.json")))
    assert config["patch_seconds"] == config["patch_hop_seconds"] == 0.96
    assert config["embedding_size"] == 128 and config["input"] == "waveform"
    x = np.random.default_rng(0).standard_normal((2, 48000)).astype(np.float32) * 0.1
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", _EMBED, export, str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["tfaudio"]
    served = np.array(out["embed"])
    assert served.shape == (2, 3, 128)  # 3 s: three 0.96 s patches
    np.testing.assert_allclose(served[1], keras_embed(x[1]), atol=1e-5)
    assert out["short"] == [1, 1, 128]  # 0.25 s: padded to one patch
    assert out["serve"] == [2, len(CLASSES)]


# ----------------------------------------------------------------- records
def test_float_records_round_trip_timing_and_labels(vggish_run, keras_embed, wavs, tmp_path):
    from tfaudio.train.embed import embed_files

    root, clips = wavs
    bad = tmp_path / "in" / "sine" / "broken.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"RIFF\x00\x00\x00\x00not audio")
    out = str(tmp_path / "float")
    summary = embed_files(vggish_run, [root, str(bad)], out)
    assert summary["inputs"] == 5 and summary["embedded"] == 4
    assert [s["file"] for s in summary["skipped"]] == [str(bad)]
    assert "not a recognised audio file" in summary["skipped"][0]["reason"]
    assert summary["encoding"] == "float32" and summary["labelled"] == 3
    assert json.load(open(os.path.join(out, "embeddings.json"))) == summary
    assert open(os.path.join(out, "labels.txt")).read().split() == CLASSES
    records = {r["video_id"]: r for r in tfd.read_audioset_records(os.path.join(out, "*.tfrecord"))}
    assert set(records) == set(clips)
    frames = {vid: len(r["audio_embedding"]) for vid, r in records.items()}
    assert frames == {"sine/a": 3, "sine/b": 2, "clicks/short": 1, "other/noise": 1}
    for vid, r in records.items():
        assert r["start_time_seconds"] == 0.0
        assert r["end_time_seconds"] == pytest.approx(len(clips[vid]) / 16000, abs=1e-6)
    assert records["sine/a"]["labels"] == [CLASSES.index("sine")]
    assert records["clicks/short"]["labels"] == [CLASSES.index("clicks")]
    assert records["other/noise"]["labels"] == []  # "other" is not a label of the model
    ds = tfd.audioset_dataset(os.path.join(out, "*.tfrecord"), num_classes=len(CLASSES),
                              batch_size=8)
    (emb, mask), y = next(iter(ds))
    got = {}
    for i in range(len(emb)):
        vid = sorted(records)[i]  # files are read in order; records are sorted by path
        got[vid] = np.asarray(emb[i])[np.asarray(mask[i])]
        assert y[i].numpy().sum() == len(records[vid]["labels"])
    for vid, clip in clips.items():
        np.testing.assert_allclose(got[vid], keras_embed(clip), atol=1e-5)


def test_uint8_records_match_vggish_postprocess(vggish_run, keras_embed, wavs, tmp_path):
    from tfaudio.models import vggish_postprocess
    from tfaudio.train.embed import embed_files

    root, clips = wavs
    rng = np.random.default_rng(1)
    e = np.concatenate([keras_embed(c) for c in clips.values()])
    params = (np.diag(1.0 / (e.std(axis=0) + 1e-3)) @ np.linalg.qr(rng.standard_normal(
        (128, 128)))[0], e.mean(axis=0).reshape(-1, 1))
    np.savez(tmp_path / "pca.npz", pca_eigen_vectors=params[0], pca_means=params[1])
    out = str(tmp_path / "uint8")
    summary = embed_files(vggish_run, [root], out, pca=str(tmp_path / "pca.npz"))
    assert summary["encoding"] == "uint8" and summary["pca"].endswith("pca.npz")
    raw = {r["video_id"]: r["audio_embedding"] for r in
           tfd.read_audioset_records(os.path.join(out, "*.tfrecord"))}
    assert all(q.dtype == np.uint8 and q.shape[1] == 128 for q in raw.values())
    ds = tfd.audioset_dataset(os.path.join(out, "*.tfrecord"), num_classes=len(CLASSES))
    (emb, mask), _ = next(iter(ds))
    for i, vid in enumerate(sorted(raw)):
        want = vggish_postprocess(keras_embed(clips[vid]), params).astype(np.float64)
        got = np.asarray(emb[i])[np.asarray(mask[i])]
        assert np.abs(got - (want * STEP - 2.0)).max() <= STEP + 1e-6
        assert np.abs(raw[vid].astype(int) - want).max() <= 1  # same byte, or one off


def test_long_files_are_chunked_like_one_call(vggish_run):
    from tfaudio.train.embed import embed_waveform, expected_frames, load_embedder

    embedder = load_embedder(vggish_run)
    x = np.random.default_rng(2).standard_normal(16000 * 7 + 999).astype(np.float32) * 0.1
    whole = np.asarray(embedder.module.embed(x[None]))[0]
    chunked = embed_waveform(embedder, x, chunk_patches=2, batch_size=2)
    assert whole.shape == chunked.shape == (expected_frames(len(x) / 16000), 128) == (7, 128)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert [expected_frames(s) for s in (3.0, 2.0, 0.5, 0.975, 1.92)] == [3, 2, 1, 1, 1]


def test_pca_fit_whitens(vggish_run, keras_embed, tmp_path, capsys):
    import soundfile

    from tfaudio.models import load_pca_params

    clips = []
    (tmp_path / "fit").mkdir()
    for i, kind in enumerate(["white_noise", "clicks", "chirp_up", "pink_noise", "sine", "square"]):
        clip = np.concatenate([tfd.synth_clip(k, 10 * i + j, 16000, seconds=2.0)[0]
                               for j, k in enumerate([kind, "white_noise"] * 6)])
        clips.append(clip)  # 24 s: 24 complete patches
        soundfile.write(tmp_path / "fit" / f"{i}.wav", clip, 16000, subtype="FLOAT")
    npz, out = str(tmp_path / "params.npz"), str(tmp_path / "fitted")
    assert main(["embed", vggish_run, str(tmp_path / "fit"), "--out", out, "--pca-fit", npz,
                 "--quiet"]) == 0
    assert "PCA" in capsys.readouterr().out
    vectors, means = load_pca_params(npz)
    e = np.concatenate([keras_embed(c) for c in clips])
    assert len(e) == 144 > 128
    p = (e - means) @ vectors.T
    top = p[:, :16]  # the well-determined directions
    np.testing.assert_allclose(np.cov(top, rowvar=False), np.eye(16), atol=0.05)
    np.testing.assert_allclose(top.mean(axis=0), 0.0, atol=0.05)
    summary = json.load(open(os.path.join(out, "embeddings.json")))
    assert summary["encoding"] == "uint8" and summary["pca"] == npz and summary["frames"] == 144


# ----------------------------------------------------------------- the command's errors
def test_cli_errors(vggish_run, wavs, tmp_path, capsys):
    root, _ = wavs
    out = str(tmp_path / "o")
    assert main(["embed", str(tmp_path / "nope"), root, "--out", out]) == 2
    assert "SAVEDMODEL_OR_RUN: no such run or SavedModel folder" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "recipe.toml").write_text("")
    assert main(["embed", str(unfinished), root, "--out", out]) == 2
    assert "train it to the end first" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["embed", vggish_run, str(tmp_path / "empty"), "--out", out]) == 2
    assert "no audio files in" in capsys.readouterr().err
    assert main(["embed", vggish_run, str(tmp_path / "missing.wav"), "--out", out]) == 2
    assert "no such audio file or folder" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", something=np.zeros(3))
    assert main(["embed", vggish_run, root, "--out", out, "--pca",
                 str(tmp_path / "bad.npz")]) == 2
    assert "--pca: " in (err := capsys.readouterr().err) and "missing" in err
    assert main(["embed", vggish_run, root, "--out", out, "--pca", "x.npz"]) == 2
    assert "--pca: " in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["embed", vggish_run, root, "--out", out, "--pca", "a.npz", "--pca-fit", "b.npz"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    few = tmp_path / "few"
    _write_wav(str(few / "a.wav"), "sine", 1.0, 0)
    assert main(["embed", vggish_run, str(few), "--out", out, "--pca-fit",
                 str(tmp_path / "p.npz"), "--quiet"]) == 2
    assert "--pca-fit" in (err := capsys.readouterr().err) and "more frames" in err
    (few / "junk.wav").write_bytes(b"junk")
    assert main(["embed", vggish_run, str(few), "--out", out, "--quiet", "--overwrite"]) == 1
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "junk.wav" in captured.err
    assert "embedded 1 of 2 files (1 skipped" in captured.out
    assert main(["embed", vggish_run, str(few), "--out", out, "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err


# ----------------------------------------------------------------- training on records
def test_embedding_classifier_parameter_count():
    from tfaudio.models import embedding_classifier

    assert embedding_classifier(527, hidden_units=(256,)).count_params() == \
        128 * 256 + 256 + 256 * 527 + 527
    assert embedding_classifier(10, hidden_units=(), pooling="attention").count_params() == \
        2 * (128 * 10 + 10)


@pytest.mark.parametrize("override, message", [
    ("model.name=\"vggish_classifier\"", "needs model.name = 'embedding_classifier'"),
    ("data.multi_label=false", "set data.multi_label = true"),
    ("data.format=\"mp3\"", "data.format = 'mp3' is not allowed"),
    ("model.hidden_units=[0]", "model.hidden_units = \\[0\\] must be a list of positive"),
])
def test_audioset_recipe_errors(override, message):
    with pytest.raises(R.RecipeError, match=message):
        R.load(os.path.join(ROOT, "models", "audioset_embeddings.toml"), [override])


def _split_records(run_dir, root, out):
    """Embeds per-split WAV folders into ``out/<split>-*.tfrecord``."""
    from tfaudio.train.embed import embed_files

    counts = {"train": 4, "val": 2, "test": 2}
    seed = 100
    for split, n in counts.items():
        for kind in CLASSES:
            for j in range(n):
                seed += 1  # a fixed seed per file: the same clips on every run
                _write_wav(os.path.join(root, split, kind, f"{j}.wav"), kind, 2.0, seed)
        embed_files(run_dir, [os.path.join(root, split)], out, prefix=split)
    return counts


def test_train_embedding_classifier_on_records_reports_map(vggish_run, tmp_path, capsys):
    import tensorflow as tf

    from tfaudio.train import train

    data = str(tmp_path / "emb")
    counts = _split_records(vggish_run, str(tmp_path / "wav"), data)
    recipe = R.load(os.path.join(ROOT, "models", "audioset_embeddings.toml"),
                    ["train.epochs=2", "train.batch_size=4", "model.hidden_units=[32]"])
    run_dir = str(tmp_path / "run")
    summary = train(recipe, data_dir=data, run_dir=run_dir, verbose=0)
    n_train = counts["train"] * len(CLASSES)
    assert summary["examples_per_epoch"] == [n_train, n_train]
    assert summary["parameters"] == 128 * 32 + 32 + 32 * 4 + 4
    assert 0.0 <= summary["test"]["mAP"] <= 1.0
    report = json.load(open(os.path.join(run_dir, "evaluation", "test.json")))
    assert report["mAP"] == summary["test"]["mAP"]
    assert report["clips"] == counts["test"] * len(CLASSES)
    assert set(report["average_precision"]) == set(CLASSES)
    assert json.load(open(os.path.join(run_dir, "run.json")))["test"]["mAP"] == report["mAP"]
    # the export serves embeddings (+ an optional mask) -> probabilities
    config = json.load(open(os.path.join(run_dir, "export", "tfaudio.json")))
    assert config["input"] == "embeddings" and config["embedding_size"] == 128
    served = tf.saved_model.load(os.path.join(run_dir, "export"))
    (emb, mask), _ = next(iter(tfd.audioset_dataset(os.path.join(data, "test*.tfrecord"),
                                                    num_classes=4, batch_size=3)))
    from tfaudio.train import load_run_model

    model, _, _ = load_run_model(run_dir)
    np.testing.assert_allclose(served.serve_masked(emb, mask).numpy(),
                               model([emb, mask]).numpy(), atol=1e-6)
    assert served.serve(emb).shape == (3, 4)
    # evaluate and resume work on the run folder
    assert main(["evaluate", run_dir]) == 0
    assert "mAP" in capsys.readouterr().out
    resumed = train(recipe, data_dir=data, run_dir=run_dir, epochs=3, resume=True, verbose=0)
    assert resumed["epochs_run"] == 3 and resumed["examples_per_epoch"][-1] == n_train


@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_embedding_classifier_ignores_padded_frames(pooling):
    from tfaudio.models import embedding_classifier

    model = embedding_classifier(5, hidden_units=(16,), pooling=pooling)
    x = np.random.default_rng(3).standard_normal((2, 4, 128)).astype(np.float32)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    padded = x.copy()
    padded[0, 2:] = 100.0  # whatever is in the padding
    np.testing.assert_allclose(model([padded, mask]), model([x, mask]), atol=1e-6)
    alone = model([x[:1, :2], np.ones((1, 2), bool)])  # the same clip without padding
    np.testing.assert_allclose(model([x, mask])[:1], alone, atol=1e-6)
    assert not np.allclose(model([padded, np.ones((2, 4), bool)])[0], alone[0], atol=1e-3)
