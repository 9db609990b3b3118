"""TensorFlow's oneDNN CPU kernels off and on (``TF_ENABLE_ONEDNN_OPTS=0`` / ``1``), on the
CPU separation model (``models/separation_small.toml``'s, random weights).

TensorFlow turns oneDNN on by default only on some Intel CPUs; elsewhere (AMD) it stays
off, and the ``tfaudio`` commands turn it on (:func:`tfaudio.cli.cpu_defaults`). The
variable is read when TensorFlow is imported, so every measurement runs in a fresh Python
process with the variable set, alternating off and on (``rounds`` of each) so that load
changing during the run hits both. Each process times, as the median after a warm-up:

* ``train step``: one ``train_on_batch`` of 16 mixtures of 1 s at 8 kHz (the recipe's
  batch and length) with the permutation-invariant SI-SDR loss and Adam;
* ``separate``: ``model(x, training=False)`` in a ``tf.function`` on 8 windows of 3 s.

Rows: ``impl`` is ``oneDNN off`` or ``oneDNN on``, ``seconds`` the median over the rounds
of each process's median, ``ratio`` = off seconds / on seconds (> 1: oneDNN is faster),
``rounds_seconds`` every process's median.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from tfaudio.cli import ONEDNN_ENV as ENV  # the variable the commands default to "1"

SUITE = "onednn"
RATE = 8000
TRAIN_BATCH, TRAIN_SECONDS = 16, 1.0
INFER_BATCH, INFER_SECONDS = 8, 3.0
TIMEOUT = 600  # seconds per process


def _child(quick: bool) -> dict:
    """Runs in the measuring process: times a training step and a separation call."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfaudio.benchmarks import repeats, time_call
    from tfaudio.benchmarks.separation import NUM_SPEAKERS, SMALL
    from tfaudio.models.separation import looking_to_listen_audio
    from tfaudio.models.separation_losses import PermutationInvariantSISDRLoss

    warmup, repeat = repeats(quick)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train_batch, train_seconds = (4, 0.5) if quick else (TRAIN_BATCH, TRAIN_SECONDS)
    infer_batch, infer_seconds = (2, 1.0) if quick else (INFER_BATCH, INFER_SECONDS)

    model = looking_to_listen_audio(num_speakers=NUM_SPEAKERS, seconds=train_seconds,
                                    sample_rate=RATE, **SMALL)
    model.compile(optimizer=keras.optimizers.Adam(3e-3, clipnorm=5.0),
                  loss=PermutationInvariantSISDRLoss())
    n = int(round(train_seconds * RATE))
    x = (rng.standard_normal((train_batch, n)) * 0.1).astype(np.float32)
    y = (rng.standard_normal((train_batch, NUM_SPEAKERS, n)) * 0.1).astype(np.float32)
    train = time_call(lambda: model.train_on_batch(x, y), warmup, repeat,
                      sync=lambda out: out)

    separator = looking_to_listen_audio(num_speakers=NUM_SPEAKERS, seconds=infer_seconds,
                                        sample_rate=RATE, **SMALL)
    separate = tf.function(lambda v: separator(v, training=False))
    v = tf.constant((rng.standard_normal((infer_batch, int(round(infer_seconds * RATE))))
                     * 0.1).astype(np.float32))
    infer = time_call(lambda: separate(v), warmup, repeat)
    return {"train": train, "separate": infer, "env": os.environ.get(ENV),
            "train_batch": train_batch, "train_seconds": train_seconds,
            "infer_batch": infer_batch, "infer_seconds": infer_seconds,
            "tensorflow": tf.__version__}


def _measure(value: str, quick: bool) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env[ENV] = value
    cmd = [sys.executable, "-m", "tfaudio.benchmarks.onednn"] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    if proc.returncode:
        raise RuntimeError(f"the {ENV}={value} process failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False, rounds: int | None = None) -> list[dict]:
    """Times the separation model with oneDNN off and on (see the module docstring).

    Args:
        quick: a smoke run (batch 4 x 0.5 s training, 2 x 1 s separation, few repeats,
            one round).
        rounds: processes per setting (default 1 quick, 3 otherwise).

    Returns:
        Rows (``suite="onednn"``), off then on for each measurement.
    """
    rounds = rounds or (1 if quick else 3)
    results: dict[str, list[dict]] = {"0": [], "1": []}
    for r in range(rounds):
        for value in ("0", "1"):
            results[value].append(_measure(value, quick))
            last = results[value][-1]
            print(f"[bench] onednn round {r + 1}/{rounds} {ENV}={value}: train step "
                  f"{last['train'] * 1e3:,.1f} ms, separate {last['separate'] * 1e3:,.1f} ms",
                  file=sys.stderr, flush=True)
    first = results["0"][0]
    labels = {
        "train": (f"separation_small train step, batch {first['train_batch']} x "
                  f"{first['train_seconds']:g}s", first["train_batch"],
                  first["train_batch"] * first["train_seconds"]),
        "separate": (f"separation_small separate, batch {first['infer_batch']} x "
                     f"{first['infer_seconds']:g}s", first["infer_batch"],
                     first["infer_batch"] * first["infer_seconds"]),
    }
    rows: list[dict] = []
    for key, (config, batch, audio) in labels.items():
        medians = {v: statistics.median(m[key] for m in results[v]) for v in results}
        for value, impl in (("0", "oneDNN off"), ("1", "oneDNN on")):
            t = medians[value]
            rows.append({"suite": SUITE, "config": config, "impl": impl, "mode": "graph",
                         "seconds": t, "xrealtime": audio / t, "items_per_s": batch / t,
                         "ratio": medians["0"] / t,
                         "rounds_seconds": [m[key] for m in results[value]],
                         # the value the measuring processes saw, not the one asked for
                         "note": f"{ENV}={results[value][0]['env']}, fresh process per "
                                 f"round, TF {first['tensorflow']}, CPU, no XLA"})
    return rows


if __name__ == "__main__":
    print(json.dumps(_child(quick="--quick" in sys.argv[1:])))
