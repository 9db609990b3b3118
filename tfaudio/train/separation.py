"""Training and using speech separation models (``data.targets = "separation"``,
``model.name = "looking_to_listen_audio"``).

Training: :func:`tfaudio.models.looking_to_listen_audio` (Ephrat et al., SIGGRAPH 2018,
arXiv:1804.03619; audio-only, one complex ratio mask per speaker) on mixtures made on the
fly from the dataset's training split (:func:`tfaudio.data.mixture_dataset`: clips of
``data.num_sources`` different speakers, levels ``+- data.level_db`` dB, cut to
``data.clip_seconds``); validation mixtures come from the val split (same speakers,
other utterances). The loss is ``model.loss``: ``"si_sdr"`` (permutation-invariant
negative SI-SDR, :class:`~tfaudio.models.PermutationInvariantSISDRLoss`) or
``"power_law"`` (the paper's, :class:`~tfaudio.models.PowerLawSpectrogramLoss`).

The model's weights do not depend on its input length or on ``model.shifts``, so the
model is trained on ``data.clip_seconds`` in one pass and evaluated and exported at
``data.eval_seconds`` (the paper's 3 s) with ``model.shifts`` passes (the average of the
separations of sub-hop delayed copies of the input) by :func:`at_length`.

Evaluation (:func:`evaluate_separation`): a fixed, seeded set of mixtures of the test
split (:func:`tfaudio.data.mixture_set`: every test clip is the first source of one
mixture; with the synthetic speakers these are speakers never seen in training),
``data.eval_seconds`` long; permutation-invariant SI-SDR and SDR (BSS-eval, 512 taps) of
the estimates and their improvements over the mixture (SI-SDRi, SDRi); with
``model.shifts > 1`` also the SI-SDR(i) of one pass (``one_pass_*``); beside them the
same for the ideal compressed cRM (K = 10, C = 0.1), the best this model's mask could
do, and for the ideal ratio mask (magnitude only); and a PNG of one mixture, its sources and the estimates.

Export (:func:`separation_archive`): ``serve`` maps float32 waveforms ``(batch, time)``
of any length (at least one sample) to ``(batch, speakers, time)``: the input is cut in
``eval_seconds`` windows with 50 % overlap, each window separated, every window's
speakers put in the order that best matches the previous window over their overlap
(correlation, all permutations), and the windows overlap-added with a Hann cross-fade
(:func:`separate_long`).
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from tfaudio.train.recipe import Recipe

MODEL = "looking_to_listen_audio"
FADE_FLOOR = 1e-3  # the cross-fade window's floor: one window alone passes unchanged


# --------------------------------------------------------------------------- model
def build_separation(recipe: Recipe, seconds: float | None = None,
                     shifts: int = 1) -> keras.Model:
    """The recipe's separator, ``(batch, samples)`` -> ``(batch, speakers, samples)`` for
    ``seconds`` (default ``data.clip_seconds``), averaging ``shifts`` passes (training:
    one; inference: ``model.shifts``, :func:`at_length`)."""
    from tfaudio.models.separation import looking_to_listen_audio

    d, m = recipe.data, recipe.model
    return looking_to_listen_audio(num_speakers=d.num_sources,
                                   seconds=seconds or d.clip_seconds, width=m.width,
                                   sample_rate=d.sample_rate, merge=m.merge,
                                   dropout=m.dropout, window_ms=m.window_ms,
                                   hop_ms=m.hop_ms, head_width=m.head_width or None,
                                   magnitude_input=m.magnitude_input,
                                   mask_init=m.mask_init, conv_layers=m.conv_layers,
                                   input_norm=m.input_norm,
                                   complex_input=m.complex_input, mask=m.mask,
                                   shifts=shifts, name=recipe.name)


def at_length(model: keras.Model, recipe: Recipe, seconds: float,
              shifts: int | None = None) -> keras.Model:
    """The same separator (same weights) for inputs of ``seconds``, averaging ``shifts``
    passes (default ``model.shifts``: the inference separator)."""
    shifts = recipe.model.shifts if shifts is None else shifts
    averaged = [layer for layer in model.layers if layer.name == "shift_average"]
    passes = len(averaged[0].offsets) if averaged else 1
    if (passes == shifts and
            int(model.input.shape[-1]) == round(seconds * recipe.data.sample_rate)):
        return model
    other = build_separation(recipe, seconds, shifts)
    other.set_weights(model.get_weights())
    return other


def loss_and_metrics(recipe: Recipe) -> tuple[Any, list]:
    """The recipe's separation loss and the examples counter."""
    from tfaudio.models.separation_losses import (
        PermutationInvariantSISDRLoss,
        PowerLawSpectrogramLoss,
    )
    from tfaudio.train.build import ExamplesSeen

    if recipe.model.loss == "power_law":
        return PowerLawSpectrogramLoss(), [ExamplesSeen()]
    return PermutationInvariantSISDRLoss(), [ExamplesSeen()]


