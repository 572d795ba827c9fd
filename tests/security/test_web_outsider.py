"""Every web endpoint tried as an outsider (no session, or a forged one): refused, nothing done,
and no secret in any answer."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.web.auth import CSRF_HEADER
from models import ProcessedUpdate
from tests.web.conftest import SECRET, Web, web  # noqa: F401 (the fixture)

# Open to anyone by design: the page, starting a session, the demo list, texts, health (ok or
# not, nothing more). /metrics answers holders of web.metrics_token only (404 without one).
PUBLIC = {
    ("GET", "/"),
    ("GET", "/api/session"),
    ("POST", "/api/session"),
    ("POST", "/api/session/demo"),
    ("GET", "/api/demo-people"),
    ("GET", "/api/i18n"),
    ("GET", "/healthz"),
}


def _routes(app_web: Web) -> list[tuple[str, str]]:
    # FastAPI keeps included routers as such; read their routes, and the app's own.
    from bot.web import chat, ops, sessions

    found = []
    routes = [*app_web.app.routes, *chat.router.routes, *ops.router.routes, *sessions.router.routes]
    for route in routes:
        methods, path = getattr(route, "methods", None), getattr(route, "path", "")
        if methods and not path.startswith("/static"):
            for method in sorted(set(methods) - {"HEAD"}):
                path = path.replace("{name}", "0123456789abcdef.jpg")
                found.append((method, path))
    return sorted(set(found))


async def _processed(app_web: Web) -> int:
    async with app_web.db.sessions() as session:
        count = await session.execute(select(func.count()).select_from(ProcessedUpdate))
        return int(count.scalar_one())


async def test_every_endpoint_refuses_an_outsider(web: Web) -> None:  # noqa: F811
    routes = _routes(web)
    assert ("POST", "/api/send") in routes and ("GET", "/api/messages") in routes
    before = await _processed(web)
    for cookie in (None, "forged.cookie.value"):
        web.client.cookies.clear()
        if cookie:
            web.client.cookies.set("redgrid_session", cookie)
        for method, path in routes:
            if (method, path) in PUBLIC:
                continue
            response = await web.client.request(
                method,
                path,
                json={"key": "k1", "text": "/start"},
                headers={CSRF_HEADER: "forged"},
            )
            assert response.status_code in (401, 403, 404, 422), (method, path, response.text)
            assert SECRET not in response.text
    assert await _processed(web) == before


async def test_public_answers_hold_no_secret(web: Web) -> None:  # noqa: F811
    for method, path in sorted(PUBLIC):
        if method != "GET":
            continue
        response = await web.client.get(path)
        assert SECRET not in response.text, path
        assert "session_secret" not in response.text, path
