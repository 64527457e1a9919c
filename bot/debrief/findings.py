"""`sce findings` as a table, CSV or JSON, and `sce findings show` as text.

The text of a finding was typed by people in Slack: in the table, the text and CSV every control
character (a terminal escape sequence, a carriage return that hides what came before it) shows as U+FFFD
(CSV keeps line breaks, quoted), and in CSV a cell that a spreadsheet would read as a formula (``=``,
``+``, ``-``, ``@``) starts with a ``'``. JSON keeps the text exactly, escaped as JSON escapes it.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.debrief import formatting
from bot.gameday.findings.document import FindingDocument, finding_document
from bot.gameday.findings.model import Finding
from bot.gameday.scenario.durations import format_duration

FINDINGS_FORMATS = ("table", "json", "csv")
COLUMNS = tuple(FindingDocument.model_fields)
"""The CSV columns: the JSON fields, notes as a count (a CSV cell holds no list)."""
TEXT_WIDTH = 60
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def printable(value: object, keep: str = "") -> str:
    """The value with every control character but those in ``keep`` (a line break too) shown as U+FFFD."""
    return "".join(
        "\ufffd" if unicodedata.category(c).startswith("C") and c not in keep else c for c in str(value)
    )


def _cut(value: object, width: int = TEXT_WIDTH) -> str:
    text = printable(value)
    return text if len(text) <= width else text[: width - 1] + "…"


_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=False,
    auto_reload=False,
    finalize=lambda value: "-" if value is None else printable(value),
)
_env.filters["iso"] = formatting.iso
_env.filters["dur"] = format_duration
_env.filters["cut"] = _cut


def render_findings(findings: list[Finding], fmt: str) -> str:
    """Every finding in ``fmt`` (table, json or csv), oldest first."""
    documents = [finding_document(f) for f in findings]
    if fmt == "json":
        return json.dumps([d.model_dump(mode="json") for d in documents], indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for document in documents:
            row = document.model_dump(mode="json")
            row["notes"] = len(document.notes)
            writer.writerow([_cell(row[column]) for column in COLUMNS])
        return out.getvalue()
    if fmt == "table":
        return _env.get_template("findings.txt.j2").render(findings=documents).rstrip() + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FINDINGS_FORMATS)}")


def render_finding(finding: Finding) -> str:
    """One finding, everything about it: its notes, and how long it took to be fixed and verified."""
    text = _env.get_template("finding.txt.j2").render(f=finding_document(finding))
    return text.rstrip() + "\n"


def _cell(value: object) -> object:
    if not isinstance(value, str):
        return "" if value is None else value
    return ("'" if value.startswith(_FORMULA) else "") + printable(value, keep="\n")
