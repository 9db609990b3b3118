"""The audio-only Looking-to-Listen separator: the layer table's parameter count, shapes,
the mask plumbing (STFT -> cRM -> inverse STFT) and serialisation."""

from __future__ import annotations

import numpy as np
import pytest

from tfaudio.models.separation import AUDIO_STREAM, looking_to_listen_audio


def _table_count(width: float = 1.0, bins: int = 257, speakers: int = 2,
                 conv_layers: int = 15, channels: int = 2, input_norm: bool = False,
                 head_width: float | None = None, mask: str = "complex") -> int:
    """Trainable parameters recomputed from the paper's Table 1 (audio stream) + BLSTM +
    3 FC + the mask layer; conv biases and batch-norm gamma/beta included. With
    ``conv_layers`` < 15 the first ``conv_layers - 1`` rows and the bottleneck stay."""
    head = width if head_width is None else head_width
    f, u, fc = round(96 * width), round(400 * head), round(600 * head)
    total, c_in = 2 * bins * channels if input_norm else 0, channels
    stream = AUDIO_STREAM[:conv_layers - 1] + AUDIO_STREAM[-1:] if conv_layers else ()
    for (kh, kw), _, filters in stream:
        c_out = filters or f
        total += kh * kw * c_in * c_out + c_out + 2 * c_out
        c_in = c_out
    lstm_in = c_in * bins
    total += 2 * 4 * u * (lstm_in + u + 1)
    total += (2 * u) * fc + fc + 2 * (fc * fc + fc)
    parts = 2 if mask == "complex" else 1  # real and imaginary, or a real ratio
    total += (fc + 1) * bins * speakers * parts
    return total


@pytest.mark.parametrize("width, speakers", [(1.0, 2), (0.25, 3)])
def test_parameter_count_is_the_layer_table(width, speakers):
    m = looking_to_listen_audio(num_speakers=speakers, width=width, seconds=1.0)
    trainable = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert trainable == _table_count(width, speakers=speakers)
    if width == 1.0:
        assert trainable == 12_517_508  # the figure in the module docstring


def test_shapes_and_frames():
    m = looking_to_listen_audio(width=0.125, seconds=3.0)
    assert m.get_layer("stft").output.shape[1:] == (301, 257)  # centred 25/10 ms, FFT 512
    assert m.get_layer("frame_features").output.shape[-1] == 8 * 257
    out = m(np.zeros([2, 48000], np.float32))
    assert tuple(out.shape) == (2, 2, 48000)
    assert np.all(np.isfinite(np.asarray(out)))  # silence in, silence out, no NaN


def test_identity_mask_gives_the_mixture_back():
    """With the mask layer's weights zero and its bias at the compressed cRM of 1
    (speaker 0) and of 0 (speaker 1), the model must return the mixture and silence: the
    STFT, the mask application and the inverse STFT are wired right. Measured 2e-7."""
    m = looking_to_listen_audio(width=0.125, seconds=1.0)
    layer = m.get_layer("masks")
    kernel, bias = layer.get_weights()
    b = np.zeros((257, 2, 2), np.float32)
    b[:, 0, 0] = 0.1  # K tanh(b / 2) = K tanh(C * 1 / 2): the compressed real part 1
    layer.set_weights([np.zeros_like(kernel), b.reshape(-1)])
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
    out = np.asarray(m(x))
    np.testing.assert_allclose(out[:, 0], x, atol=2e-5)
    assert np.abs(out[:, 1]).max() < 1e-6


def test_ratio_head_gives_the_mixture_back():
    """``mask="ratio"`` with the mask layer's bias at +-30 (sigmoid 1 and 0): the mixture
    and silence come back (measured 9e-8 and 4e-14)."""
    m = looking_to_listen_audio(width=0.125, seconds=1.0, mask="ratio", conv_layers=0,
                                complex_input=False, magnitude_input=True)
    layer = m.get_layer("masks")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), np.tile([30.0, -30.0], 257).astype("float32")])
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
    out = np.asarray(m(x))
    np.testing.assert_allclose(out[:, 0], x, atol=2e-5)
    assert np.abs(out[:, 1]).max() < 1e-6


