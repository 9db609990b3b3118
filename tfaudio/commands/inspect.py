"""``tfaudio inspect``: print a dataset's manifest and verify every record."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a TFRecord dataset's manifest and verify "
                                       "every record (exit 1 on any problem)")
    p.add_argument("dir", help="dataset folder (with dataset.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.commands.make_tfrecords import summary
    from tfaudio.data.inspect import verify_dataset

    try:
        m, problems = verify_dataset(args.dir, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as err:
        print(f"tfaudio inspect: {err}")
        return 2
    print(summary(m, args.dir))
    print(f"  schema version {m['schema_version']}, seed {m.get('seed')}, splits "
          f"{m.get('split_fractions')}")
    if m["label_vocabulary"]:
        print("  labels: " + ", ".join(m["label_vocabulary"][:50])
              + (" ..." if len(m["label_vocabulary"]) > 50 else ""))
    for split, s in m["splits"].items():
        if s["labels"]:
            print(f"  {split} label counts: " + ", ".join(f"{k} {v}" for k, v in s["labels"].items()))
    if problems:
        print(f"FAILED: {len(problems)} problem(s):")
        for p in problems:
            print(f"  {p}")
        return 1
    n = sum(s["clips"] for s in m["splits"].values())
    print(f"OK: all {n} records parse and match {args.dir}/dataset.json")
    return 0
