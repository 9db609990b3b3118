"""Speaker embedding extraction speed: ECAPA-TDNN (Desplanques et al., Interspeech 2020)
on CPU, 3 s utterances at 16 kHz, batch 1 and 16.

Models (random weights: speed does not depend on them): ``ecapa_small`` (the
``models/ecapa_small.toml`` size: C = 128, MFA 384, 192-d, 80 log-mels) and the paper's
C = 512 (MFA 1536, 192-d, 6.2 M trainable parameters). The embedding function is the
one evaluation and ``tfaudio verify`` use (:func:`tfaudio.train.speaker.embed_function`:
a ``tf.function`` with L2 normalisation, graph mode, no XLA). Rows report seconds per
call, ``items_per_s`` = utterances/s and ``xrealtime`` = audio seconds per wall second.
No rival is timed (tfaudio only).
"""

from __future__ import annotations

import sys

import numpy as np

from tfaudio.benchmarks import repeats, time_call

SUITE = "speaker"
SECONDS = 3.0
CONFIGS = (("ecapa_small", 128, 384), ("ecapa_c512", 512, 1536))
BATCHES = (1, 16)


def run(quick: bool = False) -> list[dict]:
    """Times embedding extraction (see the module docstring).

    Args:
        quick: a smoke run (C = 16 on 1 s, batch 1 and 2, few repeats).

    Returns:
        Benchmark rows (``suite="speaker"``).
    """
    import tensorflow as tf

    from tfaudio.models import ecapa_tdnn
    from tfaudio.train.speaker import embed_function

    warmup, repeat = repeats(quick)
    if not quick:
        warmup, repeat = 2, 7
    configs = (("ecapa_c16", 16, 48),) if quick else CONFIGS
    batches = (1, 2) if quick else BATCHES
    seconds = 1.0 if quick else SECONDS
    rows: list[dict] = []
    for name, channels, mfa in configs:
        embed = embed_function(ecapa_tdnn(channels, mfa_channels=mfa))
        for batch in batches:
            x = tf.constant((np.random.default_rng(0).standard_normal(
                (batch, int(16000 * seconds))) * 0.1).astype(np.float32))
            t = time_call(lambda x=x, e=embed: e(x), warmup, repeat, sync=lambda out: out.numpy())
            rows.append({"suite": SUITE, "config": f"{name}: batch {batch} x {seconds:g}s@16k",
                         "impl": "tfaudio", "mode": "graph", "seconds": t,
                         "items_per_s": batch / t, "xrealtime": batch * seconds / t,
                         "note": f"C={channels}, MFA {mfa}, 192-d, TF {tf.__version__}, CPU"})
            print(f"[bench] speaker {name} batch {batch}: {batch / t:,.1f} utterances/s "
                  f"({batch * seconds / t:,.0f}x realtime)", file=sys.stderr)
    return rows
