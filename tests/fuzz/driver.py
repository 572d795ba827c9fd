"""Drives generated conversations through the real engine and checks the invariants.

A `Fuzz` holds one example's actors (residents, a grid worker, a community admin), draws each
step from Hypothesis (`data.draw`, so examples shrink and replay from a seed), feeds it to the
engine, and checks after every update and at the end of the example:

- no handler crashed (ProcessResult.status is never "failed") and nothing raised;
- every update is answered, except a redelivered one, which is recognised as a duplicate;
- a request changes only by someone entitled to: its reporter, or staff holding a role over
  the unit that owned it; a new request is reported by the person who wrote;
- a resident never sees the reference of another resident's request, unless they follow it
  or it is offered to them as "the same problem" (same building and category);
- every request has an owner and a history whose last status change ends in its status;
- every outbox row is deliverable: its payload round-trips, button data decodes and fits in
  64 bytes, labels are not empty, no text carries a bidirectional control; after the sender
  runs, nothing is left for the test channel.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import buttons as button_codec
from bot.channels.testing import TestChannel, TestChat
from bot.core.engine import Engine, ProcessResult
from bot.messages import Incoming, Outgoing, Photo
from bot.services.cases import actions as cases_actions
from bot.services.org import scope
from models import (
    ChannelIdentity,
    OrgUnit,
    OutboxMessage,
    Person,
    Request,
    RequestEvent,
    RequestFollower,
    Role,
    RoleGrant,
)
from tests.fuzz import strategies as gen
from tests.fuzz.conftest import FIGURES
from tests.handlers.journey import onboard, report_light

REFERENCE = re.compile(r"[A-Z]{1,6}-\d{4}-\d{6}")
STEP_KINDS = (
    ["visible"] * 8
    + ["text"] * 4
    + ["command"] * 3
    + ["stale", "foreign", "forged", "forged", "garbage", "location", "contact", "photo"]
    + ["voice", "document", "other", "duplicate", "pump", "pump", "group", "language"]
)


# Open bugs reported to their owner, each with its regression test: a crash matching one is
# counted under "known" in the figures instead of failing the run. Remove an entry once fixed.
KNOWN_BUGS: dict[str, str] = {}

# REDGRID_FUZZ_SURVEY=1: record every distinct violation and go on (to list all holes at once)
SURVEY = os.environ.get("REDGRID_FUZZ_SURVEY") == "1"


class InvariantError(AssertionError):
    """An invariant did not hold."""


class CrashLog(logging.Handler):
    """Keeps the last traceback the engine logged, to name the crash in a failure."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = traceback.extract_tb(record.exc_info[2])
            where = next(
                (
                    f"{f.filename.split('/work/main/')[-1]}:{f.lineno}"
                    for f in reversed(frames)
                    if "/work/main/" in f.filename
                ),
                "?",
            )
            self.last = f"{type(error).__name__}: {str(error)[:200]} at {where}"


CRASHES = CrashLog()
logging.getLogger("bot.core.engine").addHandler(CRASHES)


@dataclass
class Actor:
    chat: TestChat
    role: str  # resident | staff | admin | steward
    person_ids: set[int] = field(default_factory=set)
    last: Incoming | None = None


