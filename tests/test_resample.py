"""Resampling (tfaudio.ops.resample, tfaudio.layers.Resample), tested by property.

The layer's config, .keras, export, tf.data, XLA, mixed precision and multichannel
checks run in the shared harness (cases ``resample_*`` in tests/cases.py); this file
checks the signal processing: the acceptance numbers of the filter, agreement with
scipy, alignment, lengths and errors.

How the filter is measured (``_measure``): unit-amplitude cosines of known frequency,
0.5 s long, go through ``resample`` as one batch; ``_margin`` output samples (twice the
filter's half-length) are dropped at each end so only the steady state is measured.
  * passband gain: a least-squares fit of ``a cos + b sin`` at the tone frequency on the
    output, gain = ``hypot(a, b)``; ripple = max |20 log10 gain| over tones from 50 Hz to
    0.9 x the lower Nyquist (so the peak-to-peak ripple is at most twice that);
  * stopband, downsampling: tones from just above the new Nyquist up to the input's
    Nyquist; everything left at the output is alias, so the level is the output's RMS
    times sqrt(2) (the amplitude of a sinusoid with that power) relative to the input
    amplitude 1, whatever frequency the alias lands on;
  * stopband, upsampling: tones across the whole input band; the fitted tone is removed
    and the residual's RMS * sqrt(2) is the level of the images above the old Nyquist.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import signal

from tfaudio.layers import Resample
from tfaudio.ops import resample, resample_kernel, resampled_length

RIPPLE_DB = 0.1
STOPBAND_DB = -80.0
RATIOS = [(44100, 16000), (22050, 16000), (16000, 48000), (48000, 44100)]


def _margin(orig_sr: int, target_sr: int) -> int:
    """Twice the filter's half-length (48 samples of the lower rate) in output samples."""
    return 2 * math.ceil(48 * target_sr / min(orig_sr, target_sr)) + 2


def _fit(y: np.ndarray, freq: float, sr: int) -> tuple[float, np.ndarray]:
    """Least-squares amplitude of a sinusoid at ``freq`` in each row and the residuals."""
    k = np.arange(y.shape[-1])
    basis = np.stack([np.cos(2 * np.pi * freq * k / sr), np.sin(2 * np.pi * freq * k / sr)], 1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(*coef)), y - basis @ coef


def _measure(orig_sr: int, target_sr: int) -> tuple[float, float]:
    """(max passband deviation in dB, worst stopband level in dB) measured on tones."""
    lower_nyq = min(orig_sr, target_sr) / 2
    n = orig_sr // 2
    t = np.arange(n) / orig_sr
    pass_f = np.linspace(50.0, 0.9 * lower_nyq, 40)
    if target_sr < orig_sr:  # aliases of tones above the new Nyquist
        stop_f = np.linspace(lower_nyq + 1.0, orig_sr / 2 - 1.0, 60)
    else:  # images of every input tone, up to just below the old Nyquist
        stop_f = np.linspace(50.0, orig_sr / 2 - 1.0, 60)
    freqs = np.concatenate([pass_f, stop_f])
    x = np.cos(2 * np.pi * freqs[:, None] * t).astype(np.float32)
    y = resample(x, orig_sr, target_sr).numpy().astype(np.float64)
    m = _margin(orig_sr, target_sr)
    y = y[:, m:-m]
    gains = [_fit(row, f, target_sr)[0] for row, f in zip(y[: len(pass_f)], pass_f, strict=True)]
    ripple = float(np.max(np.abs(20 * np.log10(gains))))
    leaks = []
    for row, f in zip(y[len(pass_f):], stop_f, strict=True):
        rest = row if target_sr < orig_sr else _fit(row, f, target_sr)[1]
        leaks.append(np.sqrt(2 * np.mean(rest**2)))
    return ripple, float(20 * np.log10(max(leaks)))


@pytest.mark.parametrize("orig_sr,target_sr", RATIOS)
def test_passband_ripple_and_stopband_attenuation(orig_sr, target_sr):
    ripple, stop = _measure(orig_sr, target_sr)
    print(f"{orig_sr}->{target_sr}: ripple {ripple:.4f} dB, stopband {stop:.1f} dB")
    assert ripple <= RIPPLE_DB, f"passband ripple {ripple:.4f} dB > {RIPPLE_DB} dB"
    assert stop <= STOPBAND_DB, f"stopband level {stop:.1f} dB > {STOPBAND_DB} dB"