def test_keras_round_trip(tmp_path):
    import keras

    x = np.random.default_rng(1).normal(0, 0.1, (1, 16000)).astype(np.float32)
    for i, kwargs in enumerate([{"conv_layers": 3, "magnitude_input": True},
                                {"conv_layers": 0, "magnitude_input": True,
                                 "complex_input": False, "mask": "ratio"}]):
        m = looking_to_listen_audio(width=0.125, seconds=1.0, merge="sum", mask_init="even",
                                    input_norm=True, **kwargs)
        path = str(tmp_path / f"l2l{i}.keras")
        m.save(path)
        again = keras.saving.load_model(path)
        np.testing.assert_allclose(np.asarray(again(x)), np.asarray(m(x)), atol=1e-6)


def test_head_width_and_magnitude_channel_change_only_their_layers():
    """``head_width`` sizes the BLSTM and fully connected layers alone; the magnitude
    channel adds one input channel to conv1 (7 x 16 weights at width 1/6)."""
    base = looking_to_listen_audio(width=1 / 6, seconds=1.0)
    wide = looking_to_listen_audio(width=1 / 6, head_width=0.25, seconds=1.0)
    mag = looking_to_listen_audio(width=1 / 6, seconds=1.0, magnitude_input=True)
    assert wide.get_layer("conv3").get_weights()[0].shape == (5, 5, 16, 16)
    assert wide.get_layer("fc1").get_weights()[0].shape == (200, 150)  # 2 x 100 -> 150
    assert base.get_layer("fc1").get_weights()[0].shape == (134, 100)
    assert mag.get_layer("conv1").get_weights()[0].shape == (1, 7, 3, 16)
    assert mag.count_params() - base.count_params() == 7 * 16
    x = np.zeros([1, 3, 4, 2], np.float32)
    x[0, 1, 2] = [3.0, -4.0]
    from tfaudio.layers import ChannelMagnitude
    out = np.asarray(ChannelMagnitude()(x))
    np.testing.assert_allclose(out[..., :2], x)
    np.testing.assert_allclose(out[0, 1, 2, 2], 5.0, rtol=1e-6)
    assert np.all(out[..., 2][x[..., 0] == 0] < 1e-5)


def test_window_and_hop_set_the_stft():
    from tfaudio.models.separation import stft_settings

    assert stft_settings(16000) == {"n_fft": 512, "hop_length": 160, "win_length": 400}
    assert stft_settings(8000, 64.0, 32.0) == {"n_fft": 512, "hop_length": 256,
                                               "win_length": 512}
    m = looking_to_listen_audio(width=0.125, seconds=1.0, sample_rate=8000, window_ms=64.0,
                                hop_ms=32.0)
    assert m.get_layer("stft").output.shape[1:] == (32, 257)  # centred: 1 + 8000 // 256


@pytest.mark.parametrize("conv_layers, channels, norm, mask", [
    (0, 3, True, "complex"), (3, 2, True, "ratio"), (1, 3, False, "complex"),
    (0, 1, True, "ratio"), (15, 1, False, "complex")])
def test_conv_layers_inputs_and_heads_follow_the_table(conv_layers, channels, norm, mask):
    """``conv_layers``, the input channels (1: magnitude alone, 2: real and imaginary, 3:
    both), ``input_norm`` and the mask head change exactly their layers' parameters."""
    m = looking_to_listen_audio(width=0.125, head_width=0.25, seconds=1.0,
                                conv_layers=conv_layers, magnitude_input=channels != 2,
                                complex_input=channels != 1, input_norm=norm, mask=mask)
    trainable = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert trainable == _table_count(0.125, conv_layers=conv_layers, channels=channels,
                                     input_norm=norm, head_width=0.25, mask=mask)
    convs = sorted(int(w.name[4:]) for w in m.layers if w.name.startswith("conv"))
    assert convs == ([*range(1, conv_layers), 15] if conv_layers else [])
    features = m.get_layer("frame_features").output.shape[-1]
    assert features == (8 if conv_layers else channels) * 257


