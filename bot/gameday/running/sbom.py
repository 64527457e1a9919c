"""Looking a package up in a software bill of materials (CycloneDX or SPDX JSON): which components
contain it, directly or through their dependencies (the dependency kill-switch drill)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SbomMatch:
    package: str
    versions: list[str]
    affected: list[str]  # the components (services) that depend on it, directly or not


def find_package(document: dict[str, Any], package: str) -> SbomMatch:
    """Every version of ``package`` in the document and every component that reaches it."""
    if "spdxVersion" in document:
        return _spdx(document, package.lower())
    return _cyclonedx(document, package.lower())


def _reaching(edges: dict[str, set[str]], targets: set[str]) -> set[str]:
    """Nodes with a path to any target (targets excluded), following ``node -> depends on`` edges."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node, needs in edges.items():
            if node not in found and node not in targets and needs & (targets | found):
                found.add(node)
                changed = True
    return found


def _cyclonedx(document: dict[str, Any], wanted: str) -> SbomMatch:
    components = list(_walk(document.get("components") or []))
    root = (document.get("metadata") or {}).get("component")
    if root:
        components.append(root)
    names = {str(c.get("bom-ref") or c.get("name")): str(c.get("name")) for c in components}
    hits = {
        str(c.get("bom-ref") or c.get("name")) for c in components if str(c.get("name", "")).lower() == wanted
    }
    versions = sorted({str(c.get("version")) for c in components if str(c.get("name", "")).lower() == wanted})
    edges = {str(d.get("ref")): set(d.get("dependsOn") or []) for d in document.get("dependencies") or []}
    affected = sorted({names.get(ref, ref) for ref in _reaching(edges, hits)})
    return SbomMatch(wanted, versions, affected)


def _walk(components: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])


def _spdx(document: dict[str, Any], wanted: str) -> SbomMatch:
    packages = document.get("packages") or []
    names = {str(p.get("SPDXID")): str(p.get("name")) for p in packages}
    hits = {str(p.get("SPDXID")) for p in packages if str(p.get("name", "")).lower() == wanted}
    versions = sorted(
        {str(p.get("versionInfo")) for p in packages if str(p.get("name", "")).lower() == wanted}
    )
    edges: dict[str, set[str]] = {}
    for rel in document.get("relationships") or []:
        kind = rel.get("relationshipType")
        a, b = str(rel.get("spdxElementId")), str(rel.get("relatedSpdxElement"))
        if kind in ("DEPENDS_ON", "CONTAINS"):
            edges.setdefault(a, set()).add(b)
        elif kind in ("DEPENDENCY_OF", "CONTAINED_BY"):
            edges.setdefault(b, set()).add(a)
    affected = sorted({names.get(ref, ref) for ref in _reaching(edges, hits) if ref in names})
    return SbomMatch(wanted, versions, affected)
