"""Every layer: tf.data.map, jit_compile, mixed_float16/bfloat16, multichannel, gradients."""

import numpy as np
import pytest
import tensorflow as tf

from tests.cases import CASES, make_input
from tests.harness import assert_close, to_tensors


def _cases(prop):
    return [c for c in CASES if prop not in c.skip]


@pytest.mark.parametrize("case", _cases("tfdata"), ids=lambda c: c.id)
def test_inside_tf_data_map(case):
    layer = case.make()
    x = make_input(case, batch=4)
    if isinstance(x, list):  # a multi-input layer: slices of a tuple, called on a list
        ds = tf.data.Dataset.from_tensor_slices(tuple(x)).batch(2).map(lambda *t: layer(list(t)))
    else:
        ds = tf.data.Dataset.from_tensor_slices(x).batch(2).map(layer)
    got = np.concatenate([np.asarray(b) for b in ds], axis=0)
    assert_close(got, layer(x), rel=1e-5, what="tf.data output")


@pytest.mark.parametrize("case", _cases("jit"), ids=lambda c: c.id)
def test_jit_compile(case):
    layer = case.make()
    x = make_input(case)
    eager = layer(x)
    compiled = tf.function(lambda t: layer(t), jit_compile=True)
    got = compiled(to_tensors(x))
    assert got.dtype == eager.dtype
    # XLA reorders float sums (FFT, matmul): agree to float32 round-off of the peak.
    assert_close(got, eager, rel=2e-5, atol=1e-4 if case.id.startswith(("phase",)) else 0.0,
                 what="XLA output")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("case", _cases("mixed"), ids=lambda c: c.id)
def test_mixed_precision(case, policy):
    x = make_input(case)
    reference = np.asarray(case.make()(x))
    layer = case.make(dtype=policy)
    y = layer(x)
    want = "float16" if policy == "mixed_float16" else "bfloat16"
    assert y.dtype.name == want, f"output dtype {y.dtype.name}, expected the compute dtype {want}"
    y = np.asarray(tf.cast(y, tf.float32))
    assert np.all(np.isfinite(y)), "non-finite values under mixed precision"
    # The math runs in float32 and the result is rounded once to the compute dtype, so
    # the error is at most half an ulp of the peak: 2^-11 (float16), 2^-8 (bfloat16).
    tol = 2.0**-11 if policy == "mixed_float16" else 2.0**-8
    assert_close(y, reference, rel=tol, what=f"{policy} vs float32")


@pytest.mark.parametrize("case", _cases("multichannel"), ids=lambda c: c.id)
def test_each_channel_equals_mono(case):
    layer = case.make()
    x = make_input(case, channels=3)
    y = np.asarray(layer(x))
    for c in range(3):
        mono = np.asarray(layer(x[..., c]))
        assert_close(y[..., c], mono, rel=1e-6, what=f"channel {c}")


@pytest.mark.parametrize("case", [c for c in _cases("grad") if c.kind != "codes"],
                         ids=lambda c: c.id)
def test_gradients_flow(case):
    layer = case.make()
    x = to_tensors(make_input(case))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(layer(x), tf.float32)
        loss = tf.reduce_mean(tf.square(y))
    grads = tape.gradient(loss, x)
    for grad in grads if isinstance(x, list) else [grads]:
        assert grad is not None
        g = np.abs(np.asarray(grad))
        assert np.all(np.isfinite(g)) and g.max() > 0


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("case_id,dtype", [("stft", "complex64"), ("mu_law_encoding", "int32")])
def test_mixed_precision_keeps_exact_dtypes(case_id, dtype, policy):
    """STFT stays complex64 (FFT in float32) and mu-law codes stay int32 under any policy."""
    from tests.cases import by_id

    case = by_id(case_id)
    x = make_input(case)
    y = case.make(dtype=policy)(x)
    assert y.dtype.name == dtype
    assert_close(y, case.make()(x), rel=0.0, what=f"{case_id} under {policy}")
