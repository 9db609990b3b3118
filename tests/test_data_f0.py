"""audio_dataset(targets="f0"): f0 tracks read in step with crops, resampling and padding."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.data import (
    Clip,
    audio_dataset,
    f0_num_frames,
    synth_clip,
    synth_dataset,
    write_dataset,
)
from tfaudio.data.schema import parse_example_numpy, to_pcm16

SR = 8000
HOP = 0.01


def _write(path, clips, encoding="pcm16", **kw):
    return write_dataset(clips, str(path), sample_rate=SR, vocabulary=["a"], num_shards=1,
                         encoding=encoding, **kw)


def _all(ds):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def _step_clip(i, change, seconds=1.0):
    """Silence, then 0.5 from sample ``change``; f0 100 Hz before that time, 200 Hz after."""
    n = int(seconds * SR)
    audio = np.zeros(n, np.float32)
    audio[change:] = 0.5
    times = np.arange(f0_num_frames(n, SR, HOP)) * HOP
    f0 = np.where(times < change / SR, 100.0, 200.0).astype(np.float32)
    return Clip(f"step{i:02d}", audio[:, None], labels=[0], f0_hz=f0, f0_hop_seconds=HOP)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth")
    synth_dataset(str(path), ["pitched", "vowel", "white_noise"], clips_per_class=4,
                  seconds=0.5, splits=None, num_shards=1)
    return path


def _synth_truth(path):
    """Audio (as stored) and f0 each synthetic clip was made with, in the shard's order."""
    audio, f0 = [], []
    for rec in tf.data.TFRecordDataset(sorted(str(p) for p in path.glob("*.tfrecord"))):
        name, index = parse_example_numpy(rec.numpy())["id"].split("/")
        x, track = synth_clip(name, int(index), 16000, 0.5)
        audio.append(to_pcm16(x) / np.float32(32768))
        f0.append(track)
    return np.stack(audio), np.stack(f0)


def test_num_frames_are_centred_frames():
    assert f0_num_frames(16000, 16000, 0.01) == 101  # CREPE: 1 + n // 160
    assert f0_num_frames(15999, 16000, 0.01) == 100
    assert f0_num_frames(22050, 22050, 0.01) == 101  # hop of 220.5 samples
    assert f0_num_frames(1, 16000, 0.01) == 1


def test_synthetic_clips_come_back_with_their_f0(synth_dir):
    audio, ref = _synth_truth(synth_dir)
    x, f0 = _all(audio_dataset(str(synth_dir), split=None, batch_size=5, shuffle=False,
                               targets="f0"))
    assert x.shape == (12, 8000) and f0.shape == (12, 51) and f0.dtype == np.float32
    np.testing.assert_array_equal(x, audio)
    np.testing.assert_array_equal(f0, ref)  # same hop, no crop: the stored values
    assert (ref.any(axis=1)).sum() == 8  # pitched and vowel clips are voiced, noise is not


def test_resampled_reading_keeps_times(synth_dir):
    _, ref = _synth_truth(synth_dir)
    x, f0 = _all(audio_dataset(str(synth_dir), split=None, batch_size=12, shuffle=False,
                               targets="f0", sample_rate=8000))
    assert x.shape == (12, 4000)
    np.testing.assert_array_equal(f0, ref)  # frame k is still at k * 10 ms
    x, fine = _all(audio_dataset(str(synth_dir), split=None, batch_size=12, shuffle=False,
                                 targets="f0", sample_rate=22050, f0_hop_seconds=0.005))
    assert x.shape == (12, 11025)
    assert fine.shape == (12, f0_num_frames(11025, 22050, 0.005)) == (12, 101)
    np.testing.assert_array_equal(fine[:, ::2], ref)
    # between two voiced frames: the mean; next to an unvoiced frame: the nearest (t = k
    # + 0.5 rounds up to frame k + 1), never a value bridging the gap
    a, b = ref[:, :-1], ref[:, 1:]
    mid = np.where((a > 0) & (b > 0), (a + b) / 2, b)
    np.testing.assert_allclose(fine[:, 1::2], mid, rtol=1e-6)


