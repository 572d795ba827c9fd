"""WeChat's HTTP API over the project's async client (httpx): the event loop never blocks.

Every call answers JSON with `errcode` (0 or absent: success); a non-zero code raises
`WechatError`, whose `code` the outbound channel acts on. `media/get` answers the file itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

# Codes the channel acts on (see outbound.py).
BUSY = -1
TOKEN_INVALID = frozenset({40001, 40014, 42001})
DAILY_QUOTA = 45009
OUT_OF_WINDOW = 45015
QUOTA_USED = 45047
NOT_FOLLOWING = 43004


class WechatError(Exception):
    """A call WeChat answered with a non-zero errcode (or not at all)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"wechat errcode {code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Media:
    """A downloaded media file."""

    content: bytes
    content_type: str


class JsonApi:
    """What WeChat's and WeCom's APIs share: JSON calls with the access token as a parameter,
    `media/get`, and the `errcode` answer (raised as `error`). The token is never kept here."""

    error: type[WechatError] = WechatError

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to an API path with the access token."""
        response = await self._client.post(
            path,
            params={"access_token": token},
            content=json_bytes(body),
            headers={"Content-Type": "application/json"},
        )
        return await self._json(response)

    async def media(self, token: str, media_id: str) -> Media:
        """Download a person's media (kept by WeChat and WeCom for 3 days)."""
        response = await self._client.get(
            "/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
        )
        kind = response.headers.get("content-type", "")
        if "json" in kind or "text/plain" in kind:
            await self._json(response)  # raises the errcode
        response.raise_for_status()
        return Media(response.content, kind)

    async def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            raise self.error(BUSY, f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise self.error(BUSY, f"HTTP {response.status_code}: not JSON") from None
        code = int(data.get("errcode") or 0)
        if code != 0:
            raise self.error(code, str(data.get("errmsg", "")))
        return data


class WechatApi(JsonApi):
    """The calls redgrid makes to the Official Account's API."""

    def __init__(
        self, *, base_url: str, app_id: str, app_secret: str, timeout: float = 10.0
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.app_id = app_id
        self._secret = app_secret

    async def stable_token(self, *, force_refresh: bool = False) -> tuple[str, int]:
        """A token from the stable-token endpoint (it does not rotate a valid token unless
        forced); returns (token, seconds it lives)."""
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self._secret,
            "force_refresh": force_refresh,
        }
        data = await self._json(await self._client.post("/cgi-bin/stable_token", json=body))
        return str(data["access_token"]), int(data.get("expires_in", 7200))


def json_bytes(body: dict[str, Any]) -> bytes:
    # WeChat shows \\uXXXX escapes literally in some clients: send UTF-8 as it is.
    return json.dumps(body, ensure_ascii=False).encode()
