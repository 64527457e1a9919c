"""Secrets by reference: a scenario writes ``${env:NAME}`` where a credential goes (a header, the URL's
path or query, a body or payload value), and the value is read from the process environment only at
the moment the call is made. The scenario text, the timeline, the thread and the debrief only ever
hold the reference."""

from __future__ import annotations

import re
from collections.abc import Mapping

REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_REFERENCE = re.compile(r"\$\{env:[^}]*\}?")


# The bot's own credentials: a scenario author must never be able to send them to a host of their choosing.
BOT_OWN = re.compile(
    r"(SLACK_.*|DATABASE_URL|PAGERDUTY_.*|SCE_ALERT_WEBHOOK_SECRET|KUBECONFIG|KUBERNETES_.*|AWS_.*|"
    r"GOOGLE_.*|AZURE_.*|.*_PROXY)",
    re.IGNORECASE,
)


class UnsetVariable(ValueError):
    """A reference the call cannot resolve (not set, or not one scenarios may use); names the variable."""

    def __init__(self, name: str, why: str = "is not set in the bot's environment; set {name} or remove it"):
        super().__init__(f"${{env:{name}}} " + why.format(name=name))
        self.name = name


def refusal(name: str, referable: frozenset[str]) -> str | None:
    """Why a scenario may not use ``${env:name}`` in this deployment (None when it may)."""
    if BOT_OWN.fullmatch(name):
        return "is one of the bot's own credentials; scenarios can never send it"
    if name not in referable:
        return (
            "is not in SCE_SCENARIO_SECRETS (the variables scenarios may use); ask the operator to add {name}"
        )
    return None


def reference_problem(text: str) -> str | None:
    """A sentence when ``text`` holds a ``${env:...}`` the resolver would not understand, or one that
    names the bot's own credentials."""
    for match in _ANY_REFERENCE.finditer(text):
        if not REFERENCE.fullmatch(match.group(0)):
            return (
                f"{match.group(0)!r} is not a valid reference; write ${{env:NAME}} with NAME made of "
                "letters, digits and _"
            )
    for name in REFERENCE.findall(text):
        if BOT_OWN.fullmatch(name):
            return f"${{env:{name}}} is one of the bot's own credentials; scenarios can never send it"
    return None


def resolve(text: str, env: Mapping[str, str], referable: frozenset[str]) -> str:
    """``text`` with every ``${env:NAME}`` replaced by its value; UnsetVariable for the first one that
    is not set or that scenarios may not use (``referable``: SCE_SCENARIO_SECRETS)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        why = refusal(name, referable)
        if why is not None:
            raise UnsetVariable(name, why)
        if name not in env:
            raise UnsetVariable(name)
        return env[name]

    return REFERENCE.sub(value, text)


def resolve_all(data: object, env: Mapping[str, str], referable: frozenset[str]) -> object:
    """Every string inside a JSON-like structure resolved (keys too), so a value never splices into JSON."""
    if isinstance(data, str):
        return resolve(data, env, referable)
    if isinstance(data, dict):
        return {resolve(str(k), env, referable): resolve_all(v, env, referable) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve_all(item, env, referable) for item in data]
    return data


def strings_in(data: object) -> list[str]:
    """Every string (keys included) inside a JSON-like structure."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (str(k), *strings_in(v))]
    if isinstance(data, list):
        return [s for item in data for s in strings_in(item)]
    return []
