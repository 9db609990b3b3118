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


# TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with AVX512-VNNI,
# AVX512-BF16 or AMX (Intel Cascade Lake and newer); on others (the 2-core AMD EPYC
# machine of 2026-12-04) they stay off unless this is "1".
# There, a training step of models/separation_small.toml ran 1.68x faster with them
# (171 against 287 ms; inference 1.03x; `tfaudio bench --suite onednn`,
# docs/benchmarks.md). The commands turn them on unless the variable is set already
# ("0" keeps TensorFlow's plain kernels).
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def cpu_defaults(environ: dict | None = None) -> dict:
    """Sets the commands' TensorFlow environment defaults in ``environ`` (default
    ``os.environ``) where the user has not: quiet start-up logs, oneDNN CPU kernels on.
    Takes effect only before TensorFlow is imported. Returns ``environ``."""
    import os

    environ = os.environ if environ is None else environ
    # TensorFlow prints start-up noise (CUDA plugin registration) at import; the
    # commands report their own problems as exceptions or messages.
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environ.setdefault(ONEDNN_ENV, "1")
    return environ


def main(argv: list[str] | None = None) -> int:
    cpu_defaults()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
