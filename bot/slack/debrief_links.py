"""Links to a game day's HTML debrief, made for one Slack user and for a while.

The page asks for no login: the link is the credential, and the server checks it again at every view. A
link is ``<SCE_PUBLIC_URL>/debriefs/<game day id>?t=<expires>.<user>.<signature>``, the signature an
HMAC-SHA256 over the game day, the user and the expiry. Its key is derived from SLACK_SIGNING_SECRET, so
every replica that shares that secret accepts the links of every other; without a signing secret (Socket
Mode may run without one) the key is random per process, and a link then works only on the process that
made it, until that process restarts. A link proves who it was made for, never that they may still see
the game day: the page asks Slack again (``bot.slack.debrief_pages``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable

from bot.config import Settings

log = logging.getLogger(__name__)
LINK_TTL = 3600.0
"""Seconds a link works: long enough to read and share a screen, short enough that a link pasted
somewhere it should not be soon stops working."""
PATH = "/debriefs/"
_LABEL = b"sce debrief links v1"  # the signing secret is never used as it is: this key is for links only
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?")
_GAMEDAY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_USER = re.compile(r"[A-Z0-9]{1,32}")
_EXPIRES = re.compile(r"[0-9]{1,12}")


def valid_gameday_id(text: str) -> bool:
    """The shape of a game day id (``gd-1a2b3c4d``): nothing else ever reaches the store from a URL."""
    return _GAMEDAY_ID.fullmatch(text) is not None


class DebriefLinks:
    def __init__(
        self,
        key: bytes,
        base_url: str | None,
        now: Callable[[], float] = time.time,
        ttl: float = LINK_TTL,
    ):
        """``base_url``: where people reach the bot's HTTP port (SCE_PUBLIC_URL); None makes no links."""
        self._key = key
        self.base_url = base_url
        self.now = now
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings: Settings, now: Callable[[], float] = time.time) -> DebriefLinks:
        if settings.slack_signing_secret:
            key = hmac.new(settings.slack_signing_secret.encode(), _LABEL, hashlib.sha256).digest()
        else:
            key = secrets.token_bytes(32)
            if settings.public_url:
                log.warning(
                    "SLACK_SIGNING_SECRET is not set: debrief links are signed with a key of this process "
                    "only, so they work on this replica until it restarts"
                )
        return cls(key, public_base_url(settings.public_url), now)

    @classmethod
    def unlinked(cls) -> DebriefLinks:
        """No public address, a random key: links are neither made nor accepted from anyone else."""
        return cls(secrets.token_bytes(32), None)

    def url(self, gameday_id: str, user: str) -> str | None:
        """A link for ``user`` to the game day's HTML debrief; None when the bot has no public address."""
        if self.base_url is None:
            return None
        return f"{self.base_url}{PATH}{gameday_id}?t={self.token(gameday_id, user)}"

    def token(self, gameday_id: str, user: str, issued_at: float | None = None) -> str:
        expires = int((self.now() if issued_at is None else issued_at) + self.ttl)
        return f"{expires}.{user}.{self._sign(gameday_id, user, str(expires))}"

    def holder(self, gameday_id: str, token: str) -> str | None:
        """The user a token was made for, when it is this game day's, unexpired and signed with our key."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expires, user, signature = parts
        if not (_EXPIRES.fullmatch(expires) and _USER.fullmatch(user) and valid_gameday_id(gameday_id)):
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(gameday_id, user, expires).encode()):
            return None
        if int(expires) <= self.now():
            return None
        return user

    def _sign(self, gameday_id: str, user: str, expires: str) -> str:
        message = f"sce-debrief-link:v1\n{gameday_id}\n{user}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_base_url(configured: str | None) -> str | None:
    """SCE_PUBLIC_URL without its trailing slash, when it is a plain http(s) address (no query, no
    credentials, nothing Slack's markup could read as the end of a link); otherwise None, with a warning."""
    if not configured:
        return None
    base = configured.strip().rstrip("/")
    if _BASE_URL.fullmatch(base) is None:
        log.warning("SCE_PUBLIC_URL is not a plain http(s) address; debrief links are off")
        return None
    return base
