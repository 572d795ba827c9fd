"""/privacy: what is stored about the person, and erasing it on request."""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.org import actions, people, places
from handlers.common import stale_button

router = Router()


@router.command("privacy")
async def privacy_command(ctx: Context) -> None:
    await show(ctx)


@router.button(actions.PRIVACY)
async def privacy_button(ctx: Context, _data: ButtonData) -> None:
    await show(ctx)


async def show(ctx: Context) -> None:
    """Everything stored about the person, with a delete button."""
    person = ctx.person
    address = await places.describe_address(
        ctx.session,
        compound_id=person.compound_id,
        building_id=person.building_id,
        unit_room=person.unit_room,
        locale=ctx.locale,
    )
    identities = await people.list_identities(ctx.session, person_id=person.id)
    ctx.goto("")
    ctx.reply(
        ctx.t(
            "privacy.summary",
            name=person.display_name or ctx.t("next_steps.not_given"),
            language=person.language or ctx.locale,
            phone=person.phone or ctx.t("next_steps.not_given"),
            address=address or ctx.t("next_steps.not_given"),
            channels=", ".join(sorted({i.channel for i in identities})) or ctx.t("next_steps.none"),
            requests=await people.count_requests(ctx.session, person_id=person.id),
        ),
        buttons=[[actions.DELETE_DATA.button(ctx.t("privacy.delete"))]],
    )


@router.button(actions.DELETE_DATA)
async def ask_delete(ctx: Context, _data: ButtonData) -> None:
    ctx.goto("privacy.confirm")
    ctx.reply(
        ctx.t("erase.confirm"),
        buttons=[
            [
                actions.DELETE_DATA_CONFIRMED.button(ctx.t("privacy.confirm_yes")),
                actions.MENU.button(ctx.t("core.cancel")),
            ]
        ],
    )


@router.button(actions.DELETE_DATA_CONFIRMED)
async def delete(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != "privacy.confirm":
        await stale_button(ctx)
        return
    await people.erase(ctx.session, person=ctx.person, now=ctx.now, settings=ctx.settings)
    ctx.goto("")
    ctx.say("privacy.deleted")
