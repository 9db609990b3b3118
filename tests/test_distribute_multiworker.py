"""train.strategy = multiworker: two worker processes on loopback, and a lost worker.

Every process runs under a timeout; ports are picked free (``loopback_tf_configs``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests import cluster
from tests.cluster import ROOT, env, python, train_cmd
from tfaudio.train.distribute import loopback_tf_configs

dataset = cluster.dataset  # the fixture

# ------------------------------------------------------------------ multi-worker
def test_two_workers_train_chief_exports_last_checkpoint(dataset, tmp_path):
    """Two worker processes on loopback: both train 2 epochs; only the chief (worker 0)
    writes; its export serves what its last checkpoint holds (1e-5)."""
    run_dir = str(tmp_path / "mw")
    configs = loopback_tf_configs(2)
    cmd = train_cmd(dataset, run_dir, "train.epochs=2", "train.batch_size=8",
                     "train.restore_best=false", "data.test_split=\"\"")
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env(TF_CONFIG=configs[i]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert "worker 1 of 2 done (2 epochs)" in outs[1][0]
    with open(os.path.join(run_dir, "run.json")) as f:
        summary = json.load(f)
    assert summary["workers"] == 2 and summary["replicas"] == 2
    assert summary["epochs_run"] == 2 and summary["optimizer_steps"] == 2 * 4
    # Examples are summed over the workers: more than one worker's 4 steps of 4 clips can
    # hold, at most 4 global batches of 8 (short batches at the ends of each worker's
    # shards make it less; measured [26, 20]).
    assert all(16 < n <= 32 for n in summary["examples_per_epoch"]), summary["examples_per_epoch"]
    with open(os.path.join(run_dir, "history.jsonl")) as f:
        assert len(f.readlines()) == 2  # one writer
    out = python(f"""
        import json, os
        import numpy as np
        import tensorflow as tf
        from tfaudio.train import build, checkpoint, recipe as R
        r = R.load(os.path.join({run_dir!r}, "recipe.toml"))
        model = build.build_model(r, 4)
        last = checkpoint.latest(os.path.join({run_dir!r}, "checkpoints"))
        model.load_weights(os.path.join(last, "model.weights.h5"))
        x = np.random.default_rng(0).normal(0, 0.1, (3, 20000)).astype("float32")
        loaded = tf.saved_model.load(os.path.join({run_dir!r}, "export"))
        served = loaded.serve(x)
        print(json.dumps({{"last": os.path.basename(last),
                          "diff": float(np.abs(np.asarray(served) - model(x)).max())}}))
    """)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["last"] == "epoch-0002" and got["diff"] < 1e-5


def test_lost_worker_fails_the_others_clearly(dataset, tmp_path):
    """Worker 1 killed with SIGKILL after epoch 1: the chief stops with exit code 2 and a
    message naming the lost peer and --resume, within the test's timeout (no hang)."""
    run_dir = str(tmp_path / "mw-kill")
    configs = loopback_tf_configs(2)
    cmd = train_cmd(dataset, run_dir, "train.epochs=40", "train.batch_size=8",
                     "data.test_split=\"\"")
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env(TF_CONFIG=configs[i]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    try:
        history = os.path.join(run_dir, "history.jsonl")
        deadline = time.time() + 240
        while not (os.path.exists(history) and os.path.getsize(history)):
            assert time.time() < deadline, "the run did not finish an epoch"
            assert procs[0].poll() is None, procs[0].communicate()[1][-3000:]
            time.sleep(0.5)
        procs[1].send_signal(signal.SIGKILL)
        killed_at = time.time()
        out, err = procs[0].communicate(timeout=240)
        waited = time.time() - killed_at
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert procs[0].returncode == 2, err[-3000:]
    assert "a peer of the 2-worker run stopped or stopped answering" in err
    assert "--resume" in err
    print(f"chief failed {waited:.0f} s after the kill")
