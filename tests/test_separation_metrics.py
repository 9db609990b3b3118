"""tfaudio.metrics separation metrics: SI-SDR (NumPy formula), SDR (fast_bss_eval, mir_eval).

Oracles (dev dependencies, never imported by the library): ``fast_bss_eval.sdr`` is the
SDR oracle and mir_eval's ``bss_eval_sources`` a second one for one matched source;
measured agreement is ~1e-13 dB, asserted to 1e-6 dB. SI-SDR is checked against the
formula of Le Roux et al. 2019 written out below (fast_bss_eval 0.1.4's ``si_sdr`` fails
on NumPy input), to 1e-9 dB.
"""

import itertools
import warnings

import numpy as np
import pytest

from tfaudio import metrics
from tfaudio.data.speakers import synth_utterances

fast_bss_eval = pytest.importorskip("fast_bss_eval")
mir_eval = pytest.importorskip("mir_eval")

SDR_TOL_DB = 1e-6
SI_SDR_TOL_DB = 1e-9


def _si_sdr_formula(r, e, zero_mean=True):
    r, e = np.asarray(r, np.float64), np.asarray(e, np.float64)
    if zero_mean:
        r, e = r - r.mean(), e - e.mean()
    alpha = np.dot(e, r) / np.dot(r, r)
    t = alpha * r
    return 10 * np.log10(np.dot(t, t) / np.dot(e - t, e - t))


@pytest.fixture(scope="module")
def speech():
    audio, _ = synth_utterances([0, 1, 2], [0, 0, 0], seconds=0.5)
    return audio.astype(np.float64)


def _random_pairs(seed=0, n=4, time=3000):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, time))
    e = np.empty_like(r)
    e[0] = r[0] + 0.3 * rng.standard_normal(time)
    e[1] = np.convolve(r[1], [0.5, 0.3, -0.2, 0.1])[:time] + 0.05 * rng.standard_normal(time)
    e[2] = rng.standard_normal(time)  # unrelated: SDR far below 0
    e[3] = 2.0 * r[3] + 1.0 + 0.1 * rng.standard_normal(time)  # gain and offset
    return r, e


# ------------------------------------------------------------------------------ SI-SDR
def test_si_sdr_equals_the_formula():
    r, e = _random_pairs()
    got = metrics.si_sdr(r, e)
    want = np.array([_si_sdr_formula(a, b) for a, b in zip(r, e, strict=True)])
    np.testing.assert_allclose(got, want, rtol=0, atol=SI_SDR_TOL_DB)
    got_raw = metrics.si_sdr(r, e, zero_mean=False)
    want_raw = np.array([_si_sdr_formula(a, b, False) for a, b in zip(r, e, strict=True)])
    np.testing.assert_allclose(got_raw, want_raw, rtol=0, atol=SI_SDR_TOL_DB)


def test_si_sdr_known_value_and_scale_invariance():
    t = np.arange(8000)
    r = np.sin(2 * np.pi * t / 80.0)
    n = np.sin(2 * np.pi * t / 20.0)  # orthogonal to r over whole periods
    e = r + 0.1 * n
    assert metrics.si_sdr(r, e) == pytest.approx(20.0, abs=1e-9)
    assert metrics.si_sdr(r, 7.0 * e) == pytest.approx(metrics.si_sdr(r, e), abs=1e-9)


# ------------------------------------------------------------------------------ SDR
def test_sdr_equals_fast_bss_eval_on_random_signals():
    r, e = _random_pairs(seed=1)
    got = metrics.sdr(r, e)
    want = np.array([fast_bss_eval.sdr(r[i : i + 1], e[i : i + 1])[0] for i in range(len(r))])
    np.testing.assert_allclose(got, want, rtol=0, atol=SDR_TOL_DB)
    # Unrelated noise: 512 of ~3500 dimensions fit by chance, about -7.8 dB.
    assert got[2] < -5


