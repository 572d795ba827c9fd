"""Button actions of red-wrench volunteers: registration (skills, days, times) and a task's
life (claim, on my way, done, photos, hours, cannot, rating); the pushes in `tasks` and
`task_work` carry some of them.

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.volunteers.volunteer`, as the
comment above each group says. A wire code is what buttons already sent carry: never change or
reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/volunteers/volunteer.py
SKILL = declare("volunteer.skill", "vls", "index")
SKILLS_DONE = declare("volunteer.skills_done", "vlsd")
DAY = declare("volunteer.day", "vlad", "index")
TIME = declare("volunteer.time", "vlat", "index")
PROFILE_DONE = declare("volunteer.profile_done", "vlatd")
CLAIM = declare("task.claim", "vlc", "task_id")
OPEN_TASK = declare("task.open", "vlo", "task_id")
ON_MY_WAY = declare("task.on_my_way", "vlw", "task_id")
FINISH = declare("task.finish", "vld", "task_id")
PHOTOS_DONE = declare("task.photos_done", "vldp", "task_id")
HOURS = declare("task.hours", "vldh", "task_id", "hours")
CANNOT = declare("task.cannot", "vlx", "task_id")
RATE = declare("task.rate", "vlr", "task_id", "stars")
NEW_TASK = declare("task.new", "vlnew", "request_id")
