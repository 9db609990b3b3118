"""make-tfrecords, inspect and synth from the command line (in-process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

from tfaudio.cli import build_parser, main
from tfaudio.data import DatasetWriter
from tfaudio.data.writer import TEMP_PREFIX, leftover_folders


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


def _python_m(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "tfaudio", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_python_dash_m_tfaudio_is_the_command(tmp_path):
    r = _python_m("--version")
    assert r.returncode == 0 and r.stdout.strip().startswith("tfaudio ")
    assert "make-tfrecords" in _python_m("--help").stdout
    out = tmp_path / "syn"
    r = _python_m("synth", str(out), "--classes", "sine", "--clips-per-class", "3",
                  "--seconds", "0.1", "--quiet")
    assert r.returncode == 0 and "3 clips" in r.stdout
    assert _python_m("inspect", str(out), "--quiet").returncode == 0
    r = _python_m("make-tfrecords")  # exit codes pass through: argparse's usage error
    assert r.returncode == 2 and "usage: tfaudio make-tfrecords" in r.stderr


def test_truncated_files_stop_or_are_listed_or_kept(tmp_path, capsys):
    src = _src(tmp_path / "src")
    wav = (src / "car" / "0.wav").read_bytes()
    (src / "car" / "0.wav").write_bytes(wav[:-1000])  # header: 1600 frames; 1100 left
    out = tmp_path / "out"
    assert main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "car/0.wav: AudioDecodeError:" in text and "truncated WAV" in text
    assert "promises 1600 samples per channel" in text and "holds 1100" in text
    assert "nothing was written" in text and not (out / "dataset.json").exists()
    assert main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--skip-bad",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "inputs 12 = written 11 + skipped 1" in text and "skipped car/0.wav" in text
    out2 = tmp_path / "out2"
    assert main(["make-tfrecords", str(src), str(out2), "--labels-from-dirs",
                 "--allow-truncated", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "inputs 12 = written 12 + skipped 0" in text
    assert "kept truncated car/0.wav" in text and "holds 1100" in text
    m = json.loads((out2 / "dataset.json").read_text())
    assert [t["file"] for t in m["truncated"]] == ["car/0.wav"] and m["skipped"] == []
    assert m["num_samples"]["min"] == 1100  # what the file holds, nothing invented
    assert main(["inspect", str(out2), "--quiet"]) == 0


def test_killed_make_tfrecords_leftovers_are_reported_then_removed(tmp_path, capsys):
    rng = np.random.default_rng(1)
    src = tmp_path / "src"
    for i in range(400):  # enough work (decode + resample) to be killed in the middle
        path = src / ("ab"[i % 2]) / f"{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), rng.integers(-9000, 9000, (11025, 1), dtype=np.int16), 22050)
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "tfaudio", "make-tfrecords", str(src),
                             str(out), "--labels-from-dirs", "--workers", "1", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 120
        while not list(out.glob(".tfaudio-writing-*/*.partial")):  # writing records
            assert proc.poll() is None, "make-tfrecords ended before it could be killed"
            assert time.time() < deadline, "make-tfrecords wrote nothing within 120 s"
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no handler, no cleanup
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (out / "dataset.json").exists() and not list(out.glob("*.tfrecord"))
    (left,) = out.glob(".tfaudio-writing-*")
    assert list(left.glob("*.partial")) and (left / ".lock").exists()
    assert main(["inspect", str(out), "--quiet"]) == 2
    text = capsys.readouterr().out
    assert left.name in text and "interrupted" in text and "never finished" in text
    assert main(["make-tfrecords", str(src), str(out), "--labels-from-dirs", "--quiet"]) == 0
    assert f"removed the temporary folder {left.name}" in capsys.readouterr().err
    assert not list(out.glob(".tfaudio-writing-*")) and (out / "dataset.json").exists()
    assert main(["inspect", str(out), "--quiet"]) == 0


def test_leftover_folders_spare_live_writers(tmp_path):
    out = str(tmp_path / "out")
    live = DatasetWriter(out, 8000, vocabulary=["a"])
    try:
        assert leftover_folders(out) == []  # its lock is held
        other = DatasetWriter(out, 8000, vocabulary=["a"])  # does not touch it
        assert os.path.isdir(live._tmp)
        other.abort()
    finally:
        live.abort()
    old, young = tmp_path / "out" / f"{TEMP_PREFIX}old", tmp_path / "out" / f"{TEMP_PREFIX}new"
    for d in (old, young):  # no lock file: e.g. left by an older tfaudio
        d.mkdir()
        (d / "train-00000.partial").write_bytes(b"x" * 10)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (gone,) = leftover_folders(out, remove=True)
    assert gone["path"] == str(old) and gone["removed"] and gone["files"] == 1
    assert not old.exists() and young.exists()  # may be a writer that just started


def test_inspect_names_a_shard_that_cannot_be_opened(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["synth", str(out), "--classes", "sine", "--clips-per-class", "4",
                 "--seconds", "0.1", "--split", "train=1", "--quiet"]) == 0
    (shard,) = out.glob("train-*.tfrecord")
    shard.unlink()
    shard.mkdir()  # replaced by a folder
    capsys.readouterr()
    assert main(["inspect", str(out), "--quiet"]) == 1
    text = capsys.readouterr().out
    assert f"{shard.name}: cannot be read (FailedPreconditionError" in text
