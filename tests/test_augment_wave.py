"""Waveform augmentation: SNR, gain, reverb, shift, crop, mixup, compose, export, errors.

The shared harness (tests/cases.py) covers config/.keras/export/XLA/mixed precision of
the inference path; these tests cover the random (training) path.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import Recorder
from tfaudio import layers as L
from tfaudio.ops import augment as A

SR = 16000


def _wave(batch=8, n=8000, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t)[None] * rng.uniform(0.2, 2.0, (batch, 1))
    x = x + 0.05 * rng.standard_normal((batch, n))
    if channels:
        x = np.stack([x * (c + 1) for c in range(channels)], axis=-1)
    return x.astype(np.float32)


def _snr_db(clean, noisy):
    axes = tuple(range(1, clean.ndim))
    return 10 * np.log10(np.sum(clean.astype(np.float64) ** 2, axes)
                         / np.sum((noisy.astype(np.float64) - clean) ** 2, axes))


def _drawn_snr(seed, batch, lo, hi):
    """The per-example SNR targets that add_noise draws from ``seed`` (its seed split)."""
    _, s_snr, _ = A.split_seed(seed, 3)
    return np.asarray(A._per_example_uniform(s_snr, batch, lo, hi))


@pytest.mark.parametrize("noise", ["white", "pink", "brown", "bank"])
@pytest.mark.parametrize("channels", [None, 2])
def test_add_noise_snr_matches_drawn_target(noise, channels):
    x = _wave(batch=64, channels=channels)
    if channels:
        x = np.transpose(x, (0, 2, 1))  # op layout (batch, channels, time)
    seed = tf.constant([5, 6], tf.int64)
    bank = np.random.default_rng(1).standard_normal((4, 3000)).astype(np.float32)
    y = np.asarray(A.add_noise(x, seed, (-5.0, 25.0), bank if noise == "bank" else noise))
    measured = _snr_db(x, y)
    target = _drawn_snr(seed, 64, -5.0, 25.0)
    err = np.abs(measured - target).max()
    assert err < 0.1, f"max |SNR error| {err:.4f} dB"
    assert measured.min() >= -5.1 and measured.max() <= 25.1
    assert np.ptp(target) > 20  # the range is actually explored


def test_add_noise_layer_snr_range_and_identity():
    x = _wave(batch=200, channels=2)
    layer = L.AddNoise(snr_db=(3.0, 9.0), seed=0)
    np.testing.assert_array_equal(layer(x), x)
    y = np.asarray(layer(x, training=True))
    snr = _snr_db(x, y)
    assert snr.min() > 3.0 - 0.1 and snr.max() < 9.0 + 0.1
    # Uniform on [3, 9]: mean 6, std 6/sqrt(12) = 1.73.
    assert abs(snr.mean() - 6.0) < 0.4 and abs(snr.std() - 1.73) < 0.25
    silent = np.zeros((2, 1000), np.float32)
    np.testing.assert_array_equal(layer(silent, training=True), silent)


def test_noise_statistics():
    w = np.asarray(A.white_noise([1, 2], [8, 65536]), np.float64)
    assert abs(w.mean()) < 0.01 and abs(w.var() - 1) < 0.01
    kurt = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert abs(kurt - 2.92) < 0.03  # near-Gaussian (binomial + jitter), see white_noise
    assert abs(np.corrcoef(w[0, :-1], w[0, 1:])[0, 1]) < 0.01  # white
    assert abs(np.corrcoef(w[0], w[1])[0, 1]) < 0.01  # independent examples
    for color, slope in (("white", 0.0), ("pink", -1.0), ("brown", -2.0)):
        n = np.asarray(A.colored_noise([3, 4], [16, 16384], color), np.float64)
        power = (np.abs(np.fft.rfft(n, axis=-1)) ** 2).mean(0)
        k = np.arange(8, 8000)
        fit = np.polyfit(np.log(k), np.log(power[k]), 1)[0]
        assert abs(fit - slope) < 0.1, (color, fit)


def test_random_gain_within_range():
    x = _wave(batch=500)
    y = np.asarray(L.RandomGain(-9.0, 3.0, seed=1)(x, training=True))
    gain_db = 20 * np.log10(np.abs(y).max(1) / np.abs(x).max(1))
    assert gain_db.min() >= -9.0 - 1e-3 and gain_db.max() <= 3.0 + 1e-3
    assert gain_db.min() < -8.5 and gain_db.max() > 2.5  # the range is covered
    ratio = y / x  # one gain per example
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-4)


def test_reverb_unit_impulse_is_identity_and_keeps_loudness():
    x = _wave(batch=4, channels=2)
    y = L.Reverb([[1.0]], seed=0)(x, training=True)
    np.testing.assert_allclose(y, x, atol=1e-5)
    rng = np.random.default_rng(0)
    rir = np.exp(-np.arange(3000) / 400.0) * rng.standard_normal(3000)
    y = np.asarray(L.Reverb([rir, rir[:500]], seed=0)(x, training=True))
    assert y.shape == x.shape
    np.testing.assert_allclose(np.sqrt((y ** 2).mean((1, 2))), np.sqrt((x ** 2).mean((1, 2))),
                               rtol=1e-4)
    # Same IR on both channels: channel 1 is twice channel 0 in the input and output.
    np.testing.assert_allclose(y[..., 1], 2 * y[..., 0], rtol=1e-3, atol=1e-5)
    ref = np.convolve(x[0, :, 0], rir)[: x.shape[1]]
    cand = [np.convolve(x[0, :, 0], r)[: x.shape[1]] for r in (rir, rir[:500])]
    scaled = [c * np.sqrt((x[0] ** 2).mean() / (np.stack([c, 2 * c], -1) ** 2).mean())
              for c in cand]
    assert min(np.abs(s - y[0, :, 0]).max() for s in scaled) < 1e-3, ref.shape


def test_shift_crop_polarity():
    x = _wave(batch=50, n=1000)
    y = np.asarray(L.RandomShift(0.1, mode="roll", seed=0)(x, training=True))
    shifts = []
    for i in range(50):
        match = [s for s in range(-100, 101) if np.array_equal(np.roll(x[i], s), y[i])]
        assert match, f"example {i} is not a roll within 100 samples"
        shifts.append(match[0])
    assert len(set(shifts)) > 20
    z = np.asarray(L.RandomShift(0.1, mode="zeros", seed=0)(x, training=True))
    for i, s in enumerate(shifts):
        expected = np.roll(x[i], s)
        if s > 0:
            expected[:s] = 0
        elif s < 0:
            expected[s:] = 0
        np.testing.assert_array_equal(z[i], expected)
    c = np.asarray(L.RandomCrop(300, seed=0)(x, training=True))
    assert c.shape == (50, 300)
    for i in range(50):
        starts = [s for s in range(701) if np.array_equal(x[i, s:s + 300], c[i])]
        assert starts
    short = np.asarray(L.RandomCrop(1500, seed=0)(x, training=True))
    np.testing.assert_array_equal(short[:, :1000], x)
    assert not short[:, 1000:].any()
    center = L.RandomCrop(300, inference="center")(x)
    np.testing.assert_array_equal(center, x[:, 350:650])
    pol = np.asarray(L.PolarityInversion(0.5, seed=3)(_wave(batch=400), training=True))
    flipped = np.all(pol == -_wave(batch=400), axis=1)
    same = np.all(pol == _wave(batch=400), axis=1)
    assert np.all(flipped | same) and 0.4 < flipped.mean() < 0.6


def test_mixup_pairs_audio_and_labels():
    x = _wave(batch=16)
    y = tf.one_hot(np.arange(16) % 4, 4)
    layer = L.Mixup(alpha=0.4, seed=0)
    xm, ym = layer((x, y), training=True)
    xm, ym = np.asarray(xm), np.asarray(ym)
    np.testing.assert_allclose(ym.sum(1), 1.0, atol=1e-6)
    assert (ym < 1.0 - 1e-6).any()
    lam = ym[np.arange(16), np.arange(16) % 4]  # weight of the example's own class
    # each output is lam * own + (1 - lam) * partner for some partner in the batch
    for i in range(16):
        if lam[i] > 0.999:
            continue
        partner = (xm[i] - lam[i] * x[i]) / (1 - lam[i])
        assert np.min(np.abs(partner[None] - x).max(1)) < 1e-3
    x0, y0 = layer((x, y))
    np.testing.assert_array_equal(x0, x)
    np.testing.assert_array_equal(y0, y)
    fn = tf.function(lambda a, b, s: A.mixup(a, b, s, 0.4), jit_compile=True)
    xj, _ = fn(tf.constant(x), y, tf.constant([0, 1], tf.int64))
    np.testing.assert_allclose(xj, A.mixup(x, y, [0, 1], 0.4)[0], atol=1e-5)
    lam = np.asarray(A.sample_beta([2, 3], [20000], 0.4))
    assert abs(lam.mean() - 0.5) < 0.01 and abs(lam.var() - 0.25 / 1.8) < 0.01


def test_compose_and_random_apply():
    x = _wave(batch=400, n=500)
    chain = L.Compose([L.RandomGain(-6, 6, seed=1), L.PolarityInversion(1.0, seed=2)], p=0.25,
                      seed=3)
    y = np.asarray(chain(x, training=True))
    changed = ~np.all(y == x, axis=1)
    assert 0.18 < changed.mean() < 0.32
    np.testing.assert_array_equal(chain(x), x)
    ra = L.RandomApply(L.PolarityInversion(1.0), p=0.5, seed=4)
    z = np.asarray(ra(x, training=True))
    flipped = np.all(z == -x, axis=1)
    assert np.all(flipped | np.all(z == x, axis=1)) and 0.4 < flipped.mean() < 0.6
    again = L.Compose.from_config(chain.get_config())
    np.testing.assert_array_equal(again(x, training=True), y)


def test_seeds_per_example_and_step_and_fresh_layers():
    x = np.repeat(_wave(batch=1), 6, axis=0)
    make = lambda: L.Compose([L.RandomGain(-6, 6, seed=1), L.AddNoise((0, 20), seed=2),  # noqa: E731
                              L.RandomShift(0.2, seed=3)])
    a, b = make(), make()
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, b(x, training=True))
    assert len({first[i].tobytes() for i in range(6)}) == 6
    assert not np.array_equal(first, a(x, training=True))




def test_new_draws_every_step_in_jit_compiled_fit():
    x = _wave(batch=4, n=2000)
    rec = Recorder((4, 2000))
    model = keras.Sequential([keras.Input((2000,)), L.AddNoise((0, 10), seed=0),
                              L.RandomGain(-6, 6, seed=1), rec, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(
        rec.seen.numpy().copy()))
    model.fit(x, np.zeros((4, 1)), batch_size=4, epochs=3, verbose=0, callbacks=[cb])
    assert len({s.tobytes() for s in seen}) == 3


def test_mixed_precision_and_dynamic_shapes():
    x = _wave(batch=3, n=3000, channels=2)
    ref = np.asarray(L.AddNoise((10, 20), seed=9)(x, training=True))
    y = L.AddNoise((10, 20), seed=9, dtype="mixed_float16")(tf.cast(x, tf.float16), training=True)
    assert y.dtype == tf.float16
    np.testing.assert_allclose(np.asarray(y, np.float32), ref, atol=5e-3)
    layer = L.Compose([L.AddNoise((5, 10), "pink", seed=0), L.RandomShift(0.1, seed=1),
                       L.Reverb([[1.0, 0.5, 0.25]], seed=2)])
    for jit in (False, True):
        fn = tf.function(lambda t: layer(t, training=True), jit_compile=jit,
                         input_signature=[tf.TensorSpec([None, None, None])])
        for shape in ((1, 777, 1), (2, 1500, 3)):
            assert tuple(fn(tf.ones(shape)).shape) == shape


def test_export_has_no_augmentation_and_matches_plain_model(tmp_path):
    """An exported model with augmentation serves exactly the un-augmented model."""
    inp = keras.Input((None,))
    mel = L.MelSpectrogram(SR, n_fft=512, hop_length=160, n_mels=32)
    db = L.PowerToDb()
    h = L.RandomGain(-6, 6)(L.AddNoise((5, 20))(inp))
    out = L.SpecAugment(8, 10, time_warp_param=3)(db(mel(h)))
    model = keras.Model(inp, out)
    plain = keras.Model(inp, db(mel(inp)))
    model.export(str(tmp_path / "aug"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "aug"))
    x = _wave(batch=2, n=4000)
    np.testing.assert_array_equal(served.serve(tf.constant(x)), plain(x))
    graph = served.signatures["serving_default"].graph.as_graph_def()
    op_types = {n.op for n in graph.node}
    for fn in graph.library.function:
        op_types |= {n.op for n in fn.node_def}
    assert not [o for o in op_types if "Random" in o or "Bitcast" in o], sorted(op_types)


@pytest.mark.parametrize("make,match", [
    (lambda: L.RandomGain(6, -6), r"minimum exceeds the maximum"),
    (lambda: L.AddNoise(snr_db=(20, 10)), r"snr_db=\(20, 10\).*minimum exceeds"),
    (lambda: L.AddNoise(p=2.0), r"p=2.*\[0, 1\]"),
    (lambda: L.AddNoise(noise="purple"), r"noise='purple'"),
    (lambda: L.AddNoise(noise=np.zeros((0, 100))), r"noise is empty"),
    (lambda: L.AddNoise(noise=[]), r"empty"),
    (lambda: L.Reverb(np.ones((1, 70000))), r"70000 samples, longer than allowed: max_length"),
    (lambda: L.Reverb([[1.0, np.nan]]), r"non-finite"),
    (lambda: L.RandomShift(1.5), r"max_fraction=1.5"),
    (lambda: L.RandomShift(0.1, mode="wrap"), r"mode='wrap'"),
    (lambda: L.RandomCrop(0), r"length=0"),
    (lambda: L.Mixup(alpha=0.0), r"alpha=0"),
    (lambda: L.PolarityInversion(p=-0.5), r"p=-0.5"),
    (lambda: L.Compose([]), r"empty"),
])
def test_bad_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_noise_bank_from_wav_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, n in enumerate((500, 1200)):
        audio = tf.constant(rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32))
        path = tmp_path / f"noise{i}.wav"
        tf.io.write_file(str(path), tf.audio.encode_wav(audio, SR))
        paths.append(str(path))
    layer = L.AddNoise((0.0, 0.0), noise=paths, seed=0)
    assert layer.get_config()["noise"] == paths
    np.testing.assert_array_equal(layer.bank_lengths.numpy(), [500, 1200])
    x = _wave(batch=4, n=3000)  # longer than both noises: they loop
    snr = _snr_db(x, np.asarray(layer(x, training=True)))
    np.testing.assert_allclose(snr, 0.0, atol=0.1)
    with pytest.raises(ValueError, match="cannot read WAV"):
        L.AddNoise(noise=[str(tmp_path / "missing.wav")])


def test_speed_perturbation_changes_pitch_keeps_length():
    t = np.arange(16000) / SR
    x = np.stack([np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32)
    for f in (0.9, 1.1):
        y = np.asarray(L.SpeedPerturbation((f,), seed=0)(x, training=True))
        assert y.shape == x.shape
        n = min(int(16000 / f), 16000) - 200
        peak = np.argmax(np.abs(np.fft.rfft(y[0, :n]))) * SR / n
        assert abs(peak - 1000 * f) < 3, (f, peak)
    assert not np.asarray(L.SpeedPerturbation((1.1,), seed=0)(x, training=True))[:, 14600:].any()
    layer = L.SpeedPerturbation((0.9, 1.0, 1.1), seed=0)
    fn = tf.function(lambda a: layer(a, training=True), jit_compile=True)
    assert fn(tf.constant(x)).shape == x.shape
    np.testing.assert_array_equal(L.SpeedPerturbation(p=0.0, seed=0)(x, training=True), x)
    with pytest.raises(ValueError, match="factors"):
        L.SpeedPerturbation(())


# ----------------------------------------------------------------------------- noise bank
def _bank_noise_of(x, seed, **kw):
    """The signed noise excerpts that add_noise adds (before the SNR gain), op layout."""
    draw = A.draw_noise(tf.constant(x), seed, (0.0, 0.0), **kw)
    return np.asarray(draw.noise * draw.sign), np.asarray(draw.energy)


def _offset_in(period, excerpt):
    """Start of ``excerpt`` in the periodic signal ``period`` (or None), with its sign."""
    n = len(excerpt)
    tiled = np.concatenate([period] * (n // len(period) + 2))
    for sign in (1.0, -1.0):
        for start in range(0, len(period), 32):
            if np.array_equal(sign * tiled[start:start + n], excerpt):
                return start, sign
    return None


@pytest.mark.parametrize("noise", ["white", "pink", "brown"])
@pytest.mark.parametrize("source", ["bank", "fresh"])
@pytest.mark.parametrize("n", [4096, 1000, 777, 5000])
def test_add_noise_snr_exact_for_both_sources_and_lengths(noise, source, n):
    # n=5000 > bank_size=2048: excerpts wrap around the bank twice or more.
    x = _wave(batch=16, n=n)
    seed = tf.constant([8, 9], tf.int64)
    y = np.asarray(A.add_noise(x, seed, (-5.0, 25.0), noise, noise_source=source, bank_size=2048))
    err = np.abs(_snr_db(x, y) - _drawn_snr(seed, 16, -5.0, 25.0)).max()
    assert err < 0.1, f"max |SNR error| {err:.4f} dB"


@pytest.mark.parametrize("n", [4096, 1000, 777, 5000])
def test_bank_excerpts_are_signed_block_offsets_with_exact_energy(n):
    x = _wave(batch=12, n=n, channels=2).transpose(0, 2, 1)  # (batch, channels, time)
    bank = A.noise_bank("pink", 8192, seed=3)  # 32 offsets x 2 signs
    noise, energy = _bank_noise_of(x, [1, 2], noise="pink", bank_seed=3, bank_size=8192)
    block = A._bank_block(n)
    starts = set()
    for excerpt in noise.reshape(-1, n):
        found = _offset_in(bank, excerpt)
        assert found is not None, "an excerpt is not a contiguous (wrapped) piece of the bank"
        assert found[0] % block == 0
        starts.add(found)
    assert len(starts) > 15  # 24 excerpts (12 examples x 2 channels), different offsets/signs
    assert {s for _, s in starts} == {1.0, -1.0}
    ref = (noise.astype(np.float64) ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(energy, ref, rtol=1e-6)


def test_bank_noise_differs_per_example_and_per_step():
    x = np.repeat(_wave(batch=1, n=16000), 8, axis=0)  # identical examples
    layer = L.AddNoise((0.0, 0.0), seed=5)
    first = np.asarray(layer(x, training=True)) - x
    assert len({first[i].tobytes() for i in range(8)}) == 8
    second = np.asarray(layer(x, training=True)) - x
    assert not np.allclose(first, second)
    # Two layers with the same seed draw the same offsets; the excerpts are bank pieces.
    again = np.asarray(L.AddNoise((0.0, 0.0), seed=5)(x, training=True)) - x
    np.testing.assert_array_equal(again, first)
    corr = np.corrcoef(first)[np.triu_indices(8, 1)]
    assert np.abs(corr).max() < 0.1  # different offsets: uncorrelated excerpts


def test_noise_bank_statistics_and_config():
    for color, slope in (("white", 0.0), ("pink", -1.0), ("brown", -2.0)):
        bank = A.noise_bank(color, 1 << 16, seed=1)
        assert abs(np.mean(bank.astype(np.float64) ** 2) - 1.0) < 1e-6
        noise, _ = _bank_noise_of(np.ones((16, 16384), np.float32), [4, 5], noise=color,
                                  bank_size=1 << 16, bank_seed=1)
        power = (np.abs(np.fft.rfft(noise, axis=-1)) ** 2).mean(0)
        k = np.arange(8, 8000)
        fit = np.polyfit(np.log(k), np.log(power[k]), 1)[0]
        assert abs(fit - slope) < 0.1, (color, fit)
    np.testing.assert_array_equal(A.noise_bank("white", 4096, 7), A.noise_bank("white", 4096, 7))
    assert not np.array_equal(A.noise_bank("white", 4096, 7), A.noise_bank("white", 4096, 8))
    layer = L.AddNoise((5.0, 10.0), "brown", seed=3, noise_source="fresh", bank_size=4096)
    config = layer.get_config()
    assert config["noise_source"] == "fresh" and config["bank_size"] == 4096
    x = _wave(batch=2, n=3000)
    np.testing.assert_array_equal(L.AddNoise.from_config(config)(x, training=True),
                                  layer(x, training=True))
    with pytest.raises(ValueError, match="noise_source='pool'"):
        L.AddNoise(noise_source="pool")
    with pytest.raises(ValueError, match="multiple of 256"):
        L.AddNoise(bank_size=1000)


def test_bank_noise_same_in_graph_and_xla():
    x = tf.constant(_wave(batch=4, n=16000, channels=2))
    layer = L.AddNoise((0.0, 20.0), "pink", seed=2)
    seed = tf.constant([3, 4], tf.int64)
    graph = tf.function(lambda t, s: layer(t, training=True, seed=s))
    xla = tf.function(lambda t, s: layer(t, training=True, seed=s), jit_compile=True)
    np.testing.assert_allclose(xla(x, seed), graph(x, seed), rtol=1e-5, atol=1e-6)
