"""The scenarios a deployment offers: the files in the scenarios directory."""

from __future__ import annotations

from pathlib import Path

from bot.gameday.scenario_file import LoadedScenario, ScenarioError, load_scenario_file, scenario_files


class UnknownScenario(LookupError):
    """No scenario by that name; the message lists the ones there are."""


class ScenarioCatalog:
    def __init__(self, directory: Path):
        self.directory = directory

    def ids(self) -> list[str]:
        return [path.stem for path in scenario_files(self.directory)]

    def load(self, scenario_id: str) -> LoadedScenario:
        """Load one scenario by id; ScenarioError for a broken file, UnknownScenario for a wrong name."""
        for path in scenario_files(self.directory):
            if path.stem == scenario_id:
                return load_scenario_file(path)
        available = ", ".join(self.ids()) or "(none: add YAML files to the scenarios directory)"
        raise UnknownScenario(f"There is no scenario `{scenario_id}`. Available: {available}.")

    def load_all(self) -> tuple[list[LoadedScenario], list[ScenarioError]]:
        loaded, errors = [], []
        for path in scenario_files(self.directory):
            try:
                loaded.append(load_scenario_file(path))
            except ScenarioError as exc:
                errors.append(exc)
        return loaded, errors
