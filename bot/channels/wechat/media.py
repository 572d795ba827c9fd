"""Residents' images and voice notes, fetched from WeChat (which keeps them 3 days) into the
product's upload folder as the callback arrives, so the request keeps them for good.

A voice note keeps WeChat's `Recognition` text (when present) as its words; staff get the
audio. A download that fails leaves the update as it is: a photo without its file becomes
the "other" kind (answered politely), a voice note keeps its recognised text.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import replace
from pathlib import Path

from bot.channels.wechat.inbound import Inbound
from bot.channels.wechat.outbound import WechatChannel
from bot.messages import Incoming, Photo

log = logging.getLogger(__name__)
MAX_BYTES = 10 * 1024 * 1024


class MediaFetcher:
    """Downloads a push's media into `directory` (owner-only files)."""

    def __init__(self, *, channel: WechatChannel, directory: Path) -> None:
        self.channel = channel
        self.directory = directory

    async def attach(self, push: Inbound) -> Incoming:
        """The push's update with its media stored and named."""
        assert push.incoming is not None
        incoming = push.incoming
        try:
            media = await self.channel.with_token(
                lambda token: self.channel.api.media(token, push.media_id)
            )
        except Exception as exc:
            log.warning("wechat media %s not fetched: %s", push.media_kind, type(exc).__name__)
            if push.media_kind == "image":
                return replace(incoming, kind="other")
            return incoming
        if push.media_kind == "image":
            kind = "png" if media.content.startswith(b"\x89PNG") else "jpg"
            name = store_file(self.directory, media.content, kind)
            return replace(incoming, photos=(Photo(name, len(media.content)),))
        name = store_file(self.directory, media.content, "amr")
        return replace(incoming, voice_file_id=name)


def store_file(directory: Path, content: bytes, suffix: str) -> str:
    """Keep downloaded media in `directory` (an owner-only file); its new name."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{suffix}"
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content[:MAX_BYTES])
    return name
