"""Synthetic dataset: deterministic, labelled, plausible sounds, f0 tracks, through the writer."""

from __future__ import annotations

import numpy as np
import pytest

from tfaudio.data import SYNTH_CLASSES, audio_dataset, read_manifest, synth_clip, synth_dataset

SR = 16000


def _peak_hz(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * SR / len(x)


@pytest.mark.parametrize("name", SYNTH_CLASSES)
def test_every_class(name):
    x, f0 = synth_clip(name, 3, SR, 1.0, seed=0)
    assert x.shape == (SR,) and x.dtype == np.float32 and f0.shape == (101,)
    peak = np.abs(x).max()
    assert 10 ** (-31 / 20) < peak < 10 ** (-5.5 / 20)
    x2, f02 = synth_clip(name, 3, SR, 1.0, seed=0)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(f0, f02)
    assert not np.array_equal(x, synth_clip(name, 4, SR, 1.0, seed=0)[0])
    assert not np.array_equal(x, synth_clip(name, 3, SR, 1.0, seed=1)[0])
    voiced = f0 > 0
    if name in ("white_noise", "pink_noise", "clicks", "bursts"):
        assert not voiced.any()
    else:
        assert voiced.mean() > 0.5 and (f0[voiced] < SR / 2).all()


def test_f0_tracks_match_the_sound():
    x, f0 = synth_clip("sine", 0, SR, 1.0)
    mid = x[6000:10000]
    assert _peak_hz(mid) == pytest.approx(f0[80], rel=0.02, abs=5)
    up, f_up = synth_clip("chirp_up", 0, SR, 1.0)
    down, f_down = synth_clip("chirp_down", 0, SR, 1.0)
    v = f_up[f_up > 0]
    assert v[-1] > 1.9 * v[0]
    w = f_down[f_down > 0]
    assert w[-1] < w[0] / 1.9
    p, f_p = synth_clip("pitched", 2, SR, 1.0)
    frame = p[8000 - 1024:8000 + 1024]
    assert _peak_hz(frame) == pytest.approx(f_p[50], rel=0.06)  # frame 50 = sample 8000


def test_dataset_writes_splits_labels_and_reads_back(tmp_path):
    classes = ["sine", "white_noise", "clicks"]
    m = synth_dataset(str(tmp_path / "a"), classes, clips_per_class=10, seconds=0.5, seed=3)
    assert m["label_vocabulary"] == classes and m["total_clips"] == 30 == m["inputs"]
    assert set(m["splits"]) == {"train", "val", "test"}
    counts = {}
    for s in m["splits"].values():
        for k, v in s["labels"].items():
            counts[k] = counts.get(k, 0) + v
    assert counts == {c: 10 for c in classes}
    synth_dataset(str(tmp_path / "b"), classes, clips_per_class=10, seconds=0.5, seed=3)
    for split in m["splits"].values():
        for shard in split["shards"]:
            assert (tmp_path / "a" / shard["file"]).read_bytes() == \
                (tmp_path / "b" / shard["file"]).read_bytes()
    assert read_manifest(str(tmp_path / "b"))["generator"]["seed"] == 3
    x, y = next(iter(audio_dataset(str(tmp_path / "a"), batch_size=8, shuffle=False)))
    assert x.shape == (8, SR // 2) and set(y.numpy()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="'meow'"):
        synth_dataset(str(tmp_path / "c"), ["sine", "meow"])
