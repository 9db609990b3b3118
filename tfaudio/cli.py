"""The ``tfaudio`` command line.

Each sub-command lives in ``tfaudio/commands/<name>.py`` and exposes
``register(subparsers)`` that adds its parser and sets ``func``. Heavy imports
(TensorFlow) happen inside the command functions, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tfaudio._version import __version__

# Sub-command modules, in the order --help lists them.
COMMANDS = [
    "demo",
    "train",
    "tune",
    "evaluate",
    "predict",
    "embed",
    "pitch",
    "generate",
    "enroll",
    "verify",
    "separate",
    "bench",
    "show",
    "make_tfrecords",
    "inspect",
    "synth",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfaudio",
        description="librosa-exact audio layers for Keras 3 / TensorFlow: tools.",
    )
    parser.add_argument("--version", action="version", version=f"tfaudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tfaudio.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"tfaudio.commands.{name}":
                continue  # command not written yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # TensorFlow prints start-up noise (CUDA plugin registration) at import; the
    # commands report their own problems as exceptions or messages.
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
