"""MITRE ATT&CK technique ids checked against the Enterprise release bundled in ``data/``.

``data/attack-enterprise.json`` holds every technique and sub-technique of one ATT&CK Enterprise release
(its id, name, and whether it is revoked, and by what, or deprecated); ``data/README.md`` says where it
came from and how to refresh it. It is read once, the first time an id is checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_FILE = "attack-enterprise.json"


@dataclass(frozen=True)
class Technique:
    name: str
    revoked_by: str | None = None
    deprecated: bool = False

    @property
    def current(self) -> bool:
        return self.revoked_by is None and not self.deprecated


@dataclass(frozen=True)
class AttackRelease:
    release: str  # "18.1"
    source: str
    techniques: dict[str, Technique]

    @property
    def major(self) -> str:
        """The major version ("18"), what an ATT&CK Navigator layer declares as its ``attack`` version."""
        return self.release.split(".", 1)[0]

    def label(self, technique_id: str) -> str:
        """``T1071.004 (Application Layer Protocol: DNS)``: a sub-technique named with its parent."""
        technique = self.techniques[technique_id]
        parent = self.techniques.get(technique_id.split(".", 1)[0]) if "." in technique_id else None
        name = f"{parent.name}: {technique.name}" if parent else technique.name
        return f"{technique_id} ({name})"


@cache
def attack_release() -> AttackRelease:
    """The bundled ATT&CK Enterprise release, read on first use."""
    text = (
        resources.files("bot.gameday.scenario")
        .joinpath("data")
        .joinpath(DATA_FILE)
        .read_text(encoding="utf-8")
    )
    raw = json.loads(text)
    techniques = {
        technique_id: Technique(
            name=entry["name"],
            revoked_by=entry.get("revoked_by"),
            deprecated=bool(entry.get("deprecated", False)),
        )
        for technique_id, entry in raw["techniques"].items()
    }
    return AttackRelease(release=raw["release"], source=raw["source"], techniques=techniques)


def technique_problem(technique_id: str) -> str | None:
    """What is wrong with a technique id (already of the form T1234 or T1234.001) in the bundled release:
    a sentence, or None for a current technique."""
    release = attack_release()
    technique = release.techniques.get(technique_id)
    if technique is None:
        return f"{technique_id} is not a technique of ATT&CK Enterprise {release.release}"
    if technique.revoked_by is not None:
        return (
            f"{release.label(technique_id)} was revoked in ATT&CK Enterprise {release.release}; "
            f"use {release.label(technique.revoked_by)}"
        )
    if technique.deprecated:
        return (
            f"{release.label(technique_id)} is deprecated in ATT&CK Enterprise {release.release}; "
            "use a current technique or remove it"
        )
    return None
