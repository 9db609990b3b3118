"""Pitch decoding ops (CREPE's formulas): hand-computed values, Viterbi against brute force
and on a synthetic salience with octave outliers, NormalizeFrames, argument errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.signals import DATA
from tfaudio import layers as L
from tfaudio import ops
from tfaudio.ops import pitch as P

C = ops.cents_mapping()


def test_cents_table():
    assert C.shape == (360,) and C.dtype == np.float64
    assert C[0] == 1997.3794084376191
    np.testing.assert_allclose(C - C[0], 20.0 * np.arange(360), rtol=0, atol=1e-9)
    hz = ops.to_hz(C).numpy()
    assert abs(hz[0] - 31.70) < 1e-9 and abs(hz[359] - 2005.4972) < 1e-3
    np.testing.assert_allclose(ops.to_cents(hz).numpy(), C, rtol=0, atol=1e-9)
    assert float(ops.to_cents(440.0)) == pytest.approx(1200 * np.log2(44.0), abs=1e-9)
    assert np.isneginf(ops.to_cents(0.0).numpy())
    assert float(ops.to_hz(float("nan"))) == 0.0  # CREPE's unvoiced 0 / 0 -> 0 Hz


def test_local_average_hand_values():
    s = np.zeros((4, 360))
    s[0, 100] = s[0, 101] = 1.0  # half a bin up
    s[1, 0], s[1, 2], s[1, 5] = 1.0, 0.5, 0.9  # bottom edge: window 0..4, bin 5 outside
    s[2, 359], s[2, 355], s[2, 354] = 2.0, 1.0, 5e-1  # top edge: window 355..359
    s[2, 354] = 0.0
    # row 3 is all zero: NaN
    got = ops.local_average_cents(s).numpy()
    assert got[0] == pytest.approx(C[100] + 10.0, abs=1e-9)
    assert got[1] == pytest.approx(C[0] + 40.0 * 0.5 / 1.5, abs=1e-9)
    assert got[2] == pytest.approx(C[359] - 80.0 / 3.0, abs=1e-9)
    assert np.isnan(got[3])
    # The window is 9 bins: bins 4 away count, 5 away do not.
    s = np.zeros(360)
    s[200], s[196], s[204], s[195], s[205] = 1.0, 0.5, 0.5, 0.7, 0.7
    assert float(ops.local_average_cents(s)) == pytest.approx(C[200], abs=1e-9)
    s[204] = 0.0
    assert float(ops.local_average_cents(s)) == pytest.approx(C[200] - 80.0 / 3.0, abs=1e-9)
    # An explicit centre (a Viterbi path) replaces the argmax.
    s = np.zeros(360)
    s[10], s[150] = 0.2, 1.0
    assert float(ops.local_average_cents(s, center=12)) == pytest.approx(C[10], abs=1e-9)


def test_confidence_and_voicing():
    s = np.zeros((2, 360), np.float32)
    s[0, 7], s[1, 300] = 0.25, 0.75
    np.testing.assert_array_equal(ops.confidence(s).numpy(), [0.25, 0.75])
    out = ops.apply_voicing([100.0, 200.0, 300.0], [0.49, 0.5, 0.9]).numpy()
    np.testing.assert_array_equal(out, [0.0, 200.0, 300.0])
    out = ops.apply_voicing([100.0], [0.1], threshold=0.2, fill=float("nan")).numpy()
    assert np.isnan(out[0])
    with pytest.raises(ValueError, match="threshold"):
        ops.apply_voicing([1.0], [1.0], threshold=1.5)
    with pytest.raises(ValueError, match=r"\(\.\.\., 360\)"):
        ops.confidence(np.zeros((3, 100)))


def _brute_force(log_start, log_transition, log_emission):
    frames, states = log_emission.shape
    best, best_path = -np.inf, None
    for path in itertools.product(range(states), repeat=frames):
        score = log_start[path[0]] + log_emission[0, path[0]]
        for t in range(1, frames):
            score += log_transition[path[t - 1], path[t]] + log_emission[t, path[t]]
        if score > best:
            best, best_path = score, path
    return np.array(best_path)


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_path_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    states, frames = 4, 5
    norm = lambda a: np.log(a / a.sum(axis=-1, keepdims=True))  # noqa: E731
    log_start = norm(rng.random(states))
    log_transition = norm(rng.random((states, states)))
    log_emission = np.log(rng.random((frames, states)))
    np.testing.assert_array_equal(ops.viterbi_path(log_start, log_transition, log_emission),
                                  _brute_force(log_start, log_transition, log_emission))


@pytest.mark.parametrize("seed", range(6))
def test_crepe_banded_viterbi_equals_the_dense_decoder(seed):
    # CREPE's emissions take two values, so exact ties are common: the banded decoder
    # must break them as the dense one does (highest state).
    rng = np.random.default_rng(seed)
    if seed % 2:
        obs = rng.integers(0, 360, 150)
    else:
        walk = 180 + np.cumsum(rng.integers(-3, 4, 150)) + 60 * (rng.random(150) < 0.1)
        obs = np.clip(walk, 0, 359)
    log_start, log_transition, log_emission = P.crepe_hmm()
    dense = ops.viterbi_path(log_start, log_transition, log_emission[:, obs].T)
    np.testing.assert_array_equal(P._crepe_viterbi_path(obs), dense)


def test_viterbi_equals_hmmlearn_as_crepe_uses_it():
    # Paths of hmmlearn 0.3.3's CategoricalHMM.predict set up as CREPE's
    # to_viterbi_cents, recorded by tools/crepe_goldens.py: 16 / 16 equal (breaking ties
    # toward the lowest state instead matches only 5 / 16).
    goldens = np.load(DATA / "crepe_goldens.npz")
    for obs, expected in zip(goldens["viterbi_observations"], goldens["viterbi_paths"],
                             strict=True):
        np.testing.assert_array_equal(P._crepe_viterbi_path(obs.astype(np.int64)), expected)
    # viterbi_cents observes the argmax of the salience.
    obs = goldens["viterbi_observations"][0].astype(np.int64)
    salience = np.full((len(obs), 360), 0.01)
    salience[np.arange(len(obs)), obs] = 0.9
    np.testing.assert_array_equal(ops.viterbi_cents(salience)[1], goldens["viterbi_paths"][0])


def test_viterbi_ties_go_to_the_highest_state():
    flat = np.log(np.full(3, 1 / 3))
    path = ops.viterbi_path(flat, np.log(np.full((3, 3), 1 / 3)), np.zeros((4, 3)))
    np.testing.assert_array_equal(path, [2, 2, 2, 2])
    # CREPE's model with no information (all-zero salience: every argmax is bin 0) ties
    # between the states around bin 0 only through the edge rows; a flat salience of
    # ones has the argmax 0 too. The path must be a valid CREPE path either way.
    cents, path = ops.viterbi_cents(np.ones((6, 360)))
    assert np.all(np.abs(np.diff(path)) <= 11) and np.all(np.isfinite(cents))


def _synthetic_track(frames=200, seed=0):
    rng = np.random.default_rng(seed)
    true_bins = np.linspace(100.0, 140.0, frames)  # a 800-cent glide
    bins = np.arange(360)
    s = 0.9 * np.exp(-0.5 * (bins[None, :] - true_bins[:, None]) ** 2)
    outliers = rng.choice(np.arange(5, frames - 5), 12, replace=False)
    for t in outliers:  # an octave up, stronger than the true peak
        s[t] = np.maximum(s[t], 0.97 * np.exp(-0.5 * (bins - true_bins[t] - 60.0) ** 2))
    s += 0.01 * rng.random(s.shape)
    return s, C[0] + 20.0 * true_bins, np.sort(outliers)


def test_viterbi_removes_octave_outliers():
    s, true_cents, outliers = _synthetic_track()
    argmax_err = np.abs(ops.local_average_cents(s).numpy() - true_cents)
    assert np.all(argmax_err[outliers] > 1100)  # the argmax decoding jumps an octave
    cents, path = ops.viterbi_cents(s)
    assert path.dtype == np.int64 and cents.shape == path.shape == (200,)
    assert np.all(np.abs(np.diff(path)) <= 1)  # smooth: the glide moves 0.2 bins a frame
    err = np.abs(cents - true_cents)
    assert err.max() < 10.0, err.max()


def test_viterbi_edge_cases_and_errors():
    cents, path = ops.viterbi_cents(np.zeros((0, 360)))
    assert cents.shape == path.shape == (0,)
    s = np.zeros((1, 360))
    s[0, 42] = 1.0
    cents, path = ops.viterbi_cents(s)
    assert path.tolist() == [42] and cents[0] == pytest.approx(C[42])
    with pytest.raises(ValueError, match=r"\(frames, 360\)"):
        ops.viterbi_cents(np.zeros((2, 3, 360)))
    with pytest.raises(ValueError, match="shapes do not fit"):
        ops.viterbi_path(np.zeros(3), np.zeros((3, 2)), np.zeros((4, 3)))
    # CREPE's transition rows: 144 inside, 78 at the edges, before normalisation.
    _, log_t, log_e = P.crepe_hmm()
    t = np.exp(log_t)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    assert t[180, 180] == pytest.approx(12 / 144) and t[0, 0] == pytest.approx(12 / 78)
    assert t[0, 12] == 0.0 and t[0, 11] == pytest.approx(1 / 78)
    assert np.exp(log_e[5, 5]) == pytest.approx(0.1 + 0.9 / 360)


def test_normalize_frames():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 1024)) * 5 + 2
    y = ops.normalize_frames(x).numpy()  # float64 in, float64 out
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(-1), 1.0, atol=1e-12)  # population std
    z = ops.normalize_frames(np.zeros((1, 1024), np.float32)).numpy()
    assert np.all(z == 0.0)
    # The layer normalises the samples axis (2) per channel.
    xc = np.stack([x[0], 3 * x[0] + 1], axis=-1).astype(np.float32)[None]
    yc = L.NormalizeFrames()(xc).numpy()
    np.testing.assert_allclose(yc[..., 0], yc[..., 1], atol=1e-5)
    np.testing.assert_allclose(yc[..., 0], y[:1], atol=1e-5)
    with pytest.raises(ValueError, match="floor"):
        L.NormalizeFrames(floor=0.0)
