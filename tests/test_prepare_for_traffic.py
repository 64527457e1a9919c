"""`sce serve` compiles every template before it takes traffic: a game day's end (every debrief format,
its event log), `/sce history` and every Slack message then compile nothing. Compiled at the first end
instead, each publishing thread compiled the event log at once and held the interpreter for a second,
and the steps of every other game day waited.

Run in a child process: preparing freezes the garbage collector, spaces its full collections and sets the
switch interval, which this test process keeps as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import jinja2
from bench.debrief import finished_record, timeline
from bot.debrief.history import render_history
from bot.debrief.render import FORMATS, render_debrief
from bot.gameday.measuring.run_summary import summary_of
from bot.gameday.measuring.trends import history
from bot.gameday.running.engine import build_debrief_for
from bot.runtime.process import prepare_for_traffic
from bot.slack import render as slack_render

compiled = []
original = jinja2.Environment._compile

def counting(self, source, filename):
    compiled.append(filename)
    return original(self, source, filename)

prepare_for_traffic()
jinja2.Environment._compile = counting
text = open("scenarios/pager-stress.yaml").read()
debrief = build_debrief_for(finished_record("gd-1", text, 1_800_000_000.0), timeline(200, text))
for fmt in FORMATS:
    render_debrief(debrief, fmt)
rows = history([summary_of(debrief)])
for fmt in ("text", "svg"):
    render_history("pager-stress", rows, fmt)
for name in slack_render._env.list_templates():
    slack_render._env.get_template(name)
print(len(compiled), compiled)
import gc
print(gc.get_threshold(), gc.get_freeze_count() > 0)
"""


def test_after_start_no_debrief_history_or_slack_template_is_compiled() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    templates, collector = done.stdout.strip().splitlines()
    assert templates == "0 []", done.stdout
    # the start-up frozen, and a full collection (5-10 ms with 500 game days) a tenth as often
    assert collector == "(700, 10, 100) True", done.stdout
