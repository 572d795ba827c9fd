"""Button actions of dual reporting and co-building: members reporting in and serving, needs,
projects and the residents' grades (see docs/buttons.md).

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them. Handled in `handlers.cobuild.*`, as the comment above each group says. A
wire code is what buttons already sent carry: never change or reuse one; declare a new version
instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/cobuild/members.py
REPORT_TO = declare("cobuild.report_in", "cbru", "unit_id")
MEMBER_CONFIRM = declare("cobuild.member_confirm", "cbmok", "member_id")
MEMBER_DECLINE = declare("cobuild.member_decline", "cbmno", "member_id")
JOIN = declare("cobuild.join", "cbjoin", "activity_id")
HOURS_CONFIRM = declare("cobuild.hours_confirm", "cbhok", "hours_id")
CALLOUT_STEP = declare("cobuild.callout_step", "cbco", "step", "value")  # cobuild/callouts.py

# handlers/cobuild/needs.py
RAISE = declare("cobuild.need_raise", "cbraise", "request_id")
SUPPORT = declare("cobuild.need_support", "cbsup", "need_id")
BOARD = declare("cobuild.board", "cbboard")
NEEDS_OF = declare("cobuild.needs_of", "cbneeds", "community_id")  # an admin's community
NEEDS_PAGE = declare("cobuild.needs_page", "cbneedp", "page")  # more of an admin's communities

# handlers/cobuild/projects.py
PLEDGE_NEED = declare("cobuild.pledge_need", "cbpn", "need_id")  # handlers/cobuild/pledging.py
PLEDGE_STEP = declare("cobuild.pledge_step", "cbps", "step", "value")  # the same
PROJECT_CONFIRM = declare("cobuild.project_confirm", "cbpok", "project_id")
PROJECT_DECLINE = declare("cobuild.project_decline", "cbpno", "project_id")
PROGRESS_ON = declare("cobuild.progress_on", "cbprog", "project_id")  # /progress, no project
GRADE = declare("cobuild.grade", "cbgrade", "project_id", "score")

# handlers/cobuild/liaisons.py
LIAISON_INVITE = declare("cobuild.liaison_invite", "cbinvl", "unit_id", "community_id")

# handlers/cobuild/property_ratings.py
PROPERTY_RATE = declare("cobuild.property_rate", "cbprop", "compound_id", "score")  # first polls
PROPERTY_VOTE = declare("cobuild.property_vote", "cbpoll", "poll_id", "score")
