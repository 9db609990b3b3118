"""WaveNet (van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016):
the network, its receptive field, and the conditioning front ends.

The layer table follows the paper and ibab/tensorflow-wavenet (names are the Keras
layer names, which :class:`~tfaudio.models.wavenet_generate.WaveNetGenerator` reads):

=======================  ==============================================================
``codes``                int32 ``(batch, time)`` mu-law codes ``0 .. Q - 1``
                         (:class:`~tfaudio.layers.MuLawEncoding`; silence is ``Q // 2``)
``one_hot``              one-hot, Q channels (:class:`~tfaudio.layers.OneHot`)
``causal_conv``          causal conv, width ``k``, Q -> R, **no bias** (ibab)
``layer{i}_filter``      per layer ``i`` with dilation ``d``: causal conv, width ``k``,
``layer{i}_gate``        dilation ``d``, R -> D (bias if ``use_bias``); Keras
                         ``padding="causal"`` zero-pads every layer's input on the left
``layer{i}_gc_filter``   global conditioning: ``V^T h`` (1x1, no bias) of the class
``layer{i}_gc_gate``     embedding (``gc_embedding``), added to filter / gate, broadcast
                         over time
``layer{i}_lc_filter``   local conditioning: 1x1 conv (no bias) of the upsampled
``layer{i}_lc_gate``     features ``y = f(h)``, added to filter / gate
gated unit               ``z = tanh(filter) * sigmoid(gate)``
``layer{i}_dense``       1x1, D -> R, added to the layer input (residual; the last layer
                         has none: its output would be unused)
``layer{i}_skip``        1x1, D -> S (skip connection)
``skip_sum``             sum of the skips -> ReLU -> ``postprocess1`` (1x1, S -> S) ->
                         ReLU -> ``postprocess2`` (1x1, S -> Q): logits
``upsample{j}``          local conditioning only: transposed conv, stride
                         ``upsample_factors[j]``, width ``2 * factor``, 'same' padding,
                         frame rate -> audio rate (``prod(upsample_factors)`` = hop);
                         ``lc_trim`` cuts the result to ``time`` samples
=======================  ==============================================================

Receptive field (output ``t`` depends on inputs ``t - rf + 1 .. t`` only):
``rf = (k - 1) * sum(dilations) + 1 + (k - 1)``: 5117 for the defaults (5 x 1..512,
k = 2), 513 for dilations 1..256 (:func:`wavenet_receptive_field`).

Training pairs: the input is the codes, the target at position ``t`` is the code at
``t + 1``; a position has a full receptive field from ``t >= rf - 1`` on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from tfaudio import _checks
from tfaudio import layers as L
from tfaudio.layers.base import register

QUANTIZATION_CHANNELS = 256
DILATIONS = tuple(2 ** i for i in range(10)) * 5  # ibab's default: 5 x (1, 2, ..., 512)
MEL_SCALE_DB = 40.0  # local-conditioning features: dB / 40 (see wavenet_mel)


def wavenet_receptive_field(dilations: Sequence[int] = DILATIONS, filter_width: int = 2) -> int:
    """Samples of input one output of :func:`wavenet` sees: ``(k - 1) * sum(d) + 1 + (k - 1)``.

    The last ``k - 1`` is the initial causal conv (one-hot input, as ibab).

    Example:
        >>> wavenet_receptive_field()
        5117
        >>> wavenet_receptive_field([2 ** i for i in range(9)])
        513
    """
    dilations = _dilations(dilations)
    k = _filter_width(filter_width)
    return (k - 1) * sum(dilations) + 1 + (k - 1)


def _dilations(dilations: Any) -> tuple[int, ...]:
    if isinstance(dilations, (str, bytes)) or not hasattr(dilations, "__iter__"):
        raise TypeError(f"dilations must be a sequence of integers >= 1, got {dilations!r}")
    out = tuple(_checks.positive_int("dilations[]", d) for d in dilations)
    if not out:
        raise ValueError("dilations=() is empty: WaveNet needs at least one dilated layer")
    return out


def _filter_width(filter_width: Any) -> int:
    k = _checks.positive_int("filter_width", filter_width)
    if k < 2:
        raise ValueError(f"filter_width={k} is out of range: it must be >= 2 (a width-1 "
                         "conv sees no past sample)")
    return k


def _factors(upsample_factors: Any) -> tuple[int, ...]:
    if isinstance(upsample_factors, (str, bytes)) or not hasattr(upsample_factors, "__iter__"):
        raise TypeError("upsample_factors must be a sequence of integers >= 1 whose product "
                        f"is the conditioning hop, got {upsample_factors!r}")
    out = tuple(_checks.positive_int("upsample_factors[]", f) for f in upsample_factors)
    if not out:
        raise ValueError("upsample_factors=() is empty: give the strides whose product is the "
                         "hop length of the conditioning frames")
    return out


@register
class TrimToLength(keras.layers.Layer):
    """``x[:, :time]`` with ``time`` the length of a reference: upsampled conditioning cut
    to the audio length.

    Inputs: ``[x (batch, frames * hop, channels), reference (batch, time, ...)]``; a
    conditioning shorter than the reference is an error (``InvalidArgumentError`` in
    eager and graph mode).
    """

    def call(self, inputs):
        import tensorflow as tf

        x, ref = inputs
        n = tf.shape(ref)[1]
        check = tf.debugging.assert_greater_equal(
            tf.shape(x)[1], n, message="local conditioning is shorter than the codes: "
            "it needs frames * prod(upsample_factors) >= time samples")
        with tf.control_dependencies([check]):
            return x[:, :n]

    def compute_output_shape(self, input_shape):
        x, ref = input_shape
        return (x[0], ref[1], x[2])


def wavenet(quantization_channels: int = QUANTIZATION_CHANNELS, residual_channels: int = 32,
            dilation_channels: int = 32, skip_channels: int = 512,
            dilations: Sequence[int] = DILATIONS, filter_width: int = 2,
            global_condition_classes: int | None = None,
            local_condition_channels: int | None = None,
            upsample_factors: Sequence[int] | None = None, use_bias: bool = True,
            global_condition_channels: int | None = None,
            name: str = "wavenet") -> keras.Model:
    """The WaveNet network: mu-law codes [+ conditions] -> next-sample logits.

    Reads like the module's layer table. The defaults are ibab/tensorflow-wavenet's
    (``wavenet_params.json``): Q = 256, R = D = 32, S = 512, 5 x (1..512), k = 2, biases:
    1,514,912 parameters, receptive field 5117. Parameters, with ``b`` = 1 if
    ``use_bias`` else 0 and ``N`` layers::

        k*Q*R                                   causal_conv
        + N * (2*(k*R*D + b*D) + D*S + b*S)     filter, gate, skip
        + (N - 1) * (D*R + b*R)                 residual 1x1 (not in the last layer)
        + S*S + b*S + S*Q + b*Q                 postprocess1, postprocess2
        + classes*G + N*2*G*D                   global conditioning (G channels)
        + N*2*C*D + sum_j (2*f_j*C*C + b*C)     local conditioning (C channels)

    Args:
        quantization_channels: Q, the number of mu-law codes (256: 8 bits).
        residual_channels: R, channels of the residual stream.
        dilation_channels: D, channels of the filter / gate convs.
        skip_channels: S, channels of the skip connections and the output stack.
        dilations: one dilation per layer, e.g. ``(1, 2, ..., 512) * 5``.
        filter_width: k, width of the causal and dilated convs (the paper: 2).
        global_condition_classes: number of classes of a global condition (e.g.
            speakers); adds the input ``class_id`` (int32 ``(batch,)``).
        local_condition_channels: channels of a local condition at a lower rate (e.g.
            ``n_mels`` of :func:`wavenet_mel`); adds the input ``local_condition``
            ``(batch, frames, channels)``, upsampled to the audio rate in the model.
        upsample_factors: strides of the transposed convs (their product is the hop
            of the conditioning frames), with ``local_condition_channels``.
        use_bias: biases in the dilated, 1x1 and output convs (never in
            ``causal_conv`` nor in the conditioning projections, as ibab).
        global_condition_channels: G, the class embedding size (default
            ``dilation_channels``).
        name: model name.

    Returns:
        ``keras.Model``: ``codes`` -> float32 logits ``(batch, time, Q)``; with
        conditions the inputs are the list ``[codes, class_id, local_condition]``
        (those present, in that order). Attributes: ``receptive_field`` (int) and
        ``wavenet_config`` (the arguments as a dict).

    Raises:
        ValueError / TypeError: bad arguments (named), e.g. ``local_condition_channels``
        without ``upsample_factors``.

    Example:
        >>> model = wavenet(residual_channels=16, dilation_channels=16, skip_channels=32,
        ...                 dilations=[1, 2, 4, 8], global_condition_classes=3)
        >>> model.receptive_field
        17
        >>> model([np.full([2, 100], 128, "int32"), np.array([0, 2])]).shape
        TensorShape([2, 100, 256])
    """
    q = _checks.positive_int("quantization_channels", quantization_channels)
    if q < 2:
        raise ValueError(f"quantization_channels={q} is out of range: it must be >= 2")
    r = _checks.positive_int("residual_channels", residual_channels)
    d_ch = _checks.positive_int("dilation_channels", dilation_channels)
    s = _checks.positive_int("skip_channels", skip_channels)
    dils = _dilations(dilations)
    k = _filter_width(filter_width)
    gc_classes = (None if global_condition_classes is None
                  else _checks.positive_int("global_condition_classes", global_condition_classes))
    gc_ch = (None if gc_classes is None else _checks.positive_int(
        "global_condition_channels",
        d_ch if global_condition_channels is None else global_condition_channels))
    if global_condition_channels is not None and gc_classes is None:
        raise ValueError("global_condition_channels needs global_condition_classes")
    lc_ch = (None if local_condition_channels is None
             else _checks.positive_int("local_condition_channels", local_condition_channels))
    if (lc_ch is None) != (upsample_factors is None):
        raise ValueError("local_condition_channels and upsample_factors come together: got "
                         f"local_condition_channels={local_condition_channels!r}, "
                         f"upsample_factors={upsample_factors!r}")
    factors = None if upsample_factors is None else _factors(upsample_factors)
    use_bias = bool(use_bias)

    codes = keras.Input((None,), dtype="int32", name="codes")
    inputs = [codes]
    gc = lc = None
    if gc_classes is not None:
        class_id = keras.Input((), dtype="int32", name="class_id")
        inputs.append(class_id)
        emb = keras.layers.Embedding(gc_classes, gc_ch, name="gc_embedding")(class_id)
        gc = keras.layers.Reshape((1, gc_ch), name="gc_reshape")(emb)  # broadcast over time
    if lc_ch is not None:
        frames = keras.Input((None, lc_ch), name="local_condition")
        inputs.append(frames)
        lc = frames
        for j, f in enumerate(factors):
            lc = keras.layers.Conv1DTranspose(lc_ch, 2 * f, strides=f, padding="same",
                                              use_bias=use_bias, name=f"upsample{j}")(lc)
        lc = TrimToLength(name="lc_trim")([lc, codes])

    x = L.OneHot(q, name="one_hot")(codes)
    h = keras.layers.Conv1D(r, k, padding="causal", use_bias=False, name="causal_conv")(x)
    skips = []
    for i, d in enumerate(dils):
        parts = {}
        for part in ("filter", "gate"):
            y = keras.layers.Conv1D(d_ch, k, dilation_rate=d, padding="causal",
                                    use_bias=use_bias, name=f"layer{i}_{part}")(h)
            terms = [y]
            if gc is not None:
                terms.append(keras.layers.Conv1D(d_ch, 1, use_bias=False,
                                                 name=f"layer{i}_gc_{part}")(gc))
            if lc is not None:
                terms.append(keras.layers.Conv1D(d_ch, 1, use_bias=False,
                                                 name=f"layer{i}_lc_{part}")(lc))
            parts[part] = (keras.layers.Add(name=f"layer{i}_{part}_sum")(terms)
                           if len(terms) > 1 else y)
        z = keras.layers.Multiply(name=f"layer{i}_gated")([
            keras.layers.Activation("tanh", name=f"layer{i}_tanh")(parts["filter"]),
            keras.layers.Activation("sigmoid", name=f"layer{i}_sigmoid")(parts["gate"])])
        skips.append(keras.layers.Conv1D(s, 1, use_bias=use_bias, name=f"layer{i}_skip")(z))
        if i < len(dils) - 1:
            res = keras.layers.Conv1D(r, 1, use_bias=use_bias, name=f"layer{i}_dense")(z)
            h = keras.layers.Add(name=f"layer{i}_residual")([h, res])
    x = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    x = keras.layers.ReLU(name="postprocess1_relu")(x)
    x = keras.layers.Conv1D(s, 1, use_bias=use_bias, name="postprocess1")(x)
    x = keras.layers.ReLU(name="postprocess2_relu")(x)
    logits = keras.layers.Conv1D(q, 1, use_bias=use_bias, dtype="float32",
                                 name="postprocess2")(x)
    model = keras.Model(inputs if len(inputs) > 1 else codes, logits, name=name)
    model.receptive_field = wavenet_receptive_field(dils, k)
    model.wavenet_config = {
        "quantization_channels": q, "residual_channels": r, "dilation_channels": d_ch,
        "skip_channels": s, "dilations": list(dils), "filter_width": k,
        "global_condition_classes": gc_classes, "global_condition_channels": gc_ch,
        "local_condition_channels": lc_ch,
        "upsample_factors": None if factors is None else list(factors), "use_bias": use_bias}
    return model


def wavenet_mel(sample_rate: int, n_mels: int = 80, hop_length: int = 256,
                name: str = "wavenet_mel") -> keras.Model:
    """Local-conditioning features of a waveform: a log-mel spectrogram for :func:`wavenet`.

    ``MelSpectrogram(sample_rate, n_fft=4 * hop, hop, n_mels)`` (centred frames:
    ``1 + time // hop``, frame ``k`` centred on sample ``k * hop``) -> ``PowerToDb(ref=1,
    amin=1e-5, top_db=None)`` (a floor at -50 dB) -> ``/ 40`` so the values sit near
    [-1.25, 1]. Training and generation both use this model, so a vocoder sees the
    same features. Pass ``upsample_factors`` with product ``hop_length`` to
    :func:`wavenet`.

    Returns:
        ``keras.Model``: float32 ``(batch, time)`` -> ``(batch, 1 + time // hop, n_mels)``.

    Example:
        >>> wavenet_mel(16000, 80, 256)(np.zeros([1, 16000], "float32")).shape
        TensorShape([1, 63, 80])
    """
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    n_mels = _checks.positive_int("n_mels", n_mels)
    hop = _checks.positive_int("hop_length", hop_length)
    wave = keras.Input((None,), name="waveform")
    x = L.MelSpectrogram(sample_rate, n_fft=4 * hop, hop_length=hop, n_mels=n_mels,
                         name="mel")(wave)
    x = L.PowerToDb(ref=1.0, amin=1e-5, top_db=None, name="db")(x)
    x = keras.layers.Rescaling(1.0 / MEL_SCALE_DB, name="scale")(x)
    return keras.Model(wave, x, name=name)


def wavenet_waveform(model: keras.Model, features: keras.Model | None = None,
                     name: str | None = None) -> keras.Model:
    """A :func:`wavenet` on waveforms: ``MuLawEncoding`` in front (what training feeds).

    Inputs: float32 waveform ``(batch, time)`` in [-1, 1] [+ ``class_id`` int32
    ``(batch,)`` when the network has global conditioning]. With local conditioning,
    ``features`` (:func:`wavenet_mel`) computes the conditioning from the same
    waveform inside the model. Output: the network's logits ``(batch, time, Q)``;
    logit ``t`` predicts the code of sample ``t + 1``.

    Raises:
        ValueError: the network has local conditioning and ``features`` is missing.
    """
    config = wavenet_config(model)
    wave = keras.Input((None,), name="waveform")
    inputs, net_inputs = [wave], []
    codes = L.MuLawEncoding(config["quantization_channels"], name="mu_law")(wave)
    net_inputs.append(codes)
    if config["global_condition_classes"] is not None:
        class_id = keras.Input((), dtype="int32", name="class_id")
        inputs.append(class_id)
        net_inputs.append(class_id)
    if config["local_condition_channels"] is not None:
        if features is None:
            raise ValueError(f"{model.name} has local conditioning: pass features= (e.g. "
                             "wavenet_mel(...)) to compute it from the waveform")
        net_inputs.append(features(wave))
    out = model(net_inputs if len(net_inputs) > 1 else codes)
    wrapped = keras.Model(inputs if len(inputs) > 1 else wave, out,
                          name=name or f"{model.name}_waveform")
    wrapped.receptive_field = wavenet_receptive_field(config["dilations"],
                                                      config["filter_width"])
    wrapped.wavenet_config = config
    return wrapped


def wavenet_config(model: keras.Model) -> dict:
    """The :func:`wavenet` arguments of a built network, read from its layers (so it also
    works on a model loaded from ``.keras``, or on a :func:`wavenet_waveform` wrapper).

    Raises:
        ValueError: ``model`` is not (and does not contain) a :func:`wavenet` network.
    """
    net = find_wavenet(model)
    names = {layer.name for layer in net.layers}
    dils, i = [], 0
    while f"layer{i}_filter" in names:
        dils.append(int(net.get_layer(f"layer{i}_filter").dilation_rate[0]))
        i += 1
    first = net.get_layer("layer0_filter")
    gc = "gc_embedding" in names
    lc = "layer0_lc_filter" in names
    factors = []
    while f"upsample{len(factors)}" in names:
        factors.append(int(net.get_layer(f"upsample{len(factors)}").strides[0]))
    emb = net.get_layer("gc_embedding") if gc else None
    return {
        "quantization_channels": int(net.get_layer("postprocess2").filters),
        "residual_channels": int(net.get_layer("causal_conv").filters),
        "dilation_channels": int(first.filters),
        "skip_channels": int(net.get_layer("postprocess1").filters),
        "dilations": dils, "filter_width": int(first.kernel_size[0]),
        "global_condition_classes": int(emb.input_dim) if gc else None,
        "global_condition_channels": int(emb.output_dim) if gc else None,
        "local_condition_channels": (int(net.get_layer("layer0_lc_filter").kernel.shape[1])
                                     if lc else None),
        "upsample_factors": factors or None, "use_bias": bool(first.use_bias)}


def find_wavenet(model: keras.Model) -> keras.Model:
    """``model`` itself if it is a :func:`wavenet` network, else the one nested in it."""
    names = {layer.name for layer in model.layers}
    if {"causal_conv", "layer0_filter", "postprocess2"} <= names:
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            try:
                return find_wavenet(layer)
            except ValueError:
                continue
    raise ValueError(f"model {model.name!r} is not a WaveNet (no layers causal_conv, "
                     "layer0_filter, postprocess2): build it with tfaudio.models.wavenet")
