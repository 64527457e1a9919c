"""`sce doctor`, and the same checks before `sce serve` takes traffic: misconfiguration found at start-up.

Each check gives findings: a name, ok / warn / fail, and one sentence saying what was found and where to
fix it. A *fail* is something the bot cannot work with: Slack refuses a token or the token lacks scopes,
the signing secret is missing in HTTP mode, the database cannot be opened, the cluster refuses a namespace
the bot may touch, an integration refuses its credential, the alerts channel does not exist. A *warn* is
something the bot runs without, or that may mend itself: an integration that did not answer, a channel the
bot is not in yet, a namespace list with no cluster to use it on (cluster faults are then simulated).

Every network call has a short timeout and is not retried, so the checks end within seconds whatever is
down; no sentence holds a token, secret or password (each goes through the log redaction as well).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings
from bot.doctor.cluster import check_kubernetes
from bot.doctor.database import check_database
from bot.doctor.findings import TIMEOUT, Finding, Probe, Status
from bot.doctor.pagerduty import check_pagerduty
from bot.doctor.slack import check_signing_secret, check_slack, check_socket_mode
from bot.runtime.logs import Redactor

__all__ = ["Finding", "Status", "check_before_serving", "report", "run_checks"]

CHECKS: tuple[Callable[[Probe], Iterable[Finding]], ...] = (
    check_slack,
    check_signing_secret,
    check_socket_mode,
    check_database,
    check_kubernetes,
    check_pagerduty,
)


def run_checks(
    settings: Settings, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT
) -> list[Finding]:
    """Every check's findings, in order; each sentence redacted of every secret the settings hold."""
    probe = Probe(settings, os.environ if env is None else env, timeout)
    redactor = Redactor(_secrets(settings))
    findings: list[Finding] = []
    for check in CHECKS:
        for finding in check(probe):
            findings.append(Finding(finding.name, finding.status, redactor.redact(finding.sentence)))
    return findings


def _secrets(settings: Settings) -> list[str | None]:
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    return [
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.alert_webhook_secret,
        settings.pagerduty_routing_key,
        settings.pagerduty_api_token,
        str(password) if password else None,
    ]


def report(settings: Settings, say: Callable[[str], None]) -> bool:
    """`sce doctor`: one line per finding; True when nothing failed."""
    findings = run_checks(settings)
    for finding in findings:
        say(finding.line)
    return not any(f.status is Status.FAIL for f in findings)


def check_before_serving(settings: Settings, say: Callable[[str], None]) -> bool:
    """`sce serve`'s start: warnings and failures said (one sentence each), True when nothing failed."""
    started = time.monotonic()
    findings = run_checks(settings)
    for finding in findings:
        if finding.status is not Status.OK:
            say(f"sce: {finding.line}")
    failed = sum(f.status is Status.FAIL for f in findings)
    if failed:
        say(f"sce: not starting: {failed} start-up check(s) failed (run `sce doctor` for all of them)")
    else:
        say(f"sce: start-up checks passed in {time.monotonic() - started:.1f}s")
    return not failed
