"""``tfaudio separate RUN MIX.wav --out DIR``: one WAV per speaker and a spectrogram PNG."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("separate", help="separate the speakers of an audio file with a "
                                        "separation run (one WAV per speaker + a PNG)")
    p.add_argument("run", help="separation run folder (data.targets = 'separation')")
    p.add_argument("file", help="audio file of a mixture, any length (resampled to the "
                                "run's rate, channels averaged)")
    p.add_argument("--out", required=True, help="folder for <name>_speaker<k>.wav and "
                                                "<name>_separation.png")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.data import AudioDecodeError
    from tfaudio.train.separation import separate_file

    try:
        out = separate_file(args.run, args.file, args.out)
    except (FileNotFoundError, ValueError, AudioDecodeError) as err:
        print(f"tfaudio separate: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['input']} ({out['seconds']:.2f} s): " + ", ".join(out["wavs"]))
    print(f"spectrograms: {out['png']}")
    return 0
