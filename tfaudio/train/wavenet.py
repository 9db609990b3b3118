"""Training WaveNet on raw audio (``data.targets = "audio"``, ``model.name = "wavenet"``),
evaluating it in bits per sample, generating from a run.

The model is :func:`tfaudio.models.wavenet_waveform`: float32 waveforms ``(batch, time)``
-> :class:`~tfaudio.layers.MuLawEncoding` -> :func:`tfaudio.models.wavenet` -> logits
``(batch, time, Q)`` (logit ``t`` predicts the code of sample ``t + 1``), with the clip's
label as the global condition (``model.global_condition``) and, for a vocoder, the
clip's own log-mel (:func:`tfaudio.models.wavenet_mel`, computed in the model) as the
local condition.

Data: windows of ``receptive_field + model.sample_size`` samples at random offsets of
the clips (the reader's random crop; validation from each clip's start); the targets
are the same window's mu-law codes (:func:`tfaudio.ops.mu_law_encode`, the op of the
model's ``MuLawEncoding``). The loss (:class:`WaveNetLoss`) is the softmax cross-entropy
of the code at ``t + 1`` given the logits at ``t``, only on the ``sample_size``
positions ``t >= receptive_field - 1`` whose receptive field is all inside the window
(the earlier ones see the zero padding of the causal convs), averaged: nats per sample.
Metrics: ``bits_per_sample`` (the same NLL / ln 2) and ``accuracy`` (next code).

Evaluation (:func:`evaluate_wavenet`) scores whole test clips the same way (every
position with a full receptive field), per class too, then generates
:data:`GENERATE_PER_CLASS` clips of :data:`GENERATE_SECONDS` per class with
:class:`~tfaudio.models.WaveNetGenerator` (temperature 1, after ``receptive_field``
silence codes) and reports each one's spectral peak (for ``tone_<hz>`` classes: against
that pitch), with WAVs and a spectrogram PNG of the first clip of each class.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from tfaudio.train.recipe import Recipe, wavenet_receptive_field

GENERATE_SECONDS = 1.0  # per generated clip, in evaluation
GENERATE_PER_CLASS = 4  # clips per class (seeds differ per row of the batch)
PEAK_TOLERANCE_HZ = 20.0
SKIP_SECONDS = 0.1  # of each generated clip before its spectrum (the start from silence)
MIN_PEAK_HZ = 30.0
MEL_LAYER = "wavenet_mel"
LN2 = math.log(2.0)


# ----------------------------------------------------------------- model
def build_wavenet(recipe: Recipe, num_classes: int) -> keras.Model:
    """The recipe's WaveNet on waveforms (global condition over ``num_classes`` labels
    when ``model.global_condition``; local condition on its log-mel when
    ``model.local_condition_mels``)."""
    from tfaudio.models import wavenet, wavenet_mel, wavenet_waveform

    m = recipe.model
    lc = m.local_condition_mels or None
    net = wavenet(
        quantization_channels=m.quantization_channels, residual_channels=m.residual_channels,
        dilation_channels=m.dilation_channels, skip_channels=m.skip_channels,
        dilations=m.dilations, filter_width=m.filter_width,
        global_condition_classes=num_classes if m.global_condition else None,
        global_condition_channels=(m.global_condition_channels or None)
        if m.global_condition else None,
        local_condition_channels=lc, upsample_factors=m.upsample_factors or None,
        use_bias=m.use_bias, name="wavenet")
    features = None
    if lc:
        features = wavenet_mel(recipe.data.sample_rate, lc, int(np.prod(m.upsample_factors)),
                               name=MEL_LAYER)
    return wavenet_waveform(net, features, name=recipe.name)


def window_samples(recipe: Recipe) -> int:
    """Samples per training window: ``receptive_field + model.sample_size``."""
    return wavenet_receptive_field(recipe.model) + recipe.model.sample_size


def make_dataset(recipe: Recipe, path: str, split: str, training: bool, num_classes: int,
                 batch_size: int) -> Any:
    """Windows of a split: ``((waveform, label), codes)`` (or ``(waveform, codes)``
    without global conditioning); training windows at random offsets, shuffled."""
    import tensorflow as tf

    from tfaudio.data import audio_dataset
    from tfaudio.ops import mu_law_encode

    d, m = recipe.data, recipe.model
    ds = audio_dataset(path, split=split, sample_rate=d.sample_rate,
                       clip_seconds=window_samples(recipe) / d.sample_rate,
                       random_crop=training, batch_size=batch_size, shuffle=training,
                       cache=d.cache, repeat=False, labels="int", seed=recipe.train.seed,
                       mono=True, deterministic=d.deterministic or None)
    q = m.quantization_channels

    def pair(x, y):
        codes = mu_law_encode(x, q)
        return ((x, tf.cast(y, tf.int32)), codes) if m.global_condition else (x, codes)

    return ds.map(pair, num_parallel_calls=tf.data.AUTOTUNE)


# ----------------------------------------------------------------- loss and metrics
def _valid(y_true: Any, y_pred: Any, receptive_field: int) -> tuple[Any, Any]:
    """(targets, logits) of the positions with a full receptive field: logits at
    ``rf - 1 .. T - 2`` and the codes at ``rf .. T - 1``."""
    import tensorflow as tf

    codes = tf.cast(y_true, tf.int32)
    return codes[:, receptive_field:], tf.cast(y_pred, tf.float32)[:, receptive_field - 1:-1]


@keras.saving.register_keras_serializable(package="tfaudio")
class WaveNetLoss(keras.losses.Loss):
    """Next-code softmax cross-entropy (nats) on the positions with a full receptive field.

    Args:
        receptive_field: the network's receptive field; windows must be longer.

    ``y_true``: int codes ``(batch, T)``; ``y_pred``: logits ``(batch, T, Q)``. Returns
    the mean over the ``T - receptive_field`` scored positions, per window.
    """

    def __init__(self, receptive_field: int, name: str = "wavenet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.receptive_field = int(receptive_field)

    def call(self, y_true, y_pred):
        import tensorflow as tf

        target, logits = _valid(y_true, y_pred, self.receptive_field)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
        return tf.reduce_mean(nll, axis=1)

    def get_config(self):
        return {**super().get_config(), "receptive_field": self.receptive_field}


@keras.saving.register_keras_serializable(package="tfaudio")
class BitsPerSample(keras.metrics.Metric):
    """Mean next-code NLL in bits over every scored position seen (``accuracy=True``: the
    fraction of positions whose most likely code is the next one)."""

    def __init__(self, receptive_field: int, accuracy: bool = False, name: str | None = None,
                 **kwargs):
        super().__init__(name=name or ("accuracy" if accuracy else "bits_per_sample"),
                         **kwargs)
        self.receptive_field = int(receptive_field)
        self.accuracy = bool(accuracy)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        import tensorflow as tf

        target, logits = _valid(y_true, y_pred, self.receptive_field)
        if self.accuracy:
            value = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), target),
                            tf.float32)
        else:
            value = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target,
                                                                   logits=logits) / LN2
        self.total.assign_add(tf.reduce_sum(value))
        self.count.assign_add(tf.cast(tf.size(value), tf.float32))

    def result(self):
        return keras.ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "receptive_field": self.receptive_field,
                "accuracy": self.accuracy}


def loss_and_metrics(recipe: Recipe) -> tuple[Any, list]:
    """:class:`WaveNetLoss` and the ``train.metrics`` (``bits_per_sample``, ``accuracy``)
    + examples seen."""
    from tfaudio.train.build import ExamplesSeen

    rf = wavenet_receptive_field(recipe.model)
    metrics = [BitsPerSample(rf, accuracy=name == "accuracy") for name in recipe.train.metrics]
    return WaveNetLoss(rf), [*metrics, ExamplesSeen()]


# ----------------------------------------------------------------- evaluation
def clip_nll(model: Any, recipe: Recipe, path: str, split: str
             ) -> tuple[list[float], list[int], list[int], list[np.ndarray]]:
    """Per clip of ``split`` (whole clips): summed NLL in nats, scored positions, label,
    and the clip itself."""
    import tensorflow as tf

    from tfaudio.data import audio_dataset
    from tfaudio.ops import mu_law_encode

    d, m = recipe.data, recipe.model
    rf = wavenet_receptive_field(m)
    ds = audio_dataset(path, split=split, sample_rate=d.sample_rate, clip_seconds=None,
                       batch_size=1, shuffle=False, cache=False, mono=True, labels="int")
    nats, counts, labels, clips = [], [], [], []
    for audio, label in ds:
        x = np.asarray(audio)
        if x.shape[1] <= rf:
            continue  # no position with a full receptive field
        y = np.asarray(label).astype(np.int32)
        logits = model([x, y] if m.global_condition else x, training=False)
        target, valid = _valid(mu_law_encode(x, m.quantization_channels), logits, rf)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=valid)
        nats.append(float(tf.reduce_sum(nll)))
        counts.append(int(tf.size(nll)))
        labels.append(int(y[0]))
        clips.append(x[0])
    if not counts:
        raise ValueError(f"{path}: split {split!r} has no clip longer than the receptive "
                         f"field ({rf} samples)")
    return nats, counts, labels, clips


def spectral_peak(wave: np.ndarray, sample_rate: int, skip_seconds: float = SKIP_SECONDS
                  ) -> tuple[float, float]:
    """(frequency in Hz of the largest spectral peak above 30 Hz, that peak's share of the
    power above 30 Hz within +-20 Hz) of ``wave`` after ``skip_seconds``; Hann window,
    FFT zero-padded 8x, parabolic interpolation of the peak bin."""
    x = np.asarray(wave, np.float64)[int(skip_seconds * sample_rate):]
    if len(x) < 16 or not np.any(x):
        return float("nan"), 0.0
    n_fft = 1 << int(np.ceil(np.log2(8 * len(x))))
    power = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x)), n_fft)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = freqs >= MIN_PEAK_HZ
    k = int(np.flatnonzero(band)[np.argmax(power[band])])
    peak = freqs[k]
    if 0 < k < len(power) - 1:
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        denom = a - 2 * b + c
        if denom < 0:
            peak += 0.5 * (a - c) / denom * (freqs[1] - freqs[0])
    near = band & (np.abs(freqs - peak) <= 20.0)
    return float(peak), float(power[near].sum() / max(power[band].sum(), 1e-30))


def generate_per_class(model: Any, recipe: Recipe, labels: list[str], seconds: float,
                       seed: int, clips: list[np.ndarray] | None = None,
                       clip_labels: list[int] | None = None, temperature: float = 1.0,
                       per_class: int = 1) -> tuple[list[str], np.ndarray]:
    """``per_class`` generated clips per class (or, without global conditioning, of the
    one model), one batch, vocoding a clip of the class for a locally conditioned model.

    Returns:
        ``(names, waveforms)``: a name per generated clip (class after class) and float32
        ``(clips, samples)``.
    """
    from tfaudio.models import WaveNetGenerator

    d, m = recipe.data, recipe.model
    n = max(1, round(seconds * d.sample_rate))
    gen = WaveNetGenerator(model)
    classes = list(labels) if m.global_condition else ["unconditioned"]
    names = [c for c in classes for _ in range(per_class)]
    ids = (np.repeat(np.arange(len(classes), dtype=np.int32), per_class)
           if m.global_condition else None)
    lc = None
    if m.local_condition_mels:
        chosen = []
        for c in range(len(classes)):
            idx = [i for i, lab in enumerate(clip_labels or []) if lab == c or ids is None]
            if not idx:
                raise ValueError(f"no test clip of class {classes[c]!r} to take the mel from")
            chosen += [clips[idx[0]]] * per_class
        length = min(len(x) for x in chosen)
        n = min(n, length)
        lc = conditioning(model, gen, np.stack([x[:length] for x in chosen]))
    codes = gen.generate(n, class_ids=ids, local_condition=lc, temperature=temperature,
                         seed=seed, batch_size=len(names), prime=silence_prime(gen))
    return names, gen.decode(codes)


def conditioning(model: Any, gen: Any, audio: np.ndarray) -> np.ndarray:
    """The log-mel frames that condition the generation of ``audio`` (batch, samples)
    after :func:`silence_prime`: the mel of ``receptive_field`` zeros then the audio, so
    the primed silence has silence's features and generated sample ``j`` follows audio
    sample ``j``."""
    padded = np.pad(np.asarray(audio, np.float32), [(0, 0), (gen.receptive_field, 0)])
    return np.asarray(model.get_layer(MEL_LAYER)(padded))


def silence_prime(gen: Any) -> np.ndarray:
    """``receptive_field`` silence codes (``Q // 2``): what generation from a run feeds
    first, so the network starts from a context it was trained on (ibab's seed; the
    zero states of an unprimed start never occur in training, where only positions with
    a full receptive field are scored)."""
    return np.full([1, gen.receptive_field], gen.quantization_channels // 2, np.int32)


def evaluate_wavenet(model: Any, recipe: Recipe, path: str, split: str, labels: list[str],
                     out_dir: str, log_dir: str | None = None) -> dict:
    """Bits per sample on ``split`` (whole clips, every position with a full receptive
    field) overall and per class; generated audio per class with its spectral peak.

    Writes ``<out_dir>/<split>.json``, ``generated_<class>.wav`` and (with matplotlib)
    ``<split>_generated.png`` (spectrograms of the generated clips).

    Returns:
        dict: ``split``, ``data``, ``clips``, ``positions``, ``nll`` (nats / sample),
        ``bits_per_sample``, ``per_class`` ({class: bits per sample}), ``generated``
        ({class: {peaks_hz and peak_power_fractions of its :data:`GENERATE_PER_CLASS`
        clips, within_20_hz (how many peaks are within 20 Hz of a ``tone_<hz>``
        class's pitch), and of the first clip peak_hz, expected_hz, error_hz,
        peak_power_fraction, wav}}), ``generated_png`` (the first clips).
    """
    from tfaudio.data.synth import tone_frequency

    os.makedirs(out_dir, exist_ok=True)
    nats, counts, clip_labels, clips = clip_nll(model, recipe, path, split)
    total, positions = float(np.sum(nats)), int(np.sum(counts))
    per_class = {}
    for c, name in enumerate(labels):
        mine = [i for i, lab in enumerate(clip_labels) if lab == c]
        if mine:
            per_class[name] = (sum(nats[i] for i in mine) / sum(counts[i] for i in mine)
                               / LN2)
    result: dict[str, Any] = {
        "split": split, "data": os.path.abspath(path), "clips": len(counts),
        "positions": positions, "receptive_field": wavenet_receptive_field(recipe.model),
        "nll": total / positions, "bits_per_sample": total / positions / LN2,
        "per_class": per_class}
    sr = recipe.data.sample_rate
    names, waves = generate_per_class(model, recipe, labels, GENERATE_SECONDS,
                                      recipe.train.seed, clips, clip_labels,
                                      per_class=GENERATE_PER_CLASS)
    generated: dict[str, dict] = {}
    for name, wave in zip(names, waves, strict=True):
        peak, fraction = spectral_peak(wave, sr)
        expected = tone_frequency(name)
        g = generated.setdefault(name, {"expected_hz": expected, "peaks_hz": [],
                                        "peak_power_fractions": []})
        g["peaks_hz"].append(peak)
        g["peak_power_fractions"].append(fraction)
        if len(g["peaks_hz"]) == 1:  # the first clip of the class: WAV, headline numbers
            g["wav"] = write_wav(os.path.join(out_dir, f"generated_{_safe(name)}.wav"),
                                 wave, sr)
            g["peak_hz"], g["peak_power_fraction"] = peak, fraction
            g["error_hz"] = None if expected is None else peak - expected
    for g in generated.values():
        if g["expected_hz"] is not None:
            g["within_20_hz"] = sum(abs(p - g["expected_hz"]) <= PEAK_TOLERANCE_HZ
                                    for p in g["peaks_hz"])
    result["generated"] = generated
    result["generated_seconds"] = waves.shape[1] / sr
    result["generated_per_class"] = GENERATE_PER_CLASS
    result["temperature"] = 1.0
    first = [names.index(name) for name in generated]
    result["generated_png"] = _plot_generated(os.path.join(out_dir, f"{split}_generated.png"),
                                              list(generated), waves[first], sr, generated)
    with open(os.path.join(out_dir, f"{split}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def write_wav(path: str, wave: np.ndarray, sample_rate: int) -> str:
    """A mono 16-bit WAV of float samples in [-1, 1] (clipped)."""
    import tensorflow as tf

    x = np.clip(np.asarray(wave, np.float32), -1.0, 1.0)[:, None]
    tf.io.write_file(path, tf.audio.encode_wav(x, int(sample_rate)))
    return path


def _plot_generated(png: str, names: list[str], waves: np.ndarray, sample_rate: int,
                    generated: dict) -> str | None:
    """Spectrograms of the generated clips with the expected pitch; None without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    n_fft, hop = 1024, 128
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.0 * len(names)), squeeze=False)
    for ax, name, wave in zip(axes[:, 0], names, waves, strict=True):
        frames = 1 + max(0, len(wave) - n_fft) // hop
        idx = np.arange(n_fft)[None] + hop * np.arange(frames)[:, None]
        spec = np.abs(np.fft.rfft(np.pad(wave, (0, n_fft))[idx] * np.hanning(n_fft))) ** 2
        db = 10 * np.log10(spec + 1e-10)
        top = min(sample_rate / 2, 2000.0)
        bins = int(top / (sample_rate / n_fft))
        ax.imshow(db[:, :bins].T, origin="lower", aspect="auto", cmap="magma",
                  extent=(0, frames * hop / sample_rate, 0, bins * sample_rate / n_fft),
                  vmin=db.max() - 80, vmax=db.max())
        g = generated[name]
        title = f"{name}: peak {g['peak_hz']:.1f} Hz"
        if g["expected_hz"]:
            ax.axhline(g["expected_hz"], color="c", lw=0.8, ls="--")
            title += f" (expected {g['expected_hz']:g} Hz)"
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
    return png


