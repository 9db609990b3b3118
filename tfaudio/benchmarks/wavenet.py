"""WaveNet generation speed: Fast WaveNet queues against naive generation.

The network: 2 x (1, 2, ..., 512) dilated layers (20 layers, receptive field 2048),
residual = dilation = 32 channels, skip 512, Q = 256, width 2, biases (ibab's defaults
with two stacks instead of five; 851,552 parameters, random weights). Per config
(batch 1 and batch 16), samples/s (all sequences together) of:

* ``fast`` (:class:`tfaudio.models.WaveNetGenerator`): per-layer queues, one
  ``tf.while_loop``, XLA-compiled (``mode="xla"``) and plain graph (``mode="graph"``);
* ``naive`` (:func:`tfaudio.models.naive_generate`): per sample the network runs over the
  last receptive field (2048 codes), in a ``tf.while_loop``, graph and XLA. It is timed
  on a short span (10 samples at batch 1, 2 at batch 16; the median of 2 calls): its
  cost per sample does not change along the way.

Fast generation is timed on 8000 (XLA) / 1000 (graph) samples at batch 1 and 2000 / 500
at batch 16 per call (one compiled chunk; median of 5 calls). Every call generates from
scratch (temperature 1, a fixed seed) and includes the transfer of the codes back to
NumPy. The ``fast`` rows' ``ratio`` is their samples/s
over the faster ``naive`` mode's at the same batch (the issue's target: >= 100x, and
>= 2,000 samples/s at batch 1 on 2 CPU cores).
"""

from __future__ import annotations

import sys

from tfaudio.benchmarks import repeats, time_call

SUITE = "wavenet"
DILATIONS = [2 ** i for i in range(10)] * 2
NETWORK = dict(quantization_channels=256, residual_channels=32, dilation_channels=32,
               skip_channels=512, dilations=DILATIONS, filter_width=2)
# (batch, samples per sequence: fast XLA, fast graph, naive)
CONFIGS = ((1, 8000, 1000, 10), (16, 2000, 500, 2))
QUICK_CONFIGS = ((1, 400, 100, 2),)


def run(quick: bool = False) -> list[dict]:
    """Times fast and naive generation (see the module docstring).

    Args:
        quick: a smoke run (batch 1 only, short spans, few repeats).

    Returns:
        Benchmark rows (``suite="wavenet"``) with ``items_per_s`` = samples/s.
    """
    import keras
    import tensorflow as tf

    from tfaudio.models import WaveNetGenerator, naive_generate, wavenet

    warmup, repeat = repeats(quick)
    if not quick:
        warmup, repeat = 1, 5
    keras.utils.set_random_seed(0)
    model = wavenet(**NETWORK)
    rf = model.receptive_field
    name = (f"2x(1..512) rf {rf}, R=D=32, S=512, Q=256 ({model.count_params():,} params)")
    rows: list[dict] = []
    for batch, n_xla, n_graph, n_naive in QUICK_CONFIGS if quick else CONFIGS:
        config = f"{name}, batch {batch}"
        naive_rates = {}
        for mode, jit in (("graph", False), ("xla", True)):
            seconds = time_call(lambda j=jit, b=batch, n=n_naive: naive_generate(
                model, n, batch_size=b, seed=1, jit_compile=j), warmup, 1 if quick else 2,
                sync=lambda out: out)
            naive_rates[mode] = batch * n_naive / seconds
            rows.append({"suite": SUITE, "config": config, "impl": "naive", "mode": mode,
                         "seconds": seconds, "items_per_s": naive_rates[mode], "rival": True,
                         "note": f"{n_naive} samples x {batch}: the network over the last "
                                 f"{rf} codes per sample"})
        best_naive = max(naive_rates.values())
        for mode, jit, n_fast in (("xla", True, n_xla), ("graph", False, n_graph)):
            gen = WaveNetGenerator(model, jit_compile=jit, chunk_size=n_fast)
            seconds = time_call(lambda g=gen, b=batch, n=n_fast: g.generate(
                n, batch_size=b, seed=1), warmup, repeat, sync=lambda out: out)
            rate = batch * n_fast / seconds
            rows.append({"suite": SUITE, "config": config, "impl": "fast (queues)",
                         "mode": mode, "seconds": seconds, "items_per_s": rate,
                         "rival": False, "ratio": rate / best_naive,
                         "note": f"{n_fast} samples x {batch}, one while_loop; ratio over "
                                 f"the faster naive ({best_naive:,.1f} samples/s); "
                                 f"TF {tf.__version__}, CPU"})
            print(f"[bench] wavenet batch {batch}: fast {mode} {rate:,.0f} samples/s, "
                  f"naive {best_naive:,.1f} samples/s ({rate / best_naive:,.0f}x)",
                  file=sys.stderr)
    return rows
