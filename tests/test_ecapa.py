"""ECAPA-TDNN and x-vector: parameter counts against the papers, the blocks against NumPy
statements of their formulas, the front end against librosa, batch-composition
invariance, .keras and SavedModel round trips, mixed precision.

The blocks also run through the shared harness (tests/cases.py: se_res2_block*,
attentive_stats_pooling*, stats_pooling, utterance_norm*).
"""

import keras
import librosa
import numpy as np
import pytest
import tensorflow as tf

from tfaudio import layers as L
from tfaudio import models

SR = 16000


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("channels,mfa,paper,trainable,total", [
    (512, 1536, 6.2, 6_194_432, 6_234_704),
    (1024, 1536, 14.7, 14_660_800, 14_710_928),
    (1024, 3072, None, 20_767_936, 20_827_280),  # SpeechBrain's 1024-channel recipe
])
def test_ecapa_parameter_counts(channels, mfa, paper, trainable, total):
    model = models.ecapa_tdnn(channels, mfa_channels=mfa)
    assert _trainable(model) == trainable
    assert model.count_params() == total
    # Non-trainable: batch-norm statistics and the 257 x 80 mel filterbank.
    if paper is not None:  # the paper's figure to its 0.1 M rounding
        assert abs(trainable / 1e6 - paper) <= 0.05


def test_xvector_parameter_counts():
    model = models.xvector()
    assert _trainable(model) == 4_211_604 and model.count_params() == 4_224_868
    clf = models.xvector_classifier(100, embedding_model=model)
    # + segment6 BN (2 x 512), segment7 (512 x 512 + 512, BN) and the softmax layer.
    assert _trainable(clf) == 4_211_604 + 1024 + 262_656 + 1024 + 51_300
    assert clf.get_layer("xvector") is model


def test_shapes_and_frontends():
    x = np.random.default_rng(0).normal(scale=0.1, size=(3, 12000)).astype(np.float32)
    for frontend in ("logmel", "mfcc"):
        m = models.ecapa_tdnn(32, embedding_size=16, n_mels=40, frontend=frontend,
                              attention_channels=8, se_channels=8)
        assert m(x).shape == (3, 16) and m(x[:, :4000]).shape == (3, 16)
        assert m.output.dtype == "float32"
    xv = models.xvector(embedding_size=24, width=0.05)
    assert xv(x).shape == (3, 24)
    assert np.all(np.isfinite(xv(x[:, :2240])))  # 15 frames: the shortest input
    assert models.ecapa_tdnn(64, sample_rate=8000, n_mels=40)(x).shape == (3, 192)
    with pytest.raises(ValueError, match="channels=60 must be a multiple of scale=8"):
        models.ecapa_tdnn(60)
    with pytest.raises(ValueError, match="frontend='fbank'"):
        models.ecapa_tdnn(64, frontend="fbank")
    with pytest.raises(ValueError, match="SERes2Block expects frames"):
        models.SERes2Block(16, scale=4)(np.zeros((2, 16), np.float32))


def test_frontend_equals_librosa():
    """80 log-mels from 25 ms windows every 10 ms (n_fft 512), 20-7600 Hz, dB with an
    80 dB floor, minus the utterance mean; the MFCC variant takes the DCT first."""
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    y = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.normal(size=SR)).astype(np.float32)
    mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=SR, n_fft=512,
                                         hop_length=160, win_length=400, n_mels=80, fmin=20.0,
                                         fmax=7600.0)
    db = librosa.power_to_db(mel, top_db=80.0)
    want = (db - db.mean(axis=1, keepdims=True)).T
    feats = keras.Sequential(models.speaker_frontend("logmel"))(y[None])[0].numpy()
    assert feats.shape == (101, 80)
    assert np.abs(feats - want).max() < 1e-3  # dB, float32 vs float64 (measured 2.9e-5)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=80)
    want = (mfcc - mfcc.mean(axis=1, keepdims=True)).T
    feats = keras.Sequential(models.speaker_frontend("mfcc"))(y[None])[0].numpy()
    assert np.abs(feats - want).max() < 1e-4 * np.abs(want).max()  # measured 2.5e-6


