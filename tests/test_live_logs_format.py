"""The scenario format of live logs steps: each bad field is one sentence naming the file, its line and
the field; a ``match`` pattern whose cost could run away on a crafted line is refused; and the filter
runs in bounded time on the lines it is allowed to see."""

from __future__ import annotations

import time

import pytest

from bot.gameday.live_logs.batching import Batcher, shown_line
from bot.gameday.live_logs.batching import LogLine as Line
from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.scenario.log_sources import MATCH_LINE_MAX, match_problem

SOURCE = "scenarios/live.yaml"
KUBE = "      source: kubernetes\n      namespace: web\n      selector: {app: web}\n"
HEAD = """\
id: live
title: Live
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
steps:
  - at: 1m
    logs:
"""  # the logs fields start on line 8


def problem(fields: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(HEAD + fields, SOURCE)
    return str(caught.value)


def test_a_kubernetes_and_a_loki_source_are_read_with_their_defaults() -> None:
    kube = (
        parse_scenario(
            HEAD + "      source: kubernetes\n      namespace: web\n      selector: {app: web}\n"
            '      match: "denied|refused"\n      container: app\n      for: 5m\n',
            SOURCE,
        )
        .steps[0]
        .logs
    )
    assert kube is not None and kube.live
    assert (kube.namespace, kube.selector, kube.container, kube.for_, kube.every, kube.max_pods) == (
        "web",
        {"app": "web"},
        "app",
        300.0,
        10.0,
        20,
    )
    loki = parse_scenario(HEAD + "      source: loki\n      query: '{app=\"web\"}'\n", SOURCE).steps[0].logs
    assert loki is not None and loki.live and loki.for_ is None and loki.match is None
    inline = parse_scenario(HEAD + "      lines: [a, b]\n", SOURCE).steps[0].logs
    assert inline is not None and not inline.live


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "      source: elastic\n      query: '{app=\"web\"}'\n",
            "scenarios/live.yaml:8: steps[0].logs.source: 'elastic' is not a log source; use one of file, "
            "kubernetes, loki",
        ),
        (
            "      source: kubernetes\n      namespace: web\n",
            "scenarios/live.yaml:7: steps[0].logs.selector: source kubernetes needs `selector:` (the pods' "
            "labels, e.g. {app: web})",
        ),
        (
            "      source: kubernetes\n      selector: {app: web}\n",
            "scenarios/live.yaml:7: steps[0].logs.namespace: source kubernetes needs `namespace:` (where the "
            "pods run)",
        ),
        (
            "      source: loki\n      match: denied\n",
            "scenarios/live.yaml:7: steps[0].logs.query: source loki needs `query:` (LogQL, e.g. "
            "'{app=\"web\"}')",
        ),
        (
            "      source: kubernetes\n      namespace: Web_1\n      selector: {app: web}\n",
            "scenarios/live.yaml:9: steps[0].logs.namespace: 'Web_1' is not a Kubernetes namespace name "
            "(a DNS label: lowercase letters, digits and '-', 63 at most)",
        ),
        (
            "      source: kubernetes\n      namespace: kube-system\n      selector: {app: web}\n",
            "scenarios/live.yaml:9: steps[0].logs.namespace: kube-system is a system namespace; the bot "
            "never reads logs there",
        ),
        (
            "      source: kubernetes\n      namespace: web\n      selector: {app: 'web,tier!=x'}\n",
            "scenarios/live.yaml:10: steps[0].logs.selector: 'web,tier!=x' (for app) is not a Kubernetes "
            "label value (63 characters: letters, digits, -_.)",
        ),
        (
            KUBE + "      match: '(a+)+$'\n",
            "scenarios/live.yaml:11: steps[0].logs.match: '(a+)+$' repeats a repeat (like (a+)+), which can "
            "take exponential time on one line; write a simpler pattern such as 'denied|refused'",
        ),
        (
            "      source: loki\n      query: '{app=\"web\"}'\n      match: '[unclosed'\n",
            "scenarios/live.yaml:10: steps[0].logs.match: '[unclosed' is not a regular expression "
            "(unterminated character set at position 0)",
        ),
        (
            "      source: loki\n      query: 'rate({app=\"web\"}[5m])'\n",
            "scenarios/live.yaml:9: steps[0].logs.query: 'rate({app=\"web\"}[5m])' is not a LogQL log query: "
            "it must start with a stream selector such as '{app=\"web\"}' (a metric query returns numbers, "
            "not lines)",
        ),
        (
            "      source: loki\n      query: '{app=\"web\"}'\n      namespace: web\n",
            "scenarios/live.yaml:10: steps[0].logs.namespace: `namespace:` belongs to source kubernetes; put "
            "it in the query",
        ),
        (
            KUBE + "      every: 1s\n",
            "scenarios/live.yaml:11: steps[0].logs.every: a live source posts at most one message every 5s "
            "(Slack's rate per channel)",
        ),
        (
            KUBE + "      max_pods: 51\n",
            "scenarios/live.yaml:11: steps[0].logs.max_pods: max_pods is 51; follow between 1 and 50 pods "
            "at once",
        ),
        (
            "      file: idp.log\n      match: denied\n",
            "scenarios/live.yaml:9: steps[0].logs.match: `match:` belongs to a live source "
            "(kubernetes or loki)",
        ),
        (
            "      source: loki\n      query: '{app=\"web\"}'\n      lines: [a]\n",
            "scenarios/live.yaml:10: steps[0].logs.lines: `lines:` is for logs shipped with the scenario, "
            "not source loki",
        ),
    ],
)
def test_a_bad_live_source_is_one_sentence_at_its_line(fields: str, expected: str) -> None:
    assert problem(fields) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+",  # nested repeat: exponential
        "(a|ab)*c",  # alternation under a repeat: exponential
        "(?:x.*)*y",
        r"(\w+)\1",  # back-reference
        "a.*b.*c.*d",  # three unbounded repeats: polynomial of degree 4
        ".{0,1000}.{0,1000}.{0,1000}",  # long bounded repeats count as unbounded
        "x" * 201,  # too long
        "(?P<x>a)(?(x)b|c)",  # conditional group
    ],
)
def test_patterns_whose_cost_could_run_away_are_refused(pattern: str) -> None:
    assert match_problem(pattern) is not None


@pytest.mark.parametrize(
    "pattern", ["denied|refused", "denied.*user", r"\b5\d\d\b", "(?i)forbidden", "login (ok|failed)"]
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert match_problem(pattern) is None


def test_the_worst_accepted_pattern_on_a_crafted_line_stays_fast() -> None:
    batcher = Batcher("a.*b.*c")  # two unbounded repeats: the most the format allows
    crafted = "ab" * 50_000  # made to make it backtrack; only MATCH_LINE_MAX characters are matched
    started = time.perf_counter()
    for _ in range(5):
        batcher.offer("pod", crafted)
    elapsed = (time.perf_counter() - started) / 5
    assert batcher.take().seen == 5
    # a few tens of ms (measured in the bench's logs section); the bound only catches the catastrophic
    # case, the whole line matched, which takes minutes: a loaded CI machine must not fail it
    assert elapsed < 2.0, elapsed
    assert MATCH_LINE_MAX == 1000


def test_a_line_cannot_close_the_code_block_or_carry_control_characters() -> None:
    shown = shown_line(Line("web-1", "denied ``` *bold* \x1b[31mred\x1b[0m\ttab \u202eevil"))
    assert "```" not in shown and "\x1b" not in shown and "\u202e" not in shown and "\t" not in shown
    assert shown.startswith("[web-1] denied ''' *bold*")
