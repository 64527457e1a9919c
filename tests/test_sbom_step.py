"""The sbom step from file to thread: `sce validate` reads the SBOM and says what is wrong at the step's
line and field; a game day keeps the file's SHA-256 and what was found, never a copy; the step says it."""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest
from core_harness import CoreHarness
from test_limits import validate

from bot.gameday.scenario.attachments import with_attachments
from bot.gameday.scenario.loading import load_scenario_file
from bot.gameday.timeline import Kind

HEAD = """id: {id}
title: SBOM drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steps:
  - at: 1m
    sbom:
"""
# a real-sized SBOM: 3,000 components, one of which is the vulnerable library
FILLER = [
    {
        "bom-ref": f"pkg:npm/%40acme/util-{i}@1.0.{i}",
        "group": "@acme",
        "name": f"util-{i}",
        "version": f"1.0.{i}",
        "purl": f"pkg:npm/%40acme/util-{i}@1.0.{i}",
        "description": "an unremarkable utility " * 4,
    }
    for i in range(3000)
]
SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "metadata": {"component": {"bom-ref": "shop", "name": "shop", "version": "9"}},
    "components": [
        *FILLER,
        {
            "bom-ref": "xml",
            "group": "@acme",
            "name": "fastxml",
            "version": "3.3.0",
            "purl": "pkg:npm/%40acme/fastxml@3.3.0",
        },
        {"bom-ref": "imp", "name": "catalog-import", "version": "4.12.0"},
    ],
    "dependencies": [{"ref": "imp", "dependsOn": ["xml"]}, {"ref": "shop", "dependsOn": ["imp"]}],
}


def write(folder: Path, fields: str, raw: bytes | None = None, name: str = "drill") -> Path:
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "bom.json").write_bytes(raw if raw is not None else json.dumps(SBOM).encode())
    path = folder / f"{name}.yaml"
    path.write_text(HEAD.format(id=name) + fields)
    return path


def test_a_game_day_keeps_the_sboms_hash_and_what_was_found_not_the_sbom(tmp_path: Path) -> None:
    raw = json.dumps(SBOM).encode()
    path = write(tmp_path, "      file: data/bom.json\n      package: '@acme/fastxml'\n", raw)
    loaded = with_attachments(load_scenario_file(path), tmp_path)
    step = loaded.scenario.steps[0].sbom
    assert step is not None and step.found is not None
    assert step.sha256 == hashlib.sha256(raw).hexdigest()
    assert (step.found.format, step.found.components) == ("CycloneDX 1.6 JSON", 3003)
    assert (step.found.matched, step.found.versions) == (["@acme/fastxml"], ["3.3.0"])
    assert step.found.affected == ["catalog-import", "shop"]
    assert "util-17" not in loaded.text and len(loaded.text) < 2_000 < len(raw) // 100

    h = CoreHarness()
    gd = h.engine.start(loaded.text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 90)
    said = [e for e in h.store.events(gd) if e.kind is Kind.SAID and e.data.get("sbom")]
    assert len(said) == 1
    data = said[0].data
    assert data["versions"] == ["3.3.0"] and data["affected"] == ["catalog-import", "shop"]
    assert data["sha256"] == step.sha256 and data["format"] == "CycloneDX 1.6 JSON"
    posted = [text for kind, text in h.announcer.posts if text.startswith("SBOM:")]
    assert posted == [
        f"SBOM: @acme/fastxml 3.3.0 is in data/bom.json (CycloneDX 1.6 JSON, 3003 components, sha256 "
        f"{step.sha256[:12]}); affected: catalog-import, shop."
    ]


@pytest.mark.parametrize(
    ("fields", "raw", "line", "field", "said"),
    [
        (
            "      file: data/bom.json\n      package: fastxml\n      sha256: " + "ab" * 32 + "\n",
            None,
            10,
            "steps[0].sbom.sha256",
            "data/bom.json has changed: its SHA-256 is now ",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n      sha256: " + "0" * 64 + "\n",
            None,
            10,
            "steps[0].sbom.sha256",
            "64 hex digits in quotes, not 0",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n      found: {format: x, components: 0}\n",
            None,
            10,
            "steps[0].sbom.found",
            "is written by the bot when the game day starts",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n      document: {bomFormat: CycloneDX}\n",
            None,
            10,
            "steps[0].sbom.document",
            "is written by the bot when the game day starts",
        ),
        (
            "      file: data/bom.json\n      package: 'pkg:npm'\n",
            None,
            9,
            "steps[0].sbom.package",
            "is not a valid purl",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n",
            json.dumps(SBOM).encode("utf-16-le"),
            8,
            "steps[0].sbom.file",
            "data/bom.json is UTF-16 or UTF-32 text without a byte-order mark",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n",
            json.dumps({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}).encode(),
            8,
            "steps[0].sbom.file",
            "data/bom.json is SPDX 3.0 (JSON-LD), which is not read yet",
        ),
        (
            "      file: data/bom.json\n      package: fastxml\n",
            b"<bom",
            8,
            "steps[0].sbom.file",
            "data/bom.json is not well-formed XML",
        ),
    ],
)
def test_sce_validate_says_what_is_wrong_with_an_sbom_step_at_its_line_and_field(
    tmp_path: Path, fields: str, raw: bytes | None, line: int, field: str, said: str
) -> None:
    path = write(tmp_path, fields, raw)
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: {field}: "), lines
    assert said in lines[0], lines
    assert "Traceback" not in "\n".join(lines)


@pytest.mark.parametrize(
    "mark, encoding",
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF32_BE, "utf-32-be")],
)
def test_an_sbom_with_a_byte_order_mark_validates_and_is_pinned_by_its_own_hash(
    tmp_path: Path, mark: bytes, encoding: str
) -> None:
    raw = mark + json.dumps(SBOM).encode(encoding)
    pin = hashlib.sha256(raw).hexdigest()
    path = write(
        tmp_path, f"      file: data/bom.json\n      package: '@acme/fastxml'\n      sha256: {pin}\n", raw
    )
    code, lines = validate(path)
    assert code == 0, lines
    step = with_attachments(load_scenario_file(path), tmp_path).scenario.steps[0].sbom
    assert step is not None and step.found is not None and step.found.versions == ["3.3.0"]


def test_a_game_day_an_earlier_version_started_with_the_sbom_inline_still_says_its_lookup() -> None:
    stored = HEAD.format(id="legacy") + (
        "      file: data/bom.json\n      package: pkg:npm/%40acme/fastxml\n      document: "
        + json.dumps(SBOM)
        + "\n"
    )
    h = CoreHarness()
    gd = h.engine.start(stored, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 90)
    said = [e for e in h.store.events(gd) if e.kind is Kind.SAID and e.data.get("sbom")]
    assert said[0].data["versions"] == ["3.3.0"] and said[0].data["affected"] == ["catalog-import", "shop"]
