"""A resident's messages right after staff told them of their request (签收, a question) are
added to that request, until their chat moves on: "reply in this chat to add information".
One tap undoes the guess and makes the words a new report instead, so nothing typed is lost."""

from __future__ import annotations

from sqlalchemy import select

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import actions, workflow
from bot.services.cases import lookup as request_service
from handlers.common import main_menu_buttons, stale_button
from models import Conversation, Request, RequestEvent

router = Router()


async def add_reply(ctx: Context) -> bool:
    """Add this text, photo or voice to the request staff last told the person of, when nothing
    happened in their chat since; False when it answers none (a new report, then)."""
    incoming = ctx.incoming
    if incoming.kind not in ("text", "photo", "voice") or ctx.state:
        return False
    since = await ctx.session.scalar(
        select(Conversation.updated_at).where(
            Conversation.channel == incoming.channel, Conversation.chat_id == incoming.chat_id
        )
    )
    if since is None:
        return False
    request = await request_service.get_replied_request(
        ctx.session, person_id=ctx.person.id, since=since
    )
    if request is None:
        return False
    photos = [(p.file_id, p.file_size, "photo") for p in incoming.photos]
    if incoming.voice_file_id:
        photos.append((incoming.voice_file_id, None, "voice"))
    event = await workflow.add_information(
        ctx.session,
        request=request,
        person=ctx.person,
        text=incoming.text,
        photos=photos,
        channel=incoming.channel,
        now=ctx.now,
        settings=ctx.settings,
    )
    rows = main_menu_buttons(ctx)
    if incoming.text.strip():
        rows = [[actions.REPLY_IS_NEW.button(ctx.t("taps.reply_is_new"), event.id)], *rows]
    ctx.reply(ctx.t("taps.reply_added", reference=request.reference), buttons=rows)
    return True


@router.button(actions.REPLY_IS_NEW)
async def reply_is_new(ctx: Context, data: ButtonData) -> None:
    """Not an addition after all: the same words start a new report."""
    from handlers.cases import report

    event = await ctx.session.get(RequestEvent, data.int_arg() or 0)
    request = await ctx.session.get(Request, event.request_id) if event else None
    if (
        event is None
        or request is None
        or event.actor_id != ctx.person.id
        or request.reporter_id != ctx.person.id
        or not event.note
    ):
        await stale_button(ctx)
        return
    await report.begin(ctx, texts=[event.note])
