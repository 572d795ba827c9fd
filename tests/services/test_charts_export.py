"""The stats chart draws Chinese with a CJK font; exports mask phones and defuse formulas."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from openpyxl import load_workbook

from bot.config import Settings
from bot.services.reports import charts, export, sheets, stats
from models import Person, Role
from tests import factories as f
from tests.conftest import TestDB

LABELS = ["和顺社区第一网格", "和顺社区第二网格"]


@pytest.fixture
def fresh_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine with no CJK font installed: only the bundled one is there."""
    monkeypatch.setattr(charts, "system_cjk_font", lambda: None)
    charts._families.cache_clear()
    yield
    charts._families.cache_clear()


def _chinese_figure() -> tuple[Figure, bytes]:
    figure = charts.rates_figure(
        title="和顺社区 2026-11 三率",
        labels=LABELS,
        series={"响应率": [0.5, 1.0], "解决率": [2 / 3, None], "满意率": [2 / 3, None]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail the test
        image = charts.png(figure)
    return figure, image


@pytest.mark.usefixtures("fresh_machine")
def test_chart_renders_chinese_with_the_bundled_font_on_a_fresh_machine() -> None:
    from fontTools.ttLib import TTFont

    assert charts.cjk_font() == charts.BUNDLED_FONT
    figure, image = _chinese_figure()
    assert image.startswith(b"\x89PNG")
    texts = [
        t for t in figure.findobj(Text) if any("\u4e00" <= ch <= "\u9fff" for ch in t.get_text())
    ]
    assert {t.get_text() for t in texts} >= {*LABELS, "和顺社区 2026-11 三率", "响应率"}
    for text in texts:
        used = font_manager.findfont(text.get_fontproperties())
        assert Path(used) == charts.BUNDLED_FONT, (text.get_text(), used)
    # The font really has the glyphs (it is not a Latin font with a CJK-like name).
    cmap = TTFont(str(charts.BUNDLED_FONT)).getBestCmap()
    assert all(ord(ch) in cmap for label in LABELS for ch in label)


def test_the_bundled_font_comes_with_its_licence() -> None:
    licence = (charts.BUNDLED_FONT.parent / "LICENSE").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence


def test_formula_injection_is_neutralised() -> None:
    for dangerous in ("=1+2", "+86", "-1", "@SUM(A1)", "\tx"):
        assert sheets.safe_cell(dangerous) == "'" + dangerous
    assert sheets.safe_cell("楼道灯坏了") == "楼道灯坏了"
    assert sheets.safe_cell(3) == 3


def test_phones_are_masked() -> None:
    assert export.mask_phone("13812345678") == "138****5678"
    assert export.mask_phone("12345") == "*****"
    assert export.mask_phone(None) == ""


async def test_requests_workbook_masks_and_defuses(db: TestDB, settings: Settings) -> None:
    now = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        reporter = Person(display_name='=HYPERLINK("http://x")', phone="13812345678")
        session.add(reporter)
        await session.flush()
        request = await f.request(session, org=org, reporter=reporter, now=now)
        request.description = "=cmd|' /C calc'!A0"
        await session.flush()
        district_admin = await f.person(session, role=Role.admin, unit=org.district)
        start, end, _ = stats.period_bounds("2026-11", now=now, tz=settings.tz)
        # The community admin (phone-visible kind) sees numbers; the district admin does not.
        assert await export.may_see_phones(
            session, person_id=org.admin.id, unit=org.community, settings=settings
        )
        assert not await export.may_see_phones(
            session, person_id=district_admin.id, unit=org.community, settings=settings
        )
        masked = await export.requests_workbook(
            session, unit=org.community, start=start, end=end, show_phones=False, settings=settings
        )
        shown = await export.requests_workbook(
            session, unit=org.community, start=start, end=end, show_phones=True, settings=settings
        )
        outside = await export.requests_workbook(
            session,
            unit=org.community,
            start=start - timedelta(days=60),
            end=start - timedelta(days=30),
            show_phones=True,
            settings=settings,
        )
        service = await export.service_workbook(
            session, unit=org.community, start=start, end=end, settings=settings
        )

    def rows(content: bytes, sheet: str) -> list[list[object]]:
        book = load_workbook(io.BytesIO(content))
        return [list(r) for r in book[sheet].iter_rows(values_only=True)]

    header, row = rows(masked, "requests")
    record = dict(zip(header, row, strict=True))
    assert record["reference"] == request.reference
    assert record["reporter_phone"] == "138****5678"
    assert record["description"] == "'=cmd|' /C calc'!A0"
    assert record["reporter"] == '\'=HYPERLINK("http://x")'
    header, row = rows(shown, "requests")
    assert dict(zip(header, row, strict=True))["reporter_phone"] == "13812345678"
    events = rows(masked, "events")
    assert events[0][0] == "reference" and {e[2] for e in events[1:]} >= {"submitted", "routed"}
    assert len(rows(outside, "requests")) == 1  # the header only
    assert rows(service, "service_records")[0][0] == "volunteer_id"
