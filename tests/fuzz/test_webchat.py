"""Generated web chat requests through the real app (ASGI, over SQLite and PostgreSQL): bodies
around and far past their limit (declared or streamed), numbers past any id, bidirectional
controls, malformed JSON and forms.

Invariants, after every request: never a 5xx; every refusal is the JSON error shape with a
catalog text; a body past its route's limit is 413; an id query is answered 200 exactly when
it is a 64-bit row id. At the end: no outbox text, request text or name holds a bidirectional
control. Replay a failure with `REDGRID_FUZZ_SEED=<seed> pytest tests/fuzz/test_webchat.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.core.flood import FloodGate
from bot.web.auth import CSRF_HEADER
from bot.web.throttle import AddressLimiter
from models import OutboxMessage, Person, Request
from tests.conftest import Clock, TestDB
from tests.fuzz import strategies as gen
from tests.fuzz.conftest import FIGURES, FIXED_SEED, RANDOM_SEED
from tests.web.conftest import Web, open_web

STEPS = int(os.environ.get("REDGRID_FUZZ_WEB_STEPS", "16"))
EXAMPLES = int(os.environ.get("REDGRID_FUZZ_WEB_EXAMPLES", "30"))
LIMIT = 64 * 1024
MAX_ID = 2**63 - 1
KINDS = ["text", "text", "command", "button", "location", "json", "after", "events"]
KINDS += ["oversize", "oversize", "photo"]
BIDI_TEXT = st.lists(
    st.one_of(gen.text(), st.sampled_from(sorted(gen.BIDI))), min_size=1, max_size=4
).map("".join)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for start in range(0, total, 32 * 1024):
        yield b" " * min(32 * 1024, total - start)


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


class WebFuzz:
    """One example: a session, and requests drawn one by one."""

    def __init__(self, web: Web, data: st.DataObject, csrf: str) -> None:
        self.web, self.data, self.csrf = web, data, csrf
        self.keys = 0
        self.log: list[str] = []

    def key(self) -> str:
        self.keys += 1
        return f"fuzz-{id(self):x}-{self.keys:04d}"

    async def post_json(self, body: Any) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False, allow_nan=True).encode()
        self.log.append(f"POST /api/send {content[:200]!r} ({len(content)} bytes)")
        response = await self.web.client.post(
            "/api/send",
            content=content,
            headers={CSRF_HEADER: self.csrf, "content-type": "application/json"},
        )
        if len(content) > LIMIT:
            self.check(response.status_code == 413, "a body past its limit was not refused")
        return response

    async def step(self) -> httpx.Response:
        draw = self.data.draw
        kind = draw(st.sampled_from(KINDS), label="kind")
        if kind in ("text", "command"):
            text = draw(BIDI_TEXT, label="text")
            text = text if kind == "text" else "/" + text
            return await self.post_json({"key": self.key(), "kind": "text", "text": text})
        if kind == "button":
            data = draw(gen.garbage_data(["menu", "st", "cm", "cp", "new"]), label="data")
            return await self.post_json({"key": self.key(), "kind": "button", "data": data})
        if kind == "location":
            lat, lon = draw(gen.location(), label="location")
            body = {"key": self.key(), "kind": "location", "latitude": lat, "longitude": lon}
            return await self.post_json(body)
        if kind == "json":
            return await self.post_json(draw(_json(), label="json"))
        if kind in ("after", "events"):
            return await self.read(kind, draw(gen.id_text(), label="id"))
        if kind == "oversize":
            return await self.oversize(draw(gen.body_size()), draw(st.booleans(), label="stream"))
        return await self.photo(draw(st.binary(max_size=64), label="photo"))

    async def read(self, kind: str, value: str) -> httpx.Response:
        self.log.append(f"GET {kind} {value!r}")
        if kind == "after":
            response = await self.web.client.get("/api/messages", params={"after": value})
            self.check((response.status_code == 200) == _is_id(value), "after= misjudged")
            return response
        if _is_id(value.strip()) or not value.strip():
            # An id (or none: from the start) opens an endless stream: tested elsewhere.
            return httpx.Response(200)
        header = value.encode("utf-8")
        request = self.web.client.get("/api/events", headers={"last-event-id": header})
        response = await asyncio.wait_for(request, 10)
        self.check(response.status_code in (400, 422), "Last-Event-ID misjudged")
        return response

    async def oversize(self, size: int, stream: bool) -> httpx.Response:
        self.log.append(f"POST /api/send {size} bytes, streamed={stream}")
        content = _chunks(size) if stream else b" " * size
        response = await self.web.client.post(
            "/api/send", content=content, headers={CSRF_HEADER: self.csrf}
        )
        if size > LIMIT:
            self.check(response.status_code == 413, "a body past its limit was not refused")
        return response

    async def photo(self, head: bytes) -> httpx.Response:
        prefix = self.data.draw(st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]))
        size = self.data.draw(st.sampled_from([0, 100, 2**20, 2**20 + 70 * 1024]), label="size")
        self.log.append(f"POST /api/photo {prefix + head!r} + {size} bytes")
        return await self.web.client.post(
            "/api/photo",
            files={"file": ("p.jpg", prefix + head + b"\x00" * size, "image/jpeg")},
            data={"key": self.key()},
            headers={CSRF_HEADER: self.csrf},
        )

    def check(self, condition: bool, message: str) -> None:
        FIGURES.invariants += 1
        if not condition:
            FIGURES.failures += 1
            raise AssertionError(f"{message}; last requests:\n  " + "\n  ".join(self.log[-5:]))

    def check_answer(self, response: httpx.Response) -> None:
        self.check(response.status_code < 500, f"answered {response.status_code}")
        if response.status_code >= 400:
            body = response.json()
            self.check(
                isinstance(body.get("error"), str) and bool(body["error"]) and "code" in body,
                "a refusal without the JSON error shape",
            )


def _json() -> st.SearchStrategy[Any]:
    """Any JSON: scalars, huge numbers, nesting, and almost-valid message bodies."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        gen.short_text(),
    )
    almost = st.fixed_dictionaries(
        {"key": st.one_of(st.just("fuzz-key-0001"), gen.short_text()), "kind": scalars},
        optional={"text": scalars, "data": scalars, "latitude": scalars, "message_id": scalars},
    )
    nested = st.recursive(
        scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
    )
    return st.one_of(almost, nested)


