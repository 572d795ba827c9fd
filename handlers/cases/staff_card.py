"""The card staff work from, beyond its actions: "more actions" opens the rest in place, a
page at a time (the commonest first), and "show phone" reveals the reporter's number to those
who may call them (audited). Every press computes the actions the presser may do again.

```mermaid
stateDiagram-v2
    [*] --> compact: card (four primary actions + 更多操作)
    compact --> more: 更多操作 (the same message: the next four commonest actions)
    more --> more: 其他操作 ▸ (the next page, while there is one)
    more --> compact: ◀ 收起
    compact --> compact: 📞 显示电话 (the number in the card, an audit row)
```
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import actions, contact
from handlers.cases.staff_common import from_button, show

router = Router()


@router.button(actions.MORE_ACTIONS)
async def more_actions(ctx: Context, data: ButtonData) -> None:
    await show(ctx, await from_button(ctx, data), page=1)


@router.button(actions.OTHER_ACTIONS)
async def other_actions(ctx: Context, data: ButtonData) -> None:
    await show(ctx, await from_button(ctx, data), page=max(data.int_arg(1) or 1, 1))


@router.button(actions.SHOW_PHONE)
async def show_phone(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    phone = await contact.reveal_phone(
        ctx.session, request=request, actor=ctx.person, now=ctx.now, settings=ctx.settings
    )
    await show(ctx, request, phone=phone)