# --------------------------------------------------------------------------- data
def separation_dataset(recipe: Recipe, path: str, split: str, training: bool,
                       batch_size: int) -> Any:
    """``(mixture, sources)`` batches of ``split``.

    Training: mixtures made on the fly (:func:`tfaudio.data.mixture_dataset`: new
    partners, levels and crops every pass). Otherwise (validation): one fixed set
    (:func:`tfaudio.data.mixture_set`, seed ``train.seed + 1``, ``clip_seconds`` long),
    the same mixtures in every pass, one per clip of the split, so ``val_loss`` compares
    across epochs, the best checkpoint is chosen on like terms and the pass has a known
    length. The set is held in memory: ``(clips, 1 + num_sources, time)`` float32 (31 MB
    for 320 clips of 1 s at 8 kHz).
    """
    import tensorflow as tf

    from tfaudio.data.mixtures import mixture_dataset, mixture_set

    d = recipe.data
    if not training:
        mixes = mixture_set(path, split, num_sources=d.num_sources, sample_rate=d.sample_rate,
                            clip_seconds=d.clip_seconds, level_db=d.level_db,
                            seed=recipe.train.seed + 1)
        ds = tf.data.Dataset.from_tensor_slices((mixes["mixture"], mixes["sources"]))
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return mixture_dataset(path, split, num_sources=d.num_sources, sample_rate=d.sample_rate,
                           clip_seconds=d.clip_seconds, batch_size=batch_size,
                           level_db=d.level_db, seed=recipe.train.seed, shuffle=True,
                           cache=d.cache, deterministic=d.deterministic or None)


# --------------------------------------------------------------------------- evaluation
def ideal_mask_estimates(recipe: Recipe, mixture: np.ndarray, sources: np.ndarray,
                         kind: str = "crm") -> np.ndarray:
    """The sources as an ideal mask recovers them with the model's STFT: ``(n, speakers,
    time)``. ``kind``: ``"crm"``, the compressed cRM the model predicts (K = 10, C = 0.1;
    the model's upper bound), or ``"irm"``, the ideal ratio mask (magnitude only, the
    mixture's phase: what a real-valued mask could do)."""
    import tensorflow as tf

    from tfaudio.models import separation as sep
    from tfaudio.ops import masks, spectral

    settings = sep.stft_settings(recipe.data.sample_rate, recipe.model.window_ms,
                                 recipe.model.hop_ms)
    n_fft, hop, win = (settings[k] for k in ("n_fft", "hop_length", "win_length"))
    out = []
    for i in range(0, len(mixture), 64):
        y = spectral.stft(tf.constant(mixture[i:i + 64]), n_fft=n_fft, hop_length=hop,
                          win_length=win)[:, None]
        s = spectral.stft(tf.constant(sources[i:i + 64]), n_fft=n_fft, hop_length=hop,
                          win_length=win)
        m = masks.complex_ratio_mask(s, tf.broadcast_to(y, tf.shape(s)),
                                     k=sep.MASK_BOUND, c=sep.MASK_STEEPNESS)
        if kind == "crm":
            est = masks.apply_complex_mask(masks.uncompress_mask(m, sep.MASK_BOUND,
                                                                 sep.MASK_STEEPNESS), y)
        else:  # the ideal ratio mask on the magnitude, the mixture's phase
            irm = masks.ideal_ratio_mask(s, tf.broadcast_to(y, tf.shape(s)) - s)
            est = tf.cast(irm, tf.complex64) * y
        out.append(spectral.istft(est, n_fft=n_fft, hop_length=hop, win_length=win,
                                  length=mixture.shape[-1]).numpy())
    return np.concatenate(out)


def score(reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray,
          sdr_too: bool = True) -> dict:
    """Mean permutation-invariant SI-SDR / SDR and their improvements over the mixture."""
    from tfaudio import metrics

    si, perm = metrics.pit_si_sdr(reference, estimate)
    mix = np.broadcast_to(mixture[:, None], reference.shape)
    si_mix = metrics.si_sdr(reference, mix)
    out = {"si_sdr": float(np.mean(si)), "si_sdri": float(np.mean(si - si_mix))}
    if sdr_too:
        ordered = np.take_along_axis(estimate, perm[:, :, None], axis=1)
        s = metrics.sdr(reference, ordered)
        out.update(sdr=float(np.mean(s)), sdri=float(np.mean(s - metrics.sdr(reference, mix))))
    return out, perm


