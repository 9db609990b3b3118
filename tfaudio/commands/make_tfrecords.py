"""``tfaudio make-tfrecords``: a folder of audio files (or a CSV) -> sharded TFRecords."""

from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "make-tfrecords",
        help="convert a folder of audio files to sharded TFRecords + dataset.json",
        description="Decode audio files (WAV/FLAC/OGG/MP3) and write labelled, split, "
                    "sharded TFRecords with a dataset.json manifest (docs/tfrecord.md). "
                    "By default any unreadable, empty or truncated file stops the run and "
                    "nothing is written; --skip-bad writes the rest and lists the skipped "
                    "files. Leftovers of an interrupted run into OUT are removed.")
    p.add_argument("src", help="source folder")
    p.add_argument("out", help="dataset folder to create")
    lab = p.add_mutually_exclusive_group()
    lab.add_argument("--labels-from-dirs", action="store_true",
                     help="label each file by its first-level sub-folder of SRC")
    lab.add_argument("--manifest", metavar="CSV",
                     help="CSV with path,label[,start_seconds,end_seconds] (paths relative "
                          "to SRC; several labels separated by ';')")
    p.add_argument("--vocab", metavar="FILE",
                   help="class names, one per line; labels outside it are an error")
    p.add_argument("--sample-rate", type=int, default=16000,
                   help="resample to this rate (default 16000; 0 keeps the files' rate)")
    p.add_argument("--mono", action="store_true", help="average the channels")
    shard = p.add_mutually_exclusive_group()
    shard.add_argument("--shards", type=int, metavar="N", help="shards per split")
    shard.add_argument("--shard-size", type=float, metavar="MB",
                       help="target shard size in MB (default 100)")
    p.add_argument("--encoding", choices=["pcm16", "flac", "float32"], default="pcm16")
    p.add_argument("--split", metavar="SPEC", default=None,
                   help="e.g. train=0.8,val=0.1,test=0.1 (default: all train); "
                        "decided by a hash of each file's id, so adding files never "
                        "moves old ones")
    p.add_argument("--seed", type=int, default=0, help="split hash seed")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip unreadable/empty/truncated files (listed in dataset.json) "
                        "instead of failing")
    p.add_argument("--allow-truncated", action="store_true",
                   help="keep the samples a truncated file holds (listed under 'truncated' "
                        "in dataset.json) instead of treating it as bad")
    p.add_argument("--f0-from-csv", action="store_true",
                   help="store each file's f0 track from <stem>.f0.csv beside it "
                        "(time,frequency[,confidence], CREPE's output); files without one "
                        "are written without a track and listed")
    p.add_argument("--f0-min-confidence", type=float, metavar="C", default=None,
                   help="with --f0-from-csv: frames with confidence below C are stored "
                        "unvoiced (default: keep every frequency)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="decoding threads (default: CPU count)")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset in OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.data.sources import BadFilesError, make_tfrecords, read_vocabulary

    vocab = read_vocabulary(args.vocab) if args.vocab else None
    try:
        m = make_tfrecords(
            args.src, args.out, labels_from_dirs=args.labels_from_dirs,
            manifest=args.manifest, vocabulary=vocab,
            sample_rate=args.sample_rate or None, mono=args.mono, num_shards=args.shards,
            shard_size_mb=args.shard_size, encoding=args.encoding, split=args.split,
            seed=args.seed, skip_bad=args.skip_bad, workers=args.workers,
            progress=not args.quiet, overwrite=args.overwrite,
            allow_truncated=args.allow_truncated, f0_from_csv=args.f0_from_csv,
            f0_min_confidence=args.f0_min_confidence)
    except BadFilesError as err:
        print(f"tfaudio make-tfrecords: {err}")
        return 1
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"tfaudio make-tfrecords: {err}")
        return 2
    print(summary(m, args.out))
    return 0


def summary(m: dict, out: str) -> str:
    """Human summary of a manifest (also used by ``tfaudio inspect``)."""
    lines = [f"{out}: {m['total_clips']} clips, {m['total_seconds']:.1f} s at "
             f"{m['sample_rate']} Hz, {m['num_channels']} channel(s), {m['encoding']}, "
             f"{len(m['label_vocabulary'])} classes"]
    for name, s in m["splits"].items():
        lines.append(f"  {name}: {s['clips']} clips in {len(s['shards'])} shard(s), "
                     f"{s['seconds']:.1f} s")
    skipped = m.get("skipped") or []
    lines.append(f"  inputs {m['inputs']} = written {m['total_clips']} + skipped {len(skipped)}")
    for s in skipped:
        lines.append(f"  skipped {s['file']}: {s['reason']}")
    for t in m.get("truncated") or []:
        lines.append(f"  kept truncated {t['file']}: {t['reason']}")
    f0 = m.get("f0")
    if f0:
        missing = f0.get("missing") or []
        lines.append(f"  f0 tracks: {f0['with_track']} of {m['total_clips']} clips; "
                     f"{len(missing)} without a .f0.csv")
        for name in missing[:50]:
            lines.append(f"  no f0 track (no .f0.csv): {name}")
        if len(missing) > 50:
            lines.append(f"  ... and {len(missing) - 50} more (dataset.json: f0.missing)")
    return "\n".join(lines)
