"""A curve as a PNG chart (matplotlib, no display): log-log, one line per series, a point per size."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

from bench.results import Curve  # noqa: E402


def draw(curve: Curve, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    try:
        for label, values in curve.series.items():
            points = [(x, y) for x, y in zip(curve.xs, values, strict=True) if y is not None and y > 0]
            if points:
                axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel(curve.x_label)
        axes.set_ylabel(curve.unit)
        axes.set_title(curve.title)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", metadata={"Software": None})
    finally:
        plt.close(figure)
    return path
