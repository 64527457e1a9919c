"""Reading SBOMs as real tools write them: each format and encoding, namespaced names and purls, every SPDX
relationship that carries code, and a clear sentence for what is not read. The real published files are
test_sbom_real_files'."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gameday.sbom import SbomError, find, read_sbom
from bot.gameday.sbom.spdx import INWARD, OUTWARD


def cyclonedx(components: list[dict[str, Any]], dependencies: list[dict[str, Any]] | None = None) -> bytes:
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {"component": {"bom-ref": "app", "name": "storefront", "type": "application"}},
        "components": components,
    }
    if dependencies is not None:
        document["dependencies"] = dependencies
    return json.dumps(document).encode()


def spdx(packages: list[dict[str, Any]], relationships: list[tuple[str, str, str]]) -> bytes:
    return json.dumps(
        {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "packages": [{"downloadLocation": "NOASSERTION", **package} for package in packages],
            "relationships": [
                {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}
                for a, kind, b in relationships
            ],
        }
    ).encode()


NAMESPACED = cyclonedx(
    [
        {
            "bom-ref": "a",
            "group": "@angular",
            "name": "core",
            "version": "17.0.1",
            "purl": "pkg:npm/%40angular/core@17.0.1",
        },
        {
            "bom-ref": "b",
            "group": "org.apache.logging.log4j",
            "name": "log4j-core",
            "version": "2.14.1",
            "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        },
        {
            "bom-ref": "c",
            "group": "symfony",
            "name": "http-kernel",
            "version": "v6.4.0",
            "purl": "pkg:composer/symfony/http-kernel@v6.4.0",
        },
        {
            "bom-ref": "d",
            "name": "Typing_Extensions",
            "version": "4.9.0",
            "purl": "pkg:pypi/typing-extensions@4.9.0",
        },
        {"bom-ref": "e", "name": "core", "version": "1.0.0", "purl": "pkg:npm/core@1.0.0"},
        {
            "bom-ref": "f",
            "group": "org.apache.logging.log4j",
            "name": "log4j-core",
            "version": "2.17.1",
            "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
        },
        {"bom-ref": "web", "name": "web-ui", "version": "3.1.0"},
        {"bom-ref": "api", "name": "orders-api", "version": "8.0.0"},
    ],
    [
        {"ref": "web", "dependsOn": ["a", "e"]},
        {"ref": "api", "dependsOn": ["b", "c", "d"]},
        {"ref": "b", "dependsOn": []},
    ],
)


@pytest.mark.parametrize(
    ("package", "matched", "versions", "affected"),
    [
        ("core", ["core"], ["1.0.0"], ["storefront", "web-ui"]),  # not @angular/core: the scope is its name
        ("@angular/core", ["@angular/core"], ["17.0.1"], ["storefront", "web-ui"]),
        ("@ANGULAR/Core", ["@angular/core"], ["17.0.1"], ["storefront", "web-ui"]),
        ("pkg:npm/%40angular/core", ["@angular/core"], ["17.0.1"], ["storefront", "web-ui"]),
        ("pkg:npm/core", ["core"], ["1.0.0"], ["storefront", "web-ui"]),
        (
            "org.apache.logging.log4j:log4j-core",
            ["org.apache.logging.log4j:log4j-core"],
            ["2.14.1", "2.17.1"],
            ["orders-api", "storefront"],
        ),
        (
            "org.apache.logging.log4j/log4j-core",
            ["org.apache.logging.log4j:log4j-core"],
            ["2.14.1", "2.17.1"],
            ["orders-api", "storefront"],
        ),
        (
            "log4j-core",
            ["org.apache.logging.log4j:log4j-core"],
            ["2.14.1", "2.17.1"],
            ["orders-api", "storefront"],
        ),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ["org.apache.logging.log4j:log4j-core"],
            ["2.14.1"],
            ["orders-api", "storefront"],
        ),
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.99", [], [], []),
        ("pkg:maven/other.group/log4j-core", [], [], []),
        ("symfony/http-kernel", ["symfony/http-kernel"], ["v6.4.0"], ["orders-api", "storefront"]),
        (
            "pkg:composer/symfony/http-kernel",
            ["symfony/http-kernel"],
            ["v6.4.0"],
            ["orders-api", "storefront"],
        ),
        ("typing.extensions", ["Typing_Extensions"], ["4.9.0"], ["orders-api", "storefront"]),
        ("laravel/framework", [], [], []),
    ],
)
def test_a_package_is_found_by_name_namespaced_name_or_purl(
    package: str, matched: list[str], versions: list[str], affected: list[str]
) -> None:
    found = find(read_sbom(NAMESPACED), package)
    assert (found.matched, found.versions, found.affected) == (matched, versions, affected)
    assert found.unversioned == 0


def test_a_version_is_never_none_it_comes_from_the_purl_or_is_counted_as_not_stated() -> None:
    raw = cyclonedx(
        [
            {"bom-ref": "a", "name": "zlib", "purl": "pkg:generic/zlib@1.3.1"},
            {"bom-ref": "b", "name": "zlib"},
            {"bom-ref": "c", "name": "zlib", "version": None},
        ]
    )
    found = find(read_sbom(raw), "zlib")
    assert found.versions == ["1.3.1"] and found.unversioned == 2
    assert "None" not in json.dumps(found.__dict__)


def test_nested_components_are_part_of_their_parent_and_the_subject_holds_them_all() -> None:
    raw = cyclonedx(
        [
            {
                "name": "platform-image",  # no bom-ref: found all the same
                "components": [
                    {
                        "bom-ref": "svc",
                        "name": "billing",
                        "components": [{"name": "fastxml", "version": "3.3.0"}],
                    }
                ],
            },
            {"bom-ref": "other", "name": "reports"},
        ]
    )
    found = find(read_sbom(raw), "fastxml")
    assert found.affected == ["billing", "platform-image", "storefront"]


def xml_bom(version: str = "1.5", declaration: str = "") -> str:
    ns = f"http://cyclonedx.org/schema/bom/{version}"
    return f"""{declaration}<bom xmlns="{ns}" version="1">
  <metadata><component type="application" bom-ref="app"><name>storefront</name></component></metadata>
  <components>
    <component type="library" bom-ref="pkg:maven/org.example/fastxml@3.3.0">
      <group>org.example</group><name>fastxml</name><version>3.3.0</version>
      <purl>pkg:maven/org.example/fastxml@3.3.0</purl>
    </component>
    <component type="application" bom-ref="feeds"><name>feeds-café</name><version>1.0</version>
      <components>
        <component type="library"><name>inner-lib</name><version>0.1</version></component>
      </components>
    </component>
  </components>
  <dependencies>
    <dependency ref="feeds"><dependency ref="pkg:maven/org.example/fastxml@3.3.0"/></dependency>
  </dependencies>
