"""A process with no cluster configured never imports the Kubernetes client (about 0.3 s of every `sce`
start); the helpers that read the client's errors still read them once it is loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bot_process import ROOT
from kubernetes.client.exceptions import ApiException

from bot.faults.cluster import api_error, api_status

WITHOUT_CLUSTER = """
import sys
from pathlib import Path
import bot.cli, bot.doctor, bot.doctor.cluster, bot.runtime.process, bot.runtime.service
import bot.slack.app, bot.workspace.demo
from bot.faults.cluster import Cluster
from bot.faults.cluster import api_error, api_status
assert Cluster.from_environment(["team-a"], env={"HOME": sys.argv[1]}) is None
assert api_status(OSError("refused")) is None and api_error(OSError("refused")) == "OSError"
print(sorted(m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")))
"""


def test_starting_without_a_cluster_imports_no_kubernetes_client(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_CLUSTER, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("error", "status", "said"),
    [
        (ApiException(status=404, reason="Not Found"), 404, "404 Not Found"),
        (ApiException(status=403, reason="Forbidden"), 403, "403 Forbidden"),
        (ApiException(status=0, reason=None), 0, "0"),
        (OSError("connection refused"), None, "OSError"),
        (ValueError("404"), None, "ValueError"),
    ],
)
def test_the_api_servers_answer_is_read_from_the_clients_error_only(
    error: Exception, status: int | None, said: str
) -> None:
    assert api_status(error) == status
    assert api_error(error) == said
