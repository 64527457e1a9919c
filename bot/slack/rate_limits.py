"""Slack's 429 answers: a short ``Retry-After`` is waited out inside the call, a long one is not.

The SDK's own handler sleeps whatever Slack asks, in the calling thread: a listener or a game day's
lane held for 10 s or more. A message of the outbox (``bot/gameday/running/outbox``) instead goes back to its
row, due again once Slack said it could come back, and the thread goes on; best-effort calls (the
status line, a name lookup) give up and are tried again at the next change.
"""

from __future__ import annotations

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.gameday.running.retries import header_seconds

WAITED_IN_CALL_SECONDS = 2.0  # at most this Retry-After is slept in the call


class ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 in the call only when Slack asks for at most ``WAITED_IN_CALL_SECONDS``."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = header_seconds(response.headers)
        return wait is None or wait <= WAITED_IN_CALL_SECONDS
