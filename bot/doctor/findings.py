"""What every check gives and uses: findings, the probe (settings, environment, timeout), and ``why``."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import requests
from slack_sdk import WebClient

from bot.config import Settings

TIMEOUT = 5.0  # seconds, for every network call a check makes


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    name: str
    status: Status
    sentence: str

    @property
    def line(self) -> str:
        label = "FAIL" if self.status is Status.FAIL else self.status.value
        return f"{label:4} {self.name}: {self.sentence}"


@dataclass(frozen=True)
class Probe:
    """What the checks look at: the settings, the environment (it locates the cluster) and the timeout."""

    settings: Settings
    env: Mapping[str, str]
    timeout: float = TIMEOUT

    def slack(self, token: str) -> WebClient:
        """A Web API client of its own, not the bot's (bot.runtime.service.slack_client): it answers or fails
        within the timeout, is never retried, and leaves the telling of a failure to the finding."""
        return WebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            timeout=max(1, int(self.timeout)),
            retry_handlers=[],
            logger=_QUIET,
        )


_QUIET = logging.getLogger("bot.doctor.slack_calls")
_QUIET.setLevel(logging.CRITICAL)


def ok(name: str, sentence: str) -> Finding:
    return Finding(name, Status.OK, sentence)


def warn(name: str, sentence: str) -> Finding:
    return Finding(name, Status.WARN, sentence)


def fail(name: str, sentence: str) -> Finding:
    return Finding(name, Status.FAIL, sentence)


def why(exc: BaseException) -> str:
    """Why a connection failed, in a few words: ``connection refused``, ``no answer within 5 s``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError | socket.timeout | requests.Timeout):
            return "no answer in time"
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        reason = getattr(current, "reason", None)
        if isinstance(reason, str) and reason:
            return reason
        nested = reason if isinstance(reason, BaseException) else None
        current = nested or current.__cause__ or current.__context__
    text = str(exc).lower()
    for phrase in ("connection refused", "timed out", "name or service not known", "connection reset"):
        if phrase in text:
            return phrase
    return type(exc).__name__


def first_line(exc: BaseException) -> str:
    """The first line of an error's own message (a driver's, when SQLAlchemy wraps one)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0]


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
