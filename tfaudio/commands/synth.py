"""``tfaudio synth``: write a built-in synthetic TFRecord dataset: labelled sound classes
(``--task classes``, the default) or speakers with a verification trial list
(``--task speakers``)."""

from __future__ import annotations

import argparse

_CLASSES_ONLY = ("classes", "clips_per_class", "split")
_SPEAKERS_ONLY = ("speakers", "test_speakers", "utterances", "min_seconds", "trials",
                  "val_fraction", "no_wavs")


def register(sub: argparse._SubParsersAction) -> None:
    from tfaudio.data.synth import CLASSES

    p = sub.add_parser(
        "synth", help="write a synthetic TFRecord dataset (sound classes, or speakers)",
        description="--task classes (default): synthetic sound classes with random pitch, "
                    "level, onset/offset and light noise, written with splits and "
                    "dataset.json through the same writer as make-tfrecords. Classes: "
                    f"{', '.join(CLASSES)}. Every clip also stores its f0 per 10 ms. "
                    "--task speakers: source-filter voices (glottal pulses with jitter, "
                    "shimmer and breathiness through formant resonators scaled by a "
                    "vocal-tract length) speaking random vowel sequences; the training "
                    "speakers go to train/val, the held-out test speakers to test, with "
                    "their WAVs in wav/ and a VoxCeleb-format trials.txt (half target "
                    "trials). Deterministic for a seed.")
    p.add_argument("out", help="dataset folder to create")
    p.add_argument("--task", choices=["classes", "speakers"], default="classes")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--seconds", type=float, default=None,
                   help="clip length (default 1.0 for classes, 3.0 for speakers; with "
                        "--min-seconds, the longest speaker utterance)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shards", type=int, default=None, metavar="N", help="shards per split")
    p.add_argument("--encoding", choices=["pcm16", "flac", "float32"], default="pcm16")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("--task classes")
    g.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                   help="subset of classes (space or comma separated; default all)")
    g.add_argument("--clips-per-class", type=int, default=None, help="default 100")
    g.add_argument("--split", default=None, help="default train=0.8,val=0.1,test=0.1")
    g = p.add_argument_group("--task speakers")
    g.add_argument("--speakers", type=int, default=None,
                   help="all speakers, training + test (default 120)")
    g.add_argument("--test-speakers", type=int, default=None,
                   help="held-out speakers of the trials (default 20)")
    g.add_argument("--utterances", type=int, default=None,
                   help="utterances per speaker (default 20)")
    g.add_argument("--min-seconds", type=float, default=None,
                   help="draw each utterance's length between this and --seconds")
    g.add_argument("--trials", type=int, default=None, help="trials in trials.txt (default "
                                                             "4000)")
    g.add_argument("--val-fraction", type=float, default=None,
                   help="fraction of each training speaker's utterances in val (default 0.1)")
    g.add_argument("--no-wavs", action="store_true",
                   help="do not write the test speakers' WAVs (trials.txt then names "
                        "clip ids + '.wav')")
    p.set_defaults(func=run)


def _given(args: argparse.Namespace, names) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) not in (None, False)]


def run(args: argparse.Namespace) -> int:
    from tfaudio.commands.make_tfrecords import summary

    other = _SPEAKERS_ONLY if args.task == "classes" else _CLASSES_ONLY
    wrong = _given(args, other)
    if wrong:
        print(f"tfaudio synth: {', '.join(wrong)} do(es) not apply to --task {args.task}")
        return 2
    try:
        if args.task == "classes":
            from tfaudio.data.synth import synth_dataset

            classes = None
            if args.classes:
                classes = [c for item in args.classes for c in item.split(",") if c]
            m = synth_dataset(args.out, classes, args.clips_per_class or 100,
                              args.sample_rate, 1.0 if args.seconds is None else args.seconds,
                              args.seed, args.split or "train=0.8,val=0.1,test=0.1",
                              args.encoding, args.shards, overwrite=args.overwrite,
                              progress=not args.quiet)
        else:
            from tfaudio.data.speakers import synth_speakers

            seconds = 3.0 if args.seconds is None else args.seconds
            if args.min_seconds is not None:
                seconds = (args.min_seconds, seconds)
            kw = {k: v for k, v in (("num_speakers", args.speakers),
                                    ("test_speakers", args.test_speakers),
                                    ("utterances_per_speaker", args.utterances),
                                    ("num_trials", args.trials),
                                    ("val_fraction", args.val_fraction)) if v is not None}
            m = synth_speakers(args.out, seconds=seconds, sample_rate=args.sample_rate,
                               seed=args.seed, write_wavs=not args.no_wavs,
                               encoding=args.encoding, num_shards=args.shards,
                               overwrite=args.overwrite, progress=not args.quiet, **kw)
    except (ValueError, TypeError, FileExistsError) as err:
        print(f"tfaudio synth: {err}")
        return 2
    print(summary(m, args.out))
    if args.task == "speakers":
        gen = m["generator"]
        print(f"  speakers: {gen['train_speakers']} training (labels 0-"
              f"{gen['train_speakers'] - 1}), {gen['test_speakers']} test; "
              f"{gen['num_trials']} trials in {gen['trials']}"
              + (f", test WAVs in {gen['wav_dir']}/" if gen["wav_dir"] else ""))
    return 0
