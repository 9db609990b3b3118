"""Pictures (matplotlib, an optional dependency: ``tfaudio[plot]``): spectrogram grids, a
waveform above its log-mel with a Hz axis on the mel scale, confusion matrices, pitch
salience with an f0 track, speaker-verification DET curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("plotting needs matplotlib: pip install 'tfaudio[plot]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_spectrograms(
    path: str,
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    hop_seconds: float | None = None,
    ylabel: str = "mel band",
    colorbar_label: str = "dB",
    ncols: int = 1,
) -> str:
    """Writes one or more ``(frames, bins)`` images (e.g. log-mel in dB) to a PNG.

    Args:
        path: output PNG path.
        images: 2-D arrays ``(frames, bins)``; time runs left to right, bins upwards.
        titles: one title per image.
        hop_seconds: seconds per frame, to label the time axis in seconds.
        ylabel: label of the vertical axis.
        colorbar_label: label of the colour bar.
        ncols: images per row.

    Returns:
        ``path``.
    """
    plt = _pyplot()
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 2.6 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        img = np.asarray(images[i], dtype=np.float32)
        frames = img.shape[0]
        extent = None
        if hop_seconds:
            extent = (0.0, frames * hop_seconds, 0, img.shape[1])
        mesh = ax.imshow(img.T, origin="lower", aspect="auto", cmap="magma", extent=extent,
                         interpolation="nearest")
        ax.set_xlabel("time (s)" if hop_seconds else "frame")
        ax.set_ylabel(ylabel)
        if titles:
            ax.set_title(titles[i], fontsize=10)
        fig.colorbar(mesh, ax=ax, label=colorbar_label)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# Waveform and log-mel with a frequency axis in Hz on the mel scale
# --------------------------------------------------------------------------------------

# Hz values tried as ticks of a mel axis (librosa's specshow labels powers of two too).
_MEL_TICK_HZ = (0.0,) + tuple(float(2**k) for k in range(4, 16))


def mel_axis_ticks(
    n_mels: int, f_min: float, f_max: float, htk: bool = False, min_gap: float = 0.06
) -> tuple[np.ndarray, list[str]]:
    """Where Hz values sit on the axis of a mel spectrogram, in mel-band units.

    The axis coordinate is the fractional band index: band ``k`` (0-based) sits at ``k``,
    the mel-scale centre of its filter; ``f_min`` (the lower edge of band 0) sits at -1
    and ``f_max`` at ``n_mels``, since the ``n_mels + 2`` filter edges are evenly spaced
    in mels (``librosa.filters.mel``). The Hz value ``f`` sits at
    ``(mel(f) - mel(f_min)) / step - 1`` with ``step = (mel(f_max) - mel(f_min)) /
    (n_mels + 1)``, using tfaudio's Slaney or HTK scale (``tfaudio.ops.filters.hz_to_mel``).

    Ticks are 0 Hz and powers of two (512, 1024, 2048, 4096, 8192 Hz, ...) between
    ``f_min`` and ``f_max``, taken from low to high and skipping any closer than
    ``min_gap`` of the axis to the last one kept. If fewer than three remain (a narrow
    band), five round values evenly spaced in mels are used instead.

    Args:
        n_mels: number of mel bands.
        f_min: lowest filter edge in Hz, as given to the mel filterbank.
        f_max: highest filter edge in Hz (the resolved value: sample_rate / 2 if None
            was given to the filterbank).
        htk: HTK mel scale instead of Slaney's.
        min_gap: smallest distance between ticks, as a fraction of the axis.

    Returns:
        ``(positions, labels)``: float64 band positions ``(ticks,)`` and Hz labels such as
        ``"1024"``.

    Example:
        >>> pos, labels = mel_axis_ticks(128, 0.0, 8000.0)
        >>> labels
        ['0', '256', '512', '1024', '2048', '4096']
    """
    from tfaudio import _checks
    from tfaudio.ops.filters import hz_to_mel

    n_mels = _checks.positive_int("n_mels", n_mels)
    f_min = _checks.number_in("f_min", f_min, 0.0)
    f_max = _checks.number_in("f_max", f_max, f_min, low_inclusive=False)
    m_min, m_max = float(hz_to_mel(f_min, htk)), float(hz_to_mel(f_max, htk))
    step = (m_max - m_min) / (n_mels + 1)

    def position(hz: np.ndarray) -> np.ndarray:
        return (hz_to_mel(hz, htk) - m_min) / step - 1.0

    gap = min_gap * (n_mels + 1)
    hz = np.array([f for f in _MEL_TICK_HZ if f_min <= f <= f_max])
    kept: list[float] = []
    for f, p in zip(hz, position(hz), strict=True):
        if not kept or p - position(np.array(kept[-1])) >= gap:
            kept.append(float(f))
    if len(kept) < 3:
        from tfaudio.ops.filters import mel_to_hz

        even = mel_to_hz(np.linspace(m_min, m_max, 5), htk)
        digits = np.floor(np.log10(np.maximum(even, 1.0))) - 1  # two significant figures
        rounded = np.round(even / 10.0**digits) * 10.0**digits
        kept = sorted({float(f) for f in rounded if f_min <= f <= f_max})
    values = np.array(kept, dtype=np.float64)
    return position(values), [f"{f:.0f}" for f in values]


def waveform_and_mel_figure(
    audio: np.ndarray,
    sample_rate: float,
    log_mel: np.ndarray,
    hop_length: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    title: str | None = None,
    colorbar_label: str = "dB",
):
    """A matplotlib figure: the waveform above its log-mel spectrogram, sharing a time axis
    in seconds, the mel axis labelled in Hz (see :func:`mel_axis_ticks`).

    Frames are taken as centred (``center=True``, the default of tfaudio's front end):
    frame ``t`` is drawn at ``t * hop_length / sample_rate`` seconds. Each band is drawn at
    its mel-scale centre, so the picture reads like ``librosa.display.specshow(
    y_axis="mel", x_axis="time")``. Long waveforms are drawn as their min/max envelope.

    Args:
        audio: mono waveform ``(time,)``.
        sample_rate: sampling rate in Hz.
        log_mel: ``(frames, n_mels)`` image, e.g. the dB output of ``PowerToDb``.
        hop_length: samples between frames.
        f_min: lowest mel filter edge in Hz, as used for ``log_mel``.
        f_max: highest mel filter edge in Hz; None = ``sample_rate / 2``.
        htk: HTK mel scale, as used for ``log_mel``.
        title: title above the waveform.
        colorbar_label: label of the colour bar.

    Returns:
        A ``matplotlib.figure.Figure`` with the axes ``[waveform, log-mel, colour bar]``
        (close it with ``matplotlib.pyplot.close``).

    Example:
        >>> fig = waveform_and_mel_figure(y, 16000, db, hop_length=160)  # doctest: +SKIP
    """
    from tfaudio import _checks

    plt = _pyplot()
    sample_rate = _checks.positive_float("sample_rate", sample_rate)
    hop_length = _checks.positive_int("hop_length", hop_length)
    wave = np.asarray(audio, dtype=np.float32)
    if wave.ndim != 1 or wave.shape[0] == 0:
        raise ValueError(f"audio must be a non-empty mono waveform (time,), got shape {wave.shape}")
    img = np.asarray(log_mel, dtype=np.float32)
    if img.ndim != 2 or 0 in img.shape:
        raise ValueError(f"log_mel must be a non-empty 2-D array (frames, n_mels), got shape {img.shape}")
    if f_max is None:
        f_max = sample_rate / 2.0
    _checks.number_in("f_max", f_max, 0.0, sample_rate / 2.0, low_inclusive=False)
    frames, n_mels = img.shape
    positions, labels = mel_axis_ticks(n_mels, f_min, f_max, htk)
    duration = wave.shape[0] / sample_rate

    fig = plt.figure(figsize=(10, 6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(1, 2.6), width_ratios=(40, 1))
    ax_wave = fig.add_subplot(grid[0, 0])
    ax_mel = fig.add_subplot(grid[1, 0], sharex=ax_wave)
    cax = fig.add_subplot(grid[1, 1])

    buckets = 2000
    if wave.shape[0] > 8 * buckets:
        per = wave.shape[0] // buckets
        chunks = wave[: per * buckets].reshape(buckets, per)
        t = (np.arange(buckets) + 0.5) * per / sample_rate
        ax_wave.fill_between(t, chunks.min(axis=1), chunks.max(axis=1), color="tab:blue",
                             linewidth=0.5)
    else:
        ax_wave.plot(np.arange(wave.shape[0]) / sample_rate, wave, color="tab:blue",
                     linewidth=0.6)
    peak = float(np.max(np.abs(wave)))
    ax_wave.set_ylim(-1.05 * peak if peak > 0 else -1, 1.05 * peak if peak > 0 else 1)
    ax_wave.set_ylabel("amplitude")
    ax_wave.tick_params(labelbottom=False)
    ax_wave.grid(alpha=0.3)
    if title:
        ax_wave.set_title(title, fontsize=11)

    # Frame t is centred at t * hop; band k at its centre k, the outer bands reaching the
    # filterbank edges f_min (-1) and f_max (n_mels).
    x_edges = (np.arange(frames + 1) - 0.5) * hop_length / sample_rate
    y_edges = np.concatenate([[-1.0], np.arange(n_mels - 1) + 0.5, [float(n_mels)]])
    mesh = ax_mel.pcolormesh(x_edges, y_edges, img.T, cmap="magma", shading="flat",
                             rasterized=True)
    ax_mel.set_ylim(-1.0, float(n_mels))
    ax_mel.set_yticks(positions, labels)
    ax_mel.set_ylabel(f"Hz ({'HTK' if htk else 'Slaney'} mel scale, {n_mels} bands)")
    ax_mel.set_xlabel("time (s)")
    ax_mel.set_xlim(0.0, duration)
    fig.colorbar(mesh, cax=cax, label=colorbar_label)
    return fig


def save_waveform_and_mel(
    path: str,
    audio: np.ndarray,
    sample_rate: float,
    log_mel: np.ndarray,
    hop_length: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    title: str | None = None,
    colorbar_label: str = "dB",
) -> str:
    """Writes :func:`waveform_and_mel_figure` to a PNG (1000 x 600 pixels).

    Args:
        path: output PNG path.
        audio: mono waveform ``(time,)``.
        sample_rate: sampling rate in Hz.
        log_mel: ``(frames, n_mels)`` image, e.g. the dB output of ``PowerToDb``.
        hop_length: samples between (centred) frames.
        f_min: lowest mel filter edge in Hz, as used for ``log_mel``.
        f_max: highest mel filter edge in Hz; None = ``sample_rate / 2``.
        htk: HTK mel scale, as used for ``log_mel``.
        title: title above the waveform.
        colorbar_label: label of the colour bar.

    Returns:
        ``path``.

    Example:
        >>> save_waveform_and_mel("speech.png", y, 16000, db, hop_length=160)  # doctest: +SKIP
        'speech.png'
    """
    fig = waveform_and_mel_figure(audio, sample_rate, log_mel, hop_length, f_min, f_max, htk,
                                  title, colorbar_label)
    plt = _pyplot()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------------------


def save_confusion_matrix(
    path: str,
    matrix: np.ndarray,
    labels: Sequence[str],
    normalize: bool = True,
    title: str | None = None,
) -> str:
    """Writes a confusion matrix to a PNG: true class down, predicted class across.

    Every non-zero cell shows its count. With ``normalize`` the colours are the row
    fractions (``tfaudio.metrics.normalize_confusion_matrix``: the diagonal is each class's
    recall, on a fixed 0-1 scale); otherwise the counts. The figure grows with the number
    of classes so 12-50 class names stay readable; x labels are rotated.

    Args:
        path: output PNG path.
        matrix: counts ``(num_classes, num_classes)``, rows = true class
            (``tfaudio.metrics.confusion_matrix``).
        labels: one name per class.
        normalize: colour by row fractions (recall) instead of counts.
        title: figure title; default ``"confusion matrix"`` and the accuracy.

    Returns:
        ``path``.

    Example:
        >>> cm = tfaudio.metrics.confusion_matrix(y_true, y_pred, 12)  # doctest: +SKIP
        >>> save_confusion_matrix("confusion.png", cm, class_names)  # doctest: +SKIP
        'confusion.png'
    """
    from tfaudio.metrics import normalize_confusion_matrix

    counts = np.asarray(matrix)
    fractions = normalize_confusion_matrix(counts)  # validates: square, finite, >= 0
    names = [str(name) for name in labels]
    n = counts.shape[0]
    if len(names) != n:
        raise ValueError(f"labels has {len(names)} names but matrix is {n} x {n}; they must be equal")
    plt = _pyplot()
    side = max(6.0, 0.3 * n + 3.0)
    cell_pt = 72.0 * (side - 3.0) / n
    fig, ax = plt.subplots(figsize=(side + 1.0, side), layout="constrained")
    shown = fractions if normalize else counts.astype(np.float64)
    vmax = 1.0 if normalize else max(float(shown.max()), 1.0)
    mesh = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    digits = len(f"{counts.max():.0f}")
    fontsize = float(np.clip(1.5 * cell_pt / max(3, digits), 4.0, 9.0))
    for i, j in zip(*np.nonzero(counts), strict=True):
        ax.text(j, i, f"{counts[i, j]:.0f}", ha="center", va="center", fontsize=fontsize,
                color="white" if shown[i, j] > 0.55 * vmax else "black")
    label_size = 9 if n <= 25 else 8
    ax.set_xticks(np.arange(n), names, rotation=45 if n <= 25 else 90, fontsize=label_size,
                  ha="right" if n <= 25 else "center",
                  rotation_mode="anchor" if n <= 25 else "default")
    ax.set_yticks(np.arange(n), names, fontsize=label_size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else 0.0
    ax.set_title(title or f"confusion matrix ({total:.0f} samples, accuracy {accuracy:.3f})")
    fig.colorbar(mesh, ax=ax, shrink=0.8,
                 label="fraction of the true class (recall on the diagonal)" if normalize
                 else "count")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# Pitch salience (CREPE activations) with the f0 track
# --------------------------------------------------------------------------------------

# Hz values tried as ticks of the pitch axis (CREPE's bins span 31.7 .. 2005.5 Hz).
_PITCH_TICK_HZ = (32.5, 55.0, 110.0, 220.0, 440.0, 880.0, 1760.0)


def save_pitch_salience(
    path: str,
    activation: np.ndarray,
    time: np.ndarray,
    frequency: np.ndarray,
    confidence: np.ndarray | None = None,
    title: str | None = None,
    voicing_threshold: float = 0.5,
) -> str:
    """Writes CREPE's salience (activation over time) with the f0 track drawn over it.

    The vertical axis is CREPE's pitch in cents (bins 20 cents apart, so Hz on a log
    scale), labelled in Hz. The track is drawn where ``frequency > 0``: solid where
    ``confidence >= voicing_threshold``, faint elsewhere.

    Args:
        path: output PNG path.
        activation: ``(frames, 360)`` sigmoid activations.
        time: ``(frames,)`` seconds of the frame centres.
        frequency: ``(frames,)`` Hz (0 = undefined).
        confidence: optional ``(frames,)`` max activations.
        title: figure title.
        voicing_threshold: confidence from which the track is drawn solid.

    Returns:
        ``path``.
    """
    from tfaudio.ops.pitch import CENTS_PER_BIN, cents_mapping

    plt = _pyplot()
    act = np.asarray(activation, np.float32)
    time = np.asarray(time, np.float64)
    frequency = np.asarray(frequency, np.float64)
    cents = cents_mapping()
    step = float(time[1] - time[0]) if len(time) > 1 else 0.01
    half = CENTS_PER_BIN / 2
    extent = (float(time[0]) - step / 2 if len(time) else 0.0,
              float(time[-1]) + step / 2 if len(time) else step,
              cents[0] - half, cents[-1] + half)
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    mesh = ax.imshow(act.T, origin="lower", aspect="auto", cmap="inferno", extent=extent,
                     vmin=0.0, vmax=1.0, interpolation="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        track = np.where(frequency > 0, 1200.0 * np.log2(frequency / 10.0), np.nan)
    ax.plot(time, track, color="cyan", linewidth=0.6, alpha=0.45, label="f0 (all frames)")
    if confidence is not None:
        voiced = np.where(np.asarray(confidence) >= voicing_threshold, track, np.nan)
        ax.plot(time, voiced, color="cyan", linewidth=1.4,
                label=f"f0, confidence >= {voicing_threshold:g}")
    ticks = [hz for hz in _PITCH_TICK_HZ if cents[0] <= 1200 * np.log2(hz / 10.0) <= cents[-1]]
    ax.set_yticks([1200 * np.log2(hz / 10.0) for hz in ticks])
    ax.set_yticklabels([f"{hz:g}" for hz in ticks])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch (Hz, log scale)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.6)
    fig.colorbar(mesh, ax=ax, label="activation")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# Speaker verification: DET curves on normal-deviate (probit) axes
# --------------------------------------------------------------------------------------

# Error rates labelled on DET axes (fractions), as in NIST's DET plots.
_DET_TICKS = (0.0001, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9,
              0.95, 0.99)


def probit(p: np.ndarray | float) -> np.ndarray:
    """The standard normal quantile ``Phi^-1(p)`` (the DET axes' warping), elementwise.

    Args:
        p: probabilities in (0, 1).

    Returns:
        float64 array of the same shape.

    Example:
        >>> float(probit(0.5)), round(float(probit(0.975)), 4)
        (0.0, 1.96)
    """
    from statistics import NormalDist

    p = np.asarray(p, dtype=np.float64)
    if np.any(~((p > 0) & (p < 1))):
        raise ValueError("probit needs probabilities strictly between 0 and 1")
    return np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])(p)


def save_det_curve(
    path: str,
    curves: dict,
    title: str | None = None,
    p_target: float = 0.01,
    limits: tuple[float, float] = (0.0005, 0.95),
) -> str:
    """Writes detection error trade-off curves (Martin et al., "The DET curve in assessment
    of detection task performance", Eurospeech 1997) to a PNG.

    Both axes are error rates on the normal-deviate scale (``probit``): normally
    distributed target and non-target scores give straight lines. Each curve's EER point
    (dot) and minimum-DCF point (cross) are marked and listed in the legend. Rates of 0
    or 1 (at infinity on the probit scale) run off the axes.

    Args:
        path: output PNG path.
        curves: ``{name: (scores, labels)}``, one entry per system (see
            :func:`tfaudio.metrics.det_curve`).
        title: figure title (default ``"DET curve"``).
        p_target: target prior of the marked minDCF.
        limits: ``(low, high)`` error-rate range of both axes, in (0, 1).

    Returns:
        ``path``.

    Example:
        >>> save_det_curve("det.png", {"ecapa": (scores, labels)})  # doctest: +SKIP
        'det.png'
    """
    from tfaudio import metrics

    if not curves:
        raise ValueError("curves is empty: give {name: (scores, labels)}")
    low, high = float(limits[0]), float(limits[1])
    if not 0.0 < low < high < 1.0:
        raise ValueError(f"limits={limits!r}: need 0 < low < high < 1")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 6.0))

    def warp(p):  # 0 and 1 far outside the axes, so the lines leave the plot there
        return probit(np.clip(np.asarray(p, np.float64), 1e-12, 1.0 - 1e-12))

    for name, (scores, labels) in curves.items():
        p_fa, p_miss, thresholds = metrics.det_curve(scores, labels)
        rate, _ = metrics.eer(scores, labels)
        cost, threshold = metrics.min_dcf(scores, labels, p_target=p_target)
        # The curve from the reject-all point (0, 1) through every operating point.
        xs, ys = np.r_[p_fa, 0.0], np.r_[p_miss, 1.0]
        (line,) = ax.plot(warp(xs), warp(ys), linewidth=1.5,
                          label=f"{name}: EER {100 * rate:.2f} %, minDCF({p_target:g}) "
                                f"{cost:.3f}")
        ax.plot(warp(rate), warp(rate), "o", color=line.get_color(), markersize=6)
        if np.isfinite(threshold):
            k = int(np.flatnonzero(thresholds == threshold)[0])
            ax.plot(warp(p_fa[k]), warp(p_miss[k]), "x", color=line.get_color(),
                    markersize=8, mew=2)
    ticks = [t for t in _DET_TICKS if low <= t <= high]
    labels_ = [f"{100 * t:g}" for t in ticks]
    lim = (float(probit(low)), float(probit(high)))
    for set_ticks, set_lim in ((ax.set_xticks, ax.set_xlim), (ax.set_yticks, ax.set_ylim)):
        set_ticks(probit(np.array(ticks)), labels_)
        set_lim(*lim)
    ax.tick_params(labelsize=8)
    ax.plot(lim, lim, color="0.7", linewidth=0.8, linestyle="--", zorder=0)
    ax.grid(True, color="0.85", linewidth=0.6)
    ax.set_xlabel("false alarm rate (%)")
    ax.set_ylabel("miss rate (%)")
    ax.set_aspect("equal")
    ax.set_title(title or "DET curve")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
