"""`redgrid wechat menu` and `redgrid wechat qr --compound ID`: set the service account's
menu, make a compound's permanent QR code (saved as a PNG)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from bot.cli.common import console, err_console, run_async, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.channels.wechat.outbound import WechatChannel
    from bot.config import Settings

app = typer.Typer(help="The WeChat service account: menu and QR codes.", no_args_is_help=True)
T = TypeVar("T")


def _with_channel(settings: Settings, work: Callable[[WechatChannel], Awaitable[T]]) -> T:
    """Run `work` with the configured account's channel (and its database for the token)."""
    from bot.channels.wechat.setup import make_channel
    from bot.db import create_engine, session_factory
    from models import utcnow

    async def _main() -> T:
        engine = create_engine(settings.database.url)
        channel = make_channel(settings, session_factory(engine), utcnow)
        try:
            return await work(channel)
        finally:
            await channel.api.close()
            await engine.dispose()

    return run_async(_main)


def _enabled_settings() -> Settings:
    settings = settings_or_exit()
    if not settings.wechat.enabled:
        err_console.print("[red]wechat.enabled is false: set the wechat section first[/red]")
        raise typer.Exit(2)
    return settings


@app.command("menu")
def menu() -> None:
    """Set the account's menu: 新诉求, 我的诉求, 更多 (帮助 / 隐私 / 语言)."""
    from bot.channels.wechat.menu import set_menu

    settings = _enabled_settings()
    body = _with_channel(settings, lambda channel: set_menu(channel, settings.locale.default))
    names = [button["name"] for button in body["button"]]
    console.print("menu set: " + " | ".join(names), highlight=False)


@app.command("qr")
def qr(
    compound: int = typer.Option(..., help="The compound's id (see `redgrid org show`)."),
    out_dir: Path = typer.Option(Path("data/wechat-qr"), help="Where the PNG goes."),
) -> None:
    """Make the compound's permanent QR code: following or scanning it starts registration
    at that compound."""
    from bot import files
    from bot.channels.wechat.menu import compound_qr
    from bot.cli.common import in_transaction
    from bot.services.org import invite_links
    from models import Compound

    settings = _enabled_settings()

    async def _name(session: AsyncSession) -> str | None:
        found = await session.get(Compound, compound)
        return None if found is None else str(found.name_zh)

    name = in_transaction(settings, _name)
    if name is None:
        err_console.print(f"[red]no compound {compound}[/red]")
        raise typer.Exit(1)
    url = _with_channel(settings, lambda channel: compound_qr(channel, compound))
    path = files.write_private(out_dir / f"compound-{compound}.png", invite_links.qr_png(url))
    console.print(f"{name}: {url}", highlight=False, soft_wrap=True)
    console.print(f"  QR code: {path}", highlight=False)
