"""Which kind of SBOM a file is, from its content (not its name), and the inventory read from it."""

from __future__ import annotations

import json
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.gameday.sbom import cyclonedx, spdx
from bot.gameday.sbom.encoding import decode
from bot.gameday.sbom.model import Inventory, SbomError
from bot.gameday.sbom.tag_value import from_tag_value, looks_like_tag_value

READ = "CycloneDX (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value)"


def read_sbom(raw: bytes) -> Inventory:
    """The file's inventory; SbomError with one sentence when it is not an SBOM this reads."""
    text = decode(raw).lstrip()
    if text.startswith(("{", "[")):
        return _json(text)
    if text.startswith("<"):
        return _xml(text)
    if looks_like_tag_value(text):
        return from_tag_value(text)
    raise SbomError(f"is neither JSON, XML nor SPDX tag-value: it must be {READ}")


def _json(text: str) -> Inventory:
    try:
        document: Any = json.loads(text)
    except RecursionError:
        raise SbomError("nests its JSON too deeply to be read") from None
    except ValueError as exc:
        raise SbomError(f"is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise SbomError(f"is JSON but not an object: it must be {READ}")
    if document.get("bomFormat") == "CycloneDX":
        return cyclonedx.from_json(document)
    if spdx.is_spdx_3(document):
        raise SbomError(
            "is SPDX 3.0 (JSON-LD), which is not read yet: export SPDX 2.3 or CycloneDX JSON from the "
            "same tool"
        )
    if "spdxVersion" in document:
        return spdx.from_json(document)
    raise SbomError(f"is JSON but has neither bomFormat: CycloneDX nor spdxVersion: it must be {READ}")


def _xml(text: str) -> Inventory:
    try:
        root = fromstring(text, forbid_dtd=True)
    except DefusedXmlException:
        raise SbomError("declares a DTD or entities, which are refused in an SBOM") from None
    except SyntaxError as exc:  # ElementTree's ParseError
        raise SbomError(f"is not well-formed XML ({exc})") from None
    if root.tag.endswith("}RDF"):
        raise SbomError("is SPDX RDF/XML, which is not read: export SPDX 2.3 JSON or tag-value instead")
    return cyclonedx.from_xml(root)
