"""The JSON Schemas the product ships beside its JSON outputs (debrief, findings, programme report): each
generated from its pydantic model, written the same way, and compared with the shipped file by a test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def shipped(schema: dict[str, Any], description: str, title: str | None = None) -> dict[str, Any]:
    """A model's schema as shipped: the dialect first, a description for its readers."""
    schema = dict(schema)
    if title is not None:
        schema["title"] = title
    schema["description"] = description
    return {"$schema": DIALECT, **schema}


def text_of(schema: dict[str, Any]) -> str:
    """The schema as its file holds it."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
