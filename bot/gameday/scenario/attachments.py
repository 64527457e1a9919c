"""Files shipped with a scenario (a log to stream, an SBOM to search), read when a game day starts and
folded into the scenario text it keeps, so the game day (and its approval hash) holds exactly what ran.

An attachment is named relative to the scenarios folder and must be a regular file inside it (no
absolute path, no ``..``, no symbolic link leading out, no FIFO or device); all of a scenario's
attachments together are at most ``ATTACHMENTS_MAX_BYTES``. ``/sce start`` reads them after Slack has
its ack, never on the listener's thread.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any, NoReturn

import yaml

from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import ATTACHMENTS_MAX_BYTES, STORED_LIMITS, size_words
from bot.gameday.scenario.loading import (
    LoadedScenario,
    ScenarioError,
    ScenarioProblem,
    field_line,
    parse_scenario,
)

SBOM_MAX_DEPTH = 32


def has_attachments(loaded: LoadedScenario) -> bool:
    """Whether starting this scenario reads files besides its own."""
    return any(step.logs and step.logs.file or step.sbom for step in loaded.scenario.steps)


def with_attachments(loaded: LoadedScenario, directory: Path) -> LoadedScenario:
    """The scenario with every ``logs.file`` and ``sbom.file`` read in; unchanged when it has none."""
    if not has_attachments(loaded):
        return loaded
    data: dict[str, Any] = yaml.safe_load(loaded.text)  # already within FILE_LIMITS
    budget = [ATTACHMENTS_MAX_BYTES]
    for index, step in enumerate(data["steps"]):
        logs, sbom = step.get("logs") or {}, step.get("sbom") or {}
        if logs.get("file"):
            where = ("steps", index, "logs", "file")
            text = _read(directory, logs["file"], loaded, where, budget)
            logs["lines"] = [line for line in text.splitlines() if line.strip()]
            del logs["file"]
        if sbom.get("file") and sbom.get("document") is None:
            where = ("steps", index, "sbom", "file")
            text = _read(directory, sbom["file"], loaded, where, budget)
            try:
                sbom["document"] = json.loads(text)
            except (ValueError, RecursionError):
                _refuse(loaded, where, f"{sbom['file']} is not JSON (CycloneDX or SPDX)")
            if _depth(sbom["document"]) > SBOM_MAX_DEPTH:
                _refuse(loaded, where, f"{sbom['file']} is nested deeper than {SBOM_MAX_DEPTH} levels")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumped = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=False)
    text = "# attachments read in when the game day started\n" + dumped
    scenario = parse_scenario(text, loaded.path, limits=STORED_LIMITS)
    return LoadedScenario(scenario=scenario, text=text, path=loaded.path)


def _read(
    directory: Path, name: str, loaded: LoadedScenario, where: tuple[str | int, ...], budget: list[int]
) -> str:
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
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _refuse(loaded, where, f"{name} is not UTF-8 text")


def _refuse(loaded: LoadedScenario, where: tuple[str | int, ...], message: str) -> NoReturn:
    field = f"steps[{where[1]}]." + ".".join(str(part) for part in where[2:])
    raise ScenarioError([ScenarioProblem(loaded.path, field_line(loaded.text, where), field, message)])


def _depth(document: object) -> int:
    """How deep JSON nests, without recursion."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            pending.extend(
                (item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)
            )
    return deepest
