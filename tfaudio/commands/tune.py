"""``tfaudio tune RECIPE``: search a recipe's ``[tune]`` space with keras-tuner."""

from __future__ import annotations

import argparse
import os
import sys

ALGORITHMS = ("random", "bayesian", "hyperband")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune", help="search a recipe's [tune] space (front end, augmentation, model, "
                     "optimiser) with keras-tuner",
        description="Runs a keras-tuner search (random, bayesian or hyperband) over the "
                    "recipe keys named in its [tune] table; every trial is a `tfaudio train` "
                    "run in OUT/trials/<id>. Writes OUT/tune.json (one row per trial) and "
                    "OUT/best.toml (the best trial's recipe: `tfaudio train OUT/best.toml` "
                    "reproduces it). Rerunning with the same --out continues the search.")
    p.add_argument("recipe", help="recipe file with a [tune] table, e.g. models/vggish_small.toml")
    p.add_argument("--data", default=None, help="dataset folder (tfaudio make-tfrecords / "
                   "synth); default [data] path, else synthetic data written into OUT/data")
    p.add_argument("--out", default=None, help="search folder (default runs/<name>-tune)")
    p.add_argument("--trials", type=int, default=None, help="override [tune] trials")
    p.add_argument("--algorithm", default=None, choices=ALGORITHMS,
                   help="override [tune] algorithm")
    p.add_argument("--epochs", type=int, default=None,
                   help="override [tune] epochs (per trial; hyperband: the most)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set data.synth_clips_per_class=40 or "
                        "--set tune.model.width=[0.125,0.25] (repeatable)")
    p.add_argument("--quiet", action="store_true",
                   help="one line per trial start and end, no training output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfaudio.train import RecipeError, RunError, load_recipe

    try:
        for name in ("trials", "epochs"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise RecipeError(f"--{name} {value}: must be >= 1")
        recipe = load_recipe(args.recipe, args.set)
        if recipe.tune is None:
            raise RecipeError(f"{args.recipe}: no [tune] table: nothing to tune (add e.g. "
                              "[tune.model] width = [0.125, 0.25]; see "
                              "models/vggish_small.toml)")
        try:
            from tfaudio.train.tune import tune
        except ImportError as err:
            raise RecipeError(f"tfaudio tune needs keras-tuner ({err}); install it with "
                              "pip install 'tfaudio[tune]'") from err

        out = args.out or os.path.join("runs", f"{recipe.name}-tune")
        result = tune(recipe, data_dir=args.data, run_dir=out, trials=args.trials,
                      algorithm=args.algorithm, epochs=args.epochs,
                      verbose=1 if args.quiet else 2)
    except (RecipeError, RunError, FileNotFoundError, ValueError) as err:
        print(f"tfaudio tune: {err}", file=sys.stderr)
        return 2
    if result["best"] is None:
        print(f"done: {out}: no trial completed (see {os.path.join(out, 'tune.json')})")
        return 1
    print(f"done: {out} ({len(result['trials'])} trials); train the best with "
          f"`tfaudio train {result['best_recipe']}`")
    return 0
