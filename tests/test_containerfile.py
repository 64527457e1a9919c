"""The Containerfile, checked without a container engine: what can be read from the file itself.

It is parsed with `dockerfile`, a binding of the parser container builders use (continuation lines,
JSON and shell forms), so these checks see the instructions a build would run. Each check ties the
image to something outside it: the README's install command, pyproject.toml, deploy/.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import dockerfile
import pytest
import typer
import yaml

from bot.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
IGNORE = ROOT / ".dockerignore"
DIGEST = re.compile(r"^(?:[\w.-]+(?::\d+)?/)*[\w.-]+:(?P<tag>[\w][\w.-]*)@sha256:[0-9a-f]{64}$")


@dataclass
class Stage:
    name: str | None
    base: str
    commands: list[dockerfile.Command]

    def all(self, instruction: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == instruction]


def stages(text: str) -> list[Stage]:
    """The build's stages in order; instructions before the first FROM (ARG) belong to none."""
    found: list[Stage] = []
    for command in dockerfile.parse_string(text):
        if command.cmd == "FROM":
            words = list(command.value)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(name=name, base=words[0], commands=[]))
        elif found:
            found[-1].commands.append(command)
    return found


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in stage.all("ENV"):
        env.update(zip(command.value[0::2], command.value[1::2], strict=True))
    return env


def deployment() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load((ROOT / "deploy" / "deployment.yaml").read_text()))


def container() -> dict[str, Any]:
    (found,) = deployment()["spec"]["template"]["spec"]["containers"]
    return cast(dict[str, Any], found)


@pytest.fixture(scope="module")
def build() -> list[Stage]:
    return stages(CONTAINERFILE.read_text())


@pytest.fixture(scope="module")
def final(build: list[Stage]) -> Stage:
    return build[-1]


# -- the parser itself ------------------------------------------------------------------------------


def test_the_parser_joins_continuation_lines_and_reads_both_forms() -> None:
    text = "FROM a:1@sha256:" + "0" * 64 + ' AS b\nENV A=1 \\\n    B=2\nRUN x \\\n && y\nCMD ["serve"]\n'
    (stage,) = stages(text)
    assert (stage.name, env_of(stage)) == ("b", {"A": "1", "B": "2"})
    assert "x" in stage.all("RUN")[0].value[0] and "y" in stage.all("RUN")[0].value[0]
    assert stage.all("CMD")[0].json and stage.all("CMD")[0].value == ("serve",)


# -- the base image ---------------------------------------------------------------------------------


def test_every_base_image_is_pinned_by_tag_and_digest(build: list[Stage]) -> None:
    names = {stage.name for stage in build if stage.name}
    external = [stage.base for stage in build if stage.base not in names]
    assert external
    for base in external:
        match = DIGEST.match(base)
        assert match, f"{base} is not pinned as name:tag@sha256:<digest>"
        assert match["tag"] != "latest"
    assert "slim" in build[-1].base, "the final image starts from a slim base"


@pytest.mark.parametrize(
    "base",
    [
        "python:3.11-slim-bookworm",
        "python@sha256:" + "a" * 64,
        "python:3.11-slim@sha256:" + "a" * 63,
        "python:latest@sha256:" + "a" * 64,
        "${BASE}",
    ],
)
def test_the_pin_check_refuses_what_is_not_pinned(base: str) -> None:
    match = DIGEST.match(base)
    assert match is None or match["tag"] == "latest"


# -- who it runs as -----------------------------------------------------------------------------------


def test_the_image_runs_as_the_numeric_non_root_user_the_deployment_names(final: Stage) -> None:
    users = final.all("USER")
    assert users, "the final stage sets no USER: it would run as root"
    user, _, group = users[-1].value[0].partition(":")
    assert user.isdigit() and int(user) != 0, f"USER {user} is not a numeric non-root uid"
    assert not group or (group.isdigit() and int(group) != 0)
    pod = deployment()["spec"]["template"]["spec"]["securityContext"]
    assert int(user) == pod["runAsUser"]
    assert not group or int(group) == pod["runAsGroup"]


# -- what it installs ---------------------------------------------------------------------------------


def pip_install_target(command: str) -> tuple[str, frozenset[str], list[str]]:
    """The (path, extras, options) a `pip install` command installs; the path "" when it is no path."""
    words = shlex.split(command)
    pip = next(i for i, word in enumerate(words) if word == "pip" or word.endswith("/pip"))
    install = words.index("install", pip)
    args = words[install + 1 :]
    args = args[: args.index("&&")] if "&&" in args else args
    (target,) = [a for a in args if not a.startswith("-")]
    path, _, extras = target.partition("[")
    options = words[pip + 1 : install] + [a for a in args if a.startswith("-")]
    return path, frozenset(e.strip() for e in extras.rstrip("]").split(",") if e.strip()), options


def readme_install_command() -> str:
    section = (ROOT / "README.md").read_text().split("## Install it in a real workspace and cluster")[1]
    commands = re.findall(r"`([^`]*pip install [^`]*)`", section.split("\n## ")[0])
    assert commands, "the README's install section names no pip install command"
    return cast(str, commands[0])


def install_runs(build: list[Stage]) -> list[tuple[Stage, str]]:
    return [
        (stage, run.value[0])
        for stage in build
        for run in stage.all("RUN")
        if re.search(r"\bpip\b.*\binstall\b", run.value[0])
    ]