def test_input_norm_standardises_every_bin_and_channel():
    """In training, ``input_norm`` maps each bin's compressed real, imaginary and
    magnitude channel to mean 0, variance 1 over batch and frames: ``(x - mean) /
    sqrt(var + 1e-3)`` with the batch's statistics (Keras' epsilon)."""
    import keras

    m = looking_to_listen_audio(width=0.125, seconds=1.0, conv_layers=0, input_norm=True,
                                magnitude_input=True)
    probe = keras.Model(m.input, [m.get_layer("with_magnitude").output,
                                  m.get_layer("input_bins").output])
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 0.01, (4, 16000)), axis=1).astype(np.float32)  # 1/f^2
    raw, normed = (np.asarray(t) for t in probe(x, training=True))
    spread = raw[..., 2].std(axis=(0, 1))
    assert spread.max() / spread.min() > 2  # the bins' scales differ before
    expect = (raw - raw.mean(axis=(0, 1))) / np.sqrt(raw.var(axis=(0, 1)) + 1e-3)
    np.testing.assert_allclose(normed, expect, atol=1e-4)  # measured 7e-6


@pytest.mark.parametrize("speakers, mask", [(2, "complex"), (3, "complex"), (2, "ratio"),
                                           (3, "ratio")])
def test_even_mask_init_splits_the_mixture(speakers, mask):
    """``mask_init="even"``: a fresh model returns about mixture / speakers for every
    speaker (mask weights of sd 1e-3 leave a small deviation; measured under 1e-4 for
    both heads)."""
    m = looking_to_listen_audio(num_speakers=speakers, width=0.125, seconds=1.0,
                                mask_init="even", mask=mask)
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
    out = np.asarray(m(x))
    for k in range(speakers):
        err = np.linalg.norm(out[:, k] - x / speakers) / np.linalg.norm(x / speakers)
        assert err < 0.05, (k, err)
    glorot = np.asarray(looking_to_listen_audio(width=0.125, seconds=1.0)(x))
    assert np.linalg.norm(glorot[:, 0] - x / 2) / np.linalg.norm(x / 2) > 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"num_speakers": 0}, "num_speakers"),
    ({"width": 0.0}, "width"),
    ({"merge": "mean"}, "merge"),
    ({"seconds": 0.01}, "shorter than one 512-point FFT"),
    ({"head_width": -1.0}, "head_width"),
    ({"mask_init": "zeros"}, "mask_init"),
    ({"conv_layers": 16}, "conv_layers"),
    ({"mask": "binary"}, "mask"),
    ({"complex_input": False}, "no input channel"),
    ({"conv_layers": -1}, "conv_layers"),
    ({"window_ms": 10.0, "hop_ms": 20.0}, "1 <= hop <= window"),
    ({"window_ms": 0.0}, "window_ms"),
    ({"shifts": 0}, "shifts"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        looking_to_listen_audio(**kwargs)


def test_recipe_conv_layer_limit_is_the_table():
    """Recipes check ``model.conv_layers`` before Keras loads, against their own copy of
    the audio stream's length."""
    from tfaudio.train import recipe as R

    assert R.L2L_CONV_LAYERS == len(AUDIO_STREAM)
    assert R.Model().conv_layers == len(AUDIO_STREAM)


# ----------------------------------------------------------------- the shift trick
def test_shifted_copies_delay_and_pad():
    from tfaudio.models.separation import ShiftedCopies, shift_offsets

    assert shift_offsets(256, 2) == (0, 128) and shift_offsets(10, 3) == (0, 3, 7)
    x = np.arange(1.0, 5.0, dtype=np.float32)[None]
    out = np.asarray(ShiftedCopies((0, 1, 3), 3)(x))
    np.testing.assert_array_equal(out, [[1, 2, 3, 4, 0, 0, 0], [0, 1, 2, 3, 4, 0, 0],
                                        [0, 0, 0, 1, 2, 3, 4]])
    with pytest.raises(ValueError, match="offsets"):
        ShiftedCopies((0, 4), 3)


def test_shift_average_realigns_swapped_copies():
    """Copies whose speakers come out in another order are put back in the first copy's
    order before averaging (a separator that swaps its outputs on the delayed copy)."""
    from tfaudio.models.separation import ShiftAverage

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 2, 50)).astype(np.float32)  # 2 examples x 2 speakers
    src = np.stack([a, b], axis=1)  # (2, speakers, 50)
    first = np.pad(src, ((0, 0), (0, 0), (0, 5)))
    second = np.pad(src, ((0, 0), (0, 0), (5, 0)))
    second[1] = second[1, ::-1]  # the second example's delayed copy comes out swapped
    copies = np.stack([first, second], axis=1).reshape(4, 2, 55)
    out = np.asarray(ShiftAverage((0, 5), 50)(copies))
    np.testing.assert_allclose(out, src, atol=1e-6)


