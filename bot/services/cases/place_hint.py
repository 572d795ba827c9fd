"""Where in the compound a problem is, read from the resident's own words when they say it,
so the report asks only when it cannot tell."""

from __future__ import annotations

from typing import Literal

Place = Literal["common_area", "own_flat"]

# Words that put a problem in a shared space, or inside the resident's own flat.
COMMON_WORDS = (
    "楼道", "走廊", "楼梯", "电梯", "单元门", "小区", "公共", "路灯", "车库", "地下室", "天台",
    "stairwell", "staircase", "corridor", "hallway", "lift", "elevator", "common area",
    "street light", "car park", "basement",
)  # fmt: skip
OWN_WORDS = (
    "家里", "我家", "屋里", "屋内", "室内", "卧室", "厨房", "卫生间", "客厅", "户内",
    "my flat", "my apartment", "my home", "at home", "my kitchen", "my bathroom", "my bedroom",
)  # fmt: skip


def from_text(text: str) -> Place | None:
    """ "common_area" or "own_flat" when the words say which (and not both), else None."""
    lowered = text.lower()
    common = any(word in lowered for word in COMMON_WORDS)
    own = any(word in lowered for word in OWN_WORDS)
    if common == own:
        return None
    return "common_area" if common else "own_flat"
