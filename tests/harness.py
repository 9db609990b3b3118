"""Helpers of the shared layer harness (see cases.py)."""

from __future__ import annotations

import keras
import numpy as np

from tests.cases import Case, input_dtype, input_shape, is_multi_input


def build_model(case: Case, channels: int | None = None, **kwargs) -> keras.Model:
    """A functional model around one fresh layer, with dynamic batch and time axes."""
    layer = case.make(**kwargs)
    if is_multi_input(case):
        inp = [keras.Input(s, dtype=input_dtype(case)) for s in input_shape(case, channels)]
    else:
        inp = keras.Input(input_shape(case, channels), dtype=input_dtype(case))
    return keras.Model(inp, layer(inp))


def shape_of(x):
    """``x.shape``, or the list of shapes of a multi-input list."""
    return [t.shape for t in x] if isinstance(x, list) else x.shape


def to_tensors(x):
    """``tf.constant`` of an input or of each input of a multi-input list."""
    import tensorflow as tf

    return [tf.constant(t) for t in x] if isinstance(x, list) else tf.constant(x)


def to_numpy(x) -> np.ndarray:
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def assert_close(actual, expected, rel: float = 0.0, atol: float = 0.0, what: str = "") -> None:
    """``max |actual - expected| <= rel * max |expected| + atol`` with a readable message."""
    actual, expected = to_numpy(actual), to_numpy(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "iu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    a = actual.astype(np.complex128 if np.iscomplexobj(actual) else np.float64)
    e = expected.astype(np.complex128 if np.iscomplexobj(expected) else np.float64)
    err = float(np.max(np.abs(a - e))) if a.size else 0.0
    bound = rel * float(np.max(np.abs(e))) if e.size else 0.0
    bound += atol
    assert err <= bound, f"{what}: max abs error {err:.3g} > bound {bound:.3g}"


class Recorder(keras.layers.Layer):
    """Stores the last batch it saw in training in a variable (to inspect fit's draws)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.seen = self.add_weight(shape=shape, initializer="zeros", trainable=False)

    def call(self, x, training=None):
        if training:
            import tensorflow as tf

            self.seen.assign(tf.cast(x, tf.float32))
        return x
