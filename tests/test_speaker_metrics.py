"""Speaker verification metrics against independent computations.

Oracles: scikit-learn's ``roc_curve`` (operating points), a brute-force count of both
error rates at every threshold, the EER as the intersection of each DET segment with the
diagonal (a Python loop over segments), minDCF by enumerating every threshold, and the
score normalisation written as a loop over trials. Random and heavily tied scores.

Tolerance: 1e-12 absolute. Measured on these cases: operating points 1.1e-16 from
scikit-learn's, EER 5.6e-17 from the segment intersection, minDCF 0 from brute force.
"""

import numpy as np
import pytest
from sklearn import metrics as skm

from tfaudio import metrics

TOL = 1e-12


def _random_trials(seed, n=2000, tied=False, target_fraction=0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < target_fraction).astype(int)
    if tied:  # 5 distinct values: long runs of ties mixing both classes
        s = (rng.integers(0, 4, n) + y * rng.integers(0, 2, n)) / 4.0
    else:
        s = rng.normal(size=n) + 1.5 * y
    return s, y


CASES = [(0, False), (1, False), (2, True), (3, True), (4, False)]


def _brute_force_points(s, y):
    """Thresholds (distinct scores, increasing), P_fa and P_miss by direct counting."""
    thresholds = np.unique(s)
    tar, non = s[y == 1], s[y == 0]
    p_fa = np.array([np.mean(non >= t) for t in thresholds])
    p_miss = np.array([np.mean(tar < t) for t in thresholds])
    return thresholds, p_fa, p_miss


def _eer_by_segments(p_fa, p_miss):
    """Where the polyline through (0, 1) and the points (thresholds decreasing) meets the
    diagonal: solve ``x0 + u dx = y0 + u dy`` for each segment."""
    xs = [0.0] + list(p_fa[::-1])
    ys = [1.0] + list(p_miss[::-1])
    for k in range(len(xs) - 1):
        x0, y0, x1, y1 = xs[k], ys[k], xs[k + 1], ys[k + 1]
        if x0 == y0:
            return x0
        den = (x1 - x0) - (y1 - y0)
        u = (y0 - x0) / den
        if 0.0 <= u <= 1.0:
            return x0 + u * (x1 - x0)
    raise AssertionError("no crossing")


@pytest.mark.parametrize("seed,tied", CASES)
def test_det_curve_equals_sklearn_roc_and_brute_force(seed, tied):
    s, y = _random_trials(seed, tied=tied)
    p_fa, p_miss, thr = metrics.det_curve(s, y)
    fpr, tpr, sk_thr = skm.roc_curve(y, s, drop_intermediate=False)
    assert np.isinf(sk_thr[0])
    np.testing.assert_array_equal(thr, sk_thr[1:][::-1])
    np.testing.assert_allclose(p_fa, fpr[1:][::-1], rtol=0, atol=TOL)
    np.testing.assert_allclose(p_miss, 1 - tpr[1:][::-1], rtol=0, atol=TOL)
    bt, bfa, bmiss = _brute_force_points(s, y)
    np.testing.assert_array_equal(thr, bt)
    np.testing.assert_allclose(p_fa, bfa, rtol=0, atol=TOL)
    np.testing.assert_allclose(p_miss, bmiss, rtol=0, atol=TOL)
    if tied:
        assert len(thr) == 5


@pytest.mark.parametrize("seed,tied", CASES)
def test_eer_equals_segment_intersection(seed, tied):
    s, y = _random_trials(seed, tied=tied)
    rate, threshold = metrics.eer(s, y)
    bt, bfa, bmiss = _brute_force_points(s, y)
    assert abs(rate - _eer_by_segments(bfa, bmiss)) <= TOL
    gap = np.abs(bmiss - bfa)
    best = bt[gap == gap.min()].max()  # the higher of equally near thresholds
    assert threshold == best
    # The threshold's operating point lies within one step of the EER.
    i = int(np.flatnonzero(bt == threshold)[0])
    assert min(bfa[i], bmiss[i]) - TOL <= rate <= max(bfa[i], bmiss[i]) + TOL
    if not tied:  # a well separated random case: EER near the normal-theory value
        assert 0.15 < rate < 0.30  # Phi(-0.75) = 0.227 for d' = 1.5


