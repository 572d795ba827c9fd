"""Button actions of requests: reporting, a resident's own requests, rating, and the staff's
queue, card actions, work and calls for help. Cards built here (`cards`) carry some of them.

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.cases.report`,
`handlers.cases.report_choices`, `handlers.cases.report_similar`, `handlers.cases.chat_reply`,
`handlers.cases.my_requests`, `handlers.cases.evaluate`, `handlers.cases.staff_queue`,
`handlers.cases.staff_actions`, `handlers.cases.staff_card`, `handlers.cases.staff_work`,
`handlers.cases.staff_help`, as the comment above each group says. A wire code is what buttons
already sent carry: never change or reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/cases/report.py
NEW_REQUEST = declare("report.start", "new")
SUBMIT = declare("report.submit", "rsubmit")
SUBMIT_AT = declare("report.submit_at", "rsubat", "place")

# handlers/cases/report_choices.py (完成 and 仍然新提交: buttons of drafts begun before)
REPORT_COLLECTED = declare("report.collected", "rdone")
SUBMIT_ANYWAY = declare("report.submit_anyway", "rnew")
ALL_CATEGORIES = declare("report.all_categories", "rcats")
PICK_CATEGORY = declare("report.category", "rcat", "slug")
PICK_PLACE = declare("report.place", "rplace", "place")
PICK_URGENCY = declare("report.urgency", "rurg", "urgent")
SKIP_ROOM = declare("report.skip_room", "rroom")

# handlers/cases/report_similar.py
ME_TOO = declare("report.me_too", "rmetoo", "request_id")

# handlers/cases/chat_reply.py
REPLY_IS_NEW = declare("report.reply_is_new", "rrnew", "event_id")

# handlers/cases/my_requests.py
MY_REQUESTS = declare("mine.list", "my")
MY_REQUEST = declare("mine.open", "rq", "request_id")
ADD_INFO = declare("mine.add_info", "radd", "request_id")
ADD_INFO_DONE = declare("mine.add_info_done", "raddok")
WITHDRAW = declare("mine.withdraw", "rwd", "request_id")

# handlers/cases/evaluate.py
RATE = declare("evaluation.start", "ev", "request_id")
RATE_SOLVED = declare("evaluation.solved", "evs", "request_id", "solved")
RATE_SATISFIED = declare("evaluation.satisfied", "evf", "request_id", "solved", "satisfied")
RATE_SKIP_COMMENT = declare("evaluation.skip_comment", "evc")

# handlers/cases/staff_queue.py
QUEUE = declare("queue.page", "sq", "page")
QUEUE_OPEN = declare("queue.open", "so", "request_id")

# handlers/cases/staff_actions.py
ACCEPT = declare("request.accept", "acc", "request_id")
START = declare("request.start", "sst", "request_id")
CONTACT = declare("request.contact", "sct", "request_id")
STAFF_CANCEL = declare("request.cancel", "scx")
RETURN = declare("request.return", "ret", "request_id")
PUBLIC_NOTE = declare("request.public_note", "snp", "request_id")
INTERNAL_NOTE = declare("request.internal_note", "sni", "request_id")
ASK_INFO = declare("request.ask_info", "sai", "request_id")
TRANSFER = declare("request.transfer", "trf", "request_id")
TRANSFER_DRILL = declare("request.transfer_drill", "trfu", "request_id", "unit_id")
TRANSFER_TO = declare("request.transfer_to", "trfc", "request_id", "unit_id")
CHANGE_CATEGORY = declare("request.category", "scat", "request_id")
CATEGORY_CHOSEN = declare("request.category_chosen", "scc", "request_id", "category_id")

# handlers/cases/staff_work.py
ADD_PHOTOS = declare("request.photos", "sph", "request_id")
ADD_PHOTOS_DONE = declare("request.photos_done", "sphok")
RESOLVE = declare("request.resolve", "srs", "request_id")
RESOLVE_DONE = declare("request.resolve_done", "srsok")
MERGE = declare("request.merge", "smg", "request_id")

# handlers/cases/staff_help.py
WHISTLE = declare("request.whistle", "swh", "request_id")
WHISTLE_DEPARTMENT = declare("request.whistle_department", "swd", "request_id", "unit_id")
WHISTLE_BLOW = declare("request.whistle_blow", "swok")
VOLUNTEER_TASK = declare("request.volunteer_task", "stk", "request_id")

# handlers/cases/staff_card.py
SHOW_PHONE = declare("request.show_phone", "sphone", "request_id")
MORE_ACTIONS = declare("request.more_actions", "smore", "request_id")
OTHER_ACTIONS = declare("request.other_actions", "sother", "request_id", "page")
