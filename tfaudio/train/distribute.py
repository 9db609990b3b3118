"""``train.strategy``: training under ``tf.distribute`` (one device, mirrored, multi-worker).

Nothing here is a home-made scheme; it picks and configures TensorFlow's strategies:

* ``default``: the one-device default strategy.
* ``mirrored``: ``tf.distribute.MirroredStrategy`` over the local GPUs or, without
  GPUs, over ``cpu_replicas`` logical CPU devices (set up before TensorFlow starts; a
  way to test distributed code on a laptop, not a speed-up on a 2-core machine).
* ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy`` from the
  ``TF_CONFIG`` environment variable, which every process of the cluster gets, e.g.::

      TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                  "task": {"type": "worker", "index": 0}}'

  The chief (``task.type == "chief"``, or worker 0 when the cluster has no chief)
  writes checkpoints, TensorBoard logs, the evaluation and the export; the other
  workers write nothing. On Kubernetes, Vertex AI or SLURM launchers set ``TF_CONFIG``.

The recipe's ``batch_size`` is the global batch: Keras splits it across replicas.
Input is sharded across workers by file (``AutoShardPolicy.FILE``) when the split has at
least as many TFRecord shards as workers, else by batch (``DATA``, with a warning).
A worker that dies makes the others fail within :data:`PEER_TIMEOUT` seconds with an
error saying so (TensorFlow's collective health check), instead of hanging.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("default", "mirrored", "multiworker")
PEER_TIMEOUT = 60  # seconds a collective waits for a silent peer before failing


class DistributeError(RuntimeError):
    """A strategy that cannot be set up as asked (names the setting and the fix)."""


@dataclass(frozen=True)
class Role:
    """This process's part in a (possibly one-process) cluster."""

    chief: bool = True
    worker: int = 0  # index among the processes that train
    workers: int = 1
    replicas: int = 1  # replicas in sync, all workers together


def split_cpu(replicas: int) -> None:
    """Splits the first CPU into ``replicas`` logical devices (before TensorFlow starts).

    Raises:
        DistributeError: TensorFlow is already running with another split.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])
    except RuntimeError as err:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != replicas:
            raise DistributeError(
                f"cpu_replicas = {replicas}: TensorFlow already started with {have} CPU "
                "device(s); split the CPU first (a fresh process, or "
                "tfaudio.train.distribute.split_cpu before any TensorFlow work)") from err


def read_tf_config() -> dict:
    """The parsed ``TF_CONFIG``, checked for ``cluster`` and ``task``."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        raise DistributeError(
            "train.strategy = 'multiworker' needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
            '"task": {"type": "worker", "index": 0}} (one per process)')
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise DistributeError(f"TF_CONFIG is not JSON ({err}): {raw[:200]!r}") from err
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise DistributeError(f"TF_CONFIG needs 'cluster' and 'task' tables, got {sorted(config)}")
    jobs = [job for job in cluster if job in ("chief", "worker")]
    if not jobs:
        raise DistributeError(f"TF_CONFIG cluster has no 'chief' or 'worker' job: {sorted(cluster)}")
    kind, index = task.get("type"), task.get("index")
    if kind not in jobs or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise DistributeError(f"TF_CONFIG task {task} is not in the cluster "
                              f"{ {k: len(v) for k, v in cluster.items()} }")
    return config


def loopback_tf_configs(workers: int) -> list[str]:
    """``TF_CONFIG`` values for ``workers`` processes of one machine (free loopback ports),
    one per process in worker order: for tests, benchmarks and trying multiworker locally.

    Example:
        >>> [json.loads(c)["task"] for c in loopback_tf_configs(2)]
        [{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
    """
    import socket

    socks = [socket.socket() for _ in range(workers)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]}
    for s in socks:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i in range(workers)]