@pytest.mark.parametrize("p_target,c_miss,c_fa", [(0.01, 1, 1), (0.05, 1, 1), (0.001, 1, 1),
                                                  (0.5, 1, 1), (0.2, 10, 1), (0.3, 1, 7)])
@pytest.mark.parametrize("seed,tied", CASES)
def test_min_dcf_equals_brute_force(seed, tied, p_target, c_miss, c_fa):
    s, y = _random_trials(seed, tied=tied)
    got, threshold = metrics.min_dcf(s, y, p_target, c_miss, c_fa)
    bt, bfa, bmiss = _brute_force_points(s, y)
    thresholds = np.r_[bt, np.inf]
    cost = (c_miss * p_target * np.r_[bmiss, 1.0] + c_fa * (1 - p_target) * np.r_[bfa, 0.0])
    cost /= min(c_miss * p_target, c_fa * (1 - p_target))
    assert abs(got - cost.min()) <= TOL
    assert threshold == thresholds[np.abs(cost - cost.min()) <= TOL].max()
    # sklearn's operating points give the same minimum.
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    sk = (c_miss * p_target * (1 - tpr) + c_fa * (1 - p_target) * fpr).min()
    assert abs(got - sk / min(c_miss * p_target, c_fa * (1 - p_target))) <= TOL
    assert 0.0 <= got <= 1.0


def test_hand_computed_examples():
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    y = [1, 1, 0, 1, 0, 0]
    assert metrics.eer(s, y) == (pytest.approx(1 / 3, abs=1e-15), 0.7)
    assert metrics.min_dcf(s, y, p_target=0.5) == (pytest.approx(1 / 3, abs=1e-15), 0.8)
    # Perfect separation: EER 0, minDCF 0 at the lowest target score.
    assert metrics.eer([3.0, 2.0, 1.0], [1, 1, 0])[0] == 0.0
    assert metrics.min_dcf([3.0, 2.0, 1.0], [1, 1, 0]) == (0.0, 2.0)
    # Reversed scores: EER 1; rejecting everything is best for a rare target.
    assert metrics.eer([1.0, 2.0, 3.0], [1, 1, 0])[0] == 1.0
    assert metrics.min_dcf([1.0, 2.0, 3.0], [1, 1, 0], p_target=0.01) == (1.0, np.inf)
    # All scores tied: one point (1, 0) -> the segment from (0, 1): EER 0.5.
    assert metrics.eer([0.5] * 4, [1, 0, 1, 0]) == (0.5, 0.5)
    # Inputs: bool labels, float32 scores, lists and tuples all work.
    a = metrics.eer(np.float32([0.1, 0.7, 0.4]), np.array([False, True, False]))
    assert a == (0.0, pytest.approx(0.7))
    r = metrics.verification_report(s, y, p_targets=(0.01, 0.5))
    assert r["trials"] == 6 and r["targets"] == 3 and r["nontargets"] == 3
    assert r["eer"] == pytest.approx(1 / 3) and r["eer_threshold"] == 0.7
    assert r["min_dcf"]["0.5"] == {"min_dcf": pytest.approx(1 / 3), "threshold": 0.8}
    r = metrics.verification_report([1.0, 2.0, 3.0], [1, 1, 0])
    assert r["min_dcf"]["0.01"]["threshold"] is None  # reject all: inf written as None


