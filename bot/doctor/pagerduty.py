"""PagerDuty: the Events API answers, and the REST API takes PAGERDUTY_API_TOKEN (no page is ever sent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import requests

from bot.doctor.findings import Finding, Probe, fail, is_web_url, ok, warn, why


def check_pagerduty(probe: Probe) -> Iterator[Finding]:
    settings = probe.settings
    with requests.Session() as http:
        if settings.pagerduty_routing_key:
            yield _events(http, settings.pagerduty_events_url, probe.timeout)
        if settings.pagerduty_api_token:
            yield _rest(http, settings.pagerduty_api_url, settings.pagerduty_api_token, probe.timeout)


def _events(http: requests.Session, url: str, timeout: float) -> Finding:
    """Any HTTP answer will do: a routing key is only checked by a real event, and none is sent."""
    name = "pagerduty events"
    if not is_web_url(url):
        return fail(name, f"PAGERDUTY_EVENTS_URL {url} is not an http(s) URL")
    try:
        http.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return warn(name, f"cannot reach {url}: {why(exc)}; pages go to Slack only until it answers")
    return ok(name, f"{url} answers (the routing key is checked by the first page)")


def _rest(http: requests.Session, api_url: str, token: str, timeout: float) -> Finding:
    """One page of one entry of /oncalls, as an on-call lookup makes it: the token is accepted or not."""
    name = "pagerduty api"
    url = api_url.rstrip("/") + "/oncalls"
    if not is_web_url(url):
        return fail(name, f"PAGERDUTY_API_URL {api_url} is not an http(s) URL")
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    params: dict[str, str | int] = {"since": now, "until": now, "limit": 1}
    headers = {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2"}
    try:
        response = http.get(url, params=params, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return warn(name, f"cannot reach {url}: {why(exc)}; on-call schedules cannot be read")
    if response.status_code in (401, 403):
        return fail(name, f"PagerDuty refused PAGERDUTY_API_TOKEN (HTTP {response.status_code}) at {url}")
    if response.status_code != 200:
        return warn(name, f"{url} answered HTTP {response.status_code}")
    return ok(name, "PagerDuty takes PAGERDUTY_API_TOKEN (on-call schedules can be read)")
