"""tfaudio.ops.masks: power-law compression, channels layout, ideal masks (issue 13)."""

import numpy as np
import pytest
import tensorflow as tf

from tfaudio import ops
from tfaudio.data.speakers import synth_utterances

STFT_KW = dict(n_fft=512, hop_length=160, win_length=400)  # 32 ms FFT, 25 ms / 10 ms at 16 kHz


def _si_sdr(reference, estimate):
    """SI-SDR in dB (Le Roux et al. 2019), zero-mean, float64 NumPy."""
    r = np.asarray(reference, np.float64)
    e = np.asarray(estimate, np.float64)
    r, e = r - r.mean(), e - e.mean()
    target = (e @ r) / (r @ r) * r
    return 10 * np.log10((target @ target) / ((e - target) @ (e - target)))


@pytest.fixture(scope="module")
def speech_pair():
    audio, _ = synth_utterances([0, 1], [0, 0], seconds=1.0)
    return audio[0].astype(np.float32), audio[1].astype(np.float32)


def _tones_and_noise(n=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000.0
    tones = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t)
    noise = 0.1 * rng.standard_normal(n)
    return tones.astype(np.float32), noise.astype(np.float32)


def _random_stft(shape=(2, 30, 257), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


# ------------------------------------------------------------------------------ compression
def test_power_law_compress_definition():
    s = _random_stft()
    c = ops.power_law_compress(s, 0.3).numpy()
    want = np.abs(s.astype(np.complex128)) ** 0.3 * np.exp(1j * np.angle(s.astype(np.complex128)))
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("power", [0.3, 0.5, 2.0])
def test_compress_decompress_round_trip(power):
    s = _random_stft(seed=1) * np.float32(3.0)
    back = ops.power_law_decompress(ops.power_law_compress(s, power), power).numpy()
    err = np.max(np.abs(back - s)) / np.max(np.abs(s))
    assert err < 1e-5, err


def test_compress_zero_is_finite_in_value_and_gradient():
    s = tf.constant([0j, 1e-30 + 0j, 1e-20 + 1e-20j, 1 + 1j, -3 - 0j], tf.complex64)
    re, im = tf.math.real(s), tf.math.imag(s)
    with tf.GradientTape() as tape:
        tape.watch([re, im])
        c = ops.power_law_compress(tf.complex(re, im), 0.3)
        loss = tf.reduce_sum(tf.abs(c) ** 2 + tf.math.real(c))
    g_re, g_im = tape.gradient(loss, [re, im])
    assert c.numpy()[0] == 0
    for t in (tf.math.real(c), tf.math.imag(c), g_re, g_im):
        assert np.all(np.isfinite(t.numpy()))


def test_compress_gradient_matches_finite_differences():
    x = tf.constant([[0.7, -0.4], [-1.5, 2.0], [0.05, 0.01]], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ops.power_law_channels(x, 0.3)
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]], tf.float64))
    g = tape.gradient(loss, x).numpy()
    num = np.zeros_like(g)
    h = 1e-7
    for i in np.ndindex(*g.shape):
        d = np.zeros(g.shape)
        d[i] = h
        f = lambda v: float(tf.reduce_sum(ops.power_law_channels(v, 0.3) * tf.constant(  # noqa: E731
            [[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]], tf.float64)))
        num[i] = (f(x.numpy() + d) - f(x.numpy() - d)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6)


# ------------------------------------------------------------------------------ layouts
def test_channels_complex_round_trip_exact():
    s = _random_stft(seed=2)
    ch = ops.complex_to_channels(s).numpy()
    assert ch.shape == s.shape + (2,) and ch.dtype == np.float32
    np.testing.assert_array_equal(ch[..., 0], s.real)
    np.testing.assert_array_equal(ch[..., 1], s.imag)
    np.testing.assert_array_equal(ops.channels_to_complex(ch).numpy(), s)


# ------------------------------------------------------------------------------ masks
def test_channels_with_magnitude_is_hypot_with_finite_gradient_at_zero():
    x = np.random.default_rng(3).normal(size=(2, 5, 7, 2)).astype(np.float32)
    x[0, 0, 0] = 0.0
    out = ops.channels_with_magnitude(x).numpy()
    np.testing.assert_array_equal(out[..., :2], x)
    np.testing.assert_allclose(out[..., 2], np.hypot(x[..., 0], x[..., 1]), rtol=1e-6,
                               atol=2e-6)  # sqrt(eps = 1e-12) = 1e-6 at 0
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(ops.channels_with_magnitude(xt))
    assert np.all(np.isfinite(tape.gradient(y, xt).numpy()))


