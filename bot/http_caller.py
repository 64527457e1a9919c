"""The HTTP edge for http-probe and webhook steps: plain requests with a short timeout, never a raise."""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)


class RequestsCaller:
    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self.session = requests.Session()

    def call(self, method: str, url: str, body: str | None = None, json: object = None) -> int:
        """The HTTP status, or 0 when nothing answered (refused, timed out, unknown host)."""
        try:
            response = self.session.request(
                method,
                url,
                data=body,
                json=json,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"User-Agent": "sce game day"},
            )
            return response.status_code
        except requests.RequestException as exc:
            log.info("%s %s got no answer: %s", method, url, exc.__class__.__name__)
            return 0
