"""The scenarios a deployment offers: the files in the scenarios directory."""

from __future__ import annotations

from pathlib import Path

from bot.gameday.people.mentions import literal
from bot.gameday.people.rotation import RotationError
from bot.gameday.scenario.attachments import with_attachments
from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import FILE_LIMITS
from bot.gameday.scenario.loading import LoadedScenario, ScenarioError, load_scenario_file, scenario_files
from bot.gameday.scenario.suggestions import did_you_mean


class UnknownScenario(LookupError):
    """No scenario by that name; the message suggests the closest ones and lists those there are."""


class ScenarioCatalog:
    def __init__(self, directory: Path):
        self.directory = directory

    def ids(self) -> list[str]:
        return [path.stem for path in scenario_files(self.directory)]

    def load(self, scenario_id: str) -> LoadedScenario:
        """Load one scenario by id with its attachments read in (``load_file`` then ``attach``)."""
        return self.attach(self.load_file(scenario_id))

    def load_file(self, scenario_id: str) -> LoadedScenario:
        """Load one scenario file by id, attachments not yet read; ScenarioError for a broken file,
        UnknownScenario for a wrong name."""
        for path in scenario_files(self.directory):
            if path.stem == scenario_id:
                return load_scenario_file(path)
        ids = self.ids()
        available = ", ".join(ids) or "(none: add YAML files to the scenarios directory)"
        hint = literal(did_you_mean(scenario_id, ids))
        raise UnknownScenario(f"There is no scenario `{literal(scenario_id)}`.{hint} Available: {available}.")

    def load_id_or_path(self, scenario: str) -> LoadedScenario:
        """A scenario by id, or by the path of a .yaml file, attachments read in: how the command line
        names one (`sce preflight`, `sce run`)."""
        path = Path(scenario)
        if path.suffix in (".yaml", ".yml") and path.is_file():
            return with_attachments(load_scenario_file(path), path.parent)
        return self.load(scenario)

    def attach(self, loaded: LoadedScenario) -> LoadedScenario:
        """Read a scenario's ``logs.file`` and ``sbom.file`` in (slow work: never before Slack's ack)."""
        return with_attachments(loaded, self.directory)

    def load_all(self) -> tuple[list[LoadedScenario], list[ScenarioError]]:
        loaded, errors = [], []
        for path in scenario_files(self.directory):
            try:
                loaded.append(load_scenario_file(path))
            except ScenarioError as exc:
                errors.append(exc)
        return loaded, errors


class RotationCatalog:
    """The rotation files: `rotations/<id>.yaml`."""

    def __init__(self, directory: Path):
        self.directory = directory

    def files(self) -> list[Path]:
        return (
            sorted([*self.directory.glob("*.yaml"), *self.directory.glob("*.yml")])
            if self.directory.is_dir()
            else []
        )

    def text_for(self, rotation_id: str | None) -> str | None:
        """The named rotation's text; with no name, the only rotation there is (or None)."""
        files = self.files()
        if rotation_id is None:
            return _rotation_text(files[0]) if len(files) == 1 else None
        for path in files:
            if path.stem == rotation_id:
                return _rotation_text(path)
        known = ", ".join(p.stem for p in files) or "none"
        # said in Slack: names the rotations there are, never where the server keeps them
        raise UnknownScenario(f"There is no rotation `{literal(rotation_id)}` (known: {known}).")


def _rotation_text(path: Path) -> str:
    """A rotation file, read as carefully as a scenario (no FIFO, no device, at most 256 KiB)."""
    try:
        return read_regular_file(path, FILE_LIMITS.max_bytes, "a rotation file").decode("utf-8")
    except UnsafeFile as exc:
        raise RotationError(f"The rotation file {path.name} {exc}.") from None
    except UnicodeDecodeError:
        raise RotationError(f"The rotation file {path.name} is not UTF-8 text.") from None
