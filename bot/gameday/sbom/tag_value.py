"""SPDX 2.x tag-value: ``Tag: value`` lines, multi-line values in ``<text>...</text>``. A ``PackageName``
starts a package, a ``FileName`` or ``SnippetSPDXID`` a file or snippet, ``LicenseID`` an extracted
licence; ``SPDXID`` names the element it follows."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.gameday.sbom.model import Component, Inventory, SbomError
from bot.gameday.sbom.spdx import PURL_CATEGORIES, check_version, relate


@dataclass
class _Package:
    name: str
    spdx_id: str = ""
    version: str = ""
    purls: list[str] = field(default_factory=list)


def looks_like_tag_value(text: str) -> bool:
    return any(line.startswith("SPDXVersion:") for line in text[:4096].splitlines())


def from_tag_value(text: str) -> Inventory:
    version = ""
    packages: list[_Package] = []
    relationships: list[tuple[str, str, str]] = []
    section = "document"
    for number, (tag, value) in _pairs(text):
        if tag == "SPDXVersion":
            version = value
        elif tag == "PackageName":
            section = "package"
            packages.append(_Package(value))
        elif tag in ("FileName", "SnippetSPDXID", "LicenseID"):
            section = tag
        elif section == "package" and tag == "SPDXID":
            packages[-1].spdx_id = value
        elif section == "package" and tag == "PackageVersion":
            packages[-1].version = value
        elif section == "package" and tag == "ExternalRef":
            category, kind, locator = (value.split(None, 2) + ["", "", ""])[:3]
            if category in PURL_CATEGORIES and kind == "purl":
                packages[-1].purls.append(locator.strip())
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) < 3:
                raise SbomError(f"has a Relationship on line {number} without two elements and a type")
            relationships.append((parts[0], parts[1].upper(), parts[2]))
    check_version(version)
    inventory = Inventory(f"{version.replace('-', ' ')} tag-value")
    for package in packages:
        if package.spdx_id:
            purl = package.purls[0] if package.purls else ""
            inventory.components[package.spdx_id] = Component(package.name, "", package.version, purl)
    for element, kind, related in relationships:
        relate(inventory, element, kind, related)
    return inventory


def _pairs(text: str) -> list[tuple[int, tuple[str, str]]]:
    """(line number, (tag, value)) for each tag; the lines of a ``<text>`` value are part of it."""
    pairs: list[tuple[int, tuple[str, str]]] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if inside:
            inside = "</text>" not in line
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tag, colon, value = line.partition(":")
        if not colon:
            raise SbomError(f"has a line {number} that is not `Tag: value`")
        value = value.strip()
        if value.startswith("<text>"):
            inside = "</text>" not in value
            value = value.removeprefix("<text>").split("</text>", 1)[0]
        pairs.append((number, (tag.strip(), value.strip())))
    return pairs
