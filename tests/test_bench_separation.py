"""Smoke test of the ``separation`` bench suite (quick form, in process)."""

from __future__ import annotations

import math


def test_bench_separation_quick():
    from tfaudio.benchmarks import separation as suite
    from tfaudio.commands.bench import available_suites

    assert "separation" in available_suites()
    rows = suite.run(quick=True)
    assert [r["config"] for r in rows] == [
        "cpu (8 kHz, width 0.0833): batch 1 x 1s",
        "cpu (8 kHz, width 0.0833): batch 2 x 1s",
        "cpu (8 kHz, width 0.0833): separate_long 1 x 4s (1s windows, 50% overlap)"]
    for r in rows:
        assert r["suite"] == "separation" and r["impl"] == "tfaudio" and r["mode"] == "graph"
        assert r["seconds"] > 0 and r["params"] > 0
        assert math.isfinite(r["xrealtime"]) and r["xrealtime"] > 0
        assert math.isclose(r["xrealtime"], r["audio_seconds"] / r["seconds"])
    assert [r["audio_seconds"] for r in rows] == [1.0, 2.0, 4.0]