def make_strategy(name: str, cpu_replicas: int = 0) -> Any:
    """The ``tf.distribute`` strategy for ``train.strategy = name``.

    Args:
        name: ``"default"``, ``"mirrored"`` or ``"multiworker"``.
        cpu_replicas: for ``mirrored`` without GPUs: logical CPU devices to mirror over
            (0: the CPU as it is, one replica).

    Raises:
        DistributeError: unknown name, no ``TF_CONFIG`` for ``multiworker``, or a CPU
        split asked for after TensorFlow started.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise DistributeError(f"strategy {name!r} is not one of {list(STRATEGIES)}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        if cpu_replicas > 1:
            split_cpu(cpu_replicas)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    read_tf_config()
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=PEER_TIMEOUT)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def role(strategy: Any) -> Role:
    """Chief or not, worker index and counts of ``strategy`` (one process: the chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    replicas = int(strategy.num_replicas_in_sync)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return Role(replicas=replicas)
    spec = resolver.cluster_spec().as_dict()
    kind, index = resolver.task_type, int(resolver.task_id or 0)
    order = [(job, i) for job in ("chief", "worker") for i in range(len(spec.get(job, [])))]
    worker = order.index((kind, index)) if (kind, index) in order else 0
    return Role(chief=worker == 0, worker=worker, workers=len(order), replicas=replicas)


def xla_unsupported(strategy: Any) -> bool:
    """Whether ``strategy`` has several CPU replicas, where XLA-compiled steps fail
    (mirrored: a variable's copy lives on another device than the compiled step;
    multi-worker: XLA has no CPU collectives)."""
    import tensorflow as tf

    return (int(strategy.num_replicas_in_sync) > 1
            and not tf.config.list_physical_devices("GPU"))


def fix_keras_build(model: Any, strategy: Any) -> None:
    """Works around Keras 3's first-batch build under ``MultiWorkerMirroredStrategy``.

    Before the first step ``fit`` builds the model from one batch, reducing the
    distributed batch with ``strategy.reduce``, which fails when each worker holds one
    replica ("Attempt to convert a value (PerReplica ...) to a Tensor"). The model is
    built from this worker's local batch instead (shapes are all the build needs).
    Other strategies are left alone.
    """
    import tensorflow as tf

    if getattr(strategy, "cluster_resolver", None) is None:
        return

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build

    # Keras 3 then averages each step's logs over the workers with
    # strategy.reduce("MEAN", v, axis=0), which fails on scalar logs
    # (tensorflow/tensorflow#72388): give the logs that axis. Counters are sums over
    # the workers, not means: they are scaled by the worker count before the mean.
    workers = role(strategy).workers
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, _with_batch_axis(step, workers))


COUNTERS = ("examples",)  # logged metrics that count (ExamplesSeen)


def _with_batch_axis(step: Any, workers: int) -> Any:
    import tensorflow as tf

    def wrapped(data):
        out = {}
        for key, value in step(data).items():
            if tf.is_tensor(value) and value.shape.rank == 0:
                if key in COUNTERS:
                    value = value * tf.cast(workers, value.dtype)
                value = tf.reshape(value, [1])
            out[key] = value
        return out

    return wrapped


def shard_options(num_files: int, workers: int, what: str, training: bool = True) -> Any:
    """``tf.data.Options`` sharding a split's input across ``workers``: by file when
    every worker gets a file (training), else by batch, with a warning."""
    import tensorflow as tf

    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    if workers <= 1:
        return options
    if training and num_files >= workers:
        options.experimental_distribute.auto_shard_policy = policy.FILE
        return options
    if training:
        print(f"warning: {what} has {num_files} TFRecord shard(s) for {workers} workers: "
              "sharding by batch (AutoShardPolicy.DATA; every worker reads every file). "
              "Write at least one shard per worker (make-tfrecords --shards) to read less.",
              file=sys.stderr, flush=True)
    options.experimental_distribute.auto_shard_policy = policy.DATA
    return options


PEER_ERRORS = ("UnavailableError", "DeadlineExceededError", "CancelledError", "AbortedError",
               "InternalError")


def peer_failure(err: BaseException) -> bool:
    """Whether ``err`` is how TensorFlow reports a lost or silent peer in a collective."""
    return type(err).__name__ in PEER_ERRORS
