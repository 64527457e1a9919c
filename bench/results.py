"""What a benchmark hands back: rows for the table (value, baseline, target) and notes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One line of the table. ``ratio`` is always value ÷ baseline, both measured in the same run."""

    measure: str
    value: float | None
    unit: str
    baseline: float | None = None
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


@dataclass(frozen=True)
class Curve:
    """How one cost grows with one size: a value per size for each series (the first is sce's)."""

    name: str  # the chart's file name, without .png
    title: str
    x_label: str
    unit: str
    xs: list[int]
    series: dict[str, list[float | None]]
    why: str = ""  # why the cost grows as it does: the mechanism, in one sentence
    baselines: frozenset[str] = frozenset()  # series that are baselines, not sce's

    def growth_line(self) -> str:
        """One line: how each of sce's series grows, and why."""
        ours = [name for name in self.series if name not in self.baselines]
        shapes = "; ".join(f"{name} {growth(self.xs, self.series[name])}" for name in ours)
        return f"Growth of {shapes}." + (f" Why: {self.why}" if self.why else "")


def growth(xs: list[int], ys: list[float | None]) -> str:
    """Constant, linear or worse, from the slope of log(cost) against log(size) over the measured points."""
    points = [
        (math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if y is not None and y > 0 and x > 0
    ]
    if len(points) < 2:
        return "too few points to say"
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    if slope < 0.2:
        shape = "constant"
    elif slope < 0.8:
        shape = "sublinear"
    elif slope <= 1.2:
        shape = "linear"
    else:
        shape = "worse than linear"
    return f"{shape} (cost grows as size^{slope:.2f})"


@dataclass
class Section:
    """One benchmark: its title, what the baseline was, its rows and free-text notes."""

    title: str
    baseline: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average when it started and ended
    steal: float | None = None  # share of CPU time the hypervisor took from this machine meanwhile
    curves: list[Curve] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def fmt(value: float | None, unit: str) -> str:
    """A value as the table shows it: ms with one decimal, rates and sizes with sensible digits."""
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "KB":
        return f"{value:,.0f} KB"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "/min":
        return f"{value:.1f}/min"
    if unit == "calls":
        return f"{value:,.0f}"
    return f"{value:g} {unit}".strip()


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    return f"{ratio:.2f}×" if ratio < 100 else f"{ratio:,.0f}×"
