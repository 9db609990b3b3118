"""AudioSet SequenceExample records: field names, byte-for-byte round trip, dequantised batches."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.data import audioset_dataset, read_audioset_records, write_audioset_records
from tfaudio.data.audioset import make_sequence_example, parse_audioset_record, quantize

RNG = np.random.default_rng(5)


def _records(n=7):
    return [{"video_id": f"vid{i:03d}_x", "start_time_seconds": float(10 * i),
             "end_time_seconds": float(10 * i + 10), "labels": sorted({i % 527, (7 * i) % 527, 526}),
             "audio_embedding": RNG.integers(0, 256, (3 + i % 8, 128), dtype=np.uint8)}
            for i in range(n)]


def test_spec_field_names_parse_with_reference_specs():
    rec = _records(1)[0]
    ex = make_sequence_example(**rec)
    ctx, seq = tf.io.parse_single_sequence_example(
        ex.SerializeToString(),
        context_features={
            "video_id": tf.io.FixedLenFeature([], tf.string),
            "start_time_seconds": tf.io.FixedLenFeature([], tf.float32),
            "end_time_seconds": tf.io.FixedLenFeature([], tf.float32),
            "labels": tf.io.VarLenFeature(tf.int64)},
        sequence_features={"audio_embedding": tf.io.FixedLenSequenceFeature([], tf.string)})
    emb = tf.io.decode_raw(seq["audio_embedding"], tf.uint8).numpy()
    np.testing.assert_array_equal(emb, rec["audio_embedding"])
    assert ctx["video_id"].numpy() == b"vid000_x"
    assert list(ctx["labels"].values.numpy()) == rec["labels"]
    assert all(len(f.bytes_list.value) == 1 and len(f.bytes_list.value[0]) == 128
               for f in ex.feature_lists.feature_list["audio_embedding"].feature)


def test_round_trip_byte_for_byte(tmp_path):
    recs = _records()
    a, b = tmp_path / "a.tfrecord", tmp_path / "b.tfrecord"
    assert write_audioset_records(str(a), recs) == len(recs)
    back = read_audioset_records(str(a))
    for want, got in zip(recs, back, strict=True):
        np.testing.assert_array_equal(got["audio_embedding"], want["audio_embedding"])
        assert got["labels"] == want["labels"] and got["video_id"] == want["video_id"]
        assert got["start_time_seconds"] == want["start_time_seconds"]
    write_audioset_records(str(b), back)
    assert a.read_bytes() == b.read_bytes()
    raw = [r.numpy() for r in tf.data.TFRecordDataset(str(a))]
    assert [make_sequence_example(**parse_audioset_record(r)).SerializeToString(
        deterministic=True) for r in raw] == raw


@pytest.mark.parametrize("mode,fn", [("exact", lambda q: q * 4 / 255 - 2),
                                     ("center", lambda q: (q + 0.5) * 4 / 255 - 2),
                                     ("unit", lambda q: q / 255)])
def test_dataset_dequantised_padded_masked(tmp_path, mode, fn):
    recs = _records()
    write_audioset_records(str(tmp_path / "p0.tfrecord"), recs[:4])
    write_audioset_records(str(tmp_path / "p1.tfrecord"), recs[4:])
    ds = audioset_dataset(str(tmp_path / "p*.tfrecord"), batch_size=3, dequantize=mode)
    seen = 0
    for (emb, mask), y in ds:
        assert emb.shape[2] == 128 and y.shape[1] == 527 and mask.dtype == tf.bool
        for e, m, lab in zip(emb.numpy(), mask.numpy(), y.numpy(), strict=True):
            rec = next(r for r in recs if r["labels"] == list(np.flatnonzero(lab)))
            t = len(rec["audio_embedding"])
            assert m[:t].all() and not m[t:].any()
            np.testing.assert_allclose(e[:t], fn(rec["audio_embedding"].astype(np.float64)),
                                       atol=1e-6)
            assert not e[t:].any()
            seen += 1
    assert seen == len(recs)


def test_fixed_frames_and_label_range(tmp_path):
    recs = _records(4)
    write_audioset_records(str(tmp_path / "x.tfrecord"), recs)
    emb, y = next(iter(audioset_dataset(str(tmp_path / "x.tfrecord"), batch_size=4,
                                        max_frames=5, return_mask=False)))
    assert emb.shape == (4, 5, 128)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels outside"):
        list(audioset_dataset(str(tmp_path / "x.tfrecord"), num_classes=10))
    with pytest.raises(FileNotFoundError):
        audioset_dataset(str(tmp_path / "none*.tfrecord"))


def test_quantize_matches_vggish_postprocessor():
    e = np.array([[-3.0, -2.0, -0.01, 0.0, 1.99, 2.0, 5.0] + [0.0] * 121])
    q = quantize(e)
    assert q.dtype == np.uint8
    assert list(q[0, :7]) == [0, 0, 126, 127, 254, 255, 255]
    with pytest.raises(ValueError, match="uint8"):
        make_sequence_example("v", 0, 1, [], e)
