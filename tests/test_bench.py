"""Smoke test of ``tfaudio bench`` (quick frontend suite, in process)."""

from __future__ import annotations

import json

from tfaudio import cli
from tfaudio.benchmarks import add_ratios, format_table


def test_bench_frontend_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--suite", "frontend", "--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "x-realtime" in printed and "tfaudio" in printed
    rows = json.loads(out.read_text())["rows"]
    assert {r["suite"] for r in rows} == {"frontend"}
    ours = [r for r in rows if r["impl"] == "tfaudio"]
    rivals = [r for r in rows if r.get("rival") and r["seconds"]]
    assert ours and all(r["seconds"] > 0 and r["xrealtime"] > 0 for r in ours)
    assert rivals and all(r["seconds"] > 0 for r in rivals)
    assert all(r["ratio"] > 0 for r in ours)


def test_bench_unknown_suite_is_skipped(capsys):
    assert cli.main(["bench", "--suite", "no_such_suite"]) == 0
    assert "not available" in capsys.readouterr().out


def test_ratios_and_table():
    rows = [
        {"suite": "s", "config": "c", "impl": "ours", "mode": "graph", "seconds": 0.01,
         "rival": False},
        {"suite": "s", "config": "c", "impl": "r1", "mode": "graph", "seconds": 0.02,
         "rival": True},
        {"suite": "s", "config": "c", "impl": "r2", "mode": "graph", "seconds": 0.03,
         "rival": True},
        {"suite": "s", "config": "c", "impl": "np", "mode": "numpy", "seconds": 0.1},
    ]
    add_ratios(rows)
    assert abs(rows[0]["ratio"] - 2.0) < 1e-9 and abs(rows[1]["ratio"] - 1.0) < 1e-9
    assert "ratio" not in rows[3]
    assert "2.00x" in format_table(rows)
    assert format_table(rows, markdown=True).startswith("| suite")
