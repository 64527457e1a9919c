"""Running an attack pod's container on this machine, the way the kubelet would start it.

The pod is rendered by the real driver; its ``command`` + ``args`` go through Kubernetes' own
``$(VAR)`` expansion (re-implemented below from its documented rules), then run with this machine's
shell. ``stub_tools`` puts small executables first on PATH that record their argv, one file per call,
arguments separated by NUL, so a test sees exactly the arguments each tool received.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bot.faults.cluster import Cluster
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.gameday.scenario.model import FaultSpec

GD, FAULT_ID, EXPIRES = "gd-0badcafe", "f1", 1_800_000_600.0
NAMESPACE = "chaos-lab"
# this machine's sh, and busybox ash (the curl image's own shell) where it is installed
SHELLS = [shell for shell in (["/bin/sh"], ["busybox", "ash"]) if shutil.which(shell[0])]

# Each stub records its argv, then answers like the real tool does when the connection got through.
STUB = """#!/bin/sh
n=0
while [ -e "$STUB_LOG/$n" ]; do n=$((n + 1)); done
printf '%s\\0' "${0##*/}" "$@" > "$STUB_LOG/$n"
case "${0##*/}" in
  curl) printf '%s' "$STUB_CURL_OUTPUT" ;;
  nslookup) exit "${STUB_NSLOOKUP_EXIT:-0}" ;;
esac
"""
TOOLS = ("curl", "nslookup")  # the tools a value reaches (cat reads only the token file)
# Debian's busybox runs its own applets (nslookup, cat) before anything on PATH; the curl image's does not
APPLETS_FIRST = {"busybox": {"nslookup"}}


def driver(cluster: Cluster | None = None) -> KubernetesDriver:
    """Planning makes no request, so the client may point nowhere."""
    from kubernetes import client as k8s

    where = cluster or Cluster(k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")), {NAMESPACE})
    return KubernetesDriver(where, sinkhole_domain="sinkhole.example", sinkhole_cidr="192.0.2.53/32")


def fault(**keys: Any) -> FaultSpec:
    return FaultSpec.model_validate({"type": "k8s.attack-pod", "namespace": NAMESPACE, "ttl": "10m", **keys})


def rendered(drv: KubernetesDriver, spec: FaultSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fence NetworkPolicy, the pod) exactly as the driver would create them."""
    [(_, fence), (_, pod)] = drv.manifests(GD, FAULT_ID, spec, NAMESPACE, EXPIRES)
    return fence, pod


def kubernetes_expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of container command, args and env: ``$(NAME)`` becomes NAME's value when
    the container defines it (left as written otherwise), ``$$`` becomes ``$``, any other ``$`` stays."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : close]
            out.append(env.get(name, f"$({name})"))
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def container_argv(pod: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The argv and environment the kubelet gives the probe container."""
    [container] = pod["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    argv = [kubernetes_expand(part, env) for part in container["command"] + container.get("args", [])]
    return argv, env


def stub_tools(folder: Path) -> Path:
    """A folder of recording stubs for every tool the scripts call; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        path = folder / tool
        path.write_text(STUB)
        path.chmod(0o755)
    return folder


def run_container(
    pod: dict[str, Any],
    shell: list[str] | None = None,
    path: list[Path] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the pod's container command here: its own environment, plus ``env``, and ``path`` first on
    PATH. ``shell`` replaces ``/bin/sh`` (``["busybox", "ash"]`` is what the curl image runs)."""
    argv, pod_env = container_argv(pod)
    assert argv[:2] == ["/bin/sh", "-c"], argv
    if shell:
        argv = [*shell, *argv[1:]]
    search = [str(p) for p in path or []] + (os.environ.get("PATH") or "/usr/bin:/bin").split(":")
    full_env = {**pod_env, "PATH": ":".join(search), **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, env=full_env, cwd=cwd)


def recorded_calls(log: Path) -> list[list[str]]:
    """Every stub call in order: [tool, arg1, arg2, ...]."""
    calls = sorted(log.iterdir(), key=lambda p: int(p.name))
    return [p.read_bytes().decode("utf-8", "surrogateescape").split("\0")[:-1] for p in calls]
