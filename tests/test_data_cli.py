"""make-tfrecords, inspect and synth from the command line (in-process)."""

from __future__ import annotations

import json
import os

import numpy as np
import soundfile as sf

from tfaudio.cli import build_parser, main


def _src(root):
    rng = np.random.default_rng(0)
    for label in ("bird", "car"):
        for i in range(6):
            path = root / label / f"{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), rng.integers(-9000, 9000, (1600, 1), dtype=np.int16), 16000)
    return root


def test_commands_registered():
    help_text = build_parser().format_help()
    for name in ("make-tfrecords", "inspect", "synth"):
        assert name in help_text


def test_make_tfrecords_then_inspect(tmp_path, capsys):
    src = _src(tmp_path / "src")
    out = tmp_path / "out"
    rc = main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--shards", "2",
               "--split", "train=0.5,val=0.25,test=0.25", "--seed", "4", "--workers", "2",
               "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "12 clips" in text and "inputs 12 = written 12 + skipped 0" in text
    m = json.loads((out / "dataset.json").read_text())
    assert m["label_vocabulary"] == ["bird", "car"] and m["seed"] == 4
    assert main(["inspect", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "OK: all 12 records" in text and "bird" in text
    # corrupt one shard: inspect names it and fails
    shard = m["splits"]["train"]["shards"][0]["file"]
    data = bytearray((out / shard).read_bytes())
    data[len(data) // 2] ^= 0x55
    (out / shard).write_bytes(bytes(data))
    assert main(["inspect", str(out), "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "FAILED" in text and f"{shard}: record index" in text


def test_bad_file_exit_code_and_skip_bad(tmp_path, capsys):
    src = _src(tmp_path / "src")
    (src / "car" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    out = tmp_path / "out"
    assert main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "car/broken.wav" in text and "nothing was written" in text
    assert not (out / "dataset.json").exists()
    assert main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--skip-bad",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "inputs 13 = written 12 + skipped 1" in text and "skipped car/broken.wav" in text
    m = json.loads((out / "dataset.json").read_text())
    assert [s["file"] for s in m["skipped"]] == ["car/broken.wav"]
    assert main(["inspect", str(out), "--quiet"]) == 0


def test_empty_folder_and_unknown_vocab(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["make-tfrecords", str(tmp_path / "empty"), str(tmp_path / "o"), "--quiet"]) == 2
    assert "no audio files" in capsys.readouterr().out
    src = _src(tmp_path / "src")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("bird\n")
    assert main(["make-tfrecords", str(src), str(tmp_path / "o"), "--labels-from-dirs",
                 "--vocab", str(vocab), "--quiet"]) == 2
    assert "'car'" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "nothing")]) == 2


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["synth", str(out), "--classes", "sine,clicks", "vowel",
                 "--clips-per-class", "5", "--seconds", "0.25", "--quiet"]) == 0
    assert "15 clips" in capsys.readouterr().out
    assert main(["inspect", str(out), "--quiet"]) == 0
    assert sorted(os.listdir(out))[0] == "dataset.json"
    assert main(["synth", str(tmp_path / "x"), "--classes", "meow", "--quiet"]) == 2


def test_bench_data_suite_quick():
    from tfaudio.benchmarks import data

    rows = data.run(quick=True)
    impls = [r["impl"] for r in rows]
    assert impls[:3] == ["tfaudio.data", "tfaudio.data", "tf.data minimal"]
    assert "vggish front end" in impls and "tfaudio.data + front end" in impls
    for r in rows:
        assert r["suite"] == "data" and r["mode"] == "pipeline"
        assert {"config", "seconds", "note"} <= set(r)
        if r["impl"] != "keras":
            assert r["seconds"] > 0 and r["items_per_s"] > 0
