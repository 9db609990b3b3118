"""Spectrogram augmentation: identity at inference, seeds, statistics, training, tf.data.

The shared harness (tests/cases.py) covers config/.keras/export/XLA/mixed precision of
the inference path; these tests cover the random (training) path.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import Recorder
from tfaudio import layers as L
from tfaudio import ops
from tfaudio.ops import augment as A

SPEC_LAYERS = {
    "freq": lambda seed: L.FrequencyMasking(10, n_masks=2, seed=seed),
    "time": lambda seed: L.TimeMasking(12, n_masks=2, seed=seed),
    "warp": lambda seed: L.TimeWarp(6, seed=seed),
    "specaug": lambda seed: L.SpecAugment(10, 12, time_warp_param=5, seed=seed),
}


def _spec(batch=6, frames=60, bins=40, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch, frames, bins) + (() if channels is None else (channels,))
    return (rng.random(shape) + 1.0).astype(np.float32)  # never equal to mask_value 0


@pytest.mark.parametrize("name", sorted(SPEC_LAYERS))
def test_identity_when_not_training(name):
    layer = SPEC_LAYERS[name](0)
    x = _spec()
    for training in (None, False):
        np.testing.assert_array_equal(layer(x, training=training), x)
    model = keras.Sequential([keras.Input((None, 40)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("name", sorted(SPEC_LAYERS))
def test_seeded_per_example_and_per_step(name):
    x = np.repeat(_spec(batch=1), 6, axis=0)  # six identical examples
    a, b = SPEC_LAYERS[name](7), SPEC_LAYERS[name](7)
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, b(x, training=True))  # same seed, fresh layers
    assert not np.array_equal(first, x)
    # Per example: the identical inputs come out different.
    assert len({first[i].tobytes() for i in range(6)}) == 6
    # Per step: the next call draws again.
    assert not np.array_equal(first, a(x, training=True))
    # Different seed, different draw.
    assert not np.array_equal(first, SPEC_LAYERS[name](8)(x, training=True))


def _masked_widths(out, axis):
    """Masked positions per example along ``axis`` (1 = frames, 2 = bins) with one mask."""
    masked = out == 0.0
    other = 2 if axis == 1 else 1
    return masked.all(axis=other).sum(axis=1)


@pytest.mark.parametrize("kind", ["freq", "time"])
def test_mask_widths_uniform(kind):
    """One mask, max_width 10: widths measured on the output are uniform on {0..10}."""
    n, w = 5500, 10
    x = np.ones((n, 30, 32), np.float32)
    if kind == "freq":
        layer = L.FrequencyMasking(w, n_masks=1, seed=3)
    else:
        layer = L.TimeMasking(w, n_masks=1, seed=3)
    out = np.asarray(layer(x, training=True))
    widths = _masked_widths(out, 2 if kind == "freq" else 1)
    counts = np.bincount(widths, minlength=w + 1)
    assert len(counts) == w + 1, f"a width above max_width: {counts}"
    expected = n / (w + 1)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 29.6, f"chi2={chi2:.1f} (10 dof, p=0.001 critical 29.6); counts {counts}"
    # Masks are contiguous runs (masked cells cover full rows/columns only).
    masked = out == 0.0
    assert masked.sum() == (widths * (32 if kind == "time" else 30)).sum()


def test_time_mask_max_fraction_caps_width():
    x = np.ones((400, 50, 8), np.float32)
    out = np.asarray(L.TimeMasking(40, max_fraction=0.1, seed=0)(x, training=True))
    widths = _masked_widths(out, 1)
    assert widths.max() == 5 and set(np.unique(widths)) == set(range(6))


def test_span_masks_draws_match_output():
    mask, widths, starts = A.span_masks([1, 2], 300, 50, 7, n_masks=1)
    mask, widths, starts = (np.asarray(t) for t in (mask, widths, starts))
    assert widths.min() == 0 and widths.max() == 7
    assert (starts >= 0).all() and (starts + widths <= 50).all()
    np.testing.assert_array_equal(mask.sum(axis=1), widths[:, 0])


def test_time_warp_identity_shape_and_monotone():
    x = _spec(batch=8, frames=50)
    assert L.TimeWarp(0, seed=0)(x, training=True).shape == x.shape
    np.testing.assert_array_equal(L.TimeWarp(0, seed=0)(x, training=True), x)
    np.testing.assert_array_equal(L.TimeWarp(5, p=0.0, seed=0)(x, training=True), x)
    # A ramp along time reveals the source positions: ends fixed, monotone, warp <= W.
    ramp = np.broadcast_to(np.arange(50, dtype=np.float32)[None, :, None], (64, 50, 3))
    src = np.asarray(ops.time_warp(ramp, [4, 5], max_warp=6))[..., 0]
    np.testing.assert_allclose(src[:, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(src[:, -1], 49.0, atol=1e-4)
    assert (np.diff(src, axis=1) >= -1e-5).all()
    assert np.abs(src - np.arange(50)).max() <= 6.0 + 1e-4
    assert np.abs(src - np.arange(50)).max() > 1.0  # it does warp
    # Short inputs: the warp shrinks to fit, never errors.
    for frames in (1, 2, 3, 5):
        y = L.TimeWarp(10, seed=0)(_spec(frames=frames), training=True)
        assert y.shape[1] == frames and np.all(np.isfinite(y))


def test_channels_share_masks_unless_per_channel():
    x = np.ones((4, 40, 32, 3), np.float32)
    shared = np.asarray(L.SpecAugment(10, 10, seed=1)(x, training=True))
    for c in (1, 2):
        np.testing.assert_array_equal(shared[..., c], shared[..., 0])
    own = np.asarray(L.SpecAugment(10, 10, per_channel=True, seed=1)(x, training=True))
    assert not np.array_equal(own[..., 1], own[..., 0])
    warp = np.asarray(L.TimeWarp(5, seed=1)(np.repeat(_spec(4, channels=1), 2, -1),
                                             training=True))
    np.testing.assert_array_equal(warp[..., 0], warp[..., 1])


def test_p_is_per_example():
    x = np.ones((2000, 20, 16), np.float32)
    out = np.asarray(L.SpecAugment(8, 8, p=0.3, seed=2)(x, training=True))
    touched = (out == 0.0).any(axis=(1, 2)).mean()
    # An applied example is untouched only when all four widths are 0 (1/81).
    assert abs(touched - 0.3 * (1 - 1 / 81)) < 0.035, touched


def test_xla_and_graph_give_the_same_draws():
    x = tf.constant(_spec())
    seed = tf.constant([3, 9], tf.int64)
    fn = lambda t, s: A.spec_augment(t, s, 10, 12, time_warp_param=5)  # noqa: E731
    eager = fn(x, seed)
    xla = tf.function(fn, jit_compile=True)(x, seed)
    np.testing.assert_allclose(xla, eager, atol=1e-5)


def test_dynamic_batch_and_time_graph_and_xla():
    layer = L.SpecAugment(5, 5, time_warp_param=3, seed=0)
    for jit in (False, True):
        fn = tf.function(lambda t: layer(t, training=True), jit_compile=jit,
                         input_signature=[tf.TensorSpec([None, None, 40, None])])
        for shape in ((1, 13, 40, 1), (3, 57, 40, 2)):
            y = fn(tf.ones(shape))
            assert tuple(y.shape) == shape


def test_mixed_precision_training_path():
    x = _spec(channels=2)
    ref = np.asarray(L.SpecAugment(10, 10, time_warp_param=4, seed=5)(x, training=True))
    layer = L.SpecAugment(10, 10, time_warp_param=4, seed=5, dtype="mixed_float16")
    y = layer(tf.cast(x, tf.float16), training=True)
    assert y.dtype == tf.float16
    np.testing.assert_allclose(np.asarray(y, np.float32), ref, rtol=2e-3, atol=2e-3)




def test_new_draws_every_step_in_jit_compiled_fit():
    """Unlike kapre's ChannelSwap, draws do not freeze at trace time under XLA fit."""
    x = np.ones((4, 20, 16), np.float32)
    aug = L.SpecAugment(6, 6, time_warp_param=2, seed=0)
    rec = Recorder((4, 20, 16))
    model = keras.Sequential([keras.Input((20, 16)), aug, rec, keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(
        rec.seen.numpy().copy()))
    model.fit(x, np.zeros((4, 1)), batch_size=4, epochs=4, verbose=0, callbacks=[cb])
    assert len(seen) == 4
    assert len({s.tobytes() for s in seen}) == 4, "the same masks were drawn at two steps"
    assert all((s == 0).any() for s in seen)
    assert int(aug.seed_generator.state.numpy()[1]) == 4
    np.testing.assert_array_equal(model.layers[0](x), x)  # and inference is the identity


def test_tf_data_map_with_layer_seed_generator():
    layer = L.FrequencyMasking(10, n_masks=2, seed=4)
    ds = tf.data.Dataset.from_tensors(_spec()).repeat(3).map(lambda t: layer(t, training=True))
    outs = [np.asarray(b) for b in ds]
    assert len({o.tobytes() for o in outs}) == 3
    again = [np.asarray(b) for b in ds]  # the generator advanced: new epoch, new draws
    assert not any(np.array_equal(a, b) for a, b in zip(outs, again, strict=True))


def test_tf_data_map_with_stateless_seeds_is_reproducible():
    layer = L.SpecAugment(10, 10, time_warp_param=3)
    seeds = tf.data.Dataset.random(seed=11).batch(2)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensors(_spec()).repeat(3), seeds)).map(
        lambda t, s: layer(t, training=True, seed=s))
    first = [np.asarray(b) for b in ds]
    second = [np.asarray(b) for b in ds]
    assert len({o.tobytes() for o in first}) == 3
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make,match", [
    (lambda: L.FrequencyMasking(-1), "max_width=-1"),
    (lambda: L.TimeMasking(5, n_masks=-2), "n_masks=-2"),
    (lambda: L.TimeMasking(5, max_fraction=1.5), "max_fraction=1.5"),
    (lambda: L.TimeWarp(-3), "max_warp=-3"),
    (lambda: L.SpecAugment(freq_mask_param=-5), "freq_mask_param=-5"),
    (lambda: L.SpecAugment(p=1.5), r"p=1\.5.*\[0, 1\]"),
    (lambda: L.FrequencyMasking(3, p=-0.1), r"p=-0\.1"),
])
def test_bad_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_seed_and_rank():
    with pytest.raises(ValueError, match="shape"):
        A.frequency_mask(tf.ones([2, 5, 5]), [1, 2, 3], 2)
    with pytest.raises(ValueError, match="rank"):
        L.SpecAugment()(tf.ones([2, 5]), training=True)
