"""Separation losses: PermutationInvariantSISDRLoss and PowerLawSpectrogramLoss (issue 13)."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfaudio import metrics, ops
from tfaudio.data.speakers import synth_utterances
from tfaudio.models import PermutationInvariantSISDRLoss, PowerLawSpectrogramLoss
from tfaudio.models.separation_losses import si_sdr as si_sdr_tf


def _si_sdr_np(r, e, eps=1e-8):
    """The loss's eps-stabilised SI-SDR, float64 NumPy (zero-mean)."""
    r, e = np.asarray(r, np.float64), np.asarray(e, np.float64)
    r, e = r - r.mean(), e - e.mean()
    t = (e @ r) / (r @ r + eps) * r
    return 10 * np.log10((t @ t + eps) / ((e - t) @ (e - t) + eps))


@pytest.fixture(scope="module")
def sources():
    audio, _ = synth_utterances([0, 1, 2, 3], [0, 0, 1, 1], seconds=0.5)
    refs = audio.reshape(2, 2, -1).astype(np.float32)  # (batch 2, speakers 2, time)
    rng = np.random.default_rng(0)
    est = (refs + 0.05 * rng.standard_normal(refs.shape)).astype(np.float32)
    return refs, est


# ------------------------------------------------------------------------------ SI-SDR PIT
def test_si_sdr_tf_equals_numpy(sources):
    refs, est = sources
    got = si_sdr_tf(refs, est).numpy()
    want = np.array([[_si_sdr_np(refs[b, i], est[b, i]) for i in range(2)] for b in range(2)])
    np.testing.assert_allclose(got, want, atol=1e-3)  # float32 sums over 8000 samples
    np.testing.assert_allclose(got, metrics.si_sdr(refs, est), atol=1e-3)


def test_pit_loss_equals_numpy_statement(sources):
    refs, est = sources
    est = est[:, ::-1]  # the estimate's speakers swapped
    loss = PermutationInvariantSISDRLoss(reduction=None)(refs, est).numpy()
    want = [-max(np.mean([_si_sdr_np(refs[b, i], est[b, p[i]]) for i in range(2)])
                 for p in itertools.permutations(range(2))) for b in range(2)]
    np.testing.assert_allclose(loss, want, atol=1e-3)
    values, _ = metrics.pit_si_sdr(refs, est)
    np.testing.assert_allclose(loss, -values.mean(axis=1), atol=1e-3)
    mean = PermutationInvariantSISDRLoss()(refs, est).numpy()
    assert mean == pytest.approx(np.mean(want), abs=1e-3)


def test_pit_loss_is_permutation_invariant():
    rng = np.random.default_rng(1)
    refs = rng.standard_normal((3, 3, 1000)).astype(np.float32)
    est = (refs + 0.5 * rng.standard_normal(refs.shape)).astype(np.float32)
    loss = PermutationInvariantSISDRLoss(reduction=None)
    base = loss(refs, est).numpy()
    for perm in itertools.permutations(range(3)):
        np.testing.assert_allclose(loss(refs, est[:, list(perm)]).numpy(), base, rtol=1e-6,
                                   atol=1e-5)


def test_pit_loss_gradients_finite_with_a_silent_source(sources):
    refs, est = sources
    refs = refs.copy()
    refs[0, 1] = 0.0  # a silent speaker
    est = est.copy()
    est[1, 0] = 0.0  # a silent estimate
    x = tf.constant(est)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = PermutationInvariantSISDRLoss()(refs, x)
    g = tape.gradient(value, x).numpy()
    assert np.isfinite(value.numpy()) and np.all(np.isfinite(g)) and np.abs(g).max() > 0


# ------------------------------------------------------------------------------ power law
def _power_law_np(x, power=0.3):
    s = ops.stft(x, n_fft=512, hop_length=160, win_length=400).numpy().astype(np.complex128)
    return np.abs(s) ** power * np.exp(1j * np.angle(s))


def test_power_law_loss_equals_numpy_statement(sources):
    refs, est = sources
    loss = PowerLawSpectrogramLoss(reduction=None)(refs, est).numpy()
    diff = np.abs(_power_law_np(refs) - _power_law_np(est)) ** 2  # (batch, spk, frames, bins)
    want = diff.mean(axis=(2, 3)).sum(axis=1)
    np.testing.assert_allclose(loss, want, rtol=1e-4)
    assert PowerLawSpectrogramLoss()(refs, refs).numpy() == 0.0
    # Not permutation-invariant by design (one output stream per face in Looking to Listen).
    assert PowerLawSpectrogramLoss()(refs, refs[:, ::-1]).numpy() > 0.1


def test_power_law_loss_gradients_finite_with_a_silent_source(sources):
    refs, est = sources
    refs = refs.copy()
    refs[0, 1] = 0.0
    x = tf.constant(est)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = PowerLawSpectrogramLoss()(refs, x)
    g = tape.gradient(value, x).numpy()
    assert np.isfinite(value.numpy()) and np.all(np.isfinite(g)) and np.abs(g).max() > 0


# ------------------------------------------------------------------------------ Keras
@pytest.mark.parametrize("loss", [PermutationInvariantSISDRLoss(zero_mean=False, eps=1e-6),
                                  PowerLawSpectrogramLoss(power=0.5, n_fft=256, hop_length=64,
                                                          win_length=200)],
                         ids=["pit_si_sdr", "power_law"])
def test_losses_serialise_and_compile(loss, sources, tmp_path):
    refs, est = sources
    config = loss.get_config()
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == config
    np.testing.assert_allclose(restored(refs, est), loss(refs, est), rtol=1e-6)
    # A trivial trainable model (a gain per speaker) compiles, runs a step, saves and reloads.
    inp = keras.Input((2, refs.shape[-1]))
    out = keras.layers.Dense(1, use_bias=False)(inp[..., None])[..., 0]
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss=loss)
    step = model.train_on_batch(est, refs)
    assert np.isfinite(step)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.loss) is type(loss) and loaded.loss.get_config() == config


def test_loss_errors_name_the_argument():
    with pytest.raises(ValueError, match="power"):
        PowerLawSpectrogramLoss(power=0.0)
    with pytest.raises(ValueError, match="n_fft"):
        PowerLawSpectrogramLoss(n_fft=0)
    with pytest.raises(ValueError, match="eps"):
        PermutationInvariantSISDRLoss(eps=-1.0)
    with pytest.raises(ValueError, match="y_true and y_pred"):
        PermutationInvariantSISDRLoss()(np.zeros((2, 2, 100), np.float32),
                                        np.zeros((2, 3, 100), np.float32))
    with pytest.raises(ValueError, match=r"\(batch, speakers, time\)"):
        PowerLawSpectrogramLoss()(np.zeros((2, 2, 2, 100), np.float32),
                                  np.zeros((2, 2, 2, 100), np.float32))
