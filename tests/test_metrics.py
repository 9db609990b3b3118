"""tfaudio.metrics against scikit-learn (the oracle), hand-computed cases and bad input.

The pitch metrics' oracle is mir_eval's definition (``mir_eval.melody``: ``hz2cents``
with its 10 Hz base, ``raw_pitch_accuracy``, ``raw_chroma_accuracy``), written out below
(mir_eval is not a dependency).

Tolerance: 1e-12 absolute for every float (measured max difference: 2.2e-16 for the
classification report, 1.3e-15 for average precision).
"""

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from tfaudio import metrics

TOL = 1e-12


def _random_labels(seed, n, num_classes, used_classes, accuracy=0.6):
    """True labels from the first ``used_classes`` classes; predictions right ~60 %."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, used_classes, n)
    y_pred = np.where(rng.random(n) < accuracy, y_true, rng.integers(0, num_classes, n))
    return y_true, y_pred


# num_classes, classes present in y_true: (12, 10) leaves two classes without samples
# (zero recall and precision by zero division), (3, 3) small, (50, 50) many classes.
CLASS_CASES = [(2, 2, 0), (3, 3, 1), (12, 10, 2), (50, 50, 3)]


@pytest.mark.parametrize("num_classes,used,seed", CLASS_CASES)
def test_confusion_matrix_matches_sklearn(num_classes, used, seed):
    y_true, y_pred = _random_labels(seed, 400, num_classes, used)
    ours = metrics.confusion_matrix(y_true, y_pred, num_classes)
    ref = skm.confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))
    assert ours.dtype == np.int64 and ours.shape == (num_classes, num_classes)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("num_classes,used,seed", CLASS_CASES)
def test_classification_report_matches_sklearn(num_classes, used, seed):
    y_true, y_pred = _random_labels(seed, 400, num_classes, used)
    report = metrics.classification_report(y_true, y_pred, num_classes)
    labels = np.arange(num_classes)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                     average=None, zero_division=0)
    per_class = report["per_class"]
    np.testing.assert_allclose([c["precision"] for c in per_class], p, rtol=0, atol=TOL)
    np.testing.assert_allclose([c["recall"] for c in per_class], r, rtol=0, atol=TOL)
    np.testing.assert_allclose([c["f1"] for c in per_class], f, rtol=0, atol=TOL)
    assert [c["support"] for c in per_class] == s.tolist()
    assert [c["label"] for c in per_class] == [str(i) for i in range(num_classes)]
    for average in ("macro", "weighted"):
        ref = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                  average=average, zero_division=0)
        ours = report[average]
        np.testing.assert_allclose([ours["precision"], ours["recall"], ours["f1"]], ref[:3],
                                   rtol=0, atol=TOL)
    assert abs(report["accuracy"] - skm.accuracy_score(y_true, y_pred)) <= TOL
    assert report["support"] == 400
    json.dumps(report)  # plain Python types only


def test_classification_report_by_hand():
    # Class 0: 2 samples, both right. Class 1: 2 samples, one called 0. Class 2: no sample,
    # predicted once (precision 0, recall 0 by zero division). Class 3: never seen.
    y_true = [0, 0, 1, 1, 1]
    y_pred = [0, 0, 0, 1, 2]
    report = metrics.classification_report(y_true, y_pred, 4, labels=["a", "b", "c", "d"])
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 4),
                                  [[2, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    a, b, c, d = report["per_class"]
    assert a == {"label": "a", "precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    assert b == {"label": "b", "precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3}
    assert c == {"label": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert d == {"label": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["accuracy"] == 0.6
    assert report["macro"]["f1"] == pytest.approx((0.8 + 0.5) / 4, abs=TOL)
    assert report["weighted"]["recall"] == pytest.approx(0.6, abs=TOL)  # == accuracy


def test_inputs_may_be_lists_arrays_or_other_int_dtypes():
    y = np.array([0, 1, 2, 1], np.int32)
    np.testing.assert_array_equal(metrics.confusion_matrix(y, y.astype(np.uint8), 3),
                                  np.diag([1, 2, 1]))


def _random_multi_label(seed, n=300, num_classes=10, decimals=1):
    """Multi-hot labels with rare and common classes; scores rounded so many tie."""
    rng = np.random.default_rng(seed)
    prevalence = rng.uniform(0.02, 0.5, num_classes)
    y = (rng.random((n, num_classes)) < prevalence).astype(np.int64)
    y[0, :] = 1  # every class has at least one positive
    scores = np.clip(0.35 * y + rng.random((n, num_classes)) * 0.8, 0, 1).round(decimals)
    return y, scores


# 150 classes: more than one block of columns.
@pytest.mark.parametrize("seed,decimals,num_classes", [(0, 1, 10), (1, 2, 10), (2, 6, 150)])
def test_average_precision_matches_sklearn_with_ties(seed, decimals, num_classes):
    y, scores = _random_multi_label(seed, num_classes=num_classes, decimals=decimals)
    if decimals == 1:
        assert len(np.unique(scores[:, 0])) <= 11  # heavy ties
    ours = metrics.average_precision(y, scores)
    ref = skm.average_precision_score(y, scores, average=None)
    assert ours.shape == (num_classes,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
    assert abs(metrics.mean_average_precision(y, scores)
               - skm.average_precision_score(y, scores, average="macro")) <= TOL


def test_average_precision_of_one_column_matches_binary_sklearn():
    rng = np.random.default_rng(5)
    y = rng.random(1000) < 0.1
    scores = rng.normal(size=1000) + y
    ours = metrics.average_precision(y[:, None], scores[:, None])
    assert abs(ours[0] - skm.average_precision_score(y, scores)) <= TOL


def test_average_precision_by_hand():
    y = [[1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 0, 1]]
    scores = [[0.9, 0.1, 0.5], [0.8, 0.9, 0.5], [0.3, 0.2, 0.5], [0.1, 0.3, 0.5]]
    # Column 0: ranks 1 (+), 2 (-), 3 (+): AP = (1 + 2/3) / 2.
    # Column 1: its only positive ranks first: AP = 1.
    # Column 2: all scores tie: one threshold, precision 3/4 at recall 1: AP = 3/4.
    np.testing.assert_allclose(metrics.average_precision(y, scores), [5 / 6, 1.0, 0.75],
                               rtol=0, atol=TOL)


def test_average_precision_ignores_the_order_of_ties():
    y, scores = _random_multi_label(3, decimals=1)
    perm = np.random.default_rng(0).permutation(len(y))
    np.testing.assert_allclose(metrics.average_precision(y[perm], scores[perm]),
                               metrics.average_precision(y, scores), rtol=0, atol=TOL)


def test_class_without_positives_is_nan_and_skipped_by_map():
    y, scores = _random_multi_label(4)
    y[:, 3] = 0
    ap = metrics.average_precision(y.astype(bool), scores)
    assert np.isnan(ap[3]) and not np.any(np.isnan(np.delete(ap, 3)))
    keep = [c for c in range(10) if c != 3]
    ref = skm.average_precision_score(y[:, keep], scores[:, keep], average=None)
    np.testing.assert_allclose(ap[keep], ref, rtol=0, atol=TOL)
    assert abs(metrics.mean_average_precision(y, scores) - ref.mean()) <= TOL


BAD_INPUTS = [
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], 0), ValueError, r"num_classes=0"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], 2.0), TypeError, r"num_classes must be"),
    (lambda: metrics.confusion_matrix([0, 3], [0, 1], 3), ValueError,
     r"y_true holds class index 3, out of range: allowed \[0, 2\] for num_classes=3"),
    (lambda: metrics.confusion_matrix([0, 1], [-1, 1], 3), ValueError,
     r"y_pred holds class index -1"),
    (lambda: metrics.confusion_matrix([0, 1, 1], [0, 1], 3), ValueError,
     r"same number of samples, got 3 and 2"),
    (lambda: metrics.confusion_matrix([[0, 1]], [[0, 1]], 3), ValueError,
     r"y_true must be a 1-D array .*\(1, 2\)"),
    (lambda: metrics.confusion_matrix([0, 1], [0.2, 0.9], 3), TypeError,
     r"y_pred must hold integer class indices, got dtype float64 .*argmax"),
    (lambda: metrics.confusion_matrix([], [], 3), ValueError, r"y_true is empty"),
    (lambda: metrics.classification_report([0, 1], [0, 1], 2, labels=["a"]), ValueError,
     r"labels has 1 names but num_classes=2"),
    (lambda: metrics.classification_report([0, 1], [0, 1], 2, labels="ab"), TypeError,
     r"labels must be a sequence"),
    (lambda: metrics.normalize_confusion_matrix([[1, 2, 3]]), ValueError,
     r"matrix must be square .*\(1, 3\)"),
    (lambda: metrics.normalize_confusion_matrix([[1, -2], [0, 1]]), ValueError,
     r"non-negative"),
    (lambda: metrics.average_precision([1, 0], [0.5, 0.2]), ValueError,
     r"y_true must be a 2-D multi-hot array .*\(2,\)"),
    (lambda: metrics.average_precision([[1, 0]], [[0.5, 0.2, 0.1]]), ValueError,
     r"scores must have the shape of y_true \(1, 2\)"),
    (lambda: metrics.average_precision([[1, 2]], [[0.5, 0.2]]), ValueError,
     r"every value 0 or 1"),
    (lambda: metrics.average_precision([[1, 0]], [[np.nan, 0.2]]), ValueError,
     r"scores must be finite"),
    (lambda: metrics.average_precision([["a", "b"]], [[0.1, 0.2]]), TypeError,
     r"y_true must be numeric"),
    (lambda: metrics.average_precision(np.zeros((0, 3)), np.zeros((0, 3))), ValueError,
     r"y_true is empty"),
    (lambda: metrics.mean_average_precision([[0, 0]], [[0.5, 0.2]]), ValueError,
     r"no positive sample in any class"),
    (lambda: metrics.raw_pitch_accuracy([100.0, 0.0], [100.0]), ValueError,
     r"ref_hz and est_hz must have the same shape .*\(2,\) and \(1,\)"),
    (lambda: metrics.raw_pitch_accuracy([], []), ValueError, r"ref_hz is empty"),
    (lambda: metrics.raw_chroma_accuracy([100.0], [np.nan]), ValueError,
     r"est_hz must be finite"),
    (lambda: metrics.cents_error(["a"], [1.0]), TypeError, r"ref_hz must hold frequencies"),
    (lambda: metrics.raw_pitch_accuracy([100.0], [100.0], cents=0), ValueError,
     r"cents=0 is out of range"),
]


@pytest.mark.parametrize("call,exc,pattern", BAD_INPUTS, ids=[p for _, _, p in BAD_INPUTS])
def test_bad_inputs(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, tfaudio.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------------------
# Pitch: mir_eval's definitions as the oracle
# --------------------------------------------------------------------------------------


def _mir_eval_hz2cents(freq_hz, base_frequency=10.0):
    """mir_eval.melody.hz2cents: 1200 log2(|f| / base) where f != 0, else 0."""
    freq_hz = np.asarray(freq_hz, np.float64)
    cents = np.zeros(freq_hz.shape[0])
    nonzero = freq_hz != 0
    cents[nonzero] = 1200 * np.log2(np.abs(freq_hz[nonzero]) / base_frequency)
    return cents


def _mir_eval_accuracy(ref_hz, est_hz, cent_tolerance=50.0, chroma=False):
    """mir_eval.melody.raw_pitch_accuracy / raw_chroma_accuracy on aligned frames, with
    mir_eval's own voicing (ref_voicing = ref > 0) and cents (to_cent_voicing)."""
    ref_voicing = (np.asarray(ref_hz) > 0).astype(np.float64)
    ref_cent, est_cent = _mir_eval_hz2cents(ref_hz), _mir_eval_hz2cents(est_hz)
    if ref_voicing.sum() == 0:
        return 0.0
    nonzero_freqs = np.logical_and(est_cent != 0, ref_cent != 0)
    if sum(nonzero_freqs) == 0:
        return 0.0
    if chroma:
        diff = (ref_cent - est_cent)[nonzero_freqs]
        octave = 1200.0 * np.floor(diff / 1200.0 + 0.5)
        correct = np.abs(diff - octave) < cent_tolerance
    else:
        correct = np.abs(ref_cent - est_cent)[nonzero_freqs] < cent_tolerance
    return np.sum(ref_voicing[nonzero_freqs] * correct) / np.sum(ref_voicing)


