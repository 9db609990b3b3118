"""A classifier of AudioSet-format embedding sequences (``tfaudio embed`` output).

The layer table, per clip of ``T`` frames of 0.96 s (one 128-d embedding each):

==================  ==================================================================
input               embeddings ``(batch, T, embedding_size)`` float32, mask ``(batch, T)``
                    bool (True on real frames; padding is False)
frame_fc1..N        ``Dense(hidden_units[i])`` + ReLU per frame [+ dropout]
pooling "mean"      ``frame_logits``: ``Dense(classes)`` per frame -> masked mean over frames
pooling "attention" masked decision-level attention (:class:`MaskedAttentionPooling`)
probabilities       sigmoid (multi-label, AudioSet) or softmax
==================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tfaudio import _checks
from tfaudio.models.blocks import MaskedAttentionPooling, MaskedMean

EMBEDDING_SIZE = 128


def embedding_classifier(num_classes: int, embedding_size: int = EMBEDDING_SIZE,
                         hidden_units: Sequence[int] = (512,), pooling: str = "mean",
                         dropout: float = 0.0, multi_label: bool = True,
                         name: str = "embedding_classifier") -> keras.Model:
    """Per-frame MLP and masked clip pooling over a sequence of embeddings.

    Args:
        num_classes: classes (527 for AudioSet).
        embedding_size: size of each frame's embedding (128 for VGGish / AudioSet).
        hidden_units: widths of the per-frame ReLU layers (``()`` for a linear model).
        pooling: ``"mean"`` (masked mean of per-frame logits) or ``"attention"``
            (masked decision-level attention).
        dropout: dropout rate after each hidden layer.
        multi_label: sigmoid outputs (multi-hot targets) instead of softmax.
        name: model name.

    Returns:
        ``keras.Model`` ``[embeddings (batch, T, embedding_size), mask (batch, T)] ->
        (batch, num_classes)`` probabilities, with layers ``frame_fc1``...,
        ``frame_logits`` / ``clip_pooling``, ``probabilities``.

    Example:
        >>> model = embedding_classifier(10, hidden_units=(64,))
        >>> model.count_params()  # 128*64+64 + 64*10+10
        8906
        >>> model([np.zeros([2, 5, 128], "float32"), np.ones([2, 5], bool)]).shape
        TensorShape([2, 10])
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    embedding_size = _checks.positive_int("embedding_size", embedding_size)
    pooling = _checks.one_of("pooling", pooling, ("mean", "attention"))
    dropout = _checks.number_in("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    hidden = [_checks.positive_int("hidden_units", u) for u in hidden_units]
    embeddings = keras.Input((None, embedding_size), name="embeddings")
    mask = keras.Input((None,), dtype="bool", name="mask")
    x = embeddings
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"frame_fc{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"frame_dropout{i}")(x)
    if pooling == "mean":
        x = keras.layers.Dense(num_classes, name="frame_logits")(x)
        x = MaskedMean(name="clip_pooling")([x, mask])
    else:
        x = MaskedAttentionPooling(num_classes, name="clip_pooling")([x, mask])
    activation = "sigmoid" if multi_label else "softmax"
    out = keras.layers.Activation(activation, dtype="float32", name="probabilities")(x)
    return keras.Model([embeddings, mask], out, name=name)
