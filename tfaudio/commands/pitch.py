"""``tfaudio pitch FILE...``: CREPE pitch tracks as CREPE's ``<stem>.f0.csv`` (and plots)."""

from __future__ import annotations

import argparse
import os
import sys

AUTO = "<auto>"
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pitch", help="CREPE pitch tracking: <file>.f0.csv (time,frequency,"
                                     "confidence), optional salience plot or SavedModel export")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="audio files (WAV; FLAC/OGG/MP3 with tfaudio[io]); any rate, any channels")
    p.add_argument("--model", default="full", metavar="full|tiny|RUN",
                   help="CREPE with published weights (full, tiny; default full) or the "
                        "folder of a CREPE run of `tfaudio train` (data.targets = \"f0\")")
    p.add_argument("--viterbi", action="store_true",
                   help="CREPE's Viterbi decoding instead of the local average")
    p.add_argument("--step-size", type=float, default=10.0, help="ms between frames (default 10)")
    p.add_argument("--batch-size", type=int, default=128,
                   help="frames per forward pass (bounds memory; default 128)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--csv", default=None, metavar="OUT.csv",
                       help="output CSV (one FILE only; default <file stem>.f0.csv beside it)")
    where.add_argument("--out-dir", default=None, metavar="DIR",
                       help="write <file stem>.f0.csv (and plots) into DIR")
    p.add_argument("--plot", nargs="?", const=AUTO, default=None, metavar="OUT.png",
                   help="also write the salience with the f0 track (default path "
                        "<file stem>.activation.png beside the CSV)")
    p.add_argument("--export", default=None, metavar="DIR",
                   help="write a SavedModel serving (batch, time) waveforms -> time, "
                        "frequency, confidence, activation")
    p.add_argument("--sample-rate", type=int, default=16000,
                   help="rate of the waveforms the --export model takes (default 16000)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"tfaudio pitch: {message}", file=sys.stderr)
    return 2


def _check_args(args: argparse.Namespace) -> str | None:
    if args.plot not in (None, AUTO) and not args.plot.lower().endswith(PLOT_SUFFIXES):
        return (f"--plot {args.plot}: expected an image path ({', '.join(PLOT_SUFFIXES)}); "
                "give --plot alone after the files for <file stem>.activation.png")
    if not args.files and args.export is None:
        return "give at least one FILE (or --export DIR)"
    if args.step_size <= 0 or int(16000 * args.step_size / 1000) < 1:
        return f"--step-size {args.step_size:g}: must be >= 0.0625 ms (one sample at 16 kHz)"
    if args.model not in ("full", "tiny") and not os.path.isdir(args.model):
        return (f"--model {args.model}: expected full, tiny or the folder of a CREPE run "
                "of `tfaudio train` (no such folder)")
    if args.batch_size < 1:
        return f"--batch-size {args.batch_size}: must be >= 1"
    if args.sample_rate < 1:
        return f"--sample-rate {args.sample_rate}: must be >= 1"
    if len(args.files) > 1 and args.csv is not None:
        return f"--csv {args.csv} takes one FILE, got {len(args.files)}: use --out-dir"
    if len(args.files) > 1 and args.plot not in (None, AUTO):
        return f"--plot {args.plot} takes one FILE, got {len(args.files)}: use --plot alone"
    if args.out_dir is not None and os.path.exists(args.out_dir) \
            and not os.path.isdir(args.out_dir):
        return f"--out-dir {args.out_dir}: exists and is not a folder"
    return None


def _run_frame_model(run_dir: str):
    """The trained CREPE frame model of a ``tfaudio train`` run folder."""
    from tfaudio.train.run import RunError, load_run_model

    try:
        model, recipe, _ = load_run_model(run_dir)
    except RunError as err:
        raise ValueError(str(err)) from err
    if recipe.model.name != "crepe":
        raise ValueError(f"the run trained {recipe.model.name!r}, not CREPE (model.name = "
                         "\"crepe\"); give full, tiny or a CREPE run folder")
    return model.get_layer("crepe").layer


def run(args: argparse.Namespace) -> int:
    problem = _check_args(args)
    if problem:
        return _fail(problem)
    from tfaudio.data import AudioDecodeError
    from tfaudio.models.crepe_predict import (
        export_pitch_model,
        f0_csv_name,
        pitch_file,
        pitch_frame_model,
        write_f0_csv,
    )

    try:
        frame_model = pitch_frame_model(_run_frame_model(args.model)
                                        if os.path.isdir(args.model) else args.model)
    except (ModuleNotFoundError, FileNotFoundError, ValueError) as err:
        return _fail(f"--model {args.model}: {err}")
    if args.export is not None:
        try:
            export_pitch_model(args.export, frame_model, args.sample_rate, args.step_size)
        except OSError as err:
            return _fail(f"--export {args.export}: {err}")
        print(f"wrote {args.export}: SavedModel 'serve' ({args.model}, {args.sample_rate} Hz "
              f"waveforms, {args.step_size:g} ms frames)")
    if args.out_dir is not None:
        os.makedirs(args.out_dir, exist_ok=True)
    status = 0
    for path in args.files:
        try:
            time, frequency, confidence, activation = pitch_file(
                path, frame_model, viterbi=args.viterbi, step_size=args.step_size,
                batch_size=args.batch_size)
        except (FileNotFoundError, AudioDecodeError, ValueError) as err:
            status = _fail(str(err) if path in str(err) else f"{path}: {err}")
            continue
        out = args.csv or f0_csv_name(path, args.out_dir)
        try:
            write_f0_csv(out, time, frequency, confidence)
        except OSError as err:
            status = _fail(f"{path}: cannot write {out}: {err}")
            continue
        voiced = frequency[confidence >= 0.5]
        median = f"median {float(sorted(voiced)[len(voiced) // 2]):.1f} Hz" if len(voiced) \
            else "no frame with confidence >= 0.5"
        print(f"{path}: {len(time)} frames -> {out} ({median})")
        if args.plot is not None:
            from tfaudio.plot import save_pitch_salience

            png = args.plot if args.plot != AUTO else \
                out[:-len(".f0.csv")] + ".activation.png" if out.endswith(".f0.csv") \
                else os.path.splitext(out)[0] + ".activation.png"
            try:
                save_pitch_salience(png, activation, time, frequency, confidence,
                                    title=f"{os.path.basename(path)}: CREPE {args.model}"
                                          f"{' (Viterbi)' if args.viterbi else ''}")
            except (OSError, ImportError) as err:
                status = _fail(f"--plot {png}: {err}")
                continue
            print(f"wrote {png}")
    return status
