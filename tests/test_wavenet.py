"""WaveNet: mu-law facts, receptive field, causal convs, parameter counts, Fast WaveNet
generation equal to the full causal forward at every step, sampling, the naive baseline,
errors, ``.keras`` and SavedModel round trips (models-spec section 6, checks 18-21).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tfaudio import layers as L
from tfaudio.models import WaveNetGenerator, naive_generate, wavenet, wavenet_receptive_field
from tfaudio.models.wavenet import wavenet_config, wavenet_mel, wavenet_waveform

# ibab's test_generation network: 9 layers 1..256, Q = 128, R = D = 16, S = 32.
IBAB = dict(quantization_channels=128, residual_channels=16, dilation_channels=16,
            skip_channels=32, dilations=[2 ** i for i in range(9)])
CONDITIONS = {
    "bias": {},
    "no_bias": {"use_bias": False},
    "global": {"global_condition_classes": 3},
    "local": {"local_condition_channels": 5, "upsample_factors": [2, 4]},
    "global_local_no_bias": {"global_condition_classes": 4, "local_condition_channels": 3,
                             "upsample_factors": [4], "use_bias": False},
    "width3": {"filter_width": 3, "dilations": [1, 2, 4, 8, 16, 32]},
}


def _randomise(model: keras.Model, seed: int = 0, scale: float = 0.2) -> keras.Model:
    """Every weight (biases too) drawn from N(0, scale): nothing is left at zero."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, scale, w.shape).astype("float32"))
    return model


def _inputs(model: keras.Model, codes: np.ndarray, rng: np.random.Generator
            ) -> tuple[list, dict]:
    """The model's inputs for ``codes`` and the generator's matching keywords."""
    c = wavenet_config(model)
    inputs, kw = [codes], {}
    if c["global_condition_classes"]:
        ids = rng.integers(0, c["global_condition_classes"], len(codes)).astype("int32")
        inputs.append(ids)
        kw["class_ids"] = ids
    if c["local_condition_channels"]:
        hop = int(np.prod(c["upsample_factors"]))
        frames = rng.normal(size=(len(codes), codes.shape[1] // hop + 1,
                                  c["local_condition_channels"])).astype("float32")
        inputs.append(frames)
        kw["local_condition"] = frames
    return inputs, kw


def _forward(model, inputs):
    return np.asarray(model(inputs if len(inputs) > 1 else inputs[0]))


# ------------------------------------------------------------------ check 18: mu-law
def test_mu_law_values_of_the_spec():
    x = np.array([[-1.0, 1.0, 0.6, -0.25, 0.01, 0.33, -0.9999, 0.42, 0.1, -0.45]], "float32")
    codes = L.MuLawEncoding()(x).numpy()
    assert codes.tolist() == [[0, 255, 243, 32, 157, 230, 0, 235, 203, 18]]
    assert L.MuLawEncoding()(np.zeros([1, 1], "float32")).numpy().item() == 128
    all_codes = np.arange(256, dtype="int32")[None]
    decoded = L.MuLawDecoding()(all_codes).numpy()
    assert decoded[0, 0] == -1.0 and decoded[0, 255] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(L.MuLawEncoding()(decoded).numpy(), all_codes)
    # Levels 127 / 128 decode to -/+ 8.62e-5: there is no exact zero level.
    assert decoded[0, 127] == pytest.approx(-8.62e-5, rel=1e-3)
    assert decoded[0, 128] == pytest.approx(8.62e-5, rel=1e-3)
    hit = L.MuLawEncoding(123)(np.linspace(-1, 1, 10000, dtype="float32")[None]).numpy()
    assert set(hit.ravel().tolist()) == set(range(123))


# ------------------------------------------------------------------ check 19: receptive field
def test_receptive_field_formula():
    assert wavenet_receptive_field() == 5117
    assert wavenet_receptive_field([2 ** i for i in range(9)]) == 513
    assert wavenet_receptive_field([1, 2, 4], filter_width=3) == 2 * 7 + 1 + 2
    assert wavenet(**IBAB).receptive_field == 513


