"""Routing explanations for people: a decision is kept as its rule and steps (codes and ids,
`routing.RouteDecision.steps`, in the routed event's detail) and told in the reader's language
when it is read: "按楼栋分派：海盛·新阳光地带17号楼属于和顺社区第一网格".

Names are read when the explanation is: a renamed unit reads with its new name. Events stored
before explanations were kept as codes carry an English note "<rule>: <reason>"; they read as
their rule's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import catalog, t
from models import Category, Compound, OrgUnit

# Parameters naming a row, and the model whose `name(locale)` they read as.
_NAMED: dict[str, type[Category] | type[Compound] | type[OrgUnit]] = {
    "compound": Compound,
    "grid": OrgUnit,
    "community": OrgUnit,
    "unit": OrgUnit,
    "category": Category,
}


def rule_name(rule: str, locale: str) -> str | None:
    """The rule's name for people ("按楼栋分派"), None for a rule without one."""
    key = f"route.rule.{rule}"
    return t(locale, key) if key in catalog(locale) or key in catalog("zh") else None


async def _value(session: AsyncSession, name: str, value: Any, locale: str) -> str:
    if value is None:
        return "?"
    if name == "building":
        return t(locale, "workflow.building", number=value)
    model = _NAMED.get(name)
    if model is None:
        return str(value)
    row: Category | Compound | OrgUnit | None = (
        await session.get(model, value) if isinstance(value, int) else None
    )
    return row.name(locale) if row is not None else "?"


async def _step(session: AsyncSession, step: dict[str, Any], locale: str) -> str | None:
    key = f"route.step.{step.get('code', '')}"
    if key not in catalog("zh"):
        return None
    params = {
        name: await _value(session, name, value, locale)
        for name, value in step.items()
        if name != "code"
    }
    return t(locale, key, **params)


async def describe(
    session: AsyncSession, *, detail: dict[str, Any] | None, note: str, locale: str
) -> tuple[str, str]:
    """(the rule's name, why) of a routed event in `locale`; an older event without detail
    reads as its rule's name with nothing more (its note is English, for operators)."""
    if not detail:
        rule = note.split(":", 1)[0].strip()
        name = rule_name(rule, locale)
        return (name, "") if name else (t(locale, "staff.event.routed"), note)
    rule = str(detail.get("rule", ""))
    pieces = [await _step(session, step, locale) for step in detail.get("steps", [])]
    why = t(locale, "route.joiner").join(piece for piece in pieces if piece)
    return rule_name(rule, locale) or t(locale, "staff.event.routed"), why


async def sentence(
    session: AsyncSession, *, detail: dict[str, Any] | None, note: str, locale: str
) -> str:
    """A routed event as one line: "按楼栋分派：海盛·新阳光地带17号楼属于和顺社区第一网格"."""
    name, why = await describe(session, detail=detail, note=note, locale=locale)
    return t(locale, "route.explained", rule=name, why=why) if why else name
