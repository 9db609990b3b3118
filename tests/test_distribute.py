"""train.strategy: mirrored over CPU replicas, two worker processes on loopback, a lost worker.

Each case runs in fresh processes: a CPU split and a multi-worker strategy must be set
up before TensorFlow starts. Every process runs under a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tfaudio import data as tfd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["model.width=0.0625", "model.embedding_size=16", "train.tensorboard_examples=0",
        "schedule.name=\"constant\"", "augment.noise_snr_db=[]", "augment.gain_db=[]",
        "augment.freq_mask=0", "model.dropout=0.0"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(path, classes=["sine", "square", "white_noise", "clicks"],
                      clips_per_class=10, seed=3, num_shards=4)
    return path


def _env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _python(code: str, timeout: float = 240, **env) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         env=_env(**env), capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _train_cmd(data: str, out: str, *sets: str) -> list[str]:
    cmd = [sys.executable, "-m", "tfaudio", "train", "models/vggish_small.toml", "--data", data,
           "--out", out, "--strategy", "multiworker", "--quiet"]
    for item in [*TINY, *sets]:
        cmd += ["--set", item]
    return cmd


# ------------------------------------------------------------------ mirrored
def test_augmentation_draws_differ_per_replica():
    """One seed generator, two replicas: replica 0 draws what one device draws, replica 1
    draws differently (not the same noise on both halves of the batch)."""
    out = _python("""
        import json
        import numpy as np
        from tfaudio.train import distribute
        strategy = distribute.make_strategy("mirrored", cpu_replicas=2)
        import tensorflow as tf
        from tfaudio import layers as L
        with strategy.scope():
            noisy = L.AddNoise((0.0, 0.0), p=1.0, seed=7)
            noisy.build((None, 64))
        single = L.AddNoise((0.0, 0.0), p=1.0, seed=7)
        single.build((None, 64))
        run = tf.function(lambda: strategy.run(lambda: noisy(tf.ones([1, 64]), training=True)))
        a, b = [np.asarray(v) for v in strategy.experimental_local_results(run())]
        one = np.asarray(single(tf.ones([1, 64]), training=True))
        print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                          "same_as_one_device": float(np.abs(a - one).max()),
                          "between_replicas": float(np.abs(a - b).max())}))
    """)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["replicas"] == 2
    assert got["same_as_one_device"] == 0.0
    assert got["between_replicas"] > 0.1


def test_mirrored_two_replicas_follow_one_device(dataset, tmp_path):
    """MirroredStrategy over 2 CPU replicas vs the default one-device strategy, same
    global batch: the same loss curve.

    The global batch is the whole training split (28 clips), so every step sees the same
    examples in any order (Keras's distributed fit takes one extra pass of the input
    before its first step, which shifts the shuffle); batch norm is synchronised across
    the replicas. Augmentation and dropout are off, XLA too (not available over CPU
    replicas). Measured: 8e-5 relative; bound 2e-3 on the per-epoch train and validation
    losses.
    """
    curves = {}
    for strategy, replicas in (("default", 0), ("mirrored", 2)):
        run_dir = str(tmp_path / strategy)
        out = _python(f"""
            import json
            from tfaudio.train import recipe as R, train
            r = R.load("models/vggish_small.toml", {TINY!r} + [
                "train.epochs=2", "train.batch_size=28", "optimizer.name=\\"sgd\\"",
                "optimizer.learning_rate=0.01", "train.jit_compile=false"])
            s = train(r, data_dir={dataset!r}, run_dir={run_dir!r}, verbose=0,
                      strategy={strategy!r}, cpu_replicas={replicas})
            print(json.dumps(s))
        """)
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["replicas"] == max(replicas, 1) and summary["strategy"] == strategy
        assert summary["examples_per_epoch"] == [28, 28]
        with open(os.path.join(run_dir, "history.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        curves[strategy] = [[r["loss"], r["val_loss"]] for r in rows]
    print("loss curves", curves)
    np.testing.assert_allclose(curves["mirrored"], curves["default"], rtol=2e-3)


def test_shard_options_by_file_else_by_batch_with_a_warning(capsys):
    import tensorflow as tf

    from tfaudio.train import distribute

    policy = tf.data.experimental.AutoShardPolicy

    def chosen(*args):
        return distribute.shard_options(*args).experimental_distribute.auto_shard_policy

    assert chosen(4, 2, "split 'train'") == policy.FILE
    assert capsys.readouterr().err == ""
    assert chosen(1, 2, "split 'train'") == policy.DATA
    assert "split 'train' has 1 TFRecord shard(s) for 2 workers" in capsys.readouterr().err
    assert chosen(8, 2, "split 'val'", False) == policy.DATA  # evaluation: even batches
    assert chosen(1, 1, "split 'train'") == policy.AUTO  # one worker: nothing to shard


def test_multiworker_needs_tf_config(monkeypatch):
    from tfaudio.train import distribute

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(distribute.DistributeError, match="needs the TF_CONFIG environment"):
        distribute.make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, '
                                    '"task": {"type": "worker", "index": 3}}')
    with pytest.raises(distribute.DistributeError, match="is not in the cluster"):
        distribute.make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(distribute.DistributeError, match="TF_CONFIG is not JSON"):
        distribute.make_strategy("multiworker")


# ------------------------------------------------------------------ multi-worker
def test_two_workers_train_chief_exports_last_checkpoint(dataset, tmp_path):
    """Two worker processes on loopback: both train 2 epochs; only the chief (worker 0)
    writes; its export serves what its last checkpoint holds (1e-5)."""
    run_dir = str(tmp_path / "mw")
    ports = _free_ports(2)
    cmd = _train_cmd(dataset, run_dir, "train.epochs=2", "train.batch_size=8",
                     "train.restore_best=false")
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=_env(TF_CONFIG=_tf_config(ports, i)),
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
    # Examples are summed over the workers: 4 steps of 2 x 4 clips, less the short
    # batches at the end of each worker's shards (a worker's mean would be ~15).
    assert all(24 <= n <= 32 for n in summary["examples_per_epoch"]), summary
    with open(os.path.join(run_dir, "history.jsonl")) as f:
        assert len(f.readlines()) == 2  # one writer
    out = _python(f"""
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
    ports = _free_ports(2)
    cmd = _train_cmd(dataset, run_dir, "train.epochs=40", "train.batch_size=8")
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=_env(TF_CONFIG=_tf_config(ports, i)),
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