@pytest.mark.parametrize("kw", [{}, {"filter_width": 3, "dilations": [1, 2, 4, 8, 16]}],
                         ids=["k2_513", "k3_65"])
def test_output_sees_exactly_the_receptive_field(kw):
    # Weights N(0, 0.5): through 9 gated layers the oldest input's effect is 0.018 (k = 2);
    # at N(0, 0.2) it shrinks to 1e-6.
    model = _randomise(wavenet(**{**IBAB, **kw}), scale=0.5)
    rf = model.receptive_field
    t = rf + 40
    codes = np.random.default_rng(1).integers(0, 128, (1, t + 1)).astype("int32")
    base = np.asarray(model(codes))[0, t]

    def changed(position):
        other = codes.copy()
        other[0, position] = (other[0, position] + 37) % 128
        return np.asarray(model(other))[0, t]

    assert np.abs(changed(t - rf + 1) - base).max() > 1e-2  # the oldest input it sees
    np.testing.assert_array_equal(changed(t - rf), base)  # one older: no effect at all
    np.testing.assert_array_equal(changed(0), base)


# ------------------------------------------------------------------ check 20: causal conv
def test_causal_dilated_conv_equals_valid_convolution():
    conv = keras.layers.Conv1D(1, 2, dilation_rate=4, padding="causal", use_bias=False)
    x = np.arange(1, 21, dtype="float32")
    conv.build((None, 20, 1))
    conv.set_weights([np.ones((2, 1, 1), "float32")])
    y = np.asarray(conv(x[None, :, None]))[0, :, 0]
    np.testing.assert_array_equal(y[4:], np.convolve(x, [1, 0, 0, 0, 1], "valid"))
    np.testing.assert_array_equal(y[:4], x[:4])  # zero padding on the left


# ------------------------------------------------------------------ parameter counts
def _expected_params(q=256, r=32, d=32, s=512, dilations=tuple(2 ** i for i in range(10)) * 5,
                     k=2, gc=None, gc_ch=None, lc=None, factors=(), bias=True):
    """The docstring's formula, written out independently of the builder."""
    b, n = int(bias), len(dilations)
    total = k * q * r + n * (2 * (k * r * d + b * d) + d * s + b * s)
    total += (n - 1) * (d * r + b * r) + s * s + b * s + s * q + b * q
    if gc:
        gc_ch = gc_ch or d
        total += gc * gc_ch + n * 2 * gc_ch * d
    if lc:
        total += n * 2 * lc * d + sum(2 * f * lc * lc + b * lc for f in factors)
    return total


def test_parameter_count_of_ibab_defaults():
    model = wavenet()
    assert model.count_params() == _expected_params() == 1_514_912
    assert model.receptive_field == 5117
    assert model.output_shape == (None, None, 256)
    assert model.get_layer("causal_conv").use_bias is False
    assert model.get_layer("layer49_filter").dilation_rate == (512,)
    assert "layer49_dense" not in {lay.name for lay in model.layers}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_parameter_counts(name):
    kw = {**IBAB, **CONDITIONS[name]}
    model = wavenet(**kw)
    expected = _expected_params(
        q=kw["quantization_channels"], r=kw["residual_channels"], d=kw["dilation_channels"],
        s=kw["skip_channels"], dilations=kw["dilations"], k=kw.get("filter_width", 2),
        gc=kw.get("global_condition_classes"), lc=kw.get("local_condition_channels"),
        factors=kw.get("upsample_factors", ()), bias=kw.get("use_bias", True))
    assert model.count_params() == expected
    assert wavenet_config(model) == model.wavenet_config


