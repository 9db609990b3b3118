"""``tfaudio train RECIPE``: train a recipe's model from TFRecords into a run folder."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model from a TOML recipe (models/*.toml) and TFRecords",
        description="Trains the recipe's model, checkpointing every epoch; at the end "
                    "evaluates on the test split (report + confusion PNG) and exports a "
                    "SavedModel that serves raw waveforms. Without --data (and no [data] "
                    "path) it first writes the built-in synthetic dataset.")
    p.add_argument("recipe", help="recipe file, e.g. models/vggish_small.toml")
    p.add_argument("--data", default=None, help="dataset folder (tfaudio make-tfrecords / synth)")
    p.add_argument("--out", default=None, help="run folder (default runs/<recipe name>)")
    p.add_argument("--epochs", type=int, default=None, help="override [train] epochs")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set model.width=0.5 (repeatable)")
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default=None,
                   help="override [train] strategy: one device, MirroredStrategy over the "
                        "local devices, or MultiWorkerMirroredStrategy from TF_CONFIG")
    p.add_argument("--cpu-replicas", type=int, default=0, metavar="N",
                   help="with --strategy mirrored and no GPU: mirror over N logical CPU "
                        "devices (testing distributed training on one machine)")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.train import RecipeError, RunError, load_recipe, train
    from tfaudio.train.distribute import DistributeError

    try:
        recipe = load_recipe(args.recipe, args.set)
        if args.epochs is not None and args.epochs < 1:
            raise RecipeError(f"--epochs {args.epochs}: must be >= 1")
        if args.cpu_replicas < 0:
            raise RecipeError(f"--cpu-replicas {args.cpu_replicas}: must be >= 0")
        out = args.out or os.path.join("runs", recipe.name)
        summary = train(recipe, data_dir=args.data, run_dir=out, epochs=args.epochs,
                        resume=args.resume, verbose=2 if args.quiet else 1,
                        strategy=args.strategy, cpu_replicas=args.cpu_replicas)
    except (RecipeError, RunError, DistributeError, FileNotFoundError, ValueError) as err:
        print(f"tfaudio train: {err}", file=sys.stderr)
        return 2
    if not summary.get("chief", True):
        print(f"worker {summary['worker']} of {summary['workers']} done "
              f"({summary['epochs_run']} epochs); the chief writes {out}")
        return 0
    test = summary.get("test", {})
    score = (f"test accuracy {test['accuracy']:.3f}" if "accuracy" in test
             else f"test mAP {test['mAP']:.3f}" if "mAP" in test
             else f"test RPA {test['rpa']:.3f}, RCA {test['rca']:.3f}" if test.get("rpa")
             is not None
             else f"test {test['bits_per_sample']:.3f} bits per sample"
             if "bits_per_sample" in test
             else f"test EER {100 * test['eer']:.2f} % on {test['trials']} trials" if "eer" in test
             else f"test SI-SDRi {test['si_sdri']:.2f} dB on {test['mixtures']} mixtures"
             if "si_sdri" in test
             else "no test split")
    use = (f"its export serves pitch activations: {out}/export (see tfaudio.json)"
           if recipe.data.targets == "f0" else
           f"generate with `tfaudio generate {out} --seconds 2 --out sample.wav`"
           if recipe.data.targets == "audio" else
           f"enrol and verify with `tfaudio enroll {out} ...` / `tfaudio verify {out} ...`"
           if recipe.data.targets == "speaker" else
           f"separate a file with `tfaudio separate {out} MIX.wav --out DIR`"
           if recipe.data.targets == "separation" else
           f"serve it with `tfaudio predict {out} FILE...`" if recipe.data.format == "audio"
           else f"its export serves embeddings: {out}/export (see tfaudio.json)")
    if not summary.get("export"):
        use = "not exported (train.export = false)"
    print(f"done: {out} ({summary['epochs_run']} epochs, {score}); {use}")
    return 0
