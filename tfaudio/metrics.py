"""Evaluation math as plain NumPy functions (no Keras state, no TensorFlow import).

Sections:

- Classification (single-label): :func:`confusion_matrix`,
  :func:`normalize_confusion_matrix`, :func:`classification_report`.
- Multi-label (AudioSet style): :func:`average_precision`, :func:`mean_average_precision`.
- Pitch (melody extraction, mir_eval's definitions): :func:`cents_error`,
  :func:`raw_pitch_accuracy`, :func:`raw_chroma_accuracy`.
- Speaker verification (defined in :mod:`tfaudio.metrics_speaker`, importable from here):
  :func:`det_curve`, :func:`eer`, :func:`min_dcf`, :func:`verification_report`,
  :func:`cosine_scores`, :func:`s_norm`.
- Source separation (defined in :mod:`tfaudio.metrics_separation`, importable from here):
  :func:`si_sdr`, :func:`sdr`, :func:`si_sdr_improvement`, :func:`sdr_improvement`,
  :func:`permutation_invariant`, :func:`pit_si_sdr`, :func:`pit_sdr`.

Inputs may be lists, NumPy arrays or eager tensors (anything ``np.asarray`` takes). The
results equal scikit-learn's (the oracle in ``tests/test_metrics.py``) to 1e-12; the
pitch metrics equal mir_eval's formulas (written out in the tests) to 1e-12.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfaudio import _checks
from tfaudio.metrics_separation import (
    permutation_invariant,
    pit_sdr,
    pit_si_sdr,
    sdr,
    sdr_improvement,
    si_sdr,
    si_sdr_improvement,
)
from tfaudio.metrics_speaker import (
    cosine_scores,
    det_curve,
    eer,
    min_dcf,
    s_norm,
    verification_report,
)

__all__ = [
    "confusion_matrix",
    "normalize_confusion_matrix",
    "classification_report",
    "average_precision",
    "mean_average_precision",
    "cents_error",
    "raw_pitch_accuracy",
    "raw_chroma_accuracy",
    "det_curve",
    "eer",
    "min_dcf",
    "verification_report",
    "cosine_scores",
    "s_norm",
    "si_sdr",
    "sdr",
    "si_sdr_improvement",
    "sdr_improvement",
    "permutation_invariant",
    "pit_si_sdr",
    "pit_sdr",
]


def _class_indices(name: str, values: Any, num_classes: int) -> np.ndarray:
    """``values`` as a 1-D int64 array of class indices in ``[0, num_classes)``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices (samples,), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer class indices, got dtype {arr.dtype}"
            " (for scores or probabilities, pass argmax(axis=-1))"
        )
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"{name} holds class index {bad}, out of range: allowed [0, {num_classes - 1}]"
            f" for num_classes={num_classes}"
        )
    return arr.astype(np.int64)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0.0 where ``den == 0`` (scikit-learn's ``zero_division=0``)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------------------
# Classification (single-label)
# --------------------------------------------------------------------------------------


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Args:
        y_true: true class indices, shape ``(samples,)``, integers in ``[0, num_classes)``.
        y_pred: predicted class indices, same shape and range.
        num_classes: number of classes; classes absent from both arrays get zero rows and
            columns.

    Returns:
        int64 array ``(num_classes, num_classes)``: rows are the true class, columns the
        predicted class (``sklearn.metrics.confusion_matrix(..., labels=range(num_classes))``).

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    t = _class_indices("y_true", y_true, num_classes)
    p = _class_indices("y_pred", y_pred, num_classes)
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same number of samples, got {t.shape[0]} and {p.shape[0]}"
        )
    flat = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def normalize_confusion_matrix(matrix: Any) -> np.ndarray:
    """Divides each row of a confusion matrix by its sum: cell ``[i, j]`` becomes the
    fraction of class ``i`` predicted as ``j``, and the diagonal is the per-class recall.

    Args:
        matrix: non-negative counts ``(num_classes, num_classes)``, rows = true class.

    Returns:
        float64 array of the same shape; each row sums to 1, except rows of classes with
        no samples, which stay all zero.

    Example:
        >>> normalize_confusion_matrix([[3, 1], [0, 0]]).tolist()
        [[0.75, 0.25], [0.0, 0.0]]
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square (num_classes, num_classes), got shape {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("matrix must hold finite, non-negative counts")
    return _safe_divide(m, m.sum(axis=1, keepdims=True))


def classification_report(
    y_true: Any,
    y_pred: Any,
    num_classes: int,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Accuracy and per-class precision, recall, F1 and support, with macro and weighted
    averages (``sklearn.metrics.precision_recall_fscore_support`` with
    ``labels=range(num_classes), zero_division=0``).

    Zero division gives 0.0: a class never predicted has precision 0, a class with no
    samples has recall 0, and F1 is 0 when precision + recall is 0. The macro average is
    the plain mean over all ``num_classes`` classes, classes without samples included (they
    count as 0); the weighted average weights each class by its support. The macro F1 is
    the mean of the per-class F1 scores, not the F1 of the macro precision and recall.

    Args:
        y_true: true class indices, shape ``(samples,)``, integers in ``[0, num_classes)``.
        y_pred: predicted class indices, same shape and range.
        num_classes: number of classes.
        labels: one name per class; default ``"0"``, ``"1"``, ...

    Returns:
        A JSON-ready dict::

            {"accuracy": float, "support": int (samples),
             "per_class": [{"label": str, "precision": float, "recall": float,
                            "f1": float, "support": int}, ...],   # num_classes entries
             "macro": {"precision": float, "recall": float, "f1": float},
             "weighted": {"precision": float, "recall": float, "f1": float}}

    Example:
        >>> r = classification_report([0, 0, 1, 1], [0, 1, 1, 1], 2, labels=["cat", "dog"])
        >>> r["accuracy"], r["per_class"][1]["precision"], r["per_class"][1]["label"]
        (0.75, 0.6666666666666666, 'dog')
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    if labels is None:
        names = [str(i) for i in range(num_classes)]
    else:
        if isinstance(labels, str):
            raise TypeError("labels must be a sequence of class names, got a single string")
        names = [str(name) for name in labels]
        if len(names) != num_classes:
            raise ValueError(
                f"labels has {len(names)} names but num_classes={num_classes}; they must be equal"
            )
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support)
    f1 = _safe_divide(2.0 * tp, support + predicted)  # == 2PR / (P + R), 0 when both are 0
    total = int(support.sum())
    weights = support / total

    def averages(w: np.ndarray) -> dict[str, float]:
        return {"precision": float(np.sum(w * precision)), "recall": float(np.sum(w * recall)),
                "f1": float(np.sum(w * f1))}

    return {
        "accuracy": float(tp.sum() / total),
        "support": total,
        "per_class": [
            {"label": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
             "f1": float(f1[i]), "support": int(support[i])}
            for i in range(num_classes)
        ],
        "macro": averages(np.full(num_classes, 1.0 / num_classes)),
        "weighted": averages(weights),
    }


# --------------------------------------------------------------------------------------
# Multi-label (AudioSet style)
# --------------------------------------------------------------------------------------


def _multi_label_inputs(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true)
    s = np.asarray(scores)
    if t.ndim != 2:
        raise ValueError(
            f"y_true must be a 2-D multi-hot array (samples, num_classes), got shape {t.shape}"
        )
    if s.shape != t.shape:
        raise ValueError(
            f"scores must have the shape of y_true {t.shape} (samples, num_classes), got {s.shape}"
        )
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"y_true is empty (shape {t.shape}): it needs samples and classes")
    if not (t.dtype == bool or np.issubdtype(t.dtype, np.number)):
        raise TypeError(f"y_true must be numeric or boolean 0/1 values, got dtype {t.dtype}")
    t = t.astype(np.float64)
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("y_true must be multi-hot: every value 0 or 1")
    if s.dtype == bool or not np.issubdtype(s.dtype, np.number):
        raise TypeError(f"scores must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (no NaN or inf)")
    return t, s


def average_precision(y_true: Any, scores: Any) -> np.ndarray:
    """Average precision of each class (``sklearn.metrics.average_precision_score`` with
    ``average=None``): the step-wise area under the precision-recall curve,
    ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, without
    interpolation. Tied scores form one threshold, so AP does not depend on the order of
    tied samples.

    A class with no positive sample has no recall; its AP is NaN (scikit-learn 1.9 warns
    and returns 0.0, which would pull a mean down). :func:`mean_average_precision` skips
    such classes.

    Args:
        y_true: multi-hot labels ``(samples, num_classes)``, 0/1 or bool.
        scores: real-valued scores of the same shape (probabilities, logits: any monotonic
            score gives the same AP); higher means more likely positive.

    Returns:
        float64 array ``(num_classes,)``.

    Example:
        >>> y = [[1, 0], [0, 1], [1, 1]]
        >>> average_precision(y, [[0.9, 0.2], [0.8, 0.6], [0.3, 0.7]]).round(4).tolist()
        [0.8333, 1.0]
    """
    t, s = _multi_label_inputs(y_true, scores)
    # Columns in blocks bound the memory of the (samples, block) temporaries.
    block = 64
    return np.concatenate([_average_precision_columns(t[:, i : i + block], s[:, i : i + block])
                           for i in range(0, t.shape[1], block)])


def _average_precision_columns(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    n = t.shape[0]
    order = np.argsort(-s, axis=0, kind="stable")
    s = np.take_along_axis(s, order, axis=0)
    t = np.take_along_axis(t, order, axis=0)
    precision = np.cumsum(t, axis=0) / np.arange(1, n + 1, dtype=np.float64)[:, None]
    # A threshold is the last sample of each run of tied scores; every sample takes the
    # precision at the end of its run, and each positive adds 1 / positives of recall.
    run_end = np.ones_like(s, dtype=bool)
    run_end[:-1] = s[:-1] != s[1:]
    index = np.where(run_end, np.arange(n)[:, None], n)
    end = np.minimum.accumulate(index[::-1], axis=0)[::-1]
    precision_at_end = np.take_along_axis(precision, end, axis=0)
    positives = t.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.sum(t * precision_at_end, axis=0) / positives
    return np.where(positives > 0, ap, np.nan)


def mean_average_precision(y_true: Any, scores: Any) -> float:
    """Mean of :func:`average_precision` over the classes with at least one positive
    sample (AudioSet's mAP).

    Args:
        y_true: multi-hot labels ``(samples, num_classes)``, 0/1 or bool.
        scores: real-valued scores of the same shape.

    Returns:
        The mAP as a float.

    Raises:
        ValueError: if no class has a positive sample (mAP is undefined).

    Example:
        >>> y = [[1, 0], [0, 1], [1, 1]]
        >>> round(mean_average_precision(y, [[0.9, 0.2], [0.8, 0.6], [0.3, 0.7]]), 4)
        0.9167
    """
    ap = average_precision(y_true, scores)
    valid = ~np.isnan(ap)
    if not np.any(valid):
        raise ValueError("y_true has no positive sample in any class: mAP is undefined")
    return float(np.mean(ap[valid]))


# --------------------------------------------------------------------------------------
# Pitch (melody extraction)
# --------------------------------------------------------------------------------------


def _pitch_inputs(ref_hz: Any, est_hz: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref_hz)
    est = np.asarray(est_hz)
    for name, arr in (("ref_hz", ref), ("est_hz", est)):
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must hold frequencies in Hz (real numbers), got dtype {arr.dtype}")
    if ref.shape != est.shape:
        raise ValueError(
            f"ref_hz and est_hz must have the same shape (one value per frame), got {ref.shape}"
            f" and {est.shape}"
        )
    if ref.size == 0:
        raise ValueError("ref_hz is empty: it needs at least one frame")
    ref = ref.astype(np.float64)
    est = est.astype(np.float64)
    for name, arr in (("ref_hz", ref), ("est_hz", est)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf); use 0 for unvoiced frames")
    return ref, est


def _cents_diff(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(voiced, d)``: the frames where the reference is voiced, and for those where the
    estimate is non-zero too ``d = 1200 * log2(|est| / ref)`` (NaN elsewhere)."""
    voiced = ref > 0
    both = voiced & (est != 0)
    d = np.full(ref.shape, np.nan)
    d[both] = 1200.0 * np.log2(np.abs(est[both]) / ref[both])
    return voiced, d


def cents_error(ref_hz: Any, est_hz: Any) -> np.ndarray:
    """Signed pitch error per frame in cents, ``1200 * log2(|est| / ref)``.

    Frames where the reference is unvoiced (``ref <= 0``) or the estimate is 0 (no
    pitch) have no error: NaN. A negative estimate is mir_eval's "unvoiced, but this
    would be the pitch": its magnitude is compared, as in mir_eval.

    Args:
        ref_hz: reference f0 in Hz, any shape (e.g. ``(frames,)`` or ``(batch, frames)``);
            ``<= 0`` = unvoiced.
        est_hz: estimated f0 in Hz, the same shape.

    Returns:
        float64 array of the inputs' shape: cents (positive = estimate too high), NaN
        where undefined. ``np.nanmean(np.abs(...))`` is the mean absolute error.

    Example:
        >>> cents_error([100.0, 100.0, 0.0], [200.0, 0.0, 100.0]).tolist()
        [1200.0, nan, nan]
    """
    ref, est = _pitch_inputs(ref_hz, est_hz)
    return _cents_diff(ref, est)[1]


def _pitch_accuracy(ref_hz: Any, est_hz: Any, cents: float, chroma: bool) -> float:
    cents = _checks.positive_float("cents", cents)
    ref, est = _pitch_inputs(ref_hz, est_hz)
    voiced, d = _cents_diff(ref, est)
    n = int(np.count_nonzero(voiced))
    if n == 0:
        return float("nan")
    d = d[~np.isnan(d)]  # voiced reference and a non-zero estimate
    if chroma:
        d = d - 1200.0 * np.floor(d / 1200.0 + 0.5)  # fold to the nearest octave
    return float(np.count_nonzero(np.abs(d) < cents) / n)


def raw_pitch_accuracy(ref_hz: Any, est_hz: Any, cents: float = 50.0) -> float:
    """Raw pitch accuracy (RPA): the fraction of voiced reference frames whose estimate
    is within ``cents`` of the reference (mir_eval's ``raw_pitch_accuracy``).

    ``RPA = #{ref > 0, est != 0, |1200 log2(|est| / ref)| < cents} / #{ref > 0}``,
    strictly below the tolerance, as mir_eval. Frames where the estimate is 0 count as
    wrong; the estimate's voicing is not judged otherwise (a negative estimate is
    compared by its magnitude). Frames over every axis are pooled. When no reference
    frame is voiced the RPA is undefined: NaN (mir_eval returns 0, which would pull a
    mean over clips down; use ``np.nanmean``).

    Args:
        ref_hz: reference f0 in Hz, any shape; ``<= 0`` = unvoiced.
        est_hz: estimated f0 in Hz, the same shape; 0 = no estimate.
        cents: tolerance in cents (default 50: a quarter tone).

    Returns:
        The RPA in [0, 1], or NaN.

    Example:
        >>> raw_pitch_accuracy([100.0, 100.0, 100.0, 0.0], [101.0, 200.0, 0.0, 300.0])
        0.3333333333333333
    """
    return _pitch_accuracy(ref_hz, est_hz, cents, chroma=False)


def raw_chroma_accuracy(ref_hz: Any, est_hz: Any, cents: float = 50.0) -> float:
    """Raw chroma accuracy (RCA): :func:`raw_pitch_accuracy` with octave errors forgiven
    (mir_eval's ``raw_chroma_accuracy``).

    The cents difference ``d`` is folded to the nearest octave,
    ``d - 1200 * floor(d / 1200 + 0.5)``, before it is compared with ``cents``.
    ``RCA >= RPA`` always.

    Args:
        ref_hz: reference f0 in Hz, any shape; ``<= 0`` = unvoiced.
        est_hz: estimated f0 in Hz, the same shape; 0 = no estimate.
        cents: tolerance in cents (default 50).

    Returns:
        The RCA in [0, 1], or NaN when no reference frame is voiced.

    Example:
        >>> raw_chroma_accuracy([100.0, 100.0, 100.0, 0.0], [101.0, 200.0, 0.0, 300.0])
        0.6666666666666666
    """
    return _pitch_accuracy(ref_hz, est_hz, cents, chroma=True)
