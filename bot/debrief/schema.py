"""The JSON Schema of the debrief, generated from the pydantic model and shipped beside it.

``python -m bot.debrief.schema`` rewrites ``schema/debrief.schema.json``; a test fails when the shipped
file and the model disagree, so the published contract cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.gameday.json_schema import shipped, text_of, write
from bot.gameday.measuring.report_models import Debrief

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "debrief.schema.json"


def debrief_schema() -> dict[str, Any]:
    """The schema that ``sce debrief --format json`` output validates against."""
    return shipped(
        Debrief.model_json_schema(mode="serialization"),
        "A game day's debrief, computed from its timeline (`sce debrief <id|latest> --format json`). "
        "Times are Unix seconds, durations seconds; null where nothing happened.",
    )


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return text_of(debrief_schema())


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    return write(path, schema_text())


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
