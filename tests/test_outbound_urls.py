"""Outbound URLs: the host that is checked is the host that is connected to.

Two recording listeners on the same port: 127.0.0.1 (the only allowed host) and 127.0.0.2 (not allowed).
Every URL-confusion variant goes through the real caller (requests, over real sockets); the listener on
127.0.0.2 must never see a request, the allowed one exactly the expected ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from core_harness import CoreHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_listener import RecordingListener

from bot.gameday.running.outbound import OutboundRequest
from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.scenario.outbound_url import MAX_REDIRECTS, UrlRefused, check_url, parse_url
from bot.gameday.timeline import Kind
from bot.integrations.http_caller import RequestsCaller

ALLOWED = ["127.0.0.1"]


@pytest.fixture(scope="module")
def listeners() -> Iterator[tuple[RecordingListener, RecordingListener]]:
    allowed = RecordingListener("127.0.0.1")
    other = RecordingListener("127.0.0.2", allowed.port)
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture
def fresh(
    listeners: tuple[RecordingListener, RecordingListener],
) -> tuple[RecordingListener, RecordingListener]:
    for listener in listeners:
        listener.hits.clear()
    return listeners


def confusion_variants(port: int) -> list[str]:
    """URLs that some parser reads as 127.0.0.2 (or elsewhere) while another reads 127.0.0.1."""
    p = port
    return [
        f"http://127.0.0.1:{p}@127.0.0.2:{p}/",
        f"http://user:pass@127.0.0.1:{p}/",
        f"http://127.0.0.2:{p}\\@127.0.0.1:{p}/",
        f"http://127.0.0.2:{p}\\.127.0.0.1/",
        f"http:\\\\127.0.0.2:{p}/",
        f"http:/127.0.0.2:{p}/",
        f"http:127.0.0.2:{p}/",
        f"//127.0.0.2:{p}/",
        f"http://127.0.0.2:{p}#@127.0.0.1:{p}/",
        f"http://127.0.0.2:{p}?@127.0.0.1:{p}/",
        f"http://127.0.0.2:{p}/?host=127.0.0.1",
        f"http://127.0.0.1 @127.0.0.2:{p}/",
        f"http://127.0.0.1%2f@127.0.0.2:{p}/",
        f"http://127.0.0.1%40127.0.0.2:{p}/",
        f"http://127.0.0.%32:{p}/",
        f"http://%31%32%37.0.0.2:{p}/",
        f"http://127.2:{p}/",
        f"http://127.0.2:{p}/",
        f"http://2130706434:{p}/",
        f"http://0x7f.0.0.2:{p}/",
        f"http://0x7f000002:{p}/",
        f"http://0177.0.0.2:{p}/",
        f"http://127.0.0.02:{p}/",
        f"http://127.0.0.1.127.0.0.2:{p}/",
        f"http://127\u30020\u30020\u30022:{p}/",
        f"http://127\uff0e0\uff0e0\uff0e2:{p}/",
        f"http://\uff11\uff12\uff17.0.0.2:{p}/",
        f"http://[::ffff:127.0.0.2]:{p}/",
        f"http://[::ffff:7f00:2]:{p}/",
        f"http://localhost:{p}/",
        f"http://LOCALHOST.:{p}/",
        f"http://127.0.0.2:{p}/",
        f"HTTP://127.0.0.2:{p}/",
        f"http://127.0.0.1:{p + 65536}/",
        f"http://127.0.0.1:-{p}/",
        f"http://127.0.0.1:{p}:{p}/",
        "http://127.0.0.1:/",
        f"http:///127.0.0.2:{p}/",
        f"http://127.0.0.1\t:{p}/",
        f"http://127.0.0.1:{p}/\r\nHost: 127.0.0.2",
        f"http://127.0.0.1\x00.127.0.0.2:{p}/",
        f"ftp://127.0.0.1:{p}/",
        f"gopher://127.0.0.1:{p}/",
        "file:///etc/passwd",
        f"javascript://127.0.0.1:{p}/%0aalert(1)",
        f"https+unix://127.0.0.1:{p}/",
        f"http://${{env:HOST}}:{p}/",
        "http://127.0.0.1:${env:PORT}/",
        f"http://[127.0.0.1]:{p}/",
        f"http://127.0.0.1\u200b:{p}/",
    ]


def accepted_variants(port: int) -> list[tuple[str, str]]:
    """URLs that are 127.0.0.1 to every reading, with the path the listener must see."""
    p = port
    return [
        (f"http://127.0.0.1:{p}/plain", "/plain"),
        (f"HTTP://127.0.0.1:{p}/upper", "/upper"),
        (f"http://127.0.0.1.:{p}/trailing-dot", "/trailing-dot"),
        (f"http://127.0.0.1:{p}/q?next=http://127.0.0.2:{p}/", f"/q?next=http://127.0.0.2:{p}/"),
        (f"http://127.0.0.1:{p}/at?@127.0.0.2", "/at?@127.0.0.2"),
        (f"http://127.0.0.1:{p}/frag#@127.0.0.2:{p}", "/frag"),
        (f"http://127.0.0.1:{p}", "/"),
    ]


def test_every_confusion_variant_is_refused_at_validate_and_at_call_and_reaches_no_one(
    fresh: tuple[RecordingListener, RecordingListener],
) -> None:
    allowed, other = fresh
    caller = RequestsCaller(
        timeout=2.0, env={"HOST": "127.0.0.2", "PORT": str(other.port)}, referable=frozenset({"HOST", "PORT"})
    )
    for url in confusion_variants(allowed.port):
        with pytest.raises(UrlRefused):
            check_url(url, ALLOWED)
        outcome = caller.call(OutboundRequest("GET", url), ALLOWED)
        assert outcome.status == 0 and outcome.problem, url
        assert url not in outcome.problem  # the sentence names the problem, never repeats the URL
    assert other.hits == [] and allowed.hits == []


def test_accepted_variants_reach_the_allowed_listener_exactly_once_each(
    fresh: tuple[RecordingListener, RecordingListener],
) -> None:
    allowed, other = fresh
    caller = RequestsCaller(timeout=2.0)
    for url, _ in accepted_variants(allowed.port):
        outcome = caller.call(OutboundRequest("GET", url), ALLOWED)
        assert (outcome.status, outcome.problem) == (200, None), url
    assert [hit.path for hit in allowed.hits] == [path for _, path in accepted_variants(allowed.port)]
    assert {hit.headers["Host"] for hit in allowed.hits} == {f"127.0.0.1:{allowed.port}"}
    assert other.hits == []


def test_a_scenario_names_the_file_line_and_field_of_each_refused_url() -> None:
    for url in confusion_variants(8080):
        text = (
            "id: u\ntitle: t\ncharter: {objective: o, hypothesis: h}\n"
            "guardrails: {hosts: [127.0.0.1]}\nsteps:\n"
            f"  - at: 0s\n    webhook: {{url: {json.dumps(url)}}}\n"
        )
        with pytest.raises(ScenarioError) as raised:
            parse_scenario(text, "u.yaml")
        problem = raised.value.problems[0]
        assert (problem.file, problem.line, problem.field) == ("u.yaml", 7, "steps[0].webhook.url"), url
        assert "\n" not in str(problem)


def test_guardrails_hosts_are_read_by_the_same_rule() -> None:
    with pytest.raises(ScenarioError, match="guardrails.hosts: '127.1'.*four decimal numbers"):
        parse_scenario(
            "id: u\ntitle: t\ncharter: {objective: o, hypothesis: h}\n"
            "guardrails: {hosts: ['127.1']}\nsteps:\n  - {at: 0s, say: hi}\n"
        )
    assert check_url("https://CI.Example.com./x", ["ci.example.COM."]).host == "ci.example.com"


def test_a_redirect_to_a_host_not_allowed_is_not_followed_and_is_on_the_timeline(
    fresh: tuple[RecordingListener, RecordingListener],
) -> None:
    allowed, other = fresh
    out = f"{other.url}/stolen"
    outcome = RequestsCaller(timeout=2.0).call(
        OutboundRequest("GET", f"{allowed.url}/redirect?to={out}"), ALLOWED
    )
    assert outcome.status == 302 and outcome.problem and "was not followed" in outcome.problem
    assert other.hits == []
    h = CoreHarness()
    text = (
        "id: r\ntitle: t\ncharter: {objective: o, hypothesis: h}\n"
        "guardrails: {max_duration: 30m, hosts: [127.0.0.1]}\nsteps:\n"
        f'  - {{at: 0s, http: {{url: "{allowed.url}/redirect?to={out}"}}}}\n'
    )
    gd = h.engine.start(text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 2)
    probed = next(e for e in h.store.events(gd) if e.kind is Kind.HTTP_PROBED)
    assert probed.data["ok"] is False and "was not followed" in probed.data["problem"]
    assert any("was not followed" in text for kind, text in h.announcer.posts if kind == "say")
    assert other.hits == [] and [hit.path.split("?")[0] for hit in allowed.hits] == ["/redirect", "/redirect"]


def test_redirects_within_the_allowed_host_are_followed_a_few_times_and_checked_each_hop(
    fresh: tuple[RecordingListener, RecordingListener],
) -> None:
    allowed, other = fresh
    caller = RequestsCaller(timeout=2.0)
    outcome = caller.call(OutboundRequest("GET", f"{allowed.url}/redirect?to=/landed"), ALLOWED)
    assert (outcome.status, outcome.problem) == (200, None)
    assert outcome.redirects == (f"{allowed.url}/landed",)
    # two hops inside, the third points elsewhere: stopped there
    inner = f"/redirect?to={other.url}/x"
    chain = f"{allowed.url}/redirect?to=/redirect%3Fto%3D{inner.replace('?', '%3F').replace('=', '%3D')}"
    allowed.hits.clear()
    outcome = caller.call(OutboundRequest("GET", chain), ALLOWED)
    assert outcome.status == 302 and outcome.problem and "was not followed" in outcome.problem
    assert len(allowed.hits) == 3 and other.hits == []
    allowed.hits.clear()
    loop = caller.call(OutboundRequest("GET", f"{allowed.url}/loop"), ALLOWED)
    assert loop.status == 302 and loop.problem and f"more than {MAX_REDIRECTS} redirects" in loop.problem
    assert len(allowed.hits) == MAX_REDIRECTS + 1 and other.hits == []


def test_credentials_do_not_follow_a_redirect_off_the_checked_origin(
    fresh: tuple[RecordingListener, RecordingListener],
) -> None:
    allowed, other = fresh
    target = RecordingListener("127.0.0.1")
    try:
        request = OutboundRequest(
            "GET", f"{allowed.url}/redirect?to={target.url}/next", {"Authorization": "Bearer ${env:TOKEN}"}
        )
        outcome = RequestsCaller(
            timeout=2.0, env={"TOKEN": "t0ps3cret"}, referable=frozenset({"TOKEN"})
        ).call(request, ALLOWED)
        assert outcome.status == 200
        assert allowed.hits[0].headers["Authorization"] == "Bearer t0ps3cret"
        assert "Authorization" not in target.hits[0].headers  # another port is another origin
    finally:
        target.close()
    assert other.hits == []


PIECES = st.sampled_from(
    [
        "127.0.0.1",
        "127.0.0.2",
        "127.1",
        "2130706434",
        "0x7f",
        "localhost",
        "@",
        ":",
        "/",
        "//",
        "\\",
        "#",
        "?",
        "%2e",
        "%40",
        ".",
        "。",
        "．",
        " ",
        "\t",
        "[",
        "]",
        "::ffff:",
        "http:",
        "https:",
        "PORT",
        "user:pw",
        "${env:HOST}",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(["http://", "HTTP://", "http:/", "http:\\\\", "//", "https://", ""]),
    parts=st.lists(PIECES, min_size=1, max_size=7),
)
def test_generated_urls_never_reach_the_host_not_allowed(
    listeners: tuple[RecordingListener, RecordingListener], prefix: str, parts: list[str]
) -> None:
    allowed, other = listeners
    url = prefix + "".join(parts).replace("PORT", str(allowed.port))
    before = len(allowed.hits)
    outcome = RequestsCaller(timeout=1.0, env={"HOST": "127.0.0.2"}, referable=frozenset({"HOST"})).call(
        OutboundRequest("GET", url), ALLOWED
    )
    assert other.hits == [], url
    if len(allowed.hits) > before:  # it got through: then the one reading says 127.0.0.1, on the port
        checked = parse_url(url)
        assert (checked.host, checked.port) == ("127.0.0.1", allowed.port), url
        assert outcome.problem is None
    else:
        assert outcome.status == 0
