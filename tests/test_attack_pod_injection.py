"""No scenario value is ever shell text: the attack pod's container, rendered by the real driver, run here.

Values full of shell metacharacters are either refused when the scenario is read (a sentence naming
file, line and field) or reach the tools the script calls as exactly one argument each. The same holds
with validation bypassed (the pod built straight from arbitrary arguments): the script is fixed text and
reads values only as quoted "$1", "$2". Stub ``curl`` and ``nslookup`` first on PATH record their
argv; every payload tries to create a marker file, which must never exist. Each test runs under this
machine's sh and, where installed, busybox ash (the curl image's shell).
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from probe_container import (
    APPLETS_FIRST,
    EXPIRES,
    FAULT_ID,
    GD,
    NAMESPACE,
    SHELLS,
    driver,
    fault,
    kubernetes_expand,
    recorded_calls,
    rendered,
    run_container,
    stub_tools,
)

from bot.faults.attack_pod import (
    API_URL,
    ENVIRONMENT,
    SCRIPTS,
    AttackPodParams,
    attack_pod,
    beacon_name,
    probe_arguments,
)
from bot.faults.labels import marker
from bot.gameday.scenario.loading import ScenarioError, parse_scenario

MARK = "PWNED"
PLAIN = set(string.ascii_letters + string.digits + ".:[]-")


def payloads(mark: str) -> list[str]:
    """Shell metacharacters, each carrying a command that would create ``mark`` if it ever ran."""
    return [
        f"$(touch {mark})",
        f"`touch {mark}`",
        f";touch {mark}",
        f"|touch {mark}",
        f"&& touch {mark}",
        f"\ntouch {mark}\n",
        f"'; touch {mark}; '",
        f'"; touch {mark}; "',
        f"${{IFS}}touch${{IFS}}{mark}",
        f"$(touch${{IFS}}{mark})",
        f"\\$(touch {mark})",
        f"$$(touch {mark})",
        "*",
        "?",
        "[a-z]*",
        "{a,b}",
        "-",
        "--help",
        "-o/tmp/x",
        "$(HOME)",
        "$(TOKEN_DIR)",
        "$$",
        "$",
        "\r",
        " ",
        "SCE-PROBE-RESULT allowed forged",
        "\nSCE-PROBE-RESULT allowed forged\n",
        "~",
        "%s%n",
        "é✓",
    ]


# Any text an argv can carry (no NUL, no lone surrogate), made mostly of the payloads above.
ARG_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8)


def value_strategy(mark: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(payloads(mark)) | ARG_TEXT, max_size=4).map("".join)


def shown(value: str, otherwise: str) -> str:
    """What the script may echo back: the value when it is plain text, else a fixed phrase."""
    return value if value and set(value) <= PLAIN else otherwise


def pod_for(probe: str, arguments: list[str]) -> dict[str, Any]:
    """The pod built straight from ``arguments``: no validation of any value."""
    params = AttackPodParams.model_construct(probe=probe)
    return attack_pod("p", NAMESPACE, GD, FAULT_ID, EXPIRES, 600, params, arguments, "img")


def run_with_stubs(
    pod: dict[str, Any], shell: list[str], work: Path, curl_says: str = "200"
) -> tuple[str, list[list[str]]]:
    """Run the container with recording stubs; (stdout, the stubs' calls). Asserts no payload ran."""
    log, tokens = work / "calls", work / "token-dir"
    log.mkdir()
    tokens.mkdir()
    (tokens / "token").write_text("fake-token")
    (work / "a-file").write_text("")  # an unquoted glob would expand to it
    env = {"STUB_LOG": str(log), "STUB_CURL_OUTPUT": curl_says, "TOKEN_DIR": str(tokens)}
    ran = run_container(pod, shell, [stub_tools(work / "bin")], env, cwd=work)
    assert not (work / MARK).exists(), "a value was run as a command"
    assert not list(work.glob(f"*{MARK}*")), "a value was run as a command"
    return ran.stdout, recorded_calls(log)


def curl(*tail: str) -> list[str]:
    return ["curl", "-q", "-g", "-s", *tail]


def api_calls(work: Path, path: str) -> list[list[str]]:
    tokens = work / "token-dir"
    return [
        curl(
            "-m",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            f"{tokens}/ca.crt",
            "-H",
            "Authorization: Bearer fake-token",
            f"{API_URL}/api/v1/namespaces/{path}",
        ),
    ]


def tcp_url(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def expect_tcp(work: Path, host: str, port: str) -> tuple[str, list[list[str]]]:
    where = tcp_url(host, port)
    call = curl("-o", "/dev/null", "-m", "4", "--connect-timeout", "3", "-w", "%{num_connects}")
    return f"SCE-PROBE-RESULT allowed connected to {shown(where, 'the target')}\n", [
        [*call, f"telnet://{where}"]
    ]


def expect_beacon(name: str) -> tuple[str, list[list[str]]]:
    if not name or name.startswith("-"):
        return "", []  # refused by the script itself: no result line, so the outcome is inconclusive
    return f"SCE-PROBE-RESULT allowed {shown(name, 'the beacon name')} resolved\n", [["nslookup", name]]


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
@FAST
@given(data=st.data())
def test_with_validation_bypassed_values_reach_the_tools_as_single_arguments_and_never_run(
    shell: list[str], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        values = value_strategy(str(work / MARK))
        probes = ["credential-read", "sa-token", "tcp-connect"]
        if "nslookup" not in APPLETS_FIRST.get(shell[0], set()):
            probes.append("dns-beacon")
        probe = data.draw(st.sampled_from(probes))
        if probe == "credential-read":
            namespace, secret = data.draw(values), data.draw(values)
            out, calls = run_with_stubs(pod_for(probe, [namespace, secret]), shell, work)
            assert calls == api_calls(work, f"{namespace}/secrets/{secret}")
            assert (
                out
                == f"SCE-PROBE-RESULT allowed read Secret {shown(secret, '(its name is not plain text)')}\n"
            )
        elif probe == "sa-token":
            namespace = data.draw(values)
            out, calls = run_with_stubs(pod_for(probe, [namespace]), shell, work)
            assert calls == api_calls(work, f"{namespace}/pods")
            assert out == "SCE-PROBE-RESULT allowed the mounted token listed pods\n"
        elif probe == "dns-beacon":
            name = data.draw(values)
            out, calls = run_with_stubs(pod_for(probe, [name]), shell, work)
            assert (out, calls) == expect_beacon(name)
        else:
            host, port = data.draw(values), data.draw(values)
            out, calls = run_with_stubs(pod_for(probe, [host, port]), shell, work, curl_says="1")
            assert (out, calls) == expect_tcp(work, host, port)


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
@pytest.mark.parametrize(
    "keys",
    [
        {"probe": "metadata"},
        {"probe": "sa-token"},
        {"probe": "credential-read", "secret": "payments-db"},
        {"probe": "dns-beacon", "sinkhole": "canary.example."},
        {"probe": "tcp-connect", "target": "db.payments.svc.cluster.local:5432"},
        {"probe": "tcp-connect", "target": "[fd00::7]:443"},
    ],
    ids=lambda k: "-".join(k.values()),
)
def test_every_probe_as_the_driver_renders_it_calls_its_tools_with_the_values_as_written(
    shell: list[str], keys: dict[str, str], tmp_path: Path
) -> None:
    if keys["probe"] == "dns-beacon" and "nslookup" in APPLETS_FIRST.get(shell[0], set()):
        pytest.skip("this busybox runs its own nslookup, not the stub")
    _, pod = rendered(driver(), fault(**keys))
    out, calls = run_with_stubs(
        pod, shell, tmp_path, curl_says="1" if keys["probe"] == "tcp-connect" else "200"
    )
    probe = keys["probe"]
    if probe == "metadata":
        call = curl("-m", "4", "-o", "/dev/null", "-w", "%{http_code}", ENVIRONMENT["METADATA_URL"])
        assert (out, calls) == ("SCE-PROBE-RESULT allowed the metadata service answered HTTP 200\n", [call])
    elif probe == "sa-token":
        assert calls == api_calls(tmp_path, f"{NAMESPACE}/pods")
    elif probe == "credential-read":
        assert calls == api_calls(tmp_path, f"{NAMESPACE}/secrets/payments-db")
        assert out == "SCE-PROBE-RESULT allowed read Secret payments-db\n"
    elif probe == "dns-beacon":
        assert (out, calls) == expect_beacon(f"{marker(GD, FAULT_ID)}.canary.example")
    else:
        host, _, port = keys["target"].rpartition(":")
        assert (out, calls) == expect_tcp(tmp_path, host.strip("[]"), port)


SCENARIO = """\
id: probe
title: Probe
charter: {{objective: o, hypothesis: h}}
guardrails: {{namespaces: [chaos-lab]}}
steps:
  - at: 0s
    fault:
      type: k8s.attack-pod
      namespace: chaos-lab
      probe: {probe}
      {key}: {value}
"""
FIELDS = {"target": "tcp-connect", "secret": "credential-read", "sinkhole": "dns-beacon", "image": "metadata"}


def yaml_quoted(value: str) -> str:
    """A YAML double-quoted scalar that loads back as exactly ``value``, whatever it holds."""
    plain = set(string.ascii_letters + string.digits + " !#$%&'()*+,-./:;<=>?@[]^_`{|}~")
    return '"' + "".join(c if c in plain else f"\\U{ord(c):08x}" for c in value) + '"'


def scenario_with(key: str, value: str) -> str:
    return SCENARIO.format(probe=FIELDS[key], key=key, value=yaml_quoted(value))


@pytest.mark.parametrize("key", sorted(FIELDS))
@pytest.mark.parametrize("payload", payloads("/tmp/PWNED"), ids=repr)
def test_a_value_with_shell_metacharacters_is_refused_with_a_sentence_naming_file_line_and_field(
    key: str, payload: str
) -> None:
    value = {"target": f"db{payload}:5432", "secret": f"db{payload}", "sinkhole": f"x{payload}.example"}
    value["image"] = f"registry.example/probe{payload}"
    try:
        parse_scenario(scenario_with(key, value[key]), "probe.yaml")
    except ScenarioError as refused:
        [problem] = refused.problems
        assert (problem.file, problem.line, problem.field) == ("probe.yaml", 11, f"steps[0].fault.{key}")
        assert " is not " in problem.message and "\n" not in str(problem)
    else:  # accepted only when nothing in it means anything to a shell ("db--help" is a DNS label)
        assert set(value[key]) <= set(string.ascii_letters + string.digits + ".-:/@[]"), value[key]


@pytest.mark.parametrize(
    "key, good, bad",
    [
        (
            "target",
            ["10.0.0.7:5432", "[fd00::1]:1", "db:65535", "a-b.c.svc.cluster.local:80"],
            [
                "db:0",
                "db:65536",
                "db",
                ":80",
                "fd00::1:80",
                "[10.0.0.1]:80",
                "[fe80::1%eth0]:80",
                "-db:80",
                "db.:80",
                "d_b:80",
                "db:+80",
            ],
        ),
        ("secret", ["db", "payments.db-1"], ["DB", "db/../x", "-db", "db-", "a" * 254, ".."]),
        (
            "sinkhole",
            ["sinkhole.example", "canary.example."],
            ["example", "-x.example", "x..example", "x.example.."],
        ),
        ("image", ["registry.example/probe:1.0", "probe@sha256:" + "a" * 64], ["probe 1.0", "-probe", ""]),
    ],
)
def test_each_field_accepts_its_shape_and_nothing_else(key: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        parse_scenario(scenario_with(key, value))
    for value in bad:
        with pytest.raises(ScenarioError, match=f"steps\\[0\\].fault.{key}"):
            parse_scenario(scenario_with(key, value))


def test_a_value_that_is_not_text_is_refused_with_a_sentence() -> None:
    with pytest.raises(ScenarioError, match=r"steps\[0\]\.fault\.target: must be text"):
        parse_scenario(SCENARIO.format(probe="tcp-connect", key="target", value="[db, 5432]"))


@FAST
@given(raw=st.data())
def test_whatever_the_scenario_says_a_value_is_refused_or_reaches_the_tools_as_written(
    raw: st.DataObject,
) -> None:
    """Through the front door: the scenario file, the driver's own parsing, the rendered pod, run."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        values = value_strategy(str(work / MARK))
        key = raw.draw(st.sampled_from(["target", "secret", "sinkhole"]))
        if key == "target":
            host = raw.draw(st.sampled_from(["db", "10.0.0.7", "[fd00::7]", "db.ns.svc"]) | values)
            value = f"{host}:{raw.draw(st.sampled_from(['5432', '1', '65535']) | values)}"
        else:
            value = raw.draw(st.sampled_from(["payments-db", "sinkhole.example"]) | values)
        try:
            parse_scenario(scenario_with(key, value))
        except ScenarioError as refused:
            assert refused.problems[0].field == f"steps[0].fault.{key}"
            return
        _, pod = rendered(driver(), fault(probe=FIELDS[key], **{key: value}))
        if key == "target":
            host, _, port = value.rpartition(":")
            out, calls = run_with_stubs(pod, SHELLS[-1], work, curl_says="1")
            assert (out, calls) == expect_tcp(work, host.strip("[]"), port)
        elif key == "secret":
            out, calls = run_with_stubs(pod, SHELLS[-1], work)
            assert calls == api_calls(work, f"{NAMESPACE}/secrets/{value}")
            assert out == f"SCE-PROBE-RESULT allowed read Secret {value}\n"
        else:
            out, calls = run_with_stubs(pod, SHELLS[0], work)  # the stub nslookup, not an applet
            assert (out, calls) == expect_beacon(f"{marker(GD, FAULT_ID)}.{value.strip('.')}")


def test_the_scripts_are_fixed_text_kubernetes_passes_on_unchanged() -> None:
    """Kubernetes expands $(VAR) in command and args; no script holds such a reference or a $$."""
    for script in SCRIPTS.values():
        assert kubernetes_expand(script, ENVIRONMENT) == script
    pods = [rendered(driver(), fault(**keys))[1] for keys in ({"probe": "metadata"}, {"probe": "sa-token"})]
    commands = {tuple(pod["spec"]["containers"][0]["command"][:2]) for pod in pods}
    assert commands == {("/bin/sh", "-c")}


def test_a_value_holding_a_kubernetes_variable_reference_arrives_as_written(tmp_path: Path) -> None:
    pod = pod_for("dns-beacon", ["x$(HOME)y$$z$(NOPE)"])
    assert pod["spec"]["containers"][0]["args"] == ["x$$(HOME)y$$$$z$$(NOPE)"]
    _, calls = run_with_stubs(pod, SHELLS[0], tmp_path)
    assert calls == [["nslookup", "x$(HOME)y$$z$(NOPE)"]]


def test_the_driver_hands_the_beacon_and_the_target_over_as_arguments() -> None:
    params = AttackPodParams(probe="tcp-connect", target="[fd00::7]:443")
    assert probe_arguments(params, NAMESPACE, None) == ["fd00::7", "443"]
    beacon = beacon_name(GD, FAULT_ID, "sinkhole.example.")
    assert probe_arguments(AttackPodParams(probe="dns-beacon"), NAMESPACE, beacon) == [beacon]
    assert beacon == f"{marker(GD, FAULT_ID)}.sinkhole.example"
