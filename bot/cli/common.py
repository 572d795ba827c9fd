"""Helpers shared by the CLI commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, load_settings
from bot.exceptions import ConfigError, UserFacingError
from bot.i18n import t

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    """Load settings, or print what is wrong and exit with status 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from a synchronous typer command."""

    async def _main() -> T:
        return await factory()

    return asyncio.run(_main())


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database (committed when it returns);
    a UserFacingError is printed, in English, and exits with status 1."""
    from bot.db import create_engine, session_factory

    async def _main() -> T:
        engine = create_engine(settings.database.url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_main())
    except UserFacingError as exc:
        err_console.print(f"[red]{t('en', exc.key, **exc.params)}[/red]")
        raise typer.Exit(1) from None
