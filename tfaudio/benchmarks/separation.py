"""Speech separation speed: the audio-only Looking-to-Listen separator (Ephrat et al.,
SIGGRAPH 2018) on CPU, two speakers, 3 s windows.

Models (random weights: speed does not depend on them),
:func:`tfaudio.models.separation.looking_to_listen_audio` with ``num_speakers=2``:

* ``cpu``: the CPU recipe's network (``models/separation_small.toml``: 8 kHz, no conv
  stack, BLSTM 256 + 3 x FC 384 (width 0.64) on the normalised compressed magnitude of a
  64 / 32 ms STFT, ratio masks), one pass;
* ``cpu, 2 shifts``: the same with the recipe's ``shifts = 2`` (two passes, the second
  on the input delayed by half a hop, aligned and averaged): what the recipe evaluates,
  exports and serves;
* ``paper``: the paper's size (16 kHz, width 1.0, 25 / 10 ms).

Each is timed on batches of 1 and 8 windows of 3 s (``model(x, training=False)`` inside a
``tf.function``, graph mode, no XLA: on this CPU XLA was measured slower for this model),
and the CPU recipe as shipped (2 shifts) also on the long-input path
:func:`tfaudio.train.separation.separate_long` (3 s windows with 50 % overlap, speaker
alignment, overlap-add; the export's ``serve`` function) over one 30 s waveform. Rows
report wall seconds per call (median after a warm-up), ``xrealtime`` = audio seconds
processed per wall second, ``items_per_s`` = waveforms per second, ``audio_seconds`` per
call and ``params`` (also in the note). No rival is timed (tfaudio only).
"""

from __future__ import annotations

import sys

import numpy as np

from tfaudio.benchmarks import repeats, time_call

SUITE = "separation"
SECONDS = 3.0
NUM_SPEAKERS = 2
# the builder's arguments of models/separation_small.toml (besides the rate)
SMALL = {"width": 0.64, "conv_layers": 0, "window_ms": 64.0, "hop_ms": 32.0,
         "complex_input": False, "magnitude_input": True, "input_norm": True,
         "mask": "ratio", "mask_init": "even"}
SMALL_SHIFTS = 2  # models/separation_small.toml's model.shifts (inference passes)
# (name, sample_rate, builder arguments)
CONFIGS = (("cpu", 8000, SMALL), ("cpu, 2 shifts", 8000, {**SMALL, "shifts": SMALL_SHIFTS}),
           ("paper", 16000, {"width": 1.0}))
QUICK_CONFIGS = CONFIGS[:2]
BATCHES = (1, 8)
QUICK_BATCHES = (1, 2)
LONG_SECONDS = 30.0
QUICK_LONG_SECONDS = 4.0
LONG_CONFIG = "cpu, 2 shifts"


def _row(config: str, batch: int, audio_seconds: float, t: float, params: int,
         note: str) -> dict:
    return {"suite": SUITE, "config": config, "impl": "tfaudio", "mode": "graph",
            "seconds": t, "xrealtime": audio_seconds / t, "items_per_s": batch / t,
            "batch": batch, "audio_seconds": audio_seconds, "params": params,
            "note": note}


def run(quick: bool = False) -> list[dict]:
    """Times separation (see the module docstring).

    Args:
        quick: a smoke run (the CPU recipe only, one pass and 2 shifts, 1 s windows at
            batch 1 and 2, a 4 s long input, few repeats).

    Returns:
        Benchmark rows (``suite="separation"``).
    """
    import keras
    import tensorflow as tf

    from tfaudio.models.separation import looking_to_listen_audio
    from tfaudio.train.separation import separate_long

    warmup, repeat = repeats(quick)
    if not quick:
        warmup, repeat = 2, 7
    configs = QUICK_CONFIGS if quick else CONFIGS
    batches = QUICK_BATCHES if quick else BATCHES
    seconds = 1.0 if quick else SECONDS
    long_seconds = QUICK_LONG_SECONDS if quick else LONG_SECONDS
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    keras.utils.set_random_seed(0)
    for name, rate, kwargs in configs:
        model = looking_to_listen_audio(num_speakers=NUM_SPEAKERS, seconds=seconds,
                                        sample_rate=rate, **kwargs)
        params = int(model.count_params())
        window = int(model.input.shape[-1])
        label = f"{name} ({rate // 1000} kHz, width {kwargs['width']:g})"
        note = (f"{params:,} params, {NUM_SPEAKERS} speakers, TF {tf.__version__}, CPU, "
                "no XLA")
        separate = tf.function(lambda x, m=model: m(x, training=False))
        for batch in batches:
            x = tf.constant((rng.standard_normal((batch, window)) * 0.1).astype(np.float32))
            t = time_call(lambda x=x, f=separate: f(x), warmup, repeat)
            audio = batch * seconds
            rows.append(_row(f"{label}: batch {batch} x {seconds:g}s", batch, audio, t,
                             params, note))
            print(f"[bench] separation {name} batch {batch}: {t * 1e3:,.1f} ms per call "
                  f"({audio / t:,.1f}x realtime, {params:,} params)", file=sys.stderr)
        if name == LONG_CONFIG:
            n = int(round(long_seconds * rate))
            long_fn = tf.function(
                lambda x, m=model, w=window: separate_long(m, x, w, NUM_SPEAKERS))
            x = tf.constant((rng.standard_normal((1, n)) * 0.1).astype(np.float32))
            t = time_call(lambda x=x, f=long_fn: f(x), warmup, repeat)
            rows.append(_row(f"{label}: separate_long 1 x {long_seconds:g}s "
                             f"({seconds:g}s windows, 50% overlap)", 1, long_seconds, t,
                             params, note))
            print(f"[bench] separation {name} separate_long {long_seconds:g}s: "
                  f"{t * 1e3:,.1f} ms per call ({long_seconds / t:,.1f}x realtime)",
                  file=sys.stderr)
    return rows
