"""Synthetic speakers: reproducible and batch-independent voices, f0 tracks that match the
audio, speakers that overlap in pitch yet differ in timbre, speaker-disjoint splits, the
trial list, the WAVs, and ``tfaudio synth --task speakers``."""

from __future__ import annotations

import json
import math
import os
import re
import wave

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.cli import main
from tfaudio.data import (
    parse_example_numpy,
    read_trials,
    speaker_trials,
    speaker_voice,
    synth_speakers,
    synth_utterances,
)
from tfaudio.data import speakers as ss

SR = 16000


def test_utterances_reproducible_and_independent_of_their_batch():
    spk, utt, secs = [3, 1, 4, 1], [0, 5, 2, 3], [1.0, 2.3, 0.7, 1.5]
    audio, f0 = synth_utterances(spk, utt, secs, seed=2)
    assert audio.dtype == np.float32 and audio.shape == (4, int(2.3 * SR))
    assert f0.dtype == np.float32 and f0.shape == (4, 1 + int(2.3 * SR) // 160)
    again, f0_again = synth_utterances(spk, utt, secs, seed=2)
    np.testing.assert_array_equal(audio, again)
    np.testing.assert_array_equal(f0, f0_again)
    for k in range(4):  # alone, or with a batch size of 1: bit-identical
        n = int(round(secs[k] * SR))
        alone, f0_alone = synth_utterances([spk[k]], [utt[k]], secs[k], seed=2)
        np.testing.assert_array_equal(audio[k, :n], alone[0])
        assert not audio[k, n:].any()  # zero padding after a shorter utterance
        np.testing.assert_array_equal(f0[k, :f0_alone.shape[1]], f0_alone[0])
        x = audio[k, :n]
        rms_db = 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        assert -27.0 < rms_db < -15.0 and np.abs(x).max() <= 0.99
    np.testing.assert_array_equal(synth_utterances(spk, utt, secs, seed=2, batch_size=1)[0],
                                  audio)
    assert not np.array_equal(synth_utterances([3], [0], 1.0, seed=3)[0][0], audio[0, :SR])
    assert not np.array_equal(synth_utterances([3], [1], 1.0, seed=2)[0][0], audio[0, :SR])


def test_f0_track_matches_the_audio():
    """On steady voiced stretches the spectrum has its harmonics at multiples of the stored
    f0: at ``k f0`` it is far above the midpoints ``(k - 1/2) f0`` (a track off by an
    octave either way would fail: at half the f0 the midpoints are harmonics, at twice
    it every other multiple falls between harmonics)."""
    audio, f0 = synth_utterances([0, 5, 9, 12], [0, 0, 1, 1], 3.0)
    ratios = []
    for x, track in zip(audio, f0, strict=True):
        for c in range(10, track.size - 10, 2):
            window = track[c - 5:c + 6]
            if not np.all(window > 0) or np.ptp(window) > 0.02 * window.mean():
                continue
            seg = x[c * 160 - 800:c * 160 + 800].astype(np.float64) * np.hanning(1600)
            spec = np.abs(np.fft.rfft(seg, SR))  # 1 Hz bins

            def level(hz, spec=spec):
                i = int(round(hz))
                return spec[i - 3:i + 4].max()

            k = np.arange(1, 5)
            ratio = np.mean([20 * np.log10(level(j * track[c]) / level((j - 0.5) * track[c]))
                             for j in k])
            ratios.append(ratio)
    assert len(ratios) >= 10
    assert np.median(ratios) > 15.0 and np.min(ratios) > 3.0  # dB
    assert 0.3 < np.mean(f0 > 0) < 0.9  # pauses and fricatives are unvoiced


def test_resonator_log_magnitude_equals_the_transfer_function():
    f = np.fft.rfftfreq(512, 1 / SR)
    centres, bws = np.array([[500.0, 1500.0, 2500.0, 7800.0]]), np.array([[80.0, 100.0, 150.0,
                                                                          200.0]])
    got = ss._resonance_log(f, centres, bws, SR)[0]
    want = np.zeros_like(f)
    z = np.exp(-2j * np.pi * f / SR)
    for c, b in zip(centres[0], bws[0], strict=True):
        if c >= 0.95 * SR / 2:
            continue  # left out above 0.95 Nyquist
        r, th = math.exp(-math.pi * b / SR), 2 * math.pi * c / SR
        want += np.log(np.abs((1 - 2 * r * math.cos(th) + r * r)
                              / (1 - 2 * r * math.cos(th) * z + r * r * z * z)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert abs(got[0]) < 1e-12  # unity gain at 0 Hz


def _ltas(x):
    """Long-term average log spectrum of the louder half of the frames, 20 log bands."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256] * np.hanning(512)
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    e = p.sum(axis=1)
    m = p[e > np.median(e)].mean(axis=0)
    f = np.fft.rfftfreq(512, 1 / SR)
    edges = np.geomspace(200, 7800, 21)
    return np.log([m[(f >= lo) & (f < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:],
                                                                    strict=True)])


def _nearest_centroid_accuracy(features, speakers, utterances, enrol):
    f = features.reshape(speakers, utterances, -1)
    centroids = f[:, :enrol].mean(axis=1)
    test = f[:, enrol:].reshape(-1, f.shape[-1])
    pred = ((test[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    return float(np.mean(pred == np.repeat(np.arange(speakers), utterances - enrol)))


def test_speakers_overlap_in_pitch_but_differ_in_timbre():
    # Mean f0: two clusters, and most speakers have another within a semitone.
    f0s = np.array([speaker_voice(k).f0_hz for k in range(60)])
    st = 12 * np.log2(f0s)
    gap = np.abs(st[:, None] - st[None])
    np.fill_diagonal(gap, np.inf)
    assert np.mean(gap.min(axis=1) < 1.0) >= 0.85  # measured 0.93
    assert np.sum(f0s < 150) >= 15 and np.sum(f0s >= 150) >= 15
    # 10 speakers x 6 utterances of 1.5 s: classify 3 by the centroid of the other 3
    # (chance 0.1) from the median f0 alone, or from the long-term spectrum.
    s, u = 10, 6
    audio, f0 = synth_utterances(np.repeat(np.arange(s), u), np.tile(np.arange(u), s), 1.5)
    pitch = np.array([[np.median(np.log(t[t > 0]))] for t in f0])
    timbre = np.stack([_ltas(x) for x in audio])
    timbre = timbre - timbre.mean(axis=1, keepdims=True)
    timbre = (timbre - timbre.mean(0)) / timbre.std(0)
    by_pitch = _nearest_centroid_accuracy(pitch, s, u, 3)
    by_timbre = _nearest_centroid_accuracy(timbre, s, u, 3)
    assert by_timbre >= 0.3  # measured 0.367: distinguishable, not trivially
    assert by_pitch <= 0.3  # measured 0.2: pitch alone does not identify them


def test_trial_list():
    trials = speaker_trials(range(10, 16), 5, 101, seed=1)
    assert len(trials) == 101 and sum(t[0] for t in trials) == 50
    pairs = set()
    for label, a, b in trials:
        assert re.fullmatch(r"spk\d{4}/\d{5}", a) and re.fullmatch(r"spk\d{4}/\d{5}", b)
        assert 10 <= int(a[3:7]) < 16 and 10 <= int(b[3:7]) < 16
        assert (a.split("/")[0] == b.split("/")[0]) == bool(label) and a != b
        key = tuple(sorted((a, b)))
        assert key not in pairs
        pairs.add(key)
    assert trials == speaker_trials(range(10, 16), 5, 101, seed=1)
    assert trials != speaker_trials(range(10, 16), 5, 101, seed=2)
    with pytest.raises(ValueError, match="only 20 and 25 distinct pairs"):
        speaker_trials([0, 1], 5, 80)
    with pytest.raises(ValueError, match=">= 2 test speakers"):
        speaker_trials([0], 5, 10)


def _records(path):
    return [parse_example_numpy(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]


def test_dataset_splits_wavs_and_trials(tmp_path):
    kw = dict(num_speakers=6, test_speakers=3, utterances_per_speaker=4, seconds=(0.4, 0.7),
              val_fraction=0.25, num_trials=12)
    m = synth_speakers(str(tmp_path / "a"), **kw)
    gen = m["generator"]
    assert (gen["train_speakers"], gen["test_speakers"], gen["val_utterances_per_speaker"]) \
        == (3, 3, 1)
    assert m["label_vocabulary"] == [f"spk{k:04d}" for k in range(6)]
    assert {k: s["clips"] for k, s in m["splits"].items()} == {"train": 9, "val": 3, "test": 12}
    assert m["total_clips"] == 24 == m["inputs"]
    root = tmp_path / "a"
    seen = {}
    for split, info in m["splits"].items():
        for shard in info["shards"]:
            for r in _records(root / shard["file"]):
                seen[r["id"]] = (split, r)
    assert len(seen) == 24
    for cid, (split, r) in seen.items():
        spk, utt = int(cid[3:7]), int(cid[-5:])
        assert r["labels"] == [spk] and r["label_text"] == [f"spk{spk:04d}"]
        assert split == ("test" if spk >= 3 else "val" if utt == 3 else "train")
        assert 0.4 * SR <= r["num_samples"] <= 0.7 * SR and r["f0_hz"] is not None
    train_spk = {c[:7] for c, (s, _) in seen.items() if s != "test"}
    test_spk = {c[:7] for c, (s, _) in seen.items() if s == "test"}
    assert train_spk == {"spk0000", "spk0001", "spk0002"} and not train_spk & test_spk
    # trials.txt: VoxCeleb's "<label> <enroll> <test>", half targets, naming real WAVs
    # whose audio is the record's (pcm16 both).
    lines = (root / "trials.txt").read_text().splitlines()
    assert len(lines) == 12 and sum(line[0] == "1" for line in lines) == 6
    for line in lines:
        assert re.fullmatch(r"[01] spk000[345]/\d{5}\.wav spk000[345]/\d{5}\.wav", line)
        for name in line.split()[1:]:
            with wave.open(str(root / "wav" / name)) as w:
                assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)
                pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
            np.testing.assert_array_equal(pcm / 32768.0, seen[name[:-4]][1]["audio"][:, 0])
    assert len(os.listdir(root / "wav")) == 3
    labels, enroll, test = read_trials(str(root / "trials.txt"))
    assert labels.tolist() == [int(line[0]) for line in lines] and len(enroll) == len(test) == 12
    assert all((root / "wav" / name).exists() for name in enroll + test)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 a.wav b.wav\n\n2 a.wav c.wav\n")
    with pytest.raises(ValueError, match=r"bad.txt:3: expected '<1\|0> <enroll> <test>'"):
        read_trials(str(bad))
    # Deterministic: the same bytes again. (The records are the writer's schema, parsed
    # above; audio_dataset reads them like any dataset, not repeated here: ~15 s.)
    synth_speakers(str(tmp_path / "b"), **kw)
    for name in ["trials.txt", "wav/spk0004/00002.wav"] + [
            s["file"] for info in m["splits"].values() for s in info["shards"]]:
        assert (root / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    with pytest.raises(FileExistsError):
        synth_speakers(str(root), **kw)
    synth_speakers(str(root), **{**kw, "num_trials": 8}, overwrite=True, write_wavs=False)
    assert len((root / "trials.txt").read_text().splitlines()) == 8
    assert not (root / "wav").exists()


@pytest.mark.parametrize("kw,pattern", [
    (dict(num_speakers=3, test_speakers=3), "test_speakers=3 must be >= 2 and below"),
    (dict(num_speakers=3, test_speakers=1), "test_speakers=1 must be >= 2"),
    (dict(utterances_per_speaker=2, val_fraction=0.75), "leaves no training utterance"),
    (dict(seconds=(2.0, 1.0)), "max must be >= min"),
    (dict(seconds=0.0), "seconds=0.0"),
])
def test_bad_arguments(tmp_path, kw, pattern):
    with pytest.raises(ValueError, match=re.escape(pattern)):
        synth_speakers(str(tmp_path / "x"), **kw)
    assert not (tmp_path / "x" / "dataset.json").exists()


def test_synth_command_speakers(tmp_path, capsys):
    out = tmp_path / "spk"
    assert main(["synth", str(out), "--task", "speakers", "--speakers", "5",
                 "--test-speakers", "2", "--utterances", "3", "--seconds", "0.3",
                 "--trials", "6", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "15 clips" in text and "3 training (labels 0-2), 2 test; 6 trials in trials.txt" \
        in text
    m = json.loads((out / "dataset.json").read_text())
    assert m["generator"]["task"] == "speakers" and m["source"] == "tfaudio synth --task speakers"
    assert main(["inspect", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["synth", str(tmp_path / "x"), "--task", "speakers", "--classes", "sine"]) == 2
    assert "--classes do(es) not apply to --task speakers" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "y"), "--speakers", "4", "--quiet"]) == 2
    assert main(["synth", str(tmp_path / "z"), "--task", "speakers", "--speakers", "2",
                 "--quiet"]) == 2
    assert "test_speakers=20 must be >= 2 and below num_speakers=2" in capsys.readouterr().out


def test_writer_takes_a_clip_split(tmp_path):
    from tfaudio.data import Clip, DatasetWriter

    with DatasetWriter(str(tmp_path / "w"), SR, vocabulary=["a"],
                       splits="train=0.5,test=0.5") as w:
        assert w.add(Clip("x", np.zeros(10, np.float32), [0], split="test")) == "test"
        with pytest.raises(ValueError, match=r"y: split='dev' is not one of the dataset's "
                                             r"splits \['train', 'test'\]"):
            w.add(Clip("y", np.zeros(10, np.float32), [0], split="dev"))
        m = w.close()
    assert m["splits"]["test"]["clips"] == 1 and m["splits"]["train"]["clips"] == 0
