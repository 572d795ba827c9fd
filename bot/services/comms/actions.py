"""Button actions of admins' broadcasts: send a draft, see its progress, stop it.

Declared once here, where both the services that build the buttons and the handlers that answer
them may import them (see docs/buttons.md). Handled in `handlers.comms.broadcast`, as the
comment above each group says. A wire code is what buttons already sent carry: never change or
reuse one; declare a new version instead.
"""

from __future__ import annotations

from bot.buttons import declare

# handlers/comms/broadcast.py
SEND = declare("broadcast.send", "amsend", "draft_id")
PROGRESS = declare("broadcast.progress", "amprog", "broadcast_id")
STOP = declare("broadcast.stop", "amstop", "broadcast_id")
TARGET = declare("broadcast.target", "amtgt", "unit_id")
