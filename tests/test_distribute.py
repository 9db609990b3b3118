"""train.strategy = mirrored: CPU replicas follow one device; seeds and sharding choices.

A CPU split must be set up before TensorFlow starts: those cases run in fresh processes
(``tests/cluster.py``), each under a timeout.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests import cluster
from tests.cluster import TINY, python

dataset = cluster.dataset  # the fixture

# ------------------------------------------------------------------ mirrored
def test_augmentation_draws_differ_per_replica():
    """One seed generator, two replicas: replica 0 draws what one device draws, replica 1
    draws differently (not the same noise on both halves of the batch)."""
    out = python("""
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
        out = python(f"""
            import json
            from tfaudio.train import recipe as R, train
            r = R.load("models/vggish_small.toml", {TINY!r} + [
                "train.epochs=2", "train.batch_size=28", "optimizer.name=\\"sgd\\"",
                "optimizer.learning_rate=0.01", "train.jit_compile=false",
                "data.test_split=\\"\\"", "train.export=false"])
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


def test_multiworker_needstf_config(monkeypatch):
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
