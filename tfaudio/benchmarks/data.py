"""Input pipeline: sharded TFRecords -> batched float tensors, against the front end it feeds.

Rows (all ``mode="pipeline"``, clips of 1 s at 16 kHz, int16 PCM records in 8 shards,
batches of 256, one full pass per timing, files in the page cache):

* ``tfaudio.data``: :func:`tfaudio.data.audio_dataset` without and with shuffling
  (shuffle buffer 4096 records), ``clip_seconds=1.0``;
* ``tf.data minimal``: the least a hand-rolled reader does (``TFRecordDataset``,
  ``parse_example`` of the PCM bytes, ``decode_raw``, scale): no labels, no checks;
* ``keras`` (rival): ``keras.utils.audio_dataset_from_directory`` over the same clips as
  WAV files (its only input format);
* ``vggish front end``: ``MelSpectrogram`` (64 bands, n_fft 512, win 400, hop 160) and
  ``ln(mel + 0.01)`` on the same batches, ``tf.function``: the consumer to compare with;
* ``tfaudio.data + front end``: the two together (front end mapped on the dataset): if
  this matches the front end alone, the input pipeline is not the bottleneck.

``items_per_s`` is clips per second in the steady state (a repeated dataset, iterator
made once and warmed up, as in training); ``seconds`` is the wall time of the timed
batches (pipeline rows) or of one batch (front-end row); medians of several timings.
A new pass over a dataset also pays ~0.1-0.3 s of start-up (opening shards,
instantiating the tf.data functions), not included.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from typing import Any

import numpy as np

from tfaudio.benchmarks import repeats

SUITE = "data"
SR = 16000
BATCH = 256
SHARDS = 8


def _write_shards(folder: str, n: int) -> None:
    from tfaudio.data import Clip, write_dataset

    rng = np.random.default_rng(0)
    clips = (Clip(f"clip{i:06d}", rng.integers(-8000, 8000, (SR, 1), dtype=np.int16),
                  labels=[i % 10]) for i in range(n))
    write_dataset(clips, folder, sample_rate=SR, vocabulary=[str(i) for i in range(10)],
                  num_shards=SHARDS)


def _write_wavs(folder: str, n: int) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for i in range(n):
        sub = os.path.join(folder, str(i % 10))
        os.makedirs(sub, exist_ok=True)
        pcm = rng.integers(-8000, 8000, (SR, 1), dtype=np.int16).astype(np.float32) / 32768
        data = tf.audio.encode_wav(pcm, SR).numpy()
        with open(os.path.join(sub, f"{i:06d}.wav"), "wb") as f:
            f.write(data)


def _minimal(folder: str) -> Any:
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(os.path.join(folder, "*.tfrecord")))
    spec = {"audio/pcm": tf.io.FixedLenFeature([], tf.string)}

    def decode(serialized):
        pcm = tf.io.parse_example(serialized, spec)["audio/pcm"]
        return tf.cast(tf.io.decode_raw(pcm, tf.int16), tf.float32) / 32768.0

    ds = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
    return ds.batch(BATCH).map(decode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)


def _steady(ds: Any, warmup: int, batches: int, repeat: int) -> tuple[float, int]:
    """Median seconds for ``batches`` batches of a repeated dataset, and clips in them.

    The iterator is made once and warmed up, as in training with ``repeat()``: the
    per-pass start-up (opening shards, instantiating functions) is left out.
    """
    it = iter(ds.repeat())
    for _ in range(warmup):
        next(it)
    times, clips = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        for _ in range(batches):
            x = next(it)
            n += int((x[0] if isinstance(x, tuple) else x).shape[0])
        times.append(time.perf_counter() - t0)
        clips = n
    return statistics.median(times), clips


def _frontend(batch: Any) -> tuple[float, Any]:
    import tensorflow as tf

    from tfaudio import layers

    mel = layers.MelSpectrogram(SR, n_fft=512, win_length=400, hop_length=160, n_mels=64)
    fn = tf.function(lambda x: tf.math.log(mel(x) + 0.01))
    return fn, batch


def run(quick: bool = False) -> list[dict]:
    """Rows for ``tfaudio bench --suite data`` (see the module docstring)."""
    import tensorflow as tf

    from tfaudio.benchmarks import time_call
    from tfaudio.data import audio_dataset

    warmup, repeat = (2, 3) if quick else (8, 7)
    batches = 4 if quick else 48
    n = 1024 if quick else 16384
    n_wav = 512 if quick else 4096
    config = f"{n} x 1s@16k pcm16, {SHARDS} shards, batch {BATCH}"
    tmp = tempfile.mkdtemp(prefix="tfaudio-bench-data-")
    rows: list[dict] = []

    def row(impl: str, seconds: float | None, clips: int | None, note: str,
            rival: bool | None = None, cfg: str = config) -> dict:
        r = {"suite": SUITE, "config": cfg, "impl": impl, "mode": "pipeline",
             "seconds": seconds, "note": note}
        if seconds and clips:
            r["items_per_s"] = clips / seconds
            r["xrealtime"] = clips / seconds  # 1 s clips
        if rival is not None:
            r["rival"] = rival
        return r

    try:
        records = os.path.join(tmp, "records")
        _write_shards(records, n)
        for shuffle in (False, True):
            ds = audio_dataset(records, batch_size=BATCH, shuffle=shuffle, clip_seconds=1.0,
                               shuffle_buffer=4096, seed=0, cache=False)  # the file reader
            sec, clips = _steady(ds, warmup, batches, repeat)
            rows.append(row("tfaudio.data", sec, clips,
                            "audio_dataset " + ("shuffled" if shuffle else "in order")
                            + ": integrity checks, labels", rival=False))
        sec, clips = _steady(_minimal(records), warmup, batches, repeat)
        rows.append(row("tf.data minimal", sec, clips,
                        "TFRecordDataset+parse_example+decode_raw, no labels/checks"))
        wavs = os.path.join(tmp, "wavs")
        _write_wavs(wavs, n_wav)
        try:
            import keras

            ds = keras.utils.audio_dataset_from_directory(
                wavs, batch_size=BATCH, shuffle=False, output_sequence_length=SR, verbose=False)
            sec, clips = _steady(ds.prefetch(tf.data.AUTOTUNE), warmup, batches, repeat)
            rows.append(row("keras", sec, clips, "audio_dataset_from_directory on WAV files",
                            rival=True, cfg=config))
        except Exception as err:  # optional rival: report, do not fail the suite
            rows.append(row("keras", None, None, f"unavailable: {type(err).__name__}: {err}",
                            rival=True))
        batch = next(iter(audio_dataset(records, batch_size=BATCH, shuffle=False,
                                        cache=False)))[0]
        fn, x = _frontend(batch)
        w, r = repeats(quick)
        sec = time_call(lambda: fn(x), warmup=w, repeat=r)
        rows.append(row("vggish front end", sec, BATCH,
                        "MelSpectrogram(64, n_fft 512, win 400, hop 160) + ln(mel+0.01), "
                        "tf.function, per batch, data in memory"))
        ds = audio_dataset(records, batch_size=BATCH, shuffle=True, clip_seconds=1.0,
                           shuffle_buffer=4096, seed=0, cache=False)
        sec, clips = _steady(ds.map(lambda a, y: (fn(a), y)), warmup, batches, repeat)
        rows.append(row("tfaudio.data + front end", sec, clips,
                        "shuffled audio_dataset feeding the front end (both share the cores)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows
