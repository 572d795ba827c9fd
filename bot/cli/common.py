"""Helpers shared by the CLI commands.

Only the standard library and typer are imported here at module level, like in every CLI
module: `redgrid --version` and `--help` must not pay for loading the database, settings and
rich (nor asyncio, which alone costs half of what typer does). Each command imports what it
needs when it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.config import Settings

T = TypeVar("T")


class LazyConsole:
    """A rich Console made at its first use; attributes read, set and listed are its own."""

    __slots__ = ("_console", "_stderr")
    _stderr: bool
    _console: Console | None

    def __init__(self, *, stderr: bool = False) -> None:
        object.__setattr__(self, "_stderr", stderr)
        object.__setattr__(self, "_console", None)

    def _real(self) -> Console:
        made = self._console
        if made is None:
            from rich.console import Console

            made = Console(stderr=self._stderr)
            object.__setattr__(self, "_console", made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real(), name, value)

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        # What pytest's monkeypatch reads to restore an attribute it set.
        return vars(self._real())

    def __enter__(self) -> Console:
        # rich's Live (progress bars) holds the console open with `with console:`.
        return self._real().__enter__()

    def __exit__(self, *exc: object) -> None:
        self._real().__exit__(*exc)


# Typed as Console for the call sites; the real one is made when a command first prints.
console: Console = LazyConsole()  # type: ignore[assignment]
err_console: Console = LazyConsole(stderr=True)  # type: ignore[assignment]


def settings_or_exit() -> Settings:
    """Load settings, or print what is wrong and exit with status 2."""
    from bot.config import load_settings
    from bot.exceptions import ConfigError

    try:
        return load_settings()
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from a synchronous typer command."""
    import asyncio

    async def _main() -> T:
        return await factory()

    return asyncio.run(_main())


def with_sessions(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run `work` with a session factory on the configured database; it opens its own units
    of work."""
    from bot.db import create_engine, session_factory

    async def _main() -> T:
        engine = create_engine(settings.database.url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return run_async(_main)


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database (committed when it returns);
    a UserFacingError is printed, in English, and exits with status 1."""
    from bot.exceptions import UserFacingError
    from bot.i18n import t

    async def _one(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with sessions() as session, session.begin():
            return await work(session)

    try:
        return with_sessions(settings, _one)
    except UserFacingError as exc:
        err_console.print(f"[red]{t('en', exc.key, **exc.params)}[/red]")
        raise typer.Exit(1) from None
