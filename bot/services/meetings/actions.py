"""Button actions of doorstep meetings and polls: convening, details, managing, voting and the
resident's side (RSVP, check-in); the pushes in `cards` carry some of them.

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.meetings.resident`,
`handlers.meetings.manage`, `handlers.meetings.convene`, `handlers.meetings.details`,
`handlers.meetings.polls`, as the comment above each group says. A wire code is what buttons
already sent carry: never change or reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/meetings/resident.py
OPEN = declare("meeting.open", "mtv", "meeting_id")
RSVP = declare("meeting.rsvp", "mtr", "meeting_id", "answer")
CHECK_IN = declare("meeting.check_in", "mtci", "meeting_id")
VOTE = declare("poll.vote", "mtvote", "poll_id", "option_id")

# handlers/meetings/manage.py
NOTICE = declare("meeting.notice", "mtqr", "meeting_id")
HOUSEHOLDS = declare("meeting.households", "mthh", "meeting_id")
MINUTES = declare("meeting.minutes", "mtmin", "meeting_id")
OUTCOME = declare("meeting.outcome", "mtout", "meeting_id")
NO_ACTIONS = declare("meeting.no_actions", "mtna")
CALL_OFF = declare("meeting.call_off", "mtcx", "meeting_id")
CALL_OFF_NOW = declare("meeting.call_off_now", "mtcxy")

# handlers/meetings/convene.py
CONVENE = declare("meeting.convene", "mtnew", "request_id")
TOPIC_FROM_REQUEST = declare("meeting.topic_from_request", "mttp")
PICK_COMPOUND = declare("meeting.compound", "mtcp", "compound_id")
PICK_SCOPE = declare("meeting.scope", "mtsc", "kind", "target_id")
PICK_UNIT = declare("meeting.unit", "mtun", "building_id", "number")
UNITS_DONE = declare("meeting.units_done", "mtud")

# handlers/meetings/details.py
PICK_PLACE = declare("meeting.place", "mtpl", "place")
SEND = declare("meeting.send", "mtgo")

# handlers/meetings/polls.py
NEW_POLL = declare("poll.new", "mtpn", "meeting_id")
POLL_RULE = declare("poll.rule", "mtpr", "rule")
OPTIONS_DONE = declare("poll.options_done", "mtod", "poll_id")
OPEN_POLL = declare("poll.open", "mtpo", "poll_id")
OPEN_POLL_FOR = declare("poll.open_for", "mtpoh", "poll_id", "minutes")
CLOSE_POLL = declare("poll.close", "mtpc", "poll_id")
POLL_STATUS = declare("poll.status", "mtps", "poll_id")