def test_channel_magnitude_is_hypot_and_the_third_channel():
    x = np.random.default_rng(4).normal(size=(2, 5, 7, 2)).astype(np.float32)
    out = ops.channel_magnitude(x).numpy()
    assert out.shape == (2, 5, 7, 1)
    np.testing.assert_allclose(out[..., 0], np.hypot(x[..., 0], x[..., 1]), rtol=1e-6)
    np.testing.assert_array_equal(out, ops.channels_with_magnitude(x).numpy()[..., 2:])


def test_crm_definition_and_compression():
    s, y = _random_stft(seed=3), _random_stft(seed=4)
    raw = ops.complex_ratio_mask(s, y, k=None).numpy()
    want = s.astype(np.complex128) / y.astype(np.complex128)
    np.testing.assert_allclose(raw[..., 0] + 1j * raw[..., 1], want, rtol=1e-4, atol=1e-4)
    comp = ops.complex_ratio_mask(s, y).numpy()
    np.testing.assert_allclose(comp, 10 * (1 - np.exp(-0.1 * raw)) / (1 + np.exp(-0.1 * raw)),
                               rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(comp) < 10)
    # float32 near the bound: |M| ~ 120 here comes back within 0.1 % (atanh's slope).
    np.testing.assert_allclose(ops.uncompress_mask(comp).numpy(), raw, rtol=3e-3, atol=1e-4)


def test_uncompress_clips_inside_the_open_interval():
    out = ops.uncompress_mask(np.array([[10.0, -10.0], [25.0, -1e9]], np.float32)).numpy()
    assert np.all(np.isfinite(out))
    assert out[0, 0] > 100 and out[0, 1] < -100


def _round_trip_si_sdr(source, other):
    mix = source + other
    s, y = ops.stft(source, **STFT_KW), ops.stft(mix, **STFT_KW)
    crm = ops.complex_ratio_mask(s, y)  # default K = 10, C = 0.1
    est = ops.istft(ops.apply_complex_mask(ops.uncompress_mask(crm), y), **STFT_KW,
                    length=len(mix)).numpy()
    return _si_sdr(source, est)


def test_ideal_crm_round_trip_speech(speech_pair):
    a, b = speech_pair
    # Measured 138.1 dB (float32 STFT/ISTFT round-off); the bar is the 40 dB.
    assert _round_trip_si_sdr(a, b) >= 40.0
    assert _round_trip_si_sdr(b, a) >= 40.0


def test_ideal_crm_round_trip_tones_and_noise():
    tones, noise = _tones_and_noise()
    assert _round_trip_si_sdr(tones, noise) >= 40.0
    assert _round_trip_si_sdr(noise, tones) >= 40.0


def test_silent_source_gives_no_nan(speech_pair):
    a, _ = speech_pair
    silent = np.zeros_like(a)
    silent_mix = np.zeros_like(a)
    for source, mix in ((silent, a), (a, a), (silent, silent_mix)):
        s, y = ops.stft(source, **STFT_KW), ops.stft(mix, **STFT_KW)
        for m in (ops.complex_ratio_mask(s, y), ops.complex_ratio_mask(s, y, k=None),
                  ops.ideal_ratio_mask(s, y - s), ops.ideal_binary_mask(s, y - s)):
            assert np.all(np.isfinite(m.numpy()))
        est = ops.apply_complex_mask(ops.uncompress_mask(ops.complex_ratio_mask(s, y)), y)
        assert np.all(np.isfinite(est.numpy()))
        np.testing.assert_allclose(est.numpy(), s.numpy(), atol=1e-4 * (1 + np.abs(s).max()))
    assert np.all(ops.power_law_compress(ops.stft(silent, **STFT_KW)).numpy() == 0)


def test_ideal_ratio_and_binary_masks():
    s, n = _random_stft(seed=5), _random_stft(seed=6) * np.float32(0.5)
    ps, pn = np.abs(s) ** 2, np.abs(n) ** 2
    np.testing.assert_allclose(ops.ideal_ratio_mask(s, n).numpy(), np.sqrt(ps / (ps + pn)),
                               rtol=1e-5)
    np.testing.assert_allclose(ops.ideal_ratio_mask(s, n, beta=1.0).numpy(), ps / (ps + pn),
                               rtol=1e-5)
    np.testing.assert_array_equal(ops.ideal_binary_mask(s, n).numpy(), (ps > pn).astype(np.float32))
    np.testing.assert_array_equal(ops.ideal_binary_mask(s, n, lc_db=-6.0).numpy(),
                                  (ps > 10 ** -0.6 * pn).astype(np.float32))


def test_apply_mask_broadcasts_a_speaker_axis():
    y = _random_stft((2, 10, 257), seed=7)
    masks = np.random.default_rng(0).standard_normal((2, 3, 10, 257, 2)).astype(np.float32)
    out = ops.apply_complex_mask(masks, y[:, None]).numpy()
    want = (masks[..., 0] + 1j * masks[..., 1]) * y[:, None]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("bad", [0.0, -0.3, float("nan")])
