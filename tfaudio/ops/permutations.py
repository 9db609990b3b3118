"""Speaker permutations: scoring every assignment of estimated to reference speakers.

Permutation-invariant training (Yu, Kolbaek, Tan and Jensen, ICASSP 2017) and the
alignment of separated outputs (windows of a long input, delayed copies of one input)
both score each of the ``speakers!`` assignments from a pairwise matrix
``pairwise[b, i, j]`` (reference ``i`` against estimate ``j``: an SI-SDR, a correlation)
and keep the best; :func:`correlation_order` / :func:`align_speakers` do it for
correlations of waveforms. NumPy's float64 counterpart for evaluation is
:func:`tfaudio.metrics.permutation_invariant`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import tensorflow as tf


def _speakers(pairwise: tf.Tensor) -> int:
    shape = pairwise.shape
    if shape.rank != 3 or shape[1] is None or shape[1] != shape[2]:
        raise ValueError(f"pairwise must be (batch, speakers, speakers) with a static "
                         f"speakers axis, got shape {tuple(shape)}")
    return int(shape[1])


def permutation_table(speakers: int) -> np.ndarray:
    """Every permutation of ``range(speakers)``, in ``itertools`` order: int32
    ``(speakers!, speakers)``."""
    return np.array(list(itertools.permutations(range(speakers))), np.int32)


def permutation_scores(pairwise: Any) -> tf.Tensor:
    """``scores[b, p] = sum_i pairwise[b, i, table[p, i]]`` over every permutation ``p`` of
    :func:`permutation_table` (a one-hot contraction: differentiable in ``pairwise``).

    Args:
        pairwise: float ``(batch, speakers, speakers)``, reference ``i`` against estimate
            ``j``.

    Returns:
        ``(batch, speakers!)`` in ``pairwise``'s dtype.

    Example:
        >>> permutation_scores([[[1.0, 5.0], [2.0, 3.0]]]).numpy().tolist()
        [[4.0, 7.0]]
    """
    pairwise = tf.convert_to_tensor(pairwise)
    speakers = _speakers(pairwise)
    table = permutation_table(speakers)
    onehot = np.zeros((len(table), speakers, speakers), np.float32)
    for p, perm in enumerate(table):
        onehot[p, np.arange(speakers), perm] = 1.0
    return tf.einsum("bij,pij->bp", pairwise, tf.constant(onehot, pairwise.dtype))


def best_permutation(pairwise: Any) -> tf.Tensor:
    """The assignment with the largest :func:`permutation_scores`: int32 ``(batch,
    speakers)``, estimate ``perm[b, i]`` goes with reference ``i``.

    Example:
        >>> best_permutation([[[1.0, 5.0], [2.0, 3.0]]]).numpy().tolist()
        [[1, 0]]
    """
    pairwise = tf.convert_to_tensor(pairwise)
    table = tf.constant(permutation_table(_speakers(pairwise)))
    return tf.gather(table, tf.argmax(permutation_scores(pairwise), axis=-1,
                                      output_type=tf.int32))


def correlation_order(reference: Any, estimate: Any) -> tf.Tensor:
    """The speaker order of ``estimate`` that best matches ``reference``: of all
    ``speakers!`` orders, the one with the largest sum of correlations (inner products
    over time) between matched speakers (:func:`best_permutation` of the correlations).

    Args:
        reference, estimate: float ``(batch, speakers, time)``, the same shape.

    Returns:
        int32 ``(batch, speakers)``: estimate ``order[b, i]`` goes with reference ``i``.

    Example:
        >>> r = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
        >>> correlation_order(r, r[:, ::-1]).numpy().tolist()
        [[1, 0]]
    """
    corr = tf.einsum("bit,bjt->bij", tf.cast(reference, tf.float32),
                     tf.cast(estimate, tf.float32))
    return best_permutation(corr)


def align_speakers(reference: Any, estimate: Any) -> tf.Tensor:
    """``estimate`` with its speakers in :func:`correlation_order` (the order that best
    matches ``reference``).

    Args:
        reference, estimate: float ``(batch, speakers, time)``, the same shape.

    Returns:
        ``estimate`` reordered, ``(batch, speakers, time)``, in its dtype.

    Example:
        >>> r = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
        >>> align_speakers(r, r[:, ::-1]).numpy().tolist()
        [[[1.0, 0.0], [0.0, 1.0]]]
    """
    estimate = tf.convert_to_tensor(estimate)
    return tf.gather(estimate, correlation_order(reference, estimate), batch_dims=1)
