"""SQLAlchemy models, one module per domain; importing this package registers them all."""

from models.admin import Broadcast, BroadcastMessage, Invite
from models.base import Base, utcnow
from models.classifier import ClassifierRun
from models.delivery import (
    AuditLog,
    Conversation,
    OutboxMessage,
    OutboxStatus,
    ProcessedUpdate,
)
from models.meeting import (
    Flat,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingStatus,
    Poll,
    PollOption,
    PollRule,
    PollStatus,
    PollVote,
    Rsvp,
    ScopeKind,
)
from models.org import ESCALATION_LADDER, OrgUnit, TeamPairing, UnitKind
from models.person import ChannelIdentity, Person, Role, RoleGrant
from models.place import Building, Compound
from models.request import (
    OPEN_STATUSES,
    Category,
    CategoryCorrection,
    Counter,
    Evaluation,
    EventKind,
    Priority,
    Request,
    RequestEvent,
    RequestFollower,
    RequestPhoto,
    RequestStatus,
    Visibility,
)
from models.schedule import ScheduleMark
from models.task_push import TaskPush
from models.upkeep import UpkeepPlan, UpkeepRun
from models.volunteer import (
    ACTIVE_TASK_STATUSES,
    HELD_TASK_STATUSES,
    ServiceRecord,
    TaskStatus,
    VolunteerProfile,
    VolunteerTask,
)
from models.whistle import SummonsStatus, Whistle, WhistleSummons

__all__ = [
    "ACTIVE_TASK_STATUSES",
    "ESCALATION_LADDER",
    "HELD_TASK_STATUSES",
    "OPEN_STATUSES",
    "AuditLog",
    "Base",
    "Broadcast",
    "BroadcastMessage",
    "Building",
    "Category",
    "CategoryCorrection",
    "ChannelIdentity",
    "ClassifierRun",
    "Compound",
    "Conversation",
    "Counter",
    "Evaluation",
    "EventKind",
    "Flat",
    "Invite",
    "Meeting",
    "MeetingInvitation",
    "MeetingKind",
    "MeetingStatus",
    "OrgUnit",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "Poll",
    "PollOption",
    "PollRule",
    "PollStatus",
    "PollVote",
    "Priority",
    "ProcessedUpdate",
    "Request",
    "RequestEvent",
    "RequestFollower",
    "RequestPhoto",
    "RequestStatus",
    "Role",
    "RoleGrant",
    "Rsvp",
    "ScheduleMark",
    "ScopeKind",
    "ServiceRecord",
    "SummonsStatus",
    "TaskPush",
    "TaskStatus",
    "TeamPairing",
    "UnitKind",
    "UpkeepPlan",
    "UpkeepRun",
    "Visibility",
    "VolunteerProfile",
    "VolunteerTask",
    "Whistle",
    "WhistleSummons",
    "utcnow",
]
