"""How big a scenario may be, checked on YAML's event stream before any node is built.

A scenario file comes from whoever can write to the scenarios folder, and ``sce validate``, ``/sce list``
and ``/sce start`` read it in a process that also answers ``/sce abort``. So the size of the text, the
depth of nesting, the length of a single text and, above all, what aliases expand to are bounded before
PyYAML composes the document: the event stream is read without recursion and without building anything,
and an alias (or a ``<<`` merge of one) is counted as the whole subtree it stands for, so a
billion-laughs or merge-key bomb is refused after a few hundred events instead of being expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

KIB = 1024
MIB = 1024 * KIB
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, when PyYAML was built with it


@dataclass(frozen=True)
class ScenarioLimits:
    max_bytes: int
    max_depth: int
    max_expansion: int  # nodes that aliases may add beyond the ones written
    max_steps: int
    max_text: int | None  # characters in one scalar; None: not checked
    loader: Any = yaml.SafeLoader  # the pure-Python one words syntax errors the way the tests pin them


FILE_LIMITS = ScenarioLimits(
    max_bytes=256 * KIB, max_depth=32, max_expansion=10_000, max_steps=500, max_text=40_000
)
"""A scenario file as people write it: 40,000 characters is the most Slack posts in one message."""

ATTACHMENTS_MAX_BYTES = 5 * MIB
"""Every ``logs.file`` and ``sbom.file`` of one scenario together."""

STORED_LIMITS = ScenarioLimits(
    max_bytes=FILE_LIMITS.max_bytes + 3 * ATTACHMENTS_MAX_BYTES,  # YAML of a JSON SBOM takes more room
    max_depth=64,
    max_expansion=FILE_LIMITS.max_expansion,
    max_steps=FILE_LIMITS.max_steps,
    max_text=None,
    loader=_FAST_LOADER,
)
"""Scenario text with its attachments read in (an SBOM's own strings may be long). It is our own YAML
dump, megabytes of it at worst, so it is read with libyaml when PyYAML has it (ten times faster)."""


class LimitExceeded(ValueError):
    """A scenario over a limit; ``line`` (1-based) is where, ``field`` the field when known."""

    def __init__(self, line: int, message: str, field: str = ""):
        super().__init__(message)
        self.line = line
        self.field = field


def size_words(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"


def check_text_size(size: int, limits: ScenarioLimits) -> None:
    """Refuse text over ``limits.max_bytes`` before anything reads it as YAML."""
    if size > limits.max_bytes:
        raise LimitExceeded(
            1, f"is larger than {size_words(limits.max_bytes)}, the most a scenario file may be"
        )


def check_structure(text: str, limits: ScenarioLimits) -> None:
    """Walk YAML's events once: depth, long texts and what aliases expand to; LimitExceeded on the first.

    Syntax errors are left to PyYAML (they raise its own MarkedYAMLError, with a line). The events are
    read with libyaml when PyYAML has it: PyYAML's own scanner takes a second over a line of 100,000
    ``[``; where libyaml stops at a syntax error, PyYAML's reader checks the whole text again, so no part
    of what PyYAML will compose goes unchecked.
    """
    if limits.loader is not _FAST_LOADER:
        try:
            _check_events(text, limits, _FAST_LOADER)
            return
        except (yaml.YAMLError, UnicodeError):  # libyaml cannot even encode a lone surrogate
            pass
    _check_events(text, limits, limits.loader)


def compose(text: str, limits: ScenarioLimits) -> yaml.Node | None:
    """YAML's node tree, composed by libyaml when PyYAML has it (the common case: a valid file, ten times
    faster); on a mistake, composed again by the loader of ``limits``, whose error is the one people read."""
    if limits.loader is not _FAST_LOADER:
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
            return node
        except (yaml.YAMLError, UnicodeError):  # worded by the pure-Python loader, just below
            pass
    return yaml.compose(text, Loader=limits.loader)


def _check_events(text: str, limits: ScenarioLimits, loader: Any) -> None:
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, nodes counted when it opened)
    sizes: dict[str, int] = {}  # anchor -> nodes in its subtree, once it is complete
    written = expanded = 0
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor or ""
            if anchor not in sizes:
                if any(name == anchor for name, _ in open_nodes):
                    raise LimitExceeded(line, f"the alias *{anchor} is inside the node it names")
                continue  # an undefined alias: composing reports it
            written += 1
            expanded += sizes[anchor]
            if expanded - written > limits.max_expansion:
                raise LimitExceeded(
                    line,
                    f"aliases (here *{anchor}) expand the document by more than "
                    f"{limits.max_expansion:,} values; write the values out or use fewer aliases",
                )
        elif isinstance(event, yaml.ScalarEvent):
            written += 1
            expanded += 1
            if limits.max_text is not None and len(event.value) > limits.max_text:
                raise LimitExceeded(
                    line,
                    f"a text of {len(event.value):,} characters is longer than the "
                    f"{limits.max_text:,} a scenario allows",
                )
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            written += 1
            expanded += 1
            open_nodes.append((event.anchor, expanded - 1))
            if len(open_nodes) > limits.max_depth:
                raise LimitExceeded(line, f"is nested deeper than {limits.max_depth} levels")
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            name, before = open_nodes.pop()
            if name:
                sizes[name] = expanded - before


def check_steps(node: yaml.Node, limits: ScenarioLimits) -> None:
    """Refuse more steps than ``limits.max_steps``, on the composed document before it is built."""
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        is_steps = getattr(key, "value", None) == "steps" and isinstance(value, yaml.SequenceNode)
        if is_steps and len(value.value) > limits.max_steps:
            raise LimitExceeded(
                key.start_mark.line + 1,
                f"has {len(value.value):,} steps; a scenario may have at most {limits.max_steps:,}",
                "steps",
            )
