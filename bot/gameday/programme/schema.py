"""The JSON Schema of `sce report --format json`, generated from the model and shipped beside it.

``python -m bot.gameday.programme.schema`` rewrites ``schema/programme.schema.json``; a test fails when
the shipped file and the model disagree (as ``bot/debrief/schema.py`` does for the debrief).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.gameday.programme.model import ProgrammeReport

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "programme.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def programme_schema() -> dict[str, Any]:
    schema = ProgrammeReport.model_json_schema(mode="serialization")
    schema["description"] = (
        "The programme report (`sce report --format json`): game days per quarter, ATT&CK coverage, "
        "findings and learning-loop speed. Times are Unix seconds, durations seconds; null where none."
    )
    return {"$schema": DIALECT, **schema}


def schema_text() -> str:
    return json.dumps(programme_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
