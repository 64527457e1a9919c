"""Slack: the tokens' kinds, ``auth.test``, scopes, the signing secret, Socket Mode, the alerts channel."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.doctor.findings import Finding, Probe, fail, is_web_url, ok, warn, why
from bot.slack.scopes import BOT_SCOPES, SOCKET_MODE_SCOPE

TOKEN_KINDS = {
    "xoxb-": "a bot token (xoxb-...)",
    "xapp-": "an app-level token (xapp-...)",
    "xoxp-": "a user token (xoxp-...)",
    "xoxe": "a token rotation token (xoxe...)",
}
WHERE = {
    "xoxb-": "the Bot User OAuth Token on the app's OAuth & Permissions page",
    "xapp-": "an app-level token with connections:write from the app's Basic Information page",
}
HOME = {"xoxb-": "SLACK_BOT_TOKEN", "xapp-": "SLACK_APP_TOKEN"}


def _kind(token: str) -> str | None:
    return next((prefix for prefix in TOKEN_KINDS if token.startswith(prefix)), None)


def token_problem(variable: str, token: str, wanted: str) -> str | None:
    """What is wrong with ``token`` as the value of ``variable`` (which takes ``wanted`` tokens); None if
    nothing. Never repeats the value: only which kind of token it is."""
    if token != token.strip():
        return (
            f"{variable} has spaces or a line break around it (a Secret written with `echo`?), "
            "and Slack refuses it as written"
        )
    if not (token.isascii() and token.isprintable()):
        return (
            f"{variable} has characters no Slack token has (invisible or not ASCII: pasted from a "
            "document?), and Slack refuses it as written"
        )
    kind = _kind(token)
    if kind == wanted:
        return None
    needed = f"{variable} takes {TOKEN_KINDS[wanted]}: {WHERE[wanted]}"
    if kind in HOME:
        return f"{variable} holds {TOKEN_KINDS[kind]}, which belongs in {HOME[kind]}; {needed}"
    if kind is not None:
        return f"{variable} holds {TOKEN_KINDS[kind]}; {needed}"
    return f"{variable} does not look like a Slack token; {needed}"


REFUSALS = {
    "invalid_auth": "it is not a valid token of any workspace: copy it again",
    "not_authed": "no token reached Slack",
    "account_inactive": "the app was uninstalled or its workspace deleted: reinstall the app",
    "token_revoked": "the token was revoked: reinstall the app to get a new one",
    "token_expired": "the token expired (token rotation is on): turn rotation off or refresh it",
    "not_allowed_token_type": "Slack takes no token of that kind for this call",
    "missing_scope": "the token lacks the scope this call needs",
    "ekm_access_denied": "the workspace's key management refused access",
}


SLACK_ERROR = re.compile(r"[a-z0-9_]+")
SLACK_TROUBLE = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


def _refused(variable: str, method: str, exc: SlackApiError, api_url: str) -> str:
    status = exc.response.status_code
    error = str(exc.response.get("error") or "")
    if not SLACK_ERROR.fullmatch(error):  # slack_sdk's own words for an answer that was not Slack's JSON
        return (
            f"{api_url} does not answer like Slack's Web API ({method}: HTTP {status}, not a Slack answer): "
            "SLACK_API_URL must be unset, or end in /api/"
        )
    if error in SLACK_TROUBLE:
        return (
            f"Slack could not answer {method} ({error}), so {variable} is not checked yet: try again shortly"
        )
    reason = REFUSALS.get(error, "see Slack's documentation of that error")
    return f"Slack refused {variable} on {method} ({error}): {reason}"


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == name), None)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return None if value is None else str(value)


CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


def check_slack(probe: Probe) -> Iterator[Finding]:
    """The bot token's kind, ``auth.test``, its scopes against the manifest's, and the alerts channel."""
    settings = probe.settings
    token = settings.slack_bot_token
    if not token:
        yield fail("slack token", f"SLACK_BOT_TOKEN is not set: it takes {WHERE['xoxb-']}")
        return
    problem = token_problem("SLACK_BOT_TOKEN", token, "xoxb-")
    if problem:
        yield fail("slack token", problem)
        return
    yield ok("slack token", "SLACK_BOT_TOKEN is a bot token (xoxb-...)")
    if not is_web_url(settings.slack_api_url):
        yield fail("slack api url", f"SLACK_API_URL {settings.slack_api_url} is not an http(s) URL")
        return
    try:
        answer = probe.slack(token).auth_test()
    except SlackApiError as exc:
        yield fail("slack auth.test", _refused("SLACK_BOT_TOKEN", "auth.test", exc, settings.slack_api_url))
        return
    except Exception as exc:  # the network: a sentence, never a traceback
        yield fail("slack auth.test", f"cannot reach Slack at {settings.slack_api_url}: {why(exc)}")
        return
    who = f"@{answer.get('user')} ({answer.get('user_id')})"
    yield ok("slack auth.test", f"Slack accepts SLACK_BOT_TOKEN: bot user {who} in {answer.get('team')}")
    yield _scopes(_header(answer.headers, "x-oauth-scopes"))
    if settings.alerts_channel:
        yield _alerts_channel(probe, token, settings.alerts_channel)


def _scopes(header: str | None) -> Finding:
    if header is None:
        return warn(
            "slack scopes", "Slack did not say which scopes the bot token has (no x-oauth-scopes header)"
        )
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = sorted(BOT_SCOPES - granted)
    if missing:
        return fail(
            "slack scopes",
            f"the bot token lacks {', '.join(missing)} of the scopes slack-manifest.yaml asks for: add them "
            "under OAuth & Permissions and reinstall the app",
        )
    return ok(
        "slack scopes", f"the bot token has every scope slack-manifest.yaml asks for ({len(BOT_SCOPES)})"
    )


def _alerts_channel(probe: Probe, token: str, channel: str) -> Finding:
    name = "alerts channel"
    if not CHANNEL_ID.fullmatch(channel):
        return fail(
            name,
            "SCE_ALERTS_CHANNEL must be a channel id (C0123ABCD, under the channel's name > About), "
            "not a name: Slack sends each message with its channel's id",
        )
    try:
        found = probe.slack(token).conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            return fail(
                name,
                f"SCE_ALERTS_CHANNEL {channel}: no such channel the bot can see "
                "(a private channel shows only to its members: invite the bot)",
            )
        return warn(
            name, _refused("SLACK_BOT_TOKEN", "conversations.info", exc, probe.settings.slack_api_url)
        )
    except Exception as exc:
        return warn(name, f"could not ask Slack about SCE_ALERTS_CHANNEL {channel}: {why(exc)}")
    if not found.get("is_member"):
        return warn(
            name,
            f"the bot is not in #{found.get('name')} ({channel}), so Slack sends it none of the channel's "
            "messages: invite it there",
        )
    return ok(name, f"#{found.get('name')} ({channel}): the bot reads its messages as alerts")


def check_signing_secret(probe: Probe) -> Iterator[Finding]:
    settings = probe.settings
    if settings.socket_mode:
        yield ok("signing secret", "not needed: in Socket Mode no Slack request comes over HTTP")
    elif settings.slack_signing_secret:
        yield ok(
            "signing secret", "SLACK_SIGNING_SECRET is set; every request's signature is checked with it"
        )
    else:
        yield fail(
            "signing secret",
            "SLACK_SIGNING_SECRET is not set, and in HTTP mode every request from Slack is refused without "
            "it: copy the Signing Secret from the app's Basic Information page (or set SLACK_APP_TOKEN)",
        )


def check_socket_mode(probe: Probe) -> Iterator[Finding]:
    """With SLACK_APP_TOKEN: its kind, and that Slack hands out a Socket Mode URL for it."""
    settings = probe.settings
    token = settings.slack_app_token
    if not token:
        return
    problem = token_problem("SLACK_APP_TOKEN", token, "xapp-")
    if problem:
        yield fail("socket mode", problem)
        return
    if not is_web_url(settings.slack_api_url):
        return  # said once, by check_slack
    try:
        answer = probe.slack(token).apps_connections_open(app_token=token)
    except SlackApiError as exc:
        sentence = _refused("SLACK_APP_TOKEN", "apps.connections.open", exc, settings.slack_api_url)
        if exc.response.get("error") == "missing_scope":
            sentence += f" (an app-level token needs {SOCKET_MODE_SCOPE})"
        yield fail("socket mode", sentence)
        return
    except Exception as exc:
        yield fail("socket mode", f"cannot reach Slack at {settings.slack_api_url}: {why(exc)}")
        return
    if not str(answer.get("url") or "").startswith(("wss://", "ws://")):
        yield fail("socket mode", "Slack answered apps.connections.open without a Socket Mode URL")
        return
    yield ok("socket mode", "Slack hands out Socket Mode connections for SLACK_APP_TOKEN")
