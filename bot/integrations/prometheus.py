"""The team's Prometheus, read through its HTTP API: instant queries (``GET /api/v1/query``) for the
steady state, range queries (``GET /api/v1/query_range``) for the debrief's panels.

The URL is the operator's (``SCE_PROMETHEUS_URL``), the queries the scenario's; answers are bounded (1 MiB;
a range answer's series and points as ``panel_capture`` says) and every failure is a ``PrometheusError`` of
one sentence, never a traceback.
"""

from __future__ import annotations

import json
import math
from typing import Any

import requests

from bot.gameday.preflight import ProbeFailed
from bot.gameday.running.panel_capture import MAX_SERIES, RangeResult, Series, thinned
from bot.integrations.bounded_http import bounded_get, reason

MAX_ANSWER_BYTES = 1024 * 1024


class PrometheusError(ProbeFailed):
    """Why a query has no answer, in one sentence."""


class Prometheus:
    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # the operator's URL, not the environment's proxies

    def query(self, promql: str, at: float | None = None) -> list[float]:
        """Every value an instant query returns (one per series; a scalar is one value)."""
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return values(self._get("query", params))

    def query_range(self, promql: str, start: float, end: float, step: float) -> RangeResult:
        """The series a range query returns over ``[start, end]`` every ``step`` seconds: at most
        ``MAX_SERIES`` of them (``total`` says how many there were), each at most ``MAX_POINTS`` points."""
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return matrix(self._get("query_range", params))

    def _get(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}/api/v1/{endpoint}"
        try:
            answer = bounded_get(self.session, url, params, self.timeout, MAX_ANSWER_BYTES)
        except requests.RequestException as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.base_url}: {reason(exc)}") from None
        if answer.too_big:
            raise PrometheusError("Prometheus answered with more than 1 MiB: narrow the query")
        return _answer(answer.body, answer.status)


def _answer(raw: bytes, status: int) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise PrometheusError(f"Prometheus answered {status} with something that is not JSON") from None
    if not isinstance(body, dict):
        raise PrometheusError(f"Prometheus answered {status} with JSON that is not its API's")
    if body.get("status") != "success":
        raise PrometheusError(f"Prometheus refused the query: {str(body.get('error') or status)[:300]}")
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def values(data: dict[str, Any]) -> list[float]:
    """The numbers of a ``vector`` or ``scalar`` result; a ``matrix`` is not an instant answer."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return [_number(result)]
    if kind == "vector" and isinstance(result, list):
        return [_number(sample.get("value")) for sample in result if isinstance(sample, dict)]
    raise PrometheusError(f"the query's result is a {kind}, not a number per series: use an instant vector")


def matrix(data: dict[str, Any]) -> RangeResult:
    """The series of a ``matrix`` result (``[{"metric": {...}, "values": [[<time>, "<value>"], ...]}]``),
    bounded; points whose time is not a number are left out."""
    kind, result = data.get("resultType"), data.get("result")
    if kind != "matrix" or not isinstance(result, list):
        raise PrometheusError(f"Prometheus answered the range query with a {kind}, not a matrix")
    entries = [entry for entry in result if isinstance(entry, dict)]
    series = []
    for entry in entries[:MAX_SERIES]:
        metric = entry.get("metric")
        labels = {str(k): str(v) for k, v in metric.items()} if isinstance(metric, dict) else {}
        pairs = entry.get("values")
        points = [_point(pair) for pair in pairs] if isinstance(pairs, list) else []
        series.append(Series(labels, thinned([p for p in points if p is not None])))
    return RangeResult(series, len(entries))


def _point(pair: object) -> tuple[float, float | None] | None:
    """``[<unix time>, "<value>"]`` as ``(time, value)``, a value that is not finite as None."""
    if not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], bool):
        return None
    try:
        at = float(pair[0])
    except (TypeError, ValueError):
        return None
    if not math.isfinite(at):
        return None
    value = _number(pair)
    return at, value if math.isfinite(value) else None


def _number(pair: object) -> float:
    """``[<unix time>, "<value>"]``: the value, NaN and infinities included (as Prometheus writes them)."""
    if isinstance(pair, list) and len(pair) == 2:
        try:
            return float(pair[1])
        except (TypeError, ValueError):
            pass
    return math.nan
