"""Everything `redgrid run` starts in one process: the HTTP app with the web chat, Telegram
when a token is set, the outbox sender and the scheduled sweeps; stopped together on a signal.

Several such processes may run on one PostgreSQL database: replies go out from the process that
handled the update, pushes are claimed with SKIP LOCKED, and each sweep runs in the one worker
holding its lease (bot.workers: each process keeps a heartbeat row while it runs)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.webchat import Hub, webchat_outputs
from bot.channels.webchat_fanout import Fanout
from bot.config import Settings, check_exposure
from bot.core.engine import Engine
from bot.core.flood import FloodGate, SharedFloodGate
from bot.core.output import OutputChannel
from bot.db import create_engine, is_sqlite, session_factory
from bot.metrics import Metrics, PartHealth
from bot.outbox import Sender
from bot.outbox.shared import SharedBudget
from bot.scheduler import build_scheduler
from bot.services.cases import learning
from bot.services.org import demo_fence
from bot.workers import Workers, worker_name
from handlers import build_router
from models import utcnow

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts of one running process, built by `build` and started by `serve_forever`."""

    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine
    sender: Sender
    metrics: Metrics
    workers: Workers
    telegram: Any = None  # bot.channels.telegram_common.TelegramAdapter when a token is set
    fanout: Fanout | None = None  # web chat pushes to the other workers (PostgreSQL)
    routers: list[APIRouter] = field(default_factory=list)


