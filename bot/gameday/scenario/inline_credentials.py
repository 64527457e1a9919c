"""Credentials written into a scenario file, for ``sce validate`` to warn about.

A scenario is stored whole with every game day (and shown in its evidence bundle), so a secret written
into it spreads. The way to name one is ``${env:NAME}`` (``bot/gameday/scenario/secret_refs``). This
module only finds what looks like a literal credential; it changes nothing and refuses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import yaml

from bot.gameday.scenario.secret_refs import REFERENCE, refusal

TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{8,}")),
    ("a Slack app token", re.compile(r"\bxapp-[0-9A-Za-z-]{8,}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[0-9A-Za-z]{20,}|github_pat_[0-9A-Za-z_]{20,})")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a JSON Web Token", re.compile(r"\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    # an Authorization value written out: the credential has a digit, so prose ("basic steps") is not one
    (
        "a bearer token",
        re.compile(r"(?i)\b(?:bearer|basic)\s+(?!\$\{env:)(?=[^\s]*[0-9])[0-9A-Za-z._~+/=-]{8,}"),
    ),
)
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "private-token",
        "x-token",
    }
)
CREDENTIAL_WORDS = re.compile(r"(?i)(token|secret|password|passwd|api[-_]?key|auth|credential|signature)")
CREDENTIAL_PARAMETERS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "secret", "password", "sig", "signature"}
)
_ASSIGNED = re.compile(
    r"(?i)[\"']?\b(token|access_token|api_?key|secret|password|passwd)[\"']?\s*[:=]\s*[\"']?(\$\{env:[^}]*\}|[^\"'&,}\s]+)"
)
_SCHEME_WORDS = re.compile(r"(?i)^\s*(bearer|basic|token|digest)?\s*$")


@dataclass(frozen=True)
class InlineCredential:
    file: str
    line: int
    field: str
    what: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.field}: warning: {self.what} is written inline; "
            "write ${env:NAME} instead and set NAME in the bot's environment"
        )


def _literal(value: str) -> bool:
    """Whether anything but references (and an auth scheme word) is left in ``value``."""
    return not _SCHEME_WORDS.match(REFERENCE.sub("", value))


def field_name(path: tuple[str | int, ...]) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def scalars(text: str) -> list[tuple[tuple[str | int, ...], int, str]]:
    """(path, line, value) of every string in a scenario's YAML; empty when the text is not YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return []
    found: list[tuple[tuple[str | int, ...], int, str]] = []
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())] if root is not None else []
    seen: set[int] = set()
    while pending:
        node, path = pending.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            pending.extend((value, (*path, str(key.value))) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((child, (*path, index)) for index, child in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) and path:
            found.append((path, node.start_mark.line + 1, node.value))
    return found


def inline_credentials(text: str, source: str) -> list[InlineCredential]:
    """Every literal credential in a scenario's YAML, with its line and field (nothing when the text is
    not YAML: the validation proper reports that)."""
    found = []
    for path, line, value in scalars(text):
        problems = _problems(path, value)
        if problems:
            found.append(InlineCredential(source, line, field_name(path), " and ".join(problems)))
    return sorted(found, key=lambda f: (f.line, f.field))


def unlisted_references(text: str, source: str, referable: frozenset[str]) -> list[str]:
    """``file:line: field: sentence`` for each ``${env:NAME}`` this deployment would refuse at call time."""
    lines = []
    for path, line, value in scalars(text):
        for name in dict.fromkeys(REFERENCE.findall(value)):
            why = refusal(name, referable)
            if why is not None:
                sentence = f"{field_name(path)}: ${{env:{name}}} {why.format(name=name)}"
                lines.append((line, f"{source}:{line}: {sentence}"))
    return [text for _, text in sorted(lines, key=lambda pair: pair[0])]


def _problems(path: tuple[str | int, ...], value: str) -> list[str]:
    problems = [name for name, shape in TOKEN_SHAPES if shape.search(REFERENCE.sub("", value))]
    key = str(path[-1])
    parent = str(path[-2]) if len(path) > 1 else ""
    if (
        parent == "headers"
        and _literal(value)
        and (key.lower() in CREDENTIAL_HEADERS or CREDENTIAL_WORDS.search(key))
    ):
        problems.append(f"the {key} header's value")
    elif "payload" in path and CREDENTIAL_WORDS.search(key) and _literal(value):
        problems.append(f"the value of {key}")
    if key == "body":
        for name, assigned in _ASSIGNED.findall(value):
            if _literal(assigned):
                problems.append(f"the body's {name}")
    if key == "url":
        authority = value.split("://", 1)[-1].split("/", 1)[0]
        if "@" in authority:
            problems.append("a user name or password in the URL")
        query = value.split("?", 1)[1].split("#", 1)[0] if "?" in value else ""
        for name, param in parse_qsl(query, keep_blank_values=True):
            if name.lower() in CREDENTIAL_PARAMETERS and _literal(param):
                problems.append(f"the URL's {name} parameter")
    return list(dict.fromkeys(problems))
