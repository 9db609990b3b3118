"""Training throughput of the CPU-sized VGGish classifier, and whether its input pipeline keeps up.

The model, optimiser, loss, metrics and training dataset are made exactly as
``tfaudio train`` makes them (:func:`tfaudio.train.run.compile_model` and
:func:`tfaudio.train.run.make_dataset` with ``.repeat()``) from the recipe
``models/vggish_small.toml`` (or, without it, a default recipe at width 0.25 with
batch norm and dropout 0.2): ``vggish_classifier`` with augmentation in the graph,
compiled with the recipe's ``jit_compile`` (False since XLA measured 1.6-1.9x slower
for this training step on a 2-core CPU). Data: the built-in synthetic
dataset (12 classes, clips of 1 s at 16 kHz; the recipe's ``synth_clips_per_class``,
a handful when quick) written to a temporary folder; batches of 32.

Rows (``mode`` ``"graph"``, or ``"xla"`` for a recipe with ``jit_compile``):

* ``train step, batches in memory``: ``model.train_on_batch`` on one epoch of batches
  taken from the training dataset beforehand and cycled (no input pipeline): the
  model's training throughput. ``ratio`` 1.00 (the reference).
* ``train step, audio_dataset``: the same steps, each batch the next one of the
  training dataset (shuffled, cached, repeated, as the run reads it). ``ratio`` is
  this row's examples/s over the memory-fed row's, the median of the per-round ratios
  (target >= 0.95: the input pipeline must not starve the model).

The two feeds share one compiled model and are timed round-robin (one segment of
each per round, :func:`tfaudio.benchmarks.time_round_robin`); a segment is one
epoch's worth of steps, so each dataset-fed segment pays one epoch boundary (shuffle
buffer refill) as training does. ``seconds`` is the median wall time per step,
``items_per_s`` examples per second. Warm-up (XLA compilation, the first pass that
fills the record cache) is not timed. The full run (946 training clips, 30 steps per
segment, 1 + 7 rounds) takes a few minutes on 2 cores. The dataset's prefetch buffer refills during
the memory-fed segment, which can favour the dataset-fed one by at most a few
batches per segment; when the pipeline is far faster than the step (the expected
case) the buffer is full in both cases and this does not matter.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from typing import Any

from tfaudio.benchmarks import time_round_robin

SUITE = "train"
BATCH = 32
RECIPE = os.path.join("models", "vggish_small.toml")
QUICK_CLIPS_PER_CLASS = 8  # 96 clips: 3 batches of 32
ROUNDS = 7  # timed rounds of the full run, each one epoch of steps per feed


def _recipe() -> Any:
    """The ``vggish_small`` recipe (from the repository or the working folder) or its
    stand-in: a default recipe at width 0.25 with batch norm and dropout 0.2."""
    from tfaudio.train import recipe as recipe_lib

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for path in (os.path.join(root, RECIPE), RECIPE):
        if os.path.isfile(path):
            return recipe_lib.load(path)
    recipe = recipe_lib.Recipe(name="vggish_small", source="<default recipe>")
    recipe.model.width = 0.25
    recipe.model.batch_norm = True
    recipe.model.dropout = 0.2
    return recipe


def _feeder(model: Any, batches: Any, counts: list[int], steps: int) -> Callable[[], Any]:
    """A callable that runs ``steps`` training steps on the next batches of ``batches``
    and appends the number of examples it trained on to ``counts``."""

    def run_steps() -> Any:
        n, logs = 0, None
        for _ in range(steps):
            x, y = next(batches)
            logs = model.train_on_batch(x, y)  # returns numpy: the step has finished
            n += int(x.shape[0])
        counts.append(n)
        return logs

    return run_steps


def run(quick: bool = False) -> list[dict]:
    """Rows for ``tfaudio bench --suite train`` (see the module docstring).

    Args:
        quick: a smoke run (a few clips per class, few rounds).

    Returns:
        Benchmark rows (``suite="train"``).
    """
    import keras

    from tfaudio import data as tfd
    from tfaudio.train import run as run_lib

    recipe = _recipe()
    d = recipe.data
    clips_per_class = QUICK_CLIPS_PER_CLASS if quick else d.synth_clips_per_class
    # Quick: a train-only split of whole batches (one XLA compilation, not two); else the
    # default splits, as `tfaudio train` writes them (946 train clips: 30 steps per epoch).
    splits = {"splits": "train=1.0"} if quick else {}
    warmup, repeat = (1, 3) if quick else (1, ROUNDS)
    tmp = tempfile.mkdtemp(prefix="tfaudio-bench-train-")
    try:
        manifest = tfd.synth_dataset(tmp, clips_per_class=clips_per_class,
                                     sample_rate=d.sample_rate, seconds=d.clip_seconds,
                                     seed=recipe.train.seed, overwrite=True, **splits)
        num_classes = len(manifest["label_vocabulary"])
        n_train = int(manifest["splits"][d.train_split]["clips"])
        steps = -(-n_train // BATCH)  # one epoch per timed segment
        keras.utils.set_random_seed(recipe.train.seed)
        model = run_lib.compile_model(recipe, num_classes, steps)

        stream = iter(run_lib.make_dataset(recipe, tmp, d.train_split, True, num_classes,
                                           batch_size=BATCH).repeat())
        # The first epoch (it fills the record cache) is kept as the in-memory batches.
        memory = [next(stream) for _ in range(steps)]
        counts: dict[str, list[int]] = {"memory": [], "dataset": []}
        fns = {
            "memory": _feeder(model, itertools.cycle(memory), counts["memory"], steps),
            "dataset": _feeder(model, stream, counts["dataset"], steps),
        }
        times, rounds = time_round_robin(fns, warmup, repeat)
        params = model.count_params()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    mode = "xla" if recipe.train.jit_compile else "graph"
    config = (f"vggish w{recipe.model.width:g}{' bn' if recipe.model.batch_norm else ''}, "
              f"{num_classes} classes, {BATCH} x {d.clip_seconds:g}s@{d.sample_rate // 1000}k")
    rates: dict[str, list[float]] = {}
    for name, ts in rounds.items():
        done = counts[name][-len(ts):]
        rates[name] = [n / t for n, t in zip(done, ts, strict=True)]
    notes = {
        "memory": (f"model.train_on_batch, {len(memory)} batches cycled from memory; "
                   f"recipe {os.path.basename(recipe.source)}, {params:,} params, {n_train} train clips"),
        "dataset": ("batches from make_dataset(...).repeat() as in training (audio_dataset "
                    f"shuffle, cache={d.cache}); ratio = examples/s vs memory-fed, median of "
                    "paired rounds; target >= 0.95"),
    }
    impls = {"memory": "train step, batches in memory", "dataset": "train step, audio_dataset"}
    rows: list[dict] = []
    for name in ("memory", "dataset"):
        t = times.get(name)
        row: dict[str, Any] = {"suite": SUITE, "config": config, "impl": impls[name],
                               "mode": mode, "seconds": None, "note": notes[name]}
        if isinstance(t, str):
            row["note"] = t
        elif name in rates:
            per_step = statistics.median(ts / steps for ts in rounds[name])
            row["seconds"] = per_step
            row["items_per_s"] = statistics.median(rates[name])
            row["xrealtime"] = row["items_per_s"] * d.clip_seconds
            if name == "memory":
                row["ratio"] = 1.0
            elif "memory" in rates:
                row["ratio"] = statistics.median(
                    a / b for a, b in zip(rates["dataset"], rates["memory"], strict=True))
        rows.append(row)
    return rows
