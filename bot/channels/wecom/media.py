"""Members' photos and voice messages, fetched from WeCom (which keeps them 3 days) into the
product's upload folder as the callback arrives, so the request keeps them for good (a voice
message as the WeChat channel keeps one, an AMR file staff can play). A photo whose download
fails makes the update the "other" kind (answered politely); a voice message stays one,
without its audio."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from bot.channels.wechat.media import store_file
from bot.channels.wecom.inbound import Inbound
from bot.channels.wecom.outbound import WecomChannel
from bot.messages import Incoming, Photo

log = logging.getLogger(__name__)


async def fetch_media(channel: WecomChannel, push: Inbound, directory: Path) -> Incoming:
    """The push's update with its photo or voice message stored and named."""
    incoming = push.incoming
    assert incoming is not None
    try:
        media = await channel.with_token(lambda token: channel.api.media(token, push.media_id))
    except Exception as exc:
        log.warning("wecom %s not fetched: %s", incoming.kind, type(exc).__name__)
        return incoming if incoming.kind == "voice" else replace(incoming, kind="other")
    if incoming.kind == "voice":
        return replace(incoming, voice_file_id=store_file(directory, media.content, "amr"))
    kind = "png" if media.content.startswith(b"\x89PNG") else "jpg"
    name = store_file(directory, media.content, kind)
    return replace(incoming, photos=(Photo(name, len(media.content)),))