def build(settings: Settings) -> Runtime:
    """Wire the channels, the sender and the engine from settings (ConfigError when they are
    not safe to serve: demo identities on an address other machines reach)."""
    check_exposure(settings)
    db = create_engine(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    sessions = session_factory(db)
    workers, hub, fanout = _among_workers(settings, sessions)
    outputs: dict[str, OutputChannel] = dict(webchat_outputs(hub))
    telegram = None
    if settings.telegram.token is not None:
        from bot.channels.telegram_runtime import make_client

        telegram = make_client(settings.telegram)
        outputs[telegram.name] = telegram
    wechat = None
    if settings.wechat.enabled:
        from bot.channels.wechat.setup import make_channel

        wechat = make_channel(settings, sessions, utcnow)
        outputs[wechat.name] = wechat
    wecom = _wecom_outputs(settings, sessions, outputs)
    sender, engine, metrics = engine_parts(settings, sessions, outputs, workers)
    runtime = Runtime(settings, db, sessions, engine, sender, metrics, workers, telegram, fanout)
    if telegram is not None and settings.telegram.mode == "webhook":
        from bot.channels.telegram_runtime import make_telegram_router

        runtime.routers.append(make_telegram_router(settings, engine, telegram))
    if wechat is not None:
        from bot.channels.wechat.setup import make_router

        runtime.routers.append(
            make_router(
                settings,
                engine=engine,
                channel=wechat,
                sessions=sessions,
                sender=sender,
                clock=utcnow,
            )
        )
    _add_wecom_route(runtime, wecom)
    return runtime


def _among_workers(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[Workers, Hub, Fanout | None]:
    """This process among the workers of its database, and the web chat's hub: on
    PostgreSQL its pushes fan out to the pages connected to other workers."""
    workers = Workers(
        sessions,
        worker_name(),
        shared=not is_sqlite(settings.database.url),
        heartbeat_s=settings.workers.heartbeat_s,
        stale_after_s=settings.workers.stale_after_s,
        sharing=settings.workers.shared,
    )
    hub = Hub()
    fanout = None
    if workers.shared:
        fanout = Fanout(hub, sessions, settings.database.url, workers.id)
        hub.relay = fanout.announce
    return workers, hub, fanout


def engine_parts(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    outputs: dict[str, OutputChannel],
    workers: Workers,
) -> tuple[Sender, Engine, Metrics]:
    """The sender and the engine. Replies' deliveries are recorded together (a few at a time,
    or after 50 ms); with other workers (PostgreSQL) the send budget and the flood window are
    shared (`workers.shared`: by default only while other workers are alive)."""
    sender = Sender(
        sessions,
        outputs,
        settings.outbox,
        settings.tz,
        worker_id=workers.id,
        record_delay=0.05,
        shared=SharedBudget(workers) if workers.shared else None,
    )
    metrics = Metrics()
    per_minute = settings.requests.flood_per_minute
    engine = Engine(
        sessions=sessions,
        settings=settings,
        router=build_router(),
        outputs=outputs,
        sender=sender,
        metrics=metrics,
        flood=SharedFloodGate(per_minute, sessions, workers)
        if workers.shared
        else FloodGate(per_minute),
    )
    return sender, engine, metrics


def _add_wecom_route(runtime: Runtime, wecom: Any) -> None:
    """`GET/POST /wecom/callback` over the runtime's engine, when the app is configured."""
    if wecom is None:
        return
    from bot.channels.wecom.setup import make_router

    runtime.routers.append(
        make_router(
            runtime.settings,
            engine=runtime.engine,
            channel=wecom,
            sessions=runtime.sessions,
            clock=utcnow,
        )
    )


def _wecom_outputs(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    outputs: dict[str, OutputChannel],
) -> Any:
    """The WeCom app's channel (returned) and the group robots', when configured."""
    if settings.wecom.robots:
        from bot.channels.wecom.setup import make_robots

        robots = make_robots(settings)
        outputs[robots.name] = robots
    if not settings.wecom.enabled:
        return None
    from bot.channels.wecom.setup import make_channel

    wecom = make_channel(settings, sessions, utcnow)
    outputs[wecom.name] = wecom
    return wecom


def describe(runtime: Runtime) -> list[str]:
    """What is running and how to talk to it, for the console."""
    settings = runtime.settings
    lines = [f"web chat: http://{settings.web.host}:{settings.web.port}"]
    if settings.webchat.demo:
        lines.append("demo identities: on, for this machine only (webchat.demo)")
    if runtime.telegram is None:
        lines.append("telegram: off (set REDGRID_TELEGRAM__TOKEN to turn it on)")
    else:
        lines.append(f"telegram: {settings.telegram.framework}, {settings.telegram.mode}")
    if settings.wechat.enabled:
        lines.append(f"wechat: {settings.wechat.encrypt_mode} mode, callback /wechat/callback")
    if settings.wecom.enabled:
        lines.append(f"wecom: agent {settings.wecom.agent_id}, callback /wecom/callback")
    if settings.wecom.robots:
        lines.append(f"wecom group robots: {len(settings.wecom.robots)} units")
    return lines


async def end_demo(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Demo mode is off: withdraw what demo people handed out (their sessions are refused)."""
    async with sessions() as session, session.begin():
        removed = await demo_fence.end_demo_grants(session, now=utcnow())
    if removed:
        log.warning("demo mode is off: withdrew %d roles and invites demo people gave", removed)


def settle_heap() -> None:
    """Move what start-up built (code, message catalogs, the classifier's model, the
    frameworks' models) out of the garbage collector's sight. A full collection walked all of
    it every time: a pause of about a quarter of a second every few hundred updates, and on
    average a third of the CPU an update costs."""
    gc.collect()
    gc.freeze()


def _parts(runtime: Runtime, stop: asyncio.Event) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """What runs side by side: the HTTP app, the sender, and Telegram when it is configured."""
    from bot.web.app import create_app, serve

    settings = runtime.settings
    app = create_app(
        engine=runtime.engine,
        sessions=runtime.sessions,
        settings=settings,
        extra_routers=runtime.routers,
        metrics=runtime.metrics,
    )
    parts: list[Callable[[], Coroutine[Any, Any, None]]] = [
        lambda: serve(app, settings, stop),
        lambda: runtime.sender.run(stop),
        lambda: runtime.workers.run(stop),
    ]
    if runtime.fanout is not None:
        parts.append(lambda: runtime.fanout.run(stop))  # type: ignore[union-attr]
    if runtime.telegram is not None:
        from bot.channels.telegram_keeper import keep_telegram

        # Telegram failing to start never takes the web chat down: it retries on its own.
        health = runtime.metrics.parts.setdefault("telegram", PartHealth())
        parts.append(
            lambda: keep_telegram(
                settings,
                runtime.engine,
                runtime.telegram,
                stop=stop,
                health=health,
                serve_webhook_itself=False,
                concurrency=settings.telegram.polling_chats,
                workers=runtime.workers,
            )
        )
    return parts


async def serve_forever(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Run every part until `stop` is set (or SIGINT/SIGTERM), then shut down gracefully:
    the current updates finish, held ones are handled or left for redelivery, nothing
    half-done is flushed. Telegram failing to start is retried while the rest serves."""
    if not runtime.settings.webchat.demo:
        await end_demo(runtime.sessions)
    # The classifier's model (the newest one learnt from staff corrections, or the shipped
    # one) before the first resident waits for it; then the heap settles.
    await learning.load(runtime.sessions)
    settle_heap()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    await runtime.workers.beat()  # alive before it holds anything
    tasks = [asyncio.create_task(part()) for part in _parts(runtime, stop)]
    settings = runtime.settings
    scheduler = build_scheduler(
        sessions=runtime.sessions,
        settings=settings,
        clock=utcnow,
        metrics=runtime.metrics,
        workers=runtime.workers,
    )
    scheduler.start()
    try:
        done, _ = await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task in tasks and task.exception() is not None:
                log.error("a part stopped: %s", task.exception())
                stop.set()
        stop.set()
        # Updates the flood limit holds are handled within the grace period or given back.
        runtime.engine.stop_holding()
        scheduler.shutdown(wait=False)
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await runtime.db.dispose()
