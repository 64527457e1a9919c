"""Secrets by reference: a scenario writes ``${env:NAME}`` where a credential goes (a header, the URL's
path or query, a body or payload value), and the value is read from the process environment only at
the moment the call is made. The scenario text, the timeline, the thread and the debrief only ever
hold the reference."""

from __future__ import annotations

import re
from collections.abc import Mapping

REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_REFERENCE = re.compile(r"\$\{env:[^}]*\}?")


class UnsetVariable(ValueError):
    """A reference to an environment variable that is not set; the message names the variable."""

    def __init__(self, name: str):
        super().__init__(f"${{env:{name}}} is not set in the bot's environment; set {name} or remove it")
        self.name = name


def reference_problem(text: str) -> str | None:
    """A sentence when ``text`` holds a ``${env:...}`` the resolver would not understand."""
    for match in _ANY_REFERENCE.finditer(text):
        if not REFERENCE.fullmatch(match.group(0)):
            return (
                f"{match.group(0)!r} is not a valid reference; write ${{env:NAME}} with NAME made of "
                "letters, digits and _"
            )
    return None


def resolve(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every ``${env:NAME}`` replaced by its value; UnsetVariable for the first unset one."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise UnsetVariable(name)
        return env[name]

    return REFERENCE.sub(value, text)


def resolve_all(data: object, env: Mapping[str, str]) -> object:
    """Every string inside a JSON-like structure resolved (keys too), so a value never splices into JSON."""
    if isinstance(data, str):
        return resolve(data, env)
    if isinstance(data, dict):
        return {resolve(str(k), env): resolve_all(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve_all(item, env) for item in data]
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
