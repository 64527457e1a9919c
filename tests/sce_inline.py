"""`sce` run in the test process, for what is refused before any game day starts: a process of its own
costs a second or two, and the exit status and the sentences on stderr are the same."""

from __future__ import annotations

import logging
import os
import subprocess

from typer.testing import CliRunner

from bot.cli import cli


def sce_here(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`sce` in this process, for what is refused before any game day starts (a process of its own
    costs a second or two each): the same exit status and sentences on stderr. The environment is
    ``env`` exactly (what the test process has beyond it is hidden), and the logging `sce run` sets up
    is put back after."""
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overlay.update(env)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(cli, list(args), env=overlay)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return subprocess.CompletedProcess(["sce", *args], result.exit_code, result.stdout, result.stderr)
