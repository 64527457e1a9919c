"""The evidence bundle for an audit: one zip with the scenario, its hash, approvals, timeline, debriefs
and the panels' charts (SVG).

Everything in it is derived from what the game day recorded; a manifest lists each file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.debrief.panels import panel_svgs
from bot.debrief.render import EXTENSIONS, FORMATS, redacted, render_redacted
from bot.gameday.measuring.report_models import Debrief

SCENARIO_FILE = "scenario.yaml"
HASH_FILE = "scenario.sha256"
_EPOCH_OF_ZIP = 315532800.0  # 1980-01-01, the earliest time a zip entry can carry


def bundle_files(debrief: Debrief, scenario_text: str, audit_lines: Sequence[str] = ()) -> dict[str, bytes]:
    """The bundle's files by name, manifest last. The scenario is kept as it was written (its hash is the
    evidence); every file derived from the game day has its literal credentials redacted. ``audit_lines``:
    the game day's entries of the audit ledger, exported as they are stored (their hashes are the
    evidence: `sce audit verify --segment audit.jsonl`)."""
    debrief = redacted(debrief)
    digest = hashlib.sha256(scenario_text.encode("utf-8")).hexdigest()
    files: dict[str, bytes] = {
        SCENARIO_FILE: scenario_text.encode("utf-8"),
        HASH_FILE: f"{digest}  {SCENARIO_FILE}\n".encode(),
        "approvals.json": _json(_approvals(debrief, digest)),
        "timeline.json": _json(debrief.timeline),
    }
    for fmt in FORMATS:
        files[f"debrief.{EXTENSIONS[fmt]}"] = render_redacted(debrief, fmt).encode("utf-8")
    if debrief.panels:  # each panel's chart, faults as bands (bot/debrief/panels)
        files.update(panel_svgs(debrief))
    if audit_lines:
        files["audit.jsonl"] = "".join(f"{line}\n" for line in audit_lines).encode("utf-8")
    files["manifest.json"] = _json(
        {
            "gameday": debrief.id,
            "scenario": debrief.scenario,
            "scenario_sha256": digest,
            "scenario_hash_recorded": debrief.scenario_hash,
            "scenario_hash_matches": debrief.scenario_hash == digest,
            # the change control it ran under: ticket, link, window (and whether it started inside)
            "change_control": debrief.change_control.model_dump() if debrief.change_control else None,
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        }
    )
    return files


def write_bundle(debrief: Debrief, scenario_text: str, path: Path, audit_lines: Sequence[str] = ()) -> Path:
    """Write the evidence bundle zip to ``path``; the same game day always gives the same bytes."""
    at = max(debrief.ended_at or debrief.started_at or 0.0, _EPOCH_OF_ZIP)
    stamp = datetime.fromtimestamp(at, UTC).timetuple()[:6]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in bundle_files(debrief, scenario_text, audit_lines).items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def _approvals(debrief: Debrief, digest: str) -> dict[str, Any]:
    """Who started the game day and who approved it, each bound to the scenario hash it saw."""
    started = next((e for e in debrief.timeline if e.get("kind") == "gameday_started"), None)
    return {
        "gameday": debrief.id,
        "scenario_sha256": digest,
        "started_by": started.get("actor") if started else None,
        "started_at": started.get("at") if started else None,
        "scenario_hash_at_start": debrief.scenario_hash,
        "approvals": [a.model_dump() for a in debrief.approvals],
    }


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
