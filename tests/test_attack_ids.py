"""ATT&CK technique ids are checked against the Enterprise release bundled in
``bot/gameday/scenario/data/attack-enterprise.json``: every shipped scenario names current techniques
only, ``sce validate`` names an unknown, a revoked and a deprecated id at its line (with the id to use
instead of a revoked one), the Navigator layer declares that release, and the data file holds together.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_debrief_formats import debrief as scored_debrief
from test_junit_conformance import SCENARIOS, run
from test_limits import validate

from bot.debrief.render import NAVIGATOR_VERSIONS, render_debrief
from bot.gameday.scenario import attack_ids
from bot.gameday.scenario.attack_ids import attack_release, technique_problem
from bot.gameday.scenario.loading import ScenarioError, cached_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bot" / "gameday" / "scenario" / "data" / attack_ids.DATA_FILE
RAW: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
TECHNIQUES: dict[str, dict[str, Any]] = RAW["techniques"]
ID = re.compile(r"T\d{4}(\.\d{3})?")
SHIPPED = sorted(
    path
    for path in [*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("bot/workspace/scripts/*.yaml")]
    if isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)
    and "attack" in yaml.safe_load(path.read_text(encoding="utf-8"))
)
REVOKED = next(t for t, entry in TECHNIQUES.items() if "revoked_by" in entry)
DEPRECATED = next(t for t, entry in TECHNIQUES.items() if entry.get("deprecated"))
SUB_TECHNIQUE = "T1071.004"  # Application Layer Protocol: DNS, as c2-dns-beacon simulates

SCENARIO = """\
id: {id}
title: ATT&CK ids
attack: {attack}
charter: {{objective: Name techniques ATT&CK uses., hypothesis: Old ids are refused.}}
guardrails: {{max_duration: 30m}}
steps:
  - {{at: 0s, say: hello}}
