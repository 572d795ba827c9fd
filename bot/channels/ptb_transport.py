"""python-telegram-bot's HTTP transport on aiohttp (its `BaseRequest` interface).

python-telegram-bot lets the networking backend be swapped; its default (`HTTPXRequest`) goes
through httpx, httpcore and anyio. With sends in flight for several chats at once, httpcore
checks every pooled connection (a socket poll each) on every request, and anyio adds a cancel
scope and a task lookup per read and write: measured against the loopback Bot API, that made
a python-telegram-bot send cost about twice aiogram's, which sends through aiohttp. aiohttp is
already a dependency (aiogram, the web app). The Bot, its methods, its objects and its errors
are python-telegram-bot's as before; only the bytes travel differently.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session with a pool of `connection_pool_size`."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        write = self._write_timeout if write_timeout is BaseRequest.DEFAULT_NONE else write_timeout
        connect = (
            self._connect_timeout
            if connect_timeout is BaseRequest.DEFAULT_NONE
            else connect_timeout
        )
        pool = self._pool_timeout if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        # aiohttp has no write timeout of its own: a body that will not go is bounded by the
        # ceiling on the whole call (every part's limit added up). Waiting for a pooled
        # connection and opening one share `connect`.
        parts = [part for part in (pool, connect, write, read) if part is not None]
        timeout = aiohttp.ClientTimeout(
            total=sum(parts) if len(parts) == 4 else None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The request's parameters as a form: url-encoded, or multipart when it uploads files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    # Names as they are (UTF-8), as Telegram reads them: quoting would show a resident's
    # "诉求.csv" as "%E8%AF%89%E6%B1%82.csv".
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