def test_the_image_installs_the_repository_as_the_readme_says(build: list[Stage]) -> None:
    readme_path, readme_extras, _ = pip_install_target(readme_install_command())
    runs = install_runs(build)
    assert len(runs) == 1, "one pip install, of the repository"
    stage, run = runs[0]
    path, extras, options = pip_install_target(run)
    workdir = Path(stage.all("WORKDIR")[-1].value[0])
    assert (workdir / path).resolve() == workdir.resolve(), "the image installs something else"
    assert (path, extras) == (readme_path, readme_extras)
    # the deployment needs PostgreSQL, and the README's command is the one that brings its driver
    assert "postgres" in extras
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras <= declared.keys()
    # not editable: the source tree stays in the build stage (the Makefile's -e is for developers)
    assert "-e" not in options and "--editable" not in options


def test_the_build_stage_copies_every_file_the_package_is_built_from(build: list[Stage]) -> None:
    (stage, _) = install_runs(build)[0]
    copied = {Path(v).as_posix().rstrip("/") for c in stage.all("COPY") for v in c.value[:-1]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    needed = {"pyproject.toml", project["project"]["readme"], *packages}
    # package data reached through a link (bot/defaults/scenarios -> scenarios/) needs its target too
    for link in (ROOT / "bot").rglob("*"):
        if link.is_symlink():
            needed.add(link.resolve().relative_to(ROOT).as_posix())
    assert needed <= copied, f"not copied into the build stage: {sorted(needed - copied)}"


def test_the_final_stage_takes_the_installed_virtualenv_and_no_build_tools(build: list[Stage]) -> None:
    (stage, run) = install_runs(build)[0]
    assert stage is not build[-1], "the install runs in a build stage of its own"
    venv = re.search(r"--python\s+(\S+)/bin/python", run)
    assert venv, "pip installs into a virtualenv named with --python"
    copies = [c for c in build[-1].all("COPY") if any(f == f"--from={stage.name}" for f in c.flags)]
    assert [c.value for c in copies] == [(venv[1], venv[1])]
    for later in build[-1].all("RUN"):
        assert not re.search(r"\b(pip|apt-get|apt|apk|gcc|cc|make)\b", later.value[0]), later.original
    assert venv[1] + "/bin" in env_of(build[-1])["PATH"].split(":")


# -- how it starts ------------------------------------------------------------------------------------


def test_entrypoint_and_cmd_give_sce_serve(final: Stage) -> None:
    (entrypoint,) = final.all("ENTRYPOINT")
    (cmd,) = final.all("CMD")
    assert entrypoint.json and cmd.json, "exec form, so signals reach sce itself"
    assert list(entrypoint.value + cmd.value) == ["sce", "serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint.value[0] in scripts
    # typer's command for a Typer app is a click Group:
    commands = typer.main.get_command(cli).commands  # type: ignore[attr-defined]
    assert cmd.value[0] in commands
    # the Deployment passes the same command
    assert container()["args"] == list(cmd.value)


def test_the_image_listens_where_the_deployment_probes(final: Stage) -> None:
    ports = {p["containerPort"] for p in container()["ports"]}
    (expose,) = final.all("EXPOSE")
    assert {int(p.split("/")[0]) for p in expose.value} == ports
    assert int(env_of(final)["PORT"]) in ports


def test_no_bytecode_is_written(final: Stage) -> None:
    assert env_of(final)["PYTHONDONTWRITEBYTECODE"] == "1"


# -- scenarios and rotations ------------------------------------------------------------------------


def read_only_mounts() -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there, for the read-only mounts of the bot's container."""
    volumes = {v["name"]: v for v in deployment()["spec"]["template"]["spec"]["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container()["volumeMounts"] if m.get("readOnly")}


@pytest.mark.parametrize(
    ("variable", "folder"), [("SCE_SCENARIOS_DIR", "scenarios"), ("SCE_ROTATIONS_DIR", "rotations")]
)
def test_the_image_reads_scenarios_and_rotations_where_the_deployment_mounts_them(
    final: Stage, variable: str, folder: str
) -> None:
    path = env_of(final)[variable]
    assert path.startswith("/"), f"{variable} must not depend on the working directory"
    mounts = read_only_mounts()
    assert path in mounts, f"{variable}={path} is not a read-only mount of deploy/deployment.yaml"
    volume = mounts[path]
    assert "configMap" in volume or "projected" in volume
    # without a mount (a plain `podman run`), the repository's own folder is there instead
    copies = [c.value for c in final.all("COPY") if not c.flags]
    assert (folder, path) in copies


# -- the build context ------------------------------------------------------------------------------


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """The ignore file's patterns as (negated, regex), in order (the last match wins)."""
    patterns = []
    for line in IGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/?|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        patterns.append((negated, re.compile(regex + "$")))
    return patterns


def ignored(path: str) -> bool:
    """Whether the build context leaves ``path`` out: it or a folder above it matches."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negated, pattern in ignore_patterns():
        if any(pattern.match(prefix) for prefix in prefixes):
            result = not negated
    return result


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", ".git/config", "debriefs/gd-1.md", "sce.db", "sce.db-wal", "artifacts/x.jsonl"]
    + ["bot/__pycache__/cli.cpython-311.pyc", ".env", "sce.egg-info/PKG-INFO"],
)
def test_local_state_stays_out_of_the_build_context(path: str) -> None:
    assert ignored(path), f"{path} would be sent to the builder"


def test_everything_the_containerfile_copies_is_in_the_build_context(build: list[Stage]) -> None:
    sources = [v for stage in build for c in stage.all("COPY") if not c.flags for v in c.value[:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        files = [ROOT / source] if (ROOT / source).is_file() else sorted((ROOT / source).rglob("*"))
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" not in relative:
                assert not ignored(relative), f"{relative} is copied but ignored"
