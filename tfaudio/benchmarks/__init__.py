"""Benchmark suites for ``tfaudio bench``: a small shared protocol.

A suite is a module ``tfaudio/benchmarks/<suite>.py`` that exposes::

    def run(quick: bool = False) -> list[dict]: ...

Each returned row is a dict with the keys

==============  ==============================================================
``suite``       suite name, e.g. ``"frontend"``
``config``      short name of the input configuration, e.g. ``"a: 32x10s@16k"``
``impl``        implementation, e.g. ``"tfaudio"``, ``"keras"``, ``"librosa"``
``mode``        one of :data:`MODES`: ``"eager"``, ``"graph"`` (``tf.function``),
                ``"xla"`` (``jit_compile=True``), ``"numpy"``, ``"pipeline"``
``seconds``     median wall seconds per call (see :func:`time_call`)
==============  ==============================================================

and optionally ``xrealtime`` (seconds of audio processed per wall second),
``items_per_s``, ``rival`` (``True`` for a competitor, ``False`` for tfaudio
itself; rows without it take no part in ratios), ``ratio`` and ``note``.

``ratio`` is filled in by :func:`add_ratios` (the runner calls it): for every
row of a (suite, config, mode) group that holds rival rows, it is
``fastest rival seconds / row seconds``, so ``ratio > 1`` means faster than
the fastest rival. A suite may set ``ratio`` itself; it is then left alone.

``quick=True`` means a smoke run for the tests: smaller inputs and fewer
repeats (:func:`repeats`), finishing in seconds. Use :func:`time_call` for
timing and :func:`format_table` to print rows. Suites must import optional
competitors lazily and return a row with ``seconds=None`` and a ``note`` (or
omit it) when one is unavailable, rather than raising.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

MODES = ("eager", "graph", "xla", "numpy", "pipeline")
SUITES = ("frontend", "augment", "data", "resample", "train", "distribute", "crepe", "wavenet",
          "speaker", "separation", "onednn")


def repeats(quick: bool) -> tuple[int, int]:
    """Default ``(warmup, repeat)`` counts: small for quick runs.

    Args:
        quick: whether this is a quick (test) run.

    Returns:
        ``(warmup, repeat)`` to pass to :func:`time_call`.
    """
    return (1, 3) if quick else (3, 15)


def time_call(fn: Callable[[], Any], warmup: int = 3, repeat: int = 15,
              sync: Callable[[Any], Any] | None = None) -> float:
    """Median wall seconds of ``fn()``.

    Calls ``fn`` ``warmup`` times untimed (tracing, compilation, caches), then
    ``repeat`` times timed, and returns the median.

    Args:
        fn: zero-argument callable to time.
        warmup: untimed calls first.
        repeat: timed calls.
        sync: optional function applied to each result inside the timed
            region, to force completion (e.g. ``lambda t: t.numpy()``).
            By default a result with a ``.numpy`` method is converted.

    Returns:
        The median seconds per call.
    """
    def finish(out: Any) -> Any:
        if sync is not None:
            return sync(out)
        if hasattr(out, "numpy"):
            return out.numpy()
        return out

    for _ in range(max(0, warmup)):
        finish(fn())
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        finish(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_round_robin(
    fns: dict[str, Callable[[], Any]], warmup: int, repeat: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, float | str], dict[str, list[float]]]:
    """Times several callables round-robin: one call of each per round.

    Interleaving keeps the ratios between them robust to load that changes during
    the run (other jobs on the machine). A callable that raises during warm-up is
    reported with its error text instead of a time.

    Args:
        fns: name -> zero-argument callable (results with ``.numpy`` are converted).
        warmup: untimed calls of each first.
        repeat: timed rounds.
        progress: optional callback for progress lines.

    Returns:
        ``(result, rounds)``: ``result[name]`` is the median seconds per call or a
        ``"failed: ..."`` note; ``rounds[name]`` the seconds of each round, in the same
        round order for every callable.
    """

    def finish(out: Any) -> Any:
        return out.numpy() if hasattr(out, "numpy") else out

    live: dict[str, Callable[[], Any]] = {}
    result: dict[str, float | str] = {}
    for name, fn in fns.items():
        if progress:
            progress(f"  warm-up {name}")
        try:
            for _ in range(max(1, warmup)):
                finish(fn())
            live[name] = fn
        except Exception as err:  # noqa: BLE001 - an implementation that cannot run is reported
            result[name] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}"
    rounds: dict[str, list[float]] = {name: [] for name in live}
    for _ in range(max(1, repeat)):
        for name, fn in live.items():
            t0 = time.perf_counter()
            finish(fn())
            rounds[name].append(time.perf_counter() - t0)
    for name, ts in rounds.items():
        result[name] = statistics.median(ts)
    return result, rounds


def add_ratios(rows: list[dict]) -> list[dict]:
    """Fill ``ratio`` = fastest rival seconds / row seconds, in place.

    Groups are (suite, config, mode); only groups with at least one timed
    ``rival: True`` row get ratios, and only rows that carry ``rival`` and a
    time. Rows that already have a ``ratio`` are left unchanged.

    Args:
        rows: benchmark rows.

    Returns:
        The same list, for chaining.
    """
    best: dict[tuple, float] = {}
    for r in rows:
        if r.get("rival") is True and r.get("seconds"):
            key = (r.get("suite"), r.get("config"), r.get("mode"))
            best[key] = min(best.get(key, float("inf")), r["seconds"])
    for r in rows:
        key = (r.get("suite"), r.get("config"), r.get("mode"))
        if "ratio" in r or key not in best or "rival" not in r or not r.get("seconds"):
            continue
        r["ratio"] = best[key] / r["seconds"]
    return rows


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if key == "seconds":
        return f"{value * 1e3:.1f} ms"
    if key == "ratio":
        return f"{value:.2f}x"
    if key in ("xrealtime", "items_per_s"):
        return f"{value:,.0f}"
    return str(value)


def format_table(rows: Iterable[dict], markdown: bool = False) -> str:
    """Render rows as a plain-text (or Markdown) table.

    Columns: suite, config, impl, mode, time, x-realtime, items/s, ratio, note;
    columns that are empty in every row are dropped.

    Args:
        rows: benchmark rows.
        markdown: emit a GitHub Markdown table instead of aligned text.

    Returns:
        The table as a string.
    """
    rows = list(rows)
    cols = [("suite", "suite"), ("config", "config"), ("impl", "impl"), ("mode", "mode"),
            ("seconds", "time"), ("xrealtime", "x-realtime"), ("items_per_s", "items/s"),
            ("ratio", "ratio"), ("note", "note")]
    cols = [c for c in cols if any(r.get(c[0]) is not None for r in rows)]
    cells = [[_fmt(r.get(k), k) for k, _ in cols] for r in rows]
    heads = [h for _, h in cols]
    if markdown:
        lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(heads)]
    numeric = {"time", "x-realtime", "items/s", "ratio"}

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if h in numeric else v.ljust(w)
                         for v, w, h in zip(values, widths, heads, strict=True)).rstrip()

    out = [line(heads), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)