def _band_limited(sr_low: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies, phases and amplitudes of 12 tones in [0.05, 0.8] x the lower Nyquist."""
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(0.05, 0.8, 12) * sr_low / 2
    return freqs, rng.uniform(0, 2 * np.pi, 12), rng.uniform(0.02, 0.1, 12)


def _tones(freqs, phases, amps, times) -> np.ndarray:
    return np.sum(amps[:, None] * np.cos(2 * np.pi * freqs[:, None] * times + phases[:, None]), 0)


@pytest.mark.parametrize("orig_sr,target_sr", RATIOS + [(8000, 16000)])
def test_agrees_with_scipy_and_the_true_band_limited_signal(orig_sr, target_sr):
    # Band-limited input: a sum of tones below 0.8 x the lower Nyquist, where both
    # filters are flat. Away from the ends (the filters differ there and in the
    # transition band):
    #   * vs scipy.signal.resample_poly: <= 2.5e-3 x the peak (measured 0.6-1.3e-3;
    #     that is scipy's filter, Kaiser beta 5 with 10 zero crossings, whose gain is
    #     off by up to 2e-3 below 0.8 x Nyquist);
    #   * vs the analytic signal at the output times k / target_sr: <= 1e-4 x the peak
    #     (measured ~2e-5): our passband is flat and the output has no delay.
    n = orig_sr // 4
    freqs, phases, amps = _band_limited(min(orig_sr, target_sr), n, seed=orig_sr + target_sr)
    x = _tones(freqs, phases, amps, np.arange(n) / orig_sr)
    y = resample(x.astype(np.float32), orig_sr, target_sr).numpy()
    g = math.gcd(orig_sr, target_sr)
    ref = signal.resample_poly(x, target_sr // g, orig_sr // g)
    assert y.shape == ref.shape
    truth = _tones(freqs, phases, amps, np.arange(len(y)) / target_sr)
    m = _margin(orig_sr, target_sr) * 3  # scipy's filter is longer in time near 0.8 x
    peak = np.max(np.abs(truth))
    err_scipy = np.max(np.abs(y - ref)[m:-m]) / peak
    err_truth = np.max(np.abs(y - truth)[m:-m]) / peak
    print(f"{orig_sr}->{target_sr}: vs resample_poly {err_scipy:.2e}, vs truth {err_truth:.2e}")
    assert err_scipy <= 2.5e-3
    assert err_truth <= 1e-4


@pytest.mark.parametrize("orig_sr,target_sr", RATIOS + [(8000, 16000), (16000, 8000)])
def test_output_length_formula(orig_sr, target_sr):
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    kernel = resample_kernel(up, down)
    lengths = sorted({1, 2, 3, 5, down - 1, down, down + 1, kernel.width - 1, kernel.width,
                      kernel.width + 1, 2 * kernel.hop + 7, 1000, 4410} - {0})
    dynamic = tf.function(lambda v: resample(v, orig_sr, target_sr),
                          input_signature=[tf.TensorSpec([None, None], tf.float32)])
    rng = np.random.default_rng(0)
    for n in lengths:
        want = -(-n * up // down)
        assert want == math.ceil(n * target_sr / orig_sr)
        assert resampled_length(n, orig_sr, target_sr) == want
        x = rng.standard_normal((2, n)).astype(np.float32)
        y = resample(x, orig_sr, target_sr)
        assert tuple(y.shape) == (2, want), f"n={n}"
        assert len(signal.resample_poly(x[0], up, down)) == want
        assert tuple(dynamic(x).shape) == (2, want), f"n={n} (dynamic length)"
        # Short inputs are the same signal as when followed by zeros, up to float32
        # rounding of a different summation order (measured 1.3e-6 on an AVX2 CPU for
        # values up to ~4, 0 on AVX-512).
        longer = np.pad(x, [(0, 0), (0, kernel.width + 2 * kernel.hop)])
        np.testing.assert_allclose(
            y.numpy(), resample(longer, orig_sr, target_sr).numpy()[:, :want], atol=4e-6
        )
    layer = Resample(orig_sr, target_sr)
    assert layer.compute_output_shape((None, None)) == (None, None)
    assert layer.compute_output_shape((4, 999, 2)) == (4, resampled_length(999, orig_sr,
                                                                            target_sr), 2)
    assert resampled_length(None, orig_sr, target_sr) is None


def test_identity_when_rates_are_equal():
    x = np.random.default_rng(1).standard_normal((2, 777)).astype(np.float32)
    np.testing.assert_array_equal(resample(x, 16000, 16000).numpy(), x)
    np.testing.assert_array_equal(Resample(22050, 22050)(x[..., None]).numpy(), x[..., None])
    np.testing.assert_array_equal(resample(x.astype(np.float64), 8000, 8000).numpy(), x)


def test_leading_axes_and_unbatched_input():
    x = np.random.default_rng(2).standard_normal((2, 3, 1500)).astype(np.float32)
    y = resample(x, 48000, 44100).numpy()
    assert y.shape == (2, 3, resampled_length(1500, 48000, 44100))
    for i in range(2):
        for c in range(3):
            np.testing.assert_allclose(y[i, c], resample(x[i, c], 48000, 44100).numpy(),
                                       atol=1e-6)
    # The layer's channels axis is last: each channel is resampled on its own.
    layer = Resample(22050, 16000)
    wave = np.moveaxis(x[0], 0, -1)[None]  # (1, 1500, 3)
    out = layer(wave).numpy()
    for c in range(3):
        np.testing.assert_allclose(out[0, :, c], resample(x[0, c], 22050, 16000).numpy(),
                                   atol=1e-6)


def test_xla_and_tf_data_with_variable_lengths():
    rng = np.random.default_rng(3)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (1, 441, 2000, 4410)]
    compiled = tf.function(lambda v: resample(v, 44100, 16000), jit_compile=True)
    ds = tf.data.Dataset.from_generator(lambda: iter(clips),
                                        output_signature=tf.TensorSpec([None], tf.float32))
    mapped = list(ds.map(lambda v: resample(v, 44100, 16000)))
    for clip, from_ds in zip(clips, mapped, strict=True):
        eager = resample(clip, 44100, 16000).numpy()
        np.testing.assert_allclose(compiled(clip).numpy(), eager, atol=1e-5)
        np.testing.assert_allclose(from_ds.numpy(), eager, atol=1e-6)


def test_kernel_is_cached_and_read_only():
    k = resample_kernel(160, 441)
    assert resample_kernel(160, 441) is k
    assert not k.matrix.flags.writeable
    assert k.matrix.dtype == np.float32 and k.matrix.shape[1] == 160 * k.blocks


@pytest.mark.parametrize("bad", [0, -16000])
def test_non_positive_rates(bad):
    with pytest.raises(ValueError, match=f"orig_sr={bad}"):
        resample(np.zeros(10, np.float32), bad, 16000)
    with pytest.raises(ValueError, match=f"target_sr={bad}"):
        Resample(16000, bad)


@pytest.mark.parametrize("bad", [16000.0, "16k", True, None])
def test_non_integer_rates(bad):
    with pytest.raises(TypeError, match="target_sr must be an integer"):
        resample(np.zeros(10, np.float32), 16000, bad)
    with pytest.raises(TypeError, match="orig_sr must be an integer"):
        Resample(bad, 16000)


def test_too_large_ratio_names_both_rates():
    with pytest.raises(ValueError, match=r"orig_sr=44100 -> target_sr=44101 .*<= 4096"):
        resample(np.zeros(10, np.float32), 44100, 44101)
    with pytest.raises(ValueError, match=r"orig_sr=8191 -> target_sr=2"):
        Resample(8191, 2)
    Resample(4096, 4095)  # the largest accepted factors


def test_float_input_required():
    pcm = np.zeros((1, 100), np.int16)
    with pytest.raises(TypeError, match="int16"):
        resample(pcm, 44100, 16000)
    with pytest.raises(TypeError, match="int32"):
        Resample(44100, 16000)(pcm.astype(np.int32))
    with pytest.raises(ValueError, match="rank"):
        resample(np.float32(1.0), 44100, 16000)
