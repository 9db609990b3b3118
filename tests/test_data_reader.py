"""audio_dataset: batches equal what was written; crop/pad, labels, resampling, corruption."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.data import Clip, audio_dataset, backends, read_manifest, write_dataset
from tfaudio.data.schema import make_example
from tfaudio.ops.resample import resample

RNG = np.random.default_rng(11)
SR = 8000


def _clips(n=24, ch=1, lengths=None, multi=False):
    out = []
    for i in range(n):
        length = lengths[i % len(lengths)] if lengths else SR // 2
        labels = [i % 3, 3] if multi and i % 2 else [i % 3]
        out.append(Clip(f"clip{i:03d}", RNG.integers(-32768, 32767, (length, ch), np.int16),
                        labels=labels))
    return out


def _write(path, clips, **kw):
    kw.setdefault("num_shards", 3)
    return write_dataset(clips, str(path), sample_rate=SR, vocabulary=["a", "b", "c", "d"], **kw)


def _all(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def _by_content(clips, audio):
    """Match read clips back to written ones by their first samples."""
    keys = {c.audio[:16, 0].tobytes(): c for c in clips}
    got = np.rint(audio * 32768).astype(np.int16)
    return [keys[(row if row.ndim == 1 else row[:, 0])[:16].tobytes()] for row in got], got


@pytest.mark.parametrize("encoding", ["pcm16", "float32", "flac"])
def test_round_trip_exact(tmp_path, encoding):
    clips = _clips(ch=2)
    _write(tmp_path, clips, encoding=encoding)
    x, y = _all(audio_dataset(str(tmp_path), batch_size=5, shuffle=False))
    assert x.shape == (24, SR // 2, 2) and x.dtype == np.float32 and y.dtype == np.int64
    matched, got = _by_content(clips, x)
    assert sorted(c.id for c in matched) == sorted(c.id for c in clips)
    for c, row, label in zip(matched, got, y, strict=True):
        np.testing.assert_array_equal(row, c.audio)
        assert label == c.labels[0]


def test_flac_records_without_tfio(tmp_path, monkeypatch):
    clips = _clips(n=6)
    _write(tmp_path, clips, encoding="flac")
    monkeypatch.setattr(backends, "USE_TFIO", False)
    x, _ = _all(audio_dataset(str(tmp_path), batch_size=4, shuffle=False))
    matched, got = _by_content(clips, x)
    for c, row in zip(matched, got, strict=True):
        np.testing.assert_array_equal(row, c.audio[:, 0])


def test_pad_and_crop(tmp_path):
    clips = _clips(n=12, lengths=[SR // 4, SR, 2 * SR])
    _write(tmp_path, clips)
    ds = audio_dataset(str(tmp_path), batch_size=4, shuffle=False, clip_seconds=0.5,
                       random_crop=False)
    assert ds.element_spec[0].shape.as_list() == [None, SR // 2]
    x, _ = _all(ds)
    got = np.rint(x * 32768).astype(np.int16)
    by_start = {c.audio[:16, 0].tobytes(): c for c in clips}
    for row in got:
        c = by_start[row[:16].tobytes()]
        n = min(len(c.audio), SR // 2)
        np.testing.assert_array_equal(row[:n], c.audio[:n, 0])
        assert not row[n:].any()  # zero padding at the end
    # random crops are windows of the source
    x, _ = _all(audio_dataset(str(tmp_path), batch_size=4, shuffle=True, clip_seconds=0.5,
                              seed=1))
    sources = [c.audio[:, 0] for c in clips if len(c.audio) > SR // 2]
    got = np.rint(x * 32768).astype(np.int16)
    offsets = set()
    for row in got:
        if row[-1] == 0 and row[-2] == 0:
            continue  # a padded short clip
        for s in sources:
            hits = [o for o in range(len(s) - SR // 2 + 1)
                    if s[o] == row[0] and np.array_equal(s[o:o + SR // 2], row)]
            if hits:
                offsets.add(hits[0])
                break
        else:
            raise AssertionError("a random crop is not a window of any source clip")
    assert len(offsets) > 1


def test_variable_length_pads_to_batch_max(tmp_path):
    _write(tmp_path, _clips(n=6, lengths=[100, 300, 200]), num_shards=1)
    lengths = {x.shape[1] for x, _ in audio_dataset(str(tmp_path), batch_size=2, shuffle=False)}
    assert lengths <= {100, 200, 300} and max(lengths) == 300


def test_labels_multi_hot_and_int_error(tmp_path):
    clips = _clips(n=8, multi=True)
    _write(tmp_path, clips)
    x, y = _all(audio_dataset(str(tmp_path), batch_size=3, shuffle=False, labels="multi_hot"))
    assert y.shape == (8, 4) and y.dtype == np.float32
    matched, _ = _by_content(clips, x)
    for c, row in zip(matched, y, strict=True):
        want = np.zeros(4, np.float32)
        want[c.labels] = 1
        np.testing.assert_array_equal(row, want)
    with pytest.raises(tf.errors.InvalidArgumentError, match="exactly one label"):
        _all(audio_dataset(str(tmp_path), batch_size=8, shuffle=False))
    with pytest.raises(ValueError, match="labels='onehot' is not supported"):
        audio_dataset(str(tmp_path), labels="onehot")


def test_mono_and_glob_without_manifest(tmp_path):
    clips = _clips(n=6, ch=2)
    _write(tmp_path, clips, num_shards=2)
    os.remove(tmp_path / "dataset.json")
    ds = audio_dataset(str(tmp_path / "train-*.tfrecord"), batch_size=6, shuffle=False,
                       mono=True)
    x, _ = _all(ds)
    assert x.shape == (6, SR // 2)
    matched = {c.audio[:, 0].mean(): c for c in clips}
    assert len(matched) == 6
    ids = sorted(round(float(r.mean()), 6) for r in x)
    want = sorted(round(float(c.audio.mean() / 32768), 6) for c in clips)
    np.testing.assert_allclose(ids, want, atol=1e-6)
    x2, _ = _all(audio_dataset(str(tmp_path), split="train", batch_size=6, shuffle=False,
                               mono=True))  # folder without manifest: train-* shards
    assert x2.shape == x.shape


def test_resample_on_read(tmp_path):
    clips = _clips(n=4)
    _write(tmp_path, clips, num_shards=1)  # one shard, no shuffle: records in write order
    x, _ = _all(audio_dataset(str(tmp_path), sample_rate=16000, batch_size=4, shuffle=False))
    assert x.shape == (4, SR)
    for c, row in zip(clips, x, strict=True):
        want = resample(tf.constant(c.audio[:, 0] / 32768, tf.float32), SR, 16000).numpy()
        np.testing.assert_allclose(row, want, atol=1e-5)
    x, _ = _all(audio_dataset(str(tmp_path), sample_rate=16000, clip_seconds=0.25,
                              batch_size=4, shuffle=False, random_crop=False))
    assert x.shape == (4, 4000)


def _corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) * 2 // 3]))
    else:
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_corrupt_shard_named_or_counted(tmp_path, how):
    clips = _clips(n=30)
    m = _write(tmp_path, clips, num_shards=3)
    shard = m["splits"]["train"]["shards"][1]
    _corrupt(tmp_path / shard["file"], how)
    with pytest.raises(tf.errors.OpError) as info:
        _all(audio_dataset(str(tmp_path), batch_size=4, shuffle=False))
    msg = str(info.value)
    assert shard["file"] in msg and "record index" in msg and "corrupt TFRecord shard" in msg
    ds = audio_dataset(str(tmp_path), batch_size=4, shuffle=False, skip_corrupt=True)
    report = ds.corruption
    x, _ = _all(ds)
    assert report.skipped_records > 0
    assert len(x) + report.skipped_records == 30  # never lost silently
    (event,) = report.events
    assert event["shard"].endswith(shard["file"]) and event["record_index"] < shard["records"]
    assert event["skipped"] == report.skipped_records


def test_inconsistent_record_named_by_id(tmp_path):
    clips = _clips(n=4)
    _write(tmp_path, clips, num_shards=1)
    m = read_manifest(str(tmp_path))
    shard = tmp_path / m["splits"]["train"]["shards"][0]["file"]
    with tf.io.TFRecordWriter(str(shard)) as w:  # rewrite with one odd record
        for c in clips:
            w.write(make_example(c.audio, SR, labels=c.labels, id=c.id).SerializeToString())
        w.write(make_example(np.zeros((10, 1), np.int16), 22050, labels=[0],
                             id="odd-rate").SerializeToString())
    with pytest.raises(tf.errors.OpError, match=r"holds\] \[5\] \[records but dataset.json says\] \[4\]"):
        _all(audio_dataset(str(tmp_path), batch_size=8, shuffle=False))
    os.remove(tmp_path / "dataset.json")
    with pytest.raises(tf.errors.OpError, match=r"odd-rate: audio/sample_rate is not"):
        _all(audio_dataset(str(tmp_path / "*.tfrecord"), batch_size=8, shuffle=False))
    ds = audio_dataset(str(tmp_path / "*.tfrecord"), batch_size=8, shuffle=False,
                       skip_corrupt=True)
    x, _ = _all(ds)
    assert len(x) == 4 and ds.corruption.skipped_records == 1
    assert ds.corruption.events == [{"id": "odd-rate", "skipped": 1}]


def test_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no files match"):
        audio_dataset(str(tmp_path / "nothing-*.tfrecord"))
    _write(tmp_path, _clips(n=3), num_shards=1)
    with pytest.raises(ValueError, match="split='val' is not in the dataset"):
        audio_dataset(str(tmp_path), split="val")
    with pytest.raises(ValueError, match="batch_size=0"):
        audio_dataset(str(tmp_path), batch_size=0)


def test_repeat_cache_and_keras_fit(tmp_path):
    import keras

    _write(tmp_path, _clips(n=12))
    ds = audio_dataset(str(tmp_path), batch_size=4, clip_seconds=0.25, cache=True,
                       repeat=True, seed=0)
    model = keras.Sequential([keras.Input((SR // 4,)), keras.layers.Dense(4)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