def _bn_np(layer, x):
    g, b, m, v = (w.numpy().astype(np.float64) for w in layer.weights)
    return (x - m) / np.sqrt(v + layer.epsilon) * g + b


def _randomise_bn(model_or_layer, seed=0):
    """Moving statistics and affine parameters away from the identity (as after training)."""
    rng = np.random.default_rng(seed)
    for layer in model_or_layer._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.5, 2.0, n)])


def _conv_np(x, kernel, bias, dilation=1):
    """'same' zero-padded dilated conv1d over (frames, C_in), kernel (K, C_in, C_out)."""
    k = kernel.shape[0]
    pad = (k - 1) * dilation // 2
    xp = np.pad(x, ((pad, pad), (0, 0)))
    out = np.zeros((x.shape[0], kernel.shape[2])) + bias
    for j in range(k):
        out += xp[j * dilation: j * dilation + x.shape[0]] @ kernel[j]
    return out


def _w(layer):
    return [w.numpy().astype(np.float64) for w in layer.weights]


def test_se_res2_block_equals_numpy():
    block = models.SERes2Block(32, kernel_size=3, dilation=3, scale=4, se_channels=8)
    x = np.random.default_rng(2).normal(size=(2, 25, 16)).astype(np.float32)
    got = block(x).numpy()
    _randomise_bn(block)
    got = block(x).numpy()
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    for b in range(2):
        xb = x[b].astype(np.float64)
        residual = _conv_np(xb, *_w(block.shortcut))
        h = _bn_np(block.bn1, relu(_conv_np(xb, *_w(block.conv1))))
        groups = np.split(h, 4, axis=1)
        out, y = [groups[0]], None
        for i, (conv, bn) in enumerate(zip(block.res2_convs, block.res2_bns, strict=True)):
            g = groups[i + 1] if y is None else groups[i + 1] + y
            y = _bn_np(bn, relu(_conv_np(g, *_w(conv), dilation=3)))
            out.append(y)
        h = _bn_np(block.bn2, relu(_conv_np(np.concatenate(out, 1), *_w(block.conv2))))
        w1, b1 = _w(block.se_down)
        w2, b2 = _w(block.se_up)
        s = 1 / (1 + np.exp(-(relu(h.mean(0) @ w1 + b1) @ w2 + b2)))
        want = h * s + residual
        np.testing.assert_allclose(got[b], want, rtol=0, atol=2e-5 * np.abs(want).max())


@pytest.mark.parametrize("global_context", [True, False])
def test_attentive_stats_pooling_equals_numpy(global_context):
    layer = models.AttentiveStatsPooling(8, global_context=global_context)
    x = np.random.default_rng(3).normal(size=(2, 30, 12)).astype(np.float32)
    layer(x)
    _randomise_bn(layer)
    got = layer(x).numpy()
    assert got.shape == (2, 24)
    for b in range(2):
        h = x[b].astype(np.float64)
        a = h
        if global_context:
            mu, sd = h.mean(0), h.std(0)
            a = np.concatenate([h, np.tile(mu, (30, 1)), np.tile(sd, (30, 1))], axis=1)
        a = np.tanh(_bn_np(layer.bn, np.maximum(_conv_np(a, *_w(layer.attention)), 0)))
        e = _conv_np(a, *_w(layer.logits))
        alpha = np.exp(e - e.max(0))
        alpha /= alpha.sum(0)
        mean = (alpha * h).sum(0)
        std = np.sqrt((alpha * (h - mean) ** 2).sum(0))
        np.testing.assert_allclose(got[b], np.r_[mean, std], rtol=0, atol=1e-5)


