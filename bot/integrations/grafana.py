"""The team's Grafana, through its HTTP API: ``POST /api/annotations`` and ``GET /api/annotations``.

Shapes from Grafana's published OpenAPI description (``public/openapi3.json``, operations
``postAnnotation`` and ``getAnnotations``): the body is a ``PostAnnotationsCmd`` (``text`` required;
``time`` and ``timeEnd`` in epoch milliseconds, ``tags``, ``dashboardUID``), the answer a
``postAnnotationResponse`` (``id``, ``message``), an error an ``ErrorResponseBody`` (``message``).

The URL is the operator's (``SCE_GRAFANA_URL``), the token a service account's (``SCE_GRAFANA_TOKEN``),
sent as ``Authorization: Bearer``. Calls are bounded (a timeout, answers of at most 64 KiB), redirects are
never followed (a token must not travel to another host), and every failure is a ``GrafanaError`` of one
sentence that never holds the token.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

MAX_ANSWER_BYTES = 64 * 1024
SAID_MAX = 200  # characters of Grafana's own message repeated in a sentence


class GrafanaError(Exception):
    """Why Grafana did not do it, in one sentence. ``reachable`` False: it did not answer at all."""

    def __init__(self, sentence: str, reachable: bool = True):
        super().__init__(sentence)
        self.reachable = reachable


def shown_url(url: str) -> str:
    """The URL as a sentence may show it: without any user or password written into it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Grafana:
    def __init__(self, base_url: str, token: str | None, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.shown = shown_url(self.base_url)
        self._token = token
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # the operator's URL, not the environment's proxies or .netrc

    def __repr__(self) -> str:  # never the token, whatever prints this object
        return f"Grafana({self.shown!r})"

    def create_annotation(self, body: dict[str, Any]) -> int:
        """``POST /api/annotations``; the new annotation's id."""
        answer = self._call("POST", "/api/annotations", json=body)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise GrafanaError("Grafana took the annotation but its answer has no id (not its API's answer)")
        return int(answer["id"])

    def find_annotation(self, tags: list[str]) -> int | None:
        """``GET /api/annotations?tags=...``: the id of one annotation carrying all these tags, if any."""
        params: list[tuple[str, str | int]] = [("type", "annotation"), ("limit", 1)]
        params += [("tags", tag) for tag in tags]
        answer = self._call("GET", "/api/annotations", params=params)
        if not isinstance(answer, list):
            raise GrafanaError("Grafana's list of annotations is not a list (not its API's answer)")
        ids = [
            item.get("id") for item in answer if isinstance(item, dict) and isinstance(item.get("id"), int)
        ]
        return ids[0] if ids else None

    def _call(self, method: str, path: str, **kwargs: Any) -> object:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self.session.request(
                method,
                self.base_url + path,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                **kwargs,
            ) as response:
                raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
                status = response.status_code
        except requests.Timeout:
            raise GrafanaError(
                f"Grafana at {self.shown} did not answer within {self.timeout:g} s", reachable=False
            ) from None
        except requests.RequestException:
            raise GrafanaError(
                f"cannot reach Grafana at {self.shown}: the connection was refused or dropped",
                reachable=False,
            ) from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise GrafanaError("Grafana answered with more than 64 KiB; that is not its annotations API")
        if 300 <= status < 400:
            raise GrafanaError(
                f"Grafana answered {status}, a redirect, which is not followed: set SCE_GRAFANA_URL to "
                "the address its API answers at"
            )
        if status == 401:
            raise GrafanaError("Grafana refused the token (401): check SCE_GRAFANA_TOKEN")
        if status == 403:
            raise GrafanaError("Grafana's token may not write annotations (403): give it the Editor role")
        if status >= 400:
            raise GrafanaError(f"Grafana answered {status}: {self._said(raw)}", reachable=status < 500)
        try:
            return json.loads(raw)
        except ValueError:
            raise GrafanaError(f"Grafana answered {status} with something that is not JSON") from None

    def _said(self, raw: bytes) -> str:
        """Grafana's ``message`` (ErrorResponseBody), short, on one line, without the token."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message.strip():
            return "no message"
        text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in message)
        if self._token:
            text = text.replace(self._token, "[token]")
        return " ".join(text.split())[:SAID_MAX]
