"""Files shipped with a scenario (a log to stream, an SBOM to search), read when a game day starts and
folded into the scenario text it keeps, so the game day (and its approval hash) holds exactly what ran:
a log's lines, and of an SBOM its SHA-256 and what the lookup found (not a copy of it).

An attachment is named relative to the scenarios folder and must be a regular file inside it (no
absolute path, no ``..``, no symbolic link leading out, no FIFO or device); all of a scenario's
attachments together are at most ``ATTACHMENTS_MAX_BYTES``. ``/sce start`` reads them after Slack has
its ack, never on the listener's thread.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePath
from typing import Any, NoReturn

import yaml

from bot.gameday.sbom import SbomError, find, read_sbom
from bot.gameday.sbom.encoding import decode
from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import ATTACHMENTS_MAX_BYTES, STORED_LIMITS, size_words
from bot.gameday.scenario.loading import (
    LoadedScenario,
    ScenarioError,
    ScenarioProblem,
    field_line,
    parse_scenario,
)


def has_attachments(loaded: LoadedScenario) -> bool:
    """Whether starting this scenario reads files besides its own."""
    return any(step.logs and step.logs.file or step.sbom for step in loaded.scenario.steps)


def with_attachments(loaded: LoadedScenario, directory: Path) -> LoadedScenario:
    """The scenario with every ``logs.file`` read in and every ``sbom.file`` looked up (its SHA-256 and
    what was found kept, not the SBOM); unchanged when it has none."""
    if not has_attachments(loaded):
        return loaded
    data: dict[str, Any] = yaml.safe_load(loaded.text)  # already within FILE_LIMITS
    budget = [ATTACHMENTS_MAX_BYTES]
    for index, step in enumerate(data["steps"]):
        logs, sbom = step.get("logs") or {}, step.get("sbom") or {}
        if logs.get("file"):
            where = ("steps", index, "logs", "file")
            text = _text(directory, logs["file"], loaded, where, budget)
            logs["lines"] = [line for line in text.splitlines() if line.strip()]
            del logs["file"]
        if sbom.get("file"):
            _look_up(directory, sbom, loaded, index, budget)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumped = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=False)
    text = "# attachments read in when the game day started\n" + dumped
    scenario = parse_scenario(text, loaded.path, limits=STORED_LIMITS)
    return LoadedScenario(scenario=scenario, text=text, path=loaded.path)


def _look_up(
    directory: Path, sbom: dict[str, Any], loaded: LoadedScenario, index: int, budget: list[int]
) -> None:
    """Read ``sbom.file``, check it against a pinned ``sha256``, and keep its hash and the lookup's result."""
    for written in ("found", "document"):
        if written in sbom:
            _refuse(
                loaded,
                ("steps", index, "sbom", written),
                "is written by the bot when the game day starts, not in the scenario",
            )
    where = ("steps", index, "sbom", "file")
    raw = _read(directory, sbom["file"], loaded, where, budget)
    digest = hashlib.sha256(raw).hexdigest()
    if sbom.get("sha256") and sbom["sha256"] != digest:
        pinned = ("steps", index, "sbom", "sha256")
        _refuse(loaded, pinned, f"{sbom['file']} has changed: its SHA-256 is now {digest}")
    try:
        inventory = read_sbom(raw)
    except SbomError as exc:
        _refuse(loaded, where, f"{sbom['file']} {exc}")
    found = find(inventory, str(sbom["package"]))
    sbom["sha256"] = digest
    sbom["found"] = {
        "format": inventory.format,
        "components": len(inventory.components),
        "matched": found.matched,
        "versions": found.versions,
        "unversioned": found.unversioned,
        "affected": found.affected,
    }


def _text(
    directory: Path, name: str, loaded: LoadedScenario, where: tuple[str | int, ...], budget: list[int]
) -> str:
    try:
        return decode(_read(directory, name, loaded, where, budget))
    except SbomError as exc:
        _refuse(loaded, where, f"{name} {exc}")


def _read(
    directory: Path, name: str, loaded: LoadedScenario, where: tuple[str | int, ...], budget: list[int]
) -> bytes:
    relative = PurePath(name)
    if relative.is_absolute():
        _refuse(loaded, where, f"{name} must be a path relative to the scenarios folder")
    folder = directory.resolve()
    path = (folder / relative).resolve()
    if ".." in relative.parts or folder not in path.parents:
        _refuse(loaded, where, f"{name} must stay inside the scenarios folder")
    try:
        raw = read_regular_file(path, budget[0], "a scenario's attachments together", follow=False)
    except UnsafeFile as exc:
        message = str(exc)
        if budget[0] < ATTACHMENTS_MAX_BYTES and message.startswith("is larger than"):
            message = f"brings the scenario's attachments over {size_words(ATTACHMENTS_MAX_BYTES)}"
        _refuse(loaded, where, f"{name} {message}")
    budget[0] -= len(raw)
    return raw


def _refuse(loaded: LoadedScenario, where: tuple[str | int, ...], message: str) -> NoReturn:
    field = f"steps[{where[1]}]." + ".".join(str(part) for part in where[2:])
    raise ScenarioError([ScenarioProblem(loaded.path, field_line(loaded.text, where), field, message)])
