"""The request state machine's table: which action may start from which status, leads to
which status, and who may do it; and the refusals checked before anything changes.
`workflow.mmd` draws this table; `workflow.transition` applies it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import InvalidTransition, NotAllowed
from bot.services.org import scope
from models import OPEN_STATUSES, OrgUnit, Person, Request, RequestStatus


class Action(enum.StrEnum):
    accept = "accept"
    start = "start"
    ask_info = "ask_info"
    add_info = "add_info"
    contact = "contact"
    resolve = "resolve"
    return_ = "return"
    transfer = "transfer"
    merge = "merge"
    reject = "reject"
    escalate = "escalate"
    withdraw = "withdraw"
    reopen = "reopen"
    close = "close"
    note = "note"


REPORTER, STAFF = "reporter", "staff"


@dataclass(frozen=True, slots=True)
class Rule:
    sources: frozenset[RequestStatus]
    target: RequestStatus | None  # None: the status does not change (add_info computes it)
    by: frozenset[str]  # REPORTER and/or STAFF; the system (actor None) may do any STAFF action
    system: bool = True  # the system actor may do it even when STAFF is not in `by`


# Waiting for the owner unit to accept.
PENDING = frozenset(
    {
        RequestStatus.submitted,
        RequestStatus.transferred,
        RequestStatus.returned,
        RequestStatus.escalated,
        RequestStatus.reopened,
    }
)
WORKING = frozenset({RequestStatus.accepted, RequestStatus.in_progress})
OPEN = OPEN_STATUSES
MOVABLE = OPEN - {RequestStatus.waiting_for_resident}
ANY = frozenset(RequestStatus)
_STAFF, _REPORTER = frozenset({STAFF}), frozenset({REPORTER})

RULES: dict[Action, Rule] = {
    Action.accept: Rule(PENDING, RequestStatus.accepted, _STAFF),
    Action.start: Rule(frozenset({RequestStatus.accepted}), RequestStatus.in_progress, _STAFF),
    Action.ask_info: Rule(WORKING, RequestStatus.waiting_for_resident, _STAFF),
    Action.add_info: Rule(OPEN, None, _REPORTER, system=False),
    Action.contact: Rule(OPEN, None, _STAFF),
    Action.resolve: Rule(
        WORKING | {RequestStatus.waiting_for_resident}, RequestStatus.resolved, _STAFF
    ),
    Action.return_: Rule(PENDING, RequestStatus.returned, _STAFF),
    Action.transfer: Rule(MOVABLE, RequestStatus.transferred, _STAFF),
    Action.merge: Rule(OPEN, RequestStatus.merged, _STAFF),
    Action.reject: Rule(OPEN, RequestStatus.rejected, _STAFF),
    Action.escalate: Rule(MOVABLE, RequestStatus.escalated, _STAFF),
    Action.withdraw: Rule(OPEN, RequestStatus.withdrawn, _REPORTER, system=False),
    Action.reopen: Rule(
        frozenset({RequestStatus.resolved, RequestStatus.closed}), RequestStatus.reopened, _REPORTER
    ),
    Action.close: Rule(frozenset({RequestStatus.resolved}), RequestStatus.closed, _REPORTER),
    Action.note: Rule(ANY, None, _STAFF),
}

# Actions that reach the resident: the owner has been in touch (the response rate's 响应), whether
# or not anyone pressed 已联系居民. A public note counts too (`workflow.transition`).
CONTACT_ACTIONS = frozenset({Action.contact, Action.ask_info, Action.resolve})

# Actions after which the new owner unit gets the request card (with Accept/Return).
CARD_ACTIONS = {
    Action.transfer: "transferred",
    Action.return_: "returned",
    Action.escalate: "escalated",
    Action.reopen: "reopened",
}
# Actions the owner unit's staff hear about as a plain notice.
STAFF_NOTICE_ACTIONS = {Action.add_info, Action.withdraw}
TERMINAL = frozenset(
    {RequestStatus.closed, RequestStatus.merged, RequestStatus.rejected, RequestStatus.withdrawn}
)
SOLVED_VALUES = frozenset({"solved", "partly", "not_solved", "none"})
SATISFACTION_VALUES = frozenset({"satisfied", "basic", "unsatisfied", "none"})


def allowed_actions(status: RequestStatus) -> list[Action]:
    """The actions the table allows from `status`, whoever asks."""
    return [action for action, rule in RULES.items() if status in rule.sources]


async def may(
    session: AsyncSession, *, request: Request, action: Action, actor: Person | None
) -> bool:
    """True when `actor` (None: the system) has the right to do `action` on the request."""
    rule = RULES[action]
    if actor is None:
        return rule.system
    if REPORTER in rule.by and request.reporter_id == actor.id:
        return True
    if STAFF in rule.by:
        return await scope.holds_role(
            session, person_id=actor.id, roles=scope.STAFF_ROLES, unit_id=request.owner_unit_id
        )
    return False


async def parent_unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    parent = await session.get(OrgUnit, unit.parent_id) if unit and unit.parent_id else None
    if parent is None:
        raise InvalidTransition("workflow.error.top_of_ladder")
    return parent


async def check(
    session: AsyncSession,
    *,
    request: Request,
    action: Action,
    actor: Person | None,
    target_unit_id: int | None,
    reason: str,
    merge_into: Request | None,
) -> int | None:
    """Refuse a transition before anything changes; returns the new owner unit, if it moves."""
    rule = RULES[action]
    if request.status not in rule.sources:
        raise InvalidTransition(
            "workflow.error.not_allowed_from", status=request.status.value, action=action.value
        )
    if not await may(session, request=request, action=action, actor=actor):
        raise NotAllowed("workflow.error.no_right")
    if action in (Action.return_, Action.reject) and not reason.strip():
        raise InvalidTransition("workflow.error.reason_required")
    if action == Action.transfer:
        target = await session.get(OrgUnit, target_unit_id) if target_unit_id else None
        if target is None:
            raise InvalidTransition("workflow.error.target_required")
        if target.id == request.owner_unit_id:
            raise InvalidTransition("workflow.error.same_unit")
        return target.id
    if action in (Action.return_, Action.escalate):
        return (await parent_unit(session, request.owner_unit_id)).id
    if action == Action.merge:
        if merge_into is None or merge_into.id == request.id:
            raise InvalidTransition("workflow.error.merge_target")
        if merge_into.status not in OPEN and merge_into.status != RequestStatus.resolved:
            raise InvalidTransition("workflow.error.merge_target")
    return None