def _pitch_pair(seed, n=500):
    """A reference with unvoiced frames (0 and negative) and an estimate with fine errors,
    octave errors (x2, /2, x4), 0s, negatives (mir_eval: unvoiced with a guess) and misses."""
    rng = np.random.default_rng(seed)
    ref = 55.0 * 2 ** rng.uniform(0, 5, n)
    ref[rng.random(n) < 0.25] = 0.0
    ref[rng.random(n) < 0.05] *= -1
    cents = rng.normal(0, 40, n)
    octave = rng.choice([0, 1, -1, 2], n, p=[0.7, 0.15, 0.1, 0.05])
    est = np.abs(ref) * 2 ** (cents / 1200 + octave)
    est[ref == 0] = 55.0 * 2 ** rng.uniform(0, 5, int((ref == 0).sum()))
    est[rng.random(n) < 0.1] = 0.0
    est[rng.random(n) < 0.05] *= -1
    est[rng.random(n) < 0.05] = rng.uniform(30, 2000, 1)
    return ref, est


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cents", [50.0, 25.0, 100.0])
def test_pitch_accuracy_matches_mir_eval(seed, cents):
    ref, est = _pitch_pair(seed)
    rpa = metrics.raw_pitch_accuracy(ref, est, cents=cents)
    rca = metrics.raw_chroma_accuracy(ref, est, cents=cents)
    assert abs(rpa - _mir_eval_accuracy(ref, est, cents)) <= TOL
    assert abs(rca - _mir_eval_accuracy(ref, est, cents, chroma=True)) <= TOL
    assert 0.2 < rpa < rca < 1.0  # the cases are not degenerate
    # frames on any axes are pooled: (batch, frames) gives the same numbers
    assert metrics.raw_pitch_accuracy(ref.reshape(5, 100), est.reshape(5, 100),
                                      cents=cents) == rpa
    errors = metrics.cents_error(ref, est)
    both = (ref > 0) & (est != 0)
    np.testing.assert_allclose(errors[both], (_mir_eval_hz2cents(est) -
                                              _mir_eval_hz2cents(ref))[both], rtol=0,
                               atol=1e-9)
    assert np.isnan(errors[~both]).all()


