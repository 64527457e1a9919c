"""Regenerate expected.json for the real SBOM files in this folder.

A helper script, not a test. Run it from the repository root with the project's virtualenv:

    .venv/bin/python tests/data/sbom/compute_expected.py

Everything is computed with the reference libraries (cyclonedx-python-lib for CycloneDX,
spdx-tools for SPDX 2.x, packageurl-python for purls), independently of the project's own reader.

Rules used for a lookup:

* A query starting with ``pkg:`` is a purl: it matches a component/package whose purl has the same
  type, namespace and name; if the query has a version, the version must be equal too. Qualifiers and
  subpath are ignored. For SPDX the purls are the ``externalRefs`` of type ``purl``.
* Any other query is a name: it matches a component whose display name equals it (case aside, and
  PyPI names with ``-``, ``_`` and ``.`` alike), or a Maven-style one (``group:artifact``) whose
  artifact equals it: an npm scope or a composer vendor is part of the name. Display names: CycloneDX
  ``group:name`` for a Maven purl, ``group/name`` for any other component with a group (npm
  ``@scope/name``, composer ``vendor/name``), plain ``name`` otherwise; SPDX the package's ``name`` as
  written.
* ``versions``: the distinct versions of the matched components (the purl's when the component states
  none), sorted as strings; a component with neither contributes none.
* ``affected``: the display names of every component/package from which a matched one is reachable
  by "depends on / contains" edges, sorted and distinct, without the matched components themselves.
  CycloneDX edges: ``dependencies[].dependsOn``, nesting (a component contains its ``components``),
  and the BOM's subject (``metadata.component``) containing every top-level component.
  SPDX edges: the relationship types listed below; the walk goes through files and other elements,
  but only packages are reported.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component
from packageurl import PackageURL
from spdx_tools.spdx.model.document import Document
from spdx_tools.spdx.model.relationship import RelationshipType
from spdx_tools.spdx.parser.parse_anything import parse_file

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "expected.json"

# What a user types, per file. The facts for each query are computed below.
LOOKUPS: dict[str, list[str]] = {
    "cdx-1.2-maven-dropwizard-trimmed.json": [
        "org.glassfish.jersey.core:jersey-common",
        "pkg:maven/org.apache.httpcomponents/httpcore",
        "pkg:maven/org.hamcrest/hamcrest-core@1.3",
        "org.apache.logging.log4j:log4j-core",
    ],
    "cdx-1.4-composer-laravel.json": [
        "psr/log",
        "pkg:composer/symfony/polyfill-php80",
        "pkg:composer/guzzlehttp/psr7@1.9.0",
        "symfony/yaml",
    ],
    "cdx-1.4-npm-dev-dependencies.xml": [
        "@types/uuid",
        "pkg:npm/%40types/node",
        "undici-types",
        "@types/express",
    ],
    "cdx-1.5-pypi-multi-constraint.json": [
        "six",
        "pkg:pypi/six@1.11.0",
        "pkg:pypi/pathlib2",
        "requests",
    ],
    "cdx-1.5-spec-valid-dependency.xml": [
        "acme-library-b",
        "acme-library-a",
        "acme-library-c",
    ],
    "cdx-1.6-npm-bundled-dependencies.xml": [
        "pinkie",
        "pkg:npm/is-obj",
        "pkg:npm/ansi-regex@2.0.0",
        "left-pad",
    ],
    "cdx-1.6-npm-dev-dependencies.json": [
        "uuid",
        "@types/node",
        "pkg:npm/%40types/uuid@8.3.4",
        "pkg:npm/uuid@9.0.0",
    ],
    "cdx-1.6-spec-valid-bom.json": [
        "org.example:mylibrary",
        "com.acme:tomcat-catalina",
        "pkg:maven/com.example/myapplication@1.0.0",
        "pkg:maven/com.example/myframework",
    ],
    "spdx-2.2-appbomination.spdx.json": [
        "hamcrest-core",
        "pkg:maven/junit/junit",
        "pkg:maven/org.slf4j/slf4j-api@1.7.21",
        "pkg:maven/org.slf4j/slf4j-api@2.0.0",
    ],
    "spdx-2.2-spec-example.spdx.json": [
        "Saxon",
        "glibc",
        "pkg:maven/org.apache.jena/apache-jena",
        "openssl",
    ],
    "spdx-2.3-examplemaven.spdx.json": [
        "JUnit",
        "Apache Log4j Core",
        "examplemaven",
        "commons-io",
    ],
    "spdx-2.3-spec-example.spdx": [
        "Saxon",
        "glibc",
        "pkg:maven/org.apache.jena/apache-jena@3.12.0",
        "zlib",
    ],
    "spdx-2.3-spec-example.spdx.json": [
        "Jena",
        "Saxon",
        "pkg:maven/org.apache.jena/apache-jena@3.12.0",
        "zlib",
    ],
    "spdx-3.0-package-sbom.spdx3.json": [],
}

# "X <type> Y" means X depends on / contains Y.
SPDX_FORWARD = {
    "DEPENDS_ON",
    "CONTAINS",
    "DYNAMIC_LINK",
    "STATIC_LINK",
    "HAS_PREREQUISITE",
    "GENERATED_FROM",
    "COPY_OF",
    "DISTRIBUTION_ARTIFACT",
    "DESCENDANT_OF",
    "VARIANT_OF",
}
# "X <type> Y" means Y depends on / contains X.
SPDX_REVERSED = {
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
# Fail loudly if spdx-tools ever renames one of these.
assert all(hasattr(RelationshipType, t) for t in SPDX_FORWARD | SPDX_REVERSED)


class Node:
    """One component/package: its display name, version and purls."""

    def __init__(self, key: str, display: str, version: str | None, purls: Iterable[PackageURL]) -> None:
        self.key = key
        self.display = display
        self.version = version
        self.purls = list(purls)


class Graph:
    """Components/packages plus "parent depends on / contains child" edges."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.parents: dict[str, set[str]] = defaultdict(set)

    def add_edge(self, parent: str, child: str) -> None:
        self.parents[child].add(parent)

    def lookup(self, query: str) -> dict[str, Any]:
        matched = [n for n in self.nodes.values() if _matches(query, n)]
        versions = sorted({v for n in matched if (v := n.version or _purl_version(n))})
        seen: set[str] = set()
        todo = [n.key for n in matched]
        while todo:
            for parent in self.parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        matched_keys = {n.key for n in matched}
        affected = sorted({self.nodes[k].display for k in seen if k in self.nodes and k not in matched_keys})
        return {"package": query, "versions": versions, "affected": affected}


