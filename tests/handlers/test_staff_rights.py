"""Rights: every staff command and button tried by a resident, by grid staff of another grid
and by the staff in scope (for admin commands: grid staff in scope and the admin); only the
last changes anything, and every refusal says what is missing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.services.cases import intake, workflow
from bot.services.cases import lookup as request_service
from models import Building, Compound, Request, Role
from tests.conftest import Bot
from tests.handlers.staff_journey import snapshot, staff_chat, unit_id

NO_ROLE = "仅限网格员"
OUT_OF_SCOPE = "不在您的管辖范围内"
ADMIN_ONLY = "管理员身份"


@dataclass(frozen=True)
class Attempt:
    name: str
    steps: tuple[str, ...]  # "press:<data>", "send:<text>", "photo:<file id>"
    prepare: tuple[str, ...] = ()  # workflow actions done first by the system
    admin: bool = False  # only an admin in scope may


MUTATING = (
    Attempt("accept", ("press:v1:acc:{id}",)),
    Attempt("return", ("press:v1:ret:{id}", "send:不归本网格")),
    Attempt("transfer", ("press:v1:trfc:{id}:{heshun2}",)),
    Attempt("start", ("press:v1:sst:{id}",), ("accept",)),
    Attempt("contact", ("press:v1:sct:{id}",)),
    Attempt("public note", ("press:v1:snp:{id}", "send:明天上门")),
    Attempt("internal note", ("press:v1:sni:{id}", "send:内部")),
    Attempt("ask info", ("press:v1:sai:{id}", "send:几楼？"), ("accept",)),
    Attempt("resolve", ("press:v1:srs:{id}", "send:已修好", "press:v1:srsok"), ("accept", "start")),
    Attempt("merge", ("press:v1:smg:{id}", "send:{other}")),
    Attempt("category", ("press:v1:scc:{id}:{category}",)),
    Attempt("photos", ("press:v1:sph:{id}", "photo:p-1", "press:v1:sphok")),
    Attempt("whistle", ("press:v1:swh:{id}", "press:v1:swok")),
    Attempt("volunteer task", ("press:v1:stk:{id}",)),
    Attempt("assign", ("send:/assign {ref} heshun-2",), admin=True),
    Attempt("escalate", ("send:/escalate {ref}",), admin=True),
)
READ_ONLY = (
    ("send:/find {ref}", False),
    ("press:v1:so:{id}", False),
    ("press:v1:trf:{id}", False),
    ("press:v1:trfu:{id}:{heshun}", False),
    ("press:v1:scat:{id}", False),
)


async def _submit(bot: Bot, prepare: tuple[str, ...] = ()) -> Request:
    async with bot.db.sessions() as session, session.begin():
        building = (
            await session.execute(
                select(Building)
                .join(Compound, Compound.id == Building.compound_id)
                .where(Compound.code == "haisheng-sunshine", Building.number == "17")
            )
        ).scalar_one()
        category = await request_service.get_category(session, slug="lighting")
        assert category is not None
        request = await intake.submit(
            session,
            reporter=None,
            category=category,
            description="楼道灯坏了",
            building_id=building.id,
            compound_id=building.compound_id,
            now=bot.clock(),
            settings=bot.engine.settings,
        )
        for action in prepare:
            await workflow.transition(
                session,
                request=request,
                action=action,
                actor=None,
                now=bot.clock(),
                settings=bot.engine.settings,
            )
        return request


async def _run(chat: TestChat, steps: tuple[str, ...], values: dict[str, object]) -> list[str]:
    texts: list[str] = []
    for step in steps:
        kind, _, value = step.partition(":")
        value = value.format(**values)
        if kind == "press":
            await chat.press_data(value)
        elif kind == "send":
            await chat.send(value)
        else:
            await chat.send_photo(value)
        texts += chat.texts
    return texts


async def _values(bot: Bot, request: Request, other: Request) -> dict[str, object]:
    async with bot.db.sessions() as session:
        category = await request_service.get_category(session, slug="facilities")
        assert category is not None
    return {
        "id": request.id,
        "ref": request.reference,
        "other": other.reference,
        "heshun2": await unit_id(bot, "heshun-2"),
        "heshun": await unit_id(bot, "heshun"),
        "category": category.id,
    }


@pytest.mark.parametrize("attempt", MUTATING, ids=[a.name for a in MUTATING])
async def test_only_staff_in_scope_change_anything(bot: Bot, attempt: Attempt) -> None:
    resident = bot.chat()
    outsider = await staff_chat(bot, unit="dahua-1")
    insider = await staff_chat(bot, unit="heshun-1")
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    request = await _submit(bot, attempt.prepare)
    other = await _submit(bot)
    values = await _values(bot, request, other)
    before = await snapshot(bot, request.id), await snapshot(bot, other.id)

    refusals = [(resident, NO_ROLE), (outsider, OUT_OF_SCOPE)]
    if attempt.admin:
        refusals = [(resident, ADMIN_ONLY), (outsider, ADMIN_ONLY), (insider, ADMIN_ONLY)]
    for chat, refusal in refusals:
        texts = await _run(chat, attempt.steps, values)
        assert any(refusal in text for text in texts), (chat.user_id, texts)
        after = await snapshot(bot, request.id), await snapshot(bot, other.id)
        assert after == before, chat.user_id

    allowed = admin if attempt.admin else insider
    texts = await _run(allowed, attempt.steps, values)
    assert not any(r in t for t in texts for r in (NO_ROLE, OUT_OF_SCOPE, ADMIN_ONLY)), texts
    assert await snapshot(bot, request.id) != before[0]


async def test_read_only_views_are_refused_outside_scope(bot: Bot) -> None:
    resident = bot.chat()
    outsider = await staff_chat(bot, unit="dahua-1")
    insider = await staff_chat(bot, unit="heshun-1")
    request = await _submit(bot)
    other = await _submit(bot)
    values = await _values(bot, request, other)
    before = await snapshot(bot, request.id)
    for step, _ in READ_ONLY:
        for chat, refusal in ((resident, NO_ROLE), (outsider, OUT_OF_SCOPE)):
            texts = await _run(chat, (step,), values)
            assert any(refusal in text for text in texts), (step, chat.user_id, texts)
        texts = await _run(insider, (step,), values)
        assert not any(NO_ROLE in t or OUT_OF_SCOPE in t for t in texts), (step, texts)
        assert request.reference in "".join(texts) or insider.buttons, step
    await resident.send("/queue")
    assert NO_ROLE in resident.last_text
    await outsider.send("/queue")
    assert request.reference not in outsider.last_text
    await insider.send("/queue")
    assert request.reference in insider.last_text
    assert await snapshot(bot, request.id) == before
