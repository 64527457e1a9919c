"""The JSON Schema of `sce report --format json`, generated from the model and shipped beside it.

``python -m bot.gameday.programme.schema`` rewrites ``schema/programme.schema.json``; a test fails when
the shipped file and the model disagree (as ``bot/debrief/schema.py`` does for the debrief).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.gameday.json_schema import shipped, text_of, write
from bot.gameday.programme.model import ProgrammeReport

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "programme.schema.json"


def programme_schema() -> dict[str, Any]:
    return shipped(
        ProgrammeReport.model_json_schema(mode="serialization"),
        "The programme report (`sce report --format json`): game days per quarter, ATT&CK coverage, "
        "findings and learning-loop speed. Times are Unix seconds, durations seconds; null where none.",
    )


def schema_text() -> str:
    return text_of(programme_schema())


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    return write(path, schema_text())


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
