"""Layers that model builders share: apply a model per patch, attention pooling over patches."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import register


@register
class PerPatch(keras.layers.Wrapper):
    """Applies a layer (or model) to every patch of ``(batch, patches, ...)`` at once.

    The patches of the whole batch are folded into one batch of
    ``batch * patches`` items, the inner layer runs once, and the result is unfolded
    (a reshape, not ``TimeDistributed``'s per-step map): variable patch counts and
    XLA work, and a clip with zero patches gives zero outputs.

    Args:
        layer: the layer applied to each ``(...)`` patch.

    Input shape: ``(batch, patches, *patch_shape)``.
    Output shape: ``(batch, patches, *layer_output_shape)``.

    Example:
        >>> PerPatch(keras.layers.Flatten())(tf.zeros([2, 3, 4, 5])).shape
        TensorShape([2, 3, 20])
    """

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError(f"PerPatch expects (batch, patches, ...) inputs, got shape "
                             f"{input_shape}")
        if not self.layer.built:
            self.layer.build((None,) + input_shape[2:])
        self.built = True

    def call(self, inputs, training=None):
        x = tf.convert_to_tensor(inputs)
        shape = tf.shape(x)
        folded = tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0))
        folded.set_shape((None,) + tuple(x.shape[2:]))
        y = self.layer(folded, training=training)
        out_shape = tf.shape(y)
        return tf.reshape(y, tf.concat([shape[:2], out_shape[1:]], axis=0))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        inner = self.layer.compute_output_shape((None,) + input_shape[2:])
        return input_shape[:2] + tuple(inner[1:])


@register
class AttentionPooling(keras.layers.Layer):
    """Attention pooling of per-patch class scores into clip scores.

    Decision-level attention (Kong et al., "Audio Set classification with attention
    model: a probabilistic perspective", ICASSP 2018): per patch ``t`` and class ``k``,
    a score ``z[t, k] = W_z e_t + b_z`` and an attention logit ``a[t, k] = W_a e_t +
    b_a``; the clip logit is ``sum_t softmax_t(a)[t, k] * z[t, k]``. Mean pooling is
    the special case of equal attention.

    Args:
        num_classes: output classes.

    Input shape: per-patch embeddings ``(batch, patches, features)``.
    Output shape: clip logits ``(batch, num_classes)``.
    """

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _checks.positive_int("num_classes", num_classes)
        self.scores = keras.layers.Dense(self.num_classes, name="scores")
        self.attention = keras.layers.Dense(self.num_classes, name="attention")

    def build(self, input_shape):
        self.scores.build(input_shape)
        self.attention.build(input_shape)
        self.built = True

    def call(self, inputs):
        z = self.scores(inputs)
        w = tf.nn.softmax(self.attention(inputs), axis=1)
        return tf.reduce_sum(w * z, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _mask_weights(mask: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    return tf.cast(mask, dtype)[..., None]  # (batch, frames, 1)


@register
class MaskedMean(keras.layers.Layer):
    """Mean over the real frames of ``(batch, frames, features)``.

    Called on ``[inputs, mask]`` with a bool ``(batch, frames)`` mask (True on real
    frames, as :func:`tfaudio.data.audioset_dataset` yields it); a clip without real
    frames gives zeros.

    Output shape: ``(batch, features)``.

    Example:
        >>> MaskedMean()([tf.ones([1, 3, 2]) * [[[1.], [3.], [9.]]],
        ...               tf.constant([[True, True, False]])]).numpy()
        array([[2., 2.]], dtype=float32)
    """

    def call(self, inputs):
        x, mask = inputs
        w = _mask_weights(mask, x.dtype)
        return tf.reduce_sum(x * w, axis=1) / tf.maximum(tf.reduce_sum(w, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        return (shape[0], shape[2])


@register
class MaskedAttentionPooling(AttentionPooling):
    """:class:`AttentionPooling` over the real frames only: called on ``[inputs, mask]``.

    Padded frames get zero attention weight (their attention logits are set to a large
    negative value before the softmax over frames).

    Output shape: clip logits ``(batch, num_classes)``.
    """

    def build(self, input_shape):
        super().build(tuple(input_shape[0]))

    def call(self, inputs):
        x, mask = inputs
        z = self.scores(x)
        a = self.attention(x)
        a = tf.where(tf.cast(mask, tf.bool)[..., None], a, tf.cast(-1e9, a.dtype))
        w = tf.nn.softmax(a, axis=1) * _mask_weights(mask, a.dtype)
        return tf.reduce_sum(w * z, axis=1)

    def compute_output_shape(self, input_shape):
        return (tuple(input_shape[0])[0], self.num_classes)
