"""Run checkpoints: model weights + optimiser state + loop state, written atomically.

Keras's ``.weights.h5`` of a compiled model holds the optimiser's variables (step
counter, moments) beside the model's, so one file restores both. Layout inside a run
folder::

    checkpoints/epoch-0003/   model.weights.h5, state.json
    checkpoints/latest        "epoch-0003"
    checkpoints/best.weights.h5

A checkpoint directory is written under a temporary name and renamed when complete,
and ``latest`` is replaced atomically after it, so a run killed at any instant (even
``kill -9`` during a save) resumes from the last complete epoch.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

LATEST = "latest"
KEEP = 2  # epoch checkpoints kept (plus best)


def _atomic_write(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(ckpt_dir: str, epoch: int, model: Any, state: dict) -> str:
    """Writes ``checkpoints/epoch-NNNN`` for the end of ``epoch`` (1-based) and points
    ``latest`` at it; removes older epochs beyond :data:`KEEP`."""
    os.makedirs(ckpt_dir, exist_ok=True)
    name = f"epoch-{epoch:04d}"
    final = os.path.join(ckpt_dir, name)
    tmp = os.path.join(ckpt_dir, f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    model.save_weights(os.path.join(tmp, "model.weights.h5"))  # optimiser included
    _atomic_write(os.path.join(tmp, "state.json"), json.dumps({**state, "epoch": epoch},
                                                              indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _atomic_write(os.path.join(ckpt_dir, LATEST), name)
    epochs = sorted(d for d in os.listdir(ckpt_dir) if d.startswith("epoch-"))
    for old in epochs[:-KEEP]:
        shutil.rmtree(os.path.join(ckpt_dir, old), ignore_errors=True)
    for leftover in os.listdir(ckpt_dir):  # temporaries of killed saves
        if leftover.startswith(".tmp-") and leftover != os.path.basename(tmp):
            shutil.rmtree(os.path.join(ckpt_dir, leftover), ignore_errors=True)
    return final


def latest(ckpt_dir: str) -> str | None:
    """The newest complete checkpoint directory, or None."""
    pointer = os.path.join(ckpt_dir, LATEST)
    if not os.path.exists(pointer):
        return None
    with open(pointer, encoding="utf-8") as f:
        path = os.path.join(ckpt_dir, f.read().strip())
    return path if os.path.isdir(path) else None


def read_state(path: str) -> dict:
    with open(os.path.join(path, "state.json"), encoding="utf-8") as f:
        return json.load(f)


def restore(path: str, model: Any) -> dict:
    """Loads weights and optimiser state of checkpoint ``path`` into the compiled ``model``;
    returns its state dict (``epoch``, loop state)."""
    if not model.optimizer.built:  # its variables must exist to be loaded
        model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(path, "model.weights.h5"))
    return read_state(path)
