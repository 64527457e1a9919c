"""Software bills of materials: read CycloneDX (JSON, XML) and SPDX 2.x (JSON, tag-value) into one small
inventory, and find a package in it by name, namespaced name or purl (the dependency kill-switch drill).

``read_sbom(raw)`` takes the file's bytes and raises ``SbomError`` (one sentence) for anything it cannot
read; ``find(sbom, package)`` lists the package's versions and every component that reaches it.
"""

from bot.gameday.sbom.lookup import Found, find, query_problem
from bot.gameday.sbom.model import Component, Inventory, SbomError
from bot.gameday.sbom.reading import read_sbom

__all__ = ["Component", "Found", "Inventory", "SbomError", "find", "query_problem", "read_sbom"]
