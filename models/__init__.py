"""SQLAlchemy models, one module per domain; importing this package registers them all."""

from models.base import Base, utcnow
from models.delivery import AuditLog, Conversation, OutboxMessage, ProcessedUpdate
from models.org import ESCALATION_LADDER, OrgUnit, TeamPairing, UnitKind
from models.person import ChannelIdentity, Person, Role, RoleGrant
from models.place import Building, Compound
from models.request import (
    OPEN_STATUSES,
    Category,
    CategoryCorrection,
    Counter,
    Evaluation,
    Priority,
    Request,
    RequestEvent,
    RequestFollower,
    RequestPhoto,
    RequestStatus,
    Visibility,
)
from models.volunteer import ServiceRecord, VolunteerProfile, VolunteerTask

__all__ = [
    "ESCALATION_LADDER",
    "OPEN_STATUSES",
    "AuditLog",
    "Base",
    "Building",
    "Category",
    "CategoryCorrection",
    "ChannelIdentity",
    "Compound",
    "Conversation",
    "Counter",
    "Evaluation",
    "OrgUnit",
    "OutboxMessage",
    "Person",
    "Priority",
    "ProcessedUpdate",
    "Request",
    "RequestEvent",
    "RequestFollower",
    "RequestPhoto",
    "RequestStatus",
    "Role",
    "RoleGrant",
    "ServiceRecord",
    "TeamPairing",
    "UnitKind",
    "Visibility",
    "VolunteerProfile",
    "VolunteerTask",
    "utcnow",
]
