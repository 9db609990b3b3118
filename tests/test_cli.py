"""The command line: --version, --help, demo, show."""

import subprocess
import sys

from tests.signals import DATA
from tfaudio import __version__
from tfaudio.cli import ONEDNN_ENV, cpu_defaults, main


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "tfaudio.cli", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == f"tfaudio {__version__}"
    help_text = subprocess.run([sys.executable, "-m", "tfaudio.cli", "--help"], capture_output=True,
                               text=True, check=True).stdout
    for command in ("demo", "show", "train", "evaluate", "predict"):
        assert command in help_text


def test_cpu_defaults_turn_onednn_on_unless_set():
    assert cpu_defaults({}) == {"TF_CPP_MIN_LOG_LEVEL": "3", ONEDNN_ENV: "1"}
    mine = {ONEDNN_ENV: "0", "TF_CPP_MIN_LOG_LEVEL": "1"}
    assert cpu_defaults(mine) == {ONEDNN_ENV: "0", "TF_CPP_MIN_LOG_LEVEL": "1"}


def test_main_sets_the_defaults_before_any_command_imports_tensorflow():
    """``main`` applies :func:`cpu_defaults` to its own process (TensorFlow reads the
    variable at import, so it must be set before a command runs)."""
    import os

    env = {k: v for k, v in os.environ.items() if k != ONEDNN_ENV}
    code = ("import os, sys; from tfaudio.cli import main; main([]); "
            f"print(os.environ.get({ONEDNN_ENV!r}), 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout
    assert out.strip().splitlines()[-1] == "1 False"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**env, ONEDNN_ENV: "0"}).stdout
    assert out.strip().splitlines()[-1] == "0 False"


def test_demo_trains_exports_serves_and_predicts(tmp_path, capsys):
    # Small settings: the flow, not the accuracy (make demo's recipe reaches the target).
    recipe = str(DATA.parent.parent / "models" / "vggish_small.toml")
    assert main(["demo", "--out", str(tmp_path), "--recipe", recipe, "--epochs", "1",
                 "--set", "data.synth_clips_per_class=4", "--set", "model.width=0.0625",
                 "--set", "train.jit_compile=false"]) == 0
    out = capsys.readouterr().out
    assert "demo OK" in out and "tfaudio imported by the server: False" in out
    assert "max |tfaudio - librosa|" in out
    assert "fresh clips named right" in out and "(target 0.95:" in out
    run = tmp_path / "run"
    assert (run / "export" / "saved_model.pb").exists()
    assert (run / "evaluation" / "test_confusion.png").stat().st_size > 10_000
    assert (run / "data" / "dataset.json").exists()
    assert len(list((tmp_path / "fresh").glob("*.wav"))) == 12


def test_show_writes_png(tmp_path, capsys, monkeypatch):
    import tfaudio.plot

    figures = []  # the figure that show draws, kept to look at its panels
    draw = tfaudio.plot.waveform_and_mel_figure
    monkeypatch.setattr(tfaudio.plot, "waveform_and_mel_figure",
                        lambda *a, **k: figures.append(draw(*a, **k)) or figures[-1])
    png = tmp_path / "speech.png"
    assert main(["show", str(DATA / "speech_16k.wav"), "--out", str(png), "--n-fft", "512",
                 "--hop-length", "160", "--n-mels", "64", "--f-min", "50", "--f-max", "7600"]) == 0
    assert png.stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "301 frames x 64 mel bands, 16000 Hz" in out
    # Two panels: the waveform above the log-mel (a 1000 x 600 figure; one panel was 550 x 260).
    assert "waveform above log-mel" in out
    assert png.read_bytes()[16:24] == (1000).to_bytes(4, "big") + (600).to_bytes(4, "big")
    wave_ax, mel_ax, _colorbar = figures[0].axes
    assert wave_ax.get_ylabel() == "amplitude" and mel_ax.get_xlabel() == "time (s)"
    positions, labels = tfaudio.plot.mel_axis_ticks(64, 50.0, 7600.0)
    assert [t.get_text() for t in mel_ax.get_yticklabels()] == labels
    assert list(mel_ax.get_yticks()) == list(positions)