def _matches(query: str, node: Node) -> bool:
    if query.startswith("pkg:"):
        q = PackageURL.from_string(query)
        return any(
            (p.type, p.namespace, p.name) == (q.type, q.namespace, q.name)
            and (q.version is None or p.version == q.version)
            for p in node.purls
        )
    wanted, display = query.lower(), node.display.lower()
    pypi = any(p.type == "pypi" for p in node.purls)
    if display == wanted or (pypi and re.sub(r"[-_.]+", "-", display) == re.sub(r"[-_.]+", "-", wanted)):
        return True
    return ":" in display and display.rsplit(":", 1)[1] == wanted


def _purl_version(node: Node) -> str | None:
    return next((p.version for p in node.purls if p.version), None)


# --- CycloneDX -------------------------------------------------------------------------------------


def _cdx_display(c: Component) -> str:
    if not c.group:
        return c.name
    if c.purl is not None and c.purl.type == "maven":
        return f"{c.group}:{c.name}"
    return f"{c.group}/{c.name}"


def _cdx_walk(components: Iterable[Component]) -> Iterator[tuple[Component, Component | None]]:
    """Every component, nested ones included, with its containing component (or None)."""
    for c in components:
        yield c, None
        stack = [c]
        while stack:
            parent = stack.pop()
            for child in parent.components:
                yield child, parent
                stack.append(child)


