"""The JSON Schema of the debrief, generated from the pydantic model and shipped beside it.

``python -m bot.debrief.schema`` rewrites ``schema/debrief.schema.json``; a test fails when the shipped
file and the model disagree, so the published contract cannot drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.gameday.measuring.report_models import Debrief

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "debrief.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def debrief_schema() -> dict[str, Any]:
    """The schema that ``sce debrief --format json`` output validates against."""
    schema = Debrief.model_json_schema(mode="serialization")
    schema["description"] = (
        "A game day's debrief, computed from its timeline (`sce debrief <id|latest> --format json`). "
        "Times are Unix seconds, durations seconds; null where nothing happened."
    )
    return {"$schema": DIALECT, **schema}


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(debrief_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
