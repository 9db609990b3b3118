"""Speaker verification metrics and scoring as plain NumPy functions (re-exported by
:mod:`tfaudio.metrics`).

A *trial* compares an enrolment utterance with a test utterance; its *score* is higher when
the system believes both come from the same speaker, and its *label* is 1 for a target
trial (same speaker) and 0 for a non-target trial. At a threshold ``t`` a trial is accepted
when ``score >= t``, which gives two error rates:

- ``P_miss(t)``: the fraction of target trials rejected (``score < t``),
- ``P_fa(t)``: the fraction of non-target trials accepted (``score >= t``).

Only the distinct scores matter as thresholds: tied trials are accepted or rejected
together, never split (so every operating point reported here is one a real threshold
reaches, whatever the order of the tied trials).

Functions: :func:`det_curve`, :func:`eer` (equal error rate), :func:`min_dcf` (NIST's
normalised minimum detection cost), :func:`verification_report`, :func:`cosine_scores`,
:func:`s_norm` (symmetric and adaptive score normalisation).

The results equal an independent computation (scikit-learn's ``roc_curve`` operating
points, and a brute-force count over every threshold) to 1e-12 in
``tests/test_speaker_metrics.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfaudio import _checks

__all__ = [
    "det_curve",
    "eer",
    "min_dcf",
    "verification_report",
    "cosine_scores",
    "s_norm",
]


def _trials(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(scores float64 (n,), labels bool (n,))`` with both classes present."""
    s = np.asarray(scores)
    y = np.asarray(labels)
    if s.dtype == bool or not np.issubdtype(s.dtype, np.number) or np.iscomplexobj(s):
        raise TypeError(f"scores must be real numbers (one per trial), got dtype {s.dtype}")
    if s.ndim != 1:
        raise ValueError(f"scores must be a 1-D array (trials,), got shape {s.shape}")
    if s.shape[0] == 0:
        raise ValueError("scores is empty: it needs at least one target and one non-target trial")
    if y.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape} (one per trial), "
                         f"got {y.shape}")
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.number)):
        raise TypeError(f"labels must be 0/1 or bool (1 = target trial), got dtype {y.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValueError(f"scores must be finite: scores[{bad}] = {s[bad]}")
    yf = y.astype(np.float64)
    not_binary = ~((yf == 0) | (yf == 1))
    if np.any(not_binary):
        bad = int(np.flatnonzero(not_binary)[0])
        raise ValueError(f"labels must be 0 (non-target) or 1 (target): labels[{bad}] = "
                         f"{y[bad]!r}")
    y = yf == 1
    n_tar = int(y.sum())
    if n_tar == 0:
        raise ValueError(f"labels has no target trial (1) among {y.size} trials: the miss "
                         "rate is undefined")
    if n_tar == y.size:
        raise ValueError(f"labels has no non-target trial (0) among {y.size} trials: the "
                         "false-alarm rate is undefined")
    return s, y


def _operating_points(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray]:
    """``(thresholds, p_fa, p_miss)`` at every distinct score, thresholds decreasing."""
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    n_tar = float(np.count_nonzero(y))
    n_non = float(y.size - n_tar)
    # The last trial of each run of tied scores: accepting down to that score
    # accepts the whole run.
    last = np.r_[s[1:] != s[:-1], True]
    missed_tar = n_tar - np.cumsum(y)[last]
    accepted_non = np.cumsum(~y)[last]
    return s[last], accepted_non / n_non, missed_tar / n_tar


def det_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The detection error trade-off: ``P_fa`` and ``P_miss`` at every distinct score.

    Args:
        scores: one real score per trial ``(trials,)``; higher = more likely target.
        labels: ``(trials,)`` 1 (or True) for target trials, 0 for non-target trials.

    Returns:
        ``(p_fa, p_miss, thresholds)``, float64 ``(distinct scores,)`` each, thresholds
        increasing (the distinct scores); at ``thresholds[i]`` trials with
        ``score >= thresholds[i]`` are accepted. ``p_fa`` falls from 1 and ``p_miss``
        rises to at most ``1 - 1 / targets``; the reject-all point ``(0, 1)`` (threshold
        ``+inf``) is not listed. These are the operating points of
        ``sklearn.metrics.roc_curve(labels, scores, drop_intermediate=False)``
        (``p_fa = fpr``, ``p_miss = 1 - tpr``) without its ``inf`` point, in reverse.

    Raises:
        ValueError: scores not finite, labels not 0/1, or no target or no non-target
            trial.

    Example:
        >>> p_fa, p_miss, t = det_curve([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])
        >>> p_fa.tolist(), p_miss.tolist(), t.tolist()
        ([1.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.5, 0.5], [0.6, 0.7, 0.8, 0.9])
    """
    s, y = _trials(scores, labels)
    thresholds, p_fa, p_miss = _operating_points(s, y)
    return p_fa[::-1].copy(), p_miss[::-1].copy(), thresholds[::-1].copy()


def eer(scores: Any, labels: Any) -> tuple[float, float]:
    """Equal error rate: where the DET curve crosses ``P_miss = P_fa``.

    The operating points (:func:`det_curve`, plus the reject-all point ``(P_fa, P_miss)
    = (0, 1)``) are joined by straight lines, as a decision that picks one of two
    neighbouring thresholds at random reaches every point between them; the EER is the
    rate where that polyline meets the diagonal. ``P_miss - P_fa`` falls strictly from
    one point to the next, so the crossing is unique; when it lies on a point the EER is
    that point's common rate. (The convex-hull EER of BOSARIS can be lower; Kaldi's
    ``compute_eer`` splits tied scores and takes a point near the crossing; the common
    ``(fpr + fnr) / 2`` at the nearest point differs by at most half a step.)

    Args:
        scores: one real score per trial ``(trials,)``; higher = more likely target.
        labels: ``(trials,)`` 1 for target trials, 0 for non-target trials.

    Returns:
        ``(eer, threshold)``: the EER in [0, 1] (a fraction, not per cent), and the
        distinct score whose operating point has the smallest ``|P_miss - P_fa|`` (the
        higher one of two equally near): accept when ``score >= threshold``.

    Raises:
        ValueError: scores not finite, labels not 0/1, or no target or no non-target
            trial.

    Example:
        >>> eer([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0])
        (0.3333333333333333, 0.7)
    """
    s, y = _trials(scores, labels)
    thresholds, p_fa, p_miss = _operating_points(s, y)
    fa = np.r_[0.0, p_fa]
    miss = np.r_[1.0, p_miss]
    d = miss - fa  # strictly decreasing from 1 to -1
    j = int(np.argmax(d <= 0.0))  # the first point on or past the diagonal (j >= 1)
    if d[j] == 0.0:
        rate = fa[j]
    else:
        t = d[j - 1] / (d[j - 1] - d[j])
        rate = fa[j - 1] + t * (fa[j] - fa[j - 1])
    nearest = int(np.argmin(np.abs(p_miss - p_fa)))
    return float(rate), float(thresholds[nearest])


def min_dcf(scores: Any, labels: Any, p_target: float = 0.01, c_miss: float = 1.0,
            c_fa: float = 1.0) -> tuple[float, float]:
    """Minimum normalised detection cost (NIST SRE; Kaldi's ``compute_min_dcf.py``).

    ``DCF(t) = c_miss * p_target * P_miss(t) + c_fa * (1 - p_target) * P_fa(t)``, divided
    by the cost of the best decision without the scores, ``min(c_miss * p_target,
    c_fa * (1 - p_target))``, and minimised over every distinct score as the threshold
    and the reject-all threshold ``+inf`` (so the result is at most 1). Unlike Kaldi's
    script, tied scores are never split between accepted and rejected (Kaldi sorts the
    trials and may evaluate a cut inside a run of ties, a cost no threshold reaches).
    VoxCeleb reports ``p_target=0.05`` (VoxSRC) or ``0.01``; SRE also ``0.001``.

    Args:
        scores: one real score per trial ``(trials,)``; higher = more likely target.
        labels: ``(trials,)`` 1 for target trials, 0 for non-target trials.
        p_target: prior probability of a target trial, in (0, 1).
        c_miss: cost of a miss (> 0).
        c_fa: cost of a false alarm (> 0).

    Returns:
        ``(min_dcf, threshold)``: the minimum normalised cost, and the threshold reaching
        it (accept when ``score >= threshold``; ``inf`` when rejecting every trial is
        best; the highest of equally good thresholds: costs equal to a relative 1e-12).

    Raises:
        ValueError: bad costs or prior, scores not finite, labels not 0/1, or no target
            or no non-target trial.

    Example:
        >>> min_dcf([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0], p_target=0.5)
        (0.3333333333333333, 0.8)
    """
    p_target = _checks.number_in("p_target", p_target, 0.0, 1.0, low_inclusive=False,
                                 high_inclusive=False)
    c_miss = _checks.positive_float("c_miss", c_miss)
    c_fa = _checks.positive_float("c_fa", c_fa)
    s, y = _trials(scores, labels)
    thresholds, p_fa, p_miss = _operating_points(s, y)
    thresholds = np.r_[np.inf, thresholds]
    cost = c_miss * p_target * np.r_[1.0, p_miss] + c_fa * (1.0 - p_target) * np.r_[0.0, p_fa]
    # The highest threshold of those within round-off of the minimum.
    best = int(np.argmax(cost <= cost.min() * (1.0 + 1e-12)))
    default = min(c_miss * p_target, c_fa * (1.0 - p_target))
    return float(cost[best] / default), float(thresholds[best])


def verification_report(scores: Any, labels: Any,
                        p_targets: tuple[float, ...] = (0.01, 0.001)) -> dict[str, Any]:
    """EER and minDCF at several priors in one JSON-ready dict.

    Args:
        scores: one real score per trial ``(trials,)``.
        labels: ``(trials,)`` 1 for target trials, 0 for non-target trials.
        p_targets: target priors of the minDCFs (``c_miss = c_fa = 1``).

    Returns:
        ``{"trials": int, "targets": int, "nontargets": int, "eer": float,
        "eer_threshold": float, "min_dcf": {"0.01": {"min_dcf": float, "threshold":
        float}, ...}}`` (keys of ``min_dcf`` are ``f"{p_target:g}"``; a threshold of
        ``inf`` is written as ``None``).

    Example:
        >>> r = verification_report([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0])
        >>> r["eer"], r["min_dcf"]["0.01"]["min_dcf"]
        (0.3333333333333333, 0.3333333333333333)
    """
    s, y = _trials(scores, labels)
    rate, threshold = eer(s, y)
    report: dict[str, Any] = {"trials": int(y.size), "targets": int(y.sum()),
                              "nontargets": int(y.size - y.sum()), "eer": rate,
                              "eer_threshold": threshold, "min_dcf": {}}
    for p in p_targets:
        cost, t = min_dcf(s, y, p_target=p)
        report["min_dcf"][f"{p:g}"] = {"min_dcf": cost,
                                        "threshold": None if np.isinf(t) else t}
    return report


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------


def _embeddings(name: str, value: Any) -> np.ndarray:
    x = np.asarray(value)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"{name} must hold real embeddings, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must be embeddings (n, dim) or one embedding (dim,), got "
                         f"shape {np.shape(value)}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x


def _unit(x: np.ndarray, name: str) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norm == 0):
        bad = int(np.flatnonzero(norm[:, 0] == 0)[0])
        raise ValueError(f"{name}[{bad}] is all zeros: its cosine similarity is undefined")
    return x / norm


def cosine_scores(enroll: Any, test: Any, paired: bool = False) -> np.ndarray:
    """Cosine similarity of embeddings: the usual back end of ECAPA-TDNN systems.

    Args:
        enroll: enrolment embeddings ``(n_enroll, dim)`` (or one ``(dim,)``).
        test: test embeddings ``(n_test, dim)`` (or one ``(dim,)``).
        paired: score row ``i`` of ``enroll`` against row ``i`` of ``test`` (one score
            per trial; both must have the same number of rows) instead of every pair.

    Returns:
        float64 ``(n_enroll, n_test)`` of every pair, or ``(n,)`` when ``paired``;
        values in [-1, 1].

    Raises:
        ValueError: different dimensions, a zero embedding, non-finite values, or
            different row counts when ``paired``.

    Example:
        >>> cosine_scores([[1.0, 0.0], [1.0, 1.0]], [[2.0, 0.0]]).round(4).tolist()
        [[1.0], [0.7071]]
    """
    e = _embeddings("enroll", enroll)
    t = _embeddings("test", test)
    if e.shape[1] != t.shape[1]:
        raise ValueError(f"enroll has dimension {e.shape[1]} but test has {t.shape[1]}; "
                         "they must be equal")
    e, t = _unit(e, "enroll"), _unit(t, "test")
    if paired:
        if e.shape[0] != t.shape[0]:
            raise ValueError(f"paired=True needs as many test as enroll embeddings, got "
                             f"{e.shape[0]} and {t.shape[0]}")
        return np.clip(np.einsum("nd,nd->n", e, t), -1.0, 1.0)
    return np.clip(e @ t.T, -1.0, 1.0)


def _cohort_stats(x: np.ndarray, cohort: np.ndarray, top_k: int | None,
                  block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std of each row's cosine scores against the cohort (the
    ``top_k`` highest only, when given)."""
    means, stds = [], []
    for i in range(0, x.shape[0], block):
        c = x[i:i + block] @ cohort.T
        if top_k is not None and top_k < cohort.shape[0]:
            c = np.partition(c, c.shape[1] - top_k, axis=1)[:, -top_k:]
        means.append(c.mean(axis=1))
        stds.append(c.std(axis=1))
    return np.concatenate(means), np.concatenate(stds)


def s_norm(scores: Any, enroll: Any, test: Any, cohort: Any, top_k: int | None = None,
           eps: float = 1e-10) -> np.ndarray:
    """Symmetric score normalisation (S-norm), adaptive when ``top_k`` is given.

    For each trial with score ``s`` between enrolment embedding ``e`` and test embedding
    ``t``, the cosine scores of ``e`` against every cohort embedding (impostors: speakers
    outside the trials, usually the training speakers) give a mean ``mu_e`` and standard
    deviation ``sigma_e``; likewise ``mu_t``, ``sigma_t`` for ``t``. Then

    ``s_norm = ((s - mu_e) / sigma_e + (s - mu_t) / sigma_t) / 2``.

    Adaptive S-norm (Cumani et al., "Comparison of speaker recognition approaches for
    real applications", Interspeech 2011; Matejka et al., "Analysis of score
    normalization in multilingual speaker recognition", Interspeech 2017) takes the
    statistics of the ``top_k`` highest cohort scores of each side only (each side
    chooses its own cohort). Standard deviations are population ones (ddof 0; SpeechBrain
    uses ddof 1, which scales every normalised score by the same factor when both sides
    use ``top_k`` scores, so EER and minDCF are unchanged).

    Args:
        scores: the raw scores ``(trials,)`` (usually :func:`cosine_scores` with
            ``paired=True``; the cohort is scored with cosines whatever they are).
        enroll: the enrolment embedding of each trial ``(trials, dim)``.
        test: the test embedding of each trial ``(trials, dim)``.
        cohort: cohort embeddings ``(cohort size, dim)``.
        top_k: adaptive S-norm over the ``top_k`` closest cohort embeddings (e.g. 200-400
            for thousands of cohort speakers); ``None`` = the whole cohort.
        eps: floor of the standard deviations.

    Returns:
        float64 ``(trials,)`` normalised scores.

    Raises:
        ValueError: shapes that do not match, ``top_k`` larger than the cohort,
            non-finite values or zero embeddings.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> e, t, c = rng.normal(size=(5, 8)), rng.normal(size=(5, 8)), rng.normal(size=(50, 8))
        >>> s_norm(cosine_scores(e, t, paired=True), e, t, c, top_k=10).shape
        (5,)
    """
    s = np.asarray(scores)
    if s.dtype == bool or not np.issubdtype(s.dtype, np.number) or s.ndim != 1:
        raise ValueError(f"scores must be a 1-D array of real scores (trials,), got shape "
                         f"{s.shape} dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (no NaN or inf)")
    e = _unit(_embeddings("enroll", enroll), "enroll")
    t = _unit(_embeddings("test", test), "test")
    c = _unit(_embeddings("cohort", cohort), "cohort")
    if not (e.shape[0] == t.shape[0] == s.shape[0]):
        raise ValueError(f"scores, enroll and test need one row per trial, got {s.shape[0]}, "
                         f"{e.shape[0]} and {t.shape[0]}")
    dims = {e.shape[1], t.shape[1], c.shape[1]}
    if len(dims) != 1:
        raise ValueError(f"enroll, test and cohort must have the same dimension, got "
                         f"{e.shape[1]}, {t.shape[1]} and {c.shape[1]}")
    if top_k is not None:
        top_k = _checks.positive_int("top_k", top_k)
        if top_k > c.shape[0]:
            raise ValueError(f"top_k={top_k} exceeds the cohort size {c.shape[0]}")
    eps = _checks.positive_float("eps", eps)
    mu_e, sd_e = _cohort_stats(e, c, top_k)
    mu_t, sd_t = _cohort_stats(t, c, top_k)
    return 0.5 * ((s - mu_e) / np.maximum(sd_e, eps) + (s - mu_t) / np.maximum(sd_t, eps))