def test_pitch_accuracy_by_hand():
    ref = [220.0, 220.0, 220.0, 220.0, 220.0, 0.0, 220.0, -220.0]
    up = 2 ** (49.9 / 1200)
    est = [220.0 * up, 220.0 * 2 ** (50.1 / 1200), 440.0 * up, 110.0, 0.0, 220.0,
           -220.0, 220.0]
    # voiced reference frames: 0-4 and 6. Within 50 cents: 0 and 6 (a negative estimate
    # counts by its magnitude); with octaves folded also 2 (an octave + 49.9) and 3;
    # frame 1 is 50.1 cents off, frame 4 has no estimate.
    assert metrics.raw_pitch_accuracy(ref, est) == pytest.approx(2 / 6, abs=1e-15)
    assert metrics.raw_chroma_accuracy(ref, est) == pytest.approx(4 / 6, abs=1e-15)
    assert metrics.raw_pitch_accuracy(ref, est, cents=51) == pytest.approx(3 / 6, abs=1e-15)
    np.testing.assert_allclose(metrics.cents_error(ref, est)[:4],
                               [49.9, 50.1, 1249.9, -1200.0], atol=1e-9)
    assert abs(_mir_eval_accuracy(ref, est) - 2 / 6) <= TOL


def test_pitch_accuracy_without_voiced_reference_is_nan():
    # mir_eval returns 0 here; NaN keeps a mean over clips honest (np.nanmean)
    assert np.isnan(metrics.raw_pitch_accuracy([0.0, 0.0], [100.0, 0.0]))
    assert np.isnan(metrics.raw_chroma_accuracy(np.zeros((2, 3)), np.ones((2, 3))))
    assert metrics.raw_pitch_accuracy([100.0, 0.0], [0.0, 100.0]) == 0.0
