"""tfaudio: librosa-exact audio layers for Keras 3 / TensorFlow.

``tfaudio.ops`` holds stateless TensorFlow functions, ``tfaudio.layers`` thin Keras
layers over them, ``tfaudio.data`` TFRecord and ``tf.data`` tools, ``tfaudio.models``
model builders, ``tfaudio.train`` recipes, training, evaluation, export and prediction,
``tfaudio.metrics`` evaluation math.
"""

from tfaudio._version import __version__

__all__ = ["__version__", "ops", "layers", "data", "models", "train", "metrics"]


def __getattr__(name: str):
    # Lazy submodules: `import tfaudio` stays cheap (no TensorFlow import) so the CLI's
    # --help and --version answer at once.
    import importlib

    if name in ("ops", "layers", "data", "models", "train", "metrics"):
        return importlib.import_module(f"tfaudio.{name}")
    raise AttributeError(f"module 'tfaudio' has no attribute {name!r}")