def test_best_permutation_matches_brute_force():
    """``tfaudio.ops.permutation_scores`` / ``best_permutation`` on the speakers'
    correlations against a loop over every permutation, and ``correlation_order`` /
    ``align_speakers`` find and apply that order."""
    import itertools

    from tfaudio.ops import (
        align_speakers,
        best_permutation,
        correlation_order,
        permutation_scores,
        permutation_table,
    )

    rng = np.random.default_rng(1)
    ref = rng.standard_normal((6, 3, 40)).astype(np.float32)
    est = ref[:, [2, 0, 1]] + 0.3 * rng.standard_normal((6, 3, 40)).astype(np.float32)
    corr = np.einsum("bit,bjt->bij", ref, est)
    scores = np.asarray(permutation_scores(corr))
    perm = np.asarray(best_permutation(corr))
    table = [tuple(p) for p in permutation_table(3)]
    assert table == list(itertools.permutations(range(3)))
    for b in range(6):
        loop = {p: sum(float(ref[b, i] @ est[b, p[i]]) for i in range(3)) for p in table}
        np.testing.assert_allclose(scores[b], [loop[p] for p in table], rtol=1e-5)  # measured 3e-7
        assert tuple(perm[b]) == max(loop, key=loop.get) == (1, 2, 0)
    np.testing.assert_array_equal(np.asarray(correlation_order(ref, est)), perm)
    np.testing.assert_array_equal(np.asarray(align_speakers(ref, est)),
                                  np.take_along_axis(est, perm[:, :, None], axis=1))
    with pytest.raises(ValueError, match="pairwise must be"):
        permutation_scores(np.zeros((2, 3, 2), np.float32))


@pytest.mark.parametrize("shifts", [2, 3])
def test_shifts_keep_the_weights_and_give_the_mixture_back(shifts):
    """``shifts`` adds no weights (one set of weights serves any number of passes), and
    with the ratio head fixed at 1 / 0 every pass gives the (delayed) mixture back, so
    their aligned average is the mixture (measured 6e-8 for 2 and 3 shifts, 9e-8 for one
    pass; silence 4e-14)."""
    kwargs = dict(width=0.125, seconds=1.0, mask="ratio", conv_layers=0,
                  complex_input=False, magnitude_input=True)
    one = looking_to_listen_audio(**kwargs)
    many = looking_to_listen_audio(shifts=shifts, **kwargs)
    assert many.count_params() == one.count_params()
    assert "shift_average" in [la.name for la in many.layers]
    assert "shift_average" not in [la.name for la in one.layers]
    kernel, _ = one.get_layer("masks").get_weights()
    one.get_layer("masks").set_weights([np.zeros_like(kernel),
                                        np.tile([30.0, -30.0], 257).astype("float32")])
    many.set_weights(one.get_weights())
    x = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
    out = np.asarray(many(x))
    assert out.shape == (2, 2, 16000)
    np.testing.assert_allclose(out[:, 0], x, atol=2e-5)
    assert np.abs(out[:, 1]).max() < 1e-6


def test_shifts_keras_round_trip(tmp_path):
    import keras

    m = looking_to_listen_audio(width=0.125, seconds=0.5, sample_rate=8000, window_ms=64.0,
                                hop_ms=32.0, conv_layers=0, mask="ratio", shifts=2,
                                complex_input=False, magnitude_input=True, input_norm=True)
    x = np.random.default_rng(2).normal(0, 0.1, (3, 4000)).astype(np.float32)
    path = str(tmp_path / "shifted.keras")
    m.save(path)
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(path)(x)),
                               np.asarray(m(x)), atol=1e-6)
