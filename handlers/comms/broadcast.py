"""Admins' broadcasts to residents: `/broadcast <target>` where the target is a grid,
community or street code, a compound code, or `<compound code>/<building number>`; `/broadcast`
alone offers the admin's streets, communities and grids as buttons.

```mermaid
stateDiagram-v2
    [*] --> text: /broadcast <target>, or a unit's button (admin of the unit covering it)
    text --> preview: text, or a photo with a caption
    preview --> sending: Send (outbox rows written)
    preview --> [*]: Cancel
    sending --> sending: Progress (the message is updated)
    sending --> [*]: Stop (queued messages cancelled) / all delivered
```
/cancel leaves the text step; a draft that is never sent reaches nobody.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.messages import Button
from bot.services.comms import actions, broadcast
from bot.services.org import rights

router = Router()

S_TEXT = "am.bc.text"


@router.command("broadcast")
async def start(ctx: Context) -> None:
    text = ctx.incoming.args.strip()
    if not text:
        if not await rights.is_admin(ctx.session, person_id=ctx.person.id):
            raise NotAllowed("admin.error.not_admin")
        await _offer_targets(ctx)
        return
    await _ask_text(ctx, text)


async def _offer_targets(ctx: Context) -> None:
    """Whom to send to: the units the admin administers as buttons (codes need not be known)."""
    units = await broadcast.admin_targets(ctx.session, person_id=ctx.person.id)
    rows = [[actions.TARGET.button(unit.name(ctx.locale), unit.id)] for unit in units]
    ctx.reply(ctx.t("look.broadcast.choose"), buttons=rows)


async def _ask_text(ctx: Context, text: str) -> None:
    target = await broadcast.resolve_target(ctx.session, text=text, locale=ctx.locale)
    await rights.require_admin(ctx.session, person_id=ctx.person.id, unit=target.unit)
    ctx.goto(S_TEXT, target=text)
    ctx.say("admin.broadcast.ask_text", target=target.label)


@router.button(actions.TARGET)
async def target_chosen(ctx: Context, data: ButtonData) -> None:
    """A unit chosen from the buttons: as `/broadcast <its code>` (rights re-checked)."""
    unit = await rights.get_unit_by_id(ctx.session, unit_id=data.int_arg() or 0)
    await _ask_text(ctx, unit.code)


@router.state(S_TEXT)
async def text_given(ctx: Context) -> None:
    incoming = ctx.incoming
    photo = incoming.photos[-1].file_id if incoming.kind == "photo" and incoming.photos else None
    if not incoming.text.strip() and photo is None:
        ctx.say("admin.broadcast.ask_text", target=str(ctx.data.get("target", "")))
        return
    target = await broadcast.resolve_target(
        ctx.session, text=str(ctx.data.get("target", "")), locale=ctx.locale
    )
    draft, count = await broadcast.create_draft(
        ctx.session, actor=ctx.person, target=target, text=incoming.text, photo=photo, now=ctx.now
    )
    ctx.goto("")
    ctx.reply(
        ctx.t("admin.broadcast.preview", target=target.label, count=count, text=draft.text),
        photo=photo,
        buttons=[
            [
                actions.SEND.button(ctx.t("admin.button.send"), draft.id),
                actions.STOP.button(ctx.t("admin.button.cancel"), draft.id),
            ]
        ],
    )


def _progress_buttons(ctx: Context, broadcast_id: int) -> list[list[Button]]:
    return [
        [
            actions.PROGRESS.button(ctx.t("admin.button.progress"), broadcast_id),
            actions.STOP.button(ctx.t("admin.button.stop"), broadcast_id),
        ]
    ]


@router.button(actions.SEND)
async def send(ctx: Context, data: ButtonData) -> None:
    sent = await broadcast.send(
        ctx.session,
        broadcast_id=data.int_arg() or 0,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.reply(
        ctx.t("admin.broadcast.sending", count=sent.recipients),
        buttons=_progress_buttons(ctx, sent.id),
    )


@router.button(actions.PROGRESS)
async def show_progress(ctx: Context, data: ButtonData) -> None:
    item, progress = await broadcast.get_progress(
        ctx.session, broadcast_id=data.int_arg() or 0, actor=ctx.person, now=ctx.now
    )
    text = ctx.t(
        "admin.broadcast.progress",
        status=ctx.t(f"admin.broadcast.status.{item.status}"),
        sent=progress.sent,
        total=progress.total,
        waiting=progress.waiting,
        failed=progress.failed,
        cancelled=progress.cancelled,
    )
    buttons = _progress_buttons(ctx, item.id) if item.status == "sending" else []
    message = ctx.reply(text, buttons=buttons)
    message.edit_message_id = ctx.incoming.message_id  # update the progress message in place


@router.button(actions.STOP)
async def stop(ctx: Context, data: ButtonData) -> None:
    stopped = await broadcast.cancel(
        ctx.session, broadcast_id=data.int_arg() or 0, actor=ctx.person, now=ctx.now
    )
    ctx.say("admin.broadcast.cancelled", count=stopped)
