"""Separation ops: power-law compression, real/imag channels, ideal time-frequency masks.

Layouts: a complex STFT is ``(..., frames, bins)`` (complex64, :func:`tfaudio.ops.stft`);
its *channels* form is float32 ``(..., frames, bins, 2)`` with the real part at index 0
and the imaginary part at index 1 of the last axis (:func:`complex_to_channels`). Masks
returned here are channels (real tensors), so they can be a network's target or output.

Sources of the definitions:

- Power-law compression ``|S|^p e^{j angle(S)}`` with ``p = 0.3``, applied to the input
  and output spectrograms, and the L2 loss between compressed clean and enhanced
  spectrograms: Ephrat et al. 2018, "Looking to Listen at the Cocktail Party"
  (arXiv:1804.03619).
- Complex ratio mask (cRM) ``M = S / Y`` and its bounded compression of the real and
  imaginary parts ``K (1 - e^{-C M}) / (1 + e^{-C M})`` (= ``K tanh(C M / 2)``) with
  ``K = 10``, ``C = 0.1``, and its inverse ``-(1/C) log((K - O) / (K + O))``:
  Williamson, Wang & Wang 2016, "Complex ratio masking for monaural speech separation"
  (IEEE/ACM TASLP 24(3)).
- Ideal ratio mask ``(|S|^2 / (|S|^2 + |N|^2))^beta`` (beta = 0.5) and ideal binary mask
  (local SNR above a criterion ``lc_db``): Wang, Narayanan & Wang 2014, "On training
  targets for supervised speech separation".

Where compression sits relative to the masks (what tfaudio implements): the masks are
defined on the *linear* STFT (``S / Y`` of the uncompressed spectrograms) and applied to
the uncompressed mixture STFT, so ``istft(apply_complex_mask(crm, Y))`` is the source;
power-law compression is a separate feature/loss transform (the network's input and the
loss domain of Ephrat et al.). Ephrat et al. describe the compression of the input and
output spectrograms and a cRM output; this module does not claim which domain their
mask multiplies (not checked against the full text). To mask in the compressed domain
instead, compress both STFTs first and pass them to :func:`complex_ratio_mask` and
:func:`apply_complex_mask`: the functions compose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks

# ------------------------------------------------------------------------------ helpers


def _as_complex(x: Any, name: str) -> tf.Tensor:
    """``x`` as complex64 (complex128 stays complex128); a real tensor is a TypeError."""
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_complex:
        raise TypeError(
            f"{name} must be a complex STFT (e.g. tfaudio.ops.stft), got dtype {x.dtype.name}; "
            "for the real/imag channels layout use channels_to_complex first"
        )
    return x if x.dtype == tf.complex128 else tf.cast(x, tf.complex64)


def _as_channels(x: Any, name: str) -> tf.Tensor:
    """``x`` as a float32 (float64 stays) real/imag channels tensor ``(..., 2)``."""
    x = tf.convert_to_tensor(x)
    if x.dtype.is_complex or not x.dtype.is_floating:
        raise TypeError(
            f"{name} must be a float real/imag channels tensor (..., 2), got dtype "
            f"{x.dtype.name}"
        )
    if x.shape.rank is not None and (x.shape.rank < 1 or x.shape[-1] not in (None, 2)):
        raise ValueError(
            f"{name} must have the real and imaginary parts on a last axis of size 2, "
            f"got shape {tuple(x.shape)}"
        )
    return x if x.dtype == tf.float64 else tf.cast(x, tf.float32)


def _check_same_shape(a: tf.Tensor, b: tf.Tensor, name_a: str, name_b: str) -> None:
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def _power_ri(re: tf.Tensor, im: tf.Tensor, power: float) -> tuple[tf.Tensor, tf.Tensor]:
    """``(re, im) * |z|^(power - 1)``: the power law on real and imaginary parts.

    Stable at ``z = 0``: the value there is 0 and the gradient is defined as 0 (the true
    derivative ``p |z|^(p-1)`` is infinite at 0 for ``p < 1``). Away from 0 the gradient
    is written without ``1 / |z|^2`` growing faster than the value, so it stays finite
    down to the smallest float32 magnitudes.
    """
    exponent = (power - 1.0) / 2.0

    @tf.custom_gradient
    def fn(re, im):
        m2 = re * re + im * im
        nonzero = m2 > 0
        safe = tf.where(nonzero, m2, tf.ones_like(m2))
        scale = tf.where(nonzero, tf.pow(safe, exponent), tf.zeros_like(m2))
        out = (re * scale, im * scale)

        def grad(g_re, g_im):
            mag = tf.sqrt(safe)
            u = tf.where(nonzero, re / mag, tf.zeros_like(re))
            v = tf.where(nonzero, im / mag, tf.zeros_like(im))
            proj = (power - 1.0) * (u * g_re + v * g_im)
            return scale * (g_re + u * proj), scale * (g_im + v * proj)

        return out, grad

    if power == 1.0:
        return re, im
    return fn(re, im)


def power_law_channels(channels: Any, power: float = 0.3) -> tf.Tensor:
    """:func:`power_law_compress` on the real/imag channels layout ``(..., 2)``.

    Args:
        channels: float ``(..., 2)`` (real, imag).
        power: exponent ``p > 0`` of the magnitude (``1 / p`` undoes ``p``).

    Returns:
        float32 ``(..., 2)`` (float64 for float64 input).
    """
    power = _checks.positive_float("power", power)
    x = _as_channels(channels, "channels")
    re, im = _power_ri(x[..., 0], x[..., 1], power)
    return tf.stack([re, im], axis=-1)


def channel_magnitude(channels: Any, eps: float = 1e-12) -> tf.Tensor:
    """The magnitude of the real/imag channels layout: ``(..., 2)`` -> ``(..., 1)`` =
    ``sqrt(re^2 + im^2 + eps)``; ``eps`` keeps the gradient finite at 0.

    Example:
        >>> channel_magnitude(tf.constant([3.0, 4.0])).numpy().tolist()
        [5.0]
    """
    x = _as_channels(channels, "channels")
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True) + eps)


def channels_with_magnitude(channels: Any, eps: float = 1e-12) -> tf.Tensor:
    """Appends the magnitude to the real/imag channels layout: ``(..., 2)`` -> ``(..., 3)``
    = ``(re, im, sqrt(re^2 + im^2 + eps))``; ``eps`` keeps the gradient finite at 0.

    Example:
        >>> channels_with_magnitude(tf.constant([3.0, 4.0])).numpy().tolist()
        [3.0, 4.0, 5.0]
    """
    x = _as_channels(channels, "channels")
    return tf.concat([x, channel_magnitude(x, eps)], axis=-1)


# ------------------------------------------------------------------------------ compression


def power_law_compress(stft: Any, power: float = 0.3) -> tf.Tensor:
    """Power-law compression of a complex STFT: ``|S|^p e^{j angle(S)}`` (Ephrat et al. 2018).

    Looking to Listen (arXiv:1804.03619) compresses the input and output spectrograms
    with ``p = 0.3``. Computed as ``S |S|^(p-1)`` on the real and imaginary parts; at
    ``S = 0`` the value is 0 and the gradient is finite (defined as 0): no NaN.

    Args:
        stft: complex ``(..., frames, bins)`` (any shape works: the op is element-wise).
        power: the exponent ``p > 0``.

    Returns:
        complex64 of the input's shape (complex128 for complex128 input).

    Example:
        >>> s = tfaudio.ops.stft(tf.random.normal([16000]), n_fft=512, hop_length=160)
        >>> c = power_law_compress(s)          # |c| = |s| ** 0.3, same phase
        >>> s2 = power_law_decompress(c)       # == s up to float32 round-off
    """
    power = _checks.positive_float("power", power)
    s = _as_complex(stft, "stft")
    re, im = _power_ri(tf.math.real(s), tf.math.imag(s), power)
    return tf.complex(re, im)


def power_law_decompress(stft: Any, power: float = 0.3) -> tf.Tensor:
    """Inverse of :func:`power_law_compress`: ``|C|^(1/p) e^{j angle(C)}``.

    Args:
        stft: a compressed complex spectrogram.
        power: the ``p`` it was compressed with (> 0).

    Returns:
        complex64 of the input's shape (complex128 for complex128 input).
    """
    power = _checks.positive_float("power", power)
    return power_law_compress(stft, 1.0 / power)


# ------------------------------------------------------------------------------ layouts


def complex_to_channels(stft: Any) -> tf.Tensor:
    """Real and imaginary parts stacked on a new last axis: ``(..., 2)``.

    Args:
        stft: complex ``(..., frames, bins)``.

    Returns:
        float32 ``(..., frames, bins, 2)`` (float64 for complex128), ``[..., 0]`` real.

    Example:
        >>> complex_to_channels(tf.constant([1 + 2j], tf.complex64)).numpy().tolist()
        [[1.0, 2.0]]
    """
    s = _as_complex(stft, "stft")
    return tf.stack([tf.math.real(s), tf.math.imag(s)], axis=-1)


def channels_to_complex(channels: Any) -> tf.Tensor:
    """Inverse of :func:`complex_to_channels`: ``(..., 2)`` real/imag -> complex ``(...)``.

    Returns:
        complex64 (complex128 for float64 input).
    """
    x = _as_channels(channels, "channels")
    return tf.complex(x[..., 0], x[..., 1])


# ------------------------------------------------------------------------------ masks


def compress_mask(mask_channels: Any, k: float = 10.0, c: float = 0.1) -> tf.Tensor:
    """Williamson et al.'s bounded compression ``K (1 - e^{-C M}) / (1 + e^{-C M})``.

    Applied separately to the real and imaginary parts (element-wise); equals
    ``K tanh(C M / 2)``, in ``(-K, K)``.

    Args:
        mask_channels: float ``(..., 2)`` (or any real tensor).
        k: the bound ``K > 0`` (paper: 10).
        c: the steepness ``C > 0`` (paper: 0.1).
    """
    k = _checks.positive_float("k", k)
    c = _checks.positive_float("c", c)
    m = _as_channels(mask_channels, "mask_channels")
    return k * tf.tanh(0.5 * c * m)


def uncompress_mask(mask_channels: Any, k: float = 10.0, c: float = 0.1) -> tf.Tensor:
    """Inverse of the cRM compression: ``M = -(1/C) log((K - O) / (K + O))``.

    ``O`` is first clipped into the open interval ``(-K, K)`` (to ``K (1 - eps)`` with
    ``eps`` the dtype's machine epsilon), so a network output at or beyond the bound
    gives a large finite mask, never inf or NaN: at most ``(2/C) atanh(1 - eps)``, about
    167 for float32 and ``C = 0.1`` (so an ideal cRM beyond that is clipped there).
    Equals ``(2/C) atanh(O / K)``.

    Args:
        mask_channels: the compressed mask, float ``(..., 2)``.
        k: the bound ``K > 0`` used for compression.
        c: the steepness ``C > 0`` used for compression.

    Returns:
        float32 ``(..., 2)`` (float64 for float64 input).
    """
    k = _checks.positive_float("k", k)
    c = _checks.positive_float("c", c)
    o = _as_channels(mask_channels, "mask_channels")
    eps = float(np.finfo(o.dtype.as_numpy_dtype).eps)
    ratio = tf.clip_by_value(o / k, -1.0 + eps, 1.0 - eps)
    return (2.0 / c) * tf.atanh(ratio)


def complex_ratio_mask(
    source_stft: Any, mixture_stft: Any, k: float | None = 10.0, c: float = 0.1
) -> tf.Tensor:
    """The ideal complex ratio mask ``M = S / Y`` (Williamson, Wang & Wang 2016), compressed.

    ``M_r = (Y_r S_r + Y_i S_i) / |Y|^2`` and ``M_i = (Y_r S_i - Y_i S_r) / |Y|^2``, so
    ``M Y = S``; where ``Y = 0`` the mask is 0 (no NaN). With ``k`` set, the real and
    imaginary parts are compressed by :func:`compress_mask` (the paper's training target,
    ``K = 10``, ``C = 0.1``); :func:`uncompress_mask` undoes it.

    Args:
        source_stft: complex ``(..., frames, bins)``, the source's STFT.
        mixture_stft: complex, the mixture's STFT, the same shape.
        k: the compression bound ``K > 0``, or None for the raw (unbounded) cRM.
        c: the compression steepness ``C > 0``.

    Returns:
        float32 channels ``(..., frames, bins, 2)`` (real, imag).

    Example:
        >>> crm = complex_ratio_mask(stft(s), stft(s + n))             # doctest: +SKIP
        >>> est = apply_complex_mask(uncompress_mask(crm), stft(s + n))  # doctest: +SKIP
    """
    if k is not None:
        k = _checks.positive_float("k", k)
    c = _checks.positive_float("c", c)
    s = _as_complex(source_stft, "source_stft")
    y = _as_complex(mixture_stft, "mixture_stft")
    _check_same_shape(s, y, "source_stft", "mixture_stft")
    yr, yi = tf.math.real(y), tf.math.imag(y)
    sr, si = tf.math.real(s), tf.math.imag(s)
    den = yr * yr + yi * yi
    nonzero = den > 0
    safe = tf.where(nonzero, den, tf.ones_like(den))
    mr = tf.where(nonzero, (yr * sr + yi * si) / safe, tf.zeros_like(den))
    mi = tf.where(nonzero, (yr * si - yi * sr) / safe, tf.zeros_like(den))
    mask = tf.stack([mr, mi], axis=-1)
    return mask if k is None else compress_mask(mask, k, c)


def apply_complex_mask(mask_channels: Any, mixture_stft: Any) -> tf.Tensor:
    """The masked mixture ``M Y`` (complex product) of an uncompressed cRM.

    A compressed mask (a network trained on :func:`complex_ratio_mask`'s default target)
    goes through :func:`uncompress_mask` first.

    Args:
        mask_channels: float ``(..., frames, bins, 2)`` (real, imag).
        mixture_stft: complex ``(..., frames, bins)``; it broadcasts against the mask's
            leading axes (e.g. a mask with an extra speaker axis in front).

    Returns:
        complex64 ``(..., frames, bins)``: the estimated source STFT.

    Raises:
        ValueError: the mask's shape without its last axis does not broadcast with the
            mixture's.
    """
    m = _as_channels(mask_channels, "mask_channels")
    y = _as_complex(mixture_stft, "mixture_stft")
    y = tf.cast(y, tf.complex128 if m.dtype == tf.float64 else tf.complex64)
    try:
        tf.broadcast_static_shape(m.shape[:-1], y.shape)
    except ValueError:
        raise ValueError(
            f"mask_channels of shape {tuple(m.shape)} (a mask of {tuple(m.shape[:-1])} plus "
            f"the real/imag axis) does not match mixture_stft of shape {tuple(y.shape)}"
        ) from None
    mr, mi = m[..., 0], m[..., 1]
    yr, yi = tf.math.real(y), tf.math.imag(y)
    return tf.complex(mr * yr - mi * yi, mr * yi + mi * yr)


def ideal_ratio_mask(source_stft: Any, interference_stft: Any, beta: float = 0.5) -> tf.Tensor:
    """The ideal ratio mask ``(|S|^2 / (|S|^2 + |N|^2))^beta`` (Wang et al. 2014).

    Args:
        source_stft: complex ``(..., frames, bins)``, the target's STFT.
        interference_stft: complex, everything else in the mixture (``mixture - source``).
        beta: the exponent (> 0; 0.5 in Wang et al.).

    Returns:
        float32 ``(..., frames, bins)`` in ``[0, 1]``; 0 where both are silent.
    """
    beta = _checks.positive_float("beta", beta)
    s = _as_complex(source_stft, "source_stft")
    n = _as_complex(interference_stft, "interference_stft")
    _check_same_shape(s, n, "source_stft", "interference_stft")
    ps = tf.math.real(s * tf.math.conj(s))
    pn = tf.math.real(n * tf.math.conj(n))
    total = ps + pn
    nonzero = total > 0
    ratio = tf.where(nonzero, ps / tf.where(nonzero, total, tf.ones_like(total)),
                     tf.zeros_like(total))
    return ratio if beta == 1.0 else tf.pow(ratio, beta)


def ideal_binary_mask(source_stft: Any, interference_stft: Any, lc_db: float = 0.0) -> tf.Tensor:
    """The ideal binary mask: 1 where the local SNR ``|S|^2 / |N|^2`` exceeds ``lc_db``.

    Args:
        source_stft: complex ``(..., frames, bins)``.
        interference_stft: complex, ``mixture - source``.
        lc_db: the local criterion in dB (strictly greater is 1; both silent is 0).

    Returns:
        float32 ``(..., frames, bins)`` of 0.0 and 1.0.
    """
    lc_db = _checks.number_in("lc_db", lc_db)
    s = _as_complex(source_stft, "source_stft")
    n = _as_complex(interference_stft, "interference_stft")
    _check_same_shape(s, n, "source_stft", "interference_stft")
    ps = tf.math.real(s * tf.math.conj(s))
    pn = tf.math.real(n * tf.math.conj(n))
    return tf.cast(ps > (10.0 ** (lc_db / 10.0)) * pn, ps.dtype)
