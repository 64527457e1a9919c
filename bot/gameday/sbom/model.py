"""The inventory every SBOM format is read into: components, and which contains or depends on which."""

from __future__ import annotations

from dataclasses import dataclass, field


class SbomError(ValueError):
    """An SBOM that cannot be read; the message is one sentence about the file, to follow its name."""


@dataclass(frozen=True)
class Component:
    """One package of the SBOM (a CycloneDX component or an SPDX package)."""

    name: str
    group: str = ""  # CycloneDX group (Maven group id, npm scope, composer vendor)
    version: str = ""
    purl: str = ""

    @property
    def display(self) -> str:
        """The name people use: ``@scope/name`` (npm), ``group:artifact`` (Maven), ``vendor/name``."""
        if not self.group:
            return self.name
        kind = self.purl[4:].split("/", 1)[0].lower() if self.purl.startswith("pkg:") else ""
        if kind in ("maven", "gradle", "ivy", "sbt") or (not kind and not self.group.startswith("@")):
            return f"{self.group}:{self.name}"
        return f"{self.group}/{self.name}"


@dataclass
class Inventory:
    """Components by their id in the document, and ``edges[a]``: the ids ``a`` contains or depends on.

    Edges may name elements that are not components (an SPDX file, another document's element): they are
    followed, and only components are reported.
    """

    format: str
    components: dict[str, Component] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)

    def add_edge(self, source: str, target: str) -> None:
        if source and target and source != target:
            self.edges.setdefault(source, set()).add(target)
