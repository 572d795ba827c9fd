"""WeCom group robots as an `OutputChannel`: a unit's digests posted to its group's webhook
(one-way, 20 messages a minute per robot: the sender paces each below that).

The chat id is the unit's code; its key comes from `wecom.robots` (a bearer secret, never
stored in the outbox). A unit without a key, or a key WeCom refuses, fails the row for good.
"""

from __future__ import annotations

from bot.channels.wecom import ROBOT_CHANNEL, api
from bot.channels.wecom.api import WecomApi, WecomError
from bot.channels.wecom.limits import LIMITS
from bot.channels.wecom.render import clip_bytes
from bot.config_channels import WecomSettings
from bot.core.output import SendResult
from bot.messages import Outgoing, numbered_choices


class RobotChannel:
    """Posts to the group robots named in the settings."""

    name = ROBOT_CHANNEL
    supports_buttons = False
    rate_limited = True

    def __init__(self, *, settings: WecomSettings, client: WecomApi) -> None:
        self.settings = settings
        self.api = client
        self.chat_windows = ((settings.robot_per_minute, 60.0),)

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Post one message to the group of unit `chat_id`."""
        key = self.settings.robots.get(chat_id)
        if key is None:
            return SendResult(ok=False, permanent=True, error=f"no robot for unit {chat_id}")
        text = clip_bytes(numbered_choices(message), LIMITS.text_bytes)
        try:
            await self.api.robot(
                key.get_secret_value(), {"msgtype": "text", "text": {"content": text}}
            )
        except WecomError as error:
            if error.code in (api.BUSY, api.ROBOT_LIMIT):
                return SendResult(ok=False, error=str(error))
            return SendResult(ok=False, permanent=True, error=str(error))
        return SendResult(ok=True)