</bom>
"""


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6"])
def test_cyclonedx_xml_is_read_with_its_dependency_graph(version: str) -> None:
    inventory = read_sbom(xml_bom(version).encode())
    assert inventory.format == f"CycloneDX {version} XML"
    found = find(inventory, "org.example:fastxml")
    assert found.versions == ["3.3.0"] and found.affected == ["feeds-café", "storefront"]
    assert find(inventory, "inner-lib").affected == ["feeds-café", "storefront"]


def test_xml_in_the_encoding_it_declares_is_read() -> None:
    raw = xml_bom(declaration='<?xml version="1.0" encoding="ISO-8859-1"?>\n').encode("latin-1")
    assert find(read_sbom(raw), "inner-lib").affected == ["feeds-café", "storefront"]


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
@pytest.mark.parametrize("kind", ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value"])
def test_every_format_reads_the_same_in_any_encoding_with_a_byte_order_mark(
    kind: str, encoding: str, mark: bytes
) -> None:
    text = SAME_CONTENT[kind]
    if kind == "cyclonedx-xml" and encoding != "utf-8":
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    found = find(read_sbom(mark + text.encode(encoding)), "fastxml")
    assert found.versions == ["3.3.0"] and found.affected == ["feeds-café"]


SAME_CONTENT = {
    "cyclonedx-json": json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "components": [
                {"bom-ref": "f", "name": "feeds-café", "version": "1.0"},
                {"bom-ref": "x", "name": "fastxml", "version": "3.3.0"},
            ],
            "dependencies": [{"ref": "f", "dependsOn": ["x"]}],
        },
        ensure_ascii=False,
    ),
    "cyclonedx-xml": """<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components>
