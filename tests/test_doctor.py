"""`sce doctor` and `sce serve`'s start-up checks: each misconfiguration is one sentence naming the variable.

The checks run in this process against real listeners on 127.0.0.1: the local workspace over HTTP (Slack),
SQLite files and a closed PostgreSQL port, kmock's Kubernetes emulator through the official client, and
the PagerDuty test server. Two tests start `sce serve` itself, because its exit status and stderr are the
point. No sentence ever holds a token, secret or password.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import kmock
import pytest
import yaml
from bot_process import ROOT, SCE, SIGNING_SECRET, free_port
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text
from test_faults_e2e import kubeconfig
from test_faults_kmock import NAMESPACE, OTHER_NAMESPACE, KubeTestServer
from test_pagerduty import API_TOKEN, ROUTING_KEY, FakePagerDuty
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings, default_database_url
from bot.doctor import Finding, Status, run_checks
from bot.slack.scopes import BOT_SCOPES
from bot.workspace.server import LocalWorkspace
from storage.database import head_revision, make_engine, migrate

BOT = "xoxb-local"
APP = "xapp-local"


@pytest.fixture(scope="module")
def ws() -> Iterator[LocalWorkspace]:
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        channels={"C1": "gameday", "CALERTS": "alerts", "COUT": "elsewhere"},
        members={"COUT": ["U1"]},
    ).start()
    yield workspace
    workspace.stop()


@pytest.fixture(autouse=True)
def fresh_workspace(ws: LocalWorkspace) -> Iterator[None]:
    yield
    ws.web_api.scopes = BOT_SCOPES
    ws.web_api.refused_tokens.clear()


@pytest.fixture
def no_cluster(tmp_path: Path) -> dict[str, str]:
    """An environment naming a kubeconfig that does not exist: no cluster, whatever this machine has."""
    return {"KUBECONFIG": str(tmp_path / "no-kubeconfig")}


def configured(ws: LocalWorkspace, tmp_path: Path, **changes: object) -> Settings:
    base: dict[str, object] = {
        "slack_bot_token": BOT,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": ws.api_url,
        "database_url": f"sqlite:///{tmp_path / 'sce.db'}",
    }
    return Settings(**{**base, **changes})  # type: ignore[arg-type]  # pydantic validates the values


def by_name(findings: list[Finding]) -> dict[str, list[Finding]]:
    named: dict[str, list[Finding]] = {}
    for finding in findings:
        named.setdefault(finding.name, []).append(finding)
    return named


def only(findings: list[Finding], name: str) -> Finding:
    [finding] = by_name(findings)[name]
    return finding


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status is Status.FAIL]


def closed_port() -> int:
    return free_port()  # bound, then released: nothing listens there


# --- Slack ------------------------------------------------------------------------------------------------


def test_a_good_http_mode_configuration_passes_every_check(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    findings = run_checks(configured(ws, tmp_path), no_cluster)
    assert {f.name for f in findings} == {
        "slack token",
        "slack auth.test",
        "slack scopes",
        "signing secret",
        "database",
        "kubernetes",
    }
    assert [f for f in findings if f.status is not Status.OK] == []
    assert "@" in only(findings, "slack auth.test").sentence
    assert "no cluster is configured" in only(findings, "kubernetes").sentence


def test_a_good_socket_mode_configuration_passes_every_check(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    findings = run_checks(
        configured(ws, tmp_path, slack_app_token=APP, slack_signing_secret=None), no_cluster
    )
    assert [f for f in findings if f.status is not Status.OK] == []
    assert "Socket Mode" in only(findings, "socket mode").sentence
    assert "not needed" in only(findings, "signing secret").sentence


WRONG_KINDS = {
    # (variable, value): what the sentence must say
    ("SLACK_BOT_TOKEN", "xoxp-1111-2222-userTOKENvalue"): ["SLACK_BOT_TOKEN holds a user token", "xoxb-"],
    ("SLACK_BOT_TOKEN", "xapp-1-A0-appTOKENvalue"): [
        "SLACK_BOT_TOKEN holds an app-level token",
        "belongs in SLACK_APP_TOKEN",
    ],
    ("SLACK_BOT_TOKEN", "xoxe.xoxp-1-rotatingTOKENvalue"): ["token rotation token", "xoxb-"],
    ("SLACK_BOT_TOKEN", "not-a-slack-token-at-all"): ["does not look like a Slack token", "xoxb-"],
    ("SLACK_BOT_TOKEN", "xoxb-local\n"): ["line break around it"],
    ("SLACK_BOT_TOKEN", " xoxb-local"): ["spaces or a line break"],
    ("SLACK_BOT_TOKEN", "xoxb-lo\u200bcal"): ["characters no Slack token has"],
    ("SLACK_BOT_TOKEN", "xoxb-lоcal"): ["characters no Slack token has"],  # a Cyrillic o
    ("SLACK_APP_TOKEN", "xapp-local\u00a0"): ["spaces or a line break"],
    ("SLACK_APP_TOKEN", "xoxb-botTOKENvalue-in-app-slot"): [
        "SLACK_APP_TOKEN holds a bot token",
        "belongs in SLACK_BOT_TOKEN",
        "xapp-",
    ],
    ("SLACK_APP_TOKEN", "xoxp-userTOKENvalue-in-app-slot"): ["SLACK_APP_TOKEN holds a user token", "xapp-"],
}


@pytest.mark.parametrize(("variable", "value"), list(WRONG_KINDS))
def test_a_token_of_the_wrong_kind_fails_with_a_sentence_saying_which_kind_goes_where(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], variable: str, value: str
) -> None:
    field = {"SLACK_BOT_TOKEN": "slack_bot_token", "SLACK_APP_TOKEN": "slack_app_token"}[variable]
    findings = run_checks(configured(ws, tmp_path, **{field: value}), no_cluster)
    [failed] = failures(findings)
    assert failed.name == ("slack token" if variable == "SLACK_BOT_TOKEN" else "socket mode")
    for part in WRONG_KINDS[(variable, value)]:
        assert part in failed.sentence
    assert value.strip() not in "\n".join(f.line for f in findings)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("invalid_auth", "not a valid token"),
        ("account_inactive", "uninstalled"),
        ("token_revoked", "revoked"),
        ("token_expired", "expired"),
    ],
)
def test_slack_refusing_the_bot_token_fails_naming_the_variable_and_what_slack_said(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], error: str, said: str
) -> None:
    ws.web_api.refused_tokens[BOT] = error
    findings = run_checks(configured(ws, tmp_path), no_cluster)
    [failed] = failures(findings)
    assert failed.name == "slack auth.test"
    assert f"Slack refused SLACK_BOT_TOKEN on auth.test ({error})" in failed.sentence
    assert said in failed.sentence
    assert "slack scopes" not in by_name(findings)  # nothing more is asked of a refused token


def test_a_token_of_another_workspace_is_invalid_auth(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    findings = run_checks(configured(ws, tmp_path, slack_bot_token="xoxb-another-workspace-0000"), no_cluster)
    [failed] = failures(findings)
    assert "(invalid_auth)" in failed.sentence and "SLACK_BOT_TOKEN" in failed.sentence


def test_scopes_the_manifest_asks_for_and_slack_did_not_grant_fail_by_name(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    ws.web_api.scopes = (BOT_SCOPES - {"users:read.email", "files:write"}) | {"admin"}
    [failed] = failures(run_checks(configured(ws, tmp_path), no_cluster))
    assert failed.name == "slack scopes"
    assert "files:write, users:read.email" in failed.sentence and "reinstall" in failed.sentence


def test_the_scopes_checked_are_the_ones_slack_manifest_yaml_asks_for() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_the_local_workspace_reports_the_scopes_of_the_token_like_slack() -> None:
    from slack_sdk import WebClient

    with LocalWorkspace() as local:
        answer = WebClient(token="xoxb-local", base_url=local.api_url).auth_test()
        header = {k.lower(): v for k, v in answer.headers.items()}["x-oauth-scopes"]
        assert set(header.split(",")) == BOT_SCOPES


def test_http_mode_without_a_signing_secret_fails(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    [failed] = failures(run_checks(configured(ws, tmp_path, slack_signing_secret=None), no_cluster))
    assert failed.name == "signing secret" and "SLACK_SIGNING_SECRET is not set" in failed.sentence


def test_an_app_token_slack_refuses_fails_naming_slack_app_token(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    settings = configured(ws, tmp_path, slack_app_token="xapp-1-another-app-0000")
    [failed] = failures(run_checks(settings, no_cluster))
    assert failed.name == "socket mode"
    assert "Slack refused SLACK_APP_TOKEN on apps.connections.open (invalid_auth)" in failed.sentence


def test_slack_unreachable_is_one_sentence_per_check_naming_the_url(
    tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    settings = Settings(
        slack_bot_token=BOT,
        slack_app_token=APP,
        slack_api_url=url,
        database_url=f"sqlite:///{tmp_path / 'sce.db'}",
    )
    started = time.monotonic()
    failed = {f.name: f.sentence for f in failures(run_checks(settings, no_cluster, timeout=30))}
    assert time.monotonic() - started < 15  # refused at once: no check sat out its 30 s timeout
    assert failed == {
        "slack auth.test": f"cannot reach Slack at {url}: connection refused",
        "socket mode": f"cannot reach Slack at {url}: connection refused",
    }


def test_a_slack_api_url_that_is_not_slacks_web_api_says_so(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    for url in (ws.base_url + "/", f"{ws.base_url}/slack/"):
        failed = {
            f.name: f.sentence
            for f in failures(
                run_checks(configured(ws, tmp_path, slack_api_url=url, slack_app_token=APP), no_cluster)
            )
        }
        said = f"{url} does not answer like Slack's Web API"
        tail = "HTTP 404, not a Slack answer): SLACK_API_URL must be unset, or end in /api/"
        assert failed == {
            "slack auth.test": f"{said} (auth.test: {tail}",
            "socket mode": f"{said} (apps.connections.open: {tail}",
        }
    for url in ("slack.com/api/", "ftp://127.0.0.1/api/", "https:///api/"):
        failed = {
            f.name: f.sentence
            for f in failures(
                run_checks(configured(ws, tmp_path, slack_api_url=url, slack_app_token=APP), no_cluster)
            )
        }
        assert failed == {"slack api url": f"SLACK_API_URL {url} is not an http(s) URL"}


def test_a_slack_that_never_answers_fails_within_the_timeout(
    tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    with socket.socket() as silent:  # accepts connections into its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/"
        settings = Settings(
            slack_bot_token=BOT,
            slack_app_token=APP,
            slack_api_url=url,
            database_url=f"sqlite:///{tmp_path / 'sce.db'}",
        )
        started = time.monotonic()
        failed = {f.name: f.sentence for f in failures(run_checks(settings, no_cluster, timeout=1))}
        assert time.monotonic() - started < 6
    assert failed == {
        "slack auth.test": f"cannot reach Slack at {url}: no answer in time",
        "socket mode": f"cannot reach Slack at {url}: no answer in time",
    }


@pytest.mark.parametrize(
    ("channel", "status", "said"),
    [
        ("CALERTS", Status.OK, "#alerts (CALERTS): the bot reads its messages as alerts"),
        ("COUT", Status.WARN, "the bot is not in #elsewhere (COUT)"),
        ("CNOPE", Status.FAIL, "SCE_ALERTS_CHANNEL CNOPE: no such channel the bot can see"),
        ("#alerts", Status.FAIL, "SCE_ALERTS_CHANNEL must be a channel id"),
        ("alerts", Status.FAIL, "SCE_ALERTS_CHANNEL must be a channel id"),
    ],
)
def test_the_alerts_channel_must_exist_and_have_the_bot_in_it(
    ws: LocalWorkspace,
    tmp_path: Path,
    no_cluster: dict[str, str],
    channel: str,
    status: Status,
    said: str,
) -> None:
    finding = only(run_checks(configured(ws, tmp_path, alerts_channel=channel), no_cluster), "alerts channel")
    assert (finding.status, said in finding.sentence) == (status, True), finding


# --- the database -----------------------------------------------------------------------------------------


def database_finding(ws: LocalWorkspace, tmp_path: Path, env: dict[str, str], url: str) -> Finding:
    return only(run_checks(configured(ws, tmp_path, database_url=url), env), "database")


def test_the_database_is_checked_without_creating_anything(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.db"
    fresh = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{path}")
    assert fresh.status is Status.OK and "does not exist yet" in fresh.sentence
    assert not path.exists()

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    current = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{path}")
    assert current.status is Status.OK and f"newest migration ({head_revision()})" in current.sentence

    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    behind = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{path}")
    assert behind.status is Status.WARN and "behind" in behind.sentence and "migrates it" in behind.sentence

    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{path}")
    assert newer.status is Status.FAIL and "a newer sce" in newer.sentence
    engine.dispose()

    missing = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
    assert missing.status is Status.FAIL and "does not exist" in missing.sentence

    (tmp_path / "garbage.db").write_bytes(b"this is not a database file at all" * 100)
    garbage = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{tmp_path / 'garbage.db'}")
    assert garbage.status is Status.FAIL and garbage.sentence.startswith("cannot open sqlite:///")

    monkeypatch.chdir(tmp_path)  # a relative path is shown with the folder it resolves in
    relative = database_finding(ws, tmp_path, no_cluster, "sqlite:///here.db")
    assert relative.sentence == (
        f"sqlite:///here.db (here, {tmp_path / 'here.db'}) does not exist yet; sce serve creates it at start"
    )

    memory = database_finding(ws, tmp_path, no_cluster, "sqlite://")
    assert memory.status is Status.WARN and "in-memory" in memory.sentence

    not_a_url = database_finding(ws, tmp_path, no_cluster, "mysql is where it lives")
    assert not_a_url.status is Status.FAIL and "DATABASE_URL is not a database URL" in not_a_url.sentence


def test_an_unreachable_postgresql_fails_quickly_and_never_shows_its_password(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    port = closed_port()
    url = f"postgresql://sce:Pg-Passw0rd-9f3e1c@127.0.0.1:{port}/sce"
    started = time.monotonic()
    finding = database_finding(ws, tmp_path, no_cluster, url)
    assert time.monotonic() - started < 6
    assert finding.status is Status.FAIL
    assert finding.sentence.startswith(f"cannot open postgresql://sce@127.0.0.1:{port}/sce: ")
    assert "refused" in finding.sentence.lower()
    assert "Pg-Passw0rd" not in finding.sentence


# --- Kubernetes -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def kubernetes_findings(
    ws: LocalWorkspace, tmp_path: Path, env: dict[str, str], namespaces: str
) -> list[Finding]:
    settings = configured(ws, tmp_path, allowed_namespaces=frozenset(filter(None, namespaces.split(","))))
    return by_name(run_checks(settings, env))["kubernetes"]


def test_each_allowed_namespace_is_listed_through_the_official_client(
    ws: LocalWorkspace, kube: KubeTestServer, tmp_path: Path
) -> None:
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url))}
    findings = kubernetes_findings(ws, tmp_path, env, f"{NAMESPACE},{OTHER_NAMESPACE}")
    assert [(f.status, f.sentence) for f in findings] == [
        (Status.OK, f"the bot can list pods in {name} at {kube.url}") for name in (NAMESPACE, OTHER_NAMESPACE)
    ]
    assert kube.emulator is not None
    listed = {r.namespace for r in list(kube.emulator) if r.resource and r.resource.plural == "pods"}
    assert {NAMESPACE, OTHER_NAMESPACE} <= listed


def test_a_namespace_the_cluster_refuses_fails_naming_it(ws: LocalWorkspace, tmp_path: Path) -> None:
    with KubeTestServer() as kube:
        assert kube.emulator is not None

        def forbidden(request: kmock.Request) -> None:
            raise kmock.KubernetesError(status=403, reason="Forbidden", message="pods is forbidden")

        kube.emulator["list", kmock.resource("v1/pods"), kmock.namespace(OTHER_NAMESPACE)] << forbidden
        env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url))}
        findings = kubernetes_findings(ws, tmp_path, env, f"{NAMESPACE},{OTHER_NAMESPACE}")
    assert [f.status for f in findings] == [Status.OK, Status.FAIL]
    assert f"refused to list pods in {OTHER_NAMESPACE} (403 Forbidden)" in findings[1].sentence
    assert "bind the bot's Role (deploy/role.yaml) in that namespace" in findings[1].sentence


def test_a_cluster_that_cannot_be_reached_fails_in_one_sentence(ws: LocalWorkspace, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, url))}
    started = time.monotonic()
    [finding] = kubernetes_findings(ws, tmp_path, env, NAMESPACE)
    assert time.monotonic() - started < 6
    assert (finding.status, finding.sentence) == (
        Status.FAIL,
        f"cannot reach the Kubernetes API at {url}: connection refused",
    )


def test_without_a_cluster_namespaces_only_warn_that_faults_are_simulated(
    ws: LocalWorkspace, kube: KubeTestServer, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    [nothing] = kubernetes_findings(ws, tmp_path, no_cluster, "")
    assert nothing.status is Status.OK and "simulated" in nothing.sentence
    system, simulated = kubernetes_findings(ws, tmp_path, no_cluster, f"{NAMESPACE},kube-system")
    assert system.status is Status.WARN and "kube-system is a system namespace" in system.sentence
    assert simulated.status is Status.WARN
    assert f"names {NAMESPACE} but no cluster is configured" in simulated.sentence
    assert "simulated" in simulated.sentence
    cluster = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url))}
    [unused] = kubernetes_findings(ws, tmp_path, cluster, "")
    assert unused.status is Status.WARN and "every cluster fault is refused" in unused.sentence
    system, listed = kubernetes_findings(ws, tmp_path, cluster, f"kube-system,{NAMESPACE}")
    assert system.status is Status.WARN and "kube-system is a system namespace" in system.sentence
    assert listed.status is Status.OK

    (tmp_path / "broken").write_text("clusters: [this is not a kubeconfig")
    [broken] = kubernetes_findings(ws, tmp_path, {"KUBECONFIG": str(tmp_path / "broken")}, NAMESPACE)
    assert broken.status is Status.FAIL and "cannot be read" in broken.sentence


# --- PagerDuty --------------------------------------------------------------------------------------------


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def pagerduty_findings(
    ws: LocalWorkspace, tmp_path: Path, env: dict[str, str], **changes: object
) -> dict[str, Finding]:
    findings = run_checks(configured(ws, tmp_path, **changes), env)
    return {f.name: f for f in findings if f.name.startswith("pagerduty")}


def test_pagerduty_is_reached_without_sending_a_page_and_its_api_token_is_tried(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], pagerduty: FakePagerDuty
) -> None:
    found = pagerduty_findings(
        ws,
        tmp_path,
        no_cluster,
        pagerduty_routing_key=ROUTING_KEY,
        pagerduty_events_url=f"{pagerduty.url}/v2/enqueue",
        pagerduty_api_token=API_TOKEN,
        pagerduty_api_url=pagerduty.url,
    )
    assert {name: f.status for name, f in found.items()} == {
        "pagerduty events": Status.OK,
        "pagerduty api": Status.OK,
    }
    assert pagerduty.attempts == 0 and pagerduty.events == []  # nobody was paged
    assert len(pagerduty.oncall_queries) == 1

    refused = pagerduty_findings(
        ws, tmp_path, no_cluster, pagerduty_api_token="u+pd-wrong-token-9999", pagerduty_api_url=pagerduty.url
    )["pagerduty api"]
    assert refused.status is Status.FAIL
    assert "PagerDuty refused PAGERDUTY_API_TOKEN (HTTP 401)" in refused.sentence

    nowhere = f"http://127.0.0.1:{closed_port()}"
    down = pagerduty_findings(
        ws,
        tmp_path,
        no_cluster,
        pagerduty_routing_key=ROUTING_KEY,
        pagerduty_events_url=f"{nowhere}/v2/enqueue",
        pagerduty_api_token=API_TOKEN,
        pagerduty_api_url=nowhere,
    )
    assert {name: f.status for name, f in down.items()} == {
        "pagerduty events": Status.WARN,
        "pagerduty api": Status.WARN,
    }
    assert "connection refused" in down["pagerduty events"].sentence


# --- no secret in any sentence ----------------------------------------------------------------------------

SECRETS = {
    "slack_bot_token": "xoxb-DOCTORBOT-5e1f9a7c3b2d",
    "slack_app_token": "xapp-DOCTORAPP-8c2e4a6f1d9b",
    "slack_signing_secret": "DOCTORSIGNING-3f7b1e9d5c2a",
    "alert_webhook_secret": "DOCTORHOOK-6a2c8e4f0b1d",
    "pagerduty_routing_key": "DOCTORROUTING0123456789abcdef01",
    "pagerduty_api_token": "DOCTORPDAPI-9b3d7f1a5e2c",
}


def cores(values: dict[str, str]) -> list[str]:
    """The part of each value no sentence could contain by chance: found even if the value is cut."""
    return [value.split("-")[1] if "-" in value else value[:16] for value in values.values()]


def test_no_token_or_secret_appears_in_any_sentence_whatever_fails(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], pagerduty: FakePagerDuty
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    setups = {
        "Slack refuses every token": configured(ws, tmp_path, **SECRETS),
        "the tokens swapped": configured(
            ws,
            tmp_path,
            **{
                **SECRETS,
                "slack_bot_token": SECRETS["slack_app_token"],
                "slack_app_token": SECRETS["slack_bot_token"],
            },
        ),
        "nothing reachable": Settings(
            **SECRETS,  # type: ignore[arg-type]  # pydantic validates the values
            slack_api_url=f"{nowhere}/api/",
            database_url=f"postgresql://sce:DOCTORDBPASS-4d8a@127.0.0.1:{closed_port()}/sce",
            pagerduty_events_url=f"{nowhere}/v2/enqueue",
            pagerduty_api_url=nowhere,
        ),
        "PagerDuty refuses its token": configured(
            ws, tmp_path, **SECRETS, pagerduty_api_url=pagerduty.url, pagerduty_events_url=pagerduty.url
        ),
    }
    for what, setup in setups.items():
        findings = run_checks(setup, no_cluster)
        output = "\n".join(f.line for f in findings)
        assert failures(findings), what
        for core in [*cores(SECRETS), "DOCTORDBPASS"]:
            assert core not in output, (what, core, output)


@examples(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(["xoxb-", "xapp-", "xoxp-", "xoxe.xoxp-", "", "Bearer xoxb-"]),
    secret=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=12, max_size=40),
    padding=st.sampled_from(["", " ", "\n", "\t", "\u200b", "\u00a0", "é"]),
    slot=st.sampled_from(["slack_bot_token", "slack_app_token"]),
)
def test_a_token_of_any_shape_never_appears_in_the_output(
    ws: LocalWorkspace,
    tmp_path: Path,
    no_cluster: dict[str, str],
    prefix: str,
    secret: str,
    padding: str,
    slot: str,
) -> None:
    value = f"{prefix}{secret}{padding}"
    findings = run_checks(configured(ws, tmp_path, **{slot: value}), no_cluster)
    assert secret not in "\n".join(f.line for f in findings)
    assert failures(findings)


# --- the command line -------------------------------------------------------------------------------------


def doctor_env(ws: LocalWorkspace, tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": ws.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sce.db'}",
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
        "SLACK_APP_TOKEN": "",
        "SCE_ALLOWED_NAMESPACES": "",
        "PAGERDUTY_ROUTING_KEY": "",
        "PAGERDUTY_API_TOKEN": "",
        "SCE_ALERTS_CHANNEL": "",
    }


def test_sce_doctor_prints_one_line_per_check_and_exits_1_on_a_failure(
    ws: LocalWorkspace, tmp_path: Path
) -> None:
    runner = CliRunner()
    good = runner.invoke(cli, ["doctor"], env=doctor_env(ws, tmp_path))
    assert good.exit_code == 0, good.output
    lines = good.output.splitlines()
    assert len(lines) == 6 and all(line.startswith("ok   ") for line in lines), lines

    ws.web_api.refused_tokens[BOT] = "token_revoked"
    bad = runner.invoke(cli, ["doctor"], env=doctor_env(ws, tmp_path))
    assert bad.exit_code == 1
    assert "FAIL slack auth.test: Slack refused SLACK_BOT_TOKEN on auth.test (token_revoked)" in bad.output
    assert "Traceback" not in bad.output


# --- `sce serve` refuses to start -------------------------------------------------------------------------


def serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "PORT": str(free_port()), "SCE_SCENARIOS_DIR": str(ROOT / "scenarios")}
    return subprocess.run([SCE, "serve"], env=full, capture_output=True, text=True, cwd=tmp_path, timeout=60)


def test_sce_serve_with_a_token_slack_refuses_exits_2_before_listening(
    ws: LocalWorkspace, tmp_path: Path
) -> None:
    env = {**doctor_env(ws, tmp_path), "SLACK_BOT_TOKEN": "xoxb-DOCTORWRONG-1a2b3c4d"}
    started = time.monotonic()
    result = serve(env, tmp_path)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert "FAIL slack auth.test: Slack refused SLACK_BOT_TOKEN on auth.test (invalid_auth)" in result.stderr
    assert "not starting" in result.stderr
    assert "listening" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "DOCTORWRONG" not in result.stdout + result.stderr


def test_sce_serve_in_socket_mode_with_slack_unreachable_says_so_in_one_sentence(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    env = {
        "SLACK_BOT_TOKEN": BOT,
        "SLACK_APP_TOKEN": APP,
        "SLACK_API_URL": url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sce.db'}",
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    result = serve(env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"FAIL socket mode: cannot reach Slack at {url}: connection refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 4, result.stderr


def test_slack_in_trouble_is_not_blamed_on_the_token(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    ws.web_api.faults.add("auth.test", 500)
    [failed] = failures(run_checks(configured(ws, tmp_path), no_cluster))
    assert failed.sentence == (
        "Slack could not answer auth.test (internal_error), so SLACK_BOT_TOKEN is not checked yet: "
        "try again shortly"
    )


def test_a_slack_that_does_not_say_the_scopes_is_a_warning(
    tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    class AuthTestOnly(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"ok": True, "user": "sce", "user_id": "UB", "team": "T"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), AuthTestOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings(
            slack_bot_token=BOT,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=f"http://127.0.0.1:{server.server_address[1]}/api/",
            database_url=f"sqlite:///{tmp_path / 'sce.db'}",
        )
        scopes = only(run_checks(settings, no_cluster), "slack scopes")
    finally:
        server.shutdown()
        server.server_close()
    assert scopes.status is Status.WARN and "no x-oauth-scopes header" in scopes.sentence


def test_a_pagerduty_url_that_is_not_a_url_fails(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str]
) -> None:
    found = pagerduty_findings(
        ws,
        tmp_path,
        no_cluster,
        pagerduty_routing_key=ROUTING_KEY,
        pagerduty_events_url="events.pagerduty.com/v2/enqueue",
        pagerduty_api_token=API_TOKEN,
        pagerduty_api_url="api.pagerduty.com",
    )
    assert {name: (f.status, f.sentence) for name, f in found.items()} == {
        "pagerduty events": (
            Status.FAIL,
            "PAGERDUTY_EVENTS_URL events.pagerduty.com/v2/enqueue is not an http(s) URL",
        ),
        "pagerduty api": (Status.FAIL, "PAGERDUTY_API_URL api.pagerduty.com is not an http(s) URL"),
    }


def test_the_default_database_in_a_data_folder_not_made_yet_is_fine(
    ws: LocalWorkspace, tmp_path: Path, no_cluster: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sce serve` makes sce's data folder on first use: a fresh install does not fail for want of it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_database_url()
    finding = database_finding(ws, tmp_path, no_cluster, url)
    assert (finding.status, finding.sentence) == (
        Status.OK,
        f"{url} does not exist yet; sce serve creates it and its folder at start",
    )
    assert not (tmp_path / "data").exists()
    elsewhere = database_finding(ws, tmp_path, no_cluster, f"sqlite:///{tmp_path / 'other' / 'sce.db'}")
    assert elsewhere.status is Status.FAIL and "does not exist" in elsewhere.sentence
