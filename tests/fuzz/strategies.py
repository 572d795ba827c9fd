"""Hypothesis strategies for hostile and odd input: text, button data, places, payloads."""

from __future__ import annotations

import math

from hypothesis import strategies as st

FRAGMENTS = [
    "",
    "   ",
    "1",
    "2",
    "3",
    "0",
    "99",
    "2-301",
    "楼道灯坏了好几天了，晚上黑漆漆的",
    "家里漏水了，很急",
    "小区门口有人乱贴小广告",
    "<script>alert(1)</script>",
    "<b>粗体</b><a href='javascript:x'>link</a>",
    "**bold** _it_ `code` [x](http://example.com) ||spoiler||",
    "'; DROP TABLE requests; --",
    "1 OR 1=1; SELECT * FROM persons",
    "%s %(x)s {0} {name} {reference!r} %d",
    "\u202eRTL override\u202c",
    "\u2067عربي\u2069 JM-2026-000001",
    "\u202a\u202b\u202d\u2066\u2068\u200e\u200f\u061c",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u200b\u200c\u200d\ufeff",
    "👍🏽🏳️‍🌈🧑‍🔧",
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\r\n\t\x0b\x0c",
    "\ud7ff\ue000\uffff",
    "JM-2026-000001",
    "JM-2026-999999",
    "/start",
    "@everyone",
    "13812345678",
    "+86 138 1234 5678",
]

LONG_SIZES = [3999, 4000, 4095, 4096, 4097, 5000]
# Bidirectional controls: none may reach what the bot shows anyone.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def text() -> st.SearchStrategy[str]:
    """Any text a person could type: fragments, random unicode (control characters too),
    mixes of both, and very long messages around the length limit."""
    fragment = st.sampled_from(FRAGMENTS)
    return st.one_of(
        fragment,
        st.text(max_size=60),
        st.lists(st.one_of(fragment, st.text(max_size=10)), min_size=2, max_size=5).map("".join),
        st.tuples(st.sampled_from(LONG_SIZES), st.sampled_from(["长", "a", "👍", "\u200b"])).map(
            lambda pair: pair[1] * pair[0]
        ),
    )


def short_text() -> st.SearchStrategy[str]:
    """Arguments of commands and the like."""
    return st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30))


INTS = [0, 1, 2, 3, 5, 10, 50, 100, 999, 10**11 - 1, 10**11, 10**12, 2**31, 2**63]


def forged_arg() -> st.SearchStrategy[str]:
    """One argument of forged button data."""
    return st.one_of(
        st.sampled_from([str(i) for i in INTS]),
        st.integers(min_value=-5, max_value=300).map(str),
        st.sampled_from(["", "-1", "1.5", "0x10", "１２", "٣", "zh", "en", "fr", "common", "own"]),
        st.text(max_size=8),
    )


def garbage_data(actions: list[str]) -> st.SearchStrategy[str]:
    """Button data that is not ours, has the wrong version, is malformed or too long."""
    return st.one_of(
        st.text(max_size=80),
        st.tuples(st.sampled_from(actions), st.lists(forged_arg(), max_size=4)).map(
            lambda pair: ":".join(["v1", pair[0], *pair[1]])
        ),
        st.sampled_from(actions).map(lambda action: f"v0:{action}:1"),
        st.sampled_from(actions).map(lambda action: f"v1:{action}:" + "9" * 70),
        st.sampled_from(["v1", "v1:", "v1::", ":", "v1:menu:" + "x" * 60, "v1:\x00:1"]),
    )


COORDS = [
    (90.0, 0.0),
    (-90.0, 180.0),
    (90.0, -180.0),
    (0.0, 0.0),
    (36.389, 120.447),  # Jimo
    (36.3887, 120.4469),
    (math.nan, 120.4),
    (36.4, math.nan),
    (math.inf, 0.0),
    (0.0, -math.inf),
    (1e308, -1e308),
    (91.0, 0.0),
    (-0.0, -0.0),
]


def location() -> st.SearchStrategy[tuple[float | None, float | None]]:
    """Coordinates: the poles, NaN, infinities, out of range, and Jimo itself."""
    return st.one_of(
        st.sampled_from(COORDS),
        st.tuples(st.floats(), st.floats()),
        st.tuples(st.none() | st.floats(), st.none() | st.floats()),
    )


def phone() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            ["+8613812345678", "13812345678", "8613912345678", "", "abc", "1" * 40, "+", "０"]
        ),
        st.text(max_size=40),
    )


def photo_size() -> st.SearchStrategy[int | None]:
    return st.sampled_from([None, 0, -1, 1, 1000, 20 * 2**20, 2**31, 2**63])


def language_code() -> st.SearchStrategy[str | None]:
    return st.sampled_from(["zh", "en", None, "", "fr", "zh-hans", "EN", "x" * 20])


NOT_IDS = ["99999999999999999999", "9223372036854775808", "-1", "abc", "1e3", "²", "٣", "0x10"]


def id_text() -> st.SearchStrategy[str]:
    """A query's id as typed in an address bar: ids, numbers past a 64-bit id, not numbers."""
    return st.one_of(
        st.sampled_from([str(i) for i in INTS if i < 2**63] + NOT_IDS + [str(2**63 - 1)]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(max_size=8),
    )


def body_size() -> st.SearchStrategy[int]:
    """A request body's size around and far past the web API's 64 KB limit."""
    return st.sampled_from([64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200_000, 3 * 2**20])