def summary_line(result: dict) -> str:
    """One human line for a result of :func:`evaluate_wavenet`."""
    def peak(name: str, g: dict) -> str:
        hits = (f" ({g['within_20_hz']}/{len(g['peaks_hz'])} within 20 Hz)"
                if "within_20_hz" in g else "")
        return f"{name} {g['peak_hz']:.1f} Hz{hits}"

    peaks = ", ".join(peak(name, g) for name, g in result["generated"].items())
    return (f"{result['split']}: {result['bits_per_sample']:.3f} bits per sample "
            f"(NLL {result['nll']:.4f} nats) on {result['positions']} positions of "
            f"{result['clips']} clips; generated {result['generated_seconds']:g} s, spectral "
            f"peaks: {peaks}")


# ----------------------------------------------------------------- export
class _GeneratorArchive:
    """What :func:`tfaudio.train.export.export` writes for a WaveNet run: the
    :class:`~tfaudio.models.WaveNetGenerator` SavedModel."""

    def __init__(self, model: Any, recipe: Recipe, labels: list[str] | None = None):
        from tfaudio.models import WaveNetGenerator

        self.generator = WaveNetGenerator(model)
        self.recipe = recipe
        self.labels = labels
        lc = recipe.model.local_condition_mels
        self.features = model.get_layer(MEL_LAYER) if lc else None

    def write_out(self, path: str, verbose: bool = False) -> None:
        self.generator.export(path, self.recipe.data.sample_rate, self.labels, self.features,
                              prime_silence=self.generator.receptive_field)


