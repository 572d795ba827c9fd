"""`/healthz` and `/metrics`: for operators and monitors; they never show a secret.

To the public `/healthz` says `{"ok": true|false}` (200 / 503) and nothing more; holders of
`web.metrics_token` (`Authorization: Bearer ...`) get the details and `/metrics`, which
answers 404 while no token is configured. `local_router` serves both, in full, on the
loopback-only `web.metrics_port`.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from bot.core.outage import TRANSIENT_ERRORS
from bot.outbox import backlog
from bot.web.state import WebState, get_state
from models import OutboxMessage, OutboxStatus, utcnow

router = APIRouter()
local_router = APIRouter()

# The outbox statuses /metrics always reports, at 0 when no row has them.
REPORTED = (
    OutboxStatus.pending,
    OutboxStatus.sending,
    OutboxStatus.sent,
    OutboxStatus.failed,
    OutboxStatus.unreachable,
)


def is_operator(request: Request) -> bool:
    """The caller holds `web.metrics_token` (compared in constant time)."""
    token = get_state(request).settings.web.metrics_token
    if token is None:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())


async def health(state: WebState) -> tuple[bool, dict[str, Any]]:
    """Database reachable, outbox backlog, last sweep time, background parts' state."""
    sweep = state.metrics.last_sweep_at
    body: dict[str, Any] = {"last_sweep_at": sweep.isoformat() if sweep else None}
    body.update({name: part.describe() for name, part in state.metrics.parts.items()})
    try:
        async with state.sessions() as db:
            await db.execute(text("SELECT 1"))
            body["outbox"] = await backlog(db, now=utcnow())
    except TRANSIENT_ERRORS as exc:
        # The error text may hold the database URL: name only its type.
        state.metrics.count_error("health_database")
        body.update(ok=False, database="unreachable", error=type(exc).__name__)
        return False, body
    body.update(ok=True, database="ok")
    return True, body


async def metrics_text(state: WebState) -> PlainTextResponse:
    """Prometheus text: updates, errors, HTTP responses by status, outbox rows by status."""
    counts: dict[str, int] = {}
    oldest_due: float | None = None
    try:
        async with state.sessions() as db:
            result = await db.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            counts = {str(status): int(count) for status, count in result}
            oldest_due = (await backlog(db, now=utcnow()))["oldest_due_age_s"]
    except TRANSIENT_ERRORS:
        state.metrics.count_error("metrics_database")
    for status in REPORTED:
        counts.setdefault(status.value, 0)
    body = state.metrics.render(outbox=counts, oldest_due_age_s=oldest_due)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """ok or not (200 / 503); the details only to holders of the metrics token."""
    ok, details = await health(get_state(request))
    body = details if is_operator(request) else {"ok": ok}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text for holders of the metrics token; 404 while none is configured."""
    state = get_state(request)
    if state.settings.web.metrics_token is None:
        return Response(status_code=404)
    if not is_operator(request):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return await metrics_text(state)


@local_router.get("/healthz")
async def local_healthz(request: Request) -> JSONResponse:
    """The details, on the loopback-only metrics port."""
    ok, details = await health(get_state(request))
    return JSONResponse(details, status_code=200 if ok else 503)


@local_router.get("/metrics")
async def local_metrics(request: Request) -> PlainTextResponse:
    """Prometheus text, on the loopback-only metrics port."""
    return await metrics_text(get_state(request))