async def _check_end(fuzz: WebFuzz) -> None:
    async with fuzz.web.db.sessions() as db:
        texts = [row.payload.get("text", "") for row in await db.scalars(select(OutboxMessage))]
        texts += list(await db.scalars(select(Request.description)))
        texts += list(await db.scalars(select(Person.display_name)))
    fuzz.check(not any(gen.BIDI.intersection(t) for t in texts), "a bidi control was stored")


async def _run(web: Web, data: st.DataObject) -> None:
    FIGURES.examples += 1
    state = web.app.state.web
    state.engine.flood = FloodGate(0)  # flood control has tests of its own
    # Each example is a new visitor from the same address; the limit on new sessions per
    # address has tests of its own, and a rerun of a failing example must not trip it.
    state.limiter = AddressLimiter(state.settings.webchat.sessions_per_hour)
    fuzz = WebFuzz(web, data, str((await web.start())["csrf"]))
    for _ in range(STEPS):
        response = await fuzz.step()
        FIGURES.updates += 1
        fuzz.check_answer(response)
    await _check_end(fuzz)


@pytest.fixture
async def web(
    demo: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> AsyncIterator[Web]:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    async with open_web(demo, tmp_path / "uploads", clock) as opened:
        yield opened


@pytest.mark.slow
@pytest.mark.parametrize("demo_database", ["sqlite"], indirect=True)
@seed(FIXED_SEED)
@_settings(EXAMPLES)
@given(data=st.data())
async def test_fuzz_web_chat_fixed_seed_sqlite(web: Web, data: st.DataObject) -> None:
    await _run(web, data)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("demo_database", ["postgres"], indirect=True)
@seed(RANDOM_SEED)
@_settings(max(1, EXAMPLES // 4))
@given(data=st.data())
async def test_fuzz_web_chat_random_seed_postgres(web: Web, data: st.DataObject) -> None:
    await _run(web, data)
