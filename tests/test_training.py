"""Trainable front ends learn; the front end trains inside a model."""

import keras
import numpy as np
import tensorflow as tf

from tfaudio import layers


def test_trainable_melspectrogram_learns():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4000)).astype(np.float32) * 0.3
    target_layer = layers.MelSpectrogram(16000, n_fft=256, hop_length=128, n_mels=16)
    # The target comes from a scaled filterbank; the model starts from librosa's.
    target_layer.build((None, 4000))
    fb = target_layer.mel.filterbank.numpy()
    target_layer.mel.filterbank.assign(fb * 1.5)
    y = np.log(np.asarray(target_layer(x)) + 1e-6)

    inp = keras.Input((None,))
    mel = layers.MelSpectrogram(16000, n_fft=256, hop_length=128, n_mels=16, trainable=True)
    out = keras.layers.Lambda(lambda t: tf.math.log(tf.nn.relu(t) + 1e-6))(mel(inp))
    model = keras.Model(inp, out)
    assert len(model.trainable_weights) == 1
    model.compile(keras.optimizers.Adam(3e-5), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.5 * before, (before, after)


def test_frozen_melspectrogram_has_no_trainable_weights():
    layer = layers.MelSpectrogram(16000, n_fft=256, n_mels=16)
    layer.build((None, None))
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 1


def test_classifier_trains_on_front_end_with_xla():
    rng = np.random.default_rng(1)
    t = np.arange(4000) / 16000
    freqs = np.where(rng.random(64) < 0.5, 300.0, 2000.0)
    x = (np.sin(2 * np.pi * freqs[:, None] * t) + 0.1 * rng.standard_normal((64, 4000)))
    labels = (freqs > 1000).astype(np.float32)
    inp = keras.Input((None,))
    h = layers.PowerToDb()(layers.MelSpectrogram(16000, n_fft=256, hop_length=128, n_mels=32)(inp))
    h = keras.layers.GlobalAveragePooling1D()(h)
    h = keras.layers.Normalization()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    model.layers[-2].adapt(np.asarray(keras.Model(inp, model.layers[-3].output)(x)))
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"],
                  jit_compile=True)
    model.fit(x.astype(np.float32), labels, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x.astype(np.float32), labels, verbose=0)[1] > 0.95