def test_stats_pooling_and_utterance_norm_equal_numpy():
    x = np.random.default_rng(4).normal(size=(3, 17, 5)).astype(np.float32)
    got = models.StatsPooling()(x).numpy()
    np.testing.assert_allclose(got, np.concatenate([x.mean(1), x.std(1)], axis=1), atol=1e-6)
    np.testing.assert_allclose(L.UtteranceNorm()(x), x - x.mean(1, keepdims=True), atol=1e-6)
    want = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    np.testing.assert_allclose(L.UtteranceNorm(variance=True)(x), want, atol=1e-5)


def _small_ecapa(**kw):
    keras.utils.set_random_seed(0)
    model = models.ecapa_tdnn(32, embedding_size=16, n_mels=40, attention_channels=8,
                              se_channels=8, scale=4, **kw)
    _randomise_bn(model, seed=1)
    return model


def test_embedding_does_not_depend_on_the_batch():
    model = _small_ecapa()
    x = np.random.default_rng(5).normal(scale=0.1, size=(5, 8000)).astype(np.float32)
    alone = model(x[:1], training=False).numpy()
    batched = model(x, training=False).numpy()
    assert np.abs(batched[0] - alone[0]).max() <= 1e-5 * np.abs(alone).max()
    reordered = model(x[::-1], training=False).numpy()
    np.testing.assert_allclose(reordered[::-1], batched, rtol=0, atol=1e-5 * np.abs(alone).max())
    # In training mode batch norm uses the batch's statistics: the batch matters there.
    train = model(x, training=True).numpy()
    assert np.abs(train[0] - model(x[:2], training=True).numpy()[0]).max() > 1e-3
    # No length mask (documented): zero padding changes the embedding.
    padded = np.pad(x[:1], ((0, 0), (0, 4000)))
    assert np.abs(model(padded, training=False).numpy() - alone).max() > 1e-3


def test_keras_round_trips(tmp_path):
    x = np.random.default_rng(6).normal(scale=0.1, size=(2, 6000)).astype(np.float32)
    for model in (_small_ecapa(frontend="mfcc"),
                  models.xvector(embedding_size=8, n_mels=20, width=0.05)):
        y = model(x).numpy()
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(loaded(x).numpy(), y)
    # The AAM training model holds the embedding model as a layer; .keras keeps both.
    model = _small_ecapa()
    y = model(x).numpy()
    train = models.with_aam_head(model, 7)
    train.save(tmp_path / "train.keras")
    loaded = keras.saving.load_model(tmp_path / "train.keras")
    np.testing.assert_array_equal(loaded.get_layer(model.name)(x).numpy(), y)


@pytest.mark.slow  # about 10 s: tracing and reloading a SavedModel of ~100 ops
def test_saved_model_export(tmp_path):
    """The embedding model exports as a SavedModel that serves any batch and length
    (a tiny configuration: Res2Net scale 2, so fewer ops to trace)."""
    keras.utils.set_random_seed(0)
    model = models.ecapa_tdnn(16, embedding_size=8, n_mels=20, attention_channels=4,
                              se_channels=4, scale=2)
    _randomise_bn(model)
    model.export(str(tmp_path / "ecapa"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "ecapa"))  # kept alive while serving
    for shape in ((2, 6000), (3, 9001)):
        x = np.random.default_rng(shape[1]).normal(scale=0.1, size=shape).astype(np.float32)
        y = model(x).numpy()
        served = reloaded.serve(tf.constant(x)).numpy()
        np.testing.assert_allclose(served, y, rtol=0, atol=1e-5 * np.abs(y).max())


def test_mixed_precision_embeddings_are_float32_and_close():
    x = np.random.default_rng(7).normal(scale=0.1, size=(2, 8000)).astype(np.float32)
    reference = _small_ecapa()
    y = reference(x).numpy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = models.ecapa_tdnn(32, embedding_size=16, n_mels=40, attention_channels=8,
                                  se_channels=8, scale=4)
        mixed.set_weights(reference.get_weights())
        got = mixed(x)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got.dtype == tf.float32 and np.all(np.isfinite(got))
    # float16 activations through ~10 layers: measured 2.6e-4 of the peak.
    err = np.abs(got.numpy() - y).max() / np.abs(y).max()
    assert err < 5e-3, err
