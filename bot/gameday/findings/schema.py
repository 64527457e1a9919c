"""The JSON Schema of `sce findings --format json`, generated from the model and shipped beside it.

``python -m bot.gameday.findings.schema`` rewrites ``schema/findings.schema.json``; a test fails when the
shipped file and the model disagree (as ``bot/debrief/schema.py`` does for the debrief).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.gameday.findings.document import FindingDocument

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "findings.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def findings_schema() -> dict[str, Any]:
    """The schema that ``sce findings --format json`` output validates against."""
    schema = TypeAdapter(list[FindingDocument]).json_schema(mode="serialization")
    schema["title"] = "Findings"
    schema["description"] = (
        "The findings of finished game days (`sce findings --format json`), oldest first. Times are Unix "
        "seconds, durations seconds; null where it has not happened."
    )
    return {"$schema": DIALECT, **schema}


def schema_text() -> str:
    return json.dumps(findings_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