def test_sdr_equals_oracles_on_speech_mixtures(speech):
    rng = np.random.default_rng(2)
    refs = speech[:2]
    mix = refs[0] + refs[1] + 0.01 * rng.standard_normal(refs.shape[-1])
    est = np.stack([0.8 * refs[0] + 0.2 * mix, np.convolve(refs[1], [1.0, 0.4])[: mix.size]])
    got = metrics.sdr(refs, est)
    want = fast_bss_eval.sdr(refs, est)  # matched order: the identity permutation wins
    np.testing.assert_allclose(got, want, rtol=0, atol=SDR_TOL_DB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(2):
            me = mir_eval.separation.bss_eval_sources(refs[i : i + 1], est[i : i + 1])[0][0]
            assert got[i] == pytest.approx(me, abs=SDR_TOL_DB)
    # A causal FIR filter of the reference is all "signal" to a 512-tap SDR.
    # (The reference ends in 100 zeros so the filter's tail is not cut off.)
    ref = np.concatenate([refs[0], np.zeros(100)])
    filtered = np.convolve(ref, rng.standard_normal(64))[: ref.size]
    assert metrics.sdr(ref, filtered) > 100
    assert metrics.sdr(ref, filtered, filter_length=1) < 10


def test_improvements_are_differences(speech):
    refs = speech[None, :2]  # (batch 1, speakers 2, time)
    mix = refs.sum(axis=1)  # (batch, time): no speakers axis
    est = refs + 0.01 * np.random.default_rng(3).standard_normal(refs.shape)
    si = metrics.si_sdr_improvement(refs, est, mix)
    np.testing.assert_allclose(
        si, metrics.si_sdr(refs, est) - metrics.si_sdr(refs, np.repeat(mix[:, None], 2, 1)),
        atol=1e-12)
    assert np.all(si > 0)
    sd = metrics.sdr_improvement(refs, est, mix)
    want = np.array([[fast_bss_eval.sdr(refs[0, i:i + 1], est[0, i:i + 1])[0]
                      - fast_bss_eval.sdr(refs[0, i:i + 1], mix)[0] for i in range(2)]])
    np.testing.assert_allclose(sd, want, atol=SDR_TOL_DB)


# ------------------------------------------------------------------------------ PIT
def test_pit_finds_the_permutation_and_matches_fast_bss_eval(speech):
    rng = np.random.default_rng(4)
    refs = speech  # 3 speakers
    est = refs + 0.2 * rng.standard_normal(refs.shape)
    order = [2, 0, 1]
    values, perm = metrics.pit_sdr(refs[None], est[None, order])
    fb, fb_perm = fast_bss_eval.sdr(refs, est[order], return_perm=True)
    np.testing.assert_array_equal(perm[0], fb_perm)
    np.testing.assert_allclose(values[0], fb, atol=SDR_TOL_DB)
    np.testing.assert_array_equal(np.asarray(order)[perm[0]], [0, 1, 2])
    si_values, si_perm = metrics.pit_si_sdr(refs[None], est[None, order])
    np.testing.assert_array_equal(si_perm, perm)
    np.testing.assert_allclose(si_values[0], metrics.si_sdr(refs, est), atol=1e-12)


def test_pit_is_brute_force_best_mean():
    rng = np.random.default_rng(5)
    refs = rng.standard_normal((3, 2, 500))
    est = refs[:, ::-1] + rng.standard_normal((3, 2, 500))
    values, perm = metrics.pit_si_sdr(refs, est)
    for b in range(3):
        best = max(itertools.permutations(range(2)),
                   key=lambda p: np.mean([_si_sdr_formula(refs[b, i], est[b, p[i]])
                                          for i in range(2)]))
        np.testing.assert_array_equal(perm[b], best)
        for i in range(2):
            assert values[b, i] == pytest.approx(_si_sdr_formula(refs[b, i], est[b, best[i]]),
                                                 abs=SI_SDR_TOL_DB)


# ------------------------------------------------------------------------------ edges, errors
def test_silent_estimate_is_minus_inf():
    r = np.random.default_rng(6).standard_normal(1000)
    assert metrics.si_sdr(r, np.zeros(1000)) == -np.inf
    assert metrics.sdr(r, np.zeros(1000)) == -np.inf


def test_errors_name_the_argument():
    r = np.ones((2, 100))
    with pytest.raises(ValueError, match="reference and estimate must have the same shape"):
        metrics.si_sdr(r, np.ones((2, 99)))
    with pytest.raises(ValueError, match=r"reference\[1\] is silent"):
        metrics.sdr(np.stack([np.ones(100), np.zeros(100)]), r)
    with pytest.raises(ValueError, match=r"reference\[0\] is silent \(constant"):
        metrics.si_sdr(np.stack([np.full(100, 0.5), np.ones(100)]), r)
    with pytest.raises(ValueError, match="filter_length=0"):
        metrics.sdr(r, r, filter_length=0)
    with pytest.raises(ValueError, match="mixture"):
        metrics.si_sdr_improvement(r, r, np.ones(50))
    with pytest.raises(ValueError, match=r"\(batch, speakers, time\)"):
        metrics.pit_si_sdr(r, r)
