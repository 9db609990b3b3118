"""``tfaudio bench``: run the benchmark suites and print a table.

Suites live in ``tfaudio/benchmarks/<suite>.py`` (see :mod:`tfaudio.benchmarks`
for the protocol); suites not written yet are skipped with a message.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time


def register(sub: argparse._SubParsersAction) -> None:
    """Adds the ``bench`` sub-command to the CLI.

    Args:
        sub: the sub-parsers object of the ``tfaudio`` parser.
    """
    p = sub.add_parser("bench", help="time tfaudio against rival front ends (x-realtime, ratios)")
    p.add_argument("--suite", default="frontend,augment,data",
                   help="comma-separated suites to run, or 'all' (default: frontend,augment,data;"
                        f" available: {', '.join(available_suites()) or 'none'})")
    p.add_argument("--quick", action="store_true",
                   help="small inputs and few repeats (a smoke run, seconds)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.set_defaults(func=run)


def available_suites() -> list[str]:
    """Names of the suite modules in :mod:`tfaudio.benchmarks` (no imports of TF).

    Returns:
        The known suites first (frontend, augment, data), then any others, sorted.
    """
    import pkgutil

    import tfaudio.benchmarks as pkg

    found = {m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
    known = [n for n in pkg.SUITES if n in found]
    return known + sorted(found - set(known))


def _machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        info["load_avg"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    for mod in ("tensorflow", "keras", "numpy", "librosa", "kapre", "tensorflow_io"):
        try:
            info[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001 - optional packages
            info[mod] = None
    return info


def run_suites(names: list[str], quick: bool = False) -> list[dict]:
    """Runs the named suites and returns their rows with ratios filled in.

    Args:
        names: suite names (modules of :mod:`tfaudio.benchmarks`).
        quick: pass ``quick=True`` to every suite.

    Returns:
        All rows, after :func:`tfaudio.benchmarks.add_ratios`.
    """
    from tfaudio.benchmarks import add_ratios

    rows: list[dict] = []
    for name in names:
        try:
            module = importlib.import_module(f"tfaudio.benchmarks.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"tfaudio.benchmarks.{name}":
                print(f"[bench] suite {name!r} is not available, skipped", flush=True)
                continue
            raise
        print(f"[bench] running suite {name!r}{' (quick)' if quick else ''}", flush=True)
        t0 = time.perf_counter()
        suite_rows = module.run(quick=quick)
        print(f"[bench] suite {name!r}: {len(suite_rows)} rows in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        rows.extend(suite_rows)
    return add_ratios(rows)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tfaudio.benchmarks import format_table

    names = [s.strip() for s in args.suite.split(",") if s.strip()]
    if names == ["all"]:
        names = available_suites()
    if not names:
        raise SystemExit("tfaudio bench: --suite needs at least one suite name")
    machine = _machine()
    print(f"[bench] {machine['cpus']} CPUs, load {machine.get('load_avg')}, "
          f"TF {machine['tensorflow']}, Keras {machine['keras']}", flush=True)
    rows = run_suites(names, quick=args.quick)
    print()
    print(format_table(rows, markdown=args.markdown))
    if args.json:
        with open(args.json, "w") as f:
            command = f"tfaudio bench --suite {args.suite}" + (" --quick" if args.quick else "")
            json.dump({"command": command, "machine": machine, "rows": rows}, f, indent=2)
        print(f"\n[bench] wrote {args.json}")
    return 0


