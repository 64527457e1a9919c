"""Writes RELIABILITY.md from artifacts/reliability.jsonl (the crash-point runs) and the test list below.

`make reliability` runs the reliability tests several times, then this script.
"""

from __future__ import annotations

import json
import platform
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    (
        "tests/test_crash_points.py",
        "SIGKILL after a timer is claimed, after a fault's intent is committed, after Slack took a "
        "message and before its ts was recorded, while the debrief renders; restart",
        "see the table below",
    ),
    ("tests/test_e2e_restart.py", "SIGKILL between two steps; restart", "each step once, none lost"),
    (
        "tests/test_replicas.py",
        "two replicas on one PostgreSQL, 20 game days, deliveries alternating "
        "and every acknowledgement retried by Slack to the other replica",
        "each step, escalation and acknowledgement once",
    ),
    (
        "tests/test_dependencies_failing.py",
        "Slack answering 500 twice; PostgreSQL dropping every "
        "connection mid-drill; the Kubernetes API gone during an abort",
        "nothing recorded lost; the abort ends the game day and the failed revert is posted and listed",
    ),
    (
        "tests/test_slack_etiquette.py",
        "Slack answering 429 with Retry-After three times",
        "every message once, in order",
    ),
    (
        "tests/test_outbox.py",
        "Slack answering 429 (Retry-After 12 s, 40 s), 500 for minutes, a record lost after the post, "
        "a game day ended before its page went out, a message in a rolled-back transaction",
        "each message once, in commit order, never before Slack's Retry-After; moot ones dropped and said",
    ),
    (
        "tests/test_e2e_http.py, tests/test_security_*.py",
        "forged, stale and replayed requests on every entry point and port, both modes; retried deliveries",
        "401 (404 for Slack payloads in Socket Mode) and no change; one effect per request and delivery",
    ),
    (
        "tests/test_fuzz_parsers.py, tests/test_parsers.py, tests/test_scenario_file.py",
        "property-based fuzzing of every parser",
        "no exception escapes; every rejection a sentence",
    ),
]
ATTACKS = ROOT / "tests" / "attacks_tried.md"  # the security attack families, kept by hand
FIGURES = ["lost_steps", "doubled_steps", "lost_messages", "doubled_messages", "faults_left", "debriefs"]


def main() -> None:
    runs: dict[str, list[dict[str, int]]] = defaultdict(list)
    source = ROOT / "artifacts" / "reliability.jsonl"
    for line in source.read_text().splitlines() if source.exists() else []:
        entry = json.loads(line)
        runs[entry["point"]].append(entry)
    lines = [
        "# Reliability",
        "",
        f"Written by `make reliability` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, "
        f"Python {platform.python_version()}); each figure comes from the runs themselves.",
        "",
        "| Test | What it injects | What must hold |",
        "|---|---|---|",
        *[f"| `{test}` | {what} | {holds} |" for test, what, holds in TESTS],
        "",
        "## Crash points (SIGKILL, then a restart on the same database)",
        "",
        "| Point | Runs | " + " | ".join(FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for point, entries in sorted(runs.items()):
        totals = [str(sum(e[f] for e in entries)) for f in FIGURES]
        lines.append(f"| `{point}` | {len(entries)} | " + " | ".join(totals) + " |")
    if not runs:
        lines.append("| (no runs recorded: run `make reliability`) | 0 |" + " |" * len(FIGURES))
    lines += [
        "",
        "`debriefs` counts debriefs posted (one per run is right); every other figure must be 0.",
        "",
        ATTACKS.read_text().rstrip(),
        "",
    ]
    (ROOT / "RELIABILITY.md").write_text("\n".join(lines))
    print(f"wrote RELIABILITY.md from {sum(len(v) for v in runs.values())} run(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
