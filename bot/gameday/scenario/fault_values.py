"""The shapes of the values a fault step hands to the cluster, checked when the scenario is read.

A value that reaches a probe container is only ever an argument, never shell text (see
bot/faults/attack_pod.py), but a value of the wrong shape has no business there either: a host that is
neither a DNS name nor an IP address, a Secret name with a slash in it. Each check returns None or the
sentence saying what the field must be; the driver runs the same checks again before it renders a pod.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*", re.IGNORECASE)
_PORT = re.compile(r"[0-9]{1,5}")
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}")
MAX_DOMAIN = 230  # a beacon name is the 19-character marker, a dot, then the sinkhole: 253 at most


def shown(value: object) -> str:
    """A value quoted for a sentence: one line, at most about 60 characters."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text ({what}), not {shown(value)}")
    return value


def parse_target(value: object) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for an IPv6 address) as (host, port); ValueError with a sentence."""
    text = _text(value, "host:port")
    wrong = (
        f"{shown(value)} is not host:port: the host must be a DNS name or an IP address "
        "(an IPv6 address in brackets), the port a number from 1 to 65535"
    )
    host, sep, port = text.rpartition(":")
    if not sep or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        raise ValueError(wrong)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host, version=6):
            raise ValueError(wrong)
    elif not (_is_ip(host, version=4) or is_host_name(host)):
        raise ValueError(wrong)
    return host, int(port)


def _is_ip(text: str, version: int) -> bool:
    if "%" in text:  # an IPv6 zone ("fe80::1%eth0") names an interface of the pod's node, not a target
        return False
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def is_host_name(text: str) -> bool:
    """A DNS host name (RFC 1123 labels, any case, no trailing dot), at most 253 characters."""
    return len(text) <= 253 and bool(_HOST_NAME.fullmatch(text))


def target_problem(value: object) -> str | None:
    try:
        parse_target(value)
    except ValueError as exc:
        return str(exc)
    return None


def secret_name_problem(value: object) -> str | None:
    """A Secret's name: a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'), 253 at most."""
    try:
        text = _text(value, "a Secret name")
    except ValueError as exc:
        return str(exc)
    if len(text) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(text):
        return (
            f"{shown(value)} is not a Secret name: lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def domain_problem(value: object) -> str | None:
    """A sinkhole domain: a DNS name of two labels or more (one trailing dot allowed)."""
    try:
        text = _text(value, "a domain such as sinkhole.example.com")
    except ValueError as exc:
        return str(exc)
    name = text[:-1] if text.endswith(".") else text
    if "." not in name or len(name) > MAX_DOMAIN or not is_host_name(name):
        return (
            f"{shown(value)} is not a domain: DNS labels of letters, digits and '-' joined by dots, "
            f"at least two of them, {MAX_DOMAIN} characters at most"
        )
    return None


def image_problem(value: object) -> str | None:
    """An image reference's shape; which images may run is the deployment's SCE_ATTACK_IMAGES."""
    try:
        text = _text(value, "an image reference such as registry.example/probe:1.0")
    except ValueError as exc:
        return str(exc)
    if not _IMAGE.fullmatch(text):
        return f"{shown(value)} is not an image reference (registry/name:tag or name@sha256:digest)"
    return None


Check = Callable[[object], str | None]
CHECKS: dict[str, dict[str, Check]] = {
    "k8s.attack-pod": {
        "target": target_problem,
        "secret": secret_name_problem,
        "sinkhole": domain_problem,
        "image": image_problem,
    },
}


def fault_value_problem(fault_type: str, values: Mapping[str, object]) -> tuple[str, str] | None:
    """The first (key, sentence) of a fault step whose value has the wrong shape; None when all fit."""
    for key, check in CHECKS.get(fault_type, {}).items():
        if values.get(key) is not None:
            problem = check(values[key])
            if problem:
                return key, problem
    return None
