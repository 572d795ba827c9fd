"""Members' photos, fetched from WeCom (which keeps them 3 days) into the product's upload
folder as the callback arrives, so the request keeps them for good. A download that fails
makes the update the "other" kind (answered politely)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from bot.channels.wechat.media import store_file
from bot.channels.wecom.inbound import Inbound
from bot.channels.wecom.outbound import WecomChannel
from bot.messages import Incoming, Photo

log = logging.getLogger(__name__)


async def fetch_photo(channel: WecomChannel, push: Inbound, directory: Path) -> Incoming:
    """The push's update with its photo stored and named."""
    assert push.incoming is not None
    try:
        media = await channel.with_token(lambda token: channel.api.media(token, push.media_id))
    except Exception as exc:
        log.warning("wecom photo not fetched: %s", type(exc).__name__)
        return replace(push.incoming, kind="other")
    kind = "png" if media.content.startswith(b"\x89PNG") else "jpg"
    name = store_file(directory, media.content, kind)
    return replace(push.incoming, photos=(Photo(name, len(media.content)),))