"""


def current(technique_id: str) -> bool:
    entry = TECHNIQUES.get(technique_id)
    return entry is not None and "revoked_by" not in entry and not entry.get("deprecated")


def written(tmp_path: Path, attack: str) -> Path:
    path = tmp_path / "ids.yaml"
    path.write_text(SCENARIO.format(id="ids", attack=attack), encoding="utf-8")
    return path


# --- the shipped scenarios ---


def test_the_shipped_scenarios_name_attack_ids() -> None:
    assert len(SHIPPED) >= 10
    assert sum(len(yaml.safe_load(p.read_text(encoding="utf-8"))["attack"]) for p in SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_names_current_techniques_of_the_bundled_release(path: Path) -> None:
    ids = yaml.safe_load(path.read_text(encoding="utf-8"))["attack"]
    stale = {t: TECHNIQUES.get(t) for t in ids if not current(t)}
    assert not stale, f"{path.name}: not current in ATT&CK Enterprise {RAW['release']}: {stale}"
    code, lines = validate(path)
    assert (code, lines) == (0, []), lines


# --- sce validate ---


def test_validate_names_an_unknown_a_revoked_and_a_deprecated_id_at_the_attack_line(tmp_path: Path) -> None:
    release = RAW["release"]
    path = written(tmp_path, f"[T1999, {REVOKED}, {DEPRECATED}, {SUB_TECHNIQUE}]")
    code, lines = validate(path)
    assert code == 1
    replacement = TECHNIQUES[REVOKED]["revoked_by"]
    assert lines == [
        f"{path}:3: attack[0]: T1999 is not a technique of ATT&CK Enterprise {release}",
        f"{path}:3: attack[1]: {attack_release().label(REVOKED)} was revoked in ATT&CK Enterprise "
        f"{release}; use {attack_release().label(replacement)}",
        f"{path}:3: attack[2]: {attack_release().label(DEPRECATED)} is deprecated in ATT&CK Enterprise "
        f"{release}; use a current technique or remove it",
    ]
    assert TECHNIQUES[replacement]["name"] in lines[1]


def test_a_game_day_started_with_an_id_a_later_release_revoked_still_reads_its_stored_scenario() -> None:
    """A game day keeps the text it started with; a refresh of the data must not stop it ending or its
    debrief: the stored text is not checked against the release again."""
    text = SCENARIO.format(id="ids", attack=f"[{REVOKED}, {DEPRECATED}]")
    with pytest.raises(ScenarioError):
        parse_scenario(text)
    assert cached_scenario(text).attack == [REVOKED, DEPRECATED]


def test_validate_names_each_id_of_a_block_list_at_its_own_line(tmp_path: Path) -> None:
    path = written(tmp_path, f"\n  - {SUB_TECHNIQUE}\n  - {REVOKED}\n  - T1071.999\n  - {DEPRECATED}")
    code, lines = validate(path)
    assert code == 1
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{path}:5", "attack[1]"],
        [f"{path}:6", "attack[2]"],
        [f"{path}:7", "attack[3]"],
    ]
    assert "was revoked" in lines[0] and "is not a technique" in lines[1] and "is deprecated" in lines[2]


def test_current_techniques_and_sub_techniques_pass_and_the_form_is_still_checked(tmp_path: Path) -> None:
    assert validate(written(tmp_path, f"[T1190, T1078, {SUB_TECHNIQUE}, T1552.007]")) == (0, [])
    code, lines = validate(written(tmp_path, "[T1078, t1078, T1078.1]"))
    assert code == 1
    assert [line.split(": ", 2)[1] for line in lines] == ["attack[1]", "attack[2]"]
    assert all("should match pattern" in line for line in lines)


def test_a_problem_is_one_sentence_per_kind_and_none_for_a_current_technique() -> None:
    assert technique_problem(SUB_TECHNIQUE) is None
    assert technique_problem("T1078") is None
    assert technique_problem("T0000") == f"T0000 is not a technique of ATT&CK Enterprise {RAW['release']}"
    assert f"use {TECHNIQUES[REVOKED]['revoked_by']} (" in (technique_problem(REVOKED) or "")
    assert "is deprecated" in (technique_problem(DEPRECATED) or "")
    assert attack_release().label(SUB_TECHNIQUE) == "T1071.004 (Application Layer Protocol: DNS)"


# --- the Navigator layer ---


def test_the_layer_declares_the_bundled_release_and_names_current_techniques_only() -> None:
    major = RAW["release"].split(".")[0]
    assert NAVIGATOR_VERSIONS["attack"] == attack_release().major == major
    for d in [scored_debrief(), *(run(path, "ended") for path in SCENARIOS)]:
        layer = json.loads(render_debrief(d, "navigator"))
        assert layer["versions"]["attack"] == major
        ids = [t["techniqueID"] for t in layer["techniques"]]
        assert all(current(t) for t in ids), (d.scenario, [t for t in ids if not current(t)])


# --- the data file ---


def test_the_data_file_names_its_release_and_source_and_stays_small() -> None:
    assert re.fullmatch(r"\d+\.\d+", RAW["release"])
    assert RAW["source"].startswith(("mitre/cti ", "mitre-attack/attack-stix-data "))
    assert "The MITRE Corporation" in RAW["notice"]
    assert set(RAW) == {"release", "source", "notice", "techniques"}
    assert DATA.stat().st_size < 100_000


def test_every_entry_is_a_technique_id_with_a_name_and_only_the_keys_that_apply() -> None:
    assert len(TECHNIQUES) > 600
    for technique_id, entry in TECHNIQUES.items():
        assert ID.fullmatch(technique_id), technique_id
        assert isinstance(entry["name"], str) and entry["name"].strip(), technique_id
        assert set(entry) <= {"name", "revoked_by", "deprecated"}, technique_id
        assert entry.get("deprecated", True) is True, technique_id  # written only when it applies
        if "." in technique_id:
            assert technique_id.split(".")[0] in TECHNIQUES, f"{technique_id} has no parent"
    assert sum(current(t) for t in TECHNIQUES) > 500


def test_every_revoked_technique_points_to_a_current_one() -> None:
    revoked = {t: entry["revoked_by"] for t, entry in TECHNIQUES.items() if "revoked_by" in entry}
    assert revoked, "the release revokes techniques; none were read"
    for technique_id, replacement in revoked.items():
        assert current(replacement), f"{technique_id} -> {replacement}, which is not current"
    assert any(entry.get("deprecated") for entry in TECHNIQUES.values())


def test_the_module_reads_the_same_file_once() -> None:
    assert attack_release() is attack_release()
    assert attack_release().release == RAW["release"]
    assert {t: e.name for t, e in attack_release().techniques.items()} == {
        t: e["name"] for t, e in TECHNIQUES.items()
    }
