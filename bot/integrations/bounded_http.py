"""One bounded HTTP read for the services the operator names (Prometheus, Loki): at most ``limit`` bytes
of an answer are read (one more says it was longer), within a timeout, and a failure to connect is one
sentence (``reason``), never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most limit + 1 bytes: longer means the answer was cut
    limit: int

    @property
    def too_big(self) -> bool:
        return len(self.body) > self.limit


def bounded_get(
    session: requests.Session, url: str, params: dict[str, str], timeout: float, limit: int
) -> Answer:
    """GET ``url``; raises ``requests.RequestException`` when it could not be asked (see ``reason``)."""
    with session.get(url, params=params, timeout=timeout, stream=True) as response:
        body = response.raw.read(limit + 1, decode_content=True)
        return Answer(response.status_code, body, limit)


def reason(exc: requests.RequestException) -> str:
    """Why a request got no answer, as the end of a sentence."""
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection was refused or dropped"
    return type(exc).__name__
