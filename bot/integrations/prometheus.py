"""The team's Prometheus, read through its HTTP API (``GET /api/v1/query``): instant queries only.

The URL is the operator's (``SCE_PROMETHEUS_URL``), the queries the scenario's; answers are bounded (1 MiB)
and every failure is a ``PrometheusError`` of one sentence, never a traceback.
"""

from __future__ import annotations

import json
import math
from typing import Any

import requests

from bot.gameday.preflight import ProbeFailed

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
        url = f"{self.base_url}/api/v1/query"
        try:
            with self.session.get(url, params=params, timeout=self.timeout, stream=True) as response:
                raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
                status = response.status_code
        except requests.RequestException as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.base_url}: {_reason(exc)}") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise PrometheusError("Prometheus answered with more than 1 MiB: narrow the query")
        return values(_answer(raw, status))


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


def _number(pair: object) -> float:
    """``[<unix time>, "<value>"]``: the value, NaN and infinities included (as Prometheus writes them)."""
    if isinstance(pair, list) and len(pair) == 2:
        try:
            return float(pair[1])
        except (TypeError, ValueError):
            pass
    return math.nan


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection was refused or dropped"
    return type(exc).__name__
