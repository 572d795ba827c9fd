"""The resident judges a resolved request: solved?, satisfied?, an optional comment.

```mermaid
stateDiagram-v2
    [*] --> solved: 评价 (push on resolution, or from the request)
    solved --> satisfaction: solved / partly / not solved
    satisfaction --> comment: satisfied / basically / not satisfied
    comment --> [*]: text or skip (closed; "not solved" reopens)
```
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotFound
from bot.services.cases import actions, workflow
from bot.services.cases import lookup as request_service
from handlers.common import show_main_menu, stale_button
from models import Request, RequestStatus

router = Router()

S_COMMENT = "ev.comment"
SOLVED = ("solved", "partly", "not_solved")
SATISFACTION = ("satisfied", "basic", "unsatisfied")


async def _resolved_own(ctx: Context, request_id: int) -> Request:
    found = await request_service.get_for_resident(
        ctx.session, request_id=request_id, person_id=ctx.person.id
    )
    if found is None or not found[1]:
        raise NotFound("req.not_found")
    request = found[0]
    if request.status != RequestStatus.resolved:
        raise NotFound("ev.not_open", reference=request.reference)
    return request


@router.button(actions.RATE)
async def start(ctx: Context, data: ButtonData) -> None:
    request = await _resolved_own(ctx, data.int_arg() or 0)
    ctx.goto("")
    ctx.reply(
        ctx.t("ev.ask_solved", reference=request.reference),
        buttons=[
            [
                actions.RATE_SOLVED.button(ctx.t(f"ev.{v}"), request.id, i)
                for i, v in enumerate(SOLVED)
            ]
        ],
    )


@router.button(actions.RATE_SOLVED)
async def solved_chosen(ctx: Context, data: ButtonData) -> None:
    request = await _resolved_own(ctx, data.int_arg() or 0)
    choice = data.int_arg(1)
    if choice is None or choice >= len(SOLVED):
        await stale_button(ctx)
        return
    ctx.reply(
        ctx.t("ev.ask_satisfaction", reference=request.reference),
        buttons=[
            [
                actions.RATE_SATISFIED.button(ctx.t(f"ev.{v}"), request.id, choice, i)
                for i, v in enumerate(SATISFACTION)
            ]
        ],
    )


@router.button(actions.RATE_SATISFIED)
async def satisfaction_chosen(ctx: Context, data: ButtonData) -> None:
    request = await _resolved_own(ctx, data.int_arg() or 0)
    solved, satisfied = data.int_arg(1), data.int_arg(2)
    if (
        solved is None
        or solved >= len(SOLVED)
        or satisfied is None
        or satisfied >= len(SATISFACTION)
    ):
        await stale_button(ctx)
        return
    ctx.goto(
        S_COMMENT,
        request_id=request.id,
        solved=SOLVED[solved],
        satisfaction=SATISFACTION[satisfied],
    )
    ctx.reply(
        ctx.t("ev.ask_comment"),
        buttons=[[actions.RATE_SKIP_COMMENT.button(ctx.t("core.skip"))]],
    )


@router.state(S_COMMENT)
async def comment_typed(ctx: Context) -> None:
    if ctx.incoming.kind != "text" or not ctx.incoming.text.strip():
        ctx.say("ev.ask_comment")
        return
    await _finish(ctx, ctx.incoming.text.strip()[:1000])


@router.button(actions.RATE_SKIP_COMMENT)
async def comment_skipped(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_COMMENT:
        await stale_button(ctx)
        return
    await _finish(ctx, "")


async def _finish(ctx: Context, comment: str) -> None:
    request = await _resolved_own(ctx, int(ctx.data.get("request_id", 0)))
    solved = ctx.data.get("solved", "")
    await workflow.evaluate(
        ctx.session,
        request=request,
        person=ctx.person,
        solved=solved,
        satisfaction=ctx.data.get("satisfaction", ""),
        comment=comment,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = "ev.reopened" if solved == "not_solved" else "ev.thanks"
    ctx.say(key, reference=request.reference)
    show_main_menu(ctx)
