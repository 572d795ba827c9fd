"""WeCom's HTTP API over the project's async client (httpx), and its group robots' webhook.

Every call answers JSON with `errcode` (0: success); a non-zero code raises `WecomError`,
whose `code` the channel acts on. `media/get` answers the file itself.
"""

from __future__ import annotations

from typing import Any

from bot.channels.wechat.api import JsonApi, WechatError, json_bytes

# Codes the channel acts on (see outbound.py).
BUSY = -1
TOKEN_INVALID = frozenset({40014, 42001})
# The member is not in the corp, not in the app's visible range, or all recipients invalid.
UNREACHABLE = frozenset({60111, 81013, 46004})
# A robot's 20 a minute were used (the message was not sent).
ROBOT_LIMIT = 45009


class WecomError(WechatError):
    """A call WeCom answered with a non-zero errcode (or not at all)."""


class WecomApi(JsonApi):
    """The calls redgrid makes to a self-built app's API and its group robots."""

    error = WecomError

    def __init__(
        self, *, base_url: str, corp_id: str, agent_id: int, secret: str, timeout: float = 10.0
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret

    @property
    def token_key(self) -> str:
        """Where the app's token is kept among the shared tokens."""
        return f"wecom:{self.corp_id}:{self.agent_id}"

    async def token(self, force: bool = False) -> tuple[str, int]:
        """A token from `gettoken` (token, seconds it lives). WeCom hands out the valid token
        again until it expires; `force` changes nothing here, the caller asks when refused."""
        del force
        params = {"corpid": self.corp_id, "corpsecret": self._secret}
        data = await self._json(await self._client.get("/cgi-bin/gettoken", params=params))
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def upload(self, token: str, kind: str, name: str, content: bytes) -> str:
        """Upload a temporary media file (kept 3 days); its media_id."""
        response = await self._client.post(
            "/cgi-bin/media/upload",
            params={"access_token": token, "type": kind},
            files={"media": (name, content)},
        )
        return str((await self._json(response))["media_id"])

    async def robot(self, key: str, body: dict[str, Any]) -> None:
        """Post one message to a group robot's webhook (the key is its bearer secret)."""
        response = await self._client.post(
            "/cgi-bin/webhook/send",
            params={"key": key},
            content=json_bytes(body),
            headers={"Content-Type": "application/json"},
        )
        await self._json(response)
