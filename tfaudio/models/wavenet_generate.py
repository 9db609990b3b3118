"""WaveNet generation: Fast WaveNet's cached queues in one compiled graph, the naive
baseline, and a SavedModel export that generates without tfaudio.

Fast WaveNet (Paine et al. 2016): a dilated layer with dilation ``d`` and width ``k``
needs, at step ``t``, its own inputs at ``t - d, ..., t - (k - 1) d``. They are kept in
queues initialised with zeros: exactly Keras ``padding="causal"``, which zero-pads every
layer's input (not the same as feeding leading silence: silence is code ``Q // 2``,
whose one-hot and biases make hidden states nonzero). All layers share one ring buffer
``(M, layers, batch, R)`` with ``M = (k - 1) * max(d)`` slots: step ``t`` writes every
layer's input into slot ``t mod M`` at once and layer ``i`` reads slots
``(t - j d_i) mod M``; one stacked write per step is done in place under XLA, where
per-layer buffers were copied whole every step (4 MB per step at batch 16 for 2 x
1..512). A step costs O(layers), not O(receptive field):

=================  ===============================================================
per step ``t``     input code ``x_t`` -> ``causal_conv`` over the last ``k`` codes
                   (a length ``k - 1`` queue of codes, ``-1`` = padding) -> per layer:
                   read ``h_{t-(k-1)d} .. h_{t-d}`` from the queue, one matmul for
                   filter and gate (+ the class term, computed once per sequence, +
                   the 1x1 of the local condition at ``t``), ``tanh * sigmoid``, one
                   matmul for residual and skip, write ``h_t`` to the queue -> skips
                   -> ReLU, 1x1, ReLU, 1x1 -> logits for ``x_{t+1}``
next code          the prime's next code while priming, else a draw from
                   ``softmax(logits / temperature)`` (Gumbel-max with
                   ``tf.random.stateless_uniform``, seed ``(seed, t)``: chunking does
                   not change the draws); temperature 0 = argmax
=================  ===============================================================

The whole loop is one ``tf.while_loop`` in a ``tf.function`` (XLA-compiled by
default), run in chunks of ``chunk_size`` steps so a caller can show progress; the
state (queues, step, last code) passes from chunk to chunk.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfaudio import _checks
from tfaudio.models.wavenet import find_wavenet, wavenet_config, wavenet_receptive_field

DEFAULT_CHUNK = 4000


class _Functions:
    """A plain holder of a generator's compiled loops (tf.Module tracks dict attributes,
    and a dict keyed by tuples cannot be saved)."""

    def __init__(self):
        self.loops: dict = {}


def _np(variable: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), np.float32)


class WaveNetGenerator(tf.Module):
    """Incremental (Fast WaveNet) generation from a :func:`~tfaudio.models.wavenet` network.

    The weights are copied from ``model`` when the generator is made (later training
    of ``model`` does not change it); layers are found by their names, so a model
    loaded from ``.keras`` or wrapped by :func:`~tfaudio.models.wavenet_waveform` works.
    Any ``filter_width >= 2`` is supported (``(k - 1) d`` past states per layer).

    Args:
        model: a :func:`~tfaudio.models.wavenet` network (or a model containing one).
        jit_compile: XLA-compile the generation loop (default; several times faster
            on a CPU than the plain graph).
        chunk_size: steps per compiled call of the loop (progress is reported per
            chunk; a run shorter than one chunk is compiled for its own length).

    Example:
        >>> net = wavenet(residual_channels=16, dilation_channels=16, skip_channels=32,
        ...               dilations=[1, 2, 4, 8], global_condition_classes=3)
        >>> gen = WaveNetGenerator(net)
        >>> codes = gen.generate(1000, class_ids=[0, 2], temperature=1.0, seed=7)
        >>> codes.shape, gen.decode(codes).shape
        ((2, 1000), (2, 1000))
    """

    def __init__(self, model: keras.Model, jit_compile: bool = True,
                 chunk_size: int = DEFAULT_CHUNK, name: str | None = None):
        super().__init__(name=name or "wavenet_generator")
        net = find_wavenet(model)
        c = wavenet_config(net)
        self.config = c
        self.jit_compile = bool(jit_compile)
        self.chunk_size = _checks.positive_int("chunk_size", chunk_size)
        self.quantization_channels = q = c["quantization_channels"]
        self.filter_width = k = c["filter_width"]
        self.dilations = tuple(c["dilations"])
        self.receptive_field = wavenet_receptive_field(self.dilations, k)
        r, d, s = c["residual_channels"], c["dilation_channels"], c["skip_channels"]
        n = len(self.dilations)
        layer = net.get_layer

        def bias(lay: Any, size: int) -> np.ndarray:
            return _np(lay.bias) if lay.use_bias else np.zeros([size], np.float32)

        def var(value: np.ndarray, what: str) -> tf.Variable:
            return tf.Variable(value, trainable=False, name=what)

        self.causal = var(_np(layer("causal_conv").kernel).reshape(k * q, r), "causal_conv")
        gate_w, gate_b, out_w, out_b = [], [], [], []
        for i in range(n):
            f, g = layer(f"layer{i}_filter"), layer(f"layer{i}_gate")
            # Conv1D kernel (k, R, D): tap 0 multiplies x[t - (k-1) d], tap k-1 x[t], so
            # the reshape to (k R, D) matches concat([x[t - (k-1) d], ..., x[t]]).
            gate_w.append(var(np.concatenate([_np(f.kernel).reshape(k * r, d),
                                              _np(g.kernel).reshape(k * r, d)], axis=1),
                              f"layer{i}_filter_gate"))
            gate_b.append(var(np.concatenate([bias(f, d), bias(g, d)]), f"layer{i}_bias"))
            skip = layer(f"layer{i}_skip")
            w, b = [_np(skip.kernel)[0]], [bias(skip, s)]
            if i < n - 1:
                dense = layer(f"layer{i}_dense")
                w.insert(0, _np(dense.kernel)[0])
                b.insert(0, bias(dense, r))
            out_w.append(var(np.concatenate(w, axis=1), f"layer{i}_residual_skip"))
            out_b.append(var(np.concatenate(b), f"layer{i}_residual_skip_bias"))
        self.gate_w, self.gate_b, self.out_w, self.out_b = gate_w, gate_b, out_w, out_b
        p1, p2 = layer("postprocess1"), layer("postprocess2")
        self.post1 = var(_np(p1.kernel)[0], "postprocess1")
        self.post1_b = var(bias(p1, s), "postprocess1_bias")
        self.post2 = var(_np(p2.kernel)[0], "postprocess2")
        self.post2_b = var(bias(p2, q), "postprocess2_bias")
        self.num_classes = c["global_condition_classes"]
        if self.num_classes is not None:
            self.gc_table = var(_np(layer("gc_embedding").embeddings), "gc_embedding")
            self.gc_w = var(np.concatenate(
                [np.concatenate([_np(layer(f"layer{i}_gc_filter").kernel)[0],
                                 _np(layer(f"layer{i}_gc_gate").kernel)[0]], axis=1)
                 for i in range(n)], axis=1), "gc_filter_gate")  # (G, N * 2D)
        self.lc_channels = c["local_condition_channels"]
        if self.lc_channels is not None:
            self.lc_w = var(np.concatenate(
                [np.concatenate([_np(layer(f"layer{i}_lc_filter").kernel)[0],
                                 _np(layer(f"layer{i}_lc_gate").kernel)[0]], axis=1)
                 for i in range(n)], axis=1), "lc_filter_gate")  # (C, N * 2D)
            self.upsample_factors = tuple(c["upsample_factors"])
            self.hop_length = int(np.prod(self.upsample_factors))
            self.up_w = [var(_np(layer(f"upsample{j}").kernel), f"upsample{j}")
                         for j in range(len(self.upsample_factors))]
            self.up_b = [var(bias(layer(f"upsample{j}"), self.lc_channels), f"upsample{j}_b")
                         for j in range(len(self.upsample_factors))]
        # One queue for all layers: (M, layers, batch, R), M = (k - 1) * max(d) slots; layer
        # i reads slots (t - j d_i) mod M, j = k-1 .. 1 (oldest first).
        self.queue_length = (k - 1) * max(self.dilations)
        self._lags = tf.constant([j * dd for dd in self.dilations for j in range(k - 1, 0, -1)],
                                 tf.int32)
        self._layer_index = tf.constant([i for i in range(n) for _ in range(k - 1)], tf.int32)
        self._cache = _Functions()  # compiled loops; not tracked (not saved as such)

    # ------------------------------------------------------------------ checks
    def _codes(self, codes: Any, what: str) -> np.ndarray:
        x = np.asarray(codes)
        if x.dtype.kind not in "iu":
            raise TypeError(f"{what} must be integer mu-law codes, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.quantization_channels):
            raise ValueError(f"{what} has codes {int(x.min())}..{int(x.max())}, outside "
                             f"0..{self.quantization_channels - 1} (quantization_channels="
                             f"{self.quantization_channels})")
        return x.astype(np.int32)

    def _class_ids(self, class_ids: Any, batch: int | None) -> tuple[np.ndarray | None, int]:
        if self.num_classes is None:
            if class_ids is not None:
                raise ValueError("class_ids given, but the WaveNet has no global conditioning "
                                 "(built without global_condition_classes)")
            return None, batch or 1
        if class_ids is None:
            raise ValueError(f"the WaveNet is conditioned on {self.num_classes} classes: "
                             "pass class_ids, one per sequence")
        ids = np.atleast_1d(np.asarray(class_ids))
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"class_ids must be integers, one per sequence, got {class_ids!r}")
        if ids.min() < 0 or ids.max() >= self.num_classes:
            raise ValueError(f"class_ids {ids.tolist()} outside 0..{self.num_classes - 1} "
                             f"(global_condition_classes={self.num_classes})")
        if batch is not None and len(ids) != batch:
            if len(ids) != 1:
                raise ValueError(f"class_ids has {len(ids)} ids for a batch of {batch}")
            ids = np.repeat(ids, batch)
        return ids.astype(np.int32), len(ids)

    def _local(self, local_condition: Any, batch: int, steps: int) -> np.ndarray | None:
        if self.lc_channels is None:
            if local_condition is not None:
                raise ValueError("local_condition given, but the WaveNet has no local "
                                 "conditioning (built without local_condition_channels)")
            return None
        if local_condition is None:
            raise ValueError(f"the WaveNet is locally conditioned: pass local_condition "
                             f"(batch, frames, {self.lc_channels}) features (wavenet_mel)")
        x = np.asarray(local_condition, np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.lc_channels:
            raise ValueError(f"local_condition must be (batch, frames, {self.lc_channels}), "
                             f"got shape {np.shape(local_condition)}")
        if x.shape[0] != batch:
            if x.shape[0] != 1:
                raise ValueError(f"local_condition has batch {x.shape[0]}, the generation "
                                 f"{batch}")
            x = np.repeat(x, batch, axis=0)
        if x.shape[1] * self.hop_length < steps:
            raise ValueError(
                f"local_condition has {x.shape[1]} frames = {x.shape[1] * self.hop_length} "
                f"samples at hop {self.hop_length}, fewer than the {steps} samples asked "
                f"(needs >= {-(-steps // self.hop_length)} frames)")
        return x

    # ------------------------------------------------------------------ graph pieces
    def upsample(self, frames: Any) -> tf.Tensor:
        """The network's transposed-conv upsampling: ``(batch, frames, C)`` ->
        ``(batch, frames * hop, C)`` (equal to its ``upsample{j}`` layers)."""
        x = tf.convert_to_tensor(frames, tf.float32)
        for w, b, f in zip(self.up_w, self.up_b, self.upsample_factors, strict=True):
            shape = tf.shape(x)
            x = tf.nn.conv_transpose(x, w, tf.stack([shape[0], shape[1] * f, self.lc_channels]),
                                     f, padding="SAME") + b
        return x

    def _gate_bias(self, class_ids: Any) -> list:
        """Per layer ``(batch or 1, 2D)``: the filter/gate bias plus the class term."""
        n, two_d = len(self.dilations), 2 * self.config["dilation_channels"]
        if class_ids is None:
            return [b[None] for b in self.gate_b]
        emb = tf.gather(self.gc_table, class_ids)
        terms = tf.reshape(tf.matmul(emb, self.gc_w), [-1, n, two_d])
        return [terms[:, i] + self.gate_b[i] for i in range(n)]

    def _initial_state(self, batch: int) -> tuple:
        r, k = self.config["residual_channels"], self.filter_width
        prev = -tf.ones([batch, k - 1], tf.int32)  # -1: before the start (zero one-hot)
        queue = tf.zeros([self.queue_length, len(self.dilations), batch, r])
        return tf.constant(0, tf.int32), prev, queue

    def _step(self, t, x, prev, queue, gate_bias, lc_t):
        """One sample: input code ``x`` at step ``t`` -> logits for ``t + 1`` and the new
        queue."""
        q, k = self.quantization_channels, self.filter_width
        d_ch = self.config["dilation_channels"]
        r = self.config["residual_channels"]
        n = len(self.dilations)
        window = tf.concat([prev, x[:, None]], axis=1)  # (batch, k): oldest first
        onehot = tf.reshape(tf.one_hot(window, q), [-1, k * q])
        h = tf.matmul(onehot, self.causal)
        # Every layer's past inputs in one gather: slot (t - j d_i) mod M of layer i.
        past = tf.gather_nd(queue, tf.stack([tf.math.floormod(t - self._lags, self.queue_length),
                                             self._layer_index], axis=1))  # (N (k-1), b, R)
        lc_terms = None if lc_t is None else tf.matmul(lc_t, self.lc_w)  # (batch, N * 2D)
        skip = 0.0
        inputs = []
        for i in range(n):
            inputs.append(h)
            taps = [past[i * (k - 1) + j] for j in range(k - 1)]  # oldest first
            fg = tf.matmul(tf.concat([*taps, h], axis=1), self.gate_w[i]) + gate_bias[i]
            if lc_terms is not None:
                fg = fg + lc_terms[:, i * 2 * d_ch:(i + 1) * 2 * d_ch]
            z = tf.tanh(fg[:, :d_ch]) * tf.sigmoid(fg[:, d_ch:])
            out = tf.matmul(z, self.out_w[i]) + self.out_b[i]
            if i < n - 1:
                h = h + out[:, :r]
                skip = skip + out[:, r:]
            else:
                skip = skip + out
        # Every layer's input at t into slot t mod M: one contiguous write, done in place
        # (one stacked queue; per-layer queues were copied whole every step under XLA).
        queue = tf.tensor_scatter_nd_update(
            queue, tf.reshape(tf.math.floormod(t, self.queue_length), [1, 1]),
            tf.stack(inputs)[None])
        y = tf.nn.relu(tf.matmul(tf.nn.relu(skip), self.post1) + self.post1_b)
        logits = tf.matmul(y, self.post2) + self.post2_b
        return logits, window[:, 1:], queue

    def _loop(self, steps: int, record: str) -> Callable:
        """A compiled ``(state, prime, class_ids, lc, temperature, seed) -> (state, out)``
        that runs ``steps`` steps (cached per ``steps`` and ``record``)."""
        key = (steps, record)
        if key in self._cache.loops:
            return self._cache.loops[key]

        def run(t0, x0, prev, queue, prime, class_ids, lc, temperature, seed):
            gate_bias = self._gate_bias(class_ids)
            n_prime = tf.shape(prime)[1]
            batch = tf.shape(x0)[0]
            size = [batch, self.quantization_channels] if record == "logits" else [batch]
            ta = tf.TensorArray(tf.float32 if record == "logits" else tf.int32, size=steps,
                                element_shape=None)

            def body(i, t, x, prev, queue, ta):
                # Steps past the end of a last, partly used chunk read the last column.
                lc_t = None if lc is None else tf.gather(
                    lc, tf.minimum(t, tf.shape(lc)[1] - 1), axis=1)
                logits, prev, queue = self._step(t, x, prev, queue, gate_bias, lc_t)
                if record == "logits":
                    ta = ta.write(i, tf.reshape(logits, size))
                    nxt = tf.gather(prime, tf.minimum(t + 1, n_prime - 1), axis=1)
                else:
                    sampled = sample(logits, temperature, seed, t)
                    forced = tf.gather(prime, tf.minimum(t + 1, n_prime - 1), axis=1)
                    nxt = tf.where(t + 1 < n_prime, forced, sampled)
                    ta = ta.write(i, nxt)
                return i + 1, t + 1, nxt, prev, queue, ta

            _, t, x, prev, queue, ta = tf.while_loop(
                lambda i, *_: i < steps, body, (tf.constant(0), t0, x0, prev, queue, ta),
                maximum_iterations=steps)
            out = ta.stack()  # (steps, batch[, Q])
            out = tf.transpose(out, [1, 0, 2] if record == "logits" else [1, 0])
            return t, x, prev, queue, out

        fn = tf.function(run, jit_compile=self.jit_compile, reduce_retracing=False)
        self._cache.loops[key] = fn
        return fn

    def _run(self, steps: int, prime: np.ndarray, class_ids: Any, lc: Any,
             temperature: float, seed: int, record: str,
             progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Runs ``steps`` steps from the zero state in chunks; returns the records."""
        batch = prime.shape[0]
        t, prev, queue = self._initial_state(batch)
        x = tf.constant(prime[:, 0])
        prime_t = tf.constant(prime)
        ids = None if class_ids is None else tf.constant(class_ids)
        lc_t = None if lc is None else self.upsample(tf.constant(lc))
        temp = tf.constant(float(temperature), tf.float32)
        seed_t = tf.constant(int(seed), tf.int64)
        chunk = min(self.chunk_size, max(1, steps))
        outs, done = [], 0
        while done < steps:
            t, x, prev, queue, out = self._loop(chunk, record)(
                t, x, prev, queue, prime_t, ids, lc_t, temp, seed_t)
            outs.append(out.numpy())
            done += chunk
            if progress is not None:
                progress(min(done, steps), steps)
        return np.concatenate(outs, axis=1)[:, :steps]

    # ------------------------------------------------------------------ public
    def generate(self, num_samples: int, class_ids: Any = None, local_condition: Any = None,
                 temperature: float = 1.0, seed: int = 0, prime: Any = None,
                 batch_size: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Draws ``num_samples`` codes per sequence after a prime.

        Args:
            num_samples: new samples per sequence.
            class_ids: one class per sequence (global conditioning; a single id is
                repeated over the batch).
            local_condition: ``(batch or 1, frames, C)`` conditioning frames (e.g.
                :func:`~tfaudio.models.wavenet_mel` of the audio to vocode); frame
                ``f`` covers samples ``f * hop ..``; sample ``t`` of the output (counted
                from the prime's first code) uses the upsampled conditioning at ``t``.
            temperature: softmax temperature (> 0; 0 = always the most likely code).
            seed: random seed; the same seed gives the same codes.
            prime: ``(batch or 1, P)`` codes fed first (teacher-forced); default one
                silence code ``Q // 2`` (the zero states then see one real sample).
            batch_size: sequences (default from ``class_ids`` / ``prime`` /
                ``local_condition``, else 1).
            progress: ``progress(done_steps, total_steps)`` after each chunk.

        Returns:
            int32 ``(batch, num_samples)``: the codes after the prime.

        Raises:
            ValueError / TypeError: codes out of range, class ids missing or out of
            range, a conditioning of the wrong shape or too short (all named).
        """
        num_samples = _checks.positive_int("num_samples", num_samples)
        temperature = _checks.number_in("temperature", temperature, 0.0)
        if prime is None:
            prime = np.full([1, 1], self.quantization_channels // 2, np.int32)
        prime = self._codes(prime, "prime")
        prime = prime[None] if prime.ndim == 1 else prime
        if prime.ndim != 2 or prime.shape[1] < 1:
            raise ValueError(f"prime must be (batch, P >= 1) codes, got shape {prime.shape}")
        batch = batch_size if batch_size is not None else (
            prime.shape[0] if prime.shape[0] > 1 else None)
        if batch is None and class_ids is not None:
            batch = len(np.atleast_1d(class_ids))
        if batch is None and local_condition is not None and np.ndim(local_condition) == 3:
            batch = int(np.shape(local_condition)[0])
        batch = _checks.positive_int("batch_size", batch or 1)
        ids, _ = self._class_ids(class_ids, batch)
        if prime.shape[0] != batch:
            if prime.shape[0] != 1:
                raise ValueError(f"prime has batch {prime.shape[0]}, the generation {batch}")
            prime = np.repeat(prime, batch, axis=0)
        n_prime = prime.shape[1]
        steps = n_prime - 1 + num_samples
        lc = self._local(local_condition, batch, steps + 1)
        codes = self._run(steps, prime, ids, lc, temperature, seed, "codes", progress)
        return codes[:, n_prime - 1:]

    def teacher_forced_logits(self, codes: Any, class_ids: Any = None,
                              local_condition: Any = None) -> np.ndarray:
        """The logits of every step when ``codes`` are fed one by one through the queues:
        equal to the network's full causal forward ``model(codes)`` (the check of Fast
        WaveNet). Returns float32 ``(batch, time, Q)``."""
        x = self._codes(codes, "codes")
        if x.ndim != 2 or x.shape[1] < 1:
            raise ValueError(f"codes must be (batch, time >= 1), got shape {x.shape}")
        ids, _ = self._class_ids(class_ids, x.shape[0])
        lc = self._local(local_condition, x.shape[0], x.shape[1])
        return self._run(x.shape[1], x, ids, lc, 1.0, 0, "logits")

    def decode(self, codes: Any) -> np.ndarray:
        """Codes -> float32 waveform in [-1, 1] (:class:`~tfaudio.layers.MuLawDecoding`)."""
        from tfaudio.layers import MuLawDecoding

        return np.asarray(MuLawDecoding(self.quantization_channels)(
            np.asarray(codes, np.int32)))

    # ------------------------------------------------------------------ export
    def export(self, export_dir: str, sample_rate: int | None = None,
               labels: list[str] | None = None, features: keras.Model | None = None,
               prime_silence: int = 1) -> str:
        """Writes a SavedModel that generates without tfaudio (plain TensorFlow).

        Endpoint ``generate(num_samples, class_ids, temperature, seed[, local_condition])``
        (int32 scalar, int32 ``(batch,)``, float32 scalar, int64 scalar[, float32
        ``(batch, frames, C)``]) -> dict of ``codes`` int32 ``(batch, num_samples)`` and
        ``waveform`` float32 (mu-law decoded); without global conditioning
        ``class_ids`` only sets the batch (any values). Every call first feeds
        ``prime_silence`` silence codes (``Q // 2``), as :meth:`generate` with that
        prime (the same codes for the same seed). With ``features`` (a
        :func:`~tfaudio.models.wavenet_mel`) the endpoint ``features(waveform)`` returns
        the conditioning frames of ``prime_silence`` zeros followed by the waveform:
        what ``local_condition`` takes to vocode that waveform. Beside it,
        ``tfaudio.json`` (the network's config, ``sample_rate``, ``labels``,
        ``receptive_field``, ``prime_silence``).

        The loop inside is the same compiled chunk as :meth:`generate` (XLA when
        ``jit_compile``), driven by an outer graph loop.

        Returns:
            ``export_dir``.
        """
        q = self.quantization_channels
        chunk = self.chunk_size
        has_lc = self.lc_channels is not None
        n_prime = _checks.positive_int("prime_silence", prime_silence)

        def serve(num_samples, class_ids, temperature, seed, local_condition=None):
            batch = tf.shape(class_ids)[0]
            t, prev, queue = self._initial_state(1)
            prev = tf.tile(prev, [batch, 1])
            queue = tf.tile(queue, [1, 1, batch, 1])
            prime = tf.fill([batch, n_prime], q // 2)
            x = prime[:, 0]
            ids = class_ids if self.num_classes is not None else None
            steps = n_prime - 1 + num_samples
            lc = self.upsample(local_condition) if has_lc else None
            if has_lc:
                check = tf.debugging.assert_greater_equal(
                    tf.shape(lc)[1], steps + 1, message="local_condition is shorter than "
                    "prime_silence + num_samples samples")
                with tf.control_dependencies([check]):
                    lc = tf.identity(lc)
            loop = self._loop(chunk, "codes")
            rounds = (steps + chunk - 1) // chunk
            ta = tf.TensorArray(tf.int32, size=rounds, infer_shape=False)

            def body(j, t, x, prev, queue, ta):
                t, x, prev, queue, out = loop(t, x, prev, queue, prime, ids, lc,
                                              temperature, seed)
                return j + 1, t, x, prev, queue, ta.write(j, tf.transpose(out))

            _, _, _, _, _, ta = tf.while_loop(lambda j, *_: j < rounds, body,
                                              (tf.constant(0), t, x, prev, queue, ta))
            codes = tf.transpose(ta.concat())[:, n_prime - 1:steps]
            s = 2.0 * tf.cast(codes, tf.float32) / (q - 1) - 1.0
            wave = tf.sign(s) * (tf.pow(float(q), tf.abs(s)) - 1.0) / (q - 1)
            return {"codes": codes, "waveform": wave}

        specs = [tf.TensorSpec((), tf.int32, "num_samples"),
                 tf.TensorSpec((None,), tf.int32, "class_ids"),
                 tf.TensorSpec((), tf.float32, "temperature"),
                 tf.TensorSpec((), tf.int64, "seed")]
        if has_lc:
            specs.append(tf.TensorSpec((None, None, self.lc_channels), tf.float32,
                                       "local_condition"))
        module = tf.Module()
        module.generator = self
        module.generate = tf.function(serve, input_signature=specs)
        if features is not None:
            module.feature_model = features
            module.features = tf.function(
                lambda w: features(tf.pad(w, [[0, 0], [n_prime, 0]]), training=False),
                input_signature=[tf.TensorSpec((None, None), tf.float32, "waveform")])
        tmp = f"{export_dir.rstrip(os.sep)}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tf.saved_model.save(module, tmp)
        from tfaudio._version import __version__

        info = {"model": "wavenet", "sample_rate": sample_rate, "labels": labels,
                "receptive_field": self.receptive_field, "chunk_size": chunk,
                "prime_silence": n_prime,
                "jit_compile": self.jit_compile, "wavenet": self.config,
                "endpoints": ["generate"] + (["features"] if features is not None else []),
                "tfaudio": __version__}
        with open(os.path.join(tmp, "tfaudio.json"), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=1)
        shutil.rmtree(export_dir, ignore_errors=True)
        os.replace(tmp, export_dir)
        return export_dir


@tf.autograph.experimental.do_not_convert  # no Python control flow to convert
def sample(logits: tf.Tensor, temperature: tf.Tensor, seed: tf.Tensor, step: tf.Tensor
           ) -> tf.Tensor:
    """One code per row from ``softmax(logits / temperature)`` (argmax when the
    temperature is 0), by the Gumbel-max trick: ``argmax(logits / T + G)`` with ``G``
    standard Gumbel noise from ``tf.random.stateless_uniform`` seeded ``(seed, step)``
    (an exact categorical draw that XLA compiles; ``stateless_categorical`` does not).

    Returns:
        int32 ``(batch,)``.
    """
    u = tf.random.stateless_uniform(tf.shape(logits), tf.stack([seed, tf.cast(step, tf.int64)]),
                                    minval=np.finfo(np.float32).tiny, maxval=1.0)
    gumbel = -tf.math.log(-tf.math.log(u))
    scaled = logits / tf.maximum(temperature, 1e-6) + gumbel
    return tf.argmax(tf.where(temperature > 0, scaled, logits), axis=1, output_type=tf.int32)


# ---------------------------------------------------------------------- naive baseline
def naive_generate(model: keras.Model, num_samples: int, class_ids: Any = None,
                   temperature: float = 1.0, seed: int = 0, batch_size: int = 1,
                   jit_compile: bool = False) -> np.ndarray:
    """Generation without caches: per sample, the network runs on the last
    ``receptive_field`` codes (initially silence, ``Q // 2``) and the last logit is
    sampled. The cost per sample is a whole receptive field: the baseline of the speed
    comparison (``tfaudio bench --suite wavenet``). One ``tf.while_loop`` in a
    ``tf.function``. No local conditioning.

    Returns:
        int32 ``(batch, num_samples)``.
    """
    net = find_wavenet(model)
    c = wavenet_config(net)
    if c["local_condition_channels"] is not None:
        raise ValueError("naive_generate does not take local conditioning")
    q = c["quantization_channels"]
    rf = wavenet_receptive_field(c["dilations"], c["filter_width"])
    num_samples = _checks.positive_int("num_samples", num_samples)
    batch = _checks.positive_int("batch_size", batch_size)
    gc = c["global_condition_classes"] is not None
    if gc:
        if class_ids is None:
            raise ValueError("the WaveNet is class-conditioned: pass class_ids")
        ids = np.broadcast_to(np.asarray(class_ids, np.int32), [batch])
    fn = _naive_function(net, num_samples, rf, q, gc, jit_compile)
    window = tf.fill([batch, rf], q // 2)
    out = fn(window, tf.constant(ids) if gc else tf.zeros([batch], tf.int32),
             tf.constant(float(temperature)), tf.constant(int(seed), tf.int64))
    return out.numpy()


_NAIVE: dict = {}


def _naive_function(net, steps, rf, q, gc, jit_compile) -> Callable:
    key = (id(net), steps, jit_compile)
    if key in _NAIVE:
        return _NAIVE[key][1]

    def run(window, ids, temperature, seed):
        ta = tf.TensorArray(tf.int32, size=steps)

        def body(i, window, ta):
            logits = net([window, ids] if gc else window, training=False)[:, -1]
            nxt = sample(logits, temperature, seed, i)
            return i + 1, tf.concat([window[:, 1:], nxt[:, None]], 1), ta.write(i, nxt)

        _, _, ta = tf.while_loop(lambda i, *_: i < steps, body, (tf.constant(0), window, ta))
        return tf.transpose(ta.stack())

    fn = tf.function(run, jit_compile=jit_compile)
    _NAIVE[key] = (net, fn)  # keep the network alive with its function
    return fn