# ------------------------------------------------------------------ check 21: fast == full
@pytest.mark.parametrize("name", list(CONDITIONS))
def test_fast_generation_equals_full_forward_at_every_step(name):
    """Teacher forcing: the same 1000 random codes fed one by one through the queues give
    the full causal forward's logits at every step (<= 1e-5, float32)."""
    rng = np.random.default_rng(3)
    model = _randomise(wavenet(**{**IBAB, **CONDITIONS[name]}))
    codes = rng.integers(0, 128, (2, 1000)).astype("int32")
    inputs, kw = _inputs(model, codes, rng)
    full = _forward(model, inputs)
    fast = WaveNetGenerator(model, chunk_size=400).teacher_forced_logits(codes, **kw)
    assert fast.shape == full.shape == (2, 1000, 128)
    err = np.abs(fast - full).max()
    assert err <= 1e-5, f"{name}: max |fast - full| = {err:.3g} (logits up to " \
                        f"{np.abs(full).max():.1f})"
    assert np.abs(full).max() > 1.0  # the logits are not trivially small


def test_fast_generation_without_xla_equals_full_forward():
    rng = np.random.default_rng(4)
    model = _randomise(wavenet(**IBAB, global_condition_classes=2))
    codes = rng.integers(0, 128, (1, 600)).astype("int32")
    full = np.asarray(model([codes, np.array([1], "int32")]))
    fast = WaveNetGenerator(model, jit_compile=False).teacher_forced_logits(codes, class_ids=[1])
    assert np.abs(fast - full).max() <= 1e-5


# ------------------------------------------------------------------ sampling
@pytest.fixture(scope="module")
def small():
    return _randomise(wavenet(**IBAB, global_condition_classes=3), seed=5, scale=0.15)


@pytest.fixture(scope="module")
def small_gen(small):
    return WaveNetGenerator(small, chunk_size=128)


def test_generate_is_seeded_and_chunk_free(small, small_gen):
    a = small_gen.generate(300, class_ids=[0, 1, 2], seed=11)
    assert a.shape == (3, 300) and a.dtype == np.int32
    assert a.min() >= 0 and a.max() < 128
    np.testing.assert_array_equal(a, small_gen.generate(300, class_ids=[0, 1, 2], seed=11))
    assert (a != small_gen.generate(300, class_ids=[0, 1, 2], seed=12)).mean() > 0.5
    other_chunks = WaveNetGenerator(small, chunk_size=1000)
    np.testing.assert_array_equal(a, other_chunks.generate(300, class_ids=[0, 1, 2], seed=11))
    wave = small_gen.decode(a)
    assert wave.shape == (3, 300) and np.all(np.abs(wave) <= 1.0)


def test_greedy_generation_follows_the_full_forward(small, small_gen):
    """Temperature 0: every generated code is the argmax of the network's own forward
    pass over the prime and the codes before it; a prime is fed first."""
    prime = np.random.default_rng(6).integers(0, 128, (2, 50)).astype("int32")
    ids = np.array([2, 0], "int32")
    out = small_gen.generate(200, class_ids=ids, temperature=0.0, prime=prime)
    seq = np.concatenate([prime, out], axis=1)
    logits = np.asarray(small([seq, ids]))
    np.testing.assert_array_equal(logits[:, 49:-1].argmax(-1), out)


def test_sampling_follows_the_temperature(small_gen):
    """Hotter sampling spreads the codes: more distinct codes per sequence."""
    cold = small_gen.generate(400, class_ids=[1], temperature=0.3, seed=1)
    hot = small_gen.generate(400, class_ids=[1], temperature=3.0, seed=1)
    assert len(np.unique(hot)) > len(np.unique(cold))


