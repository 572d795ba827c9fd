"""The CJK font redgrid ships (bot/data/fonts, SIL Open Font License): charts and printable
notices draw Chinese with it on a machine that has no CJK font installed."""

from __future__ import annotations

from pathlib import Path

BUNDLED_CJK = Path(__file__).resolve().parent / "data" / "fonts" / "RedgridSansSC-Subset.otf"
