"""Staff collect material for a request: photos, the result when resolving (text and photos;
the resident gets the result with a Rate button), and the reference of a request to merge into.

```mermaid
stateDiagram-v2
    [*] --> photos: 添加照片
    photos --> photos: photo
    photos --> [*]: ✅ 完成 (photos attached, internal note)
    [*] --> result: 办结
    result --> result: text, photo
    result --> [*]: ✅ 完成 (resolved; resident asked to rate)
    [*] --> merge: 合并
    merge --> [*]: reference typed (merged into it)
    photos --> [*]: /cancel or 取消
    result --> [*]: /cancel or 取消
    merge --> [*]: /cancel or 取消
```
"""

from __future__ import annotations

from typing import Any

from bot.buttons import ButtonAction, ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.messages import Button
from bot.services.cases import actions, casework, queue, workflow
from handlers.cases.staff_common import (
    Action,
    cancel_row,
    from_button,
    from_state,
    require_status,
    show,
)
from handlers.common import stale_button

router = Router()

S_PHOTOS = "staff.photos"
S_RESOLVE = "staff.resolve"
S_MERGE = "staff.merge"
MAX_ITEMS = 20


def _done_rows(ctx: Context, done: ButtonAction) -> list[list[Button]]:
    return [[done.button(ctx.t("staff.button.done"))], cancel_row(ctx)]


def _collect(ctx: Context, done: ButtonAction) -> None:
    """Keep the texts and photos sent in a collecting state."""
    incoming = ctx.incoming
    if incoming.kind not in ("text", "photo"):
        ctx.say("staff.collect_kinds")
        return
    texts: list[str] = list(ctx.data.get("texts", []))
    photos: list[list[Any]] = list(ctx.data.get("photos", []))
    if incoming.text.strip():
        texts.append(incoming.text.strip())
    photos += [[p.file_id, p.file_size, "photo"] for p in incoming.photos]
    ctx.update_data(texts=texts[:MAX_ITEMS], photos=photos[:MAX_ITEMS])
    ctx.reply(
        ctx.t("staff.collected", texts=len(texts), photos=len(photos)),
        buttons=_done_rows(ctx, done),
    )


async def _may_work(ctx: Context, data: ButtonData, action: Action) -> int:
    request = await from_button(ctx, data)
    require_status(request, action)
    if not await workflow.may(ctx.session, request=request, action=action, actor=ctx.person):
        raise NotAllowed("staff.error.not_in_scope", reference=request.reference)
    return request.id


@router.button(actions.ADD_PHOTOS)
async def photos(ctx: Context, data: ButtonData) -> None:
    request_id = await _may_work(ctx, data, Action.note)
    ctx.goto(S_PHOTOS, request_id=request_id, texts=[], photos=[])
    ctx.reply(ctx.t("staff.photos_prompt"), buttons=_done_rows(ctx, actions.ADD_PHOTOS_DONE))


@router.state(S_PHOTOS)
async def photos_input(ctx: Context) -> None:
    _collect(ctx, actions.ADD_PHOTOS_DONE)


@router.button(actions.ADD_PHOTOS_DONE)
async def photos_done(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_PHOTOS:
        await stale_button(ctx)
        return
    request = await from_state(ctx)
    photos = [tuple(p) for p in ctx.data.get("photos", [])]
    if not photos:
        ctx.say("staff.need_photo")
        return
    await casework.add_photos(
        ctx.session,
        request=request,
        actor=ctx.person,
        photos=photos,
        channel=ctx.incoming.channel,
        now=ctx.now,
        settings=ctx.settings,
    )
    await show(ctx, request, key="staff.photos_added")


@router.button(actions.RESOLVE)
async def resolve(ctx: Context, data: ButtonData) -> None:
    request_id = await _may_work(ctx, data, Action.resolve)
    ctx.goto(S_RESOLVE, request_id=request_id, texts=[], photos=[])
    ctx.reply(ctx.t("staff.resolve_prompt"), buttons=_done_rows(ctx, actions.RESOLVE_DONE))


@router.state(S_RESOLVE)
async def resolve_input(ctx: Context) -> None:
    _collect(ctx, actions.RESOLVE_DONE)


@router.button(actions.RESOLVE_DONE)
async def resolve_done(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_RESOLVE:
        await stale_button(ctx)
        return
    request = await from_state(ctx)
    texts = ctx.data.get("texts", [])
    if not texts:
        ctx.say("staff.resolve_need_text")
        return
    await casework.resolve(
        ctx.session,
        request=request,
        actor=ctx.person,
        result="\n".join(texts),
        photos=[tuple(p) for p in ctx.data.get("photos", [])],
        channel=ctx.incoming.channel,
        now=ctx.now,
        settings=ctx.settings,
    )
    await show(ctx, request, key="staff.resolved")


@router.button(actions.MERGE)
async def merge(ctx: Context, data: ButtonData) -> None:
    request_id = await _may_work(ctx, data, Action.merge)
    ctx.goto(S_MERGE, request_id=request_id)
    ctx.reply(ctx.t("staff.merge_prompt"), buttons=[cancel_row(ctx)])


@router.state(S_MERGE)
async def merge_reference(ctx: Context) -> None:
    reference = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not reference:
        ctx.say("staff.merge_prompt")
        return
    request = await from_state(ctx)
    # The presser must be able to see the request merged into, too.
    target = await queue.find_in_scope(ctx.session, person_id=ctx.person.id, reference=reference)
    await workflow.transition(
        ctx.session,
        request=request,
        action=Action.merge,
        actor=ctx.person,
        now=ctx.now,
        merge_into=target,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("staff.merged", reference=request.reference, other=target.reference)
