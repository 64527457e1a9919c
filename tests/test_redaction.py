"""Literal credentials are redacted wherever the bot shows text: Slack, every debrief format, the evidence
bundle's derived files and the logs; ordinary text and ``${env:NAME}`` references are left as they are.

Each credential below hides a marker (``LEAK…``) or is itself recognisable, so a test can tell it was
replaced and not merely moved; each also keeps something readable (a host, a parameter name, a prefix).
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_harness import NAMESPACE, Listener, SlackGameDays, shown_texts

from bot.debrief.bundle import SCENARIO_FILE, bundle_files, write_bundle
from bot.debrief.render import FORMATS, render_debrief
from bot.gameday.measuring.redaction import REDACTED, redact
from bot.gameday.running.engine import build_debrief_for
from bot.runtime.logs import configure_logging
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

# (text holding a credential, the credential's secret part, what must still be readable)
CREDENTIALS = [
    ("https://alice:LEAKpw1@hooks.example.com/deploy", "LEAKpw1", "@hooks.example.com/deploy"),
    ("http://deploy:LEAK%40pw2@10.0.0.5:8080/x", "LEAK%40pw2", "@10.0.0.5:8080/x"),
    ("postgresql://sce:LEAKdbpass3@db:5432/sce", "LEAKdbpass3", "postgresql://[redacted]@db:5432/sce"),
    ("https://ghp_LEAKaaaaaaaaaaaaaaaaaaaaaaa4@github.com/o/r.git", "LEAKaaaa", "@github.com/o/r.git"),
    ("https://api.example/v1?token=LEAKtok5&page=2", "LEAKtok5", "?token=[redacted]&page=2"),
    ("https://api.example/v1?page=2&access_token=LEAKtok6#top", "LEAKtok6", "&access_token=[redacted]#top"),
    ("https://maps.example/x?api_key=LEAKkey7", "LEAKkey7", "?api_key=[redacted]"),
    ("https://maps.example/x?apikey=LEAKkey8&key=LEAKkey9", "LEAKkey", "apikey=[redacted]&key=[redacted]"),
    ("https://x.example/cb?code=LEAKcode10&state=ok", "LEAKcode10", "&state=ok"),
    ("https://x.example/?secret=LEAK11&password=LEAK12&passwd=LEAK13", "LEAK1", "passwd=[redacted]"),
    ("https://hooks.example/x?sig=LEAK14&signature=LEAK15", "LEAK1", "signature=[redacted]"),
    (
        "https://bucket.s3.amazonaws.com/k?X-Amz-Credential=LEAK16%2F20261203&X-Amz-Signature=LEAK17abcdef",
        "LEAK1",
        "X-Amz-Signature=[redacted]",
    ),
    ("Authorization: Bearer LEAKbearer18", "LEAKbearer18", "Authorization: Bearer [redacted]"),
    ("authorization: basic TEVBS3VzZXI6cGFzcw==", "TEVBS3VzZXI6cGFzcw", "authorization: basic [redacted]"),
    ('{"Authorization": "Bearer LEAKjson19"}', "LEAKjson19", '"Bearer [redacted]"'),
    ("{'Authorization': 'Token token=LEAKpd20'}", "LEAKpd20", "'Token [redacted]'"),
    ("curl -H 'Authorization: Bearer LEAK21' https://x", "LEAK21", "https://x"),
    ("sent with Bearer LEAKstandalone22 to the API", "LEAKstandalone22", "to the API"),
    ("bot xoxb-1234-5678-LEAKslack23 here", "LEAKslack23", "xoxb-[redacted] here"),
    ("user xoxp-1234-5678-LEAKslack24", "LEAKslack24", "xoxp-[redacted]"),
    ("app xapp-1-A0-LEAKslack25", "LEAKslack25", "xapp-[redacted]"),
    ("old xoxa-2-LEAKslack26", "LEAKslack26", "xoxa-[redacted]"),
    (
        "https://hooks.slack.com/services/T0/B0/LEAKhook27",
        "LEAKhook27",
        "hooks.slack.com/services/[redacted]",
    ),
    ("gh ghp_LEAKgithub28aaaaaaaaaaaaaaaaaaa", "LEAKgithub28", "ghp_[redacted]"),
    ("gh gho_LEAKgithub29aaaaaaaaaaaaaaaaaaa", "LEAKgithub29", "gho_[redacted]"),
    ("gh ghs_LEAKgithub30aaaaaaaaaaaaaaaaaaa", "LEAKgithub30", "ghs_[redacted]"),
    ("gh github_pat_11LEAK31_aaaaaaaaaaaaaaaaaaaaaaaa", "LEAK31", "github_pat_[redacted]"),
    ("aws AKIAIOSFODNN7EXAMPLE id", "IOSFODNN7EXAMPLE", "AKIA[redacted] id"),
    ("sts ASIAY34FZKBOKMUTVV7A id", "Y34FZKBOKMUTVV7A", "ASIA[redacted] id"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJMRUFLMzIifQ.LEAK32sigsigsigsig end",
        "LEAK32",
        "jwt [redacted] end",
    ),
    ('{"routing_key": "R0LEAK33aaaaaaaaaaaaaaaaaaaaaaaa"}', "LEAK33", '"routing_key": "[redacted]"'),
    (
        "https://events.pagerduty.com/integration/LEAK34aaaaaaaaaaaaaaaaaaaaaaaaa/enqueue",
        "LEAK34",
        "/enqueue",
    ),
    (
        "key -----BEGIN RSA PRIVATE KEY-----\nMIIELEAK35\nAAAA==\n-----END RSA PRIVATE KEY----- done",
        "LEAK35",
        "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY----- done",
    ),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbLEAK36 (cut short", "LEAK36", "-----BEGIN OPENSSH"),
]
# Secret references and ordinary text: never changed.
UNCHANGED = [
    "https://${env:HOOK_USER}:${env:HOOK_PASSWORD}@hooks.example.com/deploy",
    "https://hooks.example.com/deploy?token=${env:HOOK_TOKEN}",
    'headers: {"Authorization": "Bearer ${env:API_TOKEN}"}',
    "Authorization: Bearer ${env:API_TOKEN}",
    "https://runbooks.example/db-failover?step=3&lang=en#rollback",
    "ssh://git@github.com/org/repo.git",
    "Rotate the token, then check the password policy and the API key vault.",
    "The bearer of the pager acknowledges. Basic checks first.",
    "game day gd-3fa9c2d1 at 1800000000.000100, thread 1800000012.345678",
    "ATT&CK T1078.004 and T1552, T1059.001",
    "monkey=banana; key points: none",
    "Authorization: (redacted)",
    "sce debrief gd-1 --format md",
    "Bearer gd-00000000 and Bearer 1800000000.000100",
]


@pytest.mark.parametrize(("text", "secret", "readable"), CREDENTIALS)
def test_each_credential_shape_is_redacted_and_the_rest_stays_readable(
    text: str, secret: str, readable: str
) -> None:
    shown = redact(text)
    assert secret not in shown and REDACTED in shown, shown
    assert readable in shown, shown
    assert redact(shown) == shown


@pytest.mark.parametrize("text", UNCHANGED)
def test_secret_references_and_ordinary_text_are_left_alone(text: str) -> None:
    assert redact(text) == text


PROSE = st.lists(
    st.one_of(
        st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
        st.sampled_from(UNCHANGED + ["token", "Bearer", "password", "key:", "secret", "a=b", "&", "?", "#"]),
        st.from_regex(r"gd-[0-9a-f]{8}|1[0-9]{9}\.[0-9]{6}|T1[0-9]{3}(\.00[0-9])?", fullmatch=True),
        st.from_regex(
            r"https://[a-z]{1,8}\.example(/[a-z]{1,6}){0,3}(\?[a-z]{1,4}=[a-z0-9]{1,6})?", fullmatch=True
        ),
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(PROSE)
def test_text_without_a_credential_shape_comes_back_unchanged(text: str) -> None:
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(PROSE, st.sampled_from([c[0] for c in CREDENTIALS]), st.text(max_size=20)), max_size=6)
)
def test_redacting_twice_changes_nothing_more(parts: list[str]) -> None:
    once = redact(" ".join(parts))
    assert redact(once) == once
    for text, secret, _ in CREDENTIALS:
        if text in parts:
            assert secret not in once


# -- at the edges: Slack, the debrief formats, the bundle, the logs --------------------------------------


@pytest.fixture(scope="module")
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels={"C1": "gameday"}
    ).start()
    yield ws
    ws.stop()


@pytest.fixture
def target() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def leaky_scenario(target_url: str) -> dict[str, object]:
    host = target_url.removeprefix("http://")
    return {
        "id": "leaky-drill",
        "title": "Leaky drill",
        "charter": {"objective": "o", "hypothesis": "h"},
        "guardrails": {"max_duration": "1h", "namespaces": [NAMESPACE], "hosts": ["127.0.0.1"]},
        "oncall": {"escalate_after": None},
        "steps": [
            {"at": 0, "say": "Deploy hook: https://alice:LEAKsay1@hooks.example.com/x?token=LEAKsay2"},
            {
                "at": 0,
                "page": {
                    "summary": "The API answered 401 to Authorization: Bearer LEAKpage3",
                    "runbook": "https://runbooks.example/r?sig=LEAKrunbook4",
                },
            },
            {"at": 10, "logs": {"lines": ["login with xoxb-1-2-LEAKlog5", "key AKIAIOSFODNN7EXAMPLE"]}},
            # a user:pass@ URL is refused outright (tests/test_outbound_urls.py); a token in the query is not
            {"at": 30, "http": {"url": f"http://{host}/health?api_key=LEAKhttp7"}},
            {"at": 40, "webhook": {"url": f"http://{host}/hook?access_token=LEAKhook9"}},
        ],
        "debrief": {"questions": ["Why was ghp_LEAKquestion10aaaaaaaaaaaaa in the log?"]},
    }


GAP = "gap: the runbook still says curl -H 'Authorization: Bearer LEAKgap11'"
NOTE = "note: found eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJMRUFLIn0.LEAKnote12sig in the proxy log"
SECRETS = ["LEAK", "IOSFODNN7EXAMPLE"]


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows {secret}: {text[text.find(secret) - 80 :][:200]!r}"


def test_credentials_from_a_scenario_and_responders_are_redacted_in_slack_debriefs_and_the_bundle(
    workspace: LocalWorkspace, target: Listener, tmp_path: Path
) -> None:
    days = SlackGameDays(workspace)
    scenario = json.dumps(leaky_scenario(target.url))
    gameday = days.start(scenario)
    for i, text in enumerate((GAP, NOTE)):
        kind, _, said = text.partition(": ")
        assert days.engine.add_note(gameday, kind, said, "U1", days.clock.now(), f"d{i}").ok
    days.advance(60)
    labels = {"alertname": "TokenLeak", "url": "https://svc:LEAKalert13@api.example/v1"}
    now = days.clock.now()
    assert days.engine.record_unmatched_alert(gameday, "alertmanager", "TokenLeak", labels, now, "a1").ok
    stop = "Stop condition met: alert Leak fired with header=Authorization: Bearer LEAKalert14."
    assert days.engine.stop_on_condition(gameday, stop, "a2").ok
    days.settle()

    # the calls themselves went out with their credentials: only what people and files show is redacted
    assert any("LEAKhttp7" in path for path in target.paths) and any("LEAKhook9" in p for p in target.paths)

    messages = days.messages(gameday)
    texts = [t for m in messages for t in shown_texts(m)]
    said = "\n".join(texts)
    for expected in ("https://[redacted]@hooks.example.com/x?token=[redacted]", "Bearer [redacted]"):
        assert expected in said
    assert "<https://runbooks.example/r?sig=[redacted]>" in said
    assert "xoxb-[redacted]" in said and "AKIA[redacted]" in said
    assert "api_key=[redacted]" in said and "access_token=[redacted]" in said
    assert "alert Leak fired with header=Authorization: Bearer [redacted]" in said
    for text in texts:
        assert_no_secret(text, "a Slack message")
    uploaded_files = WorkspaceClient(workspace.base_url).files("C1")
    assert len(uploaded_files) >= 2  # the debrief as HTML and Markdown
    for uploaded in uploaded_files:
        assert_no_secret(json.dumps(uploaded), f"the uploaded file {uploaded.get('name')}")

    record = days.store.get(gameday)
    assert record is not None
    debrief = build_debrief_for(record, days.store.events(gameday))
    assert "LEAKgap11" in debrief.gaps[0].text  # the record keeps what was typed; what it shows does not
    for fmt in FORMATS:
        assert_no_secret(render_debrief(debrief, fmt), f"the {fmt} debrief")
    shown = json.loads(render_debrief(debrief, "json"))
    assert shown["end_reason"].endswith("Authorization: Bearer [redacted].")
    assert "https://[redacted]@api.example/v1" in json.dumps(shown["timeline"])  # the unmatched alert
    assert "https://[redacted]@hooks.example.com/x?token=[redacted]" in json.dumps(shown["timeline"])

    files = bundle_files(debrief, scenario)
    assert files[SCENARIO_FILE] == scenario.encode()  # the evidence as written: its hash must still match
    assert json.loads(files["manifest.json"])["scenario_hash_matches"]
    for name, data in files.items():
        if name != SCENARIO_FILE:
            assert_no_secret(data.decode(), f"the bundle's {name}")
    with zipfile.ZipFile(write_bundle(debrief, scenario, tmp_path / "bundle.zip")) as archive:
        assert archive.read("timeline.json") == files["timeline.json"]


def test_credentials_are_redacted_in_the_logs() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    try:
        log = logging.getLogger("sce.test.redaction")
        for text, _, _ in CREDENTIALS:
            log.warning("calling %s", text)
        log.info("step", extra={"url": CREDENTIALS[0][0]})
        try:
            raise ValueError(f"could not reach {CREDENTIALS[4][0]}")
        except ValueError:
            log.exception("webhook failed")
        for text in UNCHANGED:
            log.info(text)
    finally:
        root = logging.getLogger()
        root.handlers = [h for h in root.handlers if getattr(h, "stream", None) is not stream]
    output = stream.getvalue()
    for _, secret, _ in CREDENTIALS:
        assert secret not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["message"] for line in lines[-len(UNCHANGED) :]] == UNCHANGED
