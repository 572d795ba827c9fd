"""Charts as PNG images (matplotlib, no display) with Chinese labels.

Chinese needs a CJK font: the first one found among the usual system fonts (Noto Sans CJK
from fonts-noto-cjk, WenQuanYi Micro Hei / Zen Hei, Source Han Sans, Droid Sans Fallback).
Without one, matplotlib would draw every Chinese character as a box, so `cjk_font()` says
so (None): the chart is still drawn, and callers may prefer English labels then.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

# Figure objects, not pyplot: no global state, no GUI backend, safe in a server process.
from matplotlib import font_manager
from matplotlib.figure import Figure

# File-name fragments of CJK fonts, preferred first.
CJK_FONT_NAMES: tuple[str, ...] = (
    "NotoSansCJK",
    "NotoSansSC",
    "SourceHanSans",
    "wqy-microhei",
    "wqy-zenhei",
    "NotoSerifCJK",
    "DroidSansFallback",
)
SEARCH_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    str(Path.home() / ".fonts"),
    str(Path.home() / ".local/share/fonts"),
)


@cache
def cjk_font() -> Path | None:
    """The path of a font file that has Chinese glyphs, or None when none is installed."""
    files = font_manager.findSystemFonts(fontpaths=[d for d in SEARCH_DIRS if Path(d).is_dir()])
    files += font_manager.findSystemFonts()
    for fragment in CJK_FONT_NAMES:
        for name in sorted(set(files)):
            if fragment.lower() in Path(name).name.lower() and "bold" not in name.lower():
                return Path(name)
    return None


def font_properties() -> font_manager.FontProperties | None:
    """Font properties for Chinese text, or None (no CJK font)."""
    path = cjk_font()
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))


def rates_figure(
    *,
    title: str,
    labels: list[str],
    series: dict[str, list[float | None]],
) -> Figure:
    """A grouped horizontal bar chart of rates (0..1) per label, in percent."""
    font = font_properties()
    rows = max(len(labels), 1)
    figure = Figure(figsize=(9, 1.4 + 0.3 * rows * max(len(series), 1)))
    axes = figure.add_subplot()
    height = 0.8 / max(len(series), 1)
    positions = list(range(len(labels)))
    for index, (name, values) in enumerate(series.items()):
        shifted = [p + index * height for p in positions]
        axes.barh(shifted, [100 * (v or 0.0) for v in values], height=height, label=name)
    axes.set_yticks([p + height * (len(series) - 1) / 2 for p in positions])
    axes.set_yticklabels(labels, fontproperties=font)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("%")
    axes.set_title(title, fontproperties=font)
    axes.legend(prop=font, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    return figure


def png(figure: Figure) -> bytes:
    """Render a figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def rates_chart(*, title: str, labels: list[str], series: dict[str, list[float | None]]) -> bytes:
    """`rates_figure` rendered as PNG bytes."""
    return png(rates_figure(title=title, labels=labels, series=series))