<component type="application" bom-ref="f"><name>feeds-café</name><version>1.0</version></component>
<component type="library" bom-ref="x"><name>fastxml</name><version>3.3.0</version></component>
</components><dependencies><dependency ref="f"><dependency ref="x"/></dependency></dependencies></bom>""",
    "spdx-json": spdx(
        [
            {"SPDXID": "SPDXRef-f", "name": "feeds-café"},
            {"SPDXID": "SPDXRef-x", "name": "fastxml", "versionInfo": "3.3.0"},
        ],
        [("SPDXRef-f", "DEPENDS_ON", "SPDXRef-x")],
    ).decode(),
    "spdx-tag-value": """SPDXVersion: SPDX-2.2
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: feeds
DocumentComment: <text>A comment that says
Relationship: SPDXRef-x DEPENDS_ON SPDXRef-f
inside a text block, which is not a relationship</text>

PackageName: feeds-café
SPDXID: SPDXRef-f
PackageVersion: 1.0
PackageDownloadLocation: NOASSERTION

PackageName: fastxml
SPDXID: SPDXRef-x
PackageVersion: 3.3.0
ExternalRef: PACKAGE-MANAGER purl pkg:maven/org.example/fastxml@3.3.0

FileName: ./lib/fastxml.jar
SPDXID: SPDXRef-file
PackageVersion: 9.9.9