def evaluate_separation(model: keras.Model, recipe: Recipe, path: str, split: str,
                        labels: list[str], out_dir: str, log_dir: str | None = None) -> dict:
    """SI-SDR(i) / SDR(i) of held-out mixtures of ``split``, the ideal-cRM bound beside
    them, and a picture; writes ``<out_dir>/<split>.json`` and ``<split>_separation.png``."""
    import json

    from tfaudio.data.mixtures import mixture_set

    d = recipe.data
    evaluator = at_length(model, recipe, d.eval_seconds)
    mixes = mixture_set(path, split, num_sources=d.num_sources, sample_rate=d.sample_rate,
                        clip_seconds=d.eval_seconds, level_db=d.level_db,
                        seed=recipe.train.seed, max_mixtures=d.eval_mixtures or None)
    mix, ref = mixes["mixture"], mixes["sources"]
    est = evaluator.predict(mix, batch_size=8, verbose=0)
    result, perm = score(ref, est, mix)
    result = {"split": split, "mixtures": int(len(mix)), "seconds": d.eval_seconds,
              "level_db": d.level_db, "shifts": recipe.model.shifts, **result}
    if recipe.model.shifts > 1:  # what one pass of the same network gives
        one = at_length(model, recipe, d.eval_seconds, shifts=1)
        single, _ = score(ref, one.predict(mix, batch_size=8, verbose=0), mix, sdr_too=False)
        result.update({f"one_pass_{k}": v for k, v in single.items()})
    for kind in ("crm", "irm"):
        ideal, _ = score(ref, ideal_mask_estimates(recipe, mix, ref, kind), mix)
        result.update({f"ideal_{kind}_{k}": v for k, v in ideal.items()})
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, f"{split}_separation.png")
    ordered = np.take_along_axis(est[:1], perm[:1, :, None], axis=1)[0]
    save_separation_png(png, mix[0], ordered, d.sample_rate, references=ref[0])
    result["separation_png"] = png
    with open(os.path.join(out_dir, f"{split}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def summary_line(result: dict) -> str:
    """One human line for a result of :func:`evaluate_separation`."""
    line = (f"{result['split']}: SI-SDRi {result['si_sdri']:.2f} dB (SI-SDR "
            f"{result['si_sdr']:.2f} dB)")
    if "sdri" in result:
        line += f", SDRi {result['sdri']:.2f} dB"
    line += f" on {result['mixtures']} mixtures of {result['seconds']:g} s"
    if "one_pass_si_sdri" in result:
        line += (f" ({result['shifts']} shifts; one pass: SI-SDRi "
                 f"{result['one_pass_si_sdri']:.2f} dB)")
    if "ideal_crm_si_sdri" in result:
        line += (f"; ideal cRM: SI-SDRi {result['ideal_crm_si_sdri']:.2f} dB, ideal ratio "
                 f"mask: {result['ideal_irm_si_sdri']:.2f} dB")
    return line


def run_summary(result: dict) -> dict:
    """The ``run.json`` ``test`` entry of a separation evaluation."""
    return {k: result[k] for k in ("si_sdr", "si_sdri", "sdr", "sdri", "shifts",
                                   "one_pass_si_sdr", "one_pass_si_sdri",
                                   "ideal_crm_si_sdri", "ideal_crm_sdri", "ideal_irm_si_sdri",
                                   "ideal_irm_sdri", "mixtures", "seconds") if k in result}


def save_separation_png(path: str, mixture: np.ndarray, estimates: np.ndarray,
                        sample_rate: int, references: np.ndarray | None = None) -> str:
    """Log spectrograms of a mixture and its estimated (and, given, clean) sources."""
    import tensorflow as tf

    from tfaudio.ops import spectral
    from tfaudio.plot import save_spectrograms

    rows = [("mixture", mixture)]
    for i, e in enumerate(estimates):
        rows.append((f"estimate {i + 1}", e))
        if references is not None:
            rows.append((f"clean {i + 1}", references[i]))
    n_fft = 1 << max(6, int(round(0.032 * sample_rate)) - 1).bit_length()  # ~32 ms
    hop = n_fft // 4
    images = []
    for _, x in rows:
        mag = np.abs(spectral.stft(tf.constant(np.asarray(x, np.float32)), n_fft=n_fft,
                                   hop_length=hop).numpy())
        images.append(20 * np.log10(np.maximum(mag, 1e-5)))
    top = max(float(im.max()) for im in images)
    images = [np.maximum(im, top - 80.0) for im in images]
    return save_spectrograms(path, images, titles=[r[0] for r in rows],
                             hop_seconds=hop / sample_rate, ylabel="frequency bin",
                             ncols=1)


# --------------------------------------------------------------------------- long input
def separate_long(model: Any, waveform: Any, window: int, num_sources: int) -> Any:
    """Separates waveforms of any length with a fixed-length separator (TensorFlow).

    The input ``(batch, time)`` is cut in windows of ``window`` samples with hop
    ``window // 2`` (zero-padded at the end), every window separated by ``model``
    (``(n, window)`` -> ``(n, speakers, window)``), each window's speakers reordered to
    best match the previous (reordered) window over their overlap (the largest sum of
    correlations over all permutations), and the windows overlap-added with a Hann
    cross-fade (floored at :data:`FADE_FLOOR`, so a stretch covered by one window passes
    unchanged).

    Returns:
        float32 ``(batch, speakers, time)``.
    """
    import tensorflow as tf

    from tfaudio.ops import correlation_order

    x = tf.convert_to_tensor(waveform, tf.float32)
    batch, n = tf.shape(x)[0], tf.shape(x)[1]
    hop = window // 2
    count = tf.maximum(1, (tf.maximum(n - window, 0) + hop - 1) // hop + 1)
    total = (count - 1) * hop + window
    x = tf.pad(x, [[0, 0], [0, total - n]])
    frames = tf.signal.frame(x, window, hop)  # (batch, count, window)
    est = model(tf.reshape(frames, [-1, window]), training=False)
    est = tf.reshape(tf.cast(est, tf.float32), [batch, count, num_sources, window])

    def align(previous, current):  # matched by correlation over the windows' overlap
        order = correlation_order(previous[:, :, hop:], current[:, :, :window - hop])
        return tf.gather(current, order, batch_dims=1)

    steps = tf.transpose(est, [1, 0, 2, 3])  # (count, batch, speakers, window)
    # the first window is aligned with itself (identity: never an empty scan)
    aligned = tf.scan(align, steps, initializer=steps[0])
    fade = tf.maximum(tf.signal.hann_window(window, periodic=False), FADE_FLOOR)
    weighted = tf.transpose(aligned * fade, [1, 2, 0, 3])  # (batch, speakers, count, window)
    summed = tf.signal.overlap_and_add(weighted, hop)
    norm = tf.signal.overlap_and_add(tf.broadcast_to(fade, [count, window]), hop)
    return (summed / norm)[:, :, :n]


def separation_archive(model: keras.Model, recipe: Recipe) -> tuple[Any, dict]:
    """``serve``: float32 waveforms ``(batch, time)`` of any length at ``sample_rate`` ->
    ``(batch, speakers, time)`` (:func:`separate_long` over ``eval_seconds`` windows)."""
    import tensorflow as tf

    d = recipe.data
    separator = at_length(model, recipe, d.eval_seconds)
    window = int(separator.input.shape[-1])
    spec = [tf.TensorSpec((None, None), tf.float32, name="waveform")]

    def serve(x):
        return separate_long(separator, x, window, d.num_sources)

    archive = keras.export.ExportArchive()
    archive.track(separator)
    archive.add_endpoint("serve", serve, input_signature=spec)
    config = {"input": "waveform", "output": "separated_sources", "sample_rate": d.sample_rate,
              "num_sources": d.num_sources, "shifts": recipe.model.shifts,
              "window_seconds": d.eval_seconds,
              "window_hop_seconds": d.eval_seconds / 2, "clip_seconds": d.clip_seconds}
    return archive, config


# --------------------------------------------------------------------------- command
def separate_file(run_dir: str, audio_path: str, out_dir: str) -> dict:
    """Separates one audio file with a run's export: writes ``<stem>_speaker<k>.wav`` for
    every speaker and ``<stem>_separation.png`` into ``out_dir``."""
    import json

    import tensorflow as tf

    from tfaudio.data import decode_audio, write_wav

    export_dir = os.path.join(run_dir, "export")
    config_path = os.path.join(export_dir, "tfaudio.json")
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{run_dir} has no export ({config_path} missing): train it "
                                "with train.export = true")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    if config.get("output") != "separated_sources":
        raise ValueError(f"{run_dir} is not a separation run (its export serves "
                         f"{config.get('output', 'class probabilities')!r})")
    if not os.path.isfile(audio_path):
        raise FileNotFoundError(f"audio file not found: {audio_path}")
    sr = int(config["sample_rate"])
    audio, _ = decode_audio(audio_path, sample_rate=sr)
    audio = np.asarray(audio, np.float32).mean(axis=-1)
    if audio.size == 0:
        raise ValueError(f"{audio_path} has no samples")
    served = tf.saved_model.load(export_dir)
    est = served.serve(tf.constant(audio[None])).numpy()[0]
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(audio_path))[0]
    wavs = []
    for k, e in enumerate(est):
        p = os.path.join(out_dir, f"{stem}_speaker{k + 1}.wav")
        peak = float(np.max(np.abs(e))) if e.size else 0.0
        write_wav(p, e / peak * 0.9 if peak > 1.0 else e, sr)
        wavs.append(p)
    png = save_separation_png(os.path.join(out_dir, f"{stem}_separation.png"), audio, est, sr)
    return {"input": audio_path, "seconds": audio.size / sr, "wavs": wavs, "png": png}
