"""Following one's requests: list, open, add information, withdraw.

```mermaid
stateDiagram-v2
    [*] --> list: 我的诉求 / /my
    list --> detail: a request
    detail --> add: 补充信息 (also answers a question from the grid)
    add --> add: text, photo, voice
    add --> [*]: 完成 (owner notified)
    detail --> withdraw: 撤回
    withdraw --> [*]: reason typed (request withdrawn)
```
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotFound
from bot.messages import Button
from bot.services.cases import actions, workflow
from bot.services.cases import lookup as request_service
from bot.services.org import actions as org_actions
from handlers.cases.render import request_line, timeline
from handlers.common import show_main_menu, stale_button
from models import OPEN_STATUSES, Category, Request, RequestStatus

router = Router()

S_ADD = "req.add"
S_WITHDRAW = "req.withdraw"


@router.command("my")
async def my_command(ctx: Context) -> None:
    await list_requests(ctx)


@router.button(actions.MY_REQUESTS)
async def my_button(ctx: Context, _data: ButtonData) -> None:
    await list_requests(ctx)


async def list_requests(ctx: Context) -> None:
    """The person's requests, newest first, each a button."""
    requests = await request_service.list_for_resident(ctx.session, person_id=ctx.person.id)
    ctx.goto("")
    if not requests:
        ctx.reply(
            ctx.t("req.none"),
            buttons=[[actions.NEW_REQUEST.button(ctx.t("menu.new_request"))]],
        )
        return
    rows = []
    for request in requests:
        category = await ctx.session.get(Category, request.category_id)
        rows.append([actions.MY_REQUEST.button(request_line(ctx, request, category), request.id)])
    ctx.reply(ctx.t("req.list"), buttons=rows)


async def _own(ctx: Context, data: ButtonData) -> tuple[Request, bool]:
    """The request the button names, if the presser reported or follows it."""
    found = await request_service.get_for_resident(
        ctx.session, request_id=data.int_arg() or 0, person_id=ctx.person.id
    )
    if found is None:
        raise NotFound("req.not_found")
    return found


@router.button(actions.MY_REQUEST)
async def open_request(ctx: Context, data: ButtonData) -> None:
    request, is_reporter = await _own(ctx, data)
    category = await ctx.session.get(Category, request.category_id)
    events = list(await request_service.public_timeline(ctx.session, request_id=request.id))
    reporter = None if is_reporter else request.reporter_id
    text = (
        request_line(ctx, request, category) + "\n\n" + timeline(ctx, events, reporter_id=reporter)
    )
    rows: list[list[Button]] = []
    if is_reporter and request.status in OPEN_STATUSES:
        rows.append(
            [
                actions.ADD_INFO.button(ctx.t("req.add"), request.id),
                actions.WITHDRAW.button(ctx.t("req.withdraw"), request.id),
            ]
        )
    if is_reporter and request.status == RequestStatus.resolved:
        rows.append([actions.RATE.button(ctx.t("ev.rate"), request.id)])
    rows.append([actions.MY_REQUESTS.button(ctx.t("core.back"))])
    ctx.goto("")
    ctx.reply(text, buttons=rows)


@router.button(actions.ADD_INFO)
async def add_info(ctx: Context, data: ButtonData) -> None:
    request, is_reporter = await _own(ctx, data)
    if not is_reporter or request.status not in OPEN_STATUSES:
        raise NotFound("req.closed", reference=request.reference)
    ctx.goto(S_ADD, request_id=request.id, texts=[], photos=[])
    ctx.reply(
        ctx.t("req.add_prompt", reference=request.reference),
        buttons=[[actions.ADD_INFO_DONE.button(ctx.t("rep.done"))]],
    )


@router.state(S_ADD)
async def add_input(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.kind not in ("text", "photo", "voice"):
        ctx.say("req.add_kinds")
        return
    texts = list(ctx.data.get("texts", []))
    photos = list(ctx.data.get("photos", []))
    if incoming.text.strip():
        texts.append(incoming.text.strip())
    photos += [[p.file_id, p.file_size, "photo"] for p in incoming.photos]
    if incoming.voice_file_id:
        photos.append([incoming.voice_file_id, None, "voice"])
    ctx.update_data(texts=texts[:20], photos=photos[:20])
    ctx.reply(ctx.t("rep.received"), buttons=[[actions.ADD_INFO_DONE.button(ctx.t("rep.done"))]])


@router.button(actions.ADD_INFO_DONE)
async def add_done(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_ADD:
        await stale_button(ctx)
        return
    found = await request_service.get_for_resident(
        ctx.session, request_id=int(ctx.data.get("request_id", 0)), person_id=ctx.person.id
    )
    if found is None or not found[1]:
        raise NotFound("req.not_found")
    request = found[0]
    texts, photos = ctx.data.get("texts", []), ctx.data.get("photos", [])
    if not texts and not photos:
        show_main_menu(ctx, "req.add_nothing")
        return
    await workflow.add_information(
        ctx.session,
        request=request,
        person=ctx.person,
        text="\n".join(texts),
        photos=[tuple(p) for p in photos],
        channel=ctx.incoming.channel,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.say("req.added", reference=request.reference)
    show_main_menu(ctx)


@router.button(actions.WITHDRAW)
async def withdraw(ctx: Context, data: ButtonData) -> None:
    request, is_reporter = await _own(ctx, data)
    if not is_reporter or request.status not in OPEN_STATUSES:
        raise NotFound("req.closed", reference=request.reference)
    ctx.goto(S_WITHDRAW, request_id=request.id)
    ctx.reply(
        ctx.t("req.withdraw_reason", reference=request.reference),
        buttons=[[org_actions.MENU.button(ctx.t("core.cancel"))]],
    )


@router.state(S_WITHDRAW)
async def withdraw_reason(ctx: Context) -> None:
    reason = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not reason:
        ctx.say("req.withdraw_need_reason")
        return
    found = await request_service.get_for_resident(
        ctx.session, request_id=int(ctx.data.get("request_id", 0)), person_id=ctx.person.id
    )
    if found is None or not found[1]:
        raise NotFound("req.not_found")
    request = found[0]
    await workflow.transition(
        ctx.session,
        request=request,
        action="withdraw",
        actor=ctx.person,
        now=ctx.now,
        reason=reason[:500],
        settings=ctx.settings,
    )
    ctx.say("req.withdrawn", reference=request.reference)
    show_main_menu(ctx)
