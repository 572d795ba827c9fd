"""Walking the org tree: materialised paths, subtrees, and the whole tree for display."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import OrgUnit
from models.place import Building, Compound


def child_path(parent_path: str | None, unit_id: int) -> str:
    """The path of a unit with this id under a parent with `parent_path` ("/1/" for a root)."""
    return f"{parent_path or '/'}{unit_id}/"


def path_ids(path: str) -> list[int]:
    """The ids in a path, root first: "/1/4/9/" gives [1, 4, 9]."""
    return [int(part) for part in path.strip("/").split("/") if part]


async def has_units(session: AsyncSession) -> bool:
    """True when the database holds at least one org unit."""
    return (await session.scalar(select(OrgUnit.id).limit(1))) is not None


async def rebase_subtree(session: AsyncSession, *, old_path: str, new_path: str) -> int:
    """Rewrite the paths below a moved unit from `old_path` to `new_path`; return how many."""
    query = select(OrgUnit).where(OrgUnit.path.startswith(old_path), OrgUnit.path != old_path)
    moved = 0
    for unit in (await session.scalars(query)).all():
        unit.path = new_path + unit.path[len(old_path) :]
        moved += 1
    return moved


@dataclass
class CompoundNode:
    """A compound shown under its community."""

    compound: Compound
    buildings: int


@dataclass
class TreeNode:
    """One unit with its children and, for communities, its compounds."""

    unit: OrgUnit
    children: list[TreeNode] = field(default_factory=list)
    compounds: list[CompoundNode] = field(default_factory=list)


async def load_tree(session: AsyncSession) -> list[TreeNode]:
    """The whole tree (roots first, children in creation order) with compounds attached."""
    units = (await session.scalars(select(OrgUnit).order_by(OrgUnit.id))).all()
    nodes = {unit.id: TreeNode(unit) for unit in units}
    roots: list[TreeNode] = []
    for unit in units:
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[unit.id])
    query = select(Building.compound_id, func.count()).group_by(Building.compound_id)
    counts: dict[int, int] = {row[0]: row[1] for row in await session.execute(query)}
    for compound in (await session.scalars(select(Compound).order_by(Compound.id))).all():
        node = nodes.get(compound.community_id)
        if node is not None:
            node.compounds.append(CompoundNode(compound, counts.get(compound.id, 0)))
    return roots
