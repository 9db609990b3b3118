"""AAM-softmax (ArcFace) head, loss and margin warm-up against a NumPy statement of the
formula. The shared harness (tests/cases.py, case ``aam_softmax``) covers config, .keras,
export, tf.data, XLA and mixed precision of the layer.

Tolerances (float32 against float64 NumPy): cosines 1e-6 absolute, logits 1e-6 of the
scale (so 3e-5 absolute at s = 30), loss 1e-5 relative.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfaudio import models

M, S = 0.2, 30.0


def np_cosines(x, w):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=0, keepdims=True)
    return x @ w


def np_aam_logits(cos, labels, m=M, s=S, easy=False):
    """ArcFace as written in the paper and SpeechBrain: cos(theta + m) on the target, with
    the threshold (th = cos(pi - m), mm = sin(pi - m) * m) or the easy margin."""
    cos = np.clip(cos.astype(np.float64), -1, 1)
    out = cos.copy()
    for b, y in enumerate(labels):
        c = cos[b, y]
        theta = math.acos(c)
        phi = math.cos(theta + m)
        if easy:
            phi = phi if c > 0 else c
        elif not c > math.cos(math.pi - m):
            phi = c - math.sin(math.pi - m) * m
        out[b, y] = phi
    return s * out


def np_cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def _cosines_with_extremes(rng, batch=64, classes=10):
    cos = rng.uniform(-1, 1, (batch, classes))
    labels = rng.integers(0, classes, batch)
    # Targets at theta = 0, pi, near pi - m (both sides of the threshold) and near 0.
    special = [1.0, -1.0, math.cos(math.pi - M) + 1e-3, math.cos(math.pi - M) - 1e-3,
               1 - 1e-6, -1 + 1e-6, 0.0, 1e-3, -1e-3]
    for i, c in enumerate(special):
        cos[i, labels[i]] = c
    return cos, labels


def test_layer_outputs_cosines():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 16)).astype(np.float32)
    layer = models.AAMSoftmax(5)
    got = np.asarray(layer(x))
    ref = np_cosines(x.astype(np.float64), layer.kernel.numpy().astype(np.float64))
    assert got.shape == (8, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    # Scale invariance of the embedding; an all-zero embedding gives cosines 0.
    np.testing.assert_allclose(layer(7.0 * x), got, rtol=0, atol=1e-6)
    assert np.all(np.asarray(layer(np.zeros((1, 16), np.float32))) == 0.0)
    with pytest.raises(ValueError, match="embeddings \\(batch, features\\)"):
        models.AAMSoftmax(3)(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="num_classes=0"):
        models.AAMSoftmax(0)


@pytest.mark.parametrize("easy", [False, True])
def test_logits_and_loss_equal_the_formula(easy):
    rng = np.random.default_rng(1)
    cos, labels = _cosines_with_extremes(rng)
    cos = cos.astype(np.float32).astype(np.float64)  # the oracle sees the same inputs
    got = np.asarray(models.aam_logits(cos.astype(np.float32), labels, M, S, easy_margin=easy))
    ref = np_aam_logits(cos, labels, easy=easy)
    assert np.abs(got - ref).max() <= 1e-6 * S
    loss = models.AAMSoftmaxLoss(M, S, easy_margin=easy, reduction=None)
    per_example = np.asarray(loss(labels, cos.astype(np.float32)))
    np.testing.assert_allclose(per_example, np_cross_entropy(ref, labels), rtol=1e-5, atol=1e-5)
    mean = float(models.AAMSoftmaxLoss(M, S, easy_margin=easy)(labels[:, None],
                                                               cos.astype(np.float32)))
    assert mean == pytest.approx(np_cross_entropy(ref, labels).mean(), rel=1e-5)


def test_threshold_branch_is_monotonic():
    """Past theta + m > pi the target logit continues as cos - m sin(m) (ArcFace): never
    increasing with the angle, with a small downward step at the threshold, from
    cos(pi) = -1 to -cos(m) - m sin(m) (-1.0199 at m = 0.2)."""
    theta = np.linspace(0, math.pi, 2001)
    cos = np.cos(theta)[:, None].astype(np.float32)
    logit = np.asarray(models.aam_logits(cos, np.zeros(len(theta), int), M, 1.0))[:, 0]
    assert np.all(np.diff(logit) <= 1e-6)
    th = math.pi - M
    i = int(np.flatnonzero(theta > th)[0])  # the first angle past the threshold
    assert logit[i - 1] == pytest.approx(math.cos(theta[i - 1] + M), abs=1e-5)
    assert logit[i] == pytest.approx(math.cos(theta[i]) - M * math.sin(M), abs=1e-5)
    step = math.cos(M) + M * math.sin(M) - 1.0  # 0.0198 at m = 0.2
    assert logit[i - 1] - logit[i] == pytest.approx(step, abs=1e-3)


def test_margin_zero_is_normalised_softmax_times_scale():
    rng = np.random.default_rng(2)
    cos, labels = _cosines_with_extremes(rng)
    c32 = cos.astype(np.float32)
    for easy in (False, True):
        np.testing.assert_array_equal(models.aam_logits(c32, labels, 0.0, S, easy), S * c32)
    loss = models.AAMSoftmaxLoss(0.0, S, reduction=None)(labels, c32)
    plain = keras.losses.sparse_categorical_crossentropy(labels, S * c32, from_logits=True)
    np.testing.assert_allclose(loss, plain, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("easy", [False, True])
def test_gradients_finite_at_theta_zero_and_pi(easy):
    cos = tf.constant([[1.0, 0.3], [-1.0, 0.2], [1 - 1e-7, 0.0], [-1 + 1e-7, 0.5],
                       [math.cos(math.pi - M), 0.1]], tf.float32)
    labels = tf.constant([0, 0, 0, 0, 0])
    loss = models.AAMSoftmaxLoss(M, S, easy_margin=easy)
    with tf.GradientTape() as tape:
        tape.watch(cos)
        value = loss(labels, cos)
    grad = tape.gradient(value, cos).numpy()
    assert np.all(np.isfinite(grad)) and np.isfinite(float(value))
    # Through the layer: an embedding exactly on its class centre (theta = 0) and exactly
    # opposite (theta = pi).
    layer = models.AAMSoftmax(3)
    layer.build((None, 4))
    centres = layer.kernel.numpy().T
    x = tf.constant(np.stack([centres[0], -centres[1]]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(tf.constant([0, 1]), layer(x))
    grads = tape.gradient(value, [x, layer.kernel])
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def _tiny_model(classes=4, features=6, seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((features,))
    emb = keras.layers.Dense(8, name="embed")(inp)
    return keras.Model(inp, models.AAMSoftmax(classes, name="aam")(emb))


def test_margin_warmup_ramps_the_variable_the_compiled_loss_reads():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 6)).astype(np.float32)
    y = rng.integers(0, 4, 24)
    model = _tiny_model()
    loss = models.AAMSoftmaxLoss(M, S)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(loss.margin_variable.numpy()))

    warmup = models.MarginWarmup(loss, warmup_steps=4)
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[warmup, Record()], verbose=0)
    np.testing.assert_allclose(seen, [0.0, 0.05, 0.1, 0.15, 0.2, 0.2], rtol=0, atol=1e-7)
    assert warmup.value(2) == pytest.approx(0.1) and warmup.value(100) == M
    assert models.MarginWarmup(loss, 0).value(0) == M
    # The compiled function reads the variable (it is not a constant baked at trace time).
    expected = {}
    for m in (0.0, M):
        loss.margin_variable.assign(m)
        cos = model.predict(x, verbose=0)
        expected[m] = np_cross_entropy(np_aam_logits(cos, y, m=m), y).mean()
        got = model.evaluate(x, y, batch_size=24, verbose=0)
        assert got == pytest.approx(expected[m], rel=1e-5)
    assert expected[M] > expected[0.0] + 0.1
    with pytest.raises(TypeError, match="AAMSoftmaxLoss"):
        models.MarginWarmup("sparse_categorical_crossentropy", 3)


def test_loss_config_and_keras_round_trip(tmp_path):
    loss = models.AAMSoftmaxLoss(0.3, 20.0, easy_margin=True, name="aam_loss")
    clone = models.AAMSoftmaxLoss.from_config(loss.get_config())
    assert (clone.margin, clone.scale, clone.easy_margin, clone.name) == (0.3, 20.0, True,
                                                                         "aam_loss")
    with pytest.raises(ValueError, match="margin=-0.1"):
        models.AAMSoftmaxLoss(-0.1)
    with pytest.raises(ValueError, match="scale=0"):
        models.AAMSoftmaxLoss(scale=0)
    model = _tiny_model()
    model.compile(optimizer="adam", loss=loss)
    model.optimizer.build(model.trainable_variables)
    x = np.random.default_rng(4).normal(size=(5, 6)).astype(np.float32)
    path = tmp_path / "aam.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.loss, models.AAMSoftmaxLoss) and loaded.loss.margin == 0.3


def test_with_aam_head_shares_the_embedding_weights():
    inp = keras.Input((6,), name="features")
    emb_model = keras.Model(inp, keras.layers.Dense(8)(inp), name="embedder")
    train = models.with_aam_head(emb_model, 5)
    assert train.name == "embedder_aam" and train.output.shape == (None, 5)
    assert train.get_layer("embedder") is emb_model
    x = np.ones((2, 6), np.float32)
    cos = np.asarray(train(x))
    ref = np_cosines(np.asarray(emb_model(x)).astype(np.float64),
                     train.get_layer("aam").kernel.numpy().astype(np.float64))
    np.testing.assert_allclose(cos, ref, rtol=0, atol=1e-6)
