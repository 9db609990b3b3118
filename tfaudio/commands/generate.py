"""``tfaudio generate RUN --seconds 2 --out sample.wav``: audio from a trained WaveNet run."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate audio from a trained WaveNet run (Fast "
                                        "WaveNet: cached queues, one compiled loop)")
    p.add_argument("run", help="run folder written by `tfaudio train` with a WaveNet recipe")
    p.add_argument("--seconds", type=float, default=None,
                   help="length (default 2, or the --mel audio's length)")
    p.add_argument("--out", required=True, metavar="OUT.wav", help="16-bit mono WAV to write")
    p.add_argument("--class", dest="class_", default=None, metavar="K",
                   help="class name or index (runs conditioned on the label)")
    p.add_argument("--mel", default=None, metavar="FROM.wav",
                   help="audio whose log-mel conditions the generation (vocoder runs)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="softmax temperature (default 1; 0 = most likely code)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"tfaudio generate: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.seconds is not None and args.seconds <= 0:
        return _fail(f"--seconds {args.seconds:g}: must be > 0")
    if args.temperature < 0:
        return _fail(f"--temperature {args.temperature:g}: must be >= 0")
    if not args.out.lower().endswith(".wav"):
        return _fail(f"--out {args.out}: expected a .wav path")
    if args.mel is not None and not os.path.isfile(args.mel):
        return _fail(f"--mel {args.mel}: no such file")
    from tqdm import tqdm

    from tfaudio.data import AudioDecodeError
    from tfaudio.train import RunError
    from tfaudio.train.wavenet import generate_from_run, write_wav

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit="sample", unit_scale=True, desc="generate",
                       file=sys.stderr)
        bar.update(done - bar.n)

    try:
        wave, sr, info = generate_from_run(args.run, args.seconds, args.class_, args.mel,
                                           args.temperature, args.seed, progress)
    except (RunError, FileNotFoundError, AudioDecodeError, ValueError) as err:
        return _fail(str(err))
    finally:
        if bar is not None:
            bar.close()
    try:
        write_wav(args.out, wave, sr)
    except Exception as err:  # noqa: BLE001 - any write failure is reported, named
        return _fail(f"cannot write {args.out}: {err}")
    what = f" of class {info['class']}" if info["class"] is not None else ""
    print(f"wrote {args.out}: {info['seconds']:g} s at {sr} Hz{what} "
          f"(temperature {args.temperature:g}, seed {args.seed})")
    return 0
