"""Keras 3 audio layers (thin wrappers over :mod:`tfaudio.ops`).

Every layer is registered for ``.keras`` loading under the ``tfaudio`` package.
"""

from tfaudio.layers.augment_base import AugmentationLayer, Compose, RandomApply
from tfaudio.layers.augment_spec import FrequencyMasking, SpecAugment, TimeMasking, TimeWarp
from tfaudio.layers.augment_wave import (
    AddNoise,
    Mixup,
    PolarityInversion,
    RandomCrop,
    RandomGain,
    RandomShift,
    Reverb,
    SpeedPerturbation,
)
from tfaudio.layers.base import AudioLayer
from tfaudio.layers.features import MFCC, RMS, Delta, LogMelToMFCC, UtteranceNorm
from tfaudio.layers.masks import (
    ApplyComplexMask,
    ChannelMagnitude,
    ChannelsToComplex,
    ComplexToChannels,
    PowerLawCompression,
)
from tfaudio.layers.mel import MelFilterbank, MelSpectrogram
from tfaudio.layers.pitch import NormalizeFrames
from tfaudio.layers.resample import Resample
from tfaudio.layers.scale import (
    AmplitudeToDb,
    Log,
    MuLawDecoding,
    MuLawEncoding,
    OneHot,
    PowerToDb,
)
from tfaudio.layers.spectral import STFT, Frame, InverseSTFT, Pad, Patches, Phase, Spectrogram

__all__ = [
    "AddNoise",
    "ApplyComplexMask",
    "ChannelsToComplex",
    "ChannelMagnitude",
    "ComplexToChannels",
    "PowerLawCompression",
    "AugmentationLayer",
    "Compose",
    "FrequencyMasking",
    "Mixup",
    "PolarityInversion",
    "RandomApply",
    "RandomCrop",
    "RandomGain",
    "RandomShift",
    "Reverb",
    "SpecAugment",
    "SpeedPerturbation",
    "TimeMasking",
    "TimeWarp",
    "MFCC",
    "RMS",
    "STFT",
    "AmplitudeToDb",
    "AudioLayer",
    "Delta",
    "Frame",
    "InverseSTFT",
    "Log",
    "LogMelToMFCC",
    "MelFilterbank",
    "MelSpectrogram",
    "MuLawDecoding",
    "MuLawEncoding",
    "NormalizeFrames",
    "OneHot",
    "Pad",
    "Patches",
    "Phase",
    "PowerToDb",
    "Resample",
    "Spectrogram",
    "UtteranceNorm",
]
