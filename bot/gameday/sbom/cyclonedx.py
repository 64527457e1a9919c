"""CycloneDX, JSON and XML: components (nested ones too), the subject in ``metadata.component``, and the
``dependencies`` graph.

A component's nested components are part of it, and the BOM's subject contains every top-level
component (the BOM is its inventory); ``dependencies`` adds who depends on whom. Only the fields a
lookup needs are read, so a 5 MB BOM takes a fraction of a second (a full object model of it takes
seconds: bench/PROFILING.md, "SBOM reading").
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from bot.gameday.sbom.model import Component, Inventory, SbomError

ROOT = "(the BOM's subject)"
SPEC_VERSION = re.compile(r"1\.[0-9]{1,2}")
XML_NAMESPACE = re.compile(r"\{http://cyclonedx\.org/schema/bom/(1\.[0-9]{1,2})\}bom")


def from_json(document: dict[str, Any]) -> Inventory:
    version = str(document.get("specVersion") or "")
    if not SPEC_VERSION.fullmatch(version):
        raise SbomError(
            f"is CycloneDX {version or 'of no specVersion'}; CycloneDX 1.x is read (1.4 to 1.6 tested)"
        )
    inventory = Inventory(f"CycloneDX {version} JSON")
    metadata = _mapping(document.get("metadata"))
    subject = _mapping(metadata.get("component"))
    root = _add_json(inventory, subject, ROOT) if subject else ""
    pending = [(root, item) for item in reversed(_list(document.get("components")))]
    while pending:  # nested components after their parent, without recursion
        parent, component = pending.pop()
        if isinstance(component, dict):
            key = _add_json(inventory, component, f"#{len(inventory.components)}")
            inventory.add_edge(parent, key)
            pending.extend((key, child) for child in reversed(_list(component.get("components"))))
    for entry in _list(document.get("dependencies")):
        entry = _mapping(entry)
        for needed in _list(entry.get("dependsOn")):
            inventory.add_edge(str(entry.get("ref") or ""), str(needed or ""))
    return inventory


def _add_json(inventory: Inventory, component: dict[str, Any], fallback: str) -> str:
    key = _key(component.get("bom-ref"), fallback)
    inventory.components[key] = Component(
        name=_text(component.get("name")),
        group=_text(component.get("group")),
        version=_text(component.get("version")),
        purl=_text(component.get("purl")),
    )
    return key


def from_xml(root: Element) -> Inventory:
    found = XML_NAMESPACE.fullmatch(root.tag)
    if not found:
        raise SbomError("is XML but not a CycloneDX BOM (its root is not bom in a cyclonedx.org namespace)")
    namespace = root.tag[: -len("bom")]
    inventory = Inventory(f"CycloneDX {found[1]} XML")
    subject = root.find(f"{namespace}metadata/{namespace}component")
    top = _add_xml(inventory, subject, namespace, ROOT) if subject is not None else ""
    pending = [
        (top, element) for element in reversed(root.findall(f"{namespace}components/{namespace}component"))
    ]
    while pending:
        parent, element = pending.pop()
        key = _add_xml(inventory, element, namespace, f"#{len(inventory.components)}")
        inventory.add_edge(parent, key)
        children = element.findall(f"{namespace}components/{namespace}component")
        pending.extend((key, child) for child in reversed(children))
    for entry in root.iterfind(f"{namespace}dependencies/{namespace}dependency"):
        for needed in entry.iterfind(f"{namespace}dependency"):
            inventory.add_edge(entry.get("ref") or "", needed.get("ref") or "")
    return inventory


def _add_xml(inventory: Inventory, element: Element, namespace: str, fallback: str) -> str:
    key = _key(element.get("bom-ref"), fallback)
    inventory.components[key] = Component(
        name=_child(element, namespace, "name"),
        group=_child(element, namespace, "group"),
        version=_child(element, namespace, "version"),
        purl=_child(element, namespace, "purl"),
    )
    return key


def _child(element: Element, namespace: str, tag: str) -> str:
    return (element.findtext(f"{namespace}{tag}") or "").strip()


def _key(ref: object, fallback: str) -> str:
    return str(ref) if isinstance(ref, str) and ref else fallback


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