def test_bad_trials_raise_clear_errors():
    good_s, good_y = [0.1, 0.2, 0.3], [0, 1, 1]
    with pytest.raises(ValueError, match=r"labels has no non-target trial \(0\)"):
        metrics.eer([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match=r"labels has no target trial \(1\)"):
        metrics.min_dcf([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match=r"scores must be finite: scores\[1\] = nan"):
        metrics.eer([0.1, np.nan, 0.3], good_y)
    with pytest.raises(ValueError, match=r"scores must be finite: scores\[2\] = inf"):
        metrics.det_curve([0.1, 0.2, np.inf], good_y)
    with pytest.raises(ValueError, match=r"labels must be 0 \(non-target\) or 1 \(target\): "
                                         r"labels\[2\] = 2"):
        metrics.eer(good_s, [0, 1, 2])
    with pytest.raises(ValueError, match=r"labels\[0\] = -1"):
        metrics.eer(good_s, [-1, 1, 0])
    with pytest.raises(ValueError, match=r"labels must have the shape of scores \(3,\)"):
        metrics.eer(good_s, [0, 1])
    with pytest.raises(ValueError, match="scores is empty"):
        metrics.eer([], [])
    with pytest.raises(ValueError, match="1-D"):
        metrics.eer([[0.1, 0.2]], [[0, 1]])
    with pytest.raises(TypeError, match="labels must be 0/1 or bool"):
        metrics.eer(good_s, ["a", "b", "c"])
    with pytest.raises(TypeError, match="scores must be real numbers"):
        metrics.eer([1j, 2j, 3j], good_y)
    with pytest.raises(ValueError, match=r"p_target=1 is out of range: allowed \(0, 1\)"):
        metrics.min_dcf(good_s, good_y, p_target=1.0)
    with pytest.raises(ValueError, match="c_miss=0"):
        metrics.min_dcf(good_s, good_y, c_miss=0)


def test_cosine_scores_against_a_loop():
    rng = np.random.default_rng(0)
    e, t = rng.normal(size=(7, 16)), rng.normal(size=(5, 16))
    full = metrics.cosine_scores(e, t)
    assert full.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            ref = e[i] @ t[j] / np.sqrt((e[i] @ e[i]) * (t[j] @ t[j]))
            assert abs(full[i, j] - ref) <= TOL
    paired = metrics.cosine_scores(e[:5], t, paired=True)
    np.testing.assert_allclose(paired, np.diag(full[:5]), rtol=0, atol=TOL)
    same = metrics.cosine_scores(e[0], e[0] * 3.0)[0, 0]
    assert 1.0 - 1e-15 <= same <= 1.0  # never past 1 (clipped)
    with pytest.raises(ValueError, match="enroll has dimension 16 but test has 8"):
        metrics.cosine_scores(e, t[:, :8])
    with pytest.raises(ValueError, match=r"test\[1\] is all zeros"):
        metrics.cosine_scores(e, np.vstack([t[:1], np.zeros((1, 16))]))
    with pytest.raises(ValueError, match="paired=True needs as many"):
        metrics.cosine_scores(e, t, paired=True)


@pytest.mark.parametrize("top_k", [None, 1, 10, 60])
def test_s_norm_against_a_loop(top_k):
    rng = np.random.default_rng(1)
    n, d, m = 40, 12, 60
    e, t, c = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(m, d))
    raw = metrics.cosine_scores(e, t, paired=True)
    got = metrics.s_norm(raw, e, t, c, top_k=top_k)
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    for i in range(n):
        halves = []
        for x in (e[i], t[i]):
            cs = sorted(cn @ (x / np.linalg.norm(x)), reverse=True)
            if top_k is not None:
                cs = cs[:top_k]
            mu = sum(cs) / len(cs)
            sd = max(np.sqrt(sum((v - mu) ** 2 for v in cs) / len(cs)), 1e-10)
            halves.append((raw[i] - mu) / sd)
        assert abs(got[i] - 0.5 * (halves[0] + halves[1])) <= 1e-9 * max(1.0, abs(got[i]))
    if top_k in (None, 60):  # the whole cohort either way
        np.testing.assert_allclose(got, metrics.s_norm(raw, e, t, c), rtol=0, atol=TOL)


def test_s_norm_helps_when_speakers_have_offsets():
    """Trials whose embeddings share a per-utterance bias (a 'hub' direction) score high
    against everyone; S-norm removes that bias and lowers the EER."""
    rng = np.random.default_rng(2)
    speakers = rng.normal(size=(30, 20))
    hub = rng.normal(size=20) * 3.0

    def utterance(spk):
        return speakers[spk] + 0.7 * rng.normal(size=20) + hub * rng.random() * 1.5

    enroll_spk = rng.integers(0, 30, 400)
    target = rng.random(400) < 0.5
    test_spk = np.where(target, enroll_spk, (enroll_spk + rng.integers(1, 30, 400)) % 30)
    e = np.stack([utterance(k) for k in enroll_spk])
    t = np.stack([utterance(k) for k in test_spk])
    cohort = np.stack([rng.normal(size=20) + 0.7 * rng.normal(size=20)
                       + hub * rng.random() * 1.5 for _ in range(200)])
    raw = metrics.cosine_scores(e, t, paired=True)
    before = metrics.eer(raw, target)[0]
    after = metrics.eer(metrics.s_norm(raw, e, t, cohort, top_k=50), target)[0]
    assert after < before


def test_s_norm_errors():
    rng = np.random.default_rng(0)
    e, t, c = rng.normal(size=(4, 8)), rng.normal(size=(4, 8)), rng.normal(size=(6, 8))
    s = metrics.cosine_scores(e, t, paired=True)
    with pytest.raises(ValueError, match="top_k=7 exceeds the cohort size 6"):
        metrics.s_norm(s, e, t, c, top_k=7)
    with pytest.raises(ValueError, match="one row per trial, got 3, 4 and 4"):
        metrics.s_norm(s[:3], e, t, c)
    with pytest.raises(ValueError, match="same dimension, got 8, 8 and 5"):
        metrics.s_norm(s, e, t, c[:, :5])
    with pytest.raises(ValueError, match="scores must be finite"):
        metrics.s_norm(np.r_[s[:3], np.nan], e, t, c)
    with pytest.raises(ValueError, match="top_k=0"):
        metrics.s_norm(s, e, t, c, top_k=0)


def test_probit_and_det_plot(tmp_path):
    import struct

    from scipy.stats import norm

    from tfaudio import plot

    p = np.array([1e-6, 0.001, 0.0123, 0.3, 0.5, 0.77, 0.999])
    np.testing.assert_allclose(plot.probit(p), norm.ppf(p), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        plot.probit([0.0, 0.5])
    # Normal scores with d' = 2 give a straight DET line: probit(P_fa) + probit(P_miss) = -2.
    rng = np.random.default_rng(0)
    s = np.r_[rng.normal(2.0, 1.0, 20000), rng.normal(0.0, 1.0, 20000)]
    y = np.r_[np.ones(20000), np.zeros(20000)]
    p_fa, p_miss, _ = metrics.det_curve(s, y)
    mid = (p_fa > 0.02) & (p_fa < 0.6) & (p_miss > 0.02) & (p_miss < 0.6)
    line = plot.probit(p_fa[mid]) + plot.probit(p_miss[mid])
    assert np.abs(line + 2.0).max() < 0.1
    path = tmp_path / "det.png"
    tied = _random_trials(3, tied=True)
    assert plot.save_det_curve(str(path), {"d'=2": (s, y), "tied": tied}) == str(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (600, 600)
    assert path.stat().st_size > 20_000
    with pytest.raises(ValueError, match="curves is empty"):
        plot.save_det_curve(str(tmp_path / "x.png"), {})
    with pytest.raises(ValueError, match="limits"):
        plot.save_det_curve(str(tmp_path / "x.png"), {"a": tied}, limits=(0.5, 0.1))
