"""Source-separation metrics as plain NumPy functions (float64): SI-SDR, SDR, PIT.

- :func:`si_sdr` - scale-invariant signal-to-distortion ratio (Le Roux, Wisdom, Erdogan &
  Hershey 2019, "SDR - half-baked or well done?"): with ``alpha = <e, r> / <r, r>``,
  ``SI-SDR = 10 log10(|alpha r|^2 / |alpha r - e|^2)``, zero-mean signals by default.
- :func:`sdr` - BSS-eval SDR (Vincent, Gribonval & Fevotte 2006) with a time-invariant
  distortion filter of ``filter_length`` taps (512, as ``mir_eval.separation.
  bss_eval_sources`` and ``fast_bss_eval.sdr``): the estimate is projected, by least
  squares, onto the reference's ``filter_length`` delayed copies (zero padded, over
  ``time + filter_length - 1`` samples); ``SDR = 10 log10(|P e|^2 / |e - P e|^2)``.
  The oracle in ``tests/test_separation_metrics.py`` is ``fast_bss_eval.sdr`` (and
  mir_eval's ``bss_eval_sources`` for one source, which computes the same projection).
- :func:`si_sdr_improvement`, :func:`sdr_improvement` - the metric of the estimate minus
  the metric of the unprocessed mixture.
- :func:`pit_si_sdr`, :func:`pit_sdr`, :func:`permutation_invariant` - over speakers
  ``(batch, speakers, time)``: the assignment of estimates to references that maximises
  the mean metric, returned with the metric per reference.

Every function takes ``(..., time)`` arrays (lists, NumPy or eager tensors) and returns
``(...)`` float64. A silent (all-zero) reference is a ValueError (the ratio is undefined);
a silent estimate scores ``-inf``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from tfaudio import _checks

__all__ = [
    "si_sdr",
    "sdr",
    "si_sdr_improvement",
    "sdr_improvement",
    "permutation_invariant",
    "pit_si_sdr",
    "pit_sdr",
]


def _pair(reference: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    if r.ndim < 1:
        raise ValueError(f"reference must have a time axis (..., time), got shape {r.shape}")
    if r.shape != e.shape:
        raise ValueError(
            f"reference and estimate must have the same shape (..., time), got {r.shape} "
            f"and {e.shape}"
        )
    if r.shape[-1] == 0:
        raise ValueError("reference is empty: the time axis needs at least one sample")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(e))):
        raise ValueError("reference and estimate must be finite (no NaN or inf)")
    return r, e


def _centre(r: np.ndarray, e: np.ndarray, zero_mean: bool) -> tuple[np.ndarray, np.ndarray]:
    """Removes the means if asked, then rejects a silent (all-zero) reference."""
    if zero_mean:
        r = r - r.mean(axis=-1, keepdims=True)
        e = e - e.mean(axis=-1, keepdims=True)
    silent = ~np.any(r != 0, axis=-1)
    if np.any(silent):
        where = tuple(int(i) for i in np.argwhere(silent)[0])
        what = "constant (zero after removing its mean)" if zero_mean else "all zeros"
        raise ValueError(
            f"reference{list(where) if where else ''} is silent ({what}): the ratio is "
            "undefined"
        )
    return r, e


def _ratio_db(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``10 log10(signal / noise)``; a zero signal is -inf, a zero noise +inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * (np.log10(signal) - np.log10(noise))
    out = np.where(signal <= 0, -np.inf, out)
    return np.asarray(out, dtype=np.float64)


def si_sdr(reference: Any, estimate: Any, zero_mean: bool = True) -> np.ndarray:
    """Scale-invariant SDR in dB (Le Roux et al. 2019).

    Args:
        reference: the clean source ``(..., time)``.
        estimate: the estimate, the same shape.
        zero_mean: remove each signal's mean first (as Le Roux et al. do).

    Returns:
        float64 ``(...)``.

    Example:
        >>> r = np.sin(np.arange(1000) / 10.0)
        >>> round(float(si_sdr(r, 3.0 * r + 0.01 * np.cos(np.arange(1000)))), 1)  # doctest: +SKIP
    """
    r, e = _centre(*_pair(reference, estimate), zero_mean)
    alpha = np.sum(e * r, axis=-1, keepdims=True) / np.sum(r * r, axis=-1, keepdims=True)
    target = alpha * r
    return _ratio_db(np.sum(target * target, axis=-1), np.sum((e - target) ** 2, axis=-1))


def _sdr_one(r: np.ndarray, e: np.ndarray, filter_length: int) -> float:
    """BSS-eval SDR of one pair (1-D float64)."""
    n = r.shape[0] + filter_length - 1
    size = 1 << (n - 1).bit_length()
    fr = np.fft.rfft(r, size)
    fe = np.fft.rfft(e, size)
    acf = np.fft.irfft(fr.conj() * fr, size)[:filter_length]
    xcorr = np.fft.irfft(fr.conj() * fe, size)[:filter_length]
    idx = np.arange(filter_length)
    gram = acf[np.abs(idx[:, None] - idx[None, :])]
    try:
        h = np.linalg.solve(gram, xcorr)
    except np.linalg.LinAlgError:
        h = np.linalg.lstsq(gram, xcorr, rcond=None)[0]
    projected = float(xcorr @ h)
    total = float(e @ e)
    return float(_ratio_db(np.float64(projected), np.float64(max(total - projected, 0.0))))


def sdr(reference: Any, estimate: Any, filter_length: int = 512, zero_mean: bool = False
        ) -> np.ndarray:
    """BSS-eval signal-to-distortion ratio in dB with a ``filter_length``-tap distortion filter.

    Equals ``fast_bss_eval.sdr`` (its default 512 taps, ``zero_mean=False``) and the SDR of
    ``mir_eval.separation.bss_eval_sources`` for a matched pair: the part of the estimate
    explained by the reference filtered with any ``filter_length``-tap FIR filter counts as
    signal, the rest as distortion (Vincent et al. 2006).

    Args:
        reference: the clean source ``(..., time)``.
        estimate: the estimate, the same shape.
        filter_length: taps of the distortion filter (>= 1; 1 = a gain only).
        zero_mean: remove each signal's mean first.

    Returns:
        float64 ``(...)``.
    """
    filter_length = _checks.positive_int("filter_length", filter_length)
    r, e = _centre(*_pair(reference, estimate), zero_mean)
    lead = r.shape[:-1]
    rf = r.reshape(-1, r.shape[-1])
    ef = e.reshape(-1, e.shape[-1])
    out = np.array([_sdr_one(a, b, filter_length) for a, b in zip(rf, ef, strict=True)])
    return out.reshape(lead)


def _mixture_like(reference: np.ndarray, mixture: Any) -> np.ndarray:
    m = np.asarray(mixture, dtype=np.float64)
    if m.ndim == reference.ndim - 1 and reference.ndim >= 2:
        m = np.expand_dims(m, -2)  # (batch, time) against (batch, speakers, time)
    try:
        return np.broadcast_to(m, reference.shape)
    except ValueError:
        raise ValueError(
            f"mixture of shape {np.shape(mixture)} does not match reference of shape "
            f"{reference.shape} (it may omit the speakers axis)"
        ) from None


def si_sdr_improvement(reference: Any, estimate: Any, mixture: Any, zero_mean: bool = True
                       ) -> np.ndarray:
    """``si_sdr(reference, estimate) - si_sdr(reference, mixture)`` in dB (SI-SDRi).

    Args:
        reference, estimate: ``(..., time)``.
        mixture: the input mixture, the same shape, or without the speakers axis
            (``(batch, time)`` for ``(batch, speakers, time)`` references).
    """
    r = np.asarray(reference, dtype=np.float64)
    m = _mixture_like(r, mixture)
    return si_sdr(r, estimate, zero_mean) - si_sdr(r, m, zero_mean)


def sdr_improvement(reference: Any, estimate: Any, mixture: Any, filter_length: int = 512,
                    zero_mean: bool = False) -> np.ndarray:
    """``sdr(reference, estimate) - sdr(reference, mixture)`` in dB (SDRi); see
    :func:`si_sdr_improvement` for the shapes."""
    r = np.asarray(reference, dtype=np.float64)
    m = _mixture_like(r, mixture)
    return (sdr(r, estimate, filter_length, zero_mean)
            - sdr(r, m, filter_length, zero_mean))


def permutation_invariant(metric: Callable[[np.ndarray, np.ndarray], np.ndarray],
                          reference: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    """Best assignment of estimated to reference speakers under ``metric`` (higher is better).

    Every (reference, estimate) pair is scored once; all ``speakers!`` permutations are
    searched (fine for the usual 2-5 speakers).

    Args:
        metric: ``metric(reference, estimate) -> (...)`` on ``(..., time)`` arrays, e.g.
            :func:`si_sdr`.
        reference: ``(batch, speakers, time)``.
        estimate: ``(batch, speakers, time)``.

    Returns:
        ``(values, perm)``: float64 ``(batch, speakers)`` with ``values[b, i] =
        metric(reference[b, i], estimate[b, perm[b, i]])``, and int64 ``perm`` maximising
        the mean over speakers.
    """
    r = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    if r.ndim != 3:
        raise ValueError(f"reference must be (batch, speakers, time), got shape {r.shape}")
    if r.shape != e.shape:
        raise ValueError(
            f"reference and estimate must have the same shape (batch, speakers, time), got "
            f"{r.shape} and {e.shape}"
        )
    batch, speakers, time = r.shape
    # pair[b, i, j] = metric(reference[b, i], estimate[b, j])
    pair = metric(np.broadcast_to(r[:, :, None], (batch, speakers, speakers, time)),
                  np.broadcast_to(e[:, None, :], (batch, speakers, speakers, time)))
    perms = np.array(list(itertools.permutations(range(speakers))), dtype=np.int64)
    rows = np.arange(speakers)
    scores = pair[:, rows[None, :], perms].mean(axis=-1)  # (batch, n_perms)
    best = np.argmax(scores, axis=-1)
    perm = perms[best]
    values = np.take_along_axis(pair, perm[:, :, None], axis=-1)[..., 0]
    return values, perm


def pit_si_sdr(reference: Any, estimate: Any, zero_mean: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
    """Permutation-invariant :func:`si_sdr` over speakers; see :func:`permutation_invariant`."""
    return permutation_invariant(lambda a, b: si_sdr(a, b, zero_mean), reference, estimate)


def pit_sdr(reference: Any, estimate: Any, filter_length: int = 512, zero_mean: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Permutation-invariant :func:`sdr` over speakers; see :func:`permutation_invariant`."""
    filter_length = _checks.positive_int("filter_length", filter_length)
    return permutation_invariant(lambda a, b: sdr(a, b, filter_length, zero_mean), reference,
                                 estimate)