@pytest.mark.parametrize("encoding,sample_rate", [("pcm16", None), ("flac", 6000)])
def test_random_crops_move_the_track_with_the_audio(tmp_path, encoding, sample_rate):
    rng = np.random.default_rng(5)
    # the changes fall on stored frames (a track can place a change no finer than its hop)
    changes = rng.integers(30, 70, 12) * int(HOP * SR)
    _write(tmp_path, [_step_clip(i, int(c)) for i, c in enumerate(changes)], encoding)
    rate = sample_rate or SR
    ds = audio_dataset(str(tmp_path), batch_size=4, shuffle=False, clip_seconds=0.5, seed=3,
                       targets="f0", sample_rate=sample_rate, repeat=True)
    checked, offsets = 0, set()
    for x, f0 in ds.take(12):
        assert f0.shape == (4, 51)
        for row, track in zip(x.numpy(), f0.numpy(), strict=True):
            high = row > 0.25
            if high.all():  # the change lies before this crop (frame 0 may blend)
                assert (track[1:] == 200.0).all()
                continue
            if not high.any():  # ... or after it
                assert (track[:-1] == 100.0).all()
                continue
            audio_step = np.argmax(high) / rate
            f0_step = np.argmax(track > 150.0) * HOP
            # the crops are not on the stored frames' grid: the output frames are read
            # between them, and flip at the midpoint
            assert abs(f0_step - audio_step) <= HOP / 2 + 2 / rate, (f0_step, audio_step)
            assert (track[:np.argmax(track > 150.0)] <= 150.0).all()
            offsets.add(round(audio_step * SR))
            checked += 1
    assert checked >= 20 and len(offsets) >= 15  # many crops, at many offsets


def test_padding_is_unvoiced(tmp_path):
    clips = []
    for i, seconds in enumerate([0.3, 0.5, 0.234]):
        n = int(seconds * SR)
        f0 = np.full(f0_num_frames(n, SR, HOP), 150.0, np.float32)
        clips.append(Clip(f"c{i}", np.full((n, 1), 0.25, np.float32), labels=[0], f0_hz=f0,
                          f0_hop_seconds=HOP))
    _write(tmp_path, clips)
    for clip_seconds in (0.5, None):
        x, f0 = _all(audio_dataset(str(tmp_path), batch_size=3, shuffle=False,
                                   clip_seconds=clip_seconds, targets="f0"))
        assert x.shape == (3, 4000) and f0.shape == (3, 51)
        for row, track in zip(x, f0, strict=True):
            voiced = f0_num_frames(int(np.count_nonzero(row)), SR, HOP)
            assert (track[:voiced] == 150.0).all() and not track[voiced:].any()


def test_records_without_f0_are_named_or_skipped(tmp_path, capfd):
    clips = [_step_clip(i, 4000) for i in range(5)]
    clips[2] = Clip("no_pitch/a.wav", clips[2].audio, labels=[0])
    _write(tmp_path, clips)
    with pytest.raises(tf.errors.InvalidArgumentError, match="no_pitch/a.wav.*no f0 track"):
        _all(audio_dataset(str(tmp_path), batch_size=5, shuffle=False, targets="f0"))
    ds = audio_dataset(str(tmp_path), batch_size=5, shuffle=False, targets="f0",
                       skip_corrupt=True)
    x, f0 = _all(ds)
    assert x.shape == (4, SR) and f0.shape == (4, 101)
    assert ds.corruption.skipped_records == 1
    assert ds.corruption.events == [{"id": "no_pitch/a.wav", "skipped": 1}]
    assert "no_pitch/a.wav" in capfd.readouterr().err


def test_default_path_is_unchanged(tmp_path):
    rng = np.random.default_rng(2)
    clips = [_step_clip(i, int(c)) for i, c in enumerate(rng.integers(0, SR, 10))]
    _write(tmp_path, clips)
    # (random crops are not compared: their offsets come from a stateful random op in a
    # parallel map, so which batch gets which draw differs between runs, on either path)
    kw = dict(batch_size=4, shuffle=False, clip_seconds=0.3, random_crop=False)
    ds = audio_dataset(str(tmp_path), **kw)
    assert ds.element_spec == (tf.TensorSpec([None, 2400], tf.float32),
                               tf.TensorSpec([None], tf.int64))
    x0, y0 = _all(ds)
    assert y0.tolist() == [0] * 10
    starts = {c.audio[:2400, 0].tobytes() for c in clips}
    assert {row.tobytes() for row in x0} == starts
    x1, f0 = _all(audio_dataset(str(tmp_path), targets="f0", **kw))
    np.testing.assert_array_equal(x0, x1)
    assert f0.shape == (10, 31)


def test_bad_arguments(tmp_path):
    _write(tmp_path, [_step_clip(0, 100)])
    with pytest.raises(ValueError, match="targets"):
        audio_dataset(str(tmp_path), targets="pitch")
    with pytest.raises(ValueError, match="f0_hop_seconds"):
        audio_dataset(str(tmp_path), targets="f0", f0_hop_seconds=0.0)


