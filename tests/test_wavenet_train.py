"""Training WaveNet with ``tfaudio train``: fixed-pitch tone classes, recipe checks, the
loss and metrics on positions with a full receptive field, a tiny run end to end
(evaluation in bits per sample, generated pitch, export), ``tfaudio generate``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfaudio import data as tfd
from tfaudio.data.synth import is_synth_class, synth_clip, tone_frequency
from tfaudio.train import recipe as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAVENET_TOML = os.path.join(ROOT, "models", "wavenet.toml")
# The flow, not the quality: a 1..8 stack (receptive field 17), 2 epochs of 3 steps.
TINY = ["train.epochs=2", "train.batch_size=4", "model.dilations=[1, 2, 4, 8]",
        "model.residual_channels=8", "model.dilation_channels=8", "model.skip_channels=16",
        "model.sample_size=200", "train.jit_compile=false", "data.clip_seconds=0.25"]


# ----------------------------------------------------------------- tone classes
def test_tone_classes_have_their_pitch():
    assert tone_frequency("tone_440") == 440.0 and tone_frequency("tone_220.5") == 220.5
    assert tone_frequency("sine") is None and tone_frequency("tone_") is None
    assert is_synth_class("tone_880") and is_synth_class("sine")
    assert not is_synth_class("tone_0") and not is_synth_class("tone_x")
    for hz in (220.0, 440.0, 880.0):
        audio, f0 = synth_clip(f"tone_{hz:g}", 3, sample_rate=8000, seconds=1.0, seed=1)
        spectrum = np.abs(np.fft.rfft(audio[2000:] * np.hanning(6000)))
        peak = np.fft.rfftfreq(6000, 1 / 8000)[np.argmax(spectrum)]
        assert abs(peak - hz) < 2.0
        assert np.all(f0[f0 > 0] == hz) and (f0 > 0).mean() > 0.5
        assert 0.2 < np.abs(audio).max() < 0.75  # -12 .. -3 dBFS plus light noise
    a, _ = synth_clip("tone_440", 0, 8000, 0.5, seed=2)
    np.testing.assert_array_equal(a, synth_clip("tone_440", 0, 8000, 0.5, seed=2)[0])
    with pytest.raises(ValueError, match="below Nyquist"):
        synth_clip("tone_5000", 0, 8000)
    with pytest.raises(ValueError, match="tone_<hz>"):
        synth_clip("tone", 0, 8000)


def test_existing_synth_classes_are_unchanged():
    # The tone classes must not move other classes' draws: a reference value of 'sine'.
    audio, f0 = synth_clip("sine", 0, 16000, 0.25, seed=0)
    again, f0_again = synth_clip("sine", 0, 16000, 0.25, seed=0)
    np.testing.assert_array_equal(audio, again)
    assert f0.shape == (26,) and f0_again[f0_again > 0].std() == 0


def test_synth_dataset_with_tone_classes(tmp_path):
    m = tfd.synth_dataset(str(tmp_path / "tones"), classes=["tone_220", "tone_440"],
                          clips_per_class=3, sample_rate=8000, seconds=0.2, seed=0)
    assert m["label_vocabulary"] == ["tone_220", "tone_440"]
    with pytest.raises(ValueError, match="at or above Nyquist"):
        tfd.synth_dataset(str(tmp_path / "bad"), classes=["tone_4000"], clips_per_class=1,
                          sample_rate=8000)


# ----------------------------------------------------------------- recipe
def test_wavenet_recipe_loads():
    recipe = R.load(WAVENET_TOML)
    assert (recipe.data.targets, recipe.model.name) == ("audio", "wavenet")
    assert R.wavenet_receptive_field(recipe.model) == 17
    assert R.loads(recipe.to_toml(), "wavenet").to_dict() == recipe.to_dict()


@pytest.mark.parametrize("override, message", [
    ("model.name=\"crepe\"", "model.name = 'crepe' is trained on f0; set data.targets = 'f0'"),
    ("data.targets=\"label\"", "model.name = 'wavenet' is trained on the audio itself"),
    ("model.dilations=[]", "model.dilations = \\[\\] needs at least one layer"),
    ("model.dilations=[1, 0]", "model.dilations = \\[1, 0\\] must be a list of positive ints"),
    ("model.filter_width=1", "model.filter_width = 1 must be >= 2"),
    ("model.quantization_channels=1", "model.quantization_channels = 1 must be >= 2"),
    ("model.local_condition_mels=40", "come together"),
    ("model.upsample_factors=[8, 8]", "come together"),
    ("model.sample_size=800", "training windows of receptive_field 17 \\+ model.sample_size "
                              "800 = 817 samples do not fit in data.clip_seconds = 0.1 \\(800 "
                              "samples at 8000 Hz\\)"),
    ("data.multi_label=true", "data.multi_label = true does not apply to data.targets = "
                              "'audio'"),
    ("train.metrics=[\"rpa\"]", "train.metrics \\['rpa'\\] unknown for data.targets = "
                                "'audio'; allowed \\['bits_per_sample', 'accuracy'\\]"),
    ("data.synth_classes=[\"tone_4000\"]", "at or above Nyquist \\(4000 Hz"),
    ("data.synth_classes=[\"tone_a\"]", "tone_<hz> such as 'tone_440'"),
    ("model.global_condition=false", None),
])
def test_wavenet_recipe_errors(override, message):
    if message is None:
        R.load(WAVENET_TOML, [override])
        return
    with pytest.raises(R.RecipeError, match=message):
        R.load(WAVENET_TOML, [override])


def test_classifier_recipe_rejects_the_wavenet_model():
    with pytest.raises(R.RecipeError, match="data.targets = 'audio' needs model.name = "
                                            "'wavenet' \\(got 'vggish_classifier'\\)"):
        R.load(os.path.join(ROOT, "models", "vggish_small.toml"), ["data.targets=\"audio\""])


# ----------------------------------------------------------------- loss and metrics
def test_loss_counts_only_positions_with_a_full_receptive_field():
    import tensorflow as tf

    from tfaudio.train.wavenet import BitsPerSample, WaveNetLoss

    rf, q = 5, 4
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 12, q)).astype("float32")
    codes = rng.integers(0, q, (2, 12)).astype("int32")
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    # logits at t predict the code at t + 1; t = rf - 1 .. 10 have a full receptive field
    nll = -np.array([[logp[b, t, codes[b, t + 1]] for t in range(rf - 1, 11)]
                     for b in range(2)])
    got = WaveNetLoss(rf)(codes, logits)
    assert float(got) == pytest.approx(nll.mean(), rel=1e-5)
    # the positions before rf - 1 do not count
    changed = logits.copy()
    changed[:, :rf - 1] = 50.0
    assert float(WaveNetLoss(rf)(codes, changed)) == pytest.approx(float(got), rel=1e-6)
    bits = BitsPerSample(rf)
    bits.update_state(codes, logits)
    assert float(bits.result()) == pytest.approx(nll.mean() / math.log(2), rel=1e-5)
    acc = BitsPerSample(rf, accuracy=True)
    acc.update_state(tf.constant(codes), tf.constant(logits))
    hits = np.mean([[logits[b, t].argmax() == codes[b, t + 1] for t in range(rf - 1, 11)]
                    for b in range(2)])
    assert float(acc.result()) == pytest.approx(hits)


def test_spectral_peak():
    from tfaudio.train.wavenet import spectral_peak

    t = np.arange(8000) / 8000
    peak, fraction = spectral_peak(0.3 * np.sin(2 * np.pi * 443.3 * t), 8000)
    assert peak == pytest.approx(443.3, abs=0.5) and fraction > 0.95
    peak, _ = spectral_peak(np.zeros(8000), 8000)
    assert math.isnan(peak)


# ----------------------------------------------------------------- a tiny run
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tfaudio.train import train

    data = str(tmp_path_factory.mktemp("data") / "tones")
    tfd.synth_dataset(data, classes=["tone_220", "tone_440", "tone_880"], clips_per_class=5,
                      sample_rate=8000, seconds=0.25, seed=1,
                      splits="train=0.6,val=0.2,test=0.2")
    run_dir = str(tmp_path_factory.mktemp("runs") / "wavenet")
    summary = train(R.load(WAVENET_TOML, TINY), data_dir=data, run_dir=run_dir, verbose=0)
    return run_dir, summary


def test_tiny_run_reports_bits_per_sample_and_generated_pitch(run):
    run_dir, summary = run
    with open(os.path.join(run_dir, "evaluation", "test.json"), encoding="utf-8") as f:
        result = json.load(f)
    assert result["receptive_field"] == 17
    assert result["positions"] == result["clips"] * (2000 - 17)
    assert 0 < result["bits_per_sample"] <= 8.5  # about log2(256) = 8 untrained
    assert result["nll"] == pytest.approx(result["bits_per_sample"] * math.log(2))
    assert summary["test"]["bits_per_sample"] == result["bits_per_sample"]
    assert set(result["generated"]) == {"tone_220", "tone_440", "tone_880"}
    for name, g in result["generated"].items():
        assert g["expected_hz"] == tone_frequency(name)
        assert os.path.isfile(g["wav"])
    history = [json.loads(line) for line in open(os.path.join(run_dir, "history.jsonl"))]
    assert {"bits_per_sample", "accuracy", "val_bits_per_sample", "loss"} <= set(history[0])
    assert history[0]["bits_per_sample"] == pytest.approx(history[0]["loss"] / math.log(2),
                                                          rel=1e-4)
    assert summary["examples_per_epoch"] == [summary["clips"]["train"]] * 2


_SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    out = m.generate(tf.constant(300), tf.constant([0, 1, 2], tf.int32), tf.constant(1.0),
                     tf.constant(0, tf.int64))
    print(json.dumps({"shape": list(out["waveform"].shape),
                      "codes": out["codes"].numpy().tolist(),
                      "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}))
""")