def test_naive_generation_equals_fast_generation(small, small_gen):
    """Naive generation (the network over the last receptive_field codes, from silence)
    picks the same codes as the queues primed with receptive_field silence codes (greedy:
    the two number their random draws differently)."""
    rf = small.receptive_field
    silence = np.full([1, rf], 64, "int32")  # Q // 2
    naive = naive_generate(small, 25, class_ids=[2], temperature=0.0, batch_size=2)
    fast = small_gen.generate(25, class_ids=[2, 2], temperature=0.0, prime=silence)
    assert naive.shape == (2, 25)
    np.testing.assert_array_equal(naive, fast)


# ------------------------------------------------------------------ errors
def test_builder_errors():
    with pytest.raises(ValueError, match="filter_width=1 is out of range"):
        wavenet(**{**IBAB, "filter_width": 1})
    with pytest.raises(ValueError, match="come together"):
        wavenet(**IBAB, local_condition_channels=4)
    with pytest.raises(ValueError, match="come together"):
        wavenet(**IBAB, upsample_factors=[4])
    with pytest.raises(ValueError, match="dilations=\\(\\) is empty"):
        wavenet(**{**IBAB, "dilations": []})
    with pytest.raises(ValueError, match="dilations\\[\\]=0 is out of range"):
        wavenet(**{**IBAB, "dilations": [1, 0]})
    with pytest.raises(TypeError, match="residual_channels must be an integer"):
        wavenet(**{**IBAB, "residual_channels": 1.5})


def test_codes_out_of_range_are_errors(small, small_gen):
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match="codes must be in 0..127"):
        small([np.array([[1, 128]], "int32"), np.array([0], "int32")])
    with pytest.raises(ValueError, match="prime has codes 0..128, outside 0..127"):
        small_gen.generate(10, class_ids=[0], prime=[[0, 128]])
    with pytest.raises(ValueError, match="codes has codes -1..5, outside 0..127"):
        small_gen.teacher_forced_logits([[-1, 5]], class_ids=[0])
    with pytest.raises(TypeError, match="integer mu-law codes"):
        small_gen.generate(10, class_ids=[0], prime=[[0.5]])


def test_conditioning_errors(small_gen):
    with pytest.raises(ValueError, match="pass class_ids"):
        small_gen.generate(10)
    with pytest.raises(ValueError, match="class_ids \\[0, 3\\] outside 0..2"):
        small_gen.generate(10, class_ids=[0, 3])
    with pytest.raises(ValueError, match="no local conditioning"):
        small_gen.generate(10, class_ids=[0], local_condition=np.zeros([1, 4, 3]))
    with pytest.raises(ValueError, match="temperature=-1 is out of range"):
        small_gen.generate(10, class_ids=[0], temperature=-1.0)
    lc = WaveNetGenerator(wavenet(**IBAB, local_condition_channels=5, upsample_factors=[2, 4]))
    with pytest.raises(ValueError, match="pass local_condition"):
        lc.generate(10)
    with pytest.raises(ValueError, match="must be \\(batch, frames, 5\\), got shape \\(1, 4, 3\\)"):
        lc.generate(10, local_condition=np.zeros([1, 4, 3]))
    with pytest.raises(ValueError, match="has 2 frames = 16 samples at hop 8, fewer than the "
                                         "20 samples asked \\(needs >= 3 frames\\)"):
        lc.generate(19, local_condition=np.zeros([1, 2, 5]))
    with pytest.raises(ValueError, match="no global conditioning"):
        lc.generate(10, class_ids=[1], local_condition=np.zeros([1, 4, 5]))


def test_short_local_condition_in_the_model_is_an_error():
    import tensorflow as tf

    model = wavenet(**IBAB, local_condition_channels=5, upsample_factors=[2, 4])
    with pytest.raises(tf.errors.InvalidArgumentError, match="local conditioning is shorter"):
        model([np.zeros([1, 40], "int32"), np.zeros([1, 4, 5], "float32")])
    with pytest.raises(ValueError):  # Keras: the feature axis does not match the input
        model([np.zeros([1, 40], "int32"), np.zeros([1, 6, 4], "float32")])


