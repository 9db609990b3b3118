"""Framing, STFT, inverse STFT, spectrogram and phase (librosa conventions).

Layouts: time is the LAST axis of a waveform, ``(..., time)``; a spectrogram is
``(..., frames, bins)``. Unbatched ``(time,)`` input works. (The Keras layers move a
channels-last axis out of the way and back.) All math runs in float32 / complex64
whatever the input's float dtype; callers cast the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.ops import filters
from tfaudio.ops._xla import in_xla_context

PAD_MODES = ("constant", "reflect", "symmetric")


# ----------------------------------------------------------------------------- arguments
def resolve_stft_args(
    n_fft: int, hop_length: int | None, win_length: int | None
) -> tuple[int, int, int]:
    """Validates ``n_fft``/``hop_length``/``win_length`` and applies librosa's defaults.

    ``win_length`` defaults to ``n_fft`` and ``hop_length`` to ``win_length // 4``.
    """
    n_fft = _checks.positive_int("n_fft", n_fft)
    if win_length is None:
        win_length = n_fft
    win_length = _checks.positive_int("win_length", win_length)
    if win_length > n_fft:
        raise ValueError(f"win_length={win_length} is out of range: it must be in [1, n_fft={n_fft}]")
    if hop_length is None:
        hop_length = max(win_length // 4, 1)
    hop_length = _checks.positive_int("hop_length", hop_length)
    return n_fft, hop_length, win_length


def check_pad_mode(pad_mode: str) -> str:
    return _checks.one_of("pad_mode", pad_mode, PAD_MODES)


def stft_window(window: Any, n_fft: int, win_length: int) -> np.ndarray:
    """The analysis window zero-padded, centred, to ``n_fft`` samples (float64)."""
    return filters.pad_center(filters.get_window(window, win_length), n_fft)


def num_frames(length: int | None, frame_length: int, hop_length: int, center: bool) -> int | None:
    """Frame count for a static ``length`` (None stays None).

    ``1 + (length + 2 * (frame_length // 2) - frame_length) // hop_length`` when centred
    (``1 + length // hop`` for even frame lengths), ``1 + (length - frame_length) // hop``
    otherwise.
    """
    if length is None:
        return None
    padded = length + 2 * (frame_length // 2) if center else length
    return 1 + (padded - frame_length) // hop_length


def min_length(frame_length: int, center: bool, pad_mode: str) -> int:
    """Shortest input that yields at least one frame with these settings."""
    if not center:
        return frame_length
    if pad_mode == "constant":
        return max(frame_length - 2 * (frame_length // 2), 1)
    # tf.pad REFLECT needs padding < length; SYMMETRIC needs padding <= length.
    pad = frame_length // 2
    return pad + 1 if pad_mode == "reflect" else max(pad, 1)


def check_length(
    length: int | None, frame_length: int, center: bool, pad_mode: str, what: str = "n_fft"
) -> None:
    """Raises at build time when a static input length is too short for one frame."""
    if length is None:
        return
    need = min_length(frame_length, center, pad_mode)
    if length < need:
        if not center:
            why = f"with center=False the input needs at least {what}={frame_length} samples"
        else:
            why = (
                f"with center=True and pad_mode={pad_mode!r} the input needs at least {need} "
                f"samples ({what}={frame_length})"
            )
        raise ValueError(f"input length {length} is too short: {why}")


# ----------------------------------------------------------------------------- helpers
def as_float32(x: Any, name: str = "input") -> tf.Tensor:
    """Converts to a float32 tensor; integer or complex input is a TypeError."""
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype.name}; "
            "convert integer PCM first, e.g. tf.cast(x, 'float32') / 32768.0"
        )
    return tf.cast(x, tf.float32)


def as_float(x: Any, name: str = "input") -> tf.Tensor:
    """Like :func:`as_float32`, but float64 input stays float64 (reference-precision paths)."""
    x = tf.convert_to_tensor(x)
    if x.dtype == tf.float64:
        return x
    return as_float32(x, name)


def _runtime_length_check(x: tf.Tensor, need: int, message: str) -> list:
    """An assertion on the dynamic time length (a no-op under XLA)."""
    if x.shape[-1] is not None:
        return []
    return [
        tf.debugging.assert_greater_equal(tf.shape(x)[-1], need, message=message)
    ]


def pad_center_time(x: tf.Tensor, pad: int, pad_mode: str) -> tf.Tensor:
    """Pads ``pad`` samples on both ends of the last axis."""
    rank = x.shape.rank
    paddings = [[0, 0]] * (rank - 1) + [[pad, pad]]
    return tf.pad(x, paddings, mode=pad_mode.upper())


def frame(
    x: Any,
    frame_length: int,
    hop_length: int,
    center: bool = False,
    pad_mode: str = "constant",
) -> tf.Tensor:
    """Slices a signal into overlapping frames (librosa.util.frame, optional centring).

    Args:
        x: float waveform ``(..., time)``.
        frame_length: samples per frame.
        hop_length: samples between frame starts.
        center: pad ``frame_length // 2`` on both ends first (like librosa's STFT).
        pad_mode: ``"constant"`` (zeros), ``"reflect"`` or ``"symmetric"``, when centred.

    Returns:
        float32 ``(..., frames, frame_length)``.

    Example:
        >>> frame(tf.range(6.0), 4, 2).numpy().tolist()
        [[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]]
    """
    frame_length = _checks.positive_int("frame_length", frame_length)
    hop_length = _checks.positive_int("hop_length", hop_length)
    check_pad_mode(pad_mode)
    x = as_float32(x)
    if x.shape.rank is not None and x.shape.rank < 1:
        raise ValueError("frame expects a waveform of rank >= 1 (..., time), got a scalar")
    check_length(x.shape[-1], frame_length, center, pad_mode, what="frame_length")
    need = min_length(frame_length, center, pad_mode)
    deps = _runtime_length_check(
        x, need, f"input is shorter than {need} samples (frame_length={frame_length}, center={center})"
    )
    with tf.control_dependencies(deps):
        if center:
            x = pad_center_time(x, frame_length // 2, pad_mode)
        return tf.signal.frame(x, frame_length, hop_length, pad_end=False)


def pad(x: Any, before: int = 0, after: int = 0, min_length: int = 0) -> tf.Tensor:
    """Zero-pads the time axis: ``before`` and ``after`` samples, then the end up to ``min_length``.

    Args:
        x: float waveform ``(..., time)``.
        before: zeros prepended (>= 0).
        after: zeros appended (>= 0).
        min_length: after that, zeros appended until the signal has at least this many
            samples (0 = no minimum).

    Returns:
        ``(..., max(before + time + after, min_length))``, the dtype of ``x`` (float32 or float64).

    Example:
        >>> pad(tf.ones([3]), 1, 1, min_length=7).numpy().tolist()
        [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    before = _checks.non_negative_int("before", before)
    after = _checks.non_negative_int("after", after)
    min_length = _checks.non_negative_int("min_length", min_length)
    x = as_float(x)
    rank = x.shape.rank
    if rank is None or rank < 1:
        raise ValueError("pad expects a waveform of rank >= 1 (..., time)")
    length = tf.shape(x)[-1] + before + after
    extra = tf.maximum(min_length - length, 0)
    return tf.pad(x, [[0, 0]] * (rank - 1) + [[before, after + extra]])


def padded_length(length: int | None, before: int, after: int, min_length: int) -> int | None:
    """The static length :func:`pad` returns for a static input ``length`` (None stays None)."""
    if length is None:
        return None
    return max(length + before + after, min_length)


def patches(x: Any, patch_frames: int, hop_frames: int) -> tf.Tensor:
    """Cuts a spectrogram into fixed-size patches along time, complete patches only.

    VGGish's example framing (``frame(log_mel, 96, 96)``): a spectrogram shorter than
    ``patch_frames`` gives zero patches.

    Args:
        x: spectrogram ``(..., frames, bins)``.
        patch_frames: frames per patch.
        hop_frames: frames between patch starts.

    Returns:
        ``(..., 1 + (frames - patch_frames) // hop_frames, patch_frames, bins)`` (0 patches
        when ``frames < patch_frames``), the dtype of ``x``.

    Example:
        >>> patches(tf.zeros([298, 64]), 96, 96).shape
        TensorShape([3, 96, 64])
    """
    patch_frames = _checks.positive_int("patch_frames", patch_frames)
    hop_frames = _checks.positive_int("hop_frames", hop_frames)
    x = as_float(x, "spectrogram")
    if x.shape.rank is None or x.shape.rank < 2:
        raise ValueError("patches expects a spectrogram of rank >= 2 (..., frames, bins)")
    return tf.signal.frame(x, patch_frames, hop_frames, pad_end=False, axis=-2)


def num_patches(frames: int | None, patch_frames: int, hop_frames: int) -> int | None:
    """Patches :func:`patches` returns for ``frames`` frames (None stays None)."""
    if frames is None:
        return None
    return 1 + (frames - patch_frames) // hop_frames if frames >= patch_frames else 0


# ----------------------------------------------------------------------------- STFT
def _padded_signal(x, n_fft, center, pad_mode):
    check_length(x.shape[-1], n_fft, center, pad_mode)
    need = min_length(n_fft, center, pad_mode)
    deps = _runtime_length_check(
        x,
        need,
        f"input is shorter than {need} samples, the minimum for n_fft={n_fft}, "
        f"center={center}, pad_mode={pad_mode!r}",
    )
    with tf.control_dependencies(deps):
        if center:
            x = pad_center_time(x, n_fft // 2, pad_mode)
        else:
            x = tf.identity(x) if deps else x
    return x


def _frame_by_rows(x: tf.Tensor, frame_length: int, hop_length: int) -> tf.Tensor:
    """``tf.signal.frame(x, frame_length, hop_length)`` built from reshapes and slices.

    The signal is cut into rows of ``hop_length`` samples; frame ``t`` is rows
    ``t .. t + q - 1`` followed by the first ``r`` samples of row ``t + q``
    (``frame_length = q * hop_length + r``). Under XLA the slices and the concat fuse
    into one copy, where ``tf.signal.frame`` lowers to a much slower gather.
    """
    q, rem = divmod(frame_length, hop_length)
    static_shape = x.shape[:-1].concatenate(
        [num_frames(x.shape[-1], frame_length, hop_length, False), frame_length]
    )
    length = tf.shape(x)[-1]
    n_frames = 1 + (length - frame_length) // hop_length
    rows = n_frames + (q if rem else q - 1)
    need = rows * hop_length
    x = x[..., :need]
    lead = tf.shape(x)[:-1]
    rank = x.shape.rank
    x = tf.pad(x, [[0, 0]] * (rank - 1) + [[0, tf.maximum(need - length, 0)]])
    r = tf.reshape(x, tf.concat([lead, [rows, hop_length]], axis=0))
    parts = [r[..., j : j + n_frames, :] for j in range(q)]
    if rem:
        parts.append(r[..., q : q + n_frames, :rem])
    frames = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
    frames.set_shape(static_shape)
    return frames


def _frames(x: tf.Tensor, frame_length: int, hop_length: int) -> tf.Tensor:
    """Frames of an already padded signal, with the faster method for the context.

    ``tf.signal.frame`` gathers sub-frames of ``gcd(frame_length, hop_length)``
    samples. In graph mode that is the fastest; under XLA it is too, when the hop
    divides the frame length (few large sub-frames), and otherwise (e.g. 512 / 160:
    sixteen 32-sample sub-frames per frame) the row framing is about 1.6x faster
    for the whole log-mel (measured, 2-core CPU).
    """
    if frame_length % hop_length and in_xla_context():
        return _frame_by_rows(x, frame_length, hop_length)
    return tf.signal.frame(x, frame_length, hop_length, pad_end=False)


def _framed_rfft(x: tf.Tensor, n_fft: int, hop_length: int, window: np.ndarray) -> tf.Tensor:
    """rfft of windowed ``n_fft``-sample frames of an already padded signal.

    The frames are exactly ``n_fft`` long (the window is zero-padded, centred, as
    librosa), so ``tf.signal.rfft`` never pads them itself: its padding path costs
    more than framing the extra ``n_fft - win_length`` samples (measured).
    """
    frames = _frames(x, n_fft, hop_length)
    win = tf.constant(window, x.dtype)
    return tf.signal.rfft(frames * win, fft_length=[n_fft])


def stft(
    x: Any,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
) -> tf.Tensor:
    """Short-time Fourier transform, equal to ``librosa.stft`` (transposed).

    Args:
        x: float waveform ``(..., time)``.
        n_fft: FFT size; output has ``n_fft // 2 + 1`` bins.
        hop_length: samples between frames; default ``win_length // 4``.
        win_length: window length (<= n_fft), centred in the frame; default ``n_fft``.
        window: window name or a 1-D array of ``win_length`` values.
        center: pad ``n_fft // 2`` samples on both ends so frame t is centred on
            sample ``t * hop_length``.
        pad_mode: ``"constant"`` (librosa's default), ``"reflect"`` or ``"symmetric"``.

    Returns:
        complex64 ``(..., frames, n_fft // 2 + 1)`` (complex128 for float64 input).

    Example:
        >>> stft(tf.zeros([2, 22050])).shape
        TensorShape([2, 44, 1025])
    """
    n_fft, hop_length, win_length = resolve_stft_args(n_fft, hop_length, win_length)
    check_pad_mode(pad_mode)
    win = stft_window(window, n_fft, win_length)
    x = _padded_signal(as_float(x), n_fft, center, pad_mode)
    return _framed_rfft(x, n_fft, hop_length, win)


def magnitude_power(spec: tf.Tensor, power: float) -> tf.Tensor:
    """``|spec| ** power`` computed without a square root when ``power == 2``."""
    if power == 2.0:
        re, im = tf.math.real(spec), tf.math.imag(spec)
        return re * re + im * im
    if power == 1.0:
        return tf.abs(spec)
    re, im = tf.math.real(spec), tf.math.imag(spec)
    return tf.pow(re * re + im * im, power / 2.0)


def spectrogram(
    x: Any,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
) -> tf.Tensor:
    """``|stft(x)| ** power``, as librosa's ``_spectrogram`` / ``melspectrogram`` use.

    Returns:
        float32 ``(..., frames, n_fft // 2 + 1)``.

    Example:
        >>> spectrogram(tf.zeros([16000]), n_fft=512, hop_length=160).shape
        TensorShape([101, 257])
    """
    power = _checks.positive_float("power", power)
    spec = stft(x, n_fft, hop_length, win_length, window, center, pad_mode)
    return magnitude_power(spec, power)


def phase(spec: tf.Tensor) -> tf.Tensor:
    """Phase angle in radians of a complex spectrogram, in ``(-pi, pi]``."""
    return tf.math.angle(spec)


# ----------------------------------------------------------------------------- inverse
def istft(
    spec: Any,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window: Any = "hann",
    center: bool = True,
    length: int | tf.Tensor | None = None,
) -> tf.Tensor:
    """Inverse STFT with librosa's window-sum-square normalisation (``librosa.istft``).

    Args:
        spec: complex ``(..., frames, bins)``.
        hop_length: default ``win_length // 4``.
        win_length: default ``n_fft``.
        n_fft: default ``2 * (bins - 1)``.
        window: the analysis window used by :func:`stft`.
        center: whether the STFT was centred (the padding is removed).
        length: if given, the output is trimmed or zero-padded to exactly this many
            samples (a python int or a scalar tensor).

    Returns:
        float32 ``(..., time)``.

    Example:
        >>> x = tf.random.normal([2, 4000])
        >>> y = istft(stft(x, n_fft=512), n_fft=512, length=4000)
    """
    spec = tf.convert_to_tensor(spec)
    if not spec.dtype.is_complex:
        raise TypeError(f"istft expects a complex spectrogram, got dtype {spec.dtype.name}")
    spec = tf.cast(spec, tf.complex64)
    if spec.shape.rank is not None and spec.shape.rank < 2:
        raise ValueError(f"istft expects (..., frames, bins), got shape {spec.shape}")
    bins = spec.shape[-1]
    if n_fft is None:
        if bins is None:
            raise ValueError("n_fft must be given when the bins axis is not static")
        n_fft = 2 * (bins - 1)
    n_fft, hop_length, win_length = resolve_stft_args(n_fft, hop_length, win_length)
    if bins is not None and bins != n_fft // 2 + 1:
        raise ValueError(
            f"spectrogram has {bins} bins but n_fft={n_fft} implies n_fft // 2 + 1 = {n_fft // 2 + 1}"
        )
    win = stft_window(window, n_fft, win_length)
    frames = tf.signal.irfft(spec, fft_length=[n_fft]) * tf.constant(win, tf.float32)
    n_frames = tf.shape(frames)[-2]
    y = tf.signal.overlap_and_add(frames, hop_length)
    # Window sum-square envelope for this frame count.
    win_sq = tf.constant(win**2, tf.float32)
    env = tf.signal.overlap_and_add(
        tf.broadcast_to(win_sq, tf.stack([n_frames, n_fft])), hop_length
    )
    tiny = np.finfo(np.float32).tiny
    env = tf.where(env > tiny, env, tf.ones_like(env))
    y = y / env
    start = n_fft // 2 if center else 0
    if length is None:
        end = tf.shape(y)[-1] - start
        return y[..., start:end]
    y = y[..., start:]
    length = tf.cast(length, tf.int32)
    have = tf.shape(y)[-1]
    y = y[..., : tf.minimum(have, length)]
    pad = tf.maximum(length - have, 0)
    rank = spec.shape.rank - 1
    paddings = tf.concat([tf.zeros([rank - 1, 2], tf.int32), [[0, pad]]], axis=0)
    return tf.pad(y, paddings)
