"""docs/install.md and the README, walked as a new team would: every file they name exists, every
`make` target, `sce` command and `/sce` command is real, every variable is one the bot or deploy/ reads,
and the commands create what deploy/ needs, in an order the cluster accepts.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import typer
import yaml
from reliability_report import TESTS as RELIABILITY_TESTS

from bot.cli import cli
from bot.config import Settings
from bot.gameday.running.commands import USAGE

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "install.md"
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
REPO_FILES_WITHOUT_SUFFIX = {"Containerfile", "Makefile", "Procfile"}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
PATH_SUFFIXES = (".yaml", ".yml", ".md", ".py", ".toml", ".json", ".log", "/")


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def inline_code(text: str) -> list[str]:
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose)


def command_lines(text: str) -> list[list[str]]:
    """Each shell command of the code blocks, as words (pipelines split into their commands)."""
    lines = []
    for block in code_blocks(text):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("|") if "|" in words else len(words)
                lines.append(words[:cut])
                words = words[cut + 1 :]
    return [words for words in lines if words]


def sce_invocations(words: list[str]) -> Iterator[list[str]]:
    """The `sce ...` commands a command line runs: at its start (after VAR=value assignments), after
    `--` (kubectl exec) or as the image's command in `podman run`/`docker run`."""
    start = 0
    while start < len(words) and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[start]):
        start += 1
    words = words[start:]
    if words and Path(words[0]).name == "sce":
        yield words
    if "--" in words and words[words.index("--") + 1 :][:1] == ["sce"]:
        yield words[words.index("--") + 1 :]
    if words[:1] in (["podman"], ["docker"]) and words[1:2] == ["run"]:
        image = next(i for i, word in enumerate(words[2:], 2) if not word.startswith("-"))
        yield ["sce", *words[image + 1 :]]


def sce_commands_named(text: str) -> set[str]:
    named = {inv[1] for words in command_lines(text) for inv in sce_invocations(words) if len(inv) > 1}
    named |= {span.split()[1] for span in inline_code(text) if re.match(r"sce [a-z]", span)}
    return named


def cli_commands() -> set[str]:
    # typer's command for a Typer app is a click Group:
    return set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]


def make_targets() -> set[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z][\w.-]*)\s*:(?![:=])", line)
        if match:
            targets.add(match[1])
    return targets


# -- make ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_make_target_the_docs_name_is_in_the_makefile(doc: Path) -> None:
    named = set(re.findall(r"`make ([a-z][\w-]*)", doc.read_text()))
    named |= {w[1] for w in command_lines(doc.read_text()) if w[0] == "make" and len(w) > 1}
    assert not named - make_targets(), f"{doc.name} names make targets the Makefile lacks"


def test_the_readme_names_the_make_targets_it_promises() -> None:
    named = set(re.findall(r"`make ([a-z][\w-]*)", README.read_text()))
    assert {"demo", "test", "lint", "bench", "reliability"} <= named
    assert {"demo", "test", "lint", "bench", "reliability"} <= make_targets()


def make_dry_run(target: str) -> list[str]:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_reliability_runs_the_tests_its_report_lists_then_writes_the_report() -> None:
    lines = make_dry_run("reliability")
    runs = [line for line in lines if "pytest" in line]
    assert len(runs) == 1, "one pytest command (repeated)"
    listed = {name for tests, _, _ in RELIABILITY_TESTS for name in tests.split(", ")}
    assert set(re.findall(r"tests/\S+\.py", runs[0])) == listed
    for pattern in listed:
        assert list(ROOT.glob(pattern)), f"{pattern} matches no test file"
    assert re.search(r"seq [1-9]", runs[0]), "the tests are repeated"
    assert re.search(r"\|\| exit 1", runs[0]), "a failing run stops before the report"
    report = [i for i, line in enumerate(lines) if "tests/reliability_report.py" in line]
    cleared = [i for i, line in enumerate(lines) if re.search(r"rm -f \S*reliability\.jsonl", line)]
    assert cleared and report and cleared[0] < lines.index(runs[0]) < report[0]
    guard = [i for i, line in enumerate(lines) if "SCE_TEST_POSTGRES_URL" in line]
    assert guard and guard[0] < lines.index(runs[0]), "the PostgreSQL check comes before any test runs"


