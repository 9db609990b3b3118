"""``tfaudio synth``: write the built-in synthetic labelled TFRecord dataset."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from tfaudio.data.synth import CLASSES

    p = sub.add_parser(
        "synth", help="write a synthetic labelled TFRecord dataset (tones, noises, chirps...)",
        description="Synthetic sound classes with random pitch, level, onset/offset and "
                    "light noise, written with splits and dataset.json through the same "
                    f"writer as make-tfrecords. Classes: {', '.join(CLASSES)}. Every clip "
                    "also stores its f0 per 10 ms frame. Deterministic for a seed.")
    p.add_argument("out", help="dataset folder to create")
    p.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                   help="subset of classes (space or comma separated; default all)")
    p.add_argument("--clips-per-class", type=int, default=100)
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train=0.8,val=0.1,test=0.1")
    p.add_argument("--shards", type=int, default=None, metavar="N", help="shards per split")
    p.add_argument("--encoding", choices=["pcm16", "flac", "float32"], default="pcm16")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.commands.make_tfrecords import summary
    from tfaudio.data.synth import synth_dataset

    classes = None
    if args.classes:
        classes = [c for item in args.classes for c in item.split(",") if c]
    try:
        m = synth_dataset(args.out, classes, args.clips_per_class, args.sample_rate,
                          args.seconds, args.seed, args.split, args.encoding, args.shards,
                          overwrite=args.overwrite, progress=not args.quiet)
    except (ValueError, FileExistsError) as err:
        print(f"tfaudio synth: {err}")
        return 2
    print(summary(m, args.out))
    return 0
