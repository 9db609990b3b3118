"""``tfaudio evaluate RUN``: score a trained run on a dataset split."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="accuracy, per-class precision/recall/F1 (or mAP) and "
                                        "a confusion PNG of a run on a dataset split (CREPE: "
                                        "RPA/RCA; WaveNet: bits per sample)")
    p.add_argument("run", help="run folder written by `tfaudio train`")
    p.add_argument("--data", default=None, help="dataset folder (default: the run's data)")
    p.add_argument("--split", default="test", help="split to score (default test)")
    p.add_argument("--out", default=None, help="folder for the report and PNG "
                                               "(default <run>/evaluation)")
    p.add_argument("--trials", default=None,
                   help="speaker runs: a VoxCeleb-format trial list ('<1|0> <enroll> <test>'; "
                        "names relative to its folder, or to wav/ beside it); default: the "
                        "data's trials.txt")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.set_defaults(func=run)


def _table(result: dict) -> str:
    if "report" not in result:
        rows = [f"{name:>24}  AP {'-' if ap is None else f'{ap:.3f}'}"
                for name, ap in result["average_precision"].items()]
        return "\n".join(rows + [f"{'mAP':>24}  {result['mAP']:.3f}"])
    rep = result["report"]
    lines = [f"{'class':>24}  precision  recall     f1  support"]
    for row in rep["per_class"]:
        lines.append(f"{row['label']:>24}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                     f"{row['f1']:5.3f}  {row['support']:7d}")
    for avg in ("macro", "weighted"):
        a = rep[avg]
        lines.append(f"{avg + ' avg':>24}  {a['precision']:9.3f}  {a['recall']:6.3f}  "
                     f"{a['f1']:5.3f}  {rep['support']:7d}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tfaudio.train import RunError, evaluate_run
    from tfaudio.train.evaluate import summary_line

    try:
        result = evaluate_run(args.run, args.data, args.split, args.out, args.trials)
    except (RunError, FileNotFoundError, ValueError) as err:
        print(f"tfaudio evaluate: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        if "eer" in result:  # a speaker run: EER / minDCF rows by test-side length
            from tfaudio.train.speaker import table

            print(table(result))
        elif "report" in result or "average_precision" in result:  # classifiers
            print(_table(result))
        elif "per_class" in result:  # WaveNet: bits per sample per class
            for name, bits in result["per_class"].items():
                g = result["generated"].get(name, {})
                peak = f", generated peak {g['peak_hz']:.1f} Hz" if g else ""
                print(f"{name:>24}  {bits:.3f} bits per sample{peak}")
        print(summary_line(result))
    return 0
