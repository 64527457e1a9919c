"""Finding a package in an inventory, as people name it: a plain name, a namespaced one (``@angular/core``,
``org.apache.logging.log4j:log4j-core``, ``symfony/http-kernel``) or a purl
(``pkg:maven/org.apache.logging.log4j/log4j-core``, with ``@version`` for that version only).

A plain name is a package without a namespace, or a Maven artifact of any group (``log4j-core``): an npm
scope or a composer vendor is part of the name (``uuid`` is not ``@types/uuid``). Names compare without
regard to case; PyPI names as PyPI does (``-``, ``_`` and ``.`` alike)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote

from packageurl import PackageURL

from bot.gameday.sbom.model import Component, Inventory


@dataclass(frozen=True)
class Found:
    package: str
    matched: list[str]  # the matching components' names as the SBOM has them (display names)
    versions: list[str]
    unversioned: int  # matching components that state no version
    affected: list[str]  # every component that contains or depends on one, directly or not


def query_problem(package: str) -> str | None:
    """Why ``package`` cannot be looked up (a purl that does not parse), or None."""
    if not package.strip():
        return "must name a package"
    if package.startswith("pkg:"):
        try:
            PackageURL.from_string(package)
        except ValueError as exc:
            return f"is not a valid purl ({exc})"
    return None


def find(inventory: Inventory, package: str) -> Found:
    matches = _Matcher(package)
    hits = {key for key, component in inventory.components.items() if matches(component)}
    found = [inventory.components[key] for key in hits]
    reached = _reaching(inventory.edges, hits)
    return Found(
        package=package,
        matched=sorted({component.display for component in found}),
        versions=sorted({component.version or _purl_version(component) for component in found} - {""}),
        unversioned=sum(not (component.version or _purl_version(component)) for component in found),
        affected=sorted(
            {inventory.components[key].display for key in reached if key in inventory.components}
        ),
    )


def _reaching(edges: dict[str, set[str]], targets: set[str]) -> set[str]:
    """Every node with a path to a target (the targets themselves excluded): a walk of reversed edges."""
    needed_by: dict[str, list[str]] = {}
    for node, needs in edges.items():
        for needed in needs:
            needed_by.setdefault(needed, []).append(node)
    seen, queue = set(targets), deque(targets)
    while queue:
        for node in needed_by.get(queue.popleft(), ()):
            if node not in seen:
                seen.add(node)
                queue.append(node)
    return seen - targets


class _Matcher:
    def __init__(self, package: str):
        self.purl = PackageURL.from_string(package) if package.startswith("pkg:") else None
        self.wanted = package.strip().lower()
        self.namespaced = self.purl is None and ("/" in self.wanted or ":" in self.wanted)

    def __call__(self, component: Component) -> bool:
        if self.purl is not None:
            return self._purl_matches(component)
        if self.namespaced:
            return self.wanted in _full_names(component)
        display = component.display.lower()
        if display == self.wanted or (_is_pypi(component) and _pypi(display) == _pypi(self.wanted)):
            return True
        return ":" in display and _short_name(component) == self.wanted  # a Maven artifact by its own name

    def _purl_matches(self, component: Component) -> bool:
        assert self.purl is not None
        wanted = self.purl
        if component.purl:
            if wanted.name.lower() not in unquote(component.purl).lower():
                return False  # the cheap test first: most components are not it
            try:
                theirs = PackageURL.from_string(component.purl)
            except ValueError:
                return False
            same = (theirs.type, (theirs.namespace or "").lower(), theirs.name.lower()) == (
                wanted.type,
                (wanted.namespace or "").lower(),
                wanted.name.lower(),
            )
            return same and (not wanted.version or (theirs.version or component.version) == wanted.version)
        full = f"{wanted.namespace}/{wanted.name}" if wanted.namespace else wanted.name
        names = (
            _full_names(component) | {_short_name(component)}
            if not wanted.namespace
            else _full_names(component)
        )
        return full.lower() in names and (not wanted.version or component.version == wanted.version)


def _short_name(component: Component) -> str:
    return re.split(r"[/:]", component.name.lower())[-1]


def _full_names(component: Component) -> set[str]:
    """The component's name with its namespace, in each spelling people use (``/`` and ``:``)."""
    name = component.name.lower()
    names = {name}
    if component.group:
        group = component.group.lower()
        names |= {f"{group}/{name}", f"{group}:{name}"}
    if ":" in name or "/" in name:
        names |= {name.replace(":", "/"), name.replace("/", ":")}
    return names


def _purl_version(component: Component) -> str:
    if not component.purl or "@" not in component.purl.rsplit("/", 1)[-1]:
        return ""
    version = component.purl.rsplit("@", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    return unquote(version)


def _is_pypi(component: Component) -> bool:
    return component.purl.lower().startswith("pkg:pypi/")


def _pypi(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name)
