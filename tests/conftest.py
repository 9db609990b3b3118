"""Shared fixtures. TensorFlow logging is quietened before anything imports it, and its
oneDNN CPU kernels are pinned (off unless the developer sets ``TF_ENABLE_ONEDNN_OPTS``):
``tfaudio.cli.main`` turns them on for its process when unset, and tests that call it in
process would otherwise change the kernels of the subprocesses started after them."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends with the float32 global policy."""
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
