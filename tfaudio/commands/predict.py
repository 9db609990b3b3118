"""``tfaudio predict RUN_OR_SAVEDMODEL FILE...``: top-k labels of audio files (a CREPE
run: each file's pitch track, summarised; ``--json`` gives the frames)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify audio files with a run or exported SavedModel")
    p.add_argument("model", help="run folder, or its export/ SavedModel folder")
    p.add_argument("files", nargs="+", help="audio files (WAV; FLAC/OGG/MP3 with tfaudio[io])")
    p.add_argument("--top-k", type=int, default=3, help="labels to print per file (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.data import AudioDecodeError
    from tfaudio.train import load_served, predict_file

    if args.top_k < 1:
        print(f"tfaudio predict: --top-k {args.top_k}: must be >= 1", file=sys.stderr)
        return 2
    try:
        served = load_served(args.model)
    except (FileNotFoundError, ValueError) as err:
        print(f"tfaudio predict: {err}", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            result = predict_file(served, path, top_k=args.top_k)
        except (FileNotFoundError, AudioDecodeError, ValueError) as err:
            print(f"tfaudio predict: {err}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(result))
            continue
        if served.pitch:  # a CREPE run: the pitch track (CSV and plots: tfaudio pitch)
            median = ("no frame with confidence >= 0.5" if result["median_hz"] is None
                      else f"median f0 {result['median_hz']:.1f} Hz over "
                           f"{result['voiced_frames']} voiced frames")
            print(f"{path} ({result['seconds']:.2f} s, {result['frames']} frames of "
                  f"{result['step_size_ms']:g} ms): {median}")
            continue
        top = ", ".join(f"{label} {p:.3f}" for label, p in result["top"])
        print(f"{path} ({result['seconds']:.2f} s, {result['windows']} window"
              f"{'s' if result['windows'] != 1 else ''}): {top}")
    return status