Relationship: SPDXRef-f DEPENDS_ON SPDXRef-x
""",
}


def test_spdx_tag_value_reads_purls_and_leaves_text_blocks_and_files_alone() -> None:
    inventory = read_sbom(SAME_CONTENT["spdx-tag-value"].encode())
    assert inventory.format == "SPDX 2.2 tag-value"
    assert set(inventory.components) == {"SPDXRef-f", "SPDXRef-x"}
    found = find(inventory, "pkg:maven/org.example/fastxml@3.3.0")
    assert found.versions == ["3.3.0"] and found.affected == ["feeds-café"]
    assert find(inventory, "feeds-café").affected == []  # the comment's "relationship" is only text


@pytest.mark.parametrize("kind", sorted(OUTWARD))
def test_every_spdx_relationship_of_a_whole_on_its_part_is_followed(kind: str) -> None:
    raw = spdx(
        [
            {"SPDXID": "SPDXRef-app", "name": "app"},
            {"SPDXID": "SPDXRef-lib", "name": "lib", "versionInfo": "1"},
        ],
        [("SPDXRef-app", kind, "SPDXRef-lib")],
    )
    assert find(read_sbom(raw), "lib").affected == ["app"]
    assert find(read_sbom(raw), "app").affected == []


@pytest.mark.parametrize("kind", sorted(INWARD))
def test_every_spdx_relationship_of_a_part_on_its_whole_is_followed_backwards(kind: str) -> None:
    raw = spdx(
        [
            {"SPDXID": "SPDXRef-app", "name": "app"},
            {"SPDXID": "SPDXRef-lib", "name": "lib", "versionInfo": "1"},
        ],
        [("SPDXRef-lib", kind, "SPDXRef-app")],
    )
    assert find(read_sbom(raw), "lib").affected == ["app"]
    assert find(read_sbom(raw), "app").affected == []


@pytest.mark.parametrize(
    "kind", ["DESCRIBES", "DESCRIBED_BY", "AMENDS", "PATCH_FOR", "FILE_DELETED", "OTHER"]
)
def test_a_relationship_that_puts_no_code_into_another_is_not_followed(kind: str) -> None:
    raw = spdx(
        [{"SPDXID": "SPDXRef-app", "name": "app"}, {"SPDXID": "SPDXRef-lib", "name": "lib"}],
        [("SPDXRef-app", kind, "SPDXRef-lib"), ("SPDXRef-lib", kind, "SPDXRef-app")],
    )
    assert find(read_sbom(raw), "lib").affected == []


def test_spdx_paths_through_files_count_but_only_packages_are_named() -> None:
    raw = spdx(
        [
            {"SPDXID": "SPDXRef-app", "name": "app", "hasFiles": ["SPDXRef-jar"]},
            {
                "SPDXID": "SPDXRef-lib",
                "name": "lib",
                "versionInfo": "2",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE_MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:pypi/lib@2",
                    }
                ],
            },
        ],
        [("SPDXRef-jar", "GENERATED_FROM", "SPDXRef-lib"), ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-app")],
    )
    found = find(read_sbom(raw), "pkg:pypi/lib@2")
    assert found.affected == ["app"] and found.versions == ["2"]


SPDX_3 = {
    "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
    "@graph": [
        {"type": "software_Package", "spdxId": "urn:x", "name": "fastxml", "software_packageVersion": "3"}
    ],
}


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (json.dumps(SPDX_3).encode(), "is SPDX 3.0 (JSON-LD), which is not read yet"),
        (
            json.dumps({**SPDX_3, "@context": ["https://spdx.org/rdf/3.0.0/spdx-context.jsonld"]}).encode(),
            "SPDX 3.0",
        ),
        (json.dumps({"spdxVersion": "SPDX-3.0", "packages": []}).encode(), "SPDX 2.2 and 2.3 are read"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "2.0"}', "CycloneDX 1.x is read"),
        (b'{"bomFormat": "CycloneDX"}', "of no specVersion"),
        (b'{"name": "not an sbom"}', "neither bomFormat: CycloneDX nor spdxVersion"),
        (b"[1, 2]", "is JSON but not an object"),
        (b'{"bomFormat": "CycloneDX", ', "is not valid JSON"),
        (b"[" * 100_000, "nests its JSON too deeply"),
        ('{"bomFormat": "CycloneDX"}'.encode("utf-16-le"), "UTF-16 or UTF-32 text without a byte-order mark"),
        (b"\xef\xbb\xbf{\xff}", "is not UTF-8 text"),
        (codecs.BOM_UTF16_LE + b"{\x00\x00", "is not UTF-16 LE text"),
        (b"name,version\nfastxml,3.3.0\n", "neither JSON, XML nor SPDX tag-value"),
        (b"<html><body>nope</body></html>", "not a CycloneDX BOM"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>', "is not well-formed XML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5">&b;</bom>',
            "declares a DTD or entities",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE bom SYSTEM "file:///etc/passwd">'
            b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"></bom>',
            "declares a DTD or entities",
        ),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>',
            "SPDX RDF/XML, which is not read",
        ),
        (b'<?xml version="1.0" encoding="klingon"?><bom/>', "declares the encoding klingon"),
        (b"SPDXVersion: SPDX-2.3\nRelationship: SPDXRef-a\n", "Relationship on line 2"),
        (b"SPDXVersion: SPDX-2.3\nthis line has no tag\n", "line 2 that is not `Tag: value`"),
    ],
)
def test_what_is_not_read_gets_one_sentence_not_a_traceback(raw: bytes, said: str) -> None:
    with pytest.raises(SbomError) as caught:
        read_sbom(raw)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 9).flatmap(
        lambda n: st.tuples(
            st.just(n), st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=20)
        )
    ),
    st.integers(0, 8),
)
def test_affected_is_every_component_with_a_path_to_the_package(
    graph: tuple[int, set[tuple[int, int]]], target: int
) -> None:
    size, edges = graph
    target %= size
    components = [{"bom-ref": f"r{i}", "name": f"c{i}", "version": "1"} for i in range(size)]
    dependencies = [
        {"ref": f"r{i}", "dependsOn": [f"r{j}" for i2, j in edges if i2 == i]} for i in range(size)
    ]
    document = json.loads(cyclonedx(components, dependencies))
    del document["metadata"]
    found = find(read_sbom(json.dumps(document).encode()), f"c{target}")
    # the closure by repeated squaring of the reachability relation, not by a walk as the code does
    reach = {(i, j) for i, j in edges if i != j}
    while True:
        wider = reach | {(i, k) for i, j in reach for j2, k in reach if j == j2 and i != k}
        if wider == reach:
            break
        reach = wider
    assert found.affected == sorted(f"c{i}" for i in range(size) if (i, target) in reach)
