"""The one reading of an outbound URL (http and webhook steps, and every redirect they are sent).

A URL is checked when the scenario is read and again when the call is made, and the request is built
from the parts this module returns, so the HTTP library never gets a chance to read the URL otherwise.
Anything two parsers could read differently is refused rather than guessed: backslashes, whitespace
and control characters, user names, percent-encoded or non-ASCII hosts, IPv4 addresses written in
other forms than four decimal numbers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

SCHEMES = {"http": 80, "https": 443}
MAX_REDIRECTS = 3  # hops followed, each checked like the first URL
_SHAPE = re.compile(r"(?P<scheme>[^:/?#]*):(?P<slashes>/*)(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_DECIMAL_OCTET = re.compile(r"0|[1-9][0-9]{0,2}")


class UrlRefused(ValueError):
    """A URL that is not sent; the message is one sentence that never repeats the URL itself."""


@dataclass(frozen=True)
class CheckedUrl:
    """A URL as it will be connected to: scheme, host (lower case, no trailing dot), port, path."""

    scheme: str
    host: str  # a DNS name, a dotted IPv4 address, or an IPv6 address without brackets
    port: int
    target: str  # path and query as written ("/" when empty); the fragment is never sent

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if SCHEMES[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def parse_url(url: str) -> CheckedUrl:
    """Read ``url`` strictly; UrlRefused (a sentence) for anything ambiguous."""
    if not isinstance(url, str) or not url:
        raise UrlRefused("the URL is empty")
    if "\\" in url:
        raise UrlRefused("the URL contains a backslash, which parsers read differently; use /")
    for ch in url:
        if ch.isspace():
            raise UrlRefused("the URL contains whitespace; percent-encode it (%20)")
        if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            raise UrlRefused(f"the URL contains the control character U+{ord(ch):04X}")
        if ord(ch) > 0x7E:
            raise UrlRefused(
                f"the URL contains the non-ASCII character U+{ord(ch):04X}; hosts must be plain "
                "ASCII (no lookalikes) and paths percent-encoded"
            )
    shape = _SHAPE.fullmatch(url)
    scheme = shape.group("scheme").lower() if shape else ""
    if not shape or scheme not in SCHEMES:
        raise UrlRefused("the URL must start with http:// or https://")
    if shape.group("slashes") != "//":
        raise UrlRefused(f"the URL must start with {scheme}:// (exactly two slashes)")
    authority = shape.group("authority")
    if "@" in authority:
        raise UrlRefused("the URL carries a user name or password (user@ or user:pass@); it is never sent")
    if "$" in authority:
        raise UrlRefused(
            "the URL's host must be written out; ${env:NAME} may appear only in its path and query"
        )
    if "%" in authority:
        raise UrlRefused("the URL's host is percent-encoded; write the host out")
    host, port = _split_host_port(authority, SCHEMES[scheme])
    target = shape.group("rest").split("#", 1)[0] or "/"
    if not target.startswith("/"):
        target = "/" + target
    return CheckedUrl(scheme, host, port, target)


def check_host(written: str) -> str:
    """A host name as compared with guardrails.hosts: lower case, one trailing dot dropped."""
    host = written.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise UrlRefused("the URL has no host")
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise UrlRefused("the URL's host is not a valid IPv6 address") from None
        return str(address)
    labels = host.split(".")
    if _NUMERIC.fullmatch(labels[-1]):  # the WHATWG rule: a numeric last label makes it an IPv4 address
        if len(labels) != 4 or not all(_DECIMAL_OCTET.fullmatch(label) for label in labels):
            raise UrlRefused(
                "the URL's host is an IPv4 address in an unusual form (short, octal, hex or one "
                "number); write it as four decimal numbers, like 127.0.0.1"
            )
        if any(int(label) > 255 for label in labels):
            raise UrlRefused("the URL's host is not a valid IPv4 address (a part is over 255)")
        return host
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UrlRefused(
            "the URL's host must be letters, digits, '-' and '.' (IDNA names written as xn--...)"
        )
    return host


def _split_host_port(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise UrlRefused("the URL's IPv6 host has no closing ]")
        host_part, after = authority[: end + 1], authority[end + 1 :]
        if after and not after.startswith(":"):
            raise UrlRefused("the URL has characters after its IPv6 host")
        port_part = after[1:] if after else None
    else:
        host_part, sep, port_part_text = authority.partition(":")
        port_part = port_part_text if sep else None
    host = check_host(host_part)
    if port_part is None:
        return host, default_port
    if not port_part.isdigit() or not port_part.isascii() or len(port_part) > 5:
        raise UrlRefused("the URL's port must be a number from 1 to 65535")
    port = int(port_part)
    if not 1 <= port <= 65535:
        raise UrlRefused("the URL's port must be a number from 1 to 65535")
    return host, port


def allowed_host_names(hosts: Iterable[str]) -> frozenset[str]:
    """guardrails.hosts as compared: each entry read by the same host rule."""
    return frozenset(check_host(host) for host in hosts)


def check_url(url: str, hosts: Iterable[str]) -> CheckedUrl:
    """``url`` read strictly, and its host one of ``hosts`` exactly (case and a trailing dot aside)."""
    checked = parse_url(url)
    allowed = allowed_host_names(hosts)
    if checked.host not in allowed:
        shown = ", ".join(sorted(allowed)) or "none"
        raise UrlRefused(f"{checked.host} is not in guardrails.hosts ({shown}); add it there first")
    return checked


def redirect_target(current: CheckedUrl, location: str, hosts: Iterable[str]) -> CheckedUrl:
    """Where a redirect points, resolved against the URL that answered and checked like any URL."""
    origin = current.url[: len(current.url) - len(current.target)]
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", location):
        absolute = location
    elif location.startswith("//"):
        absolute = f"{current.scheme}:{location}"
    elif location.startswith("/"):
        absolute = origin + location
    else:
        folder = current.target.split("?", 1)[0].rsplit("/", 1)[0]
        absolute = f"{origin}{folder}/{location}"
    return check_url(absolute, hosts)
