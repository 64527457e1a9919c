"""The JSON Schema of `sce findings --format json`, generated from the model and shipped beside it.

``python -m bot.gameday.findings.schema`` rewrites ``schema/findings.schema.json``; a test fails when the
shipped file and the model disagree (as ``bot/debrief/schema.py`` does for the debrief).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.gameday.findings.document import FindingDocument
from bot.gameday.json_schema import shipped, text_of, write

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "findings.schema.json"


def findings_schema() -> dict[str, Any]:
    """The schema that ``sce findings --format json`` output validates against."""
    return shipped(
        TypeAdapter(list[FindingDocument]).json_schema(mode="serialization"),
        "The findings of finished game days (`sce findings --format json`), oldest first. Times are Unix "
        "seconds, durations seconds; null where it has not happened.",
        title="Findings",
    )


def schema_text() -> str:
    return text_of(findings_schema())


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    return write(path, schema_text())


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
