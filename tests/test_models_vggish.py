"""VGGish: front-end parity with the reference recipe, architecture, postprocessor, classifier."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from tests.harness import assert_close
from tests.signals import speech
from tfaudio import models

# `tfaudio.models.vggish` is also the builder function: take the module itself.
V = importlib.import_module("tfaudio.models.vggish")


# ------------------------------------------------------------- the oracle
def _reference_examples(x: np.ndarray, window: int = 400, hop: int = 160, n_fft: int = 512,
                        n_mels: int = 64, f_min: float = 125.0, f_max: float = 7500.0,
                        patch: int = 96) -> np.ndarray:
    """VGGish's waveform_to_examples at 16 kHz, float64 NumPy, written from the spec
    (shared/reference/models-spec.md 1.2-1.3), not from the reference code; the
    keyword arguments change its settings (defaults: VGGish's)."""
    n_frames = 1 + (len(x) - window) // hop
    frames = np.stack([x[i * hop: i * hop + window] for i in range(max(n_frames, 0))])
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)  # periodic
    mag = np.abs(np.fft.rfft(frames * hann, n=n_fft))  # zero-padded at the end
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    bins_mel = mel(np.linspace(0.0, 8000.0, n_fft // 2 + 1))
    edges = np.linspace(mel(f_min), mel(f_max), n_mels + 2)
    fb = np.zeros((n_fft // 2 + 1, n_mels))
    for i in range(n_mels):
        lo, c, hi = edges[i: i + 3]
        fb[:, i] = np.maximum(0.0, np.minimum((bins_mel - lo) / (c - lo), (hi - bins_mel) / (hi - c)))
    fb[0, :] = 0.0
    log_mel = np.log(mag @ fb + 0.01)
    n_ex = 1 + (len(log_mel) - patch) // patch if len(log_mel) >= patch else 0
    return np.stack([log_mel[i * patch: i * patch + patch] for i in range(n_ex)]) if n_ex \
        else np.zeros((0, patch, n_mels))


def _signals():
    t = np.arange(48000) / 16000.0
    rng = np.random.default_rng(0)
    return {
        "sine440": 0.5 * np.sin(2 * np.pi * 440.0 * t),
        "noise": rng.uniform(-1, 1, 48000),
        "quiet_sine": 1e-3 * np.sin(2 * np.pi * 440.0 * t),
        "speech": speech()[0].astype(np.float64),
    }


# ------------------------------------------------------------- front end
@pytest.mark.parametrize("name", sorted(_signals()))
def test_frontend_float64_equals_reference(name):
    x = _signals()[name]
    got = V.vggish_frontend(dtype="float64")(x[None])[0]
    ref = _reference_examples(x)
    assert got.shape == ref.shape and ref.shape[0] >= 3
    assert_close(got, ref, atol=1e-9, what=f"{name} float64")


@pytest.mark.parametrize("name", sorted(_signals()))
def test_frontend_float32_within_1e3(name):
    x = _signals()[name]
    got = V.vggish_frontend()(x[None].astype(np.float32))[0]
    assert_close(got, _reference_examples(x), atol=1e-3, what=f"{name} float32")


@pytest.mark.parametrize("name", ["noise", "speech"])
def test_frontend_other_settings_equal_reference(name):
    """The DSP knobs a [tune] search turns (bands, window, hop, FFT, band edges, patch
    length) keep the recipe: the oracle with the same settings, float64, 1e-9."""
    s = V.LogMel(n_mels=40, window_length=640, hop_length=320, n_fft=1024, f_min=60.0,
                 f_max=8000.0, patch_frames=48)
    x = _signals()[name]
    got = V.vggish_frontend(dtype="float64", log_mel=s)(x[None])[0]
    ref = _reference_examples(x, window=640, hop=320, n_fft=1024, n_mels=40, f_min=60.0,
                              f_max=8000.0, patch=48)
    assert got.shape == ref.shape == (3, 48, 40)
    assert_close(got, ref, atol=1e-9, what=f"{name} other settings")


def test_log_mel_settings_checked():
    with pytest.raises(ValueError, match="n_fft = 256 must be >= window_length = 400"):
        V.LogMel(n_fft=256)
    with pytest.raises(ValueError, match="f_max <= 8000"):
        V.LogMel(f_max=9000.0)
    assert V.LogMel(n_mels=32, hop_length=320, patch_frames=48).min_samples == 15440


def test_classifier_with_other_settings_pads_short_clips():
    s = V.LogMel(n_mels=32, window_length=640, hop_length=320, n_fft=1024, patch_frames=48)
    model = V.vggish_classifier(3, width=0.0625, log_mel=s)
    assert tuple(model.get_layer("vggish").layer.inputs[0].shape) == (None, 48, 32)
    assert tuple(model(np.zeros([2, 40000], np.float32)).shape) == (2, 3)
    assert tuple(model(np.zeros([1, 3000], np.float32)).shape) == (1, 3)  # padded to a patch


def test_mel_matrix_facts():
    """Numbers measured on the reference (models-spec 1.2)."""
    fb = V.vggish_frontend().get_layer("mel")
    fb = np.asarray(keras.ops.convert_to_numpy(fb.filterbank), np.float64)
    from tfaudio.ops.filters import mel_filterbank

    m = mel_filterbank(16000, 512, 64, 125, 7500, htk=True, norm=None, triangles="mel")
    assert abs(m.sum() - 230.9135991608) < 1e-9
    assert abs(m[5, 0] - 0.9476904648) < 1e-9
    rows = np.flatnonzero(m.sum(axis=1))
    assert (rows[0], rows[-1]) == (5, 239)
    assert_close(fb, m, atol=1e-7, what="layer weight")


@pytest.mark.parametrize("samples, patches", [(8000, 0), (15599, 0), (15600, 1), (48000, 3),
                                              (160000, 10)])
def test_frontend_patch_counts(samples, patches):
    out = V.vggish_frontend()(np.zeros([2, samples], np.float32))
    assert tuple(out.shape) == (2, patches, 96, 64)
    assert _reference_examples(np.zeros(samples)).shape[0] == patches


def test_frontend_silence_is_log_offset():
    out = np.asarray(V.vggish_frontend()(np.zeros([1, 16000], np.float32)))
    assert_close(out, np.full(out.shape, np.log(0.01)), atol=1e-6, what="silence")


def test_pad_short_gives_one_patch_equal_to_zero_padding():
    x = _signals()["speech"][:8000].astype(np.float32)
    got = V.vggish_frontend(pad_short=True)(x[None])
    assert tuple(got.shape) == (1, 1, 96, 64)
    ref = _reference_examples(np.pad(x.astype(np.float64), (0, 15600 - 8000)))
    assert_close(got[0], ref, atol=1e-3, what="pad_short")


def test_frontend_variable_length_model():
    front = V.vggish_frontend()
    inp = keras.Input((None,))
    model = keras.Model(inp, front(inp))
    assert model.compute_output_shape((None, None)) == (None, None, 96, 64)
    for n, patches in ((8000, 0), (15600, 1), (160000, 10)):
        assert model.predict(np.zeros([3, n], np.float32), verbose=0).shape == (3, patches, 96, 64)


# ------------------------------------------------------------- network
def test_parameter_count_matches_release():
    assert V.vggish().count_params() == 72_141_184
    assert V.vggish(include_top=True).count_params() == 72_141_184 + 128 * 527 + 527


def test_layer_table():
    model = V.vggish()
    kernels = {w.path.split("/")[0]: tuple(w.shape) for w in model.weights
               if w.path.endswith("kernel")}
    assert kernels == {
        "conv1": (3, 3, 1, 64), "conv2": (3, 3, 64, 128), "conv3_1": (3, 3, 128, 256),
        "conv3_2": (3, 3, 256, 256), "conv4_1": (3, 3, 256, 512), "conv4_2": (3, 3, 512, 512),
        "fc1_1": (12288, 4096), "fc1_2": (4096, 4096), "fc2": (4096, 128),
    }
    assert model.get_layer("fc2").activation is keras.activations.linear  # no ReLU
    assert model.get_layer("pool4").output.shape[1:] == (6, 4, 512)


def test_width_multiplier_and_batch_norm():
    small = V.vggish(width=0.25, batch_norm=True)
    assert small.get_layer("conv1").filters == 16 and small.get_layer("fc1_1").units == 1024
    assert small.output.shape[-1] == 128
    assert small.count_params() < V.vggish().count_params() / 10
    with pytest.raises(ValueError, match="width"):
        V.vggish(width=0)


# ------------------------------------------------------------- postprocessor
def test_postprocess_quantisation():
    q = V.vggish_postprocess(np.array([[-2.0, 0.0, 2.0, 5.0, -5.0]]), (np.eye(5), np.zeros(5)))
    assert q.dtype == np.uint8
    assert q.tolist() == [[0, 127, 255, 255, 0]]


def test_postprocess_applies_pca_from_file(tmp_path):
    rng = np.random.default_rng(1)
    e = rng.standard_normal((500, 8)) @ rng.standard_normal((8, 8)) + 3.0
    vectors, means = V.compute_pca_params(e)
    p = (e - means) @ vectors.T
    assert_close(np.cov(p, rowvar=False), np.eye(8), atol=1e-9, what="whitened covariance")
    path = str(tmp_path / "pca.npz")
    np.savez(path, pca_eigen_vectors=vectors, pca_means=means[:, None])  # released: (D, 1)
    q = V.vggish_postprocess(e, path)
    expected = np.floor((np.clip(p, -2, 2) + 2) * 255 / 4)
    np.testing.assert_array_equal(q, expected.astype(np.uint8))


def test_postprocess_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        V.load_pca_params(str(tmp_path / "missing.npz"))
    bad = str(tmp_path / "bad.npz")
    np.savez(bad, means=np.zeros(3))
    with pytest.raises(ValueError, match="pca_eigen_vectors"):
        V.load_pca_params(bad)
    with pytest.raises(ValueError, match="expect 3"):
        V.vggish_postprocess(np.zeros((1, 4)), (np.eye(3), np.zeros(3)))


# ------------------------------------------------------------- classifier
@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_classifier_shapes_for_any_length(pooling):
    model = models.vggish_classifier(5, pooling=pooling, width=0.125)
    for n in (8000, 15600, 40000, 160000):
        probs = model.predict(np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
                              * 0.1, verbose=0)
        assert probs.shape == (2, 5)
        assert_close(probs.sum(axis=1), np.ones(2), atol=1e-5, what=f"{n} softmax")


def test_classifier_multi_label_and_resampling():
    model = models.vggish_classifier(7, multi_label=True, width=0.125, sample_rate=22050)
    probs = model.predict(np.zeros((2, 22050), np.float32), verbose=0)
    assert probs.shape == (2, 7) and np.all((probs > 0) & (probs < 1))
    assert model.get_layer("resample") is not None


def test_classifier_mean_pooling_is_mean_of_patch_logits():
    model = models.vggish_classifier(4, width=0.125)
    x = np.random.default_rng(0).standard_normal((1, 48000)).astype(np.float32) * 0.1
    patches = models.vggish_frontend(pad_short=True)(x)
    emb = model.get_layer("vggish").layer(patches[0])
    logits = np.asarray(model.get_layer("patch_logits")(emb)).mean(axis=0)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert_close(model.predict(x, verbose=0)[0], expected, atol=1e-6, what="mean pooling")


def test_attention_pooling_with_equal_attention_is_mean():
    layer = models.AttentionPooling(3)
    e = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    layer.build(e.shape)
    layer.attention.kernel.assign(np.zeros((8, 3), np.float32))
    z = np.asarray(layer.scores(e))
    assert_close(layer(e), z.mean(axis=1), atol=1e-6, what="attention == mean")


def test_augmentation_is_training_only():
    from tfaudio import layers as L

    model = models.vggish_classifier(
        3, width=0.125, waveform_augmentation=[L.AddNoise((0.0, 5.0), seed=1)],
        spectrogram_augmentation=[L.SpecAugment(8, 10, seed=2)])
    plain = models.vggish_classifier(3, width=0.125)
    for name in ("vggish", "patch_logits"):
        plain.get_layer(name).set_weights(model.get_layer(name).get_weights())
    x = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32) * 0.1
    assert_close(model(x, training=False), plain(x, training=False), atol=1e-6,
                 what="inference without augmentation")
    assert np.max(np.abs(np.asarray(model(x, training=True)) -
                         np.asarray(model(x, training=False)))) > 1e-4


def test_classifier_saves_and_loads(tmp_path):
    model = models.vggish_classifier(3, width=0.125, pooling="attention", batch_norm=True)
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    x = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32) * 0.1
    assert_close(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6,
                 what=".keras round trip")


def test_classifier_errors():
    with pytest.raises(ValueError, match="pooling"):
        models.vggish_classifier(3, pooling="max")
    with pytest.raises(TypeError, match="num_classes"):
        models.vggish_classifier(2.5)
