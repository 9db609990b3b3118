"""Smoke test of ``tfaudio bench --suite train`` (quick, in process)."""

from __future__ import annotations

import json
import math

from tfaudio import cli
from tfaudio.benchmarks import train as train_bench
from tfaudio.commands.bench import available_suites


def test_bench_train_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--suite", "train", "--quick", "--json", str(out)]) == 0
    assert "train step, audio_dataset" in capsys.readouterr().out
    rows = json.loads(out.read_text())["rows"]
    assert {r["suite"] for r in rows} == {"train"}
    by_impl = {r["impl"]: r for r in rows}
    assert set(by_impl) == {"train step, batches in memory", "train step, audio_dataset"}
    for r in rows:
        for key in ("seconds", "items_per_s", "ratio"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["impl"], key, r[key])
        assert r["mode"] == "graph" and "32 x 1s@16k" in r["config"]  # the recipe: no XLA
    assert by_impl["train step, batches in memory"]["ratio"] == 1.0


def test_train_suite_is_listed():
    assert "train" in available_suites()


def test_default_recipe_without_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train_bench, "RECIPE", "models/no_such_recipe.toml")
    m = train_bench._recipe().model
    assert (m.width, m.batch_norm, m.dropout) == (0.25, True, 0.2)


def test_bench_distribute_rows(monkeypatch):
    """The distribute suite's machinery on two configurations (the full four take
    minutes): real trainings in subprocesses, epoch times from history.jsonl."""
    from tfaudio.benchmarks import distribute as dist_bench

    monkeypatch.setattr(dist_bench, "CONFIGS", [("one device", "default", False, 0, 1),
                                                ("broken", "mirrored", False, -1, 1)])
    rows = dist_bench.run(quick=True)
    by_impl = {r["impl"]: r for r in rows}
    ok = by_impl["one device"]
    assert ok["ratio"] == 1.0 and ok["seconds"] > 0
    assert math.isclose(ok["items_per_s"], 36 / ok["seconds"])
    assert by_impl["broken"]["seconds"] is None
    assert by_impl["broken"]["note"].startswith("failed: training failed")
    assert "distribute" in available_suites()
