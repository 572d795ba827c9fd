"""Spreadsheets (.xlsx, openpyxl) as every export writes them: named sheets of a header row and
rows, text cells safe from formula injection (a leading apostrophe on =, +, -, @, tab or
carriage return, so Excel/WPS show them as text and never evaluate them), and moments in the
district's local wall-clock time (Excel has no time zones). Used by the requests and service
exports (`export`) and the dual-reporting workbook (`bot.services.cobuild.workbook`)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from bot.config import Settings

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A sheet: its title, its header row and its rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def safe_cell(value: Any) -> Any:
    """A cell value that a spreadsheet will never evaluate as a formula."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def local_time(value: datetime | None, settings: Settings) -> datetime | None:
    """A moment as local wall-clock time without tzinfo (None stays None)."""
    return value.astimezone(settings.tz).replace(tzinfo=None) if value else None


def xlsx(sheets: Iterable[Sheet]) -> bytes:
    """A workbook of these sheets, in order, as .xlsx bytes; every text cell made safe."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(list(columns))
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
