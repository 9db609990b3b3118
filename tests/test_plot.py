"""tfaudio.plot: PNGs are written, the mel axis is placed like librosa's mel scale, and the
confusion picture's rows are normalised."""

import struct

import librosa
import matplotlib
import numpy as np
import pytest

from tfaudio import metrics, plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Tick positions against librosa's mel scale, in mel bands (measured max difference 1.4e-14).
TICK_TOL = 1e-9


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR: width, height


MEL_AXES = [  # n_mels, f_min, f_max, htk
    (128, 0.0, 8000.0, False),
    (64, 0.0, 8000.0, True),
    (128, 0.0, 11025.0, False),
    (40, 300.0, 3400.0, False),
    (96, 125.0, 7500.0, True),
    (16, 1000.0, 1500.0, False),  # narrow: five round values evenly spaced in mels
    (1, 0.0, 4000.0, False),
]


@pytest.mark.parametrize("n_mels,f_min,f_max,htk", MEL_AXES)
def test_mel_ticks_sit_at_librosa_mel_band_positions(n_mels, f_min, f_max, htk):
    positions, labels = plot.mel_axis_ticks(n_mels, f_min, f_max, htk)
    hz = np.array([float(label) for label in labels])
    assert len(hz) >= 3 and np.all(np.diff(hz) > 0)
    assert np.all((hz >= f_min) & (hz <= f_max))
    # Oracle: librosa's filter centres (mel_frequencies(n_mels + 2)[1:-1]) sit at bands
    # 0 .. n_mels - 1 and the outer edges f_min, f_max at -1 and n_mels; positions are
    # linear in librosa's mels in between.
    edges_mel = librosa.hz_to_mel(librosa.mel_frequencies(n_mels + 2, fmin=f_min, fmax=f_max,
                                                          htk=htk), htk=htk)
    expected = np.interp(librosa.hz_to_mel(hz, htk=htk), edges_mel, np.arange(-1, n_mels + 1))
    np.testing.assert_allclose(positions, expected, rtol=0, atol=TICK_TOL)
    assert positions.min() >= -1 - TICK_TOL and positions.max() <= n_mels + TICK_TOL


def test_mel_ticks_default_axis():
    positions, labels = plot.mel_axis_ticks(128, 0.0, 8000.0)
    assert labels == ["0", "256", "512", "1024", "2048", "4096"]
    assert positions[0] == -1.0  # 0 Hz = f_min, the lower edge of band 0
    assert np.all(np.diff(positions) >= 0.06 * 129)  # min_gap of the axis
    _, labels = plot.mel_axis_ticks(128, 0.0, 22050.0)
    assert labels[-2:] == ["8192", "16384"]


def test_waveform_and_mel_figure_layout():
    sr, hop, n_mels = 16000, 160, 64
    audio = np.sin(2 * np.pi * 440 * np.arange(4000) / sr).astype(np.float32)  # drawn as a line
    log_mel = np.random.default_rng(0).normal(size=(1 + 4000 // hop, n_mels))
    fig = plot.waveform_and_mel_figure(audio, sr, log_mel, hop, f_max=7600.0, title="tone")
    try:
        ax_wave, ax_mel, cax = fig.axes
        assert ax_wave.get_title() == "tone"
        assert ax_wave.get_shared_x_axes().joined(ax_wave, ax_mel)
        assert ax_mel.get_xlim() == pytest.approx((0.0, 4000 / sr))
        assert ax_mel.get_ylim() == pytest.approx((-1.0, n_mels))
        positions, labels = plot.mel_axis_ticks(n_mels, 0.0, 7600.0)
        np.testing.assert_allclose(ax_mel.get_yticks(), positions)
        assert [t.get_text() for t in ax_mel.get_yticklabels()] == labels
        assert ax_mel.get_xlabel() == "time (s)" and "Hz" in ax_mel.get_ylabel()
    finally:
        plt.close(fig)


def test_save_waveform_and_mel_writes_png(tmp_path):
    sr, hop = 16000, 256
    rng = np.random.default_rng(1)
    audio = rng.normal(scale=0.1, size=3 * sr).astype(np.float32)  # long: drawn as an envelope
    log_mel = rng.normal(size=(1 + audio.size // hop, 128))
    path = tmp_path / "wave_mel.png"
    assert plot.save_waveform_and_mel(str(path), audio, sr, log_mel, hop, htk=True) == str(path)
    assert _png_size(path) == (1000, 600)
    assert path.stat().st_size > 20_000


@pytest.mark.parametrize("num_classes", [12, 50])
def test_save_confusion_matrix_writes_png(tmp_path, num_classes):
    rng = np.random.default_rng(num_classes)
    y_true = rng.integers(0, num_classes, 30 * num_classes)
    y_pred = np.where(rng.random(y_true.size) < 0.7, y_true, rng.integers(0, num_classes,
                                                                          y_true.size))
    cm = metrics.confusion_matrix(y_true, y_pred, num_classes)
    names = [f"class_{i}" for i in range(num_classes)]
    for normalize in (True, False):
        path = tmp_path / f"cm_{normalize}.png"
        assert plot.save_confusion_matrix(str(path), cm, names, normalize=normalize) == str(path)
        width, height = _png_size(path)
        assert path.stat().st_size > 20_000
        assert height >= 600 and height >= 25 * num_classes  # grows with the classes


def test_normalised_rows_sum_to_one():
    counts = np.random.default_rng(2).integers(0, 20, (12, 12))
    counts[5] = 0  # a class without samples keeps a zero row
    fractions = metrics.normalize_confusion_matrix(counts)
    sums = fractions.sum(axis=1)
    np.testing.assert_allclose(np.delete(sums, 5), 1.0, rtol=0, atol=1e-12)
    assert sums[5] == 0.0
    np.testing.assert_allclose(np.diag(fractions)[:5], np.diag(counts)[:5] / counts[:5].sum(1))


BAD_INPUTS = [
    (lambda p: plot.mel_axis_ticks(0, 0.0, 8000.0), ValueError, r"n_mels=0"),
    (lambda p: plot.mel_axis_ticks(64, 4000.0, 3000.0), ValueError, r"f_max=3000 is out of range"),
    (lambda p: plot.save_waveform_and_mel(p, np.zeros((100, 2)), 16000, np.zeros((5, 8)), 25),
     ValueError, r"audio must be a non-empty mono waveform \(time,\), got shape \(100, 2\)"),
    (lambda p: plot.save_waveform_and_mel(p, np.zeros(100), 16000, np.zeros(8), 25),
     ValueError, r"log_mel must be a non-empty 2-D array"),
    (lambda p: plot.save_waveform_and_mel(p, np.zeros(100), 16000, np.zeros((5, 8)), 0),
     ValueError, r"hop_length=0"),
    (lambda p: plot.save_waveform_and_mel(p, np.zeros(100), 16000, np.zeros((5, 8)), 25,
                                          f_max=9000), ValueError, r"f_max=9000 .*\(0, 8000\]"),
    (lambda p: plot.save_confusion_matrix(p, np.eye(3), ["a", "b"]), ValueError,
     r"labels has 2 names but matrix is 3 x 3"),
    (lambda p: plot.save_confusion_matrix(p, np.ones((2, 3)), ["a", "b"]), ValueError,
     r"matrix must be square"),
]


@pytest.mark.parametrize("call,exc,pattern", BAD_INPUTS, ids=[p for _, _, p in BAD_INPUTS])
def test_bad_inputs(tmp_path, call, exc, pattern):
    path = str(tmp_path / "bad.png")
    with pytest.raises(exc, match=pattern):
        call(path)
    assert not (tmp_path / "bad.png").exists()