# ------------------------------------------------------------------ waveform + mel
def test_waveform_model_and_mel_features():
    mel = wavenet_mel(8000, n_mels=20, hop_length=64)
    assert tuple(mel(np.zeros([2, 1000], "float32")).shape) == (2, 1 + 1000 // 64, 20)
    assert np.allclose(np.asarray(mel(np.zeros([1, 640], "float32"))), -50.0 / 40.0)
    net = _randomise(wavenet(**IBAB, global_condition_classes=2, local_condition_channels=20,
                             upsample_factors=[4, 16]), scale=0.1)
    wave = wavenet_waveform(net, mel)
    assert wave.receptive_field == 513
    x = (0.5 * np.sin(np.arange(1000) * 0.05)).astype("float32")[None]
    ids = np.array([1], "int32")
    codes = np.asarray(L.MuLawEncoding(128)(x))
    expected = np.asarray(net([codes, ids, np.asarray(mel(x))]))
    np.testing.assert_allclose(np.asarray(wave([x, ids])), expected, atol=1e-6)
    with pytest.raises(ValueError, match="pass features="):
        wavenet_waveform(net)


# ------------------------------------------------------------------ save / export
def test_keras_round_trip_keeps_generation(tmp_path):
    rng = np.random.default_rng(8)
    model = _randomise(wavenet(**IBAB, global_condition_classes=2, local_condition_channels=3,
                               upsample_factors=[4]), scale=0.1)
    path = str(tmp_path / "wavenet.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    codes = rng.integers(0, 128, (1, 300)).astype("int32")
    inputs, kw = _inputs(model, codes, rng)
    np.testing.assert_allclose(_forward(loaded, inputs), _forward(model, inputs), atol=1e-6)
    assert wavenet_config(loaded) == model.wavenet_config
    a = WaveNetGenerator(model).generate(50, seed=2, **{**kw, "local_condition":
                                                         kw["local_condition"][:, :14]})
    b = WaveNetGenerator(loaded).generate(50, seed=2, **{**kw, "local_condition":
                                                          kw["local_condition"][:, :14]})
    np.testing.assert_array_equal(a, b)


_SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    out = m.generate(tf.constant(150), tf.constant([0, 2], tf.int32), tf.constant(0.9),
                     tf.constant(4, tf.int64))
    print(json.dumps({"codes": out["codes"].numpy().tolist(),
                      "waveform": out["waveform"].numpy().tolist(),
                      "tfaudio": any(k.startswith("tfaudio") for k in sys.modules)}))
""")


def test_export_generates_without_tfaudio(tmp_path, small):
    gen = WaveNetGenerator(small, chunk_size=64)
    export = str(tmp_path / "wavenet_export")
    gen.export(export, sample_rate=8000, labels=["a", "b", "c"])
    info = json.load(open(os.path.join(export, "tfaudio.json")))
    assert info["receptive_field"] == 513 and info["labels"] == ["a", "b", "c"]
    proc = subprocess.run([sys.executable, "-c", _SERVE, export], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not served["tfaudio"]
    expected = gen.generate(150, class_ids=[0, 2], temperature=0.9, seed=4)
    np.testing.assert_array_equal(np.array(served["codes"]), expected)
    np.testing.assert_allclose(np.array(served["waveform"]), gen.decode(expected), atol=1e-6)


def test_bench_suite_quick():
    from tfaudio.benchmarks import wavenet as suite

    rows = suite.run(quick=True)
    fast = [r for r in rows if r["impl"] == "fast (queues)"]
    naive = [r for r in rows if r["impl"] == "naive"]
    assert {r["mode"] for r in fast} == {r["mode"] for r in naive} == {"graph", "xla"}
    assert all(r["items_per_s"] > 0 and r["config"].endswith("batch 1") for r in rows)
    xla = next(r for r in fast if r["mode"] == "xla")
    assert xla["ratio"] > 10  # measured ~1,100x; a loose bound for a loaded machine
