"""Recipe -> Keras pieces: augmentation layers, the model, optimiser, loss and metrics."""

from __future__ import annotations

import math

import keras

from tfaudio.train.recipe import Recipe


def augmentation(recipe: Recipe, seed: int) -> tuple[list, list]:
    """(waveform layers, spectrogram layers) of ``[augment]``; empty parts are left out."""
    from tfaudio import layers as L

    aug = recipe.augment
    wave, spec = [], []
    if aug.noise_snr_db and aug.noise_p > 0:
        wave.append(L.AddNoise(tuple(aug.noise_snr_db), p=aug.noise_p, seed=seed,
                               name="add_noise"))
    if aug.gain_db and aug.gain_p > 0:
        wave.append(L.RandomGain(*aug.gain_db, p=aug.gain_p, seed=seed + 1, name="random_gain"))
    if (aug.freq_mask and aug.n_freq_masks) or (aug.time_mask and aug.n_time_masks):
        spec.append(L.SpecAugment(aug.freq_mask, aug.time_mask, n_freq_masks=aug.n_freq_masks,
                                  n_time_masks=aug.n_time_masks, seed=seed + 2,
                                  name="spec_augment"))
    return wave, spec


def _vggish_classifier(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.models import LogMel, vggish_classifier
    from tfaudio.train.recipe import log_mel_settings

    wave, spec = augmentation(recipe, recipe.train.seed)
    m = recipe.model
    return vggish_classifier(
        num_classes, multi_label=recipe.data.multi_label, pooling=m.pooling, width=m.width,
        embedding_size=m.embedding_size, sample_rate=recipe.data.sample_rate,
        pad_short=recipe.frontend.pad_short, batch_norm=m.batch_norm, dropout=m.dropout,
        waveform_augmentation=wave, spectrogram_augmentation=spec, name=recipe.name,
        log_mel=LogMel(**log_mel_settings(recipe.frontend)), sync_batch_norm=_replicated())


def _replicated() -> bool:
    """Whether the model is being built for several replicas (a tf.distribute scope)."""
    import tensorflow as tf

    return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1


def _embedding_classifier(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.models import embedding_classifier

    m = recipe.model
    return embedding_classifier(
        num_classes, embedding_size=m.embedding_size, hidden_units=m.hidden_units,
        pooling=m.pooling, dropout=m.dropout, multi_label=recipe.data.multi_label,
        name=recipe.name)


def _crepe(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.train.pitch import build_crepe

    return build_crepe(recipe, num_classes)


def _wavenet(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.train.wavenet import build_wavenet

    return build_wavenet(recipe, num_classes)


def _speaker(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.train.speaker import build_speaker

    return build_speaker(recipe, num_classes)


def _separation(recipe: Recipe, num_classes: int) -> keras.Model:
    from tfaudio.train.separation import build_separation

    return build_separation(recipe)


BUILDERS = {"vggish_classifier": _vggish_classifier,
            "embedding_classifier": _embedding_classifier,
            "crepe": _crepe,
            "wavenet": _wavenet,
            "ecapa_tdnn": _speaker,
            "xvector": _speaker,
            "looking_to_listen_audio": _separation}


def build_model(recipe: Recipe, num_classes: int) -> keras.Model:
    """The recipe's model: ``vggish_classifier`` (waveform at ``data.sample_rate`` in,
    probabilities out), ``embedding_classifier`` (``(embeddings, mask)`` in; no
    ``[augment]`` or ``[frontend]``), ``crepe`` (waveform in, ``(frames, 360)`` pitch
    activations out: :mod:`tfaudio.train.pitch`), ``wavenet`` (waveform [+ class id]
    in, next-sample logits out: :mod:`tfaudio.train.wavenet`) or ``ecapa_tdnn`` /
    ``xvector`` (waveform in, AAM-softmax cosines of the training speakers out:
    :mod:`tfaudio.train.speaker`) or ``looking_to_listen_audio`` (waveform in, one
    waveform per speaker out: :mod:`tfaudio.train.separation`)."""
    return BUILDERS[recipe.model.name](recipe, num_classes)


@keras.saving.register_keras_serializable(package="tfaudio")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up for ``warmup_steps``, then constant, cosine or exponential decay.

    Args:
        learning_rate: peak rate.
        total_steps: steps of the whole run (for cosine).
        warmup_steps: steps of linear warm-up from 0.
        kind: ``"constant"``, ``"cosine"`` (to ``min_fraction * learning_rate``) or
            ``"exponential"`` (``decay_rate`` per ``steps_per_epoch``).
    """

    def __init__(self, learning_rate: float, total_steps: int, warmup_steps: int = 0,
                 kind: str = "constant", min_fraction: float = 0.0, decay_rate: float = 0.5,
                 steps_per_epoch: int = 1):
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.kind = kind
        self.min_fraction = float(min_fraction)
        self.decay_rate = float(decay_rate)
        self.steps_per_epoch = max(1, int(steps_per_epoch))

    def __call__(self, step):
        from keras import ops

        step = ops.cast(step, "float32")
        lr = self.learning_rate
        after = ops.maximum(step - self.warmup_steps, 0.0)
        if self.kind == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            frac = ops.minimum(after / span, 1.0)
            cos = 0.5 * (1.0 + ops.cos(math.pi * frac))
            rate = lr * (self.min_fraction + (1.0 - self.min_fraction) * cos)
        elif self.kind == "exponential":
            rate = lr * ops.power(self.decay_rate, after / self.steps_per_epoch)
        else:
            rate = ops.convert_to_tensor(lr, "float32") + 0.0 * step
        if self.warmup_steps:
            rate = ops.where(step < self.warmup_steps,
                             lr * (step + 1.0) / self.warmup_steps, rate)
        return rate

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "kind": self.kind,
                "min_fraction": self.min_fraction, "decay_rate": self.decay_rate,
                "steps_per_epoch": self.steps_per_epoch}


def optimizer(recipe: Recipe, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's optimiser with its learning-rate schedule."""
    o, s = recipe.optimizer, recipe.schedule
    total = steps_per_epoch * recipe.train.epochs
    lr = WarmupSchedule(o.learning_rate, total, round(s.warmup_epochs * steps_per_epoch),
                        s.name, s.min_fraction, s.decay_rate, steps_per_epoch)
    kw = {"learning_rate": lr}
    if o.clipnorm:
        kw["clipnorm"] = o.clipnorm
    if o.name == "adam":
        return keras.optimizers.Adam(epsilon=o.epsilon, **kw)
    if o.name == "adamw":
        return keras.optimizers.AdamW(weight_decay=o.weight_decay, epsilon=o.epsilon, **kw)
    return keras.optimizers.SGD(momentum=0.9, weight_decay=o.weight_decay or None, **kw)


@keras.saving.register_keras_serializable(package="tfaudio")
class ExamplesSeen(keras.metrics.Metric):
    """Counts the examples of the epoch (rows of the targets): proves every example was seen."""

    def __init__(self, name: str = "examples", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float32",
                                       name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = keras.ops.cast(keras.ops.shape(y_true)[0], "float32")
        self.count.assign(self.count + n)

    def result(self):
        return self.count

    def reset_state(self):
        self.count.assign(0.0)


def loss_and_metrics(recipe: Recipe) -> tuple[str, list]:
    """Loss (name or function) and metric objects for the recipe's task."""
    if recipe.data.targets == "f0":
        from tfaudio.train import pitch

        return pitch.loss_and_metrics(recipe)
    if recipe.data.targets == "audio":
        from tfaudio.train import wavenet

        return wavenet.loss_and_metrics(recipe)

    if recipe.data.targets == "speaker":
        from tfaudio.train import speaker

        return speaker.loss_and_metrics(recipe)
    if recipe.data.targets == "separation":
        from tfaudio.train import separation

        return separation.loss_and_metrics(recipe)
    multi = recipe.data.multi_label
    loss = "binary_crossentropy" if multi else "sparse_categorical_crossentropy"
    metrics: list = []
    for name in recipe.train.metrics:
        if name == "accuracy":
            metrics.append(keras.metrics.BinaryAccuracy(name="accuracy") if multi
                           else keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        elif name == "top5_accuracy":
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy"))
        elif name == "auc":
            metrics.append(keras.metrics.AUC(multi_label=multi, name="auc"))
        elif name == "pr_auc":
            metrics.append(keras.metrics.AUC(curve="PR", multi_label=multi, name="pr_auc"))
    metrics.append(ExamplesSeen())
    return loss, metrics
