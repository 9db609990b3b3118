"""Smoke test of the ``separation`` bench suite (quick form, in process)."""

from __future__ import annotations

import math


def test_bench_separation_quick():
    from tfaudio.benchmarks import separation as suite
    from tfaudio.commands.bench import available_suites

    assert "separation" in available_suites()
    rows = suite.run(quick=True)
    assert [r["config"] for r in rows] == [
        "cpu (8 kHz, width 0.64): batch 1 x 1s",
        "cpu (8 kHz, width 0.64): batch 2 x 1s",
        "cpu, 2 shifts (8 kHz, width 0.64): batch 1 x 1s",
        "cpu, 2 shifts (8 kHz, width 0.64): batch 2 x 1s",
        "cpu, 2 shifts (8 kHz, width 0.64): separate_long 1 x 4s (1s windows, 50% overlap)"]
    for r in rows:
        assert r["suite"] == "separation" and r["impl"] == "tfaudio" and r["mode"] == "graph"
        assert r["seconds"] > 0 and r["params"] > 0
        assert math.isfinite(r["xrealtime"]) and r["xrealtime"] > 0
        assert math.isclose(r["xrealtime"], r["audio_seconds"] / r["seconds"])
    assert [r["audio_seconds"] for r in rows] == [1.0, 2.0, 1.0, 2.0, 4.0]
    assert rows[0]["params"] == rows[2]["params"]  # the shifts add passes, not weights


def test_cpu_config_is_the_small_recipe():
    """The benchmarked CPU model is models/separation_small.toml's model."""
    import os

    from tfaudio.benchmarks.separation import SMALL, SMALL_SHIFTS
    from tfaudio.train import recipe as R

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    small = R.load(os.path.join(root, "models", "separation_small.toml"))
    assert small.data.sample_rate == 8000
    for key, value in SMALL.items():
        assert getattr(small.model, key) == value, key
    assert small.model.shifts == SMALL_SHIFTS
    assert small.model.head_width == 0.0  # the builder's default: width
    from tfaudio.benchmarks import onednn  # its training step is the recipe's batch

    assert (small.train.batch_size, small.data.clip_seconds) == (onednn.TRAIN_BATCH,
                                                                 onednn.TRAIN_SECONDS)


def test_bench_onednn_quick():
    """The oneDNN suite runs each setting in its own process with the variable set."""
    from tfaudio.benchmarks import onednn as suite
    from tfaudio.commands.bench import available_suites

    assert "onednn" in available_suites()
    rows = suite.run(quick=True)
    assert [(r["config"], r["impl"]) for r in rows] == [
        ("separation_small train step, batch 4 x 0.5s", "oneDNN off"),
        ("separation_small train step, batch 4 x 0.5s", "oneDNN on"),
        ("separation_small separate, batch 2 x 1s", "oneDNN off"),
        ("separation_small separate, batch 2 x 1s", "oneDNN on")]
    for off, on in (rows[:2], rows[2:]):
        assert off["note"].startswith("TF_ENABLE_ONEDNN_OPTS=0,")
        assert on["note"].startswith("TF_ENABLE_ONEDNN_OPTS=1,")
        assert off["ratio"] == 1.0
        assert math.isclose(on["ratio"], off["seconds"] / on["seconds"])
        for r in (off, on):
            assert r["seconds"] > 0 and r["rounds_seconds"] == [r["seconds"]]
        assert math.isclose(on["xrealtime"] / off["xrealtime"], on["ratio"])
