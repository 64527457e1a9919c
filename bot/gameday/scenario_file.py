"""Reading scenario files, with every problem reported as ``file:line: field: sentence``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.gameday.scenario import Scenario


@dataclass(frozen=True)
class ScenarioProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` holds one entry per mistake."""

    def __init__(self, problems: list[ScenarioProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedScenario:
    scenario: Scenario
    text: str
    path: str


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; raise ScenarioError naming line and field on any mistake."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or "not valid YAML").strip()
        raise ScenarioError([ScenarioProblem(source, line, "", f"YAML syntax: {problem}")]) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise ScenarioError(
            [ScenarioProblem(source, 1, "", "a scenario must be a YAML mapping (id, title, ...)")]
        )
    data = yaml.safe_load(text)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
            problems.append(
                ScenarioProblem(
                    source, _line_of(node, loc), _field_name(loc), _sentence(error["type"], error["msg"])
                )
            )
        raise ScenarioError(problems) from None


def load_scenario_file(path: Path) -> LoadedScenario:
    """Load one scenario file; the ``id`` must match the file name."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([ScenarioProblem(shown, 1, "", f"cannot be read ({exc.strerror})")]) from None
    scenario = parse_scenario(text, shown)
    if scenario.id != path.stem:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raise ScenarioError(
            [
                ScenarioProblem(
                    shown,
                    _line_of(node, ("id",)) if node is not None else 1,
                    "id",
                    f"'{scenario.id}' must match the file name '{path.stem}'",
                )
            ]
        )
    return LoadedScenario(scenario=scenario, text=text, path=shown)


def scenario_files(directory: Path) -> list[Path]:
    """Every scenario file in a directory, sorted by name."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def _is_union_tag(part: str | int) -> bool:
    # pydantic inserts the chosen type's name into locations of union members ("float", "function-before")
    return isinstance(part, str) and (part.startswith("function-") or part in {"float", "int", "str", "none"})


def _field_name(loc: tuple[str | int, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


_SENTENCES = {
    "missing": "is required but missing",
    "extra_forbidden": "is not a field of scenario format v1 (check the spelling)",
}


def _sentence(error_type: str, message: str) -> str:
    if error_type in _SENTENCES:
        return _SENTENCES[error_type]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _line_of(node: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """The line (1-based) of the deepest node on ``loc`` that exists in the document."""
    line = node.start_mark.line + 1
    current: yaml.Node | None = node
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            for key, value in current.value:
                if getattr(key, "value", None) == part:
                    line = key.start_mark.line + 1
                    child = value
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            child = current.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        current = child
        if not isinstance(child, yaml.MappingNode | yaml.SequenceNode):
            line = child.start_mark.line + 1
    return line
