"""``tfaudio verify RUN --db voices.npz FILE [--speaker NAME]``: score a file against
enrolled voiceprints and decide at the run's EER threshold."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="score an audio file against enrolled speakers "
                                      "(accept / reject at the run's EER threshold)")
    p.add_argument("run", help="speaker run folder (data.targets = 'speaker')")
    p.add_argument("file", help="audio file to verify (>= 0.5 s)")
    p.add_argument("--db", required=True, help="voiceprint database from `tfaudio enroll`")
    p.add_argument("--speaker", default=None, help="the claimed speaker (default: decide "
                                                   "for the best match)")
    p.add_argument("--threshold", type=float, default=None,
                   help="decision threshold on the cosine score (default: the run's EER "
                        "threshold from its evaluation)")
    p.add_argument("--top", type=int, default=5, help="best-matching speakers to list")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.data import AudioDecodeError
    from tfaudio.train import RunError
    from tfaudio.train.speaker import Embedder, verify

    try:
        if args.top < 1:
            raise ValueError(f"--top {args.top}: must be >= 1")
        out = verify(Embedder.of(args.run), args.db, args.file, args.speaker, args.threshold,
                     args.top)
    except (RunError, FileNotFoundError, ValueError, AudioDecodeError) as err:
        print(f"tfaudio verify: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    who = out["claimed"] or out["best"][0][0]
    if out["accept"] is None:
        decision = "no decision (the run has no EER threshold: evaluate it, or pass --threshold)"
    else:
        decision = (f"{'ACCEPT' if out['accept'] else 'REJECT'} (threshold "
                    f"{out['threshold']:.4f})")
    print(f"{out['file']}: {who} score {out['score']:.4f}: {decision}")
    print("best matches: " + ", ".join(f"{n} {s:.4f}" for n, s in out["best"]))
    return 0
