"""The base of augmentation layers, plus ``Compose`` and ``RandomApply``.

Randomness: each layer owns a ``keras.random.SeedGenerator(seed)``. Every training call
draws a fresh stateless seed from it (``seed_generator.next()``): the generator's state
is a tracked, non-trainable variable, so it advances on every step, also inside a
compiled (``jit_compile=True``) ``model.fit`` and inside ``tf.data.Dataset.map``. Two
layers built with the same integer ``seed`` produce the same sequence of draws. A seed
tensor ``[2]`` may be passed at call time instead (``layer(x, training=True, seed=s)``),
which makes the call a pure function of ``(x, s)`` (e.g. seeds from
``tf.data.Dataset.random``).

Inference: with ``training`` False or None the layers return their input unchanged (cast
to the compute dtype, which is no op when the dtypes already agree): a model exported
with ``model.export`` contains no augmentation op.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import SPECTROGRAM, WAVEFORM, AudioLayer, register
from tfaudio.ops import augment as ops


def replica_seed(seed: Any) -> tf.Tensor:
    """A generator seed made distinct per replica under ``tf.distribute``.

    The seed generator's state is one mirrored variable, so every replica would draw
    the same numbers for its share of the batch. The replica's id (global across
    workers) is added to the seed's second word, shifted far above the generator's
    per-call counter: replica 0, and any single-device run, keep their draws.
    """
    seed = ops.as_seed(seed)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return seed
    replica = tf.cast(ctx.replica_id_in_sync_group, tf.int64)
    return seed + tf.stack([tf.constant(0, tf.int64), replica * (1 << 40)])


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    return _checks.non_negative_int("seed", seed)


class AugmentationLayer(AudioLayer):
    """Base of the augmentation layers: ``p``, ``seed``, training switch, channels.

    Subclasses implement ``_augment(x, seed)`` on a float32 batch-first tensor in the op
    layout (``(batch, ..., time)`` or ``(batch, ..., frames, bins)``).

    Args:
        p: probability that an example is augmented, in ``[0, 1]``.
        seed: integer seed of the layer's ``SeedGenerator`` (None = random).
        per_channel: draw independently for each channel (default: one draw per example,
            shared by its channels).
    """

    def __init__(self, p: float = 1.0, seed: int | None = None, per_channel: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.p = ops.check_p(p)
        self.seed = _check_seed(seed)
        self.per_channel = bool(per_channel)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    # ------------------------------------------------------------------- call
    def call(self, inputs, training=None, seed=None):
        if isinstance(training, (tf.Tensor, tf.Variable)):
            return tf.cond(tf.cast(training, tf.bool),
                           lambda: self._train_call(inputs, seed),
                           lambda: self._inference(inputs))
        if not training:
            return self._inference(inputs)
        return self._train_call(inputs, seed)

    def _train_call(self, inputs, seed):
        x = self._float32(inputs)
        seed = replica_seed(self.seed_generator.next()) if seed is None else ops.as_seed(seed)
        return self._output(self._channels(x, seed))

    def _inference(self, inputs):
        x = tf.convert_to_tensor(inputs)
        self._check_rank(x.shape)
        self._check_dtype(x.dtype)
        return tf.cast(x, self.compute_dtype)

    def _augment(self, x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def _channels(self, x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Runs ``_augment`` on channels-last ``x`` via the batch-first op layout."""
        base_rank = 2 if self.input_kind == WAVEFORM else 3
        if x.shape.rank == base_rank:
            return self._augment(x, seed)
        to, back = ([0, 2, 1], [0, 2, 1]) if self.input_kind == WAVEFORM else (
            [0, 3, 1, 2], [0, 2, 3, 1])
        moved = tf.transpose(x, to)  # (batch, channels, ...)
        if not self.per_channel:
            return tf.transpose(self._augment(moved, seed), back)
        shape = tf.shape(moved)
        merged = tf.reshape(moved, tf.concat([[-1], shape[2:]], 0))
        out = self._augment(merged, seed)
        out = tf.reshape(out, tf.concat([shape[:2], tf.shape(out)[1:]], 0))
        out = tf.transpose(out, back)
        out.set_shape(self.compute_output_shape(x.shape))
        return out

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(p=self.p, seed=self.seed)
        return config


