"""Logging: one JSON object per line for log collectors, the game day on every line, secrets never.

``configure_logging(json=True)`` writes ``{"time", "level", "logger", "message", "gameday_id"?, ...}``;
``gameday_id`` comes from ``extra={"gameday_id": ...}``, a ``gameday_logger`` adapter, or the
``gameday_context`` around the work. Every record, whichever logger made it, goes through a filter that
replaces the configured secrets and every literal credential ``bot.gameday.measuring.redaction``
knows (tokens, passwords in URLs, Authorization headers, private keys) with ``[redacted]``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.gameday.measuring.redaction import REDACTED, redact

_GAMEDAY: ContextVar[str | None] = ContextVar("sce_gameday_id", default=None)
# The attributes every LogRecord has; anything else on a record came from `extra=` and is logged too.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_OURS = "_sce_handler"


@contextmanager
def gameday_context(gameday_id: str | None) -> Iterator[None]:
    """Every line logged inside (same thread or task) carries ``gameday_id``."""
    token = _GAMEDAY.set(gameday_id)
    try:
        yield
    finally:
        _GAMEDAY.reset(token)


class GameDayLogger(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def gameday_logger(logger: logging.Logger, gameday_id: str) -> GameDayLogger:
    """A logger whose every line carries ``gameday_id``."""
    return GameDayLogger(logger, {"gameday_id": gameday_id})


class Redactor(logging.Filter):
    """Rewrites a record's message, traceback and stack so no known secret or token pattern is left."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        # short values would redact ordinary words; real secrets are long
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class GameDayStamp(logging.Filter):
    """Puts the context's game day on records that do not name one themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "gameday_id", None) is None:
            gameday_id = _GAMEDAY.get()
            if gameday_id is not None:
                record.gameday_id = gameday_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info or record.exc_text:
            # exc_info is set whenever exc_text is not:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            line["stack"] = record.stack_info
        return jsonlib.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        gameday_id = getattr(record, "gameday_id", None)
        return f"{text} [{gameday_id}]" if gameday_id else text


def configure_logging(
    json: bool,
    level: int | str = logging.INFO,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Send every logger's records to ``stream`` (stderr), as JSON lines or text; returns the redactor.

    Calling it again replaces the handler it installed before (and only that one).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _OURS, True)
    redactor = Redactor(secrets)
    handler.addFilter(GameDayStamp())
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    return redactor
