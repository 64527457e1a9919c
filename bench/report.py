"""BENCHMARKS.md: machine, command, one table of every figure, then notes per benchmark."""

from __future__ import annotations

import time

from bench.results import Curve, Section, fmt, fmt_ratio

HEADER = "| Benchmark | Measure | sce | Baseline | Ratio | Target | Met |"
RULE = "|---|---|---|---|---|---|---|"


def _met(met: bool | None) -> str:
    return "–" if met is None else ("yes" if met else "**no**")


def table(sections: list[Section]) -> list[str]:
    lines = [HEADER, RULE]
    for section in sections:
        for row in section.rows:
            cells = [
                section.title,
                row.measure,
                fmt(row.value, row.unit),
                fmt(row.baseline, row.unit),
                fmt_ratio(row.ratio),
                row.target or "–",
                _met(row.met),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


PROPOSED = (
    "**Not the bot as shipped**: measured with the patches of `bench/proposed.py` (the proposed changes).",
    "",
)


def render(
    sections: list[Section],
    machine: list[str],
    command: str,
    quick: bool,
    total_seconds: float,
    proposed: bool,
    charts: dict[str, str] | None = None,
) -> str:
    """``charts``: each curve's chart as a path relative to the file this text goes into."""
    lines = [
        "# Benchmarks",
        "",
        *(PROPOSED if proposed else ()),
        "Written by the harness in `bench/` (`make bench`); do not edit by hand. Every figure is set against",
        "a baseline measured in the same run on the same machine: Ratio = sce ÷ baseline. Targets once",
        "missed, their profiles and fixes, before and after: `bench/PROFILING.md`.",
        "",
        f"- Command: `{command}`" + (" (quick mode: small counts, figures not meaningful)" if quick else ""),
        f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; the run took {total_seconds:.0f} s",
        *(f"- {line}" for line in machine),
        "",
        "## Results",
        "",
        *table(sections),
        "",
        "## Notes",
    ]
    for section in sections:
        lines += [
            "",
            f"### {section.title}",
            "",
            f"Baseline: {section.baseline}. Took {section.seconds:.0f} s; load average "
            f"{section.load[0]:.1f} at its start, {section.load[1]:.1f} at its end"
            + (f"; CPU steal {section.steal:.0%}." if section.steal is not None else "."),
        ]
        lines += [f"- {note}" for note in section.notes]
        for curve in section.curves:
            lines += curve_lines(curve, (charts or {}).get(curve.name))
    return "\n".join(lines) + "\n"


def curve_lines(curve: Curve, chart: str | None) -> list[str]:
    """A curve in the notes: its chart, its table (one row per size), and how it grows."""
    names = list(curve.series)
    lines = ["", f"#### {curve.title}", ""]
    if chart:
        lines += [f"![{curve.title}]({chart})", ""]
    lines += [
        "| " + " | ".join([curve.x_label, *names]) + " |",
        "|" + "---|" * (len(names) + 1),
    ]
    for i, x in enumerate(curve.xs):
        lines.append(
            "| " + " | ".join([f"{x:,}", *(fmt(curve.series[n][i], curve.unit) for n in names)]) + " |"
        )
    lines += ["", curve.growth_line()]
    return lines
