"""A finding as a ticket's title and body: Markdown for GitHub, Atlassian Document Format for Jira.

The finding's text was typed by people in Slack: it is sent as text, never as markup. In Markdown every
ASCII punctuation character is backslash-escaped (CommonMark: an escaped character is a literal), so
``@team`` mentions no one, ``#12`` links nothing, ``<img>`` is no HTML and ``[x](y)`` is no link; in ADF it
is a text node's ``text``, which Jira shows as it is. Control characters show as U+FFFD in both, and a
title is one line of at most ``TITLE_LIMIT`` characters.
"""

from __future__ import annotations

import string
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.debrief.findings import printable
from bot.gameday.findings.model import Finding

TITLE_LIMIT = 200
TEXT_LIMIT = 20_000
"""Characters of a finding's text put in a ticket (GitHub takes 65,536 in a body; Jira 32,767)."""
_ESCAPED = {ord(c): "\\" + c for c in string.punctuation}
_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # Markdown: the values are escaped by ``markdown_text`` before they get here
    keep_trailing_newline=True,
)


def markdown_text(value: object) -> str:
    """``value`` as Markdown that shows it literally (see the module's docstring)."""
    return printable(value, keep="\n").translate(_ESCAPED)


def title(finding: Finding) -> str:
    one_line = " ".join(printable(finding.text).replace("\ufffd", " ").split())
    text = _env.get_template("ticket_title.txt.j2").render(f=finding, text=one_line).strip()
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def facts(finding: Finding, evidence: str) -> list[tuple[str, str]]:
    """The lines of a ticket, label and value, in the order both formats show them."""
    rows = [
        ("Scenario", finding.scenario),
        ("Game day", finding.gameday),
        ("Kind", str(finding.kind)),
        ("Step", str(finding.step) if finding.step is not None else "none"),
        ("Technique", finding.technique or "none"),
        ("Evidence", evidence),
    ]
    return [(label, printable(value)) for label, value in rows]


def evidence(finding: Finding) -> str:
    return f"sce debrief {finding.gameday}"


def markdown_body(finding: Finding) -> str:
    lines = [(label, markdown_text(value)) for label, value in facts(finding, evidence(finding))[:-1]]
    return _env.get_template("ticket.md.j2").render(
        f=finding,
        text=markdown_text(finding.text[:TEXT_LIMIT]),
        lines=lines,
        evidence=evidence(finding).replace("`", ""),
    )


def adf_body(finding: Finding) -> dict[str, Any]:
    """The description of a Jira issue: a doc (version 1) of paragraphs of text nodes."""

    def paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
        return {"type": "paragraph", "content": list(nodes)}

    def text(value: str, *marks: str) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "text", "text": value}
        if marks:
            node["marks"] = [{"type": mark} for mark in marks]
        return node

    said = printable(finding.text[:TEXT_LIMIT], keep="\n").strip() or "(no text)"
    lines: list[dict[str, Any]] = []
    for line in said.split("\n"):  # a line break is a hardBreak node; ADF forbids an empty text node
        lines += [{"type": "hardBreak"}] if lines else []
        lines += [text(line)] if line else []
    content = [paragraph(text(f"{finding.id} ({finding.kind}): ", "strong"), *lines)]
    for label, value in facts(finding, evidence(finding)):
        marks = ("code",) if label == "Evidence" else ()
        content.append(paragraph(text(f"{label}: ", "strong"), text(value or "none", *marks)))
    return {"type": "doc", "version": 1, "content": content}
