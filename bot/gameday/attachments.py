"""Files shipped with a scenario (a log to stream, an SBOM to search), read when a game day starts and
folded into the scenario text it keeps, so the game day (and its approval hash) holds exactly what ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bot.gameday.scenario_file import LoadedScenario, ScenarioError, ScenarioProblem, parse_scenario


def with_attachments(loaded: LoadedScenario, directory: Path) -> LoadedScenario:
    """The scenario with every ``logs.file`` and ``sbom.file`` read in; unchanged when it has none."""
    if not any(step.logs and step.logs.file or step.sbom for step in loaded.scenario.steps):
        return loaded
    data: dict[str, Any] = yaml.safe_load(loaded.text)
    for index, step in enumerate(data["steps"]):
        logs, sbom = step.get("logs") or {}, step.get("sbom") or {}
        if logs.get("file"):
            text = _read(directory, logs["file"], loaded.path, f"steps[{index}].logs.file")
            logs["lines"] = [line for line in text.splitlines() if line.strip()]
            del logs["file"]
        if sbom.get("file") and sbom.get("document") is None:
            text = _read(directory, sbom["file"], loaded.path, f"steps[{index}].sbom.file")
            try:
                sbom["document"] = json.loads(text)
            except ValueError:
                raise ScenarioError(
                    [
                        ScenarioProblem(
                            loaded.path,
                            1,
                            f"steps[{index}].sbom.file",
                            f"{sbom['file']} is not JSON (CycloneDX or SPDX)",
                        )
                    ]
                ) from None
    text = "# attachments read in when the game day started\n" + yaml.safe_dump(data, sort_keys=False)
    return LoadedScenario(scenario=parse_scenario(text, loaded.path), text=text, path=loaded.path)


def _read(directory: Path, name: str, source: str, field: str) -> str:
    path = (directory / name).resolve()
    if directory.resolve() not in path.parents:
        raise ScenarioError(
            [ScenarioProblem(source, 1, field, f"{name} must stay inside the scenarios folder")]
        )
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            [ScenarioProblem(source, 1, field, f"{name} cannot be read ({exc.strerror})")]
        ) from None
