"""Literal credentials out of the text people and logs read: ``redact(text)``.

A scenario may carry a webhook URL with a password in it, an Authorization header, a signed link; an
alert may quote a token. The game day shows such text in Slack, in its debriefs and in its logs, so each
shape below is replaced with ``[redacted]`` while the rest stays readable: the scheme and host of a URL,
the name of a query parameter, the prefix that says which kind of token it was. A ``${env:NAME}``
reference names a secret without holding it and stays visible. Text with none of these shapes comes back
unchanged, and redacting twice changes nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "[redacted]"

_ENV = r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}"
_ENV_REFERENCE = re.compile(_ENV)
# A value that already says it is hidden, or only names a secret, is left alone.
_NOT_A_VALUE = rf"(?!{_ENV}|\[redacted\]|\(redacted\))"
# Where a value ends in a URL, a header, JSON, a Python repr or a sentence (its full stop is not part of it).
_STOP = r"\s\"'`,;&#<>\\}\])"
_VALUE = rf"[^{_STOP}]*[^{_STOP}.]"
_TOKEN_CHARS = r"[A-Za-z0-9._~+/-]"
_QUERY_NAMES = (
    "token|access_token|refresh_token|id_token|auth_token|private_token|api_key|api-key|apikey|key|secret|"
    "client_secret|password|passwd|pwd|sig|signature|x-amz-signature|x-amz-credential|"
    "x-amz-security-token|code"
)
_ASSIGNED_NAMES = (
    "routing_key|integration_key|service_key|api_key|apikey|api_token|access_token|client_secret|"
    "secret_access_key|aws_secret_access_key|password|passwd"
)


def _keep_prefix(match: re.Match[str]) -> str:
    return match[1] + REDACTED


def _userinfo(match: re.Match[str]) -> str:
    """``scheme://user:password@`` loses its userinfo; a lone user name stays unless it looks like a token,
    and userinfo made only of ``${env:...}`` references stays."""
    user, _, password = _ENV_REFERENCE.sub("", match[2]).partition(":")
    if password or len(user) >= 16:
        return f"{match[1]}{REDACTED}@"
    return match[0]


# (pattern, replacement): most keep group 1 (what names the value) in front of [redacted].
_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # a PEM private key, with or without its end line (a log line may cut it short)
    (
        re.compile(
            r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?!\[redacted\])"
            r"(?:[A-Za-z0-9+/=:.,\s]|\\[nr]|-(?!----))*"
            r"(-----END [A-Z0-9 ]*PRIVATE KEY-----)?"
        ),
        lambda m: m[1] + REDACTED + (m[2] or ""),
    ),
    # Authorization: Bearer x / Basic x / Token token=x, as a header, in JSON or in a repr
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization\\?[\"']?\s*[:=]\s*\\?[\"']?"
            rf"(?:(?:bearer|basic|token|digest|negotiate)\s+)?+){_NOT_A_VALUE}{_VALUE}"
        ),
        _keep_prefix,
    ),
    (re.compile(rf"(?i)\b(token\s+token=){_NOT_A_VALUE}{_VALUE}"), _keep_prefix),
    # Bearer <token> in running text: the word alone is prose; a long token-like word with a letter after it
    # is a token (a game-day id or a Slack timestamp is not)
    (
        re.compile(rf"(?i)\b(bearer\s+){_NOT_A_VALUE}(?={_TOKEN_CHARS}*[A-Za-z]){_TOKEN_CHARS}{{16,}}=*"),
        _keep_prefix,
    ),
    # the scheme is bounded: unbounded, every word of "a.a.a..." was scanned to the text's end (quadratic)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)([^\s/?#@\"'`<>\\]+)@"), _userinfo),
    (re.compile(rf"(?i)([?&;](?:{_QUERY_NAMES})=){_NOT_A_VALUE}{_VALUE}"), _keep_prefix),
    (
        re.compile(rf"(?i)\b((?:{_ASSIGNED_NAMES})\\?[\"']?\s*[:=]\s*\\?[\"']?){_NOT_A_VALUE}{_VALUE}"),
        _keep_prefix,
    ),
    # Slack tokens (bot, user, app-level, refresh, rotating) and incoming-webhook paths
    (re.compile(r"\b((?:xoxe\.)?xox[abposre]-|xapp-)[A-Za-z0-9-]+"), _keep_prefix),
    (re.compile(r"\b(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+"), _keep_prefix),
    # GitHub tokens
    (re.compile(r"\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}"), _keep_prefix),
    # AWS access key ids (long-term and temporary)
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), _keep_prefix),
    # JSON Web Tokens: header.payload.signature, both first parts base64url JSON objects
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), lambda m: REDACTED),
    # PagerDuty's generic integration URL carries its key in the path
    (re.compile(r"\b(events\.(?:eu\.)?pagerduty\.com/integration/)[A-Za-z0-9]{16,}"), _keep_prefix),
)


# A word or sign every rule above needs (lower case): text with none of them is left at once, which is most
# text, and a debrief of 10,000 events holds some 80,000 strings.
_CANDIDATE = re.compile(
    r"private key|authorization|token|bearer|://|key|secret|passw|pwd=|sig=|signature=|code=|x-amz-|xox|xapp-|"
    r"akia|asia|eyj|pagerduty|hooks.slack|gh[pousr]_|github_pat_"
)


def redact(text: str) -> str:
    """``text`` with every literal credential replaced by ``[redacted]``; the rest as it was."""
    if not _CANDIDATE.search(text.lower()):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