def cyclonedx_graph(bom: Bom) -> Graph:
    g = Graph()
    keys: dict[int, str] = {}
    roots: list[Component] = list(bom.components)
    subject = bom.metadata.component
    if subject is not None:
        roots.insert(0, subject)
    for n, (c, parent) in enumerate(_cdx_walk(roots)):
        if parent is None and subject is not None and c is not subject:
            parent = subject  # the BOM is its subject's inventory
        ref = c.bom_ref.value
        # A component without bom-ref cannot be the target of a dependency: give it a private key.
        key = f"ref:{ref}" if ref else f"anon:{n}"
        if key in g.nodes:
            raise SystemExit(f"duplicate bom-ref {ref!r}")
        keys[id(c)] = key
        g.nodes[key] = Node(key, _cdx_display(c), c.version, [c.purl] if c.purl is not None else [])
        if parent is not None:
            g.add_edge(keys[id(parent)], key)
    for dep in bom.dependencies:
        for child in dep.dependencies:
            g.add_edge(f"ref:{dep.ref.value}", f"ref:{child.ref.value}")
    return g


def load_cyclonedx(path: Path) -> tuple[str, Graph]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        version = data["specVersion"]
        with path.open(encoding="utf-8") as f:
            bom = Bom.from_json(json.load(f))  # type: ignore[attr-defined]
        return f"CycloneDX {version} JSON", cyclonedx_graph(bom)
    found = re.search(r'xmlns="http://cyclonedx\.org/schema/bom/([0-9.]+)"', text)
    assert found, path
    with path.open(encoding="utf-8") as f:
        bom = Bom.from_xml(f)  # type: ignore[attr-defined]
    return f"CycloneDX {found.group(1)} XML", cyclonedx_graph(bom)


# --- SPDX ------------------------------------------------------------------------------------------


def spdx_graph(doc: Document) -> Graph:
    g = Graph()
    for p in doc.packages:
        refs = p.external_references
        purls = [PackageURL.from_string(r.locator) for r in refs if r.reference_type == "purl"]
        g.nodes[p.spdx_id] = Node(p.spdx_id, p.name, p.version, purls)
    for r in doc.relationships:
        kind = r.relationship_type.name
        a, b = r.spdx_element_id, r.related_spdx_element_id
        if not isinstance(b, str):  # NONE / NOASSERTION
            continue
        if kind in SPDX_FORWARD:
            g.add_edge(a, b)
        elif kind in SPDX_REVERSED:
            g.add_edge(b, a)
    return g


def load_spdx(path: Path) -> tuple[str, Graph | None]:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if "@context" in data:  # SPDX 3 JSON-LD: spdx-tools 0.8 cannot read it; no lookups.
            found = re.search(r"/rdf/(\d+\.\d+)", data["@context"])
            assert found, path
            return f"SPDX {found.group(1)} JSON-LD", None
    doc = parse_file(str(path))
    version = doc.creation_info.spdx_version.removeprefix("SPDX-")
    serialization = "JSON" if path.suffix == ".json" else "tag-value"
    return f"SPDX {version} {serialization}", spdx_graph(doc)


def main() -> None:
    present = sorted(p.name for p in HERE.iterdir() if p.name.startswith(("cdx-", "spdx-")))
    if present != sorted(LOOKUPS):
        raise SystemExit(f"files and LOOKUPS differ: {sorted(set(present) ^ set(LOOKUPS))}")
    expected: dict[str, Any] = {}
    for name in present:
        path = HERE / name
        fmt, graph = load_cyclonedx(path) if name.startswith("cdx-") else load_spdx(path)
        lookups = [graph.lookup(q) for q in LOOKUPS[name]] if graph is not None else []
        expected[name] = {"format": fmt, "lookups": lookups}
    OUTPUT.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
