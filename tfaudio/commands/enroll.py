"""``tfaudio enroll RUN SPEAKER FILES... --db voices.npz``: add a speaker's voiceprint."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enroll", help="enrol a speaker from audio files into a voiceprint "
                                      "database, with a speaker run's embeddings")
    p.add_argument("run", help="speaker run folder (data.targets = 'speaker')")
    p.add_argument("speaker", help="the speaker's name (replaced if already enrolled)")
    p.add_argument("files", nargs="+", help="audio files of the speaker (>= 0.5 s each)")
    p.add_argument("--db", required=True, help="voiceprint database (.npz; created if missing)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.data import AudioDecodeError
    from tfaudio.train import RunError
    from tfaudio.train.speaker import Embedder, enroll

    try:
        out = enroll(Embedder.of(args.run), args.speaker, args.files, args.db)
    except (RunError, FileNotFoundError, ValueError, AudioDecodeError) as err:
        print(f"tfaudio enroll: {err}", file=sys.stderr)
        return 2
    how = "replaced" if out["replaced"] else "added"
    print(f"{how} {out['speaker']!r} ({out['files']} files) in {out['db']}: "
          f"{out['speakers']} speakers enrolled")
    return 0
