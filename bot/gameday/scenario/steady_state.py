"""A scenario's steady state: what says the system is healthy, as PromQL with a tolerance or as an HTTP
status.

    steady_state:
      - name: checkout error rate
        promql: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
        expect: "< 0.01"          # or <=, >, >=, ==, or a range "0.9..1.1"
      - name: web up
        http: {url: "https://web.example.com/healthz", expect: 200}   # a host in guardrails.hosts

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

from pydantic import field_validator, model_validator

from bot.gameday.scenario.fields import StrictModel
from bot.gameday.scenario.steps import HttpProbeSpec

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


class SteadyHttp(HttpProbeSpec):
    """An HTTP probe of the steady state: one GET whose status must be one of ``expect`` (200 when not
    said); its host must be in guardrails.hosts, as every call out of a game day."""

    @field_validator("expect", mode="before")
    @classmethod
    def _one_status(cls, expect: object) -> object:
        return [expect] if isinstance(expect, int) and not isinstance(expect, bool) else expect


class SteadyProbe(StrictModel):
    """One steady-state probe: a PromQL query and the tolerance its values must be within, or an HTTP
    probe (``http:``) and the statuses it may answer."""

    name: str
    promql: str | None = None
    expect: str | None = None
    http: SteadyHttp | None = None

    @field_validator("promql")
    @classmethod
    def _promql(cls, promql: str | None) -> str | None:
        if promql is not None and (not promql.strip() or len(promql) > QUERY_MAX):
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

    @model_validator(mode="after")
    def _one_kind(self) -> SteadyProbe:
        if (self.promql is None) == (self.http is None):
            raise ValueError("a probe has either `promql:` (with `expect:`) or `http:`, not both nor neither")
        if self.promql is not None and self.expect is None:
            raise ValueError('`expect:` is missing: the tolerance of the query\'s values, such as "< 0.01"')
        if self.http is not None and self.expect is not None:
            raise ValueError("`expect:` belongs inside `http:` (the statuses it may answer), not beside it")
        return self

    @property
    def tolerance(self) -> Tolerance:
        return parse_tolerance(self.expect or "")
