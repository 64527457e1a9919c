"""Everything `sce serve` answers under ``/hooks/``: the alert webhooks and the ticket webhooks, each
authenticated by its own secret (SCE_ALERT_WEBHOOK_SECRET, SCE_TICKETS_WEBHOOK_SECRET), and PagerDuty's
incident webhook that halts every game day (SCE_PAGERDUTY_WEBHOOK_SECRET)."""

from __future__ import annotations

import time
from wsgiref.types import WSGIApplication

from bot.integrations.hooks import hooks_app
from bot.integrations.tickets.webhooks import ticket_hooks, with_ticket_hooks
from bot.runtime.pagerduty_hook import pagerduty_hook, with_pagerduty_hook
from bot.runtime.service import Services
from storage.finding_store import FindingStore


def services_hooks(services: Services) -> WSGIApplication:
    """The ``/hooks/...`` routes of `sce serve`; senders stamp and tickets close in wall-clock time."""
    settings = services.settings
    alerts = hooks_app(services.intake.handle, settings.alert_webhook_secret, time.time, services.replay)
    tickets = ticket_hooks(
        settings.tickets,
        settings.tickets_webhook_secret,
        FindingStore(services.store.engine),
        services.replay,
        time.time,
    )
    # a real PagerDuty incident halts every game day (SCE_PAGERDUTY_WEBHOOK_SECRET; 404 without it)
    incidents = pagerduty_hook(settings.pagerduty_webhook_secret, services.halt, services.replay, time.time)
    return with_pagerduty_hook(with_ticket_hooks(alerts, tickets), incidents)