def test_bad_power_names_the_argument(bad):
    with pytest.raises(ValueError, match="power"):
        ops.power_law_compress(_random_stft(), bad)
    with pytest.raises(ValueError, match="power"):
        ops.power_law_decompress(_random_stft(), bad)


@pytest.mark.parametrize("name", ["k", "c"])
def test_bad_k_c_name_the_argument(name):
    s = _random_stft()
    with pytest.raises(ValueError, match=f"^{name}="):
        ops.complex_ratio_mask(s, s, **{name: 0.0})
    with pytest.raises(ValueError, match=f"^{name}="):
        ops.uncompress_mask(np.zeros((3, 2), np.float32), **{name: -1.0})


def test_shape_mismatch_names_the_arguments():
    with pytest.raises(ValueError, match="source_stft and mixture_stft"):
        ops.complex_ratio_mask(_random_stft((2, 30, 257)), _random_stft((2, 31, 257)))
    with pytest.raises(ValueError, match="mask_channels"):
        ops.apply_complex_mask(np.zeros((2, 30, 257, 2), np.float32), _random_stft((2, 30, 129)))
    with pytest.raises(ValueError, match="mask_channels"):
        ops.apply_complex_mask(np.zeros((2, 30, 257, 3), np.float32), _random_stft())
    with pytest.raises(ValueError, match="channels"):
        ops.channels_to_complex(np.zeros((4, 3), np.float32))


def test_wrong_dtypes_name_the_argument():
    with pytest.raises(TypeError, match="stft"):
        ops.power_law_compress(np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="mixture_stft"):
        ops.complex_ratio_mask(_random_stft(), np.zeros((2, 30, 257), np.float32))


# ------------------------------------------------------------------------------ layers
# Every layer here also runs through the shared harness (tests/cases.py; ApplyComplexMask
# as the two-input kind "mask_and_mixture"); here: the definitions, multichannel (the
# harness's per-channel slice does not apply to the re/im-last layout), a speakers axis
# on the mask, and the whole STFT -> mask -> ISTFT pipeline.
def _channels(batch=2, time=4000, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    wave = (scale * rng.standard_normal((batch, time))).astype(np.float32)
    return ops.complex_to_channels(ops.stft(wave, **STFT_KW)).numpy()


def test_layers_multichannel_keep_re_im_last():
    from tfaudio import layers as L

    rng = np.random.default_rng(1)
    wave = rng.standard_normal((2, 3000, 3)).astype(np.float32)
    spec = L.STFT(**STFT_KW)(wave)  # (2, frames, 257, 3)
    ch = L.ComplexToChannels()(spec)
    assert tuple(ch.shape) == tuple(spec.shape) + (2,)
    comp = L.PowerLawCompression(0.3)(ch)
    for c in range(3):
        mono = ops.power_law_channels(ops.complex_to_channels(spec[..., c]), 0.3)
        np.testing.assert_allclose(comp[..., c, :], mono, rtol=1e-6, atol=1e-7)
    back = L.ChannelsToComplex()(L.PowerLawCompression(0.3, inverse=True)(comp))
    np.testing.assert_allclose(back, spec, rtol=0, atol=1e-5 * np.abs(spec).max())


def test_layer_pipeline_recovers_the_source(speech_pair):
    from tfaudio import layers as L

    a, b = speech_pair
    mix = (a + b)[None]
    spec_src = L.ComplexToChannels()(L.STFT(**STFT_KW)(a[None]))
    spec_mix = L.ComplexToChannels()(L.STFT(**STFT_KW)(mix))
    crm = ops.complex_ratio_mask(ops.channels_to_complex(spec_src),
                                 ops.channels_to_complex(spec_mix))
    est = L.ApplyComplexMask(k=10.0, c=0.1)([crm, spec_mix])
    wave = L.InverseSTFT(**STFT_KW, length=mix.shape[-1])(L.ChannelsToComplex()(est))
    assert _si_sdr(a, wave.numpy()[0]) >= 40.0


def _mask_model(speakers=None, **kw):
    import keras

    from tfaudio import layers as L

    mix = keras.Input((None, 257, 2))
    mask = keras.Input((None, 257, 2) if speakers is None else (None, 257, speakers, 2))
    return keras.Model([mask, mix], L.ApplyComplexMask(**kw)([mask, mix]))


@pytest.mark.parametrize("speakers", [None, 2])
def test_apply_complex_mask_layer_definition(speakers):
    mix = _channels(seed=2)
    rng = np.random.default_rng(3)
    shape = mix.shape if speakers is None else mix.shape[:3] + (speakers, 2)
    mask = rng.uniform(-9.9, 9.9, shape).astype(np.float32)
    got = _mask_model(speakers)([mask, mix]).numpy()
    m = ops.uncompress_mask(mask).numpy()
    y = mix[..., 0] + 1j * mix[..., 1]
    if speakers is not None:
        y = y[..., None]
    want = (m[..., 0] + 1j * m[..., 1]) * y
    assert got.shape == shape
    np.testing.assert_allclose(got[..., 0] + 1j * got[..., 1], want, rtol=1e-5,
                               atol=1e-5 * np.abs(want).max())
    raw = _mask_model(speakers, k=None)([m, mix]).numpy()
    np.testing.assert_allclose(raw, got, rtol=1e-6, atol=1e-6 * np.abs(got).max())


def test_apply_complex_mask_config_keras_xla_tfdata_mixed(tmp_path):
    import keras

    from tfaudio import layers as L

    mix, mask = _channels(seed=4), np.random.default_rng(5).uniform(
        -5, 5, _channels().shape).astype(np.float32)
    layer = L.ApplyComplexMask(k=10.0, c=0.2)
    y = layer([mask, mix]).numpy()
    clone = L.ApplyComplexMask.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone([mask, mix]), y)
    model = _mask_model(k=10.0, c=0.2)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded([mask, mix]), y)
    xla = tf.function(lambda a, b: layer([a, b]), jit_compile=True)(mask, mix).numpy()
    np.testing.assert_allclose(xla, y, rtol=2e-5, atol=2e-5 * np.abs(y).max())
    ds = tf.data.Dataset.from_tensor_slices((mask, mix)).batch(1).map(lambda a, b: layer([a, b]))
    np.testing.assert_allclose(np.concatenate(list(ds.as_numpy_iterator())), y, rtol=1e-6,
                               atol=1e-6 * np.abs(y).max())
    half = L.ApplyComplexMask(k=10.0, c=0.2, dtype="mixed_bfloat16")([mask, mix])
    assert half.dtype.name == "bfloat16"
    np.testing.assert_allclose(tf.cast(half, tf.float32), y, rtol=0,
                               atol=2.0**-8 * np.abs(y).max())
    export_dir = str(tmp_path / "export")
    model.export(export_dir, verbose=False)
    served = tf.saved_model.load(export_dir).serve([tf.constant(mask), tf.constant(mix)])
    np.testing.assert_allclose(served.numpy(), y, rtol=1e-6, atol=1e-6 * np.abs(y).max())


