"""Huge bodies cost the server nothing: 8 parallel 100 MB posts to the real app, served by
uvicorn in a process of its own, are refused early and its memory does not grow.

The client streams each body from one reused chunk, over a raw connection, and stops once the
answer arrives, so neither side ever holds a body.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from bot.web.auth import CSRF_HEADER
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 100 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)
GROWTH_LIMIT_KB = 8 * 1024
BOUNDARY = "redgrid-boundary"
FORM_HEAD = (
    f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="key"\r\n\r\nphoto-key-0001\r\n'
    f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="p.jpg"\r\n'
    "content-type: image/jpeg\r\n\r\n"
).encode() + b"\xff\xd8\xff\xe0"
# The app as `redgrid run` builds it (migrated SQLite, no Telegram, no sweeps), under uvicorn.
SERVER = """
import asyncio, sys
from bot import migrate, runtime
from bot.config import load_settings
from bot.web.app import create_app, serve

async def main(port: int, folder: str) -> None:
    settings = load_settings(
        database={"url": f"sqlite+aiosqlite:///{folder}/db.sqlite3"},
        web={"port": port},
        webchat={"session_secret": "memory-test", "upload_dir": f"{folder}/uploads"},
        scheduler={"enabled": False},
    )
    parts = runtime.build(settings)
    await migrate.upgrade(parts.db)
    app = create_app(
        engine=parts.engine, sessions=parts.sessions, settings=settings, metrics=parts.metrics
    )
    app.add_middleware(Told)
    await serve(app, settings, asyncio.Event())


class Told:
    # Prints each answer's status: the client may see the connection closed instead.

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def told(message):
            if message["type"] == "http.response.start":
                print("answered", scope["path"], message["status"], flush=True)
            await send(message)

        await self.app(scope, receive, told)

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _frame(data: bytes, chunked: bool) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data


async def _post(port: int, path: str, *, chunked: bool, headers: dict[str, str]) -> int | None:
    """POST a 100 MB body (a form's photo part, for a form); returns the answer's status,
    read as soon as it arrives, or None when the server closed the connection after it
    (closing with body bytes unread resets it, which may discard the answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = "transfer-encoding: chunked" if chunked else f"content-length: {TOTAL}"
    head = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", length]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    if not chunked:  # a declared length is refused before a byte of the body is sent
        await asyncio.wait({answer}, timeout=5)
    frames = [_frame(FORM_HEAD, chunked)] if "multipart" in headers["content-type"] else []
    sent = 0
    try:
        while sent < TOTAL and not answer.done():
            writer.write(frames.pop() if frames else _frame(CHUNK, chunked))
            sent += len(CHUNK)
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.wait({drained, answer}, return_when=asyncio.FIRST_COMPLETED)
            if not drained.done():
                drained.cancel()
            elif drained.exception() is not None:
                break
        status_line = (await asyncio.wait_for(answer, 30)).split(b"\r\n", 1)[0]
    except ConnectionError:
        return None
    finally:
        writer.transport.abort()
    assert sent < TOTAL, "the server read the whole body"
    return int(status_line.split()[1])


def _multipart(csrf: str, cookie: str) -> dict[str, str]:
    return {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        CSRF_HEADER: csrf,
        "cookie": cookie,
    }


async def _session(port: int) -> tuple[str, str]:
    """A resident session: (csrf token, cookie header)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await client.post("/api/session", headers={CSRF_HEADER: "new"})
        assert response.status_code == 200, response.text
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return str(response.json()["csrf"]), cookie


async def _started(port: int, server: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(300):
            if server.returncode is not None:
                raise AssertionError(f"the server exited with {server.returncode}")
            try:
                if (await client.get("/")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


async def _peak_rss(pid: int, done: asyncio.Event) -> int:
    peak = _rss_kb(pid)
    while not done.is_set():
        peak = max(peak, _rss_kb(pid))
        await asyncio.sleep(0.01)
    return max(peak, _rss_kb(pid))


async def _answers(server: asyncio.subprocess.Process, into: list[str]) -> None:
    assert server.stdout is not None
    async for line in server.stdout:
        if line.startswith(b"answered "):
            into.append(line.decode().split(" ", 1)[1].strip())


async def _attack(port: int, csrf: str, cookie: str) -> list[int | None]:
    """Eight parallel 100 MB posts: JSON and form, declared and chunked, with and without a
    session; their statuses."""
    json_body = {"content-type": "application/json", CSRF_HEADER: "x"}
    posts = [
        ("/api/send", True, json_body),
        ("/api/send", False, json_body),
        ("/api/photo", False, _multipart("x", "")),
        ("/api/photo", True, _multipart(csrf, cookie)),
    ] * 2
    return await asyncio.gather(*(_post(port, p, chunked=c, headers=h) for p, c, h in posts))


async def test_eight_parallel_100_mb_posts_are_refused_without_growing_the_server(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDGRID_CONFIG": "/nonexistent-config.yaml"}
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVER,
        str(port),
        str(tmp_path),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
    )
    answered: list[str] = []
    reading = asyncio.create_task(_answers(server, answered))
    done = asyncio.Event()
    try:
        await _started(port, server)
        csrf, cookie = await _session(port)
        await _attack(port, csrf, cookie)  # warm up every path
        before = _rss_kb(server.pid)
        peak = asyncio.create_task(_peak_rss(server.pid, done))
        answered.clear()
        statuses = await _attack(port, csrf, cookie)
        done.set()
        grown = await peak - before
        await asyncio.sleep(0.2)  # the last status lines
        assert set(statuses) <= {413, None} and statuses[1:3] == [413, 413], statuses
        assert sorted(answered) == sorted(["/api/send 413"] * 4 + ["/api/photo 413"] * 4)
        assert grown < GROWTH_LIMIT_KB, f"the server grew by {grown} kB"
    finally:
        done.set()
        server.terminate()
        await server.wait()
        reading.cancel()
