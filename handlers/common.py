"""Commands available everywhere: /start, /help, /cancel, /language, and the main menu.
Also the answers to input nobody else takes: unknown commands, stickers, stale buttons."""

from __future__ import annotations

from bot import commands
from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.cases import actions as cases_actions
from bot.services.cobuild import actions as cobuild_actions
from bot.services.org import actions as org_actions
from bot.services.org import command_menu, people

router = Router()


def main_menu_buttons(ctx: Context) -> list[list[Button]]:
    """The resident's main menu."""
    t = ctx.t
    return [
        [
            cases_actions.NEW_REQUEST.button(t("menu.new_request")),
            cases_actions.MY_REQUESTS.button(t("menu.my_requests")),
        ],
        [
            org_actions.CHOOSE_LANGUAGE.button(t("menu.language")),
            org_actions.PRIVACY.button(t("menu.privacy")),
        ],
        [cobuild_actions.BOARD.button(t("menu.cobuild"))],
    ]


def cancel_row(ctx: Context) -> list[Button]:
    """A row with one Cancel button (back to the main menu)."""
    return [org_actions.MENU.button(ctx.t("core.cancel"))]


def show_main_menu(ctx: Context, key: str = "menu.prompt") -> None:
    """Return to the main menu, with its buttons."""
    ctx.goto("")
    ctx.reply(ctx.t(key), buttons=main_menu_buttons(ctx))


@router.command("start")
async def start(ctx: Context) -> None:
    """Greet, then onboard (or change the address); deep-link payloads pre-select things."""
    from handlers.org import onboarding

    payload = ctx.incoming.args.strip()
    if payload.startswith("m_"):  # a meeting notice's QR code (handlers/meeting_resident.py)
        from handlers.meetings import resident

        await resident.start_payload(ctx, payload)
        return
    if payload.startswith("inv_"):  # an admin's invite link (handlers/invite.py)
        from handlers.org import invite

        await invite.redeem(ctx, token=payload.removeprefix("inv_"))
        return
    await onboarding.begin(ctx, payload=payload)


@router.command("help")
async def show_help(ctx: Context) -> None:
    """Staff: what their roles do every day, the rest one tap away (`/help all`); residents:
    the resident help."""
    if ctx.incoming.args.strip().lower() in ("all", "全部"):
        await show_all_help(ctx)
        return
    held = await command_menu.roles_of(ctx.session, person_ids=[ctx.person.id])
    daily = commands.daily_commands(held[ctx.person.id], ctx.locale)
    if not daily:
        await show_all_help(ctx)
        return
    lines = [ctx.t("staff_menus.help_daily")]
    lines += [f"/{name} {description}" for name, description in daily]
    lines.append(ctx.t("staff_menus.help_rest"))
    row = [org_actions.HELP_ALL.button(ctx.t("staff_menus.all_commands"))]
    if any(name == "queue" for name, _ in daily):
        row.insert(0, cases_actions.QUEUE.button(ctx.t("staff.button.queue"), 0))
    ctx.reply("\n".join(lines), buttons=[row])


@router.button(org_actions.HELP_ALL)
async def show_all_help_button(ctx: Context, _data: ButtonData) -> None:
    await show_all_help(ctx)


async def show_all_help(ctx: Context) -> None:
    """The resident help, after the work commands the person's roles hold now."""
    held = await command_menu.roles_of(ctx.session, person_ids=[ctx.person.id])
    work = [
        f"/{name} {description}"
        for name, description in commands.command_list(held[ctx.person.id], ctx.locale)
        if name not in commands.RESIDENT_COMMANDS and name not in commands.MEMBER_COMMANDS
    ]
    text = ctx.t("core.help") + "\n" + ctx.t("look.help.members")
    if work:
        text = "\n".join([ctx.t("webchat_roles.help_work"), *work, "", text])
    ctx.reply(text, buttons=main_menu_buttons(ctx))


@router.command("cancel")
async def cancel(ctx: Context) -> None:
    """Leave whatever flow the person is in, keeping nothing half-done."""
    show_main_menu(ctx, "core.cancelled")


@router.command("menu")
async def menu(ctx: Context) -> None:
    show_main_menu(ctx)


@router.button(org_actions.MENU)
async def menu_button(ctx: Context, _data: ButtonData) -> None:
    show_main_menu(ctx)


@router.command("language")
async def choose_language(ctx: Context) -> None:
    ask_language(ctx)


@router.button(org_actions.CHOOSE_LANGUAGE)
async def choose_language_button(ctx: Context, _data: ButtonData) -> None:
    ask_language(ctx)


def ask_language(ctx: Context) -> None:
    """Offer the two languages."""
    ctx.reply(
        ctx.t("core.choose_language"),
        buttons=[
            [
                org_actions.SET_LANGUAGE.button("中文", "zh"),
                org_actions.SET_LANGUAGE.button("English", "en"),
            ]
        ],
    )


@router.button(org_actions.SET_LANGUAGE)
async def set_language(ctx: Context, data: ButtonData) -> None:
    locale = data.args[0] if data.args else ""
    if locale not in ("zh", "en"):
        await stale_button(ctx)
        return
    ctx.person.language = locale
    ctx.set_locale(locale)
    # Staff's command menus are described in their language: follow the change.
    await command_menu.queue_menus(
        ctx.session, person_ids=[ctx.person.id], settings=ctx.settings, staff_only=True
    )
    held = await command_menu.roles_of(ctx.session, person_ids=[ctx.person.id])
    if people.is_registered(ctx.person):
        show_main_menu(ctx, "core.language_set")
    elif held[ctx.person.id]:  # staff need no address: not pushed into registering one
        ctx.say("core.language_set")
    else:
        from handlers.org import onboarding

        ctx.say("core.language_set")
        await onboarding.ask_street(ctx)


async def unknown_command(ctx: Context) -> None:
    ctx.say("core.unknown_command", command=ctx.incoming.command[:32])


async def stale_button(ctx: Context) -> None:
    ctx.say("core.stale_button")


async def unsupported(ctx: Context) -> None:
    ctx.say("core.unsupported")


async def too_long(ctx: Context) -> None:
    ctx.say("core.too_long", limit=ctx.settings.requests.max_text_length)


async def free_text(ctx: Context) -> None:
    """Input outside any flow: onboard a newcomer; a greeting or "菜单" shows the menu; a
    resident's words answer what staff just told them of their request, thanks are
    acknowledged, anything else is a new request."""
    from handlers import small_talk
    from handlers.cases import chat_reply, report
    from handlers.org import onboarding

    if not people.is_registered(ctx.person):
        ctx.keep_text()  # their first words: the report they came for, once registered
        await onboarding.begin(ctx, payload="")
        return
    text = ctx.incoming.text if ctx.incoming.kind == "text" else ""
    if text and small_talk.is_menu_word(text):
        show_main_menu(ctx)
        return
    if ctx.incoming.kind in ("text", "photo", "voice"):
        if await chat_reply.add_reply(ctx):
            return
        if text and small_talk.is_thanks(text):
            show_main_menu(ctx, "look.thanks")
            return
        await report.begin(ctx, first_input=True)
        return
    show_main_menu(ctx)


router.unknown_command = unknown_command
router.stale_button = stale_button
router.unsupported = unsupported
router.too_long = too_long
router.default = free_text
