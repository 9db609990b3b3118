"""Bad input gets a clear error naming the argument, the value and the allowed range."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfaudio import layers, ops

BAD_ARGS = [
    (lambda: layers.STFT(n_fft=0), ValueError, r"n_fft=0 .*>= 1"),
    (lambda: layers.STFT(n_fft=512, hop_length=0), ValueError, r"hop_length=0 .*>= 1"),
    (lambda: layers.STFT(n_fft=512, hop_length=-5), ValueError, r"hop_length=-5"),
    (lambda: layers.STFT(n_fft=512, win_length=600), ValueError,
     r"win_length=600 .*\[1, n_fft=512\]"),
    (lambda: layers.STFT(n_fft=512.0), TypeError, r"n_fft must be an integer"),
    (lambda: layers.STFT(window="kaiserx"), ValueError, r"window='kaiserx'.*hann"),
    (lambda: layers.STFT(n_fft=8, window=np.ones(5)), ValueError, r"window has 5 .*win_length=8"),
    (lambda: layers.STFT(pad_mode="wrap"), ValueError, r"pad_mode='wrap'.*constant"),
    (lambda: layers.Spectrogram(power=0), ValueError, r"power=0"),
    (lambda: layers.MelSpectrogram(16000, n_fft=512, n_mels=300), ValueError,
     r"n_mels=300 exceeds n_fft // 2 \+ 1 = 257"),
    (lambda: layers.MelSpectrogram(16000, f_max=9000), ValueError, r"f_max=9000 .*\(0, 8000\]"),
    (lambda: layers.MelSpectrogram(16000, f_min=-1), ValueError, r"f_min=-1 .*\[0, 8000\)"),
    (lambda: layers.MelSpectrogram(16000, f_min=4000, f_max=3000), ValueError,
     r"f_max=3000 must be greater than f_min=4000"),
    (lambda: layers.MelSpectrogram(16000, norm="l3"), ValueError, r"norm='l3'"),
    (lambda: layers.MelSpectrogram(0), ValueError, r"sample_rate=0"),
    (lambda: layers.PowerToDb(amin=0), ValueError, r"amin=0"),
    (lambda: layers.PowerToDb(top_db=-1), ValueError, r"top_db=-1"),
    (lambda: layers.PowerToDb(ref=-2.0), ValueError, r"ref=-2"),
    (lambda: layers.MFCC(16000, n_mfcc=50, n_mels=40), ValueError, r"n_mfcc=50 exceeds n_mels=40"),
    (lambda: layers.MFCC(16000, dct_type=4), ValueError, r"dct_type=4"),
    (lambda: layers.LogMelToMFCC(lifter=-1), ValueError, r"lifter=-1"),
    (lambda: layers.Delta(width=4), ValueError, r"width=4 .*odd integer >= 3"),
    (lambda: layers.Delta(width=5, order=0), ValueError, r"order=0"),
    (lambda: layers.Frame(0, 10), ValueError, r"frame_length=0"),
    (lambda: layers.MuLawEncoding(1), ValueError, r"quantization_channels=1 .*>= 2"),
    (lambda: layers.InverseSTFT(n_fft=512, length=0), ValueError, r"length=0"),
]


@pytest.mark.parametrize("make,exc,pattern", BAD_ARGS, ids=[p for _, _, p in BAD_ARGS])
def test_bad_arguments_at_construction(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


@pytest.mark.parametrize("shape", [(16000,), (2, 100, 4, 1)])
def test_wrong_rank_waveform(shape):
    with pytest.raises(ValueError, match=r"expects a waveform of shape .*got rank"):
        layers.MelSpectrogram(16000, n_fft=64, n_mels=8)(np.zeros(shape, np.float32))


def test_wrong_rank_symbolic():
    with pytest.raises(ValueError, match=r"expects a spectrogram"):
        layers.PowerToDb()(keras.Input((None,)))


def test_integer_dtype():
    with pytest.raises(TypeError, match=r"floating-point waveform, got dtype int16"):
        layers.STFT(n_fft=64)(np.zeros((1, 100), np.int16))
    with pytest.raises(TypeError, match=r"floating-point waveform, got dtype int32"):
        layers.MelSpectrogram(16000, n_fft=64, n_mels=8)(keras.Input((None,), dtype="int32"))
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype int32"):
        ops.stft(tf.zeros([100], tf.int32), n_fft=64)


def test_complex_required_by_inverse_stft():
    with pytest.raises(TypeError, match=r"complex spectrogram"):
        layers.InverseSTFT(n_fft=64)(np.zeros((1, 10, 33), np.float32))


def test_bins_mismatch_at_build():
    with pytest.raises(ValueError, match=r"expects 257 frequency bins on axis 2, got 129"):
        layers.MelFilterbank(16000, 512, 40)(keras.Input((None, 129)))
    with pytest.raises(ValueError, match=r"expects n_fft // 2 \+ 1 = 33 bins on axis 2, got 30"):
        layers.InverseSTFT(n_fft=64)(keras.Input((None, 30), dtype="complex64"))


def test_short_input_static_shape():
    with pytest.raises(ValueError, match=r"input length 300 is too short: with center=False .*n_fft=512"):
        layers.STFT(n_fft=512, center=False)(keras.Input((300,)))
    with pytest.raises(ValueError, match=r"input length 100 .*pad_mode='reflect' .*257 samples"):
        layers.Spectrogram(n_fft=512, pad_mode="reflect")(np.zeros((1, 100), np.float32))
    with pytest.raises(ValueError, match=r"needs at least 9 frames on axis 1, got 5"):
        layers.Delta()(keras.Input((5, 13)))


def test_short_input_dynamic_shape_raises_at_run_time():
    layer = layers.STFT(n_fft=512, center=False)
    fn = tf.function(layer, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shorter than 512 samples"):
        fn(tf.zeros([1, 300]))
    delta = tf.function(layers.Delta(), input_signature=[tf.TensorSpec([None, None, 4], tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"at least width=9 frames"):
        delta(tf.zeros([1, 5, 4]))


def test_short_input_centered_constant_is_fine():
    # Shorter than n_fft with center=True and zero padding is valid (librosa agrees).
    layer = layers.STFT(n_fft=512)
    y = layer(np.ones((1, 10), np.float32))
    assert tuple(y.shape) == tuple(layer.compute_output_shape((1, 10))) == (1, 1, 257)
