"""Charts as PNG images (matplotlib, no display) with Chinese labels.

Chinese needs a CJK font, and a fresh machine may have none: redgrid ships one
(bot/data/fonts: a subset of Noto Sans CJK SC holding GB 2312's characters, under the SIL Open
Font License, see its LICENSE there), so charts draw Chinese with nothing but Python installed.
A CJK font found among the usual system fonts (Noto Sans CJK, WenQuanYi, Source Han Sans,
Droid Sans Fallback) comes second, for the rare characters the subset leaves out.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

# Figure objects, not pyplot: no global state, no GUI backend, safe in a server process.
from matplotlib import font_manager
from matplotlib.figure import Figure

from bot import fonts

BUNDLED_FONT = fonts.BUNDLED_CJK
# File-name fragments of system CJK fonts, preferred first.
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
def system_cjk_font() -> Path | None:
    """The path of an installed font file that has Chinese glyphs, or None."""
    files = font_manager.findSystemFonts(fontpaths=[d for d in SEARCH_DIRS if Path(d).is_dir()])
    files += font_manager.findSystemFonts()
    for fragment in CJK_FONT_NAMES:
        for name in sorted(set(files)):
            if fragment.lower() in Path(name).name.lower() and "bold" not in name.lower():
                return Path(name)
    return None


def cjk_font() -> Path | None:
    """The font Chinese labels are drawn in: the bundled one, else a system one."""
    return BUNDLED_FONT if BUNDLED_FONT.is_file() else system_cjk_font()


@cache
def _families() -> tuple[str, ...]:
    """Font families for Chinese text, first choice first (registered with matplotlib)."""
    families: list[str] = []
    for path in dict.fromkeys(p for p in (cjk_font(), system_cjk_font()) if p is not None):
        font_manager.fontManager.addfont(str(path))
        family = font_manager.FontProperties(fname=str(path)).get_name()
        if family not in families:
            families.append(family)
    return tuple(families)


def font_properties() -> font_manager.FontProperties | None:
    """Font properties for Chinese text (falling back to the next font per character), or
    None when no CJK font is there at all."""
    families = _families()
    if not families:
        return None
    return font_manager.FontProperties(family=[*families, "DejaVu Sans"])


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
