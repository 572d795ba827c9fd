"""`/healthz` and `/metrics`: for operators and monitors; they never show a secret."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from bot.core.engine import TRANSIENT_ERRORS
from bot.outbox import backlog
from bot.web.state import get_state
from models import OutboxMessage, utcnow

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """Database reachable, outbox backlog, last sweep time; 503 when the database is not."""
    state = get_state(request)
    sweep = state.metrics.last_sweep_at
    body: dict[str, Any] = {"last_sweep_at": sweep.isoformat() if sweep else None}
    try:
        async with state.sessions() as db:
            await db.execute(text("SELECT 1"))
            body["outbox"] = await backlog(db, now=utcnow())
    except TRANSIENT_ERRORS as exc:
        # The error text may hold the database URL: name only its type.
        state.metrics.count_error("health_database")
        body.update(ok=False, database="unreachable", error=type(exc).__name__)
        return JSONResponse(body, status_code=503)
    body.update(ok=True, database="ok")
    return JSONResponse(body)


@router.get("/metrics")
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text: updates, errors, HTTP responses by status, outbox rows by status."""
    state = get_state(request)
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
    for status in ("pending", "sending", "sent", "failed", "unreachable"):
        counts.setdefault(status, 0)
    body = state.metrics.render(outbox=counts, oldest_due_age_s=oldest_due)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
