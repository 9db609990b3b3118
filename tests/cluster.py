"""Shared by the tf.distribute tests: fresh-process runs, loopback clusters, a dataset."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tfaudio import data as tfd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tiny and deterministic: no augmentation, no dropout (the flow, not the accuracy).
TINY = ["model.width=0.0625", "model.embedding_size=16", "train.tensorboard_examples=0",
        "schedule.name=\"constant\"", "augment.noise_snr_db=[]", "augment.gain_db=[]",
        "augment.freq_mask=0", "model.dropout=0.0"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 synthetic classes, 28 / 8 / 4 clips, 4 shards per split (one per worker and more)."""
    path = str(tmp_path_factory.mktemp("data") / "synth")
    tfd.synth_dataset(path, classes=["sine", "square", "white_noise", "clicks"],
                      clips_per_class=10, seed=3, num_shards=4)
    return path


def env(**extra) -> dict:
    """The environment of a fresh process: this checkout first, no inherited TF_CONFIG."""
    out = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    out.pop("TF_CONFIG", None)
    out.update(extra)
    return out


def python(code: str, timeout: float = 240, **extra) -> str:
    """Runs ``code`` in a fresh interpreter (under a timeout); its stdout."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         env=env(**extra), capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def train_cmd(data: str, out: str, *sets: str) -> list[str]:
    """``tfaudio train`` of the tiny vggish_small as one worker of a multi-worker run."""
    cmd = [sys.executable, "-m", "tfaudio", "train", "models/vggish_small.toml", "--data", data,
           "--out", out, "--strategy", "multiworker", "--quiet"]
    for item in [*TINY, *sets]:
        cmd += ["--set", item]
    return cmd
