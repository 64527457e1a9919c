"""A scenario's steady state: the metrics that say the system is healthy, as PromQL with a tolerance.

    steady_state:
      - name: checkout error rate
        promql: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
        expect: "< 0.01"          # or <=, >, >=, ==, or a range "0.9..1.1"

Each probe is checked before the game day starts (the preflight: no data, or a value out of tolerance,
and it does not start). A probe's query must return at least one value, and every value it returns
must be within the tolerance.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import field_validator

from bot.gameday.scenario.fields import StrictModel

NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
COMPARISON = re.compile(rf"\s*(<=|>=|==|<|>)\s*({NUMBER})\s*")
RANGE = re.compile(rf"\s*({NUMBER})\s*\.\.\s*({NUMBER})\s*")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
QUERY_MAX = 4000


@dataclass(frozen=True)
class Tolerance:
    """``< 0.01``, ``>= 5``, or the closed range ``0.9..1.1``."""

    op: str  # one of OPERATORS, or ".." for a range
    low: float
    high: float = math.nan

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.op == "..":
            return self.low <= value <= self.high
        return OPERATORS[self.op](value, self.low)

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g}" if self.op == ".." else f"{self.op} {self.low:g}"


def parse_tolerance(text: str) -> Tolerance:
    """The tolerance an ``expect:`` says; ValueError with what would work."""
    compared = COMPARISON.fullmatch(text)
    if compared:
        return Tolerance(compared[1], float(compared[2]))
    ranged = RANGE.fullmatch(text)
    if ranged and float(ranged[1]) <= float(ranged[2]):
        return Tolerance("..", float(ranged[1]), float(ranged[2]))
    raise ValueError(
        f'`expect:` {text!r} is not a tolerance: write a comparison such as "< 0.01" or ">= 5", '
        'or a range such as "0.9..1.1" (low first)'
    )


class SteadyProbe(StrictModel):
    """One steady-state probe: a PromQL query and the tolerance its values must be within."""

    name: str
    promql: str
    expect: str

    @field_validator("promql")
    @classmethod
    def _promql(cls, promql: str) -> str:
        if not promql.strip() or len(promql) > QUERY_MAX:
            raise ValueError(f"`promql:` must be a PromQL expression of 1 to {QUERY_MAX} characters")
        return promql

    @field_validator("expect", mode="before")
    @classmethod
    def _expect(cls, expect: object) -> object:
        if isinstance(expect, int | float) and not isinstance(expect, bool):
            expect = f"== {expect}"
        if isinstance(expect, str):
            parse_tolerance(expect)
        return expect

    @property
    def tolerance(self) -> Tolerance:
        return parse_tolerance(self.expect)
