"""Decision rules of a household poll: pure functions, no database.

One household, one voice: `household_ballots` keeps each household's latest vote. `decide`
applies a rule to the ballots:

- ``majority``: the leading option has more than half of the participating households.
- ``common`` (Civil Code art. 278, ordinary matters of common property): at least two thirds
  of the households take part (and two thirds of the floor area, where it is known); the
  leading option is approved by more than half of the participants (and of their area).
- ``common_major`` (art. 278 items 6-8: raising maintenance funds, rebuilding, changing the use
  of common parts): the same participation, and approval by at least three quarters.

Comparisons are done on exact fractions, so "exactly two thirds" is never lost to rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from models.meeting import PollRule

# A household: (building id, unit/room). Residents without a room each form their own.
Household = tuple[int | None, str]


@dataclass(frozen=True, slots=True)
class Vote:
    """One person's vote, as stored."""

    household: Household
    person_id: int
    option_id: int
    at: datetime
    serial: int = 0


@dataclass(frozen=True, slots=True)
class Ballot:
    """The vote that counts for one household, with its floor area when known."""

    household: Household
    option_id: int
    area: float | None = None


@dataclass(frozen=True, slots=True)
class Electorate:
    """Who may take part: the households of the scope and, where known, their total area."""

    households: int
    area: float | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A poll's outcome under its rule."""

    rule: PollRule
    households: int
    participants: int
    counts: dict[int, int]
    winner: int | None
    quorum_met: bool
    approved: bool
    total_area: float | None = None
    participating_area: float | None = None
    areas: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (option ids as strings), as stored on the poll."""
        return {
            "rule": self.rule.value,
            "households": self.households,
            "participants": self.participants,
            "counts": {str(k): v for k, v in self.counts.items()},
            "winner": self.winner,
            "quorum_met": self.quorum_met,
            "approved": self.approved,
            "total_area": self.total_area,
            "participating_area": self.participating_area,
            "areas": {str(k): v for k, v in self.areas.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Rebuild a result stored by `as_dict`."""
        return cls(
            rule=PollRule(data["rule"]),
            households=int(data["households"]),
            participants=int(data["participants"]),
            counts={int(k): int(v) for k, v in data["counts"].items()},
            winner=data["winner"],
            quorum_met=bool(data["quorum_met"]),
            approved=bool(data["approved"]),
            total_area=data.get("total_area"),
            participating_area=data.get("participating_area"),
            areas={int(k): float(v) for k, v in (data.get("areas") or {}).items()},
        )


def household_ballots(
    votes: Iterable[Vote], *, areas: Mapping[Household, float] | None = None
) -> list[Ballot]:
    """Each household's latest vote (by time, then serial), with its floor area if known."""
    latest: dict[Household, Vote] = {}
    for vote in votes:
        seen = latest.get(vote.household)
        if seen is None or (vote.at, vote.serial) >= (seen.at, seen.serial):
            latest[vote.household] = vote
    areas = areas or {}
    return [
        Ballot(household, vote.option_id, areas.get(household))
        for household, vote in sorted(latest.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1]))
    ]


def _frac(value: float) -> Fraction:
    return Fraction(value).limit_denominator(10**6)


def _share_at_least(part: Fraction | int, whole: Fraction | int, ratio: Fraction) -> bool:
    return Fraction(part) >= ratio * whole


def _share_above(part: Fraction | int, whole: Fraction | int, ratio: Fraction) -> bool:
    return Fraction(part) > ratio * whole


TWO_THIRDS = Fraction(2, 3)
HALF = Fraction(1, 2)
THREE_QUARTERS = Fraction(3, 4)


def decide(
    *,
    rule: PollRule,
    electorate: Electorate,
    ballots: Sequence[Ballot],
    options: Sequence[int],
) -> Result:
    """Apply `rule` to one ballot per household; votes for unknown options are ignored."""
    valid = [b for b in ballots if b.option_id in options]
    participants = len(valid)
    households = max(electorate.households, participants)
    counts = {option: 0 for option in options}
    for ballot in valid:
        counts[ballot.option_id] += 1
    # The area test applies only when the whole electorate's area and every voter's are known.
    by_area = electorate.area is not None and all(b.area is not None for b in valid)
    areas: dict[int, float] = {}
    participating_area: float | None = None
    if by_area:
        areas = {option: 0.0 for option in options}
        for ballot in valid:
            areas[ballot.option_id] += ballot.area or 0.0
        participating_area = sum(areas.values())
    best = max(counts.values(), default=0)
    leaders = [option for option, n in counts.items() if n == best]
    winner = leaders[0] if best > 0 and len(leaders) == 1 else None

    if rule == PollRule.majority:
        quorum_met = participants > 0
    else:
        quorum_met = participants > 0 and _share_at_least(participants, households, TWO_THIRDS)
        if by_area and electorate.area is not None and participating_area is not None:
            quorum_met = quorum_met and _share_at_least(
                _frac(participating_area), _frac(electorate.area), TWO_THIRDS
            )
    approved = False
    if quorum_met and winner is not None:
        won = counts[winner]
        if rule == PollRule.common_major:
            approved = _share_at_least(won, participants, THREE_QUARTERS)
        else:
            approved = _share_above(won, participants, HALF)
        if approved and rule != PollRule.majority and by_area and participating_area:
            won_area, all_area = _frac(areas[winner]), _frac(participating_area)
            if rule == PollRule.common_major:
                approved = _share_at_least(won_area, all_area, THREE_QUARTERS)
            else:
                approved = _share_above(won_area, all_area, HALF)
    return Result(
        rule=rule,
        households=households,
        participants=participants,
        counts=counts,
        winner=winner,
        quorum_met=quorum_met,
        approved=approved,
        total_area=electorate.area if by_area else None,
        participating_area=participating_area,
        areas=areas,
    )