def test_tiny_run_export_generates_without_tfaudio(run):
    run_dir, _ = run
    export = os.path.join(run_dir, "export")
    with open(os.path.join(export, "tfaudio.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert (config["input"], config["model"], config["receptive_field"]) == (
        "generation", "wavenet", 17)
    assert config["labels"] == ["tone_220", "tone_440", "tone_880"]
    proc = subprocess.run([sys.executable, "-c", _SERVE, export], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["shape"] == [3, 300] and not served["tfaudio"]
    codes = np.array(served["codes"])
    assert codes.min() >= 0 and codes.max() < 256


def test_generate_cli(run, tmp_path, capsys):
    import tensorflow as tf

    from tfaudio.cli import main

    run_dir, _ = run
    out = str(tmp_path / "a.wav")
    assert main(["generate", run_dir, "--seconds", "0.1", "--out", out, "--class", "tone_440",
                 "--temperature", "0.7", "--seed", "3"]) == 0
    printed = capsys.readouterr()
    assert "wrote" in printed.out and "of class tone_440" in printed.out
    assert "generate" in printed.err  # the progress bar
    audio, sr = tf.audio.decode_wav(tf.io.read_file(out))
    assert int(sr) == 8000 and tuple(audio.shape) == (800, 1)
    again = str(tmp_path / "b.wav")
    assert main(["generate", run_dir, "--seconds", "0.1", "--out", again, "--class", "1",
                 "--temperature", "0.7", "--seed", "3", "--quiet"]) == 0
    assert open(out, "rb").read() == open(again, "rb").read()  # class 1 is tone_440
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("args, message", [
    (["--class", "tone_999"], "--class tone_999: not one of the run's classes"),
    ([], "pass --class NAME or INDEX"),
    (["--class", "0", "--mel", "{wav}"], "has no local conditioning: drop --mel"),
    (["--class", "0", "--seconds", "0"], "--seconds 0: must be > 0"),
    (["--class", "0", "--temperature", "-1"], "--temperature -1: must be >= 0"),
    (["--class", "0", "--mel", "/no/such.wav"], "--mel /no/such.wav: no such file"),
])
def test_generate_cli_errors(run, tmp_path, capsys, args, message):
    from tfaudio.cli import main

    run_dir, _ = run
    wav = str(tmp_path / "x.wav")
    from tfaudio.train.wavenet import write_wav

    write_wav(wav, np.zeros(800, np.float32), 8000)
    args = [a.replace("{wav}", wav) for a in args]
    assert main(["generate", run_dir, "--out", str(tmp_path / "o.wav"), *args]) == 2
    assert message in capsys.readouterr().err


def test_generate_cli_on_a_classifier_run_is_an_error(tmp_path, capsys):
    from tfaudio.cli import main

    assert main(["generate", str(tmp_path), "--out", str(tmp_path / "o.wav")]) == 2
    assert "not a tfaudio run folder" in capsys.readouterr().err


def test_evaluate_cli_on_wavenet_run(run, tmp_path, capsys):
    from tfaudio.cli import main

    run_dir, summary = run
    assert main(["evaluate", run_dir, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"test: {summary['test']['bits_per_sample']:.3f} bits per sample" in printed
    assert "tone_440" in printed and "generated peak" in printed


def test_predict_on_a_wavenet_run_points_to_generate(run, tmp_path, capsys):
    from tfaudio.cli import main
    from tfaudio.train.wavenet import write_wav

    run_dir, _ = run
    wav = write_wav(str(tmp_path / "x.wav"), np.zeros(800, np.float32), 8000)
    assert main(["predict", run_dir, wav]) == 2
    assert "use `tfaudio generate" in capsys.readouterr().err


# ----------------------------------------------------------------- a tiny vocoder run
VOCODER = [*TINY, "train.epochs=1", "model.global_condition=false",
           "model.local_condition_mels=8", "model.upsample_factors=[4, 4]"]


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory):
    from tfaudio.train import train

    data = str(tmp_path_factory.mktemp("data") / "tones")
    tfd.synth_dataset(data, classes=["tone_440"], clips_per_class=5, sample_rate=8000,
                      seconds=0.25, seed=2, splits="train=0.6,val=0.2,test=0.2")
    run_dir = str(tmp_path_factory.mktemp("runs") / "vocoder")
    summary = train(R.load(WAVENET_TOML, VOCODER), data_dir=data, run_dir=run_dir, verbose=0)
    return run_dir, summary


def test_vocoder_run_generates_from_a_mel(vocoder, tmp_path, capsys):
    import tensorflow as tf

    from tfaudio.cli import main
    from tfaudio.train.wavenet import write_wav

    run_dir, summary = vocoder
    assert summary["test"]["bits_per_sample"] > 0
    with open(os.path.join(run_dir, "evaluation", "test.json"), encoding="utf-8") as f:
        assert set(json.load(f)["generated"]) == {"unconditioned"}
    t = np.arange(1200) / 8000
    wav = write_wav(str(tmp_path / "src.wav"), 0.3 * np.sin(2 * np.pi * 440 * t), 8000)
    out = str(tmp_path / "voc.wav")
    assert main(["generate", run_dir, "--mel", wav, "--out", out, "--quiet"]) == 0
    audio, _ = tf.audio.decode_wav(tf.io.read_file(out))
    assert tuple(audio.shape) == (1200, 1)  # the --mel audio's length
    assert main(["generate", run_dir, "--out", out]) == 2
    assert "is a vocoder" in capsys.readouterr().err
    assert main(["generate", run_dir, "--mel", wav, "--seconds", "0.5", "--out", out]) == 2
    assert "is shorter than the 0.5 s asked" in capsys.readouterr().err
    assert main(["generate", run_dir, "--mel", wav, "--class", "0", "--out", out]) == 2
    assert "no global conditioning: drop --class" in capsys.readouterr().err


def test_vocoder_export_serves_features_and_generation(vocoder):
    import tensorflow as tf

    run_dir, _ = vocoder
    export = os.path.join(run_dir, "export")
    with open(os.path.join(export, "tfaudio.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert config["endpoints"] == ["generate", "features"]
    assert (config["prime_silence"], config["mel_hop"]) == (17, 16)
    m = tf.saved_model.load(export)
    frames = m.features(tf.zeros([2, 400]))
    assert tuple(frames.shape) == (2, 1 + (17 + 400) // 16, 8)
    out = m.generate(tf.constant(400), tf.constant([0, 0], tf.int32), tf.constant(1.0),
                     tf.constant(1, tf.int64), frames)
    assert tuple(out["codes"].shape) == (2, 400)
    with pytest.raises(tf.errors.InvalidArgumentError, match="local_condition is shorter"):
        m.generate(tf.constant(500), tf.constant([0, 0], tf.int32), tf.constant(1.0),
                   tf.constant(1, tf.int64), frames)
