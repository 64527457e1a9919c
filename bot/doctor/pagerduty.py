"""PagerDuty: the Events API answers, and the REST API takes PAGERDUTY_API_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import requests

from bot.doctor.findings import Finding, Probe, fail, ok, warn, why


def check_pagerduty(probe: Probe) -> Iterator[Finding]:
    """The Events API answers (nothing is sent: a routing key is only checked by a real page), and the REST
    API takes PAGERDUTY_API_TOKEN."""
    settings = probe.settings
    http = requests.Session()
    if settings.pagerduty_routing_key:
        url = settings.pagerduty_events_url
        try:
            http.get(url, timeout=probe.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            yield warn(
                "pagerduty events", f"cannot reach {url}: {why(exc)}; pages go to Slack only until it answers"
            )
        else:
            yield ok("pagerduty events", f"{url} answers (the routing key is checked by the first page)")
    if settings.pagerduty_api_token:
        url = settings.pagerduty_api_url.rstrip("/") + "/oncalls"
        now = datetime.now(UTC).replace(microsecond=0)
        params: dict[str, str | int] = {"since": now.isoformat(), "until": now.isoformat(), "limit": 1}
        headers = {
            "Authorization": f"Token token={settings.pagerduty_api_token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        try:
            response = http.get(url, params=params, headers=headers, timeout=probe.timeout)
        except requests.RequestException as exc:
            yield warn("pagerduty api", f"cannot reach {url}: {why(exc)}; on-call schedules cannot be read")
            return
        if response.status_code in (401, 403):
            yield fail(
                "pagerduty api",
                f"PagerDuty refused PAGERDUTY_API_TOKEN (HTTP {response.status_code}) at {url}",
            )
        elif response.status_code != 200:
            yield warn("pagerduty api", f"{url} answered HTTP {response.status_code}")
        else:
            yield ok("pagerduty api", "PagerDuty takes PAGERDUTY_API_TOKEN (on-call schedules can be read)")