def generator_archive(model: Any, recipe: Recipe) -> tuple[Any, dict]:
    """``generate(num_samples, class_ids, temperature, seed[, local_condition])`` ->
    ``codes`` / ``waveform`` after ``receptive_field`` silence codes (as ``tfaudio
    generate``; and ``features(waveform)`` for a vocoder)."""
    archive = _GeneratorArchive(model, recipe)
    config = {"input": "generation", "output": "waveform",
              "sample_rate": recipe.data.sample_rate, "clip_seconds": recipe.data.clip_seconds,
              "receptive_field": wavenet_receptive_field(recipe.model),
              "global_condition": recipe.model.global_condition,
              "local_condition_mels": recipe.model.local_condition_mels,
              "mel_hop": int(np.prod(recipe.model.upsample_factors or [1])),
              "prime_silence": archive.generator.receptive_field,
              "chunk_size": archive.generator.chunk_size,
              "wavenet": archive.generator.config,
              "endpoints": ["generate"] + (["features"] if archive.features else [])}
    return archive, config


# ----------------------------------------------------------------- generate from a run
def generate_from_run(run_dir: str, seconds: float | None = None, class_: str | int | None = None,
                      mel_path: str | None = None, temperature: float = 1.0, seed: int = 0,
                      progress: Callable[[int, int], None] | None = None
                      ) -> tuple[np.ndarray, int, dict]:
    """Generates audio from a trained WaveNet run (what ``tfaudio generate`` does).

    Args:
        run_dir: a finished or checkpointed ``tfaudio train`` run of a WaveNet recipe.
        seconds: length to generate (default: the ``mel_path`` audio's length, else 2 s).
        class_: the global condition: a label name or index (required when the run is
            class-conditioned).
        mel_path: an audio file whose log-mel is the local condition (vocoder runs).
        temperature: softmax temperature (0: the most likely code every step).
        seed: random seed.
        progress: ``progress(done, total)`` after each generated chunk.

    Returns:
        ``(waveform float32 (samples,), sample_rate, info)``.

    Raises:
        ValueError: not a WaveNet run, an unknown class, a missing or unexpected
        condition, a conditioning audio shorter than ``seconds``.
    """
    from tfaudio.models import WaveNetGenerator
    from tfaudio.train.run import load_run_model

    model, recipe, labels = load_run_model(run_dir)
    if recipe.model.name != "wavenet":
        raise ValueError(f"{run_dir} is a {recipe.model.name!r} run, not a WaveNet: "
                         "nothing to generate")
    m, sr = recipe.model, recipe.data.sample_rate
    ids = None
    if m.global_condition:
        if class_ is None:
            raise ValueError(f"{run_dir} is conditioned on classes {labels}: pass --class "
                             "NAME or INDEX")
        if isinstance(class_, str) and class_ in labels:
            ids = [labels.index(class_)]
        elif str(class_).isdigit() and int(class_) < len(labels):
            ids = [int(class_)]
        else:
            raise ValueError(f"--class {class_}: not one of the run's classes {labels} "
                             f"(or an index 0..{len(labels) - 1})")
    elif class_ is not None:
        raise ValueError(f"{run_dir} has no global conditioning: drop --class")
    lc = None
    if m.local_condition_mels:
        if not mel_path:
            raise ValueError(f"{run_dir} is a vocoder (local conditioning on a log-mel): pass "
                             "--mel AUDIO")
        from tfaudio.data import decode_audio

        audio, _ = decode_audio(mel_path, sample_rate=sr)
        audio = np.asarray(audio).mean(axis=1).astype(np.float32)
        if seconds is None:
            seconds = len(audio) / sr
        n = round(float(seconds) * sr)
        if n > len(audio):
            raise ValueError(f"--mel {mel_path}: {len(audio) / sr:g} s at {sr} Hz is shorter "
                             f"than the {seconds:g} s asked")
    elif mel_path:
        raise ValueError(f"{run_dir} has no local conditioning: drop --mel")
    seconds = 2.0 if seconds is None else seconds
    n = round(float(seconds) * sr)
    if n < 1:
        raise ValueError(f"--seconds {seconds}: needs at least one sample at {sr} Hz")
    gen = WaveNetGenerator(model)
    if m.local_condition_mels:
        lc = conditioning(model, gen, audio[None, :n])
    codes = gen.generate(n, class_ids=ids, local_condition=lc, temperature=temperature,
                         seed=seed, progress=progress, prime=silence_prime(gen))
    wave = gen.decode(codes)[0]
    info = {"samples": n, "sample_rate": sr, "seconds": n / sr,
            "class": None if ids is None else labels[ids[0]], "temperature": temperature,
            "seed": seed, "receptive_field": gen.receptive_field}
    return wave, sr, info
