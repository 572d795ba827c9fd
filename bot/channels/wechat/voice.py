"""A voice message whose `Recognition` is empty (WeChat is withdrawing it, and it is often
empty): the audio is kept like any voice note, and the resident is asked, politely and in their
language, to type a few words too, so staff and the category suggestion have words to read.
The question is an outbox row written after the turn, so it follows the turn's replies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat import CHANNEL
from bot.channels.wechat.inbound import Inbound
from bot.i18n import pick_locale, t
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from models import ChannelIdentity, Person


def unrecognised(push: Inbound) -> bool:
    """A voice message WeChat gave no words for."""
    return (
        push.media_kind == "voice" and push.incoming is not None and not push.incoming.text.strip()
    )


async def ask_to_type(
    sessions: async_sessionmaker[AsyncSession],
    *,
    chat_id: str,
    default_locale: str,
    channel: str = CHANNEL,
    key: str = "wechat.voice_unrecognised",
) -> int:
    """Write the polite question (message `key`) to the person behind `chat_id` on
    `channel`, in their language; returns its outbox row's id. WeCom's voice messages, which
    come without words, are answered the same way."""
    async with sessions() as session, session.begin():
        query = (
            select(Person.id, Person.language)
            .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.chat_id == chat_id)
        )
        found = (await session.execute(query)).first()
        person_id, language = (found[0], found[1]) if found else (None, None)
        locale = pick_locale(language, None, default_locale)
        row = await enqueue(
            session,
            channel=channel,
            chat_id=chat_id,
            message=Outgoing(t(locale, key)),
            person_id=person_id,
            urgent=True,
        )
        return row.id
