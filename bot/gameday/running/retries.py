"""How long a failed timer (a step, a post, the debrief) waits before its next try."""

from __future__ import annotations

RETRY_AFTER_SECONDS = 5.0
RETRY_CEILING_SECONDS = 300.0


def retry_delay(
    attempts: int, error: BaseException | None = None, first: float = RETRY_AFTER_SECONDS
) -> float:
    """``first`` (5 s, SCE_TIMER_RETRY), doubling with each failed attempt, at most 5 minutes, so a
    dependency that stays down is not hammered by every timer it holds; never sooner than the
    ``Retry-After`` the error carries (a rate-limited Slack says when to come back), within the same
    ceiling."""
    backoff = min(first * 2.0 ** max(attempts - 1, 0), RETRY_CEILING_SECONDS)
    return max(backoff, min(retry_after(error), RETRY_CEILING_SECONDS))


def retry_after(error: BaseException | None) -> float:
    """The seconds an HTTP error's ``Retry-After`` header asks for (0 when it has none)."""
    response = getattr(error, "response", None)
    return header_seconds(getattr(response, "headers", None)) or 0.0


def header_seconds(headers: object) -> float | None:
    """A ``Retry-After`` header's seconds, from headers as any client keeps them (a mapping of names to
    a value or to a list of values); None when there is none or it is not a number of seconds."""
    try:
        items = dict(headers or {}).items()  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    value = next((v for k, v in items if str(k).lower() == "retry-after"), None)
    if isinstance(value, list | tuple):  # some clients keep every value of a header
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
