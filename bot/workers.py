"""Several workers on one PostgreSQL database: who is alive, and who does what only one may.

Each process has a row in `workers` whose `heartbeat_at` it renews every `heartbeat_s`
seconds; a worker whose heartbeat is older than `stale_after_s` is dead (killed, frozen, cut
off), and one that stops gracefully deletes its row, so it is dead at once. A lease (`leases`,
one row per name: a sweep, Telegram polling) is held by one worker while that worker is alive;
any other takes it over as soon as the holder is dead, whatever it held it for. The database's
clock decides, so the workers' clocks may differ.

A worker that vanished without a word (SIGKILL, a crash, the OOM killer) leaves its row; when
its successor runs on the same machine, it need not wait out the heartbeat: the row records
the process (`pid`, its start time, and `pid_space`: the machine's boot and pid namespace,
where that pid names that process), and a worker finds at every beat the rows of its own
`pid_space` whose process is gone (no such pid, or a pid since reused by a process started at
another time) and deletes them, so what they held is free at once. A row from another machine
or container (another `pid_space`) cannot be checked and still goes by its heartbeat; so does
one whose process cannot be read (no /proc): only a certainly dead holder is taken over early.

Sharing (bot.core.flood, bot.outbox.shared) costs a lone worker a transaction or two per
update. `sharing` decides: "always"; "never" (one process, vouched for by whoever runs it);
"auto": share only while other workers are alive, as counted at each beat. A lone worker
still keeps its heartbeat and its leases (a statement every `heartbeat_s`, not per update),
so a second worker sees it, and it sees the second within a heartbeat (`alone` turns false
and the `on_switch` hooks run: the flood windows go to the database); what can be off around
such a switch is told in README "Several workers".

On SQLite there is one process (it holds the database's only writer lock), so nothing is
shared: every lease is this process's, and nothing is written.

A bottom module: it imports none of the layers nor the models (plain statements on the two
tables `models.worker` describes), so the scheduler, the channels and the sender may use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_BEAT = text(
    "INSERT INTO workers (id, started_at, heartbeat_at, host, pid, pid_space, pid_started) "
    "VALUES (:me, now(), now(), :host, :pid, :pid_space, :pid_started) "
    "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), host = :host, pid = :pid, "
    "pid_space = :pid_space, pid_started = :pid_started"
)
# The others on this machine and pid namespace, whose process this worker can look up.
_NEIGHBOURS = text(
    "SELECT id, pid, pid_started FROM workers "
    "WHERE pid_space = :pid_space AND id <> :me AND pid IS NOT NULL"
)
# Only the row of the process found gone (a new process with the same id wrote its own).
_BURY = text("DELETE FROM workers WHERE id = :id AND pid = :pid AND pid_started = :pid_started")
_OTHERS = text(
    "SELECT count(*) FROM workers WHERE id <> :me AND heartbeat_at > now() - "
    "make_interval(secs => :stale)"
)
_LEAVE = text("DELETE FROM workers WHERE id = :me")
# A worker silent this long is forgotten (its leases and rows were taken over long since).
FORGET_AFTER_S = 86400.0
FORGET_EVERY = 300  # beats
_FORGET = text("DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => :stale)")
_DROP_LEASES = text("DELETE FROM leases WHERE holder = :me")
_ALIVE = (
    "EXISTS (SELECT 1 FROM workers w WHERE w.id = {holder} AND w.heartbeat_at > now() - {stale})"
)
_STALE = "make_interval(secs => :stale)"
# Take the lease when it is free, already ours, or its holder is dead; one row back when ours.
_HOLD = text(
    "INSERT INTO leases (name, holder, taken_at) VALUES (:name, :me, now()) "
    "ON CONFLICT (name) DO UPDATE SET holder = :me, taken_at = now() "
    "WHERE leases.holder = :me OR NOT "
    + _ALIVE.format(holder="leases.holder", stale=_STALE)
    + " RETURNING holder"
)
_RELEASE = text("DELETE FROM leases WHERE name = :name AND holder = :me")
_LIVING = text("SELECT id FROM workers WHERE heartbeat_at > now() - " + _STALE + " ORDER BY id")


def worker_name() -> str:
    """This process's name among the workers: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Process:
    """Which process a worker is: on which machine (`host`, for people), its `pid`, where
    that pid means it (`pid_space`), and when it started (`started`, clock ticks since
    boot), so that a pid reused by a later process is not taken for it."""

    host: str
    pid: int
    pid_space: str | None
    started: int | None

    def params(self) -> dict[str, object]:
        return {
            "host": self.host[:100],
            "pid": self.pid,
            "pid_space": self.pid_space,
            "pid_started": self.started,
        }


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot); None when there is no such
    process (or no /proc to ask)."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def this_process() -> Process:
    """This process; without /proc (not Linux) no `pid_space`: never judged from afar."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = None
    space = f"{boot}/{namespace}" if boot and namespace else None
    pid = os.getpid()
    return Process(socket.gethostname(), pid, space, start_ticks(pid) if space else None)


def is_gone(pid: int, started: int | None) -> bool:
    """Whether the process that was `pid`, started at `started`, has certainly ended: no
    process has that pid now, or the one that has it started at another time."""
    if started is None:
        return False
    now = start_ticks(pid)
    if now is None:
        return Path("/proc/self/stat").exists() and not Path(f"/proc/{pid}").exists()
    return now != started


class Workers:
    """This process among the workers of one database (`shared`: PostgreSQL)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        worker_id: str,
        *,
        shared: bool,
        heartbeat_s: float = 2.0,
        stale_after_s: float = 10.0,
        sharing: str = "always",
        process: Process | None = None,
    ) -> None:
        self.sessions = sessions
        self.id = worker_id
        self.shared = shared
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.sharing = sharing
        self.process = process or this_process()
        self.others: int | None = None  # other living workers at the last beat ("auto")
        # When the last beat that went through was asked for (monotonic): see `fresh`.
        self._beat_asked: float | None = None
        # Called with the new `alone` when it changes ("auto"), after the beat that saw it.
        self.on_switch: list[Callable[[bool], Awaitable[None]]] = []

    @property
    def alone(self) -> bool:
        """Whether this worker may skip sharing now: "never", or "auto" and no other
        worker alive at the last beat (not before the first: shared until counted)."""
        if not self.shared or self.sharing == "never":
            return True
        return self.sharing == "auto" and self.others == 0

    def fresh(self) -> bool:
        """Whether the others surely still count this worker alive, by its own clock.

        The last beat that went through was stamped with the database's time when its
        transaction began, which is after it was asked for; the others count this worker dead
        `stale_after_s` after that stamp. A worker whose beats are late (a database pool
        queued up, an event loop starved) stops sending a heartbeat (at most half the staleness)
        before then, so a row
        the others take over from it is not sent by both (bot.outbox.sender)."""
        if not self.shared or self._beat_asked is None:
            return True
        margin = min(self.heartbeat_s, self.stale_after_s / 2)
        return time.monotonic() - self._beat_asked < self.stale_after_s - margin

    def _me(self) -> dict[str, object]:
        return {"me": self.id, **self.process.params()}

    async def beat(self) -> None:
        """Say this worker is alive now; forget the workers of this machine whose process
        is gone; count the others ("auto")."""
        if not self.shared:
            return
        was = self.alone
        asked = time.monotonic()
        async with self.sessions() as session, session.begin():
            await session.execute(_BEAT, self._me())
            await self._bury(session)
            if self.sharing == "auto":
                params = {"me": self.id, "stale": self.stale_after_s}
                self.others = (await session.execute(_OTHERS, params)).scalar_one()
        self._beat_asked = asked
        if self.alone != was:
            log.info("this worker %s", "is alone: sharing off" if self.alone else "shares now")
            for hook in self.on_switch:
                try:
                    await hook(self.alone)
                except Exception:
                    log.warning("switching sharing failed", exc_info=True)

    async def _bury(self, session: AsyncSession) -> None:
        """Delete the rows of this machine's workers whose process is gone: whatever they
        held is free at once, not after `stale_after_s`."""
        if self.process.pid_space is None:
            return
        params = {"me": self.id, "pid_space": self.process.pid_space}
        for row in (await session.execute(_NEIGHBOURS, params)).all():
            if is_gone(row.pid, row.pid_started):
                log.info("worker %s is gone (its process ended); taking its place", row.id)
                await session.execute(_BURY, dict(row._mapping))

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every `heartbeat_s` until `stop`, then leave. A beat the database refuses is
        logged and tried again next time (the others may take this worker's leases meanwhile:
        it finds them gone on its next `hold`)."""
        if not self.shared:
            await stop.wait()  # a part of the process: it ends with the others
            return
        beats = 0
        while not stop.is_set():
            try:
                await self.beat()
                if beats % FORGET_EVERY == 0:  # rows of workers killed long ago
                    await self._forget_the_dead()
            except Exception:
                log.warning("worker heartbeat failed; trying again", exc_info=True)
            beats += 1
            await _until(stop, self.heartbeat_s)
        await self.leave()  # not when cancelled: a killed worker says nothing either

    async def _forget_the_dead(self) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(_FORGET, {"stale": FORGET_AFTER_S})

    async def leave(self) -> None:
        """Stop being a worker: the leases held are free at once (graceful shutdown)."""
        if not self.shared:
            return
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(_DROP_LEASES, {"me": self.id})
                await session.execute(_LEAVE, {"me": self.id})
        except Exception:
            log.warning("could not leave the workers' table; the others wait out the heartbeat")

    async def hold(self, name: str) -> bool:
        """Whether this worker holds the lease `name` now: taken when free or when its
        holder is dead, kept while held (always true on SQLite)."""
        if not self.shared:
            return True
        params = {"name": name, "me": self.id, "stale": self.stale_after_s}
        async with self.sessions() as session, session.begin():
            # Alive first: a worker holding a lease is one the others see alive, so two
            # first-comers racing for a new lease cannot both win it.
            await session.execute(_BEAT, self._me())
            held = (await session.execute(_HOLD, params)).scalar_one_or_none()
        return held == self.id

    async def release(self, name: str) -> None:
        """Give the lease `name` up (when this worker held it)."""
        if self.shared:
            async with self.sessions() as session, session.begin():
                await session.execute(_RELEASE, {"name": name, "me": self.id})

    async def while_held(
        self, name: str, stop: asyncio.Event, run: Callable[[asyncio.Event], Awaitable[None]]
    ) -> None:
        """Until `stop`: whenever this worker holds the lease `name`, `run(until)`, where
        `until` is set when `stop` is or the lease is lost (checked every heartbeat); while
        another worker holds it, wait and ask again. On SQLite, simply `run(stop)`."""
        if not self.shared:
            await run(stop)
            return
        while not stop.is_set():
            try:
                held = await self.hold(name)
            except Exception:
                log.warning("could not ask for the lease %s; asking again", name, exc_info=True)
                held = False
            if not held:
                await _until(stop, self.heartbeat_s)
                continue
            log.info("this worker holds %s now", name)
            until = asyncio.Event()
            watcher = asyncio.create_task(self._watch(name, stop, until))
            try:
                await run(until)
            finally:
                until.set()
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch(self, name: str, stop: asyncio.Event, until: asyncio.Event) -> None:
        """Set `until` when `stop` is set or the lease `name` went to another worker."""
        while not until.is_set():
            await _until(stop, self.heartbeat_s)
            if stop.is_set():
                break
            try:
                if not await self.hold(name):
                    log.warning("another worker took %s over; stopping it here", name)
                    break
            except Exception:  # the database is away: the others cannot take it either
                log.warning("could not renew the lease %s", name, exc_info=True)
        until.set()

    async def living(self) -> list[str]:
        """The ids of the workers alive now (just this one on SQLite)."""
        if not self.shared:
            return [self.id]
        async with self.sessions() as session:
            rows = await session.execute(_LIVING, {"stale": self.stale_after_s})
            return [row[0] for row in rows]


async def _until(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