class Fuzz:
    """One generated example: its actors, the engine, and the checks."""

    def __init__(self, engine: Engine, channel: TestChannel, db: Any, data: Any) -> None:
        self.engine = engine
        self.channel = channel
        self.db = db
        self.data = data
        self.actors: list[Actor] = []
        self.commands = sorted(engine.router.commands)
        self.actions = sorted(engine.router.buttons)
        self.seen: list[str] = []  # every button data shown to anyone
        self.references: list[str] = []
        self.log: list[str] = []  # what was sent, for the failure report
        self.snapshot: dict[int, tuple[str, int, int | None]] = {}

    # --- set-up --------------------------------------------------------------------------
    async def add_staff(self, user_id: str, role: Role, unit_code: str, label: str) -> None:
        async with self.db.sessions() as session, session.begin():
            person = Person(display_name=user_id, language="zh")
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(
                    person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
                )
            )
            unit = (
                await session.execute(select(OrgUnit).where(OrgUnit.code == unit_code))
            ).scalar_one()
            session.add(RoleGrant(person_id=person.id, role=role, unit_id=unit.id))
        chat = TestChat(self.engine, self.channel, user_id=user_id)
        self.actors.append(Actor(chat, label, {person.id}))

    def add_resident(self, user_id: str, language_code: str | None) -> None:
        chat = TestChat(self.engine, self.channel, user_id=user_id, language_code=language_code)
        self.actors.append(Actor(chat, "resident"))

    async def warm_up(self) -> None:
        """A scripted onboarding and report by the first resident, so deep states are near."""
        first = self.actors[0]
        before = len(self.channel.sent[first.chat.chat_id])
        await onboard(first.chat)
        reference = await report_light(first.chat)
        FIGURES.scripted += 14
        self.references.append(reference)
        await self._remember(first)
        self._collect_buttons(self.channel.sent[first.chat.chat_id][before:])
        await self.pump()

    # --- one step ------------------------------------------------------------------------
    async def step(self) -> None:
        draw = self.data.draw
        actor = self.actors[draw(st.integers(0, len(self.actors) - 1), label="actor")]
        kind = draw(st.sampled_from(STEP_KINDS), label="kind")
        if kind == "pump":
            await self.pump()
            return
        if kind == "duplicate":
            if actor.last is None:
                return
            await self.deliver(actor, actor.last, duplicate=True)
            return
        incoming = self._incoming(actor, kind)
        if incoming is not None:
            await self.deliver(actor, incoming)

    def _incoming(self, actor: Actor, kind: str) -> Incoming | None:
        draw, chat = self.data.draw, actor.chat
        if kind == "text":
            return chat.incoming("text", text=draw(gen.text(), label="text"))
        if kind == "group":
            return chat.incoming("text", text=draw(gen.short_text()), is_group=True)
        if kind == "language":
            chat.language_code = draw(gen.language_code(), label="language")
            return chat.incoming("text", text=draw(gen.short_text()))
        if kind == "command":
            names = [*self.commands, "nosuchcommand", "START", "", "x" * 100]
            command = draw(st.sampled_from(names), label="command")
            args = draw(self._args(), label="args")
            return chat.incoming("command", command=command, args=args)
        if kind in ("visible", "stale", "foreign", "forged", "garbage"):
            data = self._button(actor, kind)
            return None if data is None else chat.incoming("button", button_data=data)
        if kind == "location":
            lat, lon = draw(gen.location(), label="location")
            return chat.incoming("location", latitude=lat, longitude=lon)
        if kind == "contact":
            others = [a.chat.user_id for a in self.actors]
            user = draw(st.sampled_from(["", chat.user_id, *others, "999999"]), label="contact")
            return chat.incoming("contact", contact_phone=draw(gen.phone()), contact_user_id=user)
        if kind == "photo":
            sizes = draw(st.lists(gen.photo_size(), max_size=3), label="photos")
            photos = tuple(Photo(f"photo-{i}", size) for i, size in enumerate(sizes))
            return chat.incoming("photo", photos=photos, text=draw(gen.short_text()))
        if kind == "voice":
            duration = draw(st.sampled_from([None, 0, -1, 5, 2**31]), label="duration")
            return chat.incoming("voice", voice_file_id="voice-1", voice_duration=duration)
        if kind == "document":
            return chat.incoming(
                "document", document_file_id="doc-1", document_name=draw(gen.short_text())
            )
        return chat.incoming("other")

    def _args(self) -> st.SearchStrategy[str]:
        payloads = st.sampled_from(
            # ids, deep links and numbers past an id column or not in ASCII digits
            [
                *("c_1", "c_0", "c_", "c_99999999999999", "c_-1"),
                *("m_1", "m_x", "m_99999999999"),
                *("1", "2", "99999999999", "²", "٣", "#1", "#²"),
            ]
        )
        refs = st.sampled_from(self.references) if self.references else st.just("JM-2026-000001")
        units = st.sampled_from(["heshun-1", "heshun-2", "dahua", "jimo", "police", "nosuch"])
        pair = st.tuples(refs, units).map(" ".join)
        return st.one_of(st.just(""), gen.short_text(), payloads, refs, pair)

    def _button(self, actor: Actor, kind: str) -> str | None:
        draw = self.data.draw
        if kind == "garbage":
            return draw(gen.garbage_data(self.actions), label="garbage")
        own = [
            b.data for m in self.channel.sent[actor.chat.chat_id] for row in m.buttons for b in row
        ]
        if kind == "visible":
            pool = _latest_buttons(self.channel.sent[actor.chat.chat_id])
        elif kind == "stale":
            pool = own
        else:
            pool = self.seen
        if not pool:
            return None
        data = draw(st.sampled_from(pool), label=kind)
        if kind != "forged":
            return data
        decoded = button_codec.decode(data)
        if decoded is None:
            return data
        args = list(decoded.args) or [""]
        index = draw(st.integers(0, len(args)), label="forged_index")
        if index == len(args):
            args.append(draw(gen.forged_arg()))
        else:
            args[index] = draw(gen.forged_arg(), label="forged_arg")
        return ":".join(["v1", decoded.action, *args])

    # --- running and checking -----------------------------------------------------------
    async def deliver(self, actor: Actor, incoming: Incoming, *, duplicate: bool = False) -> None:
        chat = actor.chat
        if not self.snapshot:
            self.snapshot = await self._requests()
        before_requests = self.snapshot
        before = len(self.channel.sent[chat.chat_id])
        self.log.append(f"{chat.user_id} {incoming.kind} {_short(incoming)}")
        result: ProcessResult = await self.engine.process(incoming)
        FIGURES.updates += 1
        actor.last = incoming
        new = self.channel.sent[chat.chat_id][before:]
        if result.status == "failed":
            known = next((v for k, v in KNOWN_BUGS.items() if k in CRASHES.last), None)
            if known is not None:
                FIGURES.known[known] = FIGURES.known.get(known, 0) + 1
                return
            self._check(False, f"crash: {CRASHES.last} on {_short(incoming)}")
        if duplicate:
            self._check(result.status == "duplicate", "a redelivered update was handled again")
            self._check(not new, "a redelivered update was answered again")
            return
        self._check(result.status != "duplicate", "a fresh update was taken for a duplicate")
        self._check(bool(new), f"no answer to {_short(incoming)}")
        if result.status == "handled" and incoming.kind in ("button", "command"):
            decoded = button_codec.decode(incoming.button_data)
            FIGURES.handled.add(
                f"/{incoming.command}"
                if incoming.kind == "command"
                else (decoded.action if decoded else "?")
            )
        await self._remember(actor)
        self.snapshot = await self._requests()
        await self._check_changes(actor, before_requests, self.snapshot)
        self._collect_buttons(new)
        await self._check_visible(actor, new)

    async def pump(self) -> None:
        """Deliver pending pushes, then check what residents received."""
        sender = self.engine.sender
        assert sender is not None
        sizes = {a.chat.chat_id: len(self.channel.sent[a.chat.chat_id]) for a in self.actors}
        for _ in range(50):
            taken = await sender.pump()  # type: ignore[attr-defined]
            FIGURES.pushes += taken
            if not taken:
                break
        for actor in self.actors:
            new = self.channel.sent[actor.chat.chat_id][sizes[actor.chat.chat_id] :]
            self._collect_buttons(new)
            await self._check_visible(actor, new)

    def _check(self, condition: bool, message: str) -> None:
        FIGURES.invariants += 1
        if condition:
            return
        FIGURES.failures += 1
        recent = "\n  ".join(self.log[-12:])
        if SURVEY:
            key = re.sub(r"\d+", "N", message.split(" {")[0])[:160]
            FIGURES.found.setdefault(key, f"{message}\n  {recent}")
            return
        raise InvariantError(f"{message}\nlast updates:\n  {recent}")

    def _collect_buttons(self, messages: list[Outgoing]) -> None:
        for message in messages:
            self.seen += [b.data for row in message.buttons for b in row]
            self.references += REFERENCE.findall(message.text)
        del self.seen[:-300]
        self.references = sorted(set(self.references))[-20:]

    async def _remember(self, actor: Actor) -> None:
        """Note the person behind the chat (a new one after erasing their data)."""
        async with self.db.sessions() as session:
            query = select(ChannelIdentity.person_id).where(
                ChannelIdentity.channel == "test",
                ChannelIdentity.external_id == actor.chat.user_id,
            )
            person_id = (await session.execute(query)).scalar_one_or_none()
        if person_id is not None:
            actor.person_ids.add(person_id)

    async def _requests(self) -> dict[int, tuple[str, int, int | None]]:
        async with self.db.sessions() as session:
            rows = await session.execute(
                select(Request.id, Request.status, Request.owner_unit_id, Request.reporter_id)
            )
            return {row[0]: (str(row[1]), row[2], row[3]) for row in rows}

    async def _check_changes(
        self,
        actor: Actor,
        before: dict[int, tuple[str, int, int | None]],
        after: dict[int, tuple[str, int, int | None]],
    ) -> None:
        """Rights: whoever changed a request was entitled to."""
        for request_id, now in after.items():
            old = before.get(request_id)
            if old is None:
                self._check(now[2] in actor.person_ids, "a request was filed for someone else")
                continue
            if old[:2] == now[:2]:
                continue
            if old[2] in actor.person_ids:
                continue
            async with self.db.sessions() as session:
                entitled = False
                for person_id in actor.person_ids:
                    entitled = entitled or await scope.holds_role(
                        session, person_id=person_id, roles=scope.STAFF_ROLES, unit_id=old[1]
                    )
            self._check(
                entitled,
                f"{actor.role} {actor.chat.user_id} changed request {request_id} {old} -> {now} "
                "without a right over it",
            )

    async def _check_visible(self, actor: Actor, messages: list[Outgoing]) -> None:
        """A resident sees only references of requests they reported, follow, or are offered."""
        if actor.role != "resident":
            return
        for message in messages:
            offered = {
                decoded.args[0]
                for row in message.buttons
                for b in row
                if (decoded := button_codec.decode(b.data))
                and decoded.action == cases_actions.ME_TOO.wire
            }
            for reference in set(REFERENCE.findall(message.text)):
                async with self.db.sessions() as session:
                    request = (
                        await session.execute(select(Request).where(Request.reference == reference))
                    ).scalar_one_or_none()
                    if request is None:
                        continue  # the person typed it; it names nothing
                    follows = (
                        await session.execute(
                            select(func.count())
                            .select_from(RequestFollower)
                            .where(
                                RequestFollower.request_id == request.id,
                                RequestFollower.person_id.in_(actor.person_ids or {0}),
                            )
                        )
                    ).scalar_one()
                self._check(
                    request.reporter_id in actor.person_ids
                    or follows > 0
                    or str(request.id) in offered
                    or _echoed(reference, self.log, actor.chat.user_id),
                    f"resident {actor.chat.user_id} was shown {reference}, not theirs",
                )

    async def check_end(self) -> None:
        """The invariants on the whole database at the end of an example."""
        await self.pump()
        async with self.db.sessions() as session:
            requests = list((await session.execute(select(Request))).scalars())
            units = set((await session.execute(select(OrgUnit.id))).scalars())
            FIGURES.requests += len(requests)
            for request in requests:
                self._check(request.owner_unit_id in units, f"{request.reference} has no owner")
                last = (
                    await session.execute(
                        select(RequestEvent.to_status)
                        .where(
                            RequestEvent.request_id == request.id,
                            RequestEvent.to_status.is_not(None),
                        )
                        .order_by(RequestEvent.id.desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
                self._check(
                    last == request.status.value,
                    f"{request.reference} is {request.status.value} but its history says {last}",
                )
            rows = list((await session.execute(select(OutboxMessage))).scalars())
        for row in rows:
            self._check(_deliverable(row.payload), f"outbox row {row.id} undeliverable")
            if row.channel == "test":
                self._check(
                    row.status in ("sent", "unreachable"),
                    f"outbox row {row.id} to {row.chat_id} left {row.status}",
                )


def _latest_buttons(messages: list[Outgoing]) -> list[str]:
    for message in reversed(messages):
        if message.buttons:
            return [b.data for row in message.buttons for b in row]
    return []


def _deliverable(payload: dict[str, Any]) -> bool:
    message = Outgoing.from_payload(payload)
    if message.to_payload() != payload:
        return False
    if not (message.text or message.photo or message.document):
        return False
    if gen.BIDI.intersection(message.text):
        return False
    for row in message.buttons:
        for button in row:
            if gen.BIDI.intersection(button.label) or not button.label.strip():
                return False
            if button_codec.decode(button.data) is None:
                return False
            if len(button.data.encode()) > button_codec.MAX_BYTES:
                return False
    return True


def _echoed(reference: str, log: list[str], user_id: str) -> bool:
    """The person typed the reference themselves: echoing their own input is fine, at once or
    later (words typed while a question waits are kept and quoted back)."""
    return any(line.startswith(f"{user_id} ") and reference in line for line in log)


def _short(incoming: Incoming) -> str:
    fields = {
        "text": incoming.text,
        "command": incoming.command,
        "args": incoming.args,
        "button_data": incoming.button_data,
        "latitude": incoming.latitude,
        "longitude": incoming.longitude,
        "contact_phone": incoming.contact_phone,
        "contact_user_id": incoming.contact_user_id,
        "photos": incoming.photos,
        "is_group": incoming.is_group,
        "update_id": incoming.update_id,
    }
    shown = {k: v for k, v in fields.items() if v not in ("", None, (), False)}
    return repr(shown)[:300]
