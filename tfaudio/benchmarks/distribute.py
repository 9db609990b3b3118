"""Training throughput under ``train.strategy``: one device, mirrored, two workers.

Each configuration is a real ``tfaudio train`` of ``models/vggish_small.toml`` (the
CPU-sized VGGish, augmentation in the graph) in fresh processes, on the built-in
synthetic dataset written once to a temporary folder (train split only, no validation,
so an epoch is training steps alone), global batch 32:

* ``one device, XLA``: the default strategy, the recipe's ``jit_compile`` (True);
* ``one device``: the same without XLA (the reference: CPU replicas cannot use XLA);
* ``mirrored, 2 CPU replicas``: ``MirroredStrategy`` over two logical CPU devices;
* ``multiworker, 2 processes``: ``MultiWorkerMirroredStrategy``, two worker processes
  on loopback (``TF_CONFIG``), each with one CPU replica.

``seconds`` is the median wall time of an epoch after the first (which compiles and
fills the record cache), from the run's ``history.jsonl``; ``items_per_s`` training
clips per second; ``ratio`` against ``one device``. On a 2-core machine the replicas
share the same two cores, so this measures the cost of the distribution machinery,
not a speed-up: on GPUs or several hosts each replica brings its own device.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from tfaudio.train.distribute import loopback_tf_configs

SUITE = "distribute"
BATCH = 32
RECIPE = os.path.join("models", "vggish_small.toml")
QUICK = {"clips_per_class": 3, "epochs": 2}
FULL = {"clips_per_class": 60, "epochs": 4}
TIMEOUT = 1800
# (row name, strategy, jit_compile, CPU replicas, worker processes); "one device" is the
# reference of the ratios.
CONFIGS = [("one device, XLA", "default", True, 0, 1),
           ("one device", "default", False, 0, 1),
           ("mirrored, 2 CPU replicas", "mirrored", False, 2, 1),
           ("multiworker, 2 processes", "multiworker", False, 0, 2)]


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _command(data: str, out: str, epochs: int, strategy: str, jit: bool,
             replicas: int = 0) -> list[str]:
    sets = [f"train.epochs={epochs}", f"train.batch_size={BATCH}", "data.val_split=\"\"",
            "data.test_split=\"\"", "train.tensorboard_examples=0",
            f"train.jit_compile={'true' if jit else 'false'}"]
    cmd = [sys.executable, "-m", "tfaudio", "train", os.path.join(_root(), RECIPE),
           "--data", data, "--out", out, "--strategy", strategy, "--quiet"]
    if replicas:
        cmd += ["--cpu-replicas", str(replicas)]
    for item in sets:
        cmd += ["--set", item]
    return cmd


def _run(commands: list[tuple[list[str], dict]]) -> None:
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for cmd, env in commands]
    errors = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        if p.returncode:
            errors.append(err[-2000:])
    if errors:
        raise RuntimeError("training failed: " + errors[0])


def _epoch_seconds(run_dir: str) -> list[float]:
    with open(os.path.join(run_dir, "history.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["seconds"] for line in f]


def run(quick: bool = False) -> list[dict]:
    """Rows for ``tfaudio bench --suite distribute`` (see the module docstring)."""
    from tfaudio import data as tfd

    size = QUICK if quick else FULL
    tmp = tempfile.mkdtemp(prefix="tfaudio-bench-distribute-")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    rows: list[dict] = []
    try:
        data = os.path.join(tmp, "data")
        manifest = tfd.synth_dataset(data, clips_per_class=size["clips_per_class"], seed=0,
                                     splits="train=1.0", num_shards=4, overwrite=True)
        n_train = int(manifest["splits"]["train"]["clips"])
        epochs = size["epochs"]
        configs = list(CONFIGS)
        results: dict[str, float | str] = {}
        for name, strategy, jit, replicas, workers in configs:
            out = os.path.join(tmp, name.replace(" ", "_").replace(",", ""))
            cmd = _command(data, out, epochs, strategy, jit, replicas)
            print(f"[bench] distribute: {name} ({epochs} epochs of {n_train} clips)", flush=True)
            if workers == 1:
                jobs = [(cmd, env)]
            else:
                jobs = [(cmd, {**env, "TF_CONFIG": c}) for c in loopback_tf_configs(workers)]
            try:
                _run(jobs)
                results[name] = statistics.median(_epoch_seconds(out)[1:])
            except (RuntimeError, OSError, KeyError, ValueError) as err:
                results[name] = f"failed: {err}"[:300]
        reference = results.get("one device")
        config = f"vggish_small, {n_train} clips/epoch, batch {BATCH}, 1 s @ 16 kHz"
        for name, strategy, jit, _replicas, workers in configs:
            value = results[name]
            row: dict = {"suite": SUITE, "config": config, "impl": name,
                         "mode": "xla" if jit else "graph", "seconds": None,
                         "note": f"strategy={strategy}, {workers} process(es); median epoch "
                                 f"after the first of {epochs}"}
            if isinstance(value, str):
                row["note"] = value
            else:
                row["seconds"] = value
                row["items_per_s"] = n_train / value
                if isinstance(reference, float):
                    row["ratio"] = reference / value
            rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows
