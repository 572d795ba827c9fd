"""The decision rules, on examples worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.meetings.poll_rules import Ballot, Electorate, Vote, decide, household_ballots
from models import PollRule

A, B, C = 1, 2, 3
OPTIONS = [A, B, C]
T0 = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def ballots(**counts: int) -> list[Ballot]:
    """`ballots(a=5, b=3)`: five households for A, three for B, each its own flat."""
    ids = {"a": A, "b": B, "c": C}
    found: list[Ballot] = []
    for name, n in counts.items():
        found += [Ballot((17, f"{name}-{i}"), ids[name]) for i in range(n)]
    return found


def test_simple_majority_of_participants() -> None:
    # Building 17 has 21 households; 9 vote: A 5, B 3, C 1. 5 of 9 is more than half.
    result = decide(
        rule=PollRule.majority,
        electorate=Electorate(21),
        ballots=ballots(a=5, b=3, c=1),
        options=OPTIONS,
    )
    assert (result.participants, result.counts) == (9, {A: 5, B: 3, C: 1})
    assert result.winner == A and result.quorum_met and result.approved
    # A 4, B 3, C 2: 4 of 9 is not more than half; the leader is not approved.
    result = decide(
        rule=PollRule.majority,
        electorate=Electorate(21),
        ballots=ballots(a=4, b=3, c=2),
        options=OPTIONS,
    )
    assert result.winner == A and not result.approved
    # A tie has no winner.
    result = decide(
        rule=PollRule.majority,
        electorate=Electorate(21),
        ballots=ballots(a=3, b=3),
        options=OPTIONS,
    )
    assert result.winner is None and not result.approved


def test_civil_code_ordinary_matter() -> None:
    # 21 households: two thirds is 14. 14 take part (exactly 2/3): quorum met.
    # A 8 of 14 is more than half: approved.
    result = decide(
        rule=PollRule.common, electorate=Electorate(21), ballots=ballots(a=8, b=6), options=OPTIONS
    )
    assert result.quorum_met and result.approved and result.winner == A
    # A 7 of 14 is exactly half, not more: refused.
    result = decide(
        rule=PollRule.common,
        electorate=Electorate(21),
        ballots=ballots(a=7, b=6, c=1),
        options=OPTIONS,
    )
    assert result.quorum_met and not result.approved


def test_civil_code_quorum_not_reached() -> None:
    # 13 of 21 households is less than two thirds (13 * 3 = 39 < 42): no decision, even unanimous.
    result = decide(
        rule=PollRule.common, electorate=Electorate(21), ballots=ballots(a=13), options=OPTIONS
    )
    assert result.participants == 13 and not result.quorum_met and not result.approved
    result = decide(
        rule=PollRule.common_major,
        electorate=Electorate(21),
        ballots=ballots(a=13),
        options=OPTIONS,
    )
    assert not result.quorum_met and not result.approved


def test_civil_code_major_matter_needs_three_quarters() -> None:
    # 15 of 21 take part (15 >= 14). Three quarters of 15 is 11.25: 12 approve, 11 do not.
    result = decide(
        rule=PollRule.common_major,
        electorate=Electorate(21),
        ballots=ballots(a=12, b=3),
        options=OPTIONS,
    )
    assert result.quorum_met and result.approved
    result = decide(
        rule=PollRule.common_major,
        electorate=Electorate(21),
        ballots=ballots(a=11, b=4),
        options=OPTIONS,
    )
    assert result.quorum_met and not result.approved
    # 12 of 16 is exactly three quarters: "at least" three quarters, so approved.
    result = decide(
        rule=PollRule.common_major,
        electorate=Electorate(21),
        ballots=ballots(a=12, b=4),
        options=OPTIONS,
    )
    assert result.approved


def test_floor_area_counts_where_known() -> None:
    # Four flats of 50, 50, 60 and 140 m² (300 m² in all).
    small1, small2, mid, big = (1, "1-101"), (1, "1-102"), (1, "1-201"), (1, "1-202")
    electorate = Electorate(4, area=300.0)
    # The three smaller flats take part: 3 of 4 households (>= 2/3) but 160 of 300 m² (< 200).
    three_small = [Ballot(small1, A, 50.0), Ballot(small2, A, 50.0), Ballot(mid, A, 60.0)]
    result = decide(
        rule=PollRule.common, electorate=electorate, ballots=three_small, options=OPTIONS
    )
    assert result.participating_area == 160.0 and not result.quorum_met and not result.approved
    # The big flat votes A, the two others B: households 2 of 3 for B (more than half), but B
    # holds 110 of 250 m², not more than half of the area: not approved.
    mixed = [Ballot(big, A, 140.0), Ballot(mid, B, 60.0), Ballot(small1, B, 50.0)]
    result = decide(rule=PollRule.common, electorate=electorate, ballots=mixed, options=OPTIONS)
    assert result.quorum_met and result.winner == B and not result.approved
    assert result.areas[B] == 110.0 and result.participating_area == 250.0
    # The same under simple majority ignores the area.
    result = decide(rule=PollRule.majority, electorate=electorate, ballots=mixed, options=OPTIONS)
    assert result.approved
    # Area unknown for the electorate: the count alone decides.
    result = decide(rule=PollRule.common, electorate=Electorate(4), ballots=mixed, options=OPTIONS)
    assert result.approved and result.total_area is None


def test_one_household_one_voice_latest_counts() -> None:
    flat = (17, "2-301")
    votes = [
        Vote(flat, person_id=1, option_id=A, at=T0),
        Vote(flat, person_id=2, option_id=B, at=T0 + timedelta(minutes=5)),
        Vote((17, "2-302"), person_id=3, option_id=A, at=T0),
        # Two votes at the same instant: the later serial counts.
        Vote((17, "3-101"), person_id=4, option_id=A, at=T0, serial=7),
        Vote((17, "3-101"), person_id=5, option_id=C, at=T0, serial=8),
    ]
    counted = household_ballots(votes, areas={flat: 88.5})
    assert [(b.household, b.option_id, b.area) for b in counted] == [
        ((17, "2-301"), B, 88.5),
        ((17, "2-302"), A, None),
        ((17, "3-101"), C, None),
    ]
    result = decide(
        rule=PollRule.majority, electorate=Electorate(3), ballots=counted, options=OPTIONS
    )
    assert result.participants == 3 and result.counts == {A: 1, B: 1, C: 1}


def test_votes_for_unknown_options_are_ignored_and_nobody_voting_decides_nothing() -> None:
    result = decide(
        rule=PollRule.majority,
        electorate=Electorate(5),
        ballots=[Ballot((1, "x"), 99)],
        options=OPTIONS,
    )
    assert result.participants == 0 and not result.quorum_met and not result.approved
    stored = result.as_dict()
    assert type(result).from_dict(stored) == result
