"""The audio-only Looking-to-Listen separator: the layer table's parameter count, shapes,
the mask plumbing (STFT -> cRM -> inverse STFT) and serialisation."""

from __future__ import annotations

import numpy as np
import pytest

from tfaudio.models.separation import AUDIO_STREAM, looking_to_listen_audio


def _table_count(width: float = 1.0, bins: int = 257, speakers: int = 2) -> int:
    """Trainable parameters recomputed from the paper's Table 1 (audio stream) + BLSTM +
    3 FC + the mask layer; conv biases and batch-norm gamma/beta included."""
    f, u, fc = round(96 * width), round(400 * width), round(600 * width)
    total, c_in = 0, 2
    for (kh, kw), _, filters in AUDIO_STREAM:
        c_out = filters or f
        total += kh * kw * c_in * c_out + c_out + 2 * c_out
        c_in = c_out
    lstm_in = 8 * bins
    total += 2 * 4 * u * (lstm_in + u + 1)
    total += (2 * u) * fc + fc + 2 * (fc * fc + fc)
    total += fc * bins * speakers * 2 + bins * speakers * 2
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


def test_keras_round_trip(tmp_path):
    import keras

    m = looking_to_listen_audio(width=0.125, seconds=1.0, merge="sum", mask_init="even",
                                magnitude_input=True)
    x = np.random.default_rng(1).normal(0, 0.1, (1, 16000)).astype(np.float32)
    path = str(tmp_path / "l2l.keras")
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


@pytest.mark.parametrize("speakers", [2, 3])
def test_even_mask_init_splits_the_mixture(speakers):
    """``mask_init="even"``: a fresh model returns about mixture / speakers for every
    speaker (mask weights of sd 1e-3 leave a small deviation; measured under 2 %)."""
    m = looking_to_listen_audio(num_speakers=speakers, width=0.125, seconds=1.0,
                                mask_init="even")
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
    ({"window_ms": 10.0, "hop_ms": 20.0}, "1 <= hop <= window"),
    ({"window_ms": 0.0}, "window_ms"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        looking_to_listen_audio(**kwargs)
