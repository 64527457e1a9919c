"""`sce new <id>`: a charter-complete scenario, every field commented (templates/scenario_new.yaml.j2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.scenario.loading import parse_scenario

SCENARIO_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_env = Environment(
    loader=PackageLoader("bot.gameday.scenario", "templates"),
    autoescape=False,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_env.filters["yaml"] = json.dumps  # a JSON string is a valid YAML double-quoted scalar


class NewScenarioError(ValueError):
    """Why no file was written, as one sentence."""


def title_for(scenario_id: str) -> str:
    """``web-node-compromise`` -> ``Web node compromise``."""
    return scenario_id.replace("-", " ").capitalize()


def render_new_scenario(scenario_id: str, path: str, title: str | None = None) -> str:
    """The scenario text; it always parses (checked here, so a template edit cannot ship a broken file)."""
    if not SCENARIO_ID.match(scenario_id):
        raise NewScenarioError(
            f"`{scenario_id}` is not a scenario id: use lowercase letters, digits and -, "
            "starting with a letter or digit (e.g. web-node-compromise)."
        )
    title = " ".join((title or "").split()) or title_for(scenario_id)  # one line: it is also in a comment
    text = _env.get_template("scenario_new.yaml.j2").render(scenario_id=scenario_id, title=title, path=path)
    parse_scenario(text, path)
    return text


def write_new_scenario(directory: Path, scenario_id: str, title: str | None = None) -> Path:
    """Write ``directory/<id>.yaml``; never overwrites an existing file."""
    path = directory / f"{scenario_id}.yaml"
    text = render_new_scenario(scenario_id, str(path), title)
    if path.exists():
        raise NewScenarioError(f"{path} already exists; edit it, or pick another id (nothing was written).")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:  # "x": a file created meanwhile is never replaced
            file.write(text)
    except FileExistsError:
        raise NewScenarioError(
            f"{path} already exists; edit it, or pick another id (nothing was written)."
        ) from None
    return path
