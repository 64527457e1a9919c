"""The body of a signed webhook (ticket trackers, PagerDuty) is read only within its bound."""

from __future__ import annotations

import io

import pytest

from bot.integrations.hook_answers import HookAnswer, read_body


def environ(length: str | None, body: bytes = b"x" * 20) -> dict[str, object]:
    found: dict[str, object] = {"wsgi.input": io.BytesIO(body)}
    if length is not None:
        found["CONTENT_LENGTH"] = length
    return found


@pytest.mark.parametrize(
    ("length", "required", "status"),
    [(None, True, 411), ("", True, 411), ("ten", False, 400), ("-1", False, 413), ("11", False, 413)],
)
def test_a_length_missing_malformed_negative_or_over_the_bound_is_refused(
    length: str | None, required: bool, status: int
) -> None:
    with pytest.raises(HookAnswer) as refused:
        read_body(environ(length), 10, "at most 10 bytes", length_required=required)
    assert refused.value.status == status


def test_within_the_bound_exactly_the_stated_length_is_read() -> None:
    assert read_body(environ("10"), 10, "at most 10 bytes") == b"x" * 10
    assert read_body(environ(None), 10, "at most 10 bytes") == b""  # no length, none required: empty
