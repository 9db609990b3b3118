"""Writing raw-audio TFRecords: counts, shards, splits, manifests, bad inputs (make_tfrecords)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from tfaudio.data import (
    BadFilesError,
    Clip,
    DatasetWriter,
    make_tfrecords,
    parse_example_numpy,
    read_manifest,
    write_dataset,
)
from tfaudio.data.manifest import assign_split, parse_split_spec

RNG = np.random.default_rng(3)


def _records(folder: str) -> dict[str, dict]:
    m = read_manifest(folder)
    out = {}
    for split in m["splits"].values():
        for shard in split["shards"]:
            for rec in tf.data.TFRecordDataset(os.path.join(folder, shard["file"])):
                r = parse_example_numpy(rec.numpy())
                out[r["id"]] = r
    return out


def _tree(root, files: dict[str, tuple[int, int, float]], subtype="PCM_16"):
    """files: relative path -> (sample rate, channels, seconds)."""
    written = {}
    for rel, (sr, ch, sec) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm = RNG.integers(-20000, 20000, (int(sr * sec), ch), dtype=np.int16)
        sf.write(str(path), pcm, sr, subtype=subtype)
        written[rel] = pcm
    return written


def test_round_trip_int16_exact(tmp_path):
    clips = [Clip(f"c{i}", RNG.integers(-32768, 32767, (800 + i, 2), dtype=np.int16),
                  labels=[i % 3]) for i in range(30)]
    m = write_dataset(clips, str(tmp_path / "ds"), sample_rate=8000, vocabulary="abc",
                      num_shards=3, splits="train=0.5,test=0.5")
    recs = _records(str(tmp_path / "ds"))
    assert len(recs) == 30 == m["total_clips"] == m["inputs"]
    for c in clips:
        r = recs[c.id]
        np.testing.assert_array_equal(np.rint(r["audio"] * 32768).astype(np.int16), c.audio)
        assert r["labels"] == c.labels and r["label_text"] == ["abc"[c.labels[0]]]
        assert r["sample_rate"] == 8000 and r["num_channels"] == 2
    assert m["num_samples"] == {"min": 800, "max": 829}
    assert sum(s["clips"] for s in m["splits"].values()) == 30
    total = sum(s["seconds"] for s in m["splits"].values())
    assert total == pytest.approx(m["total_seconds"]) == pytest.approx(sum(829 + 800 for _ in
                                                                           range(15)) / 8000)


@pytest.mark.parametrize("encoding", ["float32", "flac"])
def test_other_encodings_round_trip(tmp_path, encoding):
    x = RNG.integers(-30000, 30000, (500, 1), dtype=np.int16)
    write_dataset([Clip("a", x)], str(tmp_path / encoding), sample_rate=16000,
                  encoding=encoding)
    r = _records(str(tmp_path / encoding))["a"]
    assert r["encoding"] == encoding
    np.testing.assert_array_equal(r["audio"], x.astype(np.float32) / 32768)


def test_shard_counts_and_sizes(tmp_path):
    clips = [Clip(f"k{i}", np.zeros((4000, 1), np.int16)) for i in range(100)]
    m = write_dataset(clips, str(tmp_path / "n"), sample_rate=16000, num_shards=4)
    shards = m["splits"]["train"]["shards"]
    assert [s["file"] for s in shards] == [f"train-{i:05d}-of-00004.tfrecord" for i in range(4)]
    assert sum(s["records"] for s in shards) == 100
    assert all(s["records"] > 10 for s in shards)  # hash spread
    for s in shards:
        assert os.path.getsize(tmp_path / "n" / s["file"]) == s["bytes"]
    # size-based: ~8 kB per record, 0.05 MB shards -> a new shard every ~7 records
    m = write_dataset(clips, str(tmp_path / "s"), sample_rate=16000, shard_size_mb=0.05)
    shards = m["splits"]["train"]["shards"]
    assert len(shards) > 10 and sum(s["records"] for s in shards) == 100
    assert all(s["bytes"] < 0.05e6 + 8100 for s in shards)
    assert not [n for n in os.listdir(tmp_path / "s") if n.startswith(".tfaudio")]


def test_split_determinism_and_stability(tmp_path):
    fr = parse_split_spec("train=0.8,val=0.1,test=0.1")
    ids = [f"dog/{i}.wav" for i in range(2000)]
    first = {i: assign_split(i, fr, seed=5) for i in ids}
    counts = {s: list(first.values()).count(s) for s in fr}
    assert 1500 < counts["train"] < 1700 and 120 < counts["val"] < 280
    more = ids + [f"cat/{i}.wav" for i in range(500)]
    again = {i: assign_split(i, fr, seed=5) for i in more}
    assert all(again[i] == first[i] for i in ids)  # adding files moves nothing
    assert any(assign_split(i, fr, seed=6) != first[i] for i in ids)  # the seed matters
    # writing twice gives identical shards
    clips = [Clip(f"c{i}", np.full((100, 1), i, np.int16)) for i in range(40)]
    for name in ("a", "b"):
        write_dataset(clips, str(tmp_path / name), sample_rate=8000, splits=fr, seed=1,
                      num_shards=2)
    for f in sorted(os.listdir(tmp_path / "a")):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_split_spec_errors():
    with pytest.raises(ValueError, match="sum to 0.9"):
        parse_split_spec("train=0.8,test=0.1")
    with pytest.raises(ValueError, match="not name=fraction"):
        parse_split_spec("train:0.8")
    with pytest.raises(ValueError, match="appears twice"):
        parse_split_spec("a=0.5,a=0.5")


def test_writer_errors(tmp_path):
    with DatasetWriter(str(tmp_path / "w"), 16000, vocabulary=["x"]) as w:
        w.add(Clip("a", np.zeros((10, 1))))
        with pytest.raises(ValueError, match="duplicate clip id"):
            w.add(Clip("a", np.zeros((10, 1))))
        with pytest.raises(ValueError, match="b: 2 channel"):
            w.add(Clip("b", np.zeros((10, 2))))
        with pytest.raises(ValueError, match="c: label 3 is outside"):
            w.add(Clip("c", np.zeros((10, 1)), labels=[3]))
        with pytest.raises(ValueError, match=r"d: audio has shape \(0, 1\)"):
            w.add(Clip("d", np.zeros((0, 1))))
        w.close()
    with pytest.raises(FileExistsError, match="already holds a dataset"):
        DatasetWriter(str(tmp_path / "w"), 16000)


def test_failed_write_leaves_nothing(tmp_path):
    def clips():
        yield Clip("a", np.zeros((10, 1)))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_dataset(clips(), str(tmp_path / "f"), sample_rate=8000)
    assert os.listdir(tmp_path / "f") == []


def test_make_tfrecords_labels_from_dirs(tmp_path):
    src = tmp_path / "src"
    pcm = _tree(src, {"dog/a.wav": (16000, 1, 0.5), "dog/b.wav": (16000, 1, 0.25),
                      "cat/c.wav": (16000, 1, 0.3), "cat/deep/d.wav": (16000, 1, 0.2)})
    (src / "README.txt").write_text("not audio, ignored")
    m = make_tfrecords(str(src), str(tmp_path / "out"), labels_from_dirs=True,
                       split="train=0.5,test=0.5", seed=0)
    assert m["label_vocabulary"] == ["cat", "dog"]
    assert m["inputs"] == 4 == m["total_clips"] and m["skipped"] == []
    assert m["num_ignored_files"] == 1
    labels = {}
    for s in m["splits"].values():
        for k, v in s["labels"].items():
            labels[k] = labels.get(k, 0) + v
    assert labels == {"cat": 2, "dog": 2}
    recs = _records(str(tmp_path / "out"))
    for rel, want in pcm.items():
        r = recs[rel]
        assert r["label_text"] == [rel.split("/")[0]]
        np.testing.assert_array_equal(np.rint(r["audio"] * 32768).astype(np.int16), want)
    manifest = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["sample_rate"] == 16000


def test_bad_files_stop_everything_and_are_all_named(tmp_path):
    src = tmp_path / "src"
    _tree(src, {"a/ok.wav": (16000, 1, 0.1), "a/ok2.wav": (16000, 1, 0.1)})
    (src / "a" / "text.wav").write_text("I am not a WAV file")
    (src / "a" / "empty.wav").write_bytes(b"")
    sf.write(str(src / "a" / "zero.wav"), np.zeros((0, 1), np.int16), 16000)
    out = tmp_path / "out"
    with pytest.raises(BadFilesError) as info:
        make_tfrecords(str(src), str(out), labels_from_dirs=True)
    msg = str(info.value)
    for name in ("a/text.wav", "a/empty.wav", "a/zero.wav"):
        assert name in msg
    assert "zero-length" in msg and "empty file" in msg and "not a recognised" in msg
    assert "3 of 5" in msg
    assert not out.exists() or os.listdir(out) == []
    m = make_tfrecords(str(src), str(out), labels_from_dirs=True, skip_bad=True)
    assert m["total_clips"] == 2 and len(m["skipped"]) == 3
    assert m["inputs"] == m["total_clips"] + len(m["skipped"]) == 5
    assert {s["file"] for s in m["skipped"]} == {"a/text.wav", "a/empty.wav", "a/zero.wav"}


def test_empty_folder(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        make_tfrecords(str(tmp_path / "src"), str(tmp_path / "out"))


def test_csv_manifest_and_unknown_label(tmp_path):
    src = tmp_path / "src"
    _tree(src, {"x.wav": (22050, 2, 0.5), "y.flac": (44100, 1, 0.2)}, subtype="PCM_24")
    csv = tmp_path / "m.csv"
    csv.write_text("path,label,start_seconds,end_seconds\nx.wav,speech;music,0.1,0.3\n"
                   "y.flac,music,,\n")
    m = make_tfrecords(str(src), str(tmp_path / "o"), manifest=str(csv), mono=True,
                       sample_rate=16000)
    recs = _records(str(tmp_path / "o"))
    assert recs["x.wav@0.1"]["label_text"] == ["speech", "music"]
    assert recs["x.wav@0.1"]["num_samples"] == 3200 and recs["x.wav@0.1"]["num_channels"] == 1
    assert recs["x.wav@0.1"]["start_seconds"] == pytest.approx(0.1)
    assert recs["y.flac"]["num_samples"] == 3200
    assert m["label_vocabulary"] == ["music", "speech"]
    with pytest.raises(ValueError, match=r"x.wav@0.1: 'speech'"):
        make_tfrecords(str(src), str(tmp_path / "o2"), manifest=str(csv),
                       vocabulary=["music", "noise"])
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\nx.wav,a\n")
    with pytest.raises(ValueError, match="'path' column"):
        make_tfrecords(str(src), str(tmp_path / "o3"), manifest=str(bad))


def test_stereo_needs_mono_and_rates_resampled(tmp_path):
    src = tmp_path / "src"
    _tree(src, {"m.wav": (16000, 1, 0.1), "s.wav": (16000, 2, 0.1)})
    with pytest.raises(ValueError, match="channel"):
        make_tfrecords(str(src), str(tmp_path / "o"))
    assert not (tmp_path / "o" / "dataset.json").exists()
    _tree(src, {"r.wav": (44100, 2, 0.1)}, subtype="PCM_24")
    m = make_tfrecords(str(src), str(tmp_path / "o2"), mono=True, sample_rate=16000)
    recs = _records(str(tmp_path / "o2"))
    assert recs["r.wav"]["num_samples"] == 1600 and m["num_channels"] == 1
