"""Additive angular margin softmax (AAM-softmax, ArcFace): the training head of speaker
embedding models.

ArcFace (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
CVPR 2019), used for speakers by Xiang et al. ("Margin Matters: Towards More
Discriminative Deep Neural Network Embeddings for Speaker Recognition", APSIPA 2019) and
ECAPA-TDNN (margin 0.2, scale 30). With ``x`` the embedding, ``w_j`` the centre of class
``j`` and ``theta_j`` the angle between them:

``logit_j = s * cos(theta_j)`` for ``j != y``, ``logit_y = s * cos(theta_y + m)``,

then softmax cross-entropy. The penalty ``cos(theta + m)`` would grow again past
``theta + m > pi``; as in ArcFace and SpeechBrain it is replaced there by
``cos(theta) - m * sin(m)`` (still decreasing in ``theta``, with a small downward step at
``theta = pi - m``: from -1 to ``-cos(m) - m sin(m)``, -1.0199 at ``m = 0.2``). With
``easy_margin`` the margin is applied only where ``cos(theta) > 0``.

The split between layer and loss (a design choice): :class:`AAMSoftmax` is a plain layer
with the class centres that outputs the cosines ``(batch, classes)``: no labels, so it
serialises, exports and runs in inference like any layer (its argmax is the closed-set
prediction). The margin needs the labels and is applied in :class:`AAMSoftmaxLoss`
(``y_true`` = class index, ``y_pred`` = the cosines). The loss holds the margin in a
non-trainable variable, which :class:`MarginWarmup` ramps from 0 during the first steps
(read from the optimiser's step count, so a resumed run continues the ramp).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfaudio import _checks
from tfaudio.layers.base import register

MARGIN = 0.2  # ECAPA-TDNN / VoxCeleb recipes
SCALE = 30.0
# Below this 1 - cos^2 the gradient of sin(theta) = sqrt(1 - cos^2) is dropped.
_SIN2_FLOOR = 1e-7


@register
class AAMSoftmax(keras.layers.Layer):
    """Cosine similarity of each embedding to every class centre: the AAM-softmax head.

    ``cos[b, j] = <x_b / |x_b|, w_j / |w_j|>``, in float32 whatever the dtype policy
    (cast to the compute dtype at the end). The margin and scale are applied by
    :class:`AAMSoftmaxLoss` (see :mod:`tfaudio.models.aam`); multiply by the scale for
    plain normalised-softmax logits.

    Args:
        num_classes: classes (training speakers).
        kernel_initializer: initialiser of the ``(features, num_classes)`` centres.
        epsilon: floor of the norms (an all-zero embedding gives cosines of 0).

    Input shape: ``(batch, features)`` embeddings.
    Output shape: ``(batch, num_classes)`` cosines in [-1, 1].

    Example:
        >>> AAMSoftmax(5)(tf.ones([2, 192])).shape
        TensorShape([2, 5])
    """

    def __init__(self, num_classes: int, kernel_initializer="glorot_uniform",
                 epsilon: float = 1e-12, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.num_classes = _checks.positive_int("num_classes", num_classes)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.epsilon = _checks.positive_float("epsilon", epsilon)

    def build(self, input_shape):
        features = input_shape[-1]
        if len(input_shape) != 2 or features is None:
            raise ValueError(f"AAMSoftmax expects embeddings (batch, features) with a known "
                             f"feature size, got shape {tuple(input_shape)}")
        self.kernel = self.add_weight(name="centres", shape=(int(features), self.num_classes),
                                      initializer=self.kernel_initializer, dtype="float32",
                                      autocast=False)

    def call(self, inputs):
        x = tf.nn.l2_normalize(tf.cast(inputs, tf.float32), axis=-1, epsilon=self.epsilon)
        w = tf.nn.l2_normalize(tf.convert_to_tensor(self.kernel), axis=0,
                               epsilon=self.epsilon)
        cos = tf.clip_by_value(tf.matmul(x, w), -1.0, 1.0)
        return tf.cast(cos, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "epsilon": self.epsilon}


def aam_logits(cosine, labels, margin: float | tf.Tensor = MARGIN, scale: float = SCALE,
               easy_margin: bool = False) -> tf.Tensor:
    """AAM-softmax logits from cosines: ``s * cos(theta_y + m)`` on the target class,
    ``s * cos(theta_j)`` elsewhere.

    ``cos(theta + m) = cos * cos(m) - sin * sin(m)`` with ``sin = sqrt(1 - cos^2)``; the
    sine's gradient is dropped where ``1 - cos^2 <= 1e-7`` (its derivative is infinite at
    ``theta = 0`` and ``pi``), so gradients stay finite. Where ``theta + m > pi``
    (``cos < cos(pi - m)``) the target logit is ``s * (cos - m sin(m))`` instead
    (ArcFace's ``th`` / ``mm``); with ``easy_margin`` the margin applies only where
    ``cos > 0``.

    Args:
        cosine: ``(batch, classes)`` cosines (the :class:`AAMSoftmax` output).
        labels: ``(batch,)`` or ``(batch, 1)`` int class indices.
        margin: additive angle in radians (a float or a scalar tensor/variable).
        scale: the scale ``s``.
        easy_margin: ArcFace's ``easy_margin``.

    Returns:
        float32 ``(batch, classes)`` logits.
    """
    cos = tf.clip_by_value(tf.cast(cosine, tf.float32), -1.0, 1.0)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    m = tf.cast(margin, tf.float32)
    # sin(theta) = sqrt(1 - cos^2) exactly, but its derivative -cos / sin is infinite at
    # theta = 0 and pi: where 1 - cos^2 <= 1e-7 the sine's gradient is dropped (the
    # double-where keeps the NaN of sqrt'(0) out of the unused branch).
    sin2 = (1.0 - cos) * (1.0 + cos)  # exact differences near |cos| = 1, unlike 1 - cos^2
    smooth = sin2 > _SIN2_FLOOR
    sin = tf.where(smooth, tf.sqrt(tf.where(smooth, sin2, 1.0)),
                   tf.stop_gradient(tf.sqrt(tf.maximum(sin2, 0.0))))
    phi = cos * tf.cos(m) - sin * tf.sin(m)
    if easy_margin:
        phi = tf.where(cos > 0.0, phi, cos)
    else:
        phi = tf.where(cos > -tf.cos(m), phi, cos - m * tf.sin(m))  # cos(pi - m) = -cos(m)
    target = tf.one_hot(labels, tf.shape(cos)[-1], on_value=True, off_value=False,
                        dtype=tf.bool)
    return float(scale) * tf.where(target, phi, cos)


@register
class AAMSoftmaxLoss(keras.losses.Loss):
    """Softmax cross-entropy of :func:`aam_logits`: ``y_true`` class indices, ``y_pred``
    the :class:`AAMSoftmax` cosines.

    The margin in use is ``self.margin_variable`` (non-trainable, starts at ``margin``);
    :class:`MarginWarmup` ramps it. Under ``tf.distribute``, create the loss inside the
    strategy's scope.

    Args:
        margin: the additive angular margin ``m`` in radians (ECAPA-TDNN: 0.2).
        scale: the scale ``s`` (ECAPA-TDNN: 30).
        easy_margin: ArcFace's ``easy_margin`` (margin only where ``cos > 0``).
        name, reduction: as ``keras.losses.Loss``.

    Example:
        >>> model.compile(optimizer="adam", loss=AAMSoftmaxLoss(),
        ...               metrics=["sparse_categorical_accuracy"])  # doctest: +SKIP
    """

    def __init__(self, margin: float = MARGIN, scale: float = SCALE, easy_margin: bool = False,
                 name: str = "aam_softmax", reduction: str = "sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.margin = _checks.number_in("margin", margin, 0.0, math.pi / 2)
        self.scale = _checks.positive_float("scale", scale)
        self.easy_margin = bool(easy_margin)
        self.margin_variable = keras.Variable(self.margin, dtype="float32", trainable=False,
                                              name="aam_margin")

    def call(self, y_true, y_pred):
        logits = aam_logits(y_pred, y_true, self.margin_variable, self.scale, self.easy_margin)
        labels = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "scale": self.scale,
                "easy_margin": self.easy_margin}


class MarginWarmup(keras.callbacks.Callback):
    """Ramps an :class:`AAMSoftmaxLoss` margin linearly from 0 to its ``margin``.

    Before each training batch, ``margin_variable = margin * min(1, step / warmup_steps)``
    with ``step`` the optimiser's iteration count (so ``--resume`` continues the ramp).
    Warm-up of the margin is common in speaker recipes (e.g. WeSpeaker's margin
    scheduler); the ECAPA-TDNN paper trains with the full margin.

    Args:
        loss: the compiled :class:`AAMSoftmaxLoss`.
        warmup_steps: optimiser steps of the ramp (0 = the full margin from the start).
    """

    def __init__(self, loss: AAMSoftmaxLoss, warmup_steps: int):
        super().__init__()
        if not isinstance(loss, AAMSoftmaxLoss):
            raise TypeError(f"loss must be an AAMSoftmaxLoss, got {type(loss).__name__}")
        self.loss = loss
        self.warmup_steps = _checks.non_negative_int("warmup_steps", warmup_steps)

    def value(self, step: int) -> float:
        """The margin at optimiser step ``step``."""
        if self.warmup_steps == 0:
            return self.loss.margin
        return self.loss.margin * min(1.0, step / self.warmup_steps)

    def on_train_batch_begin(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.loss.margin_variable.assign(self.value(step))


def with_aam_head(embedding_model: keras.Model, num_classes: int, name: str | None = None
                  ) -> keras.Model:
    """The training model: ``embedding_model`` followed by an :class:`AAMSoftmax` head.

    Train it with :class:`AAMSoftmaxLoss` on class indices; export ``embedding_model``
    itself (it shares its weights with the training model), or
    ``model.get_layer(embedding_model.name)`` after reloading.

    Args:
        embedding_model: waveform (or features) -> ``(batch, embedding)``.
        num_classes: training speakers.
        name: model name (default ``"<embedding model>_aam"``).

    Returns:
        ``keras.Model``: the embedding model's inputs -> ``(batch, num_classes)`` cosines
        (layer ``"aam"``).
    """
    inputs = [keras.Input(t.shape[1:], dtype=t.dtype, name=t.name.split(":")[0])
              for t in embedding_model.inputs]
    x = embedding_model(inputs[0] if len(inputs) == 1 else inputs)
    out = AAMSoftmax(num_classes, name="aam")(x)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, out,
                       name=name or f"{embedding_model.name}_aam")