def test_layer_errors_name_the_argument():
    from tfaudio import layers as L

    with pytest.raises(ValueError, match="power"):
        L.PowerLawCompression(0.0)
    with pytest.raises(ValueError, match="^k="):
        L.ApplyComplexMask(k=-1.0)
    with pytest.raises(ValueError, match="^c="):
        L.ApplyComplexMask(c=0.0)
    with pytest.raises(ValueError, match="real/imag"):
        L.PowerLawCompression()(np.zeros((2, 10, 257, 3), np.float32))
    with pytest.raises(TypeError, match="complex"):
        L.ComplexToChannels()(np.zeros((2, 10, 257), np.float32))
    with pytest.raises(ValueError, match="mask of shape"):
        L.ApplyComplexMask()([np.zeros((2, 10, 129, 2), np.float32),
                              np.zeros((2, 10, 257, 2), np.float32)])
    with pytest.raises(ValueError, match=r"\[mask, mixture\]"):
        L.ApplyComplexMask()(np.zeros((2, 10, 257, 2), np.float32))


@pytest.mark.parametrize("time", [1, 161, 4000])
def test_apply_complex_mask_shapes_gradients_float16(time):
    from tfaudio import layers as L

    mix = _channels(batch=3, time=time, seed=6)
    mask = np.random.default_rng(7).uniform(-5, 5, mix.shape[:3] + (2, 2)).astype(np.float32)
    layer = L.ApplyComplexMask()
    m, y = tf.constant(mask), tf.constant(mix)
    with tf.GradientTape() as tape:
        tape.watch([m, y])
        out = layer([m, y])
        loss = tf.reduce_mean(tf.square(out))
    assert tuple(out.shape) == tuple(layer.compute_output_shape([mask.shape, mix.shape]))
    for g in tape.gradient(loss, [m, y]):
        assert np.all(np.isfinite(g.numpy())) and np.abs(g.numpy()).max() > 0
    half = L.ApplyComplexMask(dtype="mixed_float16")([mask, mix])
    assert half.dtype.name == "float16"
    np.testing.assert_allclose(tf.cast(half, tf.float32), out, rtol=0,
                               atol=2.0**-11 * np.abs(out.numpy()).max())