@pytest.mark.parametrize("url", [None, "", "postgresql://postgres@127.0.0.1:5432/postgres"])
def test_make_reliability_refuses_with_a_sentence_without_postgresql(url: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SCE_TEST_POSTGRES_URL"}
    if url is not None:
        env["SCE_TEST_POSTGRES_URL"] = url
    done = subprocess.run(
        ["make", "--no-print-directory", "require-postgres"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if url:
        assert done.returncode == 0 and not done.stderr
        return
    assert done.returncode != 0
    sentence = done.stderr.splitlines()[0]
    assert "SCE_TEST_POSTGRES_URL" in sentence and sentence.endswith(".")
    assert "Traceback" not in done.stderr


# -- the install guide ------------------------------------------------------------------------------


def test_the_readme_links_the_install_guide_from_its_install_section() -> None:
    section = README.read_text().split("## Install it in a real workspace and cluster")[1].split("\n## ")[0]
    assert "](docs/install.md)" in section


def paths_named(text: str) -> set[str]:
    """Repository paths the guide names: its relative links, and words in code that look like files."""
    named = {link.split("#")[0] for link in re.findall(r"\]\((?!https?:|#)([^)\s]+)\)", text)}
    words = [w for span in inline_code(text) for w in span.split()]
    words += [w for line in command_lines(text) for w in line]
    for word in words:
        word = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        if re.fullmatch(r"[\w][\w.-]*(/[\w.-]*)*", word) and (
            word.endswith(PATH_SUFFIXES) or word in REPO_FILES_WITHOUT_SUFFIX
        ):
            named.add(word)
    return named


def test_every_file_the_guide_names_exists() -> None:
    named = paths_named(GUIDE.read_text())
    for path in named:
        base = GUIDE.parent if path.startswith("../") else ROOT
        assert (base / path).exists(), f"docs/install.md names {path}, which does not exist"
    # what a reader is told to use is all there
    for needed in ("Containerfile", "deploy/secret.example.yaml", "deploy/namespace.yaml", "scenarios/"):
        assert needed in named or f"../{needed}" in named


def test_the_path_finder_sees_links_code_and_options() -> None:
    text = "See [x](../a/b.yaml) and `deploy/c.yaml`.\n```sh\nkubectl apply --from-file=d/ -f e.yml\n```\n"
    assert paths_named(text) == {"../a/b.yaml", "deploy/c.yaml", "d/", "e.yml"}


def test_every_sce_command_the_guide_names_exists() -> None:
    named = sce_commands_named(GUIDE.read_text())
    assert {"list", "validate", "doctor"} <= named
    unknown = named - cli_commands()
    assert not unknown, f"docs/install.md names sce commands that do not exist: {sorted(unknown)}"


def test_the_command_finder_tells_sce_the_command_from_sce_the_namespace() -> None:
    text = (
        "```sh\nkubectl exec -n sce deploy/sce -- sce doctor\nkubectl -n sce create configmap x\n"
        "SCE_X=1 sce validate scenarios/\npodman run --rm registry.example/sce:1 list\n```\n`sce demo`\n"
    )
    assert sce_commands_named(text) == {"doctor", "validate", "list", "demo"}


def test_every_slash_command_the_guide_names_exists() -> None:
    named = set(re.findall(r"`/sce ([a-z-]+)", GUIDE.read_text()))
    assert "list" in named and "start" in named
    assert named <= USAGE.keys()


class RecordingEnvironment(dict[str, str]):
    """An empty environment that remembers every variable the settings ask it for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def variables_deploy_reads() -> set[str]:
    names = set()
    for path in sorted((ROOT / "deploy").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                (container,) = doc["spec"]["template"]["spec"]["containers"]
                names |= {item["name"] for item in container["env"]}
            if doc and doc["kind"] == "Secret":
                names |= set(doc["stringData"])
    return names


def test_every_variable_the_guide_names_is_read_by_the_bot_or_set_by_deploy() -> None:
    environment = RecordingEnvironment()
    Settings.from_env(environment)
    assert "SLACK_BOT_TOKEN" in environment.asked  # the recorder sees what the settings read
    image_env = set(re.findall(r"^\s+(SCE_\w+)=", (ROOT / "Containerfile").read_text(), flags=re.M))
    known = environment.asked | variables_deploy_reads() | image_env
    secret = yaml.safe_load((ROOT / "deploy" / "secret.example.yaml").read_text())
    placeholders = {word for value in secret["stringData"].values() for word in re.findall(r"[A-Z_]+", value)}
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", GUIDE.read_text())) - placeholders
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "SCE_ALLOWED_NAMESPACES"} <= named
    assert not named - known, f"docs/install.md names variables nothing reads: {sorted(named - known)}"


def guide_commands() -> list[list[str]]:
    return command_lines(GUIDE.read_text())


def deployment() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load((ROOT / "deploy" / "deployment.yaml").read_text()))


def test_the_guide_creates_every_config_map_the_deployment_mounts_from_the_right_folder() -> None:
    volumes = deployment()["spec"]["template"]["spec"]["volumes"]
    mounted = {v["configMap"]["name"] for v in volumes if "configMap" in v}
    mounted |= {
        s["configMap"]["name"] for v in volumes if "projected" in v for s in v["projected"]["sources"]
    }
    created = {}
    for words in guide_commands():
        if words[:3] == ["kubectl", "create", "configmap"]:
            folder = next(w.split("=", 1)[1] for w in words if w.startswith("--from-file="))
            namespace = words[words.index("-n") + 1]
            assert namespace == deployment()["metadata"]["namespace"]
            created[words[3]] = folder.rstrip("/")
    assert created.keys() == mounted
    assert created == {
        "sce-scenarios": "scenarios",
        "sce-scenario-data": "scenarios/data",
        "sce-rotations": "rotations",
    }


def test_the_guide_builds_the_image_from_the_containerfile_with_both_engines() -> None:
    text = GUIDE.read_text()
    for engine in ("podman", "docker"):
        assert re.search(rf"{engine} build -f Containerfile -t \S+ \.", text), engine


def test_the_guide_runs_its_steps_in_an_order_the_cluster_accepts() -> None:
    lines = [" ".join(words) for words in guide_commands()]

    def first(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, f"the guide never runs {pattern}"
        return found[0]

    namespaces = first(r"^kubectl apply -f deploy/namespace\.yaml")
    secret = first(r"^kubectl apply -f \S*secret\S*\.yaml")
    config_maps = first(r"^kubectl create configmap")
    install = first(r"^kubectl apply -k deploy/")
    check = first(r"-- sce doctor")
    assert namespaces < secret < install and namespaces < config_maps < install < check
    # the Secret applied is a copy outside the repository, never the template itself
    assert "deploy/secret.example.yaml" not in lines[secret]


def test_the_guide_s_validate_step_refuses_exactly_the_scenarios_it_says_need_another_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    (words,) = [w for w in guide_commands() if any(inv[1:2] == ["validate"] for inv in sce_invocations(w))]
    assignments = dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=\S*", word))
    env = {
        item["name"]: item.get("value")
        for item in deployment()["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert assignments["SCE_ALLOWED_NAMESPACES"] == env["SCE_ALLOWED_NAMESPACES"], "validate as deployed"
    for name, value in assignments.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    (invocation,) = list(sce_invocations(words))
    result = CliRunner().invoke(cli, invocation[1:])
    refused = {
        Path(line.split(":")[0]).stem
        for line in result.output.splitlines()
        if not line.startswith(("ok", "note"))
    }
    said = re.search(r"the (\w+)\s+scenarios\s+that\s+use\s+`([\w-]+)`\s+are\s+refused", GUIDE.read_text())
    assert said, "the guide says which starter scenarios validate refuses"
    uses = {p.stem for p in (ROOT / "scenarios").glob("*.yaml") if f"namespace: {said[2]}" in p.read_text()}
    assert refused == uses and len(uses) == NUMBERS[said[1]]
    assert said[2] not in env["SCE_ALLOWED_NAMESPACES"].split(",")
