"""Web chat sessions: a signed, httpOnly cookie bound to one channel identity of a person.

The cookie is `base64url(json) "." base64url(HMAC-SHA256)`; it names the channel ("webchat",
or "demo" for a demo person), the chat and user ids, the person (None until their first
message makes one: starting a session writes nothing), the person's session epoch when issued
(raising it ends every session of theirs: sign out, `redgrid sessions revoke`), their roles when
issued (a change of roles re-issues the cookie) and a CSRF token. Every request checks the
person, the epoch and demo mode against the database (bot/web/state.py). Every POST must carry
the CSRF token in the `X-Redgrid-CSRF` header (double submit: a cross-site form can neither
read it nor set the header). A session is made by POST with the header set, so no other site
can swap it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from models import utcnow

log = logging.getLogger(__name__)

COOKIE = "redgrid_session"
CSRF_HEADER = "X-Redgrid-CSRF"
DAY_S = 24 * 3600
SECRET_FILE = Path("data/webchat-session.key")


class BadSession(Exception):
    """The cookie is missing, forged or expired; `code` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class WebSession:
    """Who a browser is: the channel identity its messages come from."""

    channel: str
    chat_id: str
    user_id: str
    person_id: int | None
    epoch: int
    roles: tuple[str, ...]
    csrf: str
    issued_at: int

    @property
    def chat(self) -> tuple[str, str]:
        return (self.channel, self.chat_id)


def load_secret(settings: Settings, *, path: Path = SECRET_FILE) -> bytes:
    """The configured session secret, else one generated once and kept in `path` (mode 0600)."""
    configured = settings.webchat.session_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    log.info("web chat: generated a session secret in %s", path)
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and checks session cookies; the clock is injectable so expiry is testable."""

    def __init__(
        self,
        secret: bytes,
        *,
        max_age_s: int = 30 * DAY_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._key = hashlib.sha256(b"redgrid.webchat.session|" + secret).digest()
        self.max_age_s = max_age_s
        self._clock = clock

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(
        self,
        *,
        channel: str,
        chat_id: str,
        user_id: str,
        person_id: int | None,
        epoch: int = 0,
        roles: tuple[str, ...] = (),
        csrf: str | None = None,
    ) -> tuple[WebSession, str]:
        """A session and its cookie value; a fresh CSRF token unless one is given."""
        session = WebSession(
            channel=channel,
            chat_id=chat_id,
            user_id=user_id,
            person_id=person_id,
            epoch=epoch,
            roles=tuple(sorted(roles)),
            csrf=csrf or secrets.token_urlsafe(24),
            issued_at=int(self._clock().timestamp()),
        )
        data = asdict(session)
        data["roles"] = list(session.roles)
        body = _b64(json.dumps(data, separators=(",", ":")).encode())
        return session, f"{body}.{self._sign(body)}"

    def read(self, value: str | None) -> WebSession:
        """The session in a cookie value; BadSession('missing' | 'forged' | 'expired')."""
        if not value:
            raise BadSession("missing")
        body, _, signature = value.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(body)):
            raise BadSession("forged")
        try:
            data: dict[str, Any] = json.loads(_unb64(body))
            session = WebSession(
                channel=str(data["channel"]),
                chat_id=str(data["chat_id"]),
                user_id=str(data["user_id"]),
                person_id=None if data["person_id"] is None else int(data["person_id"]),
                epoch=int(data["epoch"]),
                roles=tuple(str(r) for r in data["roles"]),
                csrf=str(data["csrf"]),
                issued_at=int(data["issued_at"]),
            )
        except (ValueError, KeyError, TypeError):
            raise BadSession("forged") from None
        age = self._clock().timestamp() - session.issued_at
        if age > self.max_age_s or age < -300:
            raise BadSession("expired")
        return session


def csrf_ok(session: WebSession, header: str | None) -> bool:
    """True when the request carries the session's CSRF token."""
    return bool(header) and hmac.compare_digest(str(header), session.csrf)
