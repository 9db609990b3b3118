"""Whether the ops being built will be compiled by XLA (to pick the faster lowering)."""

from __future__ import annotations

import tensorflow as tf


def in_xla_context(unknown: bool = False) -> bool:
    """True while tracing for XLA (``tf.function(jit_compile=True)``); False eagerly.

    Args:
        unknown: the answer when TensorFlow's private helper is missing (a newer TF):
            callers whose non-XLA lowering would not compile pass True.
    """
    if tf.executing_eagerly():
        return False
    try:
        from tensorflow.python.ops import control_flow_util

        graph = tf.compat.v1.get_default_graph()
        return bool(control_flow_util.GraphOrParentsInXlaContext(graph))
    except (ImportError, AttributeError):  # pragma: no cover - private API moved
        return unknown
