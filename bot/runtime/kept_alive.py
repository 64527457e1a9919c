"""The Web API client on kept-alive connections.

slack_sdk's WebClient opens a new TCP (and TLS) connection for every call: urllib closes each one.
Every post, update and reaction paid a connect and, against Slack, a TLS handshake. Here the one step
that sends the request goes through a urllib3 pool instead, and everything around it stays the SDK's:
the request it builds, its retry handlers, its errors. What urllib would raise is raised:

- a status outside 2xx: ``HTTPError`` with the headers and the body, so a 429's Retry-After is read;
- a connection that cannot be made, or is dropped: ``URLError`` or the ``OSError`` urllib sees, so the
  SDK's connection-error handler retries it once (a kept connection the server closed meanwhile);
- a timeout: ``TimeoutError``.

A proxy (``proxy=``) keeps the SDK's own path.
"""

from __future__ import annotations

import http.client
import io
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request

import urllib3
from slack_sdk import WebClient
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as PoolTimeout

POOL_SIZE = 8  # kept connections per host: the timer lanes, follow-ups, status line and listener threads


class KeptAliveWebClient(WebClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pool = urllib3.PoolManager(
            num_pools=2, maxsize=POOL_SIZE, block=False, retries=False, ssl_context=self.ssl
        )

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or not url.lower().startswith(("http://", "https://")):
            return super()._perform_urllib_http_request_internal(url, req)  # the SDK's checks and errors
        try:
            response = self.pool.request(
                req.get_method(),
                url,
                body=req.data,  # type: ignore[arg-type]  # bytes, as the SDK builds it
                headers=dict(req.header_items()),
                timeout=self.timeout,
                preload_content=True,
            )
        except NewConnectionError as exc:
            raise URLError(exc) from exc
        except PoolTimeout as exc:  # NewConnectionError is one too: it comes first
            raise TimeoutError(str(exc)) from exc
        except ProtocolError as exc:  # ('Connection aborted.', RemoteDisconnected(...)) and the like
            cause = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], OSError) else None
            raise (cause or URLError(exc)) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise URLError(exc) from exc
        headers = http.client.HTTPMessage()
        for name, value in response.headers.items():
            headers[name] = value
        if not 200 <= response.status < 300:
            raise HTTPError(url, response.status, response.reason or "", headers, io.BytesIO(response.data))
        if headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": headers, "body": response.data}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": headers, "body": response.data.decode(charset)}
