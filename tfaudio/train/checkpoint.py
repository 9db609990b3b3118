"""Run checkpoints: model weights + optimiser state + loop state, written atomically.

Layout inside a run folder::

    checkpoints/epoch-0003/   model.weights.h5, optimizer.npz, state.json
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

import numpy as np

LATEST = "latest"
KEEP = 2  # epoch checkpoints kept (plus best)


def _atomic_write(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def optimizer_state(optimizer: Any) -> dict[str, np.ndarray]:
    """The optimiser's variables (step counter, moments) by path."""
    return {v.path: np.asarray(v.numpy()) for v in optimizer.variables}


def restore_optimizer(optimizer: Any, model: Any, values: dict[str, np.ndarray]) -> None:
    """Builds ``optimizer`` for ``model`` and assigns saved variables (paths must match)."""
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    current = {v.path: v for v in optimizer.variables}
    missing = sorted(set(current) - set(values))
    extra = sorted(set(values) - set(current))
    if missing or extra:
        raise ValueError("the checkpoint's optimiser state does not fit this model: missing "
                         f"{missing[:5]}, unexpected {extra[:5]}")
    for path, var in current.items():
        var.assign(values[path])


def save(ckpt_dir: str, epoch: int, model: Any, state: dict) -> str:
    """Writes ``checkpoints/epoch-NNNN`` for the end of ``epoch`` (1-based) and points
    ``latest`` at it; removes older epochs beyond :data:`KEEP`."""
    os.makedirs(ckpt_dir, exist_ok=True)
    name = f"epoch-{epoch:04d}"
    final = os.path.join(ckpt_dir, name)
    tmp = os.path.join(ckpt_dir, f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    model.save_weights(os.path.join(tmp, "model.weights.h5"))
    state_arrays = optimizer_state(model.optimizer)
    with open(os.path.join(tmp, "optimizer.npz"), "wb") as f:
        np.savez(f, **{f"v{i}": v for i, v in enumerate(state_arrays.values())},
                 paths=np.array(list(state_arrays), dtype=object))
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
    """Loads weights and optimiser state of checkpoint ``path`` into ``model``; returns
    its state dict (``epoch``, loop state)."""
    model.load_weights(os.path.join(path, "model.weights.h5"))
    with np.load(os.path.join(path, "optimizer.npz"), allow_pickle=True) as z:
        paths = list(z["paths"])
        values = {p: z[f"v{i}"] for i, p in enumerate(paths)}
    restore_optimizer(model.optimizer, model, values)
    return read_state(path)
