"""Reading scenario files, with every problem reported as ``file:line: field: sentence``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import (
    FILE_LIMITS,
    STORED_LIMITS,
    LimitExceeded,
    ScenarioLimits,
    check_steps,
    check_structure,
    check_text_size,
    compose,
)
from bot.gameday.scenario.model import Scenario

# what PyYAML counts as a line break when it numbers lines in its error marks
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass(frozen=True)
class ScenarioProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return " ".join(text.splitlines())  # one line per problem, whatever a key or value held


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


def parse_scenario(text: str, source: str = "<scenario>", limits: ScenarioLimits = FILE_LIMITS) -> Scenario:
    """Validate scenario YAML text; raise ScenarioError naming line and field on any mistake.

    ``limits`` are checked before the document is composed (see ``scenario_limits``).
    """
    shape = "a scenario must be a YAML mapping (id, title, ...)"
    node, data = read_yaml(text, source, limits, shape, lambda found: check_steps(found, limits))
    try:
        # stored text (a game day's own) is checked as it was written, not against data that changes since
        return Scenario.model_validate(data, context={"stored": limits is STORED_LIMITS})
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, node, source)) from None


def read_yaml(
    text: str,
    source: str,
    limits: ScenarioLimits,
    shape: str,
    check: Callable[[yaml.Node], None] | None = None,
) -> tuple[yaml.Node, object]:
    """A YAML mapping document as nodes (they know their lines) and as data; ScenarioError naming the line
    for text over ``limits``, not YAML, not a mapping (``shape`` says what it must be), or a key written
    twice in one mapping (YAML keeps the last, so a second ``guardrails:`` would silently replace the
    first one a reviewer read). ``check`` sees
    the composed document before anything is built from it. Scenario files and the policy file (SCE_POLICY)
    are both read this way, so an alias bomb or a deep nesting is refused in either before it expands."""
    try:
        check_text_size(len(text), limits)
        check_structure(text, limits)
        node = compose(text, limits)
        if node is None or not isinstance(node, yaml.MappingNode):
            raise ScenarioError([ScenarioProblem(source, 1, "", shape)])
        _no_key_twice(node, source)
        if check is not None:
            check(node)
        return node, _construct(node, source)
    except LimitExceeded as exc:
        raise ScenarioError([ScenarioProblem(source, exc.line, exc.field, str(exc))]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or "not valid YAML").strip()
        label = "YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax"
        raise ScenarioError([ScenarioProblem(source, line, "", f"{label}: {problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; it has a position, no mark
        line = len(_LINE_BREAK.findall(text, 0, exc.position)) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ScenarioError(
            [ScenarioProblem(source, line, "", f"YAML syntax: character {char} is not allowed")]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([ScenarioProblem(source, 1, "", f"YAML syntax: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([ScenarioProblem(source, 1, "", "YAML is nested too deeply")]) from None
    except UnicodeError:  # libyaml, for stored text, cannot encode a lone surrogate
        raise ScenarioError([ScenarioProblem(source, 1, "", "is not UTF-8 text")]) from None


def validation_problems(
    exc: ValidationError, node: yaml.Node, source: str, unknown: str = ""
) -> list[ScenarioProblem]:
    """Each of pydantic's errors as ``file:line: field: sentence``; ``unknown`` words a field that is not
    one (default: not a field of scenario format v1)."""
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        loc += getattr(error.get("ctx", {}).get("error"), "loc", ())
        sentence = unknown if unknown and error["type"] == "extra_forbidden" else None
        problems.append(
            ScenarioProblem(
                source,
                _line_of(node, loc),
                _field_name(loc),
                sentence or _sentence(error["type"], error["msg"]),
            )
        )
    return problems


def _construct(node: yaml.Node, source: str) -> object:
    """Build Python data from the composed document (a bad ``!!int`` and the like is a ScenarioError)."""
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError:
        raise
    except Exception:  # the safe constructors raise plain ValueError, KeyError, ... for bad tagged scalars
        bad = _first_unreadable_scalar(node)
        line = bad.start_mark.line + 1 if bad else node.start_mark.line + 1
        what = (
            f"{bad.value!r} cannot be read as {bad.tag.rsplit(':', 1)[-1]}"
            if bad
            else "a value cannot be read"
        )
        raise ScenarioError([ScenarioProblem(source, line, "", f"YAML value: {what}")]) from None


def _first_unreadable_scalar(node: yaml.Node) -> yaml.ScalarNode | None:
    pending = [node]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(current)
            except Exception:
                return current
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            pending.extend(part for pair in current.value for part in pair)
    return None


@lru_cache(maxsize=256)
def cached_scenario(text: str) -> Scenario:
    """Parse stored scenario text once; a game day keeps the exact text it started with."""
    return parse_scenario(text, limits=STORED_LIMITS)


def load_scenario_file(path: Path) -> LoadedScenario:
    """Load one scenario file; the ``id`` must match the file name."""
    shown = str(path)
    try:
        raw = read_regular_file(path, FILE_LIMITS.max_bytes)
    except UnsafeFile as exc:
        raise ScenarioError([ScenarioProblem(shown, 1, "", str(exc))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError([ScenarioProblem(shown, line, "", "is not UTF-8 text")]) from None
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


def _no_key_twice(node: yaml.Node, source: str) -> None:
    """ScenarioError at the second of two equal keys in any mapping of the document."""
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(node, ())]
    while pending:
        current, loc = pending.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and name in seen:
                    line, field = key.start_mark.line + 1, _field_name((*loc, name))
                    sentence = f"the key {name[:64]!r} is written twice in one mapping"
                    raise ScenarioError([ScenarioProblem(source, line, field, sentence)])
                if name is not None:
                    seen.add(name)
                    pending.append((value, (*loc, name)))
        elif isinstance(current, yaml.SequenceNode):
            pending.extend((item, (*loc, i)) for i, item in enumerate(current.value))


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


def field_line(text: str, loc: tuple[str | int, ...]) -> int:
    """The line of a field in scenario text already parsed (1 when it cannot be found)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return _line_of(node, loc) if node is not None else 1


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