def _f0_source(root):
    """voice/a.wav + CREPE-style a.f0.csv, b.wav + headerless 20 ms b.f0.csv, c.wav alone."""
    import soundfile as sf

    rng = np.random.default_rng(1)
    for name in ("a", "b", "c"):
        path = root / "voice" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), rng.integers(-9000, 9000, (8000, 1), dtype=np.int16), 16000)
    times = np.arange(51) * 0.01
    freq = np.linspace(200.0, 300.0, 51)
    conf = np.where(times < 0.25, 0.9, 0.1)
    rows = "".join(f"{t:.3f},{f:.3f},{c:.6f}\n" for t, f, c in zip(times, freq, conf, strict=True))
    (root / "voice" / "a.f0.csv").write_text("time,frequency,confidence\n" + rows)
    (root / "voice" / "b.f0.csv").write_text("".join(f"{t:.2f},{150.0 if t < 0.2 else 0.0}\n"
                                                     for t in np.arange(26) * 0.02))
    (root / "notes.txt").write_text("not audio\n")
    return times, freq


def test_make_tfrecords_f0_from_csv(tmp_path, capsys):
    import json

    from tfaudio.cli import main
    from tfaudio.data.schema import parse_example_numpy

    times, freq = _f0_source(tmp_path / "src")
    out = tmp_path / "out"
    rc = main(["make-tfrecords", str(tmp_path / "src"), str(out), "--labels-from-dirs",
               "--sample-rate", "8000", "--f0-from-csv", "--quiet", "--workers", "1"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "f0 tracks: 2 of 3 clips; 1 without a .f0.csv" in text
    assert "no f0 track (no .f0.csv): voice/c.wav" in text
    m = json.loads((out / "dataset.json").read_text())
    assert m["inputs"] == m["total_clips"] == 3
    assert m["f0"] == {"from_csv": True, "min_confidence": None, "with_track": 2,
                       "missing": ["voice/c.wav"]}
    assert m["ignored_files"] == ["notes.txt"]  # the f0 CSVs are used, not ignored
    recs = {}
    for shard in out.glob("*.tfrecord"):
        for rec in tf.data.TFRecordDataset(str(shard)):
            r = parse_example_numpy(rec.numpy())
            recs[r["id"]] = r
    assert recs["voice/c.wav"]["f0_hz"] is None
    np.testing.assert_allclose(recs["voice/a.wav"]["f0_hz"], freq, rtol=1e-6)
    b = recs["voice/b.wav"]["f0_hz"]  # 20 ms steps: stored at that hop
    assert len(b) == f0_num_frames(4000, 8000, 0.02) == 26
    assert (b[:10] == 150.0).all() and not b[10:].any()
    assert main(["inspect", str(out)]) == 0
    capsys.readouterr()
    # the 10 ms track of b, read from its 20 ms record: nearest next to unvoiced frames
    ds = audio_dataset(str(out), batch_size=3, shuffle=False, targets="f0", skip_corrupt=True)
    x, f0 = _all(ds)
    assert x.shape == (2, 4000) and f0.shape == (2, 51)
    assert ds.corruption.events == [{"id": "voice/c.wav", "skipped": 1}]
    is_a = [np.allclose(row, freq, rtol=1e-6) for row in f0]
    assert sorted(is_a) == [False, True]
    row_b = f0[is_a.index(False)]  # stored frame 9 (0.18 s) is the last voiced one
    assert (row_b[:19] == 150.0).all() and not row_b[19:].any()
    capsys.readouterr()

    # confidence threshold (every CSV needs the column then); a bad CSV is a bad file
    args = ["make-tfrecords", str(tmp_path / "src"), str(tmp_path / "conf"),
            "--labels-from-dirs", "--f0-from-csv", "--f0-min-confidence", "0.5", "--quiet",
            "--workers", "1"]
    assert main(args) == 1
    assert "b.f0.csv: f0_min_confidence=0.5 needs a 'confidence' column" in \
        capsys.readouterr().out
    (tmp_path / "src" / "voice" / "b.f0.csv").write_text("time,frequency,confidence\n"
                                                        "0.0,100,1\n0.01,110,1\n")
    assert main(args) == 0
    m = json.loads((tmp_path / "conf" / "dataset.json").read_text())
    assert m["f0"]["min_confidence"] == 0.5
    for shard in (tmp_path / "conf").glob("*.tfrecord"):
        for rec in tf.data.TFRecordDataset(str(shard)):
            r = parse_example_numpy(rec.numpy())
            if r["id"] == "voice/a.wav":
                np.testing.assert_allclose(r["f0_hz"], np.where(times < 0.25, freq, 0.0),
                                           rtol=1e-6)
    (tmp_path / "src" / "voice" / "b.f0.csv").write_text("time,frequency\n0.0,100\n0.0,110\n")
    rc = main(["make-tfrecords", str(tmp_path / "src"), str(tmp_path / "bad"),
               "--labels-from-dirs", "--f0-from-csv", "--quiet", "--workers", "1"])
    text = capsys.readouterr().out
    assert rc == 1 and "b.f0.csv:3: times must increase" in text
    assert not (tmp_path / "bad" / "dataset.json").exists()