class _SpectrogramAugmentation(AugmentationLayer):
    input_kind = SPECTROGRAM

    def get_config(self):
        return {**super().get_config(), "per_channel": self.per_channel}


def _serialize(layer):
    return keras.saving.serialize_keras_object(layer)


def _deserialize(config):
    return keras.saving.deserialize_keras_object(config)


@register
class Compose(AugmentationLayer):
    """Applies augmentation layers in order; with ``p < 1`` the whole chain per example.

    Training calls pass ``training=True`` to every layer (each draws from its own
    generator, or from a split of the ``seed`` tensor passed at call time); inference
    calls pass ``training=False``. With ``p < 1`` the chain runs on the whole batch and
    each example keeps its input with probability ``1 - p``, which needs the chain to
    keep the shape.

    Args:
        layers: augmentation layers (or any Keras layers taking ``training``).
        p: probability per example of applying the chain.
        seed: seed of the per-example ``p`` draw.

    Example:
        >>> aug = Compose([RandomGain(-6, 6), AddNoise(snr_db=(10, 30))])
        >>> y = aug(tf.random.normal([4, 16000]), training=True)
    """

    def __init__(self, layers: list, p: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(p=p, seed=seed, **kwargs)
        layers = [_deserialize(lay) if isinstance(lay, dict) else lay for lay in layers]
        if not layers:
            raise ValueError("layers=[] is empty: Compose needs at least one layer")
        for lay in layers:
            if not isinstance(lay, keras.layers.Layer):
                raise TypeError(f"layers must be Keras layers, got {lay!r}")
        self.layers = list(layers)

    def _check_rank(self, shape):
        return None  # the inner layers check their own inputs

    def build(self, input_shape):
        shape = input_shape
        for lay in self.layers:
            if not lay.built:
                lay.build(shape)
            shape = lay.compute_output_shape(shape)
        self.built = True

    def _run(self, x, training, seed):
        seeds = [None] * len(self.layers) if seed is None else ops.split_seed(seed, len(self.layers))
        for lay, s in zip(self.layers, seeds, strict=True):
            if s is not None and isinstance(lay, AugmentationLayer):
                x = lay(x, training=training, seed=s)
            else:
                x = lay(x, training=training)
        return x

    def call(self, inputs, training=None, seed=None):
        if isinstance(training, (tf.Tensor, tf.Variable)) or training:
            return super().call(inputs, training=training, seed=seed)
        return tf.cast(self._run(inputs, False, None), self.compute_dtype)

    def _train_call(self, inputs, seed):
        if seed is None:
            own, inner = replica_seed(self.seed_generator.next()), None
        else:
            own, inner = ops.split_seed(seed, 2)
        out = tf.cast(self._run(inputs, True, inner), self.compute_dtype)
        if self.p >= 1.0:
            return out
        keep = ops.apply_draw(own, tf.shape(out)[0], self.p)
        x = tf.cast(inputs, out.dtype)
        if x.shape.rank != out.shape.rank or not x.shape.is_compatible_with(out.shape):
            raise ValueError(f"{type(self).__name__}(p={self.p}) needs layers that keep the shape, "
                             f"got {x.shape} -> {out.shape}")
        keep = tf.reshape(keep, [-1] + [1] * (out.shape.rank - 1))
        return tf.where(keep, out, x)

    def compute_output_spec(self, inputs, *args, **kwargs):
        out = inputs
        for lay in self.layers:
            out = lay.compute_output_spec(out)
        return out

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for lay in self.layers:
            shape = tuple(lay.compute_output_shape(shape))
        return shape

    def get_config(self):
        config = super().get_config()
        config["layers"] = [_serialize(lay) for lay in self.layers]
        return config


@register
class RandomApply(Compose):
    """Applies one layer to each example with probability ``p`` (``Compose([layer], p)``).

    Args:
        layer: an augmentation layer that keeps the shape.
        p: probability per example.
        seed: seed of the ``p`` draw.

    Example:
        >>> aug = RandomApply(TimeWarp(5), p=0.3)
    """

    def __init__(self, layer, p: float = 0.5, seed: int | None = None, **kwargs):
        kwargs.pop("layers", None)
        if isinstance(layer, dict):
            layer = _deserialize(layer)
        super().__init__([layer], p=p, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["layer"] = config.pop("layers")[0]
        return config
