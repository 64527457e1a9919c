"""SPDX 2.2 and 2.3, JSON and tag-value: packages, their purls, and every relationship that says one
element contains, depends on, or is built from another.

SPDX 3.0 (JSON-LD) is refused with a sentence: its graph of elements is another model, and a reader of
the 2.x fields would find nothing in it and say so wrongly.
"""

from __future__ import annotations

import re
from typing import Any

from bot.gameday.sbom.model import Component, Inventory, SbomError

SPDX_2 = re.compile(r"SPDX-2\.[0-9]")
# A OUTWARD B: A contains, depends on or carries B's code, so a flaw in B is in A
OUTWARD = frozenset(
    {
        "CONTAINS",
        "DEPENDS_ON",
        "DYNAMIC_LINK",
        "STATIC_LINK",
        "HAS_PREREQUISITE",
        "GENERATED_FROM",
        "COPY_OF",
        "DISTRIBUTION_ARTIFACT",
        "DESCENDANT_OF",
        "VARIANT_OF",
    }
)
# A INWARD B: B contains, depends on or is built with A
INWARD = frozenset(
    {
        "CONTAINED_BY",
        "DEPENDENCY_OF",
        "BUILD_DEPENDENCY_OF",
        "DEV_DEPENDENCY_OF",
        "OPTIONAL_DEPENDENCY_OF",
        "PROVIDED_DEPENDENCY_OF",
        "TEST_DEPENDENCY_OF",
        "RUNTIME_DEPENDENCY_OF",
        "PREREQUISITE_FOR",
        "GENERATES",
        "EXPANDED_FROM_ARCHIVE",
        "PATCH_APPLIED",
        "FILE_ADDED",
        "FILE_MODIFIED",
        "ANCESTOR_OF",
        "DATA_FILE_OF",
        "DOCUMENTATION_OF",
        "METAFILE_OF",
        "OPTIONAL_COMPONENT_OF",
        "PACKAGE_OF",
        "TEST_CASE_OF",
        "BUILD_TOOL_OF",
        "DEV_TOOL_OF",
        "TEST_OF",
        "TEST_TOOL_OF",
        "EXAMPLE_OF",
    }
)
"""Not followed, as they put no code of one element into another: DESCRIBES, DESCRIBED_BY, AMENDS,
PATCH_FOR (not applied yet), FILE_DELETED, DEPENDENCY_MANIFEST_OF, REQUIREMENT_DESCRIPTION_FOR,
SPECIFICATION_FOR, OTHER."""
PURL_CATEGORIES = frozenset({"PACKAGE-MANAGER", "PACKAGE_MANAGER"})


def check_version(version: str) -> None:
    if not SPDX_2.fullmatch(version):
        raise SbomError(
            f"is {version or 'SPDX of no version'}; SPDX 2.2 and 2.3 are read (for SPDX 3.0, export SPDX 2.3 "
            "or CycloneDX from the same tool)"
        )


def relate(inventory: Inventory, element: str, kind: str, related: str) -> None:
    if kind in OUTWARD:
        inventory.add_edge(element, related)
    elif kind in INWARD:
        inventory.add_edge(related, element)


def from_json(document: dict[str, Any]) -> Inventory:
    version = str(document.get("spdxVersion") or "")
    check_version(version)
    inventory = Inventory(f"{version.replace('-', ' ')} JSON")
    for package in _list(document.get("packages")):
        if isinstance(package, dict) and package.get("SPDXID"):
            purls = [
                str(ref.get("referenceLocator") or "")
                for ref in _list(package.get("externalRefs"))
                if isinstance(ref, dict)
                and ref.get("referenceCategory") in PURL_CATEGORIES
                and ref.get("referenceType") == "purl"
            ]
            inventory.components[str(package["SPDXID"])] = Component(
                name=_text(package.get("name")),
                version=_text(package.get("versionInfo")),
                purl=purls[0] if purls else "",
            )
    for relationship in _list(document.get("relationships")):
        if isinstance(relationship, dict):
            relate(
                inventory,
                str(relationship.get("spdxElementId") or ""),
                str(relationship.get("relationshipType") or "").upper(),
                str(relationship.get("relatedSpdxElement") or ""),
            )
    for package in _list(document.get("packages")):  # SPDX 2.2's hasFiles: the package contains them
        if isinstance(package, dict):
            for file_id in _list(package.get("hasFiles")):
                inventory.add_edge(str(package.get("SPDXID") or ""), str(file_id))
    return inventory


def is_spdx_3(document: dict[str, Any]) -> bool:
    context = document.get("@context")
    texts = context if isinstance(context, list) else [context]
    return any(isinstance(text, str) and "spdx.org/rdf/3" in text for text in texts) or (
        "@graph" in document and "spdxVersion" not in document
    )


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
