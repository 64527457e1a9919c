"""Where a ``logs:`` step reads from besides its own file: a Kubernetes namespace's pods (by label selector)
or a Loki query. The checks here run when the scenario file is read, so a bad source is one sentence at
its line, never a surprise in the middle of a game day.

The ``match`` pattern runs on text from outside (every log line read), so it is held to a shape whose
cost stays bounded: at most ``MATCH_MAX`` characters, no repeat inside a repeat (``(a+)+``), no
alternation inside a repeat (``(a|ab)*``), at most two unbounded (or longer than 100) repeats, no
back-references; and it only ever sees the first ``MATCH_LINE_MAX`` characters of a line. Together
that keeps the worst line around a few milliseconds (measured: two ``.*`` on a crafted
1,000-character line, 40 ms; three, over a second: refused).
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # the parser of Python's own re
from typing import Any

SOURCES = ("file", "kubernetes", "loki")
MATCH_MAX = 200
MATCH_LINE_MAX = 1000  # a line is cut to this before ``match`` sees it
UNBOUNDED_MAX = 2
LONG_REPEAT = 100  # a repeat allowing more than this counts as unbounded (.{0,1000} is .* on a short line)
QUERY_MAX = 2000
MAX_PODS_CAP = 50
LIVE_EVERY_MIN = 5.0  # seconds between two posts of one live source: Slack allows about one a second
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class SourceFieldError(ValueError):
    """A logs step's problem that belongs to one of its fields: ``loc`` names it (the loader shows its
    line)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.loc = (field,)


def namespace_problem(namespace: str) -> str | None:
    """None for a namespace the bot may read pod logs in; else why not."""
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        return (
            f"{namespace!r} is not a Kubernetes namespace name "
            "(a DNS label: lowercase letters, digits and '-', 63 at most)"
        )
    if namespace in SYSTEM_NAMESPACES:
        return f"{namespace} is a system namespace; the bot never reads logs there"
    return None


def selector_problem(selector: dict[str, Any]) -> str | None:
    """None when every key and value is a Kubernetes label (so no value can widen the selector)."""
    for key, value in selector.items():
        prefix, _, name = str(key).rpartition("/")
        if (prefix and (len(prefix) > 253 or not _PREFIX.fullmatch(prefix))) or not _LABEL_NAME.fullmatch(
            name
        ):
            return f"{key!r} is not a Kubernetes label name"
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            return (
                f"{value!r} (for {key}) is not a Kubernetes label value (63 characters: letters, digits, -_.)"
            )
    return None


def container_problem(container: str) -> str | None:
    if len(container) > 63 or not _DNS_LABEL.fullmatch(container):
        return f"{container!r} is not a container name (a DNS label)"
    return None


def loki_query_problem(query: str) -> str | None:
    """A LogQL log query: a stream selector first (a metric query returns numbers, not lines)."""
    if len(query) > QUERY_MAX:
        return f"the query is {len(query)} characters long; at most {QUERY_MAX}"
    if not query.strip().startswith("{"):
        return (
            f"{query!r} is not a LogQL log query: it must start with a stream selector such as "
            "'{app=\"web\"}' (a metric query returns numbers, not lines)"
        )
    if any(ord(char) < 0x20 and char not in "\t" for char in query):
        return "the query holds a line break or control character"
    return None


def match_problem(pattern: str) -> str | None:
    """None when ``pattern`` is a regular expression safe to run on every log line; else why not."""
    if len(pattern) > MATCH_MAX:
        return f"the pattern is {len(pattern)} characters long; at most {MATCH_MAX}"
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"{pattern!r} is not a regular expression ({exc})"
    problem = _shape_problem(parsed, inside_repeat=False)
    if problem:
        return f"{pattern!r} {problem}; write a simpler pattern such as 'denied|refused'"
    if _unbounded_count(parsed) > UNBOUNDED_MAX:
        return (
            f"{pattern!r} has more than {UNBOUNDED_MAX} unbounded repeats (*, +, {{n,}}), which can take "
            "seconds on one crafted line; write a simpler pattern such as 'denied.*user'"
        )
    return None


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _items(parsed: Any) -> list[tuple[str, Any]]:
    return [(str(op), value) for op, value in parsed]


def _children(op: str, value: Any) -> list[Any]:
    """The sub-patterns of one parsed item (groups, repeats, branches, lookarounds)."""
    if op in _REPEATS:
        return [value[2]]
    if op == "SUBPATTERN":
        return [value[-1]]
    if op == "BRANCH":
        return list(value[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [value[1]]
    if op == "ATOMIC_GROUP":
        return [value]
    if op == "GROUPREF_EXISTS":
        return [part for part in value[1:] if part is not None]
    return []


def _shape_problem(parsed: Any, inside_repeat: bool) -> str | None:
    for op, value in _items(parsed):
        if op in ("GROUPREF", "GROUPREF_EXISTS"):
            return "refers back to a group (\\1), which can take exponential time"
        many = op in _REPEATS and value[1] > 1  # MAXREPEAT (unbounded) is the largest
        if many and inside_repeat:
            return "repeats a repeat (like (a+)+), which can take exponential time on one line"
        if op == "BRANCH" and inside_repeat:
            return "repeats an alternation (like (a|ab)*), which can take exponential time on one line"
        for child in _children(op, value):
            problem = _shape_problem(child, inside_repeat or many)
            if problem:
                return problem
    return None


def _unbounded_count(parsed: Any) -> int:
    count = 0
    for op, value in _items(parsed):
        if op in _REPEATS and (value[1] == sre_parse.MAXREPEAT or value[1] > LONG_REPEAT):
            count += 1
        count += sum(_unbounded_count(child) for child in _children(op, value))
    return count


def namespace_refusal(source: str | None, namespace: str | None, allowed: frozenset[str]) -> str | None:
    """At start: a kubernetes log source outside the deployment's SCE_ALLOWED_NAMESPACES is refused
    before anything runs, as a fault there would be."""
    if source != "kubernetes" or namespace is None or namespace in allowed - SYSTEM_NAMESPACES:
        return None
    return (
        f"The scenario cannot run: its logs step reads pods in namespace {namespace}, which is not in "
        "SCE_ALLOWED_NAMESPACES for this deployment."
    )
