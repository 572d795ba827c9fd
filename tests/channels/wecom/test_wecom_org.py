"""People's WeCom userids in the district file: `wecom_userid` is an identity on the "wecom"
channel, alone or beside others; a second import changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.exceptions import ImportFileError
from bot.services.org.importer import DEMO_FILE, import_org
from models import ChannelIdentity, Person
from tests.conftest import TestDB

DEMO = DEMO_FILE.read_text(encoding="utf-8")
PEOPLE = """
  - display_name: 郑网格（企业微信）
    language: zh
    wecom_userid: ZhengWangGe
    roles: [{role: grid_staff, unit: heshun-1}]
  - display_name: 钱志愿
    wecom_userid: qian.zhiyuan
    identities: [{channel: telegram, external_id: "5550001"}]
"""


def with_people(document: str) -> str:
    return document.replace("\npeople:\n", "\npeople:\n" + PEOPLE.lstrip("\n"), 1)


async def test_wecom_userids_become_identities(db: TestDB) -> None:
    document = with_people(DEMO)
    async with db.sessions() as session, session.begin():
        await import_org(session, document=document)
        again = await import_org(session, document=document)
        rows = (
            await session.execute(
                select(Person.display_name, ChannelIdentity.channel, ChannelIdentity.chat_id)
                .join(Person, Person.id == ChannelIdentity.person_id)
                .where(Person.display_name.in_(["郑网格（企业微信）", "钱志愿"]))
                .order_by(Person.display_name, ChannelIdentity.channel)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("郑网格（企业微信）", "wecom", "ZhengWangGe"),
        ("钱志愿", "telegram", "5550001"),
        ("钱志愿", "wecom", "qian.zhiyuan"),
    ]
    assert not again.created


async def test_a_person_without_any_identity_is_refused(db: TestDB) -> None:
    broken = DEMO.replace("\npeople:\n", "\npeople:\n  - display_name: 无名\n    language: zh\n", 1)
    async with db.sessions() as session, session.begin():
        with pytest.raises(ImportFileError):
            await import_org(session, document=broken)
        with pytest.raises(ImportFileError):
            await import_org(session, document=with_people(DEMO).replace("ZhengWangGe", "有 空格"))
