"""Stateless TensorFlow audio functions (the single source of tfaudio's math).

Waveforms are ``(..., time)`` and spectrograms ``(..., frames, bins)`` here; the Keras
layers in :mod:`tfaudio.layers` use channels-last layouts on top of these.
"""

from tfaudio.ops.augment import (
    add_noise,
    colored_noise,
    fft_convolve,
    frequency_mask,
    mix_at_snr,
    mixup,
    polarity_inversion,
    random_crop,
    random_gain,
    random_shift,
    reverb,
    spec_augment,
    speed_perturb,
    time_mask,
    time_warp,
    white_noise,
)
from tfaudio.ops.features import (
    apply_filterbank,
    delta,
    melspectrogram,
    mfcc,
    mfcc_from_log_mel,
    rms,
)
from tfaudio.ops.filters import dct_matrix, fft_frequencies, get_window, mel_filterbank
from tfaudio.ops.resample import resample, resample_kernel, resampled_length
from tfaudio.ops.scale import (
    amplitude_to_db,
    db_to_amplitude,
    db_to_power,
    mu_law_decode,
    mu_law_encode,
    power_to_db,
)
from tfaudio.ops.spectral import frame, istft, num_frames, phase, spectrogram, stft

__all__ = [
    "add_noise",
    "colored_noise",
    "fft_convolve",
    "frequency_mask",
    "mix_at_snr",
    "mixup",
    "polarity_inversion",
    "random_crop",
    "random_gain",
    "random_shift",
    "reverb",
    "spec_augment",
    "speed_perturb",
    "time_mask",
    "time_warp",
    "white_noise",
    "amplitude_to_db",
    "apply_filterbank",
    "db_to_amplitude",
    "db_to_power",
    "dct_matrix",
    "delta",
    "fft_frequencies",
    "frame",
    "get_window",
    "istft",
    "mel_filterbank",
    "melspectrogram",
    "mfcc",
    "mfcc_from_log_mel",
    "mu_law_decode",
    "mu_law_encode",
    "num_frames",
    "phase",
    "power_to_db",
    "resample",
    "resample_kernel",
    "resampled_length",
    "rms",
    "spectrogram",
    "stft",
]
