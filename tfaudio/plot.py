"""Spectrogram pictures (matplotlib, an optional dependency: ``tfaudio[plot]``)."""

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
