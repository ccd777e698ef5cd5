"""Run every benchmark in one process and print one table.

    python -m benchmarks [--quick] [--json out.json] [--only stream,producer]
    python -m benchmarks --only scaleout --hubs 1,2,4,8 --viewers 1000

Each benchmark module has ``run(quick) -> list[row]`` (see ``_common.row``);
ratios are always wsbridge / raw Tornado measured in this same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from typing import Any

BENCHMARKS = {
    "stream": "benchmarks.bench_stream",
    "roundtrip": "benchmarks.bench_roundtrip",
    "fanout": "benchmarks.bench_fanout",
    "memory": "benchmarks.bench_memory",
    "stalled": "benchmarks.bench_stalled",
    "browser": "benchmarks.bench_browser",
    "producer": "benchmarks.bench_producer",
    "scaleout": "benchmarks.bench_scaleout",
    "upload": "benchmarks.bench_upload",
    "image": "benchmarks.bench_image",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3g}"
    return str(value)


def _git_head() -> str | None:
    """The commit measured (``+dirty`` when the tree had local changes)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def _plain(value: Any) -> Any:
    """numpy scalars and anything else JSON does not know, as plain values."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = ["bench", "case", "unit", "wsbridge", "baseline", "ratio", "target", "ok", "others"]
    lines = []
    for r in rows:
        target = "-"
        if r["target"] is not None:
            target = r["target_is"].replace("value ", "").replace("ratio ", "") + _fmt(r["target"])
        ok = {True: "yes", False: "NO", None: "-"}[r["pass"]]
        others = ", ".join(f"{k} {_fmt(v)}" for k, v in r["others"].items())
        if r["baseline_is"] != "raw tornado" and r["baseline"] is not None:
            others = f"baseline: {r['baseline_is']}" + (f"; {others}" if others else "")
        if r["notes"]:
            others = f"{others}; {r['notes']}" if others else r["notes"]
        lines.append(
            [
                r["bench"],
                r["case"],
                r["unit"],
                _fmt(r["wsbridge"]),
                _fmt(r["baseline"]),
                _fmt(r["ratio"]),
                target,
                ok,
                others,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    widths[-1] = 0  # the last column is free text
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out.append("-+-".join("-" * max(w, 6) for w in widths))
    for line in lines:
        out.append(" | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--json", metavar="PATH", help="write every result as JSON here")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--hubs",
        default="1,2",
        help="scaleout: comma-separated hub counts on Redis (default 1,2), e.g. 1,2,4,8",
    )
    parser.add_argument(
        "--viewers",
        type=int,
        default=None,
        help="scaleout: viewers per hub (default 400, --quick 100)",
    )
    args = parser.parse_args(argv)
    try:
        hubs = [int(h) for h in args.hubs.split(",") if h.strip()]
    except ValueError:
        parser.error(f"--hubs takes comma-separated counts, not {args.hubs!r}")
    if not hubs or min(hubs) < 1 or (args.viewers is not None and args.viewers < 1):
        parser.error("--hubs and --viewers need counts >= 1")
    options: dict[str, dict[str, Any]] = {"scaleout": {"hubs": hubs, "viewers": args.viewers}}
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(BENCHMARKS[name])
            got = module.run(args.quick, **options.get(name, {}))
            rows.extend(got)
            for r in got:
                print("   " + table([r]).splitlines()[-1], file=sys.stderr, flush=True)
        except Exception:
            failures[name] = traceback.format_exc()
            print(failures[name], file=sys.stderr, flush=True)
        timings[name] = time.perf_counter() - t0
    print(table(rows))
    for name, tb in failures.items():
        print(f"\n{name} FAILED: {tb.strip().splitlines()[-1]}")
    if args.json:
        import numpy
        import tornado

        import wsbridge

        meta = {
            "quick": args.quick,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(),
            "tornado": tornado.version,
            "numpy": numpy.__version__,
            "wsbridge": getattr(wsbridge, "__version__", "?"),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": timings,
            "git": _git_head(),
        }
        with open(args.json, "w") as f:
            json.dump(
                {"meta": meta, "results": rows, "failures": failures},
                f,
                indent=1,
                default=_plain,
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
