"""`python -m bench [--quick] [--only a,b] [--out BENCHMARKS.md] [--postgres auto|off] [--proposed]`."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    abort,
    ack,
    curves,
    debrief,
    fleet_curve,
    ingest,
    live_logs,
    memory,
    outbox,
    procs,
    programme,
    proposed,
    sbom,
    slack_calls,
    steady,
    timers,
)
from bench.charts import draw
from bench.databases import drop_created, postgres
from bench.machine import cpu_ticks, describe, steal_share
from bench.report import render
from bench.results import Section

Bench = Callable[[Path, bool, str | None], Section]
BENCHMARKS: dict[str, Bench] = {
    "ack": lambda run_dir, quick, pg: ack.run(run_dir, quick),
    "ingest": ingest.run,
    "timers": timers.run,
    "outbox": outbox.run,
    "debrief": lambda run_dir, quick, pg: debrief.run(quick),
    "sbom": lambda run_dir, quick, pg: sbom.run(run_dir, quick),
    "steady": lambda run_dir, quick, pg: steady.run(quick),
    "logs": lambda run_dir, quick, pg: live_logs.run(quick),
    "abort": lambda run_dir, quick, pg: abort.run(run_dir, quick),
    "memory": lambda run_dir, quick, pg: memory.run(run_dir, quick),
    "slack-calls": lambda run_dir, quick, pg: slack_calls.run(run_dir, quick),
    "growth": lambda run_dir, quick, pg: curves.run(run_dir, quick),
    "fleet": fleet_curve.run,
    "report": programme.run,
}
SETTLE_SECONDS = 10.0
"""Pause before each section (after a sync): one section's write-back never lands in the next one's
figures (timer lateness right after the ingest run had a p99 six times its figure alone)."""
CHARTS = "bench/charts"
"""Where the charts of `make bench` go, beside BENCHMARKS.md (another --out: a folder beside it)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts: proves the harness runs")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=None, help="default BENCHMARKS.md (--proposed: none)")
    parser.add_argument(
        "--postgres", choices=("auto", "off"), default="off", help="auto: start one if possible"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, databases)")
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="measure the bot with bench/proposed.py's patches (before/after)",
    )
    args = parser.parse_args(argv)
    out = args.out or (None if args.proposed else Path("BENCHMARKS.md"))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.proposed:
        proposed.apply()  # in this process (abort, debrief, slack calls) and in every `sce serve`
        procs.SERVE = [sys.executable, "-m", "bench.proposed_serve"]
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    began = time.monotonic()
    sections: list[Section] = []
    failures = 0
    run_dir = Path(tempfile.mkdtemp(prefix="sce-bench."))
    with postgres(args.postgres) as (pg_url, pg_note):
        for name in chosen:
            print(f"bench: {name}...", file=sys.stderr, flush=True)
            if not args.quick:  # the last section's writes reach the disk before this one measures
                os.sync()
                time.sleep(SETTLE_SECONDS)
            start, load, ticks = time.monotonic(), os.getloadavg()[0], cpu_ticks()
            try:
                section = BENCHMARKS[name](run_dir, args.quick, pg_url)
            except Exception:
                failures += 1
                section = Section(name, "n/a", notes=["FAILED:\n\n```\n" + traceback.format_exc() + "```"])
            section.seconds = time.monotonic() - start
            section.load = (load, os.getloadavg()[0])
            section.steal = steal_share(ticks, cpu_ticks())
            if not args.keep:
                drop_created()
            sections.append(section)
            print(f"bench: {name} took {section.seconds:.0f} s", file=sys.stderr, flush=True)
    charts = _draw_charts(sections, out, run_dir)
    text = render(
        sections, describe(pg_note), command, args.quick, time.monotonic() - began, args.proposed, charts
    )
    if out is not None:
        out.write_text(text)
    print(text)
    if args.keep or failures:
        print(f"bench: run folder (logs, databases) kept in {run_dir}", file=sys.stderr)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if failures else 0


def _draw_charts(sections: list[Section], out: Path | None, run_dir: Path) -> dict[str, str]:
    """Each curve's PNG; its path relative to ``out``'s folder (the run folder's when there is no out)."""
    if out is None:
        folder, base = run_dir / "charts", run_dir
    elif out.resolve() == (procs.ROOT / "BENCHMARKS.md").resolve():
        folder, base = procs.ROOT / CHARTS, procs.ROOT
    else:
        folder, base = out.parent / f"{out.stem}-charts", out.parent
    return {
        curve.name: draw(curve, folder / f"{curve.name}.png").relative_to(base.resolve()).as_posix()
        for section in sections
        for curve in section.curves
    }


if __name__ == "__main__":
    sys.exit(main())
