"""The HTTP edge for http-probe and webhook steps: requests with a short timeout, never a raise.

The URL is read by ``bot/gameday/scenario/outbound_url`` after ``${env:NAME}`` references are
resolved, and the request is sent to the URL rebuilt from what was checked (and checked again once requests
has prepared it). Redirects are followed by hand, each hop checked against the same allow-list; the
environment's proxies and .netrc are ignored, so nothing but the checked host is connected to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from http.cookiejar import DefaultCookiePolicy

import requests

from bot.gameday.running.outbound import CallOutcome, OutboundRequest
from bot.gameday.scenario.outbound_url import (
    MAX_REDIRECTS,
    CheckedUrl,
    UrlRefused,
    check_url,
    parse_url,
    redirect_target,
)
from bot.gameday.scenario.secret_refs import UnsetVariable, resolve, resolve_all

log = logging.getLogger(__name__)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class RequestsCaller:
    def __init__(
        self,
        timeout: float = 5.0,
        env: Mapping[str, str] | None = None,
        referable: frozenset[str] = frozenset(),
    ):
        self.timeout = timeout
        self.env = env  # None: the process environment, read at each call
        self.referable = referable  # SCE_SCENARIO_SECRETS: the only variables a reference may name
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment, no credentials from .netrc
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # nothing carried over

    def call(self, request: OutboundRequest, hosts: list[str]) -> CallOutcome:
        """The HTTP status (0 when nothing answered), and a sentence when the call was stopped."""
        env = os.environ if self.env is None else self.env
        try:
            url = resolve(request.url, env, self.referable)
            headers = {name: resolve(value, env, self.referable) for name, value in request.headers.items()}
            body = resolve(request.body, env, self.referable) if request.body is not None else None
            payload = resolve_all(request.json, env, self.referable) if request.json is not None else None
        except UnsetVariable as exc:
            return CallOutcome(0, str(exc))
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for value in headers.values() for ch in value):
            return CallOutcome(0, "a header's value holds a line break or control character once resolved")
        try:
            target = check_url(url, hosts)
            if target.origin != parse_url(request.url).origin:
                raise UrlRefused("the URL's host must be written out, not come from a reference")
        except UrlRefused as exc:
            return CallOutcome(0, f"url: {exc}")
        method, hops = request.method, list[str]()
        while True:
            try:
                response = self._send(method, target, headers, body, payload)
            except UrlRefused as exc:
                return CallOutcome(0, f"url: {exc}", tuple(hops))
            except requests.RequestException as exc:
                log.info("%s to %s got no answer: %s", method, target.host, exc.__class__.__name__)
                return CallOutcome(0, None, tuple(hops))
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or location is None:
                return CallOutcome(response.status_code, None, tuple(hops))
            response.close()
            shown = location.split("?", 1)[0]
            if len(hops) >= MAX_REDIRECTS:
                return CallOutcome(
                    response.status_code,
                    f"more than {MAX_REDIRECTS} redirects; stopped before {shown}",
                    tuple(hops),
                )
            try:
                following = redirect_target(target, location, hosts)
            except UrlRefused as exc:
                return CallOutcome(
                    response.status_code, f"a redirect to {shown!r} was not followed: {exc}", tuple(hops)
                )
            if following.origin != target.origin:
                headers = {}  # credentials never follow a redirect to another host
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method, body, payload = "GET", None, None
            hops.append(f"{following.url.split('?', 1)[0]}")
            target = following

    def _send(
        self, method: str, target: CheckedUrl, headers: dict[str, str], body: str | None, payload: object
    ) -> requests.Response:
        prepared = self.session.prepare_request(
            requests.Request(
                method,
                target.url,
                data=body,
                json=payload,
                headers={"User-Agent": "sce game day", **headers},
            )
        )
        if parse_url(prepared.url or "").origin != target.origin:  # requests read it otherwise: not sent
            raise UrlRefused("the URL reads differently once prepared; not sent")
        return self.session.send(prepared, timeout=self.timeout, allow_redirects=False)
