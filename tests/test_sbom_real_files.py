"""Real published SBOMs (tests/data/sbom, sources in its README): every format and spec version the reader
takes, with versions, namespaced names and purls asserted against what the formats' own libraries read
(cyclonedx-python-lib, spdx-tools: tests/data/sbom/compute_expected.py wrote expected.json with them)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from bot.gameday.sbom import SbomError, find, read_sbom

DATA = Path(__file__).parent / "data" / "sbom"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
READ = sorted(name for name, facts in EXPECTED.items() if facts["lookups"])
LOOKUPS = [(name, lookup) for name in READ for lookup in EXPECTED[name]["lookups"]]


def test_the_real_files_cover_every_format_and_version_the_reader_claims() -> None:
    formats = {facts["format"] for facts in EXPECTED.values()}
    for wanted in (
        "CycloneDX 1.4",
        "CycloneDX 1.5",
        "CycloneDX 1.6",
        "SPDX 2.2 JSON",
        "SPDX 2.3 JSON",
        "tag-value",
    ):
        assert any(wanted in found for found in formats), wanted
    assert any(f.endswith("XML") for f in formats) and any(f.startswith("SPDX 3.0") for f in formats)
    asked = {lookup["package"] for _, lookup in LOOKUPS}
    assert any(p.startswith("@") for p in asked), "an npm scope"
    assert any(":" in p and not p.startswith("pkg:") for p in asked), "a Maven group"
    assert any("/" in p and not p.startswith(("pkg:", "@")) for p in asked), "a composer vendor"
    assert any(p.startswith("pkg:") and "@" in p.split("/")[-1] for p in asked), "a purl with a version"


@pytest.mark.parametrize("name", READ)
def test_each_real_file_is_read_as_its_format(name: str) -> None:
    assert read_sbom((DATA / name).read_bytes()).format == EXPECTED[name]["format"]


@pytest.mark.parametrize(
    ("name", "lookup"), LOOKUPS, ids=[f"{n}:{lookup['package']}" for n, lookup in LOOKUPS]
)
def test_each_lookup_finds_the_versions_and_the_components_the_reference_libraries_find(
    name: str, lookup: dict[str, Any]
) -> None:
    found = find(read_sbom((DATA / name).read_bytes()), lookup["package"])
    assert found.versions == lookup["versions"]
    assert found.affected == lookup["affected"]
    assert "None" not in found.versions


@pytest.mark.parametrize("name", READ)
@pytest.mark.parametrize(
    ("mark", "encoding"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")]
)
def test_a_real_file_saved_with_a_byte_order_mark_reads_the_same(
    name: str, mark: bytes, encoding: str
) -> None:
    text = (DATA / name).read_bytes().decode("utf-8")
    if name.endswith(".xml"):
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    again = read_sbom(mark + text.encode(encoding))
    plain = read_sbom((DATA / name).read_bytes())
    assert again.components == plain.components and again.edges == plain.edges


def test_a_real_spdx_3_file_is_refused_in_a_sentence_not_misread() -> None:
    with pytest.raises(SbomError, match=r"is SPDX 3\.0 \(JSON-LD\), which is not read yet: export SPDX 2\.3"):
        read_sbom((DATA / "spdx-3.0-package-sbom.spdx3.json").read_bytes())
