"""Training: recipe (TOML) -> data + model + callbacks -> evaluate -> export.

Used by the ``train`` / ``evaluate`` / ``predict`` / ``embed`` commands, and one call away from
Python::

    from tfaudio.train import load_recipe, train
    summary = train(load_recipe("models/vggish_small.toml"), run_dir="runs/small")
"""

from tfaudio.train.embed import embed_files, pca_fit
from tfaudio.train.evaluate import evaluate_run
from tfaudio.train.predict import load as load_served
from tfaudio.train.predict import predict_file
from tfaudio.train.recipe import Recipe, RecipeError
from tfaudio.train.recipe import load as load_recipe
from tfaudio.train.run import RunError, is_run, load_run_model, train

__all__ = ["Recipe", "RecipeError", "RunError", "embed_files", "evaluate_run", "is_run",
           "load_recipe", "load_run_model", "load_served", "pca_fit", "predict_file", "train"]
