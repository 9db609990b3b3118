"""Model builders that read like their paper's layer table; each takes raw waveforms.

``vggish_frontend``, ``vggish``, ``vggish_classifier`` and the VGGish postprocessor
(:mod:`tfaudio.models.vggish`); shared blocks in :mod:`tfaudio.models.blocks`.
"""

from tfaudio.models.blocks import AttentionPooling, PerPatch
from tfaudio.models.vggish import (
    LogMel,
    compute_pca_params,
    load_pca_params,
    vggish,
    vggish_classifier,
    vggish_frontend,
    vggish_postprocess,
)

__all__ = [
    "LogMel",
    "AttentionPooling",
    "PerPatch",
    "compute_pca_params",
    "load_pca_params",
    "vggish",
    "vggish_classifier",
    "vggish_frontend",
    "vggish_postprocess",
]
